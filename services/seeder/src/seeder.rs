//! `cinemesh seed`: a native peer that holds a movie's segments and gives
//! them to viewers. It reads the movie and its segment hashes from the
//! server's catalog, verifies the files in the media folder against them,
//! joins the movie's swarms on the tracker like a browser (with the whole
//! movie as its holdings) and answers every viewer who connects, within its
//! connection and upload limits. Segments the folder lacks (or that differ
//! from the catalog) are fetched from peers that hold them, verified, and
//! served from then on. When the tracker connection drops it comes back, with
//! a fresh swarm token.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_codec::Framed;
use anyhow::{Context, bail};
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use cinemesh_catalog::model::{MovieDetail, SegmentManifest};
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::peer_wire::SegmentId;
use cinemesh_protocol::tracker::{
    ClientMessage, Holder, MAX_WINDOW, PROTOCOL_VERSION, PeerId, ServerMessage, SwarmKey,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::held_segments::HeldSegments;
use crate::peer::{self, Ending, Fetched, Outgoing, PeerContext, PeerHandle, Role};
use crate::upload::Uploads;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Base URL of a cinemesh server (`http://host:port`).
    pub server: String,
    pub movie: String,
    /// The server's media folder.
    pub media_dir: PathBuf,
    /// Renditions to seed (empty: all).
    pub renditions: Vec<String>,
    /// Upload cap over all viewers, bytes/s (0: none).
    pub upload_bytes_per_sec: u64,
    /// Viewers connected at once at most; more are not answered.
    pub max_peers: usize,
}

/// How often the seeder tells the tracker it is alive and what it uploaded.
const STATS_EVERY: Duration = Duration::from_secs(5);
/// How often it asks who holds the segments it lacks.
const FETCH_EVERY: Duration = Duration::from_secs(1);
/// Segments asked of one peer per connection.
const FETCH_BATCH: usize = 16;
const RECONNECT_MAX: Duration = Duration::from_secs(30);

pub async fn run(options: SeedOptions) -> anyhow::Result<()> {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let server = options.server.trim_end_matches('/').to_owned();
    let manifest: SegmentManifest =
        get_json(&client, &format!("{server}/api/movies/{}/segments", options.movie)).await?;
    let held = HeldSegments::load(&options.media_dir, &manifest, &options.renditions);
    for left_out in &held.left_out {
        tracing::warn!(rendition = %left_out.rendition, sequence = left_out.sequence, reason = %left_out.reason, "not seeding a segment");
    }
    if held.is_empty() {
        bail!(
            "no segment of {} in {} matches the catalog: is that the server's media folder (storage.data_dir/media)?",
            options.movie,
            options.media_dir.display()
        );
    }
    println!(
        "seeding {} segments ({} bytes) of {} in {}; {} left out",
        held.len(),
        held.bytes(),
        options.movie,
        held.renditions().join(", "),
        held.left_out.len()
    );
    let uploads = Arc::new(Uploads::new(Arc::new(held), options.upload_bytes_per_sec));
    let api = Arc::new(crate::rtc::api());
    let mut backoff = Duration::from_secs(1);
    loop {
        match tracker_session(&client, &server, &options, &uploads, &api).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "the tracker connection ended; connecting again"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(client: &awc::Client, url: &str) -> anyhow::Result<T> {
    let mut response = client.get(url).send().await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        bail!("GET {url}: {}", response.status());
    }
    let body = response.body().limit(64 << 20).await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).with_context(|| format!("GET {url}: unexpected body"))
}

struct Tracker {
    socket: Framed<BoxedSocket, Codec>,
}

impl Tracker {
    async fn send(&mut self, message: &ClientMessage) -> anyhow::Result<()> {
        let text = serde_json::to_string(message)?;
        self.socket.send(Message::Text(text.into())).await.context("writing to the tracker")
    }

    /// The next protocol message (pings answered on the way); `None` when closed.
    async fn next(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            match self.socket.next().await {
                None | Some(Ok(Frame::Close(_))) => return Ok(None),
                Some(Err(e)) => bail!("reading from the tracker: {e}"),
                Some(Ok(Frame::Ping(bytes))) => self.socket.send(Message::Pong(bytes)).await?,
                Some(Ok(Frame::Text(text))) => return Ok(Some(serde_json::from_slice(&text)?)),
                Some(Ok(_)) => {}
            }
        }
    }
}

async fn tracker_session(
    client: &awc::Client,
    server: &str,
    options: &SeedOptions,
    uploads: &Arc<Uploads>,
    api: &Arc<webrtc::api::API>,
) -> anyhow::Result<()> {
    // A fresh token each time: it admits to the movie's swarms for hours, not forever.
    let movie: MovieDetail = get_json(client, &format!("{server}/api/movies/{}", options.movie)).await?;
    let url = format!("{server}{}", movie.tracker.url).replacen("http", "ws", 1);
    let (_, socket) = client
        .ws(url.as_str())
        .max_frame_size(1 << 20)
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {url}: {e}"))?;
    let mut tracker = Tracker { socket };
    tracker.send(&ClientMessage::Hello { version: PROTOCOL_VERSION }).await?;
    let (me, heartbeat) = match tracker.next().await? {
        Some(ServerMessage::Welcome { peer, heartbeat_secs, .. }) => {
            (peer, Duration::from_secs(heartbeat_secs.max(1).into()))
        }
        other => bail!("expected welcome from the tracker, got {other:?}"),
    };
    let holdings = uploads.held.holdings();
    for rendition in uploads.held.renditions() {
        let holdings = holdings.get(&rendition).cloned().unwrap_or_default();
        let swarm = SwarmKey { movie: options.movie.clone(), rendition };
        tracker.send(&ClientMessage::Join { swarm, token: movie.tracker.token.clone(), holdings }).await?;
    }
    tracing::info!(peer = %me, "joined the movie's swarms");

    let (outgoing_tx, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<(PeerId, SwarmKey, Ending)>();
    let (fetched_tx, mut fetched) = mpsc::unbounded_channel::<Fetched>();
    let context = PeerContext {
        api: api.clone(),
        uploads: uploads.clone(),
        outgoing: outgoing_tx,
        ended: ended_tx,
        fetched: fetched_tx,
    };
    let mut peers: HashMap<PeerId, PeerHandle> = HashMap::new();
    let mut fetching: HashSet<SegmentId> = HashSet::new();
    let mut banned: HashSet<PeerId> = HashSet::new();
    let mut stats = tokio::time::interval(STATS_EVERY.min(heartbeat / 2));
    let mut fetch = tokio::time::interval(FETCH_EVERY);
    loop {
        tokio::select! {
            message = tracker.next() => match message? {
                None => return Ok(()),
                Some(ServerMessage::Signal { swarm, from, signal }) => {
                    if banned.contains(&from) {
                        continue;
                    }
                    if !peers.contains_key(&from) {
                        if peers.len() >= options.max_peers {
                            tracing::info!(peer = %from, "at the connection limit: not answering");
                            continue;
                        }
                        peers.insert(from.clone(), peer::spawn(context.clone(), swarm, from.clone(), Role::Answer));
                    }
                    if let Some(handle) = peers.get(&from) {
                        let _ = handle.signals.send(signal);
                    }
                }
                Some(ServerMessage::Holders { swarm, peers: holders, .. }) => {
                    let wanted = pick_holder(&holders, &me, &swarm.rendition, &fetching, &peers, &banned, &uploads.held.missing());
                    if let Some((holder, segments)) = wanted
                        && peers.len() < options.max_peers
                    {
                        fetching.extend(segments.iter().cloned());
                        peers.insert(holder.clone(), peer::spawn(context.clone(), swarm, holder, Role::Fetch(segments)));
                    }
                }
                Some(ServerMessage::Error { code, message }) => tracing::warn!(%code, %message, "the tracker refused a message"),
                Some(_) => {}
            },
            Some(Outgoing { swarm, to, signal }) = outgoing.recv() => {
                tracker.send(&ClientMessage::Signal { swarm, to, signal }).await?;
            }
            Some((peer, swarm, ending)) = ended.recv() => {
                peers.remove(&peer);
                match ending {
                    Ending::Closed => tracing::debug!(%peer, "a peer disconnected"),
                    Ending::Violation(code, reason) => {
                        tracing::info!(%peer, code, "a peer was disconnected for breaking the protocol; reported");
                        tracker.send(&ClientMessage::Report { swarm, peer: peer.clone(), reason }).await?;
                        banned.insert(peer);
                    }
                    Ending::Failed(reason) => tracing::info!(%peer, %reason, "a connection failed"),
                }
            }
            Some(result) = fetched.recv() => match result {
                Fetched::Held { segment, from, bytes } => {
                    fetching.remove(&segment);
                    println!("fetched {}/{} ({bytes} bytes) from {from}", segment.rendition, segment.sequence);
                    let swarm = SwarmKey { movie: options.movie.clone(), rendition: segment.rendition };
                    let added = SegmentRanges::from_sequences([segment.sequence]);
                    tracker.send(&ClientMessage::Have { swarm, added, dropped: SegmentRanges::default() }).await?;
                }
                Fetched::NotHeld { segment } => {
                    fetching.remove(&segment);
                }
            },
            _ = fetch.tick() => {
                // Per rendition, the window from the first missing segment not being fetched.
                let mut asked = HashSet::new();
                for segment in uploads.held.missing() {
                    if fetching.contains(&segment) || !asked.insert(segment.rendition.clone()) {
                        continue;
                    }
                    let swarm = SwarmKey { movie: options.movie.clone(), rendition: segment.rendition };
                    tracker.send(&ClientMessage::WhoHas { swarm, from: segment.sequence, count: MAX_WINDOW, limit: None }).await?;
                }
            }
            _ = stats.tick() => {
                let sent = uploads.sent();
                for rendition in uploads.held.renditions() {
                    let uploaded_bytes = sent.get(&rendition).copied().unwrap_or(0);
                    let swarm = SwarmKey { movie: options.movie.clone(), rendition };
                    tracker.send(&ClientMessage::Stats { swarm, http_bytes: 0, peer_bytes: 0, uploaded_bytes }).await?;
                }
            }
        }
    }
}

/// The holder to fetch from (not us, not banned, not connected already),
/// the one with the most of what we lack, with those segments.
fn pick_holder(
    holders: &[Holder],
    me: &str,
    rendition: &str,
    fetching: &HashSet<SegmentId>,
    connected: &HashMap<PeerId, PeerHandle>,
    banned: &HashSet<PeerId>,
    missing: &[SegmentId],
) -> Option<(PeerId, Vec<SegmentId>)> {
    let lacking: HashSet<u32> =
        missing.iter().filter(|s| s.rendition == rendition && !fetching.contains(*s)).map(|s| s.sequence).collect();
    holders
        .iter()
        .filter(|h| h.peer != me && !banned.contains(&h.peer) && !connected.contains_key(&h.peer))
        .map(|h| {
            let segments: Vec<SegmentId> = h
                .holds
                .iter()
                .filter(|sequence| lacking.contains(sequence))
                .take(FETCH_BATCH)
                .map(|sequence| SegmentId { rendition: rendition.to_owned(), sequence })
                .collect();
            (h.peer.clone(), segments)
        })
        .filter(|(_, segments)| !segments.is_empty())
        .max_by_key(|(_, segments)| segments.len())
}
