-- Ingest as jobs: an upload (or `cinemesh ingest` beside a running server)
-- queues one, and workers of any instance claim them in order. A running job
-- holds a lease its worker renews; a job whose lease ran out (its process
-- died) is queued again and restarts from the beginning.
CREATE TABLE ingest_jobs (
    id               TEXT   PRIMARY KEY,
    title            TEXT   NOT NULL,
    description      TEXT   NOT NULL,
    year             BIGINT,
    -- The file to ingest, and the subtitle files given with it (JSON).
    source_path      TEXT   NOT NULL,
    subtitles        TEXT   NOT NULL,
    -- 1 when the source is an upload of ours, removed when the job ends.
    owns_source      BIGINT NOT NULL,
    -- The name the uploader gave the file, for people.
    file_name        TEXT   NOT NULL,
    -- queued, running, done, failed or cancelled.
    state            TEXT   NOT NULL,
    step             TEXT   NOT NULL,
    percent          BIGINT NOT NULL,
    eta_secs         BIGINT,
    error_code       TEXT,
    error_message    TEXT,
    -- The HTTP status the failure answers with (422 for a bad source, 507 for a full disk...).
    error_status     BIGINT,
    movie_id         TEXT,
    worker           TEXT,
    lease_until_ms   BIGINT,
    cancel_requested BIGINT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL
);

CREATE INDEX ingest_jobs_state ON ingest_jobs (state, created_at_ms);

-- Processes that run jobs, by the last time they said so: `cinemesh ingest`
-- hands its file to them when one is alive.
CREATE TABLE ingest_workers (
    instance   TEXT   PRIMARY KEY,
    seen_at_ms BIGINT NOT NULL
);

-- Resumable uploads (tus). The bytes received so far are the file's length.
-- A complete upload stays (its file now the job's, of the same id) until it
-- expires, so that a client that lost the last answer learns it is complete.
CREATE TABLE uploads (
    id            TEXT   PRIMARY KEY,
    length        BIGINT NOT NULL,
    completed     BIGINT NOT NULL,
    -- JSON: title, description, year, file name and type, as the client sent them.
    metadata      TEXT   NOT NULL,
    created_by    TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
