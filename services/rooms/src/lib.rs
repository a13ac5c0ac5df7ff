//! Watch-party rooms. This crate holds a room's rules as pure state: the
//! authoritative playback clock and the members with their roles. The
//! socket, chat and persistence layers call into it; nothing here waits,
//! sends or reads a clock (times are passed in).

pub mod members;
pub mod playback;
pub mod refusal;

pub use refusal::Refusal;
