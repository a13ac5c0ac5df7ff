-- The sender's nonce of a chat message, so that a message sent again after a
-- reconnect (or a move of the room to another instance) is not posted twice.
ALTER TABLE room_chat ADD COLUMN nonce TEXT;
