-- Who a room's host removed and barred from coming back: by name and, unless
-- spared, by client address; until a time, or (NULL) as long as the room lasts.
CREATE TABLE room_bans (
    room_id  TEXT   NOT NULL,
    ban_id   TEXT   NOT NULL,
    name     TEXT   NOT NULL,
    address  TEXT,
    until_ms BIGINT,
    PRIMARY KEY (room_id, ban_id)
);
