//! The owner of live swarm state. Swarms are spread over shards by key; each
//! shard is one task that alone touches its swarms, so the per-message path
//! takes no locks. Sessions send commands; the shard answers by writing to the
//! peers' outboxes with `try_send`, never waiting on a slow peer: a full
//! outbox loses the message and counts it as dropped.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::directory::RelayedSignal;
use cinemesh_protocol::tracker::{PeerId, ServerMessage, Signal, SwarmKey};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};

use crate::directory::{DirectoryHandle, DirectoryUpdate};
use crate::error::{Refusal, refusal_message};
use crate::recorder::{Record, Recorder};
use crate::swarm::{Swarm, TransferStats};

/// Messages queued for one peer before further ones are dropped.
pub const OUTBOX_CAPACITY: usize = 256;
/// Commands queued for one shard before senders wait.
const SHARD_QUEUE: usize = 8192;

pub type Outbox = mpsc::Sender<ServerMessage>;

#[derive(Debug)]
pub enum Command {
    Join {
        peer: PeerId,
        swarm: SwarmKey,
        holdings: SegmentRanges,
        segment_count: u32,
        outbox: Outbox,
        /// The network the peer connects from (see `reports::network_of`).
        network: Option<String>,
    },
    Have {
        peer: PeerId,
        swarm: SwarmKey,
        added: SegmentRanges,
        dropped: SegmentRanges,
    },
    WhoHas {
        peer: PeerId,
        swarm: SwarmKey,
        from: u32,
        count: u32,
        limit: u32,
    },
    Signal {
        peer: PeerId,
        swarm: SwarmKey,
        to: PeerId,
        signal: Signal,
        lane: Option<u8>,
    },
    /// The peer showed it is alive (it reported its stats): counts for "recently active".
    Touch {
        peer: PeerId,
        swarm: SwarmKey,
    },
    Leave {
        peer: PeerId,
        swarm: SwarmKey,
    },
    /// `peer` caught `reported` misbehaving.
    Report {
        peer: PeerId,
        swarm: SwarmKey,
        reported: PeerId,
    },
    /// The members of a swarm connected to other instances (Redis mode).
    RemoteView {
        swarm: SwarmKey,
        members: Vec<(PeerId, String, SegmentRanges)>,
    },
    /// A signal another instance relayed to a peer connected here.
    RemoteSignal(RelayedSignal),
}

/// What a shard receives: commands, and a stop's request to flush.
enum ShardInput {
    Command(Command),
    /// Every swarm of this movie ends.
    EndMovie(String),
    /// Answered once the directory has written what came before.
    Flush(oneshot::Sender<()>),
}

impl Command {
    fn swarm(&self) -> &SwarmKey {
        match self {
            Self::Join { swarm, .. }
            | Self::Have { swarm, .. }
            | Self::WhoHas { swarm, .. }
            | Self::Signal { swarm, .. }
            | Self::Touch { swarm, .. }
            | Self::Leave { swarm, .. }
            | Self::Report { swarm, .. }
            | Self::RemoteView { swarm, .. } => swarm,
            Self::RemoteSignal(relayed) => &relayed.swarm,
        }
    }
}

/// What operators watch on the tracker (exported at `/metrics`).
#[derive(Debug, Default)]
pub struct HubCounters {
    /// Messages read from peers.
    pub received: Counter,
    /// Messages queued for peers.
    pub delivered: Counter,
    /// Messages lost because a peer's outbox was full.
    pub dropped: Counter,
    /// Peers in swarms on this instance (a peer in two swarms counts twice).
    pub peers: Gauge,
    /// Swarms with members on this instance.
    pub swarms: Gauge,
    /// Reports of misbehaving peers accepted.
    pub reports: Counter,
    /// Refusals sent to peers, by code.
    pub refusals: Family<RefusalLabel, Counter>,
    /// Bytes viewers report: downloaded over HTTP, from peers, uploaded to peers.
    pub viewer_bytes: Family<SourceLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// `http`, `peer` or `uploaded`.
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabel {
    pub code: &'static str,
}

impl HubCounters {
    /// Adds what grew between two cumulative reports of one viewer (a smaller
    /// figure, from a client that started counting again, adds nothing).
    pub fn viewer_bytes(&self, before: &TransferStats, now: &TransferStats) {
        for (source, old, new) in [
            ("http", before.http_bytes, now.http_bytes),
            ("peer", before.peer_bytes, now.peer_bytes),
            ("uploaded", before.uploaded_bytes, now.uploaded_bytes),
        ] {
            self.viewer_bytes.get_or_create(&SourceLabel { source }).inc_by(new.saturating_sub(old));
        }
    }

    pub fn refused(&self, code: &'static str) {
        self.refusals.get_or_create(&RefusalLabel { code }).inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("cinemesh_tracker_messages_received", "Messages read from peers", self.received.clone());
        registry.register("cinemesh_tracker_messages_delivered", "Messages queued for peers", self.delivered.clone());
        registry.register(
            "cinemesh_tracker_messages_dropped",
            "Messages lost to a full peer outbox",
            self.dropped.clone(),
        );
        registry.register("cinemesh_tracker_peers", "Peers in swarms on this instance", self.peers.clone());
        registry.register("cinemesh_tracker_swarms", "Swarms with members on this instance", self.swarms.clone());
        registry.register(
            "cinemesh_viewer_bytes",
            "Bytes viewers report: over HTTP, from peers, uploaded to peers",
            self.viewer_bytes.clone(),
        );
        registry.register(
            "cinemesh_tracker_refusals",
            "Refusals sent to tracker clients, by code",
            self.refusals.clone(),
        );
        registry.register(
            "cinemesh_tracker_peer_reports",
            "Reports of peers caught misbehaving on the peer wire",
            self.reports.clone(),
        );
    }
}

/// Cloneable handle to the shards.
#[derive(Clone, Debug)]
pub struct Hub {
    shards: Arc<Vec<mpsc::Sender<ShardInput>>>,
    pub counters: Arc<HubCounters>,
}

impl Hub {
    /// Starts `shards` shard tasks, each on its own thread (actix arbiter).
    /// Every `snapshot_every` each shard records its members' holdings.
    pub fn start(
        shards: usize,
        recorder: Recorder,
        snapshot_every: Duration,
        directory: Option<DirectoryHandle>,
    ) -> Self {
        let counters = Arc::new(HubCounters::default());
        let senders = (0..shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                let shard = Shard {
                    swarms: HashMap::new(),
                    counters: counters.clone(),
                    recorder: recorder.clone(),
                    directory: directory.clone(),
                };
                let arbiter = actix_rt::Arbiter::new();
                arbiter.spawn(run_shard(shard, rx, snapshot_every));
                tx
            })
            .collect();
        Self { shards: Arc::new(senders), counters }
    }

    fn shard_for(&self, swarm: &SwarmKey) -> &mpsc::Sender<ShardInput> {
        let mut hasher = DefaultHasher::new();
        swarm.hash(&mut hasher);
        &self.shards[(hasher.finish() % self.shards.len() as u64) as usize]
    }

    /// Queues a command for the shard that owns its swarm.
    pub async fn send(&self, command: Command) {
        let shard = self.shard_for(command.swarm());
        if shard.send(ShardInput::Command(command)).await.is_err() {
            tracing::error!("a tracker shard stopped");
        }
    }

    /// Ends every swarm of `movie` (deleted): its peers here are told
    /// `movie_deleted` and leave, in the directory too.
    pub async fn end_movie(&self, movie: &str) {
        for shard in self.shards.iter() {
            let _ = shard.send(ShardInput::EndMovie(movie.to_owned())).await;
        }
    }

    /// Resolves once every shard has handled what it was sent before, and the
    /// directory (in Redis mode) has written the changes that led to.
    pub async fn flush(&self) {
        let mut answers = Vec::with_capacity(self.shards.len());
        for shard in self.shards.iter() {
            let (done, answered) = oneshot::channel();
            if shard.send(ShardInput::Flush(done)).await.is_ok() {
                answers.push(answered);
            }
        }
        for answered in answers {
            let _ = answered.await;
        }
    }
}

struct SwarmEntry {
    swarm: Swarm,
    outboxes: HashMap<PeerId, Outbox>,
}

struct Shard {
    swarms: HashMap<SwarmKey, SwarmEntry>,
    counters: Arc<HubCounters>,
    recorder: Recorder,
    /// Present in Redis mode: where local membership is published.
    directory: Option<DirectoryHandle>,
}

async fn run_shard(mut shard: Shard, mut inputs: mpsc::Receiver<ShardInput>, snapshot_every: Duration) {
    let mut snapshots = tokio::time::interval(snapshot_every);
    snapshots.tick().await;
    loop {
        tokio::select! {
            input = inputs.recv() => match input {
                Some(ShardInput::Command(command)) => shard.handle(command, Instant::now()),
                Some(ShardInput::EndMovie(movie)) => shard.end_movie(&movie),
                Some(ShardInput::Flush(done)) => match &shard.directory {
                    Some(directory) => directory.flush(done),
                    None => { let _ = done.send(()); }
                },
                None => break,
            },
            _ = snapshots.tick() => shard.snapshot(),
        }
    }
}

impl Shard {
    fn end_movie(&mut self, movie: &str) {
        let ended: Vec<SwarmKey> = self.swarms.keys().filter(|key| key.movie == movie).cloned().collect();
        for key in ended {
            let Some(entry) = self.swarms.remove(&key) else { continue };
            self.counters.swarms.dec();
            let refusal = Refusal::new("movie_deleted", "this movie was deleted; its swarms have ended");
            for (peer, outbox) in entry.outboxes {
                self.counters.peers.dec();
                self.deliver(&outbox, refusal_message(&refusal));
                self.publish(DirectoryUpdate::Remove { swarm: key.clone(), peer });
            }
        }
    }

    fn snapshot(&self) {
        let at_ms = cinemesh_common::db::now_ms();
        for (key, entry) in &self.swarms {
            for (peer, holdings) in entry.swarm.local_holdings() {
                self.recorder.record(Record::Snapshot {
                    peer: peer.clone(),
                    swarm: key.clone(),
                    holdings: holdings.to_ranges(),
                    at_ms,
                });
            }
        }
    }

    fn publish(&self, update: DirectoryUpdate) {
        if let Some(directory) = &self.directory {
            directory.update(update);
        }
    }

    fn deliver(&self, outbox: &Outbox, message: ServerMessage) {
        match outbox.try_send(message) {
            Ok(()) => self.counters.delivered.inc(),
            Err(_) => self.counters.dropped.inc(),
        };
    }

    fn refuse(&self, outbox: Option<&Outbox>, refusal: Refusal) {
        self.counters.refused(refusal.code);
        if let Some(outbox) = outbox {
            self.deliver(outbox, refusal_message(&refusal));
        }
    }

    fn handle(&mut self, command: Command, now: Instant) {
        match command {
            Command::Join { peer, swarm, holdings, segment_count, outbox, network } => {
                let entry = self.swarms.entry(swarm.clone()).or_insert_with(|| {
                    self.counters.swarms.inc();
                    SwarmEntry { swarm: Swarm::new(segment_count), outboxes: HashMap::new() }
                });
                if !entry.swarm.contains(&peer) {
                    self.counters.peers.inc();
                }
                entry.swarm.join(peer.clone(), &holdings, now);
                entry.swarm.set_network(&peer, network);
                entry.outboxes.insert(peer.clone(), outbox.clone());
                let peers = entry.swarm.len().saturating_sub(1) as u32;
                let holdings = entry.swarm.ranges_of(&peer).unwrap_or_default();
                self.deliver(&outbox, ServerMessage::Joined { swarm: swarm.clone(), peers });
                self.publish(DirectoryUpdate::Upsert { swarm, peer, holdings });
            }
            Command::Have { peer, swarm, added, dropped } => {
                let holdings = self.swarms.get_mut(&swarm).and_then(|e| {
                    e.swarm.have(&peer, &added, &dropped, now).then(|| e.swarm.ranges_of(&peer)).flatten()
                });
                match holdings {
                    Some(holdings) => self.publish(DirectoryUpdate::Upsert { swarm, peer, holdings }),
                    // No outbox to answer on: the peer never joined this swarm.
                    None => tracing::debug!(%peer, "have for a swarm the peer is not in"),
                }
            }
            Command::WhoHas { peer, swarm, from, count, limit } => {
                let Some(entry) = self.swarms.get_mut(&swarm).filter(|e| e.swarm.contains(&peer)) else {
                    return;
                };
                entry.swarm.touch(&peer, now);
                let peers = entry.swarm.holders(&peer, from, count, limit, now);
                if let Some(outbox) = entry.outboxes.get(&peer).cloned() {
                    self.deliver(&outbox, ServerMessage::Holders { swarm, from, count, peers });
                }
            }
            Command::Signal { peer, swarm, to, signal, lane } => {
                let Some(entry) = self.swarms.get_mut(&swarm).filter(|e| e.swarm.contains(&peer)) else {
                    return;
                };
                entry.swarm.touch(&peer, now);
                entry.swarm.signalled(&peer, &to);
                let remote = entry.swarm.remote_instance(&to).map(str::to_owned);
                match (entry.outboxes.get(&to).filter(|_| to != peer).cloned(), remote) {
                    (Some(target), _) => {
                        self.deliver(&target, ServerMessage::Signal { swarm, from: peer, signal, lane });
                    }
                    (None, Some(instance)) => {
                        let signal = RelayedSignal { swarm, from: peer, to, signal, lane };
                        self.publish(DirectoryUpdate::Relay { instance, signal });
                    }
                    (None, None) => {
                        let sender = entry.outboxes.get(&peer).cloned();
                        self.refuse(
                            sender.as_ref(),
                            Refusal::new("unknown_peer", format!("no peer {to:?} in this swarm")),
                        );
                    }
                }
            }
            Command::Touch { peer, swarm } => {
                if let Some(entry) = self.swarms.get_mut(&swarm) {
                    entry.swarm.touch(&peer, now);
                }
            }
            Command::Leave { peer, swarm } => {
                let Some(entry) = self.swarms.get_mut(&swarm) else { return };
                if entry.swarm.leave(&peer).is_some() {
                    self.counters.peers.dec();
                }
                entry.outboxes.remove(&peer);
                // Without local members the swarm is of no interest here,
                // whatever other instances hold.
                if entry.outboxes.is_empty() {
                    self.swarms.remove(&swarm);
                    self.counters.swarms.dec();
                }
                self.publish(DirectoryUpdate::Remove { swarm, peer });
            }
            Command::Report { peer, swarm, reported } => {
                if let Some(entry) = self.swarms.get_mut(&swarm)
                    && entry.swarm.report(&peer, &reported)
                {
                    self.counters.reports.inc();
                }
            }
            Command::RemoteView { swarm, members } => {
                if let Some(entry) = self.swarms.get_mut(&swarm) {
                    entry.swarm.set_remote(members, now);
                }
            }
            Command::RemoteSignal(RelayedSignal { swarm, from, to, signal, lane }) => {
                // The sending instance checked that `from` is in this swarm.
                if let Some(entry) = self.swarms.get_mut(&swarm) {
                    entry.swarm.signalled(&from, &to);
                }
                if let Some(target) = self.swarms.get(&swarm).and_then(|e| e.outboxes.get(&to)).cloned() {
                    self.deliver(&target, ServerMessage::Signal { swarm, from, signal, lane });
                }
            }
        }
    }
}
