//! The segment-aware tracker: it knows which active peer holds which segment
//! of which rendition, introduces the best holders at once, and relays WebRTC
//! signalling between peers of the same swarm.

mod directory;
mod error;
mod holdings;
mod hub;
mod limits;
mod recorder;
mod reports;
mod session;
mod swarm;
mod swarm_versions;
mod webtorrent;

pub use directory::{DirectoryConfig, DirectoryHandle, DirectoryInbox, channel as directory_channel};
pub use hub::{Hub, HubCounters};
pub use recorder::{FLUSH_EVERY, Recorder};
pub use session::{RenditionDirectory, SessionTiming, TrackerState, configure_tracker};
pub use webtorrent::{WebTorrent, configure_webtorrent};
