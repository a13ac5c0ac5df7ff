-- Admin users (argon2 PHC strings) and signed-in browser sessions. A session
-- is stored by the SHA-256 of its cookie value, so a copy of the database
-- does not sign anyone in; its CSRF token is the one unsafe requests repeat
-- in a header. A movie's poster version makes its poster URL new when the
-- poster changes (poster files are served as immutable).
CREATE TABLE admin_users (
    name          TEXT   PRIMARY KEY,
    password_hash TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE admin_sessions (
    id_sha256     TEXT   PRIMARY KEY,
    user_name     TEXT   NOT NULL,
    -- For a session opened with the admin token: the token's SHA-256, so that
    -- a new token ends the sessions the old one opened.
    token_sha256  TEXT,
    csrf_token    TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at_ms);

ALTER TABLE movies ADD COLUMN poster_version BIGINT NOT NULL DEFAULT 0;
