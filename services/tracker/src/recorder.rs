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
use tokio::sync::mpsc;

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

#[derive(Clone, Debug)]
pub struct Recorder {
    queue: mpsc::Sender<Record>,
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
        if self.queue.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
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

async fn write_batches(db: Database, mut events: mpsc::Receiver<Record>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let Some(first) = events.recv().await else { break };
        batch.push(first);
        // Gather what arrives within the flush interval, up to a batch.
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(event)) => batch.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(e) = write(&db, &batch).await {
            tracing::error!(error = %e, events = batch.len(), "could not write tracker records");
        }
        batch.clear();
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
