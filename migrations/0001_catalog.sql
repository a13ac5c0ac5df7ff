-- The catalog: movies, their renditions, and every segment's size and SHA-256.
-- Portable between SQLite and Postgres: TEXT and BIGINT only, times in Unix ms.

CREATE TABLE movies (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    year          BIGINT,
    duration_ms   BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX movies_created_at ON movies (created_at_ms);

CREATE TABLE renditions (
    movie_id      TEXT   NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    bandwidth_bps BIGINT NOT NULL,
    codecs        TEXT   NOT NULL,
    segment_count BIGINT NOT NULL,
    PRIMARY KEY (movie_id, name)
);

CREATE TABLE segments (
    movie_id    TEXT   NOT NULL,
    rendition   TEXT   NOT NULL,
    sequence    BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    sha256      TEXT   NOT NULL,
    PRIMARY KEY (movie_id, rendition, sequence),
    FOREIGN KEY (movie_id, rendition) REFERENCES renditions (movie_id, name) ON DELETE CASCADE
);
