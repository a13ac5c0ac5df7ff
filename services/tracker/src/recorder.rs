//! Durable records of the tracker, written in the background: sessions and
//! their last reported byte counters, and periodic holdings snapshots. Events
//! are queued without waiting and written in batches, one transaction each,
//! so the database is never on the per-message path.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cinemesh_common::Database;
use cinemesh_common::db::now_ms;
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{PeerId, SwarmKey};
use tokio::sync::{mpsc, oneshot};

use crate::swarm::TransferStats;

/// Events queued before new ones are dropped (and counted).
const QUEUE: usize = 65_536;
/// Events written per transaction at most.
const BATCH: usize = 1_000;
/// Longest an event waits before its batch is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub enum Record {
    Joined { peer: PeerId, swarm: SwarmKey, ip: String, user_agent: String, at_ms: i64 },
    Stats { peer: PeerId, swarm: SwarmKey, stats: TransferStats },
    Left { peer: PeerId, swarm: SwarmKey, at_ms: i64 },
    Snapshot { peer: PeerId, swarm: SwarmKey, holdings: SegmentRanges, at_ms: i64 },
}

/// What the writer task receives.
#[derive(Debug)]
enum Event {
    Record(Record),
    /// Write what is queued now, then answer.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone, Debug)]
pub struct Recorder {
    queue: mpsc::Sender<Event>,
    pub dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Database) -> Self {
        let (queue, events) = mpsc::channel(QUEUE);
        actix_web::rt::spawn(write_batches(db, events));
        Self { queue, dropped: Arc::new(AtomicU64::new(0)) }
    }

    pub fn record(&self, record: Record) {
        if self.queue.try_send(Event::Record(record)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Resolves once everything recorded before the call is written (or the
    /// writer is gone).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Event::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    pub fn joined(&self, peer: &str, swarm: &SwarmKey, ip: &str, user_agent: &str) {
        self.record(Record::Joined {
            peer: peer.to_owned(),
            swarm: swarm.clone(),
            ip: ip.to_owned(),
            user_agent: user_agent.to_owned(),
            at_ms: now_ms(),
        });
    }

    pub fn left(&self, peer: &str, swarm: &SwarmKey) {
        self.record(Record::Left { peer: peer.to_owned(), swarm: swarm.clone(), at_ms: now_ms() });
    }
}

async fn write_batches(db: Database, mut events: mpsc::Receiver<Event>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    loop {
        let Some(first) = events.recv().await else { break };
        take(first, &mut batch, &mut flushes);
        // Gather what arrives within the flush interval, up to a batch, unless
        // someone waits for the writes.
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH && flushes.is_empty() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(event)) => take(event, &mut batch, &mut flushes),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty()
            && let Err(e) = write(&db, &batch).await
        {
            tracing::error!(error = %e, events = batch.len(), "could not write tracker records");
        }
        batch.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

fn take(event: Event, batch: &mut Vec<Record>, flushes: &mut Vec<oneshot::Sender<()>>) {
    match event {
        Event::Record(record) => batch.push(record),
        Event::Flush(done) => flushes.push(done),
    }
}

async fn write(db: &Database, batch: &[Record]) -> Result<(), sqlx::Error> {
    // Only the last counters of a peer in a batch matter.
    let mut seen_stats = HashSet::new();
    let latest_stats: HashSet<usize> = batch
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, r)| match r {
            Record::Stats { peer, swarm, .. } => seen_stats.insert((peer, swarm)).then_some(i),
            _ => None,
        })
        .collect();
    let mut tx = db.pool().begin().await?;
    for (i, record) in batch.iter().enumerate() {
        match record {
            Record::Joined { peer, swarm, ip, user_agent, at_ms } => {
                sqlx::query(
                    "INSERT INTO peer_sessions (peer_id, movie_id, rendition, ip, user_agent, joined_at_ms, left_at_ms, \
                     http_bytes, peer_bytes, uploaded_bytes) VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, 0, 0) \
                     ON CONFLICT (peer_id, movie_id, rendition) DO UPDATE SET left_at_ms = NULL",
                )
                .bind(peer)
                .bind(&swarm.movie)
                .bind(&swarm.rendition)
                .bind(ip)
                .bind(user_agent)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
            }
            Record::Stats { peer, swarm, stats } if latest_stats.contains(&i) => {
                sqlx::query(
                    "UPDATE peer_sessions SET http_bytes = $1, peer_bytes = $2, uploaded_bytes = $3 \
                     WHERE peer_id = $4 AND movie_id = $5 AND rendition = $6",
                )
                .bind(clamp(stats.http_bytes))
                .bind(clamp(stats.peer_bytes))
                .bind(clamp(stats.uploaded_bytes))
                .bind(peer)
                .bind(&swarm.movie)
                .bind(&swarm.rendition)
                .execute(&mut *tx)
                .await?;
            }
            Record::Stats { .. } => {}
            Record::Left { peer, swarm, at_ms } => {
                sqlx::query(
                    "UPDATE peer_sessions SET left_at_ms = $1 WHERE peer_id = $2 AND movie_id = $3 AND rendition = $4",
                )
                .bind(at_ms)
                .bind(peer)
                .bind(&swarm.movie)
                .bind(&swarm.rendition)
                .execute(&mut *tx)
                .await?;
            }
            Record::Snapshot { peer, swarm, holdings, at_ms } => {
                let ranges = serde_json::to_string(holdings).unwrap_or_else(|_| "[]".into());
                sqlx::query(
                    "INSERT INTO holdings_snapshots (peer_id, movie_id, rendition, taken_at_ms, ranges) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(peer)
                .bind(&swarm.movie)
                .bind(&swarm.rendition)
                .bind(at_ms)
                .bind(ranges)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await
}

/// Counters are u64 on the wire and BIGINT in the database.
fn clamp(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn flush_writes_what_came_before_without_waiting_for_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!("sqlite://{}/records.db", dir.path().display())).await.unwrap();
        let recorder = Recorder::start(db.clone());
        let swarm = SwarmKey { movie: "m".into(), rendition: "r".into() };
        recorder.joined("p1", &swarm, "127.0.0.1", "test");
        recorder.left("p1", &swarm);
        recorder.flush().await;
        // Read at once: the batch window (FLUSH_EVERY) has not passed.
        let left: Option<i64> = sqlx::query_scalar("SELECT left_at_ms FROM peer_sessions WHERE peer_id = 'p1'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert!(left.is_some());
    }
}
