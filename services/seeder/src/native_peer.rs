//! A native peer's tracker session: hello, join the movie's swarms with what
//! it holds, answer every peer that connects, and get what it wants: from
//! peers (it asks who holds them and asks the holder with the most, over the
//! connection they share or a new one, up to 16 at a time), or over HTTP from
//! the segment server when they are due too soon. Every segment is kept only when its hash is
//! the catalog's, and the tracker is told. What it wants, and when it is
//! done, is the caller's (`Wants`): a seeder wants everything it lacks and
//! never leaves; a simulated viewer wants what is near its playhead.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_codec::Framed;
use anyhow::{Context, bail};
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
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

/// How often the peer tells the tracker it is alive and what it moved.
const STATS_EVERY: Duration = Duration::from_secs(5);
/// How often it looks at what it wants.
const WANTS_EVERY: Duration = Duration::from_millis(250);
/// How often it asks who holds what it wants from peers.
const WHO_HAS_EVERY: Duration = Duration::from_secs(1);

/// What a native peer wants, as time goes by.
pub trait Wants {
    /// Called a few times a second, before the questions below (a viewer moves its playhead).
    fn tick(&mut self, _held: &HeldSegments) {}
    /// Segments to get from peers (they may be due a while from now).
    fn wanted_from_peers(&mut self, held: &HeldSegments) -> Vec<SegmentId>;
    /// Segments needed too soon to wait for a peer: fetched over HTTP now.
    fn over_http(&mut self, _held: &HeldSegments) -> Vec<SegmentId> {
        Vec::new()
    }
    /// Whether the peer is done and leaves.
    fn done(&mut self) -> bool {
        false
    }
}

/// Where and how to join.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    /// Base URL of the server (`http://host:port`), for HTTP fetches.
    pub server: String,
    pub movie: String,
    /// The tracker's WebSocket URL.
    pub tracker_url: String,
    pub token: String,
    /// Connections at once at most.
    pub max_peers: usize,
    /// Print a line for every segment fetched from a peer.
    pub print_fetches: bool,
}

/// What one native peer did.
#[derive(Debug, Default, Clone)]
pub struct PeerReport {
    pub http_bytes: u64,
    pub peer_bytes: u64,
    /// When the first byte from a peer arrived (a whole verified segment).
    pub first_peer_segment_at: Option<Instant>,
    /// Connections that failed or ended in a violation.
    pub failed_connections: u64,
    /// Why they failed, with counts.
    pub failures: std::collections::BTreeMap<String, u64>,
    /// Segments from peers that were refused (bad hash, broken protocol).
    pub refused_segments: u64,
    pub tracker_sent: u64,
    pub tracker_received: u64,
}

struct Tracker {
    socket: Framed<BoxedSocket, Codec>,
    sent: u64,
    received: u64,
}

impl Tracker {
    async fn send(&mut self, message: &ClientMessage) -> anyhow::Result<()> {
        let text = serde_json::to_string(message)?;
        self.sent += 1;
        self.socket.send(Message::Text(text.into())).await.context("writing to the tracker")
    }

    /// The next protocol message (pings answered on the way); `None` when closed.
    async fn next(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            match self.socket.next().await {
                None | Some(Ok(Frame::Close(_))) => return Ok(None),
                Some(Err(e)) => bail!("reading from the tracker: {e}"),
                Some(Ok(Frame::Ping(bytes))) => self.socket.send(Message::Pong(bytes)).await?,
                Some(Ok(Frame::Text(text))) => {
                    self.received += 1;
                    return Ok(Some(serde_json::from_slice(&text)?));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Runs until the tracker connection ends (an error) or `wants` is done (`Ok`).
pub async fn session(
    client: &awc::Client,
    setup: &PeerSetup,
    uploads: &Arc<Uploads>,
    api: &Arc<webrtc::api::API>,
    wants: &mut dyn Wants,
    report: &mut PeerReport,
) -> anyhow::Result<()> {
    let url = setup.tracker_url.as_str();
    let (_, socket) = client
        .ws(url)
        .max_frame_size(1 << 20)
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {url}: {e}"))?;
    let mut tracker = Tracker { socket, sent: 0, received: 0 };
    let result = run(client, setup, uploads, api, wants, report, &mut tracker).await;
    report.tracker_sent += tracker.sent;
    report.tracker_received += tracker.received;
    result
}

async fn run(
    client: &awc::Client,
    setup: &PeerSetup,
    uploads: &Arc<Uploads>,
    api: &Arc<webrtc::api::API>,
    wants: &mut dyn Wants,
    report: &mut PeerReport,
    tracker: &mut Tracker,
) -> anyhow::Result<()> {
    tracker.send(&ClientMessage::Hello { version: PROTOCOL_VERSION }).await?;
    let (me, heartbeat) = match tracker.next().await? {
        Some(ServerMessage::Welcome { peer, heartbeat_secs, .. }) => {
            (peer, Duration::from_secs(heartbeat_secs.max(1).into()))
        }
        other => bail!("expected welcome from the tracker, got {other:?}"),
    };
    let swarm_of = |rendition: String| SwarmKey { movie: setup.movie.clone(), rendition };
    let holdings = uploads.held.holdings();
    for rendition in uploads.held.renditions() {
        let holdings = holdings.get(&rendition).cloned().unwrap_or_default();
        tracker.send(&ClientMessage::Join { swarm: swarm_of(rendition), token: setup.token.clone(), holdings }).await?;
    }
    tracing::debug!(peer = %me, "joined the movie's swarms");

    let (outgoing_tx, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<(PeerId, SwarmKey, Ending)>();
    let (fetched_tx, mut fetched) = mpsc::unbounded_channel::<Fetched>();
    let (http_tx, mut http_done) = mpsc::unbounded_channel::<(SegmentId, Result<Vec<u8>, String>)>();
    let context = PeerContext {
        api: api.clone(),
        uploads: uploads.clone(),
        outgoing: outgoing_tx,
        ended: ended_tx,
        fetched: fetched_tx,
    };
    let mut peers: HashMap<PeerId, PeerHandle> = HashMap::new();
    // Being fetched from a peer, and over HTTP.
    let mut fetching: HashSet<SegmentId> = HashSet::new();
    let mut downloading: HashSet<SegmentId> = HashSet::new();
    let mut banned: HashSet<PeerId> = HashSet::new();
    let mut stats = tokio::time::interval(STATS_EVERY.min(heartbeat / 2));
    let mut tick = tokio::time::interval(WANTS_EVERY);
    let mut asked_at = Instant::now() - WHO_HAS_EVERY;
    loop {
        tokio::select! {
            message = tracker.next() => match message? {
                None => bail!("the tracker closed the connection"),
                Some(ServerMessage::Signal { swarm, from, signal, lane }) => {
                    // One connection per peer here: a browser's extra lanes go unanswered,
                    // and it gives up on them without touching the first.
                    if banned.contains(&from) || lane.unwrap_or(0) != 0 {
                        continue;
                    }
                    if !peers.contains_key(&from) {
                        if peers.len() >= setup.max_peers {
                            tracing::debug!(peer = %from, "at the connection limit: not answering");
                            continue;
                        }
                        peers.insert(from.clone(), peer::spawn(context.clone(), swarm, from.clone(), Role::Answer));
                    }
                    if let Some(handle) = peers.get(&from) {
                        let _ = handle.signals.send(signal);
                    }
                }
                Some(ServerMessage::Holders { swarm, peers: holders, .. }) => {
                    let wanted: Vec<SegmentId> = wants
                        .wanted_from_peers(&uploads.held)
                        .into_iter()
                        .filter(|s| s.rendition == swarm.rendition && !fetching.contains(s) && !downloading.contains(s))
                        .collect();
                    if let Some((holder, segments)) = pick_holder(&holders, &me, &wanted, &peers, &banned)
                        && (peers.contains_key(&holder) || peers.len() < setup.max_peers)
                    {
                        fetching.extend(segments.iter().cloned());
                        match peers.get(&holder) {
                            // Linked already (whoever opened it): asked over that connection.
                            Some(handle) => {
                                let _ = handle.fetch.send(segments);
                            }
                            None => {
                                peers.insert(holder.clone(), peer::spawn(context.clone(), swarm, holder, Role::Fetch(segments)));
                            }
                        }
                    }
                }
                Some(ServerMessage::Error { code, message }) => tracing::debug!(%code, %message, "the tracker refused a message"),
                Some(_) => {}
            },
            Some(Outgoing { swarm, to, signal }) = outgoing.recv() => {
                tracker.send(&ClientMessage::Signal { swarm, to, signal, lane: None }).await?;
            }
            Some((peer, swarm, ending)) = ended.recv() => {
                peers.remove(&peer);
                match ending {
                    Ending::Closed => tracing::debug!(%peer, "a peer disconnected"),
                    Ending::Violation(code, reason) => {
                        tracing::info!(%peer, code, "a peer was disconnected for breaking the protocol; reported");
                        report.failed_connections += 1;
                        report.refused_segments += u64::from(code == "bad_hash");
                        tracker.send(&ClientMessage::Report { swarm, peer: peer.clone(), reason }).await?;
                        banned.insert(peer);
                    }
                    Ending::Failed(reason) => {
                        report.failed_connections += 1;
                        tracing::debug!(%peer, %reason, "a connection failed");
                        *report.failures.entry(reason).or_default() += 1;
                    }
                }
            }
            Some(result) = fetched.recv() => match result {
                Fetched::Held { segment, from, bytes } => {
                    fetching.remove(&segment);
                    report.peer_bytes += bytes as u64;
                    report.first_peer_segment_at.get_or_insert_with(Instant::now);
                    if setup.print_fetches {
                        println!("fetched {}/{} ({bytes} bytes) from {from}", segment.rendition, segment.sequence);
                    }
                    have(tracker, &swarm_of(segment.rendition.clone()), segment.sequence).await?;
                }
                Fetched::NotHeld { segment } => {
                    fetching.remove(&segment);
                }
            },
            Some((segment, result)) = http_done.recv() => {
                downloading.remove(&segment);
                match result.and_then(|bytes| {
                    let size = bytes.len();
                    uploads.held.add_fetched(&segment, bytes).map(|()| size)
                }) {
                    Ok(size) => {
                        report.http_bytes += size as u64;
                        have(tracker, &swarm_of(segment.rendition.clone()), segment.sequence).await?;
                    }
                    Err(reason) => tracing::warn!(%reason, "an HTTP fetch failed"),
                }
            }
            _ = tick.tick() => {
                if wants.done() {
                    for rendition in uploads.held.renditions() {
                        tracker.send(&ClientMessage::Leave { swarm: swarm_of(rendition) }).await?;
                    }
                    return Ok(());
                }
                wants.tick(&uploads.held);
                for segment in wants.over_http(&uploads.held) {
                    if uploads.held.size(&segment).is_some() || !downloading.insert(segment.clone()) {
                        continue;
                    }
                    let url = format!(
                        "{}/media/{}/{}/seg_{:05}.ts",
                        setup.server, setup.movie, segment.rendition, segment.sequence
                    );
                    let (client, http_tx) = (client.clone(), http_tx.clone());
                    actix_rt::spawn(async move {
                        let _ = http_tx.send((segment, http_get(&client, &url).await));
                    });
                }
                if asked_at.elapsed() >= WHO_HAS_EVERY {
                    asked_at = Instant::now();
                    // Per rendition, the window from the first wanted segment not on its way.
                    let mut asked = HashSet::new();
                    for segment in wants.wanted_from_peers(&uploads.held) {
                        if fetching.contains(&segment) || downloading.contains(&segment) || !asked.insert(segment.rendition.clone()) {
                            continue;
                        }
                        let swarm = swarm_of(segment.rendition);
                        tracker.send(&ClientMessage::WhoHas { swarm, from: segment.sequence, count: MAX_WINDOW, limit: None }).await?;
                    }
                }
            }
            _ = stats.tick() => {
                let sent = uploads.sent();
                for rendition in uploads.held.renditions() {
                    let uploaded_bytes = sent.get(&rendition).copied().unwrap_or(0);
                    let (http_bytes, peer_bytes) = (report.http_bytes, report.peer_bytes);
                    tracker.send(&ClientMessage::Stats { swarm: swarm_of(rendition), http_bytes, peer_bytes, uploaded_bytes }).await?;
                }
            }
        }
    }
}

async fn have(tracker: &mut Tracker, swarm: &SwarmKey, sequence: u32) -> anyhow::Result<()> {
    let added = SegmentRanges::from_sequences([sequence]);
    tracker.send(&ClientMessage::Have { swarm: swarm.clone(), added, dropped: SegmentRanges::default() }).await
}

async fn http_get(client: &awc::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    let body = response.body().limit(64 << 20).await.map_err(|e| format!("GET {url}: {e}"))?;
    Ok(body.to_vec())
}

/// The holder to fetch from (not us, not banned), the one with the most of
/// what is wanted, a peer linked already first among equals, with those
/// segments.
fn pick_holder(
    holders: &[Holder],
    me: &str,
    wanted: &[SegmentId],
    connected: &HashMap<PeerId, PeerHandle>,
    banned: &HashSet<PeerId>,
) -> Option<(PeerId, Vec<SegmentId>)> {
    holders
        .iter()
        .filter(|h| h.peer != me && !banned.contains(&h.peer))
        .map(|h| {
            let held: HashSet<u32> = h.holds.iter().collect();
            let segments: Vec<SegmentId> =
                wanted.iter().filter(|s| held.contains(&s.sequence)).take(peer::MAX_ASKED).cloned().collect();
            (h.peer.clone(), segments)
        })
        .filter(|(_, segments)| !segments.is_empty())
        .max_by_key(|(peer, segments)| (segments.len(), connected.contains_key(peer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(peer: &str, holds: &[u32]) -> Holder {
        Holder { peer: peer.into(), holds: SegmentRanges::from_sequences(holds.iter().copied()) }
    }

    fn wanted(sequences: &[u32]) -> Vec<SegmentId> {
        sequences.iter().map(|&sequence| SegmentId { rendition: "360p".into(), sequence }).collect()
    }

    fn linked(peers: &[&str]) -> HashMap<PeerId, PeerHandle> {
        peers
            .iter()
            .map(|&peer| {
                let (signals, _) = mpsc::unbounded_channel();
                let (fetch, _) = mpsc::unbounded_channel();
                (peer.into(), PeerHandle { signals, fetch })
            })
            .collect()
    }

    #[test]
    fn a_peer_linked_already_is_asked_again_rather_than_left_out() {
        // Before, a linked peer was never picked: a browser that had opened a
        // connection to the seeder kept it busy, and the seeder waited for it to close.
        let holders = [holder("browser", &[0, 1, 2])];
        let picked = pick_holder(&holders, "me", &wanted(&[0, 1, 2]), &linked(&["browser"]), &HashSet::new());
        assert_eq!(picked, Some(("browser".into(), wanted(&[0, 1, 2]))));
    }

    #[test]
    fn the_holder_with_the_most_wins_and_a_linked_one_among_equals() {
        let holders = [holder("a", &[0, 1]), holder("b", &[0, 1, 2]), holder("c", &[0, 1, 2])];
        for link in ["b", "c"] {
            let picked = pick_holder(&holders, "me", &wanted(&[0, 1, 2]), &linked(&["a", link]), &HashSet::new());
            assert_eq!(picked.map(|(peer, _)| peer), Some(link.into()));
        }
        let picked = pick_holder(&holders[..2], "me", &wanted(&[0, 1, 2]), &linked(&["a"]), &HashSet::new());
        assert_eq!(picked.map(|(peer, _)| peer), Some("b".into()), "more segments beat a link");
    }

    #[test]
    fn never_itself_a_banned_peer_or_one_without_what_is_wanted() {
        let holders = [holder("me", &[0]), holder("bad", &[0]), holder("other", &[7])];
        let banned = HashSet::from(["bad".to_string()]);
        assert_eq!(pick_holder(&holders, "me", &wanted(&[0]), &linked(&[]), &banned), None);
    }

    #[test]
    fn at_most_a_batch_is_asked_of_one_peer() {
        let all: Vec<u32> = (0..40).collect();
        let picked = pick_holder(&[holder("a", &all)], "me", &wanted(&all), &linked(&[]), &HashSet::new());
        assert_eq!(picked.map(|(_, segments)| segments.len()), Some(peer::MAX_ASKED));
    }
}
