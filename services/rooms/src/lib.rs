//! Watch-party rooms. The room's rules are pure state (`playback`, `members`);
//! each room runs as one task that owns that state (`room`); members talk to
//! it over a WebSocket (`session`); rooms are created over HTTP (`api`).

pub mod api;
pub mod ip_limits;
pub mod members;
pub mod password;
pub mod playback;
pub mod registry;
pub mod room;
pub mod session;
pub mod store;

pub use api::{MovieDirectory, RoomsApi, configure_rooms};
pub use cinemesh_common::Refusal;
pub use registry::Rooms;
pub use store::RoomStore;
