//! A refused message on a socket (tracker, rooms): a stable code for programs
//! and a message for people. Each protocol turns it into its `error` message.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}
