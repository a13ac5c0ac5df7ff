//! The shared directory of tracker instances, in Redis. Shards report their
//! local members' holdings; this task writes them in pipelined batches, keeps
//! them alive, reads the other instances' members of the swarms that have
//! local members (only the swarms another instance changed, see
//! `swarm_versions`), and hands that view to the owning shards. Signals for peers
//! on other instances are published on the target instance's channel, and
//! what other instances publish here is handed to the shards. Nothing on the
//! per-message path waits for Redis.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cinemesh_common::db::now_ms;
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::directory::{DirectoryEntry, RelayedSignal, instance_channel, swarm_key, swarm_version_key};
use cinemesh_protocol::tracker::{PeerId, SwarmKey};
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use crate::hub::{Command, Hub};
use crate::swarm_versions::SwarmVersions;

/// Updates queued before new ones are dropped (and counted).
const QUEUE: usize = 65_536;
/// How often queued membership changes are written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How often the other instances' members are read.
const REFRESH_EVERY: Duration = Duration::from_millis(500);
/// Wait before connecting again after a failure.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// Longest wait between tries to reconnect to Redis (jitter may double it):
/// without it the waits grow past 3 s, and the directory is written again
/// that long after Redis is back.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub enum DirectoryUpdate {
    Upsert {
        swarm: SwarmKey,
        peer: PeerId,
        holdings: SegmentRanges,
    },
    Remove {
        swarm: SwarmKey,
        peer: PeerId,
    },
    Relay {
        instance: String,
        signal: RelayedSignal,
    },
    /// Write what is pending now, then answer (a stop: others must not be
    /// told of peers that are gone).
    Flush(oneshot::Sender<()>),
}

/// Where shards send directory updates; never blocks.
#[derive(Clone, Debug)]
pub struct DirectoryHandle {
    queue: mpsc::Sender<DirectoryUpdate>,
    pub instance: Arc<str>,
    pub dropped: Arc<AtomicU64>,
}

impl DirectoryHandle {
    /// Queues a flush behind the updates already queued; dropped (and so
    /// answered at once) when the queue is full.
    pub fn flush(&self, done: oneshot::Sender<()>) {
        let _ = self.queue.try_send(DirectoryUpdate::Flush(done));
    }

    pub fn update(&self, update: DirectoryUpdate) {
        if self.queue.try_send(update).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    pub redis_url: String,
    /// Namespace of every key and channel (lets tests and deployments share a Redis).
    pub prefix: String,
    /// A peer not vouched for within this long is ignored by other instances.
    pub peer_ttl: Duration,
}

/// The receiving half, kept until the hub exists.
pub struct DirectoryInbox {
    updates: mpsc::Receiver<DirectoryUpdate>,
    config: DirectoryConfig,
    instance: Arc<str>,
}

/// Creates the handle for the shards; `run` starts the work once the hub exists.
pub fn channel(config: DirectoryConfig) -> (DirectoryHandle, DirectoryInbox) {
    let (queue, updates) = mpsc::channel(QUEUE);
    let instance: Arc<str> = cinemesh_common::id::random_id(12).into();
    let handle = DirectoryHandle { queue, instance: instance.clone(), dropped: Arc::new(AtomicU64::new(0)) };
    (handle, DirectoryInbox { updates, config, instance })
}

impl DirectoryInbox {
    /// Starts the writer and the subscriber once Redis answers; until then
    /// updates wait in the queue. A URL that cannot be parsed fails at once.
    pub fn run(self, hub: Hub) -> redis::RedisResult<()> {
        let client = redis::Client::open(self.config.redis_url.as_str())?;
        actix_web::rt::spawn(async move {
            let connection = loop {
                let config = ConnectionManagerConfig::new().set_max_delay(RECONNECT_MAX_DELAY);
                match client.get_connection_manager_with_config(config).await {
                    Ok(connection) => break connection,
                    Err(e) => {
                        tracing::warn!(error = %e, "the tracker cannot reach Redis yet; retrying");
                        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                    }
                }
            };
            let channel = instance_channel(&self.config.prefix, &self.instance);
            actix_web::rt::spawn(subscribe(client, channel, hub.clone()));
            let full_read_every_ms = (self.config.peer_ttl / 3).as_millis() as i64;
            let writer = Writer {
                versions: SwarmVersions::new(full_read_every_ms),
                connection,
                config: self.config,
                instance: self.instance,
                local: HashMap::new(),
                pending: Vec::new(),
                redis_failed: false,
                hub,
            };
            writer.run(self.updates).await;
        });
        Ok(())
    }
}

enum Pending {
    Set { swarm: SwarmKey, peer: PeerId },
    Delete { swarm: SwarmKey, peer: PeerId },
}

struct Writer {
    connection: ConnectionManager,
    config: DirectoryConfig,
    instance: Arc<str>,
    /// The local members of each swarm and their holdings: what this instance vouches for.
    local: HashMap<SwarmKey, HashMap<PeerId, SegmentRanges>>,
    pending: Vec<Pending>,
    /// Redis failed a write or a read since the last write went through: it
    /// may have lost what was written (a restart without persistence loses
    /// all of it), so writes vouch for every local peer until one goes through.
    redis_failed: bool,
    /// Which swarms changed since they were read.
    versions: SwarmVersions,
    hub: Hub,
}

impl Writer {
    async fn run(mut self, mut updates: mpsc::Receiver<DirectoryUpdate>) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let mut refresh = tokio::time::interval(REFRESH_EVERY);
        let mut vouch = tokio::time::interval(self.config.peer_ttl / 3);
        loop {
            tokio::select! {
                update = updates.recv() => match update {
                    Some(update) => self.apply(update).await,
                    None => break,
                },
                _ = flush.tick() => self.flush().await,
                _ = refresh.tick() => self.refresh().await,
                _ = vouch.tick() => self.vouch_for_everyone(),
            }
        }
        self.flush().await;
    }

    async fn apply(&mut self, update: DirectoryUpdate) {
        match update {
            DirectoryUpdate::Upsert { swarm, peer, holdings } => {
                if !self.local.contains_key(&swarm) {
                    // New on this instance (or again): its shard knows none of the others' members yet.
                    self.versions.forget(&swarm);
                }
                self.local.entry(swarm.clone()).or_default().insert(peer.clone(), holdings);
                self.pending.push(Pending::Set { swarm, peer });
            }
            DirectoryUpdate::Remove { swarm, peer } => {
                if let Some(members) = self.local.get_mut(&swarm) {
                    members.remove(&peer);
                    if members.is_empty() {
                        self.local.remove(&swarm);
                        self.versions.forget(&swarm);
                    }
                }
                self.pending.push(Pending::Delete { swarm, peer });
            }
            DirectoryUpdate::Relay { instance, signal } => {
                let channel = instance_channel(&self.config.prefix, &instance);
                let Ok(payload) = serde_json::to_string(&signal) else { return };
                if let Err(e) = self.connection.publish::<_, _, ()>(channel, payload).await {
                    tracing::warn!(error = %e, "could not relay a signal to another instance");
                    self.failed();
                }
            }
            DirectoryUpdate::Flush(done) => {
                self.flush().await;
                let _ = done.send(());
            }
        }
    }

    fn vouch_for_everyone(&mut self) {
        for (swarm, members) in &self.local {
            for peer in members.keys() {
                self.pending.push(Pending::Set { swarm: swarm.clone(), peer: peer.clone() });
            }
        }
    }

    async fn flush(&mut self) {
        if self.redis_failed {
            self.vouch_for_everyone();
        }
        if self.pending.is_empty() {
            return;
        }
        let seen_ms = now_ms();
        let ttl_ms = self.config.peer_ttl.as_millis() as i64 * 2;
        let mut pipe = redis::pipe();
        // Kept for the next flush if this one fails (what is set, vouching writes again).
        let mut deletes = Vec::new();
        // Iterated twice below, unchanged in between, so in the same order both times.
        let mut written: HashSet<SwarmKey> = HashSet::new();
        for pending in self.pending.drain(..) {
            let swarm = match pending {
                Pending::Set { swarm, peer } => {
                    // Written with the latest holdings, whatever the update said then.
                    let Some(holdings) = self.local.get(&swarm).and_then(|m| m.get(&peer)) else { continue };
                    let entry =
                        DirectoryEntry { instance: self.instance.to_string(), holdings: holdings.clone(), seen_ms };
                    let Ok(value) = serde_json::to_string(&entry) else { continue };
                    let key = swarm_key(&self.config.prefix, &swarm);
                    pipe.hset(&key, &peer, value).ignore();
                    swarm
                }
                Pending::Delete { swarm, peer } => {
                    pipe.hdel(swarm_key(&self.config.prefix, &swarm), &peer).ignore();
                    deletes.push(Pending::Delete { swarm: swarm.clone(), peer });
                    swarm
                }
            };
            written.insert(swarm);
        }
        if written.is_empty() {
            return;
        }
        // After the writes, so that whoever sees a new version also sees
        // what was written. One expiry per swarm, not one per entry, which
        // sent as many expiries as writes.
        for swarm in &written {
            pipe.pexpire(swarm_key(&self.config.prefix, swarm), ttl_ms).ignore();
            let key = swarm_version_key(&self.config.prefix, swarm);
            pipe.incr(&key, 1).pexpire(&key, ttl_ms).ignore();
        }
        match pipe.query_async::<Vec<u64>>(&mut self.connection).await {
            Ok(versions) => {
                self.redis_failed = false;
                for (swarm, version) in written.iter().zip(versions) {
                    self.versions.wrote(swarm, version);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not write the tracker directory; trying again");
                self.failed();
                self.pending = deletes;
            }
        }
    }

    fn failed(&mut self) {
        self.redis_failed = true;
        self.versions.forget_all();
    }

    async fn refresh(&mut self) {
        if self.local.is_empty() {
            return;
        }
        let swarms: Vec<SwarmKey> = self.local.keys().cloned().collect();
        let mut pipe = redis::pipe();
        for swarm in &swarms {
            pipe.get(swarm_version_key(&self.config.prefix, swarm));
        }
        let versions: Vec<Option<u64>> = match pipe.query_async(&mut self.connection).await {
            Ok(versions) => versions,
            Err(e) => return self.read_failed(e),
        };
        let now = now_ms();
        let changed: Vec<(SwarmKey, u64)> = swarms
            .into_iter()
            .zip(versions)
            .map(|(swarm, version)| (swarm, version.unwrap_or(0)))
            .filter(|(swarm, version)| self.versions.needs_read(swarm, *version, now))
            .collect();
        if changed.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (swarm, _) in &changed {
            pipe.hgetall(swarm_key(&self.config.prefix, swarm));
        }
        let views: Vec<HashMap<String, String>> = match pipe.query_async(&mut self.connection).await {
            Ok(views) => views,
            Err(e) => return self.read_failed(e),
        };
        let ttl_ms = self.config.peer_ttl.as_millis() as i64;
        let oldest_ms = now - ttl_ms;
        for ((swarm, version), view) in changed.into_iter().zip(views) {
            let mut earliest_seen: Option<i64> = None;
            let members = view
                .into_iter()
                .filter_map(|(peer, value)| {
                    let entry: DirectoryEntry = serde_json::from_str(&value).ok()?;
                    if entry.instance == *self.instance || entry.seen_ms < oldest_ms {
                        return None;
                    }
                    earliest_seen = Some(earliest_seen.map_or(entry.seen_ms, |e| e.min(entry.seen_ms)));
                    Some((peer, entry.instance, entry.holdings))
                })
                .collect();
            self.versions.read(swarm.clone(), version, earliest_seen.map(|seen| seen + ttl_ms), now);
            self.hub.send(Command::RemoteView { swarm, members }).await;
        }
    }

    fn read_failed(&mut self, error: redis::RedisError) {
        tracing::warn!(error = %error, "could not read the tracker directory");
        self.failed();
    }
}

/// Receives signals other instances publish for this one's peers.
async fn subscribe(client: redis::Client, channel: String, hub: Hub) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else { continue };
                        match serde_json::from_str::<RelayedSignal>(&payload) {
                            Ok(signal) => hub.send(Command::RemoteSignal(signal)).await,
                            Err(e) => tracing::warn!(error = %e, "ignoring a malformed relayed signal"),
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not subscribe for relayed signals"),
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}
