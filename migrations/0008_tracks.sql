-- Audio and subtitle tracks. An audio track of its own and a subtitle track
-- (one WebVTT file, its single segment) are renditions like the video rungs,
-- so their files have sizes and hashes in `segments` and go with the movie.
-- Tracks a source had that ingest could not keep are listed with the reason.

ALTER TABLE renditions ADD COLUMN kind TEXT NOT NULL DEFAULT 'video';
ALTER TABLE renditions ADD COLUMN language TEXT;
ALTER TABLE renditions ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE renditions ADD COLUMN is_default BIGINT NOT NULL DEFAULT 0;
ALTER TABLE renditions ADD COLUMN forced BIGINT NOT NULL DEFAULT 0;
ALTER TABLE renditions ADD COLUMN channels BIGINT NOT NULL DEFAULT 0;

CREATE TABLE skipped_tracks (
    movie_id TEXT   NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    kind     TEXT   NOT NULL,
    position BIGINT NOT NULL,
    codec    TEXT   NOT NULL,
    language TEXT,
    code     TEXT   NOT NULL,
    reason   TEXT   NOT NULL,
    PRIMARY KEY (movie_id, kind, position)
);
