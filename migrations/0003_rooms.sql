-- Watch-party rooms and their chat, so both survive a restart. Members are
-- not stored: they reconnect. A room's playback state and control policy are
-- saved on every change.

CREATE TABLE rooms (
    id              TEXT   PRIMARY KEY,
    movie_id        TEXT   NOT NULL,
    duration_ms     BIGINT NOT NULL,
    -- Hex salt and HMAC-SHA256 of the password; NULL for open rooms.
    password_salt   TEXT,
    password_digest TEXT,
    policy          TEXT   NOT NULL,
    -- JSON PlaybackState.
    playback        TEXT   NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);

CREATE TABLE room_chat (
    room_id   TEXT   NOT NULL,
    id        BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    name      TEXT   NOT NULL,
    text      TEXT   NOT NULL,
    server_ms BIGINT NOT NULL,
    -- Milliseconds into the movie, rounded.
    video_ms  BIGINT NOT NULL,
    PRIMARY KEY (room_id, id)
);
