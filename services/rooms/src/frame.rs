//! What goes down a member's socket: a server message (room or lobby)
//! serialized once into a frame that every recipient's session writes as is,
//! here or on another instance.

use bytestring::ByteString;
use cinemesh_protocol::room::RoomServerMessage;

use crate::Refusal;

/// A serialized server message (room or lobby); clones share the bytes.
pub type Frame = ByteString;

pub fn frame_of<T: serde::Serialize>(message: &T) -> Frame {
    // Serializing the protocol's types cannot fail: no maps with non-string keys.
    serde_json::to_string(message).unwrap_or_default().into()
}

/// A refusal as the room's socket says it: its stable code and a message.
pub fn refusal_message(refusal: Refusal) -> RoomServerMessage {
    RoomServerMessage::Error { code: refusal.code.to_owned(), message: refusal.message }
}
