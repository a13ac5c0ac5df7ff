-- A room's seats, so members keep them (and their roles) across a restart or
-- a move of the room to another instance, and take them back with their
-- resume token. Only a digest of the token is kept.

CREATE TABLE room_members (
    room_id       TEXT   NOT NULL,
    member_id     TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    -- host, cohost or member.
    role          TEXT   NOT NULL,
    -- Hex SHA-256 of the member's resume token.
    resume_digest TEXT   NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (room_id, member_id)
);
