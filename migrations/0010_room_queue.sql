-- A room's queue of movies to play next (JSON of `StoredQueue`: the entries,
-- autoplay and countdown, and the title and start of the movie playing, whose
-- id and length are `movie_id` and `duration_ms`) and what it watched (JSON,
-- the latest 50). A room stored before reads as an empty queue with autoplay.
ALTER TABLE rooms ADD COLUMN queue TEXT NOT NULL DEFAULT '{}';
ALTER TABLE rooms ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
