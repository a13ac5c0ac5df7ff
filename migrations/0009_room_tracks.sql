-- The audio and subtitle languages a room's host suggests to everyone who has
-- not picked their own in the room: JSON of `MemberTracks` (`{}`: none).
ALTER TABLE rooms ADD COLUMN suggested_tracks TEXT NOT NULL DEFAULT '{}';
