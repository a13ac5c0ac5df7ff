//! The wire contract of Cinemesh. Nothing else defines message shapes: the
//! tracker, the load tester and the native peer use these types, and the web
//! client's TypeScript types mirror them.

mod bindings;
pub mod catalog;
pub mod directory;
pub mod ice;
pub mod lobby;
pub mod peer_wire;
pub mod ranges;
pub mod room;
pub mod room_queue;
pub mod room_relay;
pub mod tracker;
pub mod webtorrent;

pub use ranges::SegmentRanges;
