//! Watch-party rooms. The room's rules are pure state (`playback`, `members`);
//! each room runs as one task that owns that state (`room`); members talk to
//! it over a WebSocket (`session`); rooms are created over HTTP (`api`).
//! Frames reach members here or, through Redis, on other instances
//! (`delivery`, `relay`); rooms and seats are kept in the database (`store`).
//! The lobby (`lobby`, `lobby_session`, `lobby_relay`) shows who is online
//! and in which room, and carries invitations.

pub mod api;
pub mod bans;
pub mod delivery;
pub mod fetch_plan;
pub mod frame;
pub mod ip_limits;
pub mod lobby;
pub mod lobby_relay;
pub mod lobby_session;
pub mod members;
pub mod metrics;
pub mod origin_load;
pub mod password;
pub mod password_guard;
pub mod playback;
pub mod queue;
pub mod registry;
pub mod relay;
pub mod room;
pub mod session;
pub mod setup;
pub mod socket;
pub mod store;
pub mod text;

pub use api::{MovieDirectory, MovieFacts, RoomsApi, configure_rooms};
pub use cinemesh_common::Refusal;
pub use lobby::Lobby;
pub use lobby_relay::LobbyRelay;
pub use registry::Rooms;
pub use relay::Relay;
pub use store::RoomStore;
