//! A native Cinemesh peer on the webrtc crate. It speaks the same tracker and
//! peer wire protocols as the browsers (the protocol crate's types and test
//! vectors), so it can seed a movie to them.

pub mod catalog_seeding;
pub mod held_segments;
pub mod native_peer;
pub mod peer;
pub mod rtc;
pub mod seeder;
pub mod upload;
pub mod wire_session;
