-- Durable tracker records: one row per peer and swarm it joined (with the
-- transfer counters it last reported), and periodic snapshots of holdings,
-- so an operator can ask who held what and how much came from peers.

CREATE TABLE peer_sessions (
    peer_id        TEXT   NOT NULL,
    movie_id       TEXT   NOT NULL,
    rendition      TEXT   NOT NULL,
    ip             TEXT   NOT NULL,
    user_agent     TEXT   NOT NULL,
    joined_at_ms   BIGINT NOT NULL,
    left_at_ms     BIGINT,
    http_bytes     BIGINT NOT NULL,
    peer_bytes     BIGINT NOT NULL,
    uploaded_bytes BIGINT NOT NULL,
    PRIMARY KEY (peer_id, movie_id, rendition)
);

CREATE INDEX peer_sessions_movie ON peer_sessions (movie_id, joined_at_ms);

CREATE TABLE holdings_snapshots (
    peer_id     TEXT   NOT NULL,
    movie_id    TEXT   NOT NULL,
    rendition   TEXT   NOT NULL,
    taken_at_ms BIGINT NOT NULL,
    -- JSON array of inclusive [first, last] sequence ranges.
    ranges      TEXT   NOT NULL,
    PRIMARY KEY (peer_id, movie_id, rendition, taken_at_ms)
);
