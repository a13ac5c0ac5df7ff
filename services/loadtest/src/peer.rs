//! One simulated viewer: joins a swarm, then on its own schedule reports
//! holdings as its playhead advances, asks who holds the next window, and
//! offers to connect to a holder; it reads everything it is sent and answers
//! every offer relayed to it.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{ClientMessage, PROTOCOL_VERSION, PeerId, ServerMessage, Signal, SwarmKey};
use futures_util::{SinkExt, StreamExt};

use crate::rng::Rng;
use crate::stats::Observed;

/// Segments a viewer keeps around its playhead.
const CACHE_SEGMENTS: u32 = 10;
/// Window asked about in `who_has`.
const WINDOW: u32 = 8;

/// A typical browser offer or answer with trickled candidates stripped: ~1.3 KB.
pub fn sample_sdp(kind: &str) -> String {
    let mut sdp = format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=type:{kind}\r\n"
    );
    sdp.push_str("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n");
    sdp.push_str("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n");
    while sdp.len() < 1_300 {
        sdp.push_str("a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45\r\n");
    }
    sdp
}

pub struct PeerPlan {
    pub url: String,
    pub swarm: SwarmKey,
    pub token: String,
    pub segments: u32,
    /// When the first event is due, and the mean gap between events.
    pub first_event: Instant,
    pub event_every: Duration,
    /// Party peers step at fixed times with their room; others at random gaps.
    pub lockstep: bool,
    pub seed: u64,
}

pub async fn run(client: awc::Client, plan: PeerPlan, observed: Rc<Observed>) {
    let Ok((_, socket)) = client.ws(plan.url.as_str()).max_frame_size(1 << 20).connect().await else {
        observed.failed_connections.set(observed.failed_connections.get() + 1);
        return;
    };
    observed.connected.set(observed.connected.get() + 1);
    let mut peer = Peer {
        socket,
        rng: Rng::new(plan.seed),
        position: 0,
        known: Vec::new(),
        pending: VecDeque::new(),
        observed,
        offer: sample_sdp("offer"),
        answer: sample_sdp("answer"),
    };
    peer.position = peer.rng.range(0, u64::from(plan.segments.saturating_sub(CACHE_SEGMENTS + WINDOW + 1))) as u32;
    if plan.lockstep {
        peer.position = 0;
    }
    peer.send(&ClientMessage::Hello { version: PROTOCOL_VERSION }).await;
    let holdings = SegmentRanges::from_sequences(peer.position..peer.position + CACHE_SEGMENTS);
    peer.send(&ClientMessage::Join { swarm: plan.swarm.clone(), token: plan.token.clone(), holdings }).await;

    let mut due = plan.first_event;
    loop {
        if peer.observed.stop.get() {
            break;
        }
        tokio::select! {
            _ = actix_rt::time::sleep_until(due.into()) => {
                peer.act(&plan).await;
                due += if plan.lockstep {
                    plan.event_every
                } else {
                    Duration::from_secs_f64(peer.rng.exponential(plan.event_every.as_secs_f64()))
                };
            }
            frame = peer.socket.next() => match frame {
                Some(Ok(Frame::Text(text))) => peer.receive(&plan.swarm, &text).await,
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    peer.observed.error("connection_lost");
                    return;
                }
            },
        }
    }
    let _ = peer.socket.close().await;
}

struct Peer {
    socket: Framed<BoxedSocket, Codec>,
    rng: Rng,
    position: u32,
    /// Holders named in the last answer.
    known: Vec<PeerId>,
    /// Send times of unanswered `who_has`, oldest first.
    pending: VecDeque<Instant>,
    observed: Rc<Observed>,
    offer: String,
    answer: String,
}

impl Peer {
    async fn send(&mut self, message: &ClientMessage) {
        self.feed(message).await;
        let _ = self.socket.flush().await;
    }

    /// Queues a message; `flush` writes what was queued in one go, as a
    /// browser does (several frames per write, no Nagle delay between them).
    async fn feed(&mut self, message: &ClientMessage) {
        let Ok(text) = serde_json::to_string(message) else { return };
        if self.socket.feed(Message::Text(text.into())).await.is_ok() {
            self.observed.sent_one();
        }
    }

    async fn act(&mut self, plan: &PeerPlan) {
        let swarm = plan.swarm.clone();
        let roll = if plan.lockstep { 0.0 } else { self.rng.unit() };
        if roll < 0.5 || plan.lockstep {
            // The playhead advances one segment: one enters the cache, one leaves.
            let next = (self.position + CACHE_SEGMENTS) % plan.segments;
            let added = SegmentRanges::from_sequences([next]);
            let dropped = SegmentRanges::from_sequences([self.position]);
            self.position = (self.position + 1) % plan.segments;
            self.feed(&ClientMessage::Have { swarm: swarm.clone(), added, dropped }).await;
        }
        if (0.5..0.8).contains(&roll) || plan.lockstep {
            self.pending.push_back(Instant::now());
            let from = (self.position + CACHE_SEGMENTS) % plan.segments;
            self.feed(&ClientMessage::WhoHas { swarm: swarm.clone(), from, count: WINDOW, limit: Some(4) }).await;
        }
        let offer_now = if plan.lockstep { self.rng.unit() < 0.2 } else { roll >= 0.8 };
        if offer_now && !self.known.is_empty() {
            let to = self.known[self.rng.range(0, self.known.len() as u64) as usize].clone();
            let signal = Signal::Offer { sdp: self.offer.clone() };
            self.feed(&ClientMessage::Signal { swarm, to, signal, lane: None }).await;
        }
        let _ = self.socket.flush().await;
    }

    async fn receive(&mut self, swarm: &SwarmKey, text: &[u8]) {
        self.observed.received_one();
        let Ok(message) = serde_json::from_slice::<ServerMessage>(text) else {
            self.observed.error("unparsable_message");
            return;
        };
        match message {
            ServerMessage::Holders { peers, .. } => {
                if let Some(sent) = self.pending.pop_front() {
                    self.observed.rtt(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
                self.known = peers.into_iter().map(|h| h.peer).collect();
            }
            ServerMessage::Signal { from, signal: Signal::Offer { .. }, .. } => {
                let signal = Signal::Answer { sdp: self.answer.clone() };
                self.send(&ClientMessage::Signal { swarm: swarm.clone(), to: from, signal, lane: None }).await;
            }
            ServerMessage::Error { code, .. } => self.observed.error(&code),
            _ => {}
        }
    }
}
