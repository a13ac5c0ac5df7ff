//! Why the tracker refused a message. Each has a stable code sent to the peer
//! in an `error` message.

use cinemesh_protocol::tracker::ServerMessage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error { code: self.code.to_owned(), message: self.message.clone() }
    }
}
