//! Why the tracker refused a message: a `Refusal` (stable code and message),
//! sent to the peer as an `error` message.

use cinemesh_protocol::tracker::ServerMessage;

pub use cinemesh_common::Refusal;

pub fn refusal_message(refusal: &Refusal) -> ServerMessage {
    ServerMessage::Error { code: refusal.code.to_owned(), message: refusal.message.clone() }
}
