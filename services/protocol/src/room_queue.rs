//! A room's queue of movies: what plays next, what plays now, and what was
//! watched. Members with playback control change the queue; the room plays
//! the next entry for everyone when a movie ends (autoplay), after an
//! optional countdown.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Most movies one room's queue holds.
pub const MAX_QUEUE: usize = 100;
/// Most movies a room's history keeps (the latest).
pub const MAX_HISTORY: usize = 50;
/// The longest countdown before the next movie, s.
pub const MAX_COUNTDOWN_SECS: u32 = 60;
/// Most entries a member without playback control may have in the queue at once.
pub const MAX_SUGGESTIONS: usize = 5;

/// One movie in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct QueueEntry {
    /// The room's name for this entry (the same movie may be queued twice).
    pub id: String,
    pub movie: String,
    pub title: String,
    pub duration_ms: f64,
    /// The display name of the member who added it.
    pub added_by: String,
    /// Added by a member without playback control (a suggestion).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub suggested: bool,
}

/// The next movie is about to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Countdown {
    /// The entry that starts.
    pub entry: String,
    /// When it starts, server ms.
    pub ends_at_ms: i64,
}

/// The queue as everyone sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct QueueView {
    /// Goes up with every change: a `queue_move` names the version it saw.
    pub version: u64,
    /// What plays next, first to last.
    pub entries: Vec<QueueEntry>,
    /// At the end of a movie the next one starts for everyone.
    pub autoplay: bool,
    /// Seconds of "Next: …" before it does (0: at once).
    pub countdown_secs: u32,
    /// Members without playback control may add movies too.
    #[serde(default)]
    pub suggestions: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub countdown: Option<Countdown>,
}

impl Default for QueueView {
    fn default() -> Self {
        Self { version: 0, entries: Vec::new(), autoplay: true, countdown_secs: 0, suggestions: false, countdown: None }
    }
}

/// The movie the room plays now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NowPlaying {
    pub movie: String,
    pub title: String,
    pub duration_ms: f64,
}

/// A movie the room played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchedEntry {
    pub movie: String,
    pub title: String,
    /// When it started and when the room left it, server ms.
    pub started_at_ms: i64,
    pub ended_at_ms: i64,
    /// How far into it the room got, ms.
    pub watched_ms: f64,
    /// Played to its end (not skipped).
    pub finished: bool,
}
