//! Room messages: JSON text frames over a room's WebSocket, tagged by `type`.
//! The server holds the authoritative playback state; clients send commands
//! that carry the `seq` they last saw, and the server answers with a new
//! state that takes effect at a scheduled server time.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of this protocol; `hello` carries it.
pub const ROOM_PROTOCOL_VERSION: u32 = 1;
/// Longest display name, characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Server-assigned member id: unique per room member, opaque to clients.
pub type MemberId = String;

/// Who may play, pause and seek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ControlPolicy {
    HostOnly,
    Cohosts,
    Everyone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Cohost,
    Host,
}

/// The room's playback, authoritative on the server. The position is
/// `position_ms` at server time `anchor_ms`, and advances at `rate` from then
/// on while `playing` (a start scheduled in the future holds the position
/// until then).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct PlaybackState {
    pub position_ms: f64,
    pub playing: bool,
    pub rate: f64,
    /// Bumped by every accepted command.
    pub seq: u64,
    /// Server time, Unix ms.
    pub anchor_ms: i64,
}

impl PlaybackState {
    /// The position at server time `now_ms`.
    pub fn position_at(&self, now_ms: i64) -> f64 {
        if !self.playing || now_ms <= self.anchor_ms {
            return self.position_ms;
        }
        self.position_ms + (now_ms - self.anchor_ms) as f64 * self.rate
    }
}

/// A playback command; `position_ms` is where the sender wants the room to be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum PlaybackCommand {
    Play { position_ms: f64 },
    Pause { position_ms: f64 },
    Seek { position_ms: f64 },
}
