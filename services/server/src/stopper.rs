//! A graceful stop: members of rooms homed here are told the room moves and
//! the rooms' writes are flushed; every other long-lived socket (tracker,
//! announce, lobby) closes with a reconnect hint; then the tracker's
//! directory and records are written, so other instances stop introducing
//! the peers that were here; then STUN/TURN closes its socket and relays;
//! last, the instance stops saying that it runs ingest jobs.
//! Each step is bounded.

use std::sync::Arc;
use std::time::Duration;

use cinemesh_catalog::jobs::IngestQueue;
use cinemesh_common::StopSignal;
use cinemesh_rooms::Rooms;
use cinemesh_tracker::TrackerState;
use cinemesh_turn::EmbeddedTurn;

/// How long a stop waits to say that this instance runs no more ingest jobs.
const LEAVE_BOUND: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Stopper {
    pub(crate) rooms: Rooms,
    pub(crate) sockets: StopSignal,
    pub(crate) tracker: TrackerState,
    pub(crate) turn: Option<Arc<EmbeddedTurn>>,
    pub(crate) ingest: IngestQueue,
}

impl Stopper {
    /// Returns within about twice `bound`, whatever clients do.
    pub async fn stop(&self, bound: Duration) {
        let (_, closed) = tokio::join!(self.rooms.shutdown(bound), self.sockets.stop(bound));
        if !closed {
            tracing::warn!("some sockets were still closing when the stop went on");
        }
        if tokio::time::timeout(bound, self.tracker.flush()).await.is_err() {
            tracing::warn!("the tracker's directory and records could not be written in time");
        }
        if let Some(turn) = &self.turn
            && tokio::time::timeout(bound, turn.close()).await.is_err()
        {
            tracing::warn!("STUN/TURN did not close in time");
        }
        // `cinemesh ingest` stops handing its files to this instance; a job
        // running here goes back to the queue when its lease lapses.
        // Briefly: the database may be gone, and the row ages out on its own.
        let _ = tokio::time::timeout(LEAVE_BOUND, self.ingest.leave()).await;
    }

    /// The rooms running here (tests hand them over on their own).
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }
}
