//! One peer's WebSocket: the hello handshake, limits (frame size, rate,
//! swarms, signal size), refusals with codes, heartbeats and the silence
//! timeout. Commands go to the hub; the hub's answers arrive on the outbox.

use cinemesh_common::routes::resource;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use cinemesh_common::stop::SHUTTING_DOWN;
use cinemesh_common::swarm_token::{SwarmTokens, now_unix_secs};
use cinemesh_common::{Connections, IcePairs, StopSignal};
use cinemesh_protocol::tracker::{
    ClientMessage, LANES_SINCE_VERSION, MAX_FRAME_BYTES, MAX_LANES, MAX_SIGNAL_BYTES, MAX_SWARMS_PER_CONNECTION,
    MAX_WINDOW, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, PeerId, ServerMessage, SwarmKey,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::error::{Refusal, refusal_message};
use crate::hub::{Command, Hub, OUTBOX_CAPACITY};
use crate::limits::{MAX_REFUSALS, MESSAGE_BURST, MESSAGES_PER_SEC, RateLimiter};
use crate::recorder::{Record, Recorder};
use crate::swarm::TransferStats;

/// Looks up how many segments a rendition has (`None`: no such rendition).
pub trait RenditionDirectory: Send + Sync + 'static {
    fn segment_count<'a>(
        &'a self,
        movie: &'a str,
        rendition: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<u32>> + 'a>>;

    /// The movie is gone: nothing known about it may be used again.
    fn forget(&self, movie: &str);
}

/// Timing of the tracker's connections.
#[derive(Debug, Clone, Copy)]
pub struct SessionTiming {
    /// What `welcome` asks of clients: send something at least this often.
    pub heartbeat: Duration,
    /// Silence after which a peer is dropped and its holdings vanish.
    pub peer_timeout: Duration,
    /// Time a new connection has to say hello.
    pub hello_timeout: Duration,
}

impl Default for SessionTiming {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            peer_timeout: Duration::from_secs(45),
            hello_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct TrackerState {
    pub hub: Hub,
    pub recorder: Recorder,
    pub tokens: SwarmTokens,
    pub renditions: Arc<dyn RenditionDirectory>,
    pub timing: SessionTiming,
    /// Sockets close with a reconnect hint when the instance stops.
    pub stop: StopSignal,
    pub connections: Connections,
    /// Segment links by what carried them, as peers report them.
    pub ice_pairs: IcePairs,
}

impl TrackerState {
    /// A deleted movie: its swarms end (their peers here are told
    /// `movie_deleted`) and its tokens admit nobody, since its renditions are
    /// looked up afresh.
    pub async fn end_movie(&self, movie: &str) {
        self.renditions.forget(movie);
        self.hub.end_movie(movie).await;
    }

    /// After the sockets have closed (see `stop`): resolves once the peers'
    /// leaving is written, in the directory other instances read and in the
    /// durable records.
    pub async fn flush(&self) {
        self.hub.flush().await;
        self.recorder.flush().await;
    }
}

pub fn configure_tracker(cfg: &mut web::ServiceConfig, state: TrackerState) {
    cfg.app_data(web::Data::new(state)).service(resource("/tracker", "GET").route(web::get().to(tracker_socket)));
}

async fn tracker_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<TrackerState>,
) -> Result<HttpResponse, actix_web::Error> {
    let admitted = state.connections.admit("tracker", &req)?;
    let (response, session, stream) = cinemesh_common::routes::upgrade_websocket(&req, body, MAX_FRAME_BYTES)?;
    let peer: PeerId = cinemesh_common::id::random_id(12);
    let origin = Origin {
        ip: admitted.address.map(|a| a.to_string()).unwrap_or_default(),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate(ua, MAX_USER_AGENT_CHARS))
            .unwrap_or_default(),
    };
    // Everything logged for this socket carries the peer id.
    let span = tracing::info_span!("tracker_socket", peer = %peer);
    let (session, inbox) = Session::new(state.get_ref().clone(), session, peer, origin);
    actix_web::rt::spawn(tracing::Instrument::instrument(run_session(session, inbox, stream, admitted.guard), span));
    Ok(response)
}

/// Longest user agent kept in the records.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a connection comes from, for the durable records.
struct Origin {
    ip: String,
    user_agent: String,
}

/// What handling one message led to.
enum Outcome {
    Continue,
    Refused(Refusal),
    Close(Refusal),
}

struct Session {
    state: TrackerState,
    socket: actix_ws::Session,
    peer: PeerId,
    origin: Origin,
    outbox: mpsc::Sender<ServerMessage>,
    greeted: bool,
    /// The protocol version the peer said hello with.
    version: u32,
    joined: HashSet<SwarmKey>,
    /// The last cumulative bytes reported per swarm, so the metrics grow by what is new.
    reported: HashMap<SwarmKey, TransferStats>,
    limiter: RateLimiter,
    refusals: u32,
    opened: Instant,
}

impl Session {
    fn new(
        state: TrackerState,
        socket: actix_ws::Session,
        peer: PeerId,
        origin: Origin,
    ) -> (Self, mpsc::Receiver<ServerMessage>) {
        let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
        let limiter = RateLimiter::new(MESSAGES_PER_SEC, MESSAGE_BURST, Instant::now());
        (
            Self {
                state,
                socket,
                peer,
                origin,
                outbox,
                greeted: false,
                version: PROTOCOL_VERSION,
                joined: HashSet::new(),
                reported: HashMap::new(),
                limiter,
                refusals: 0,
                opened: Instant::now(),
            },
            inbox,
        )
    }
}

/// Serves one connection until it closes, then leaves every swarm it joined.
async fn run_session(
    mut session: Session,
    mut inbox: mpsc::Receiver<ServerMessage>,
    mut stream: actix_ws::AggregatedMessageStream,
    // Both this and the stop watch live until the peer's leaving is queued: a stop waits for that.
    _open: cinemesh_common::connections::OpenConnection,
) {
    let mut stopping = session.state.stop.watch();
    {
        let timing = session.state.timing;
        let started = Instant::now();
        let mut last_heard = started;
        // Deadlines are checked at a quarter of the shorter one: a silent peer is
        // dropped at most 25 % late, and thousands of idle sockets cost few wakeups.
        let period = (timing.hello_timeout.min(timing.peer_timeout) / 4).max(Duration::from_millis(250));
        let mut tick = actix_web::rt::time::interval(period);
        let close = loop {
            tokio::select! {
                frame = stream.next() => {
                    let now = Instant::now();
                    match frame {
                        None | Some(Ok(AggregatedMessage::Close(_))) => break None,
                        Some(Err(e)) => {
                            let refusal = Refusal::new("frame_too_large", format!("frames are limited to {MAX_FRAME_BYTES} bytes ({e})"));
                            session.send_refusal(&refusal).await;
                            break Some(close_reason(CloseCode::Size, &refusal));
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            last_heard = now;
                            if session.socket.pong(&bytes).await.is_err() { break None; }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => last_heard = now,
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            last_heard = now;
                            let refusal = Refusal::new("binary_not_supported", "the tracker speaks JSON text frames");
                            if let Some(reason) = session.refused(refusal).await { break Some(reason); }
                        }
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            last_heard = now;
                            session.state.hub.counters.received.inc();
                            match session.handle_text(&text, now).await {
                                Outcome::Continue => {}
                                Outcome::Refused(refusal) => {
                                    if let Some(reason) = session.refused(refusal).await { break Some(reason); }
                                }
                                Outcome::Close(refusal) => {
                                    session.send_refusal(&refusal).await;
                                    break Some(close_reason(CloseCode::Policy, &refusal));
                                }
                            }
                        }
                    }
                }
                Some(message) = inbox.recv() => {
                    if !session.takes(&message) { continue; }
                    if !session.send(&message).await { break None; }
                }
                _ = stopping.requested() => {
                    let refusal = Refusal::new(SHUTTING_DOWN, "this server is stopping; connect again");
                    session.send_refusal(&refusal).await;
                    break Some(close_reason(CloseCode::Restart, &refusal));
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if !session.greeted && now.duration_since(started) > timing.hello_timeout {
                        let refusal = Refusal::new("hello_required", "say hello first");
                        session.send_refusal(&refusal).await;
                        break Some(close_reason(CloseCode::Policy, &refusal));
                    }
                    if now.duration_since(last_heard) > timing.peer_timeout {
                        break Some(close_reason(CloseCode::Away, &Refusal::new("timeout", "silent for too long")));
                    }
                }
            }
        };
        for swarm in std::mem::take(&mut session.joined) {
            session.state.recorder.left(&session.peer, &swarm);
            session.state.hub.send(Command::Leave { peer: session.peer.clone(), swarm }).await;
        }
        let _ = session.socket.close(close).await;
    }
}

fn close_reason(code: CloseCode, refusal: &Refusal) -> CloseReason {
    CloseReason { code, description: Some(refusal.code.to_owned()) }
}

impl Session {
    /// Sends to the socket; false when it is gone.
    /// Whether this peer's protocol version understands `message`: a peer older
    /// than lanes gets no signal for a lane past the first (the sender's lane
    /// then goes unanswered, as with a peer that takes one connection).
    fn takes(&self, message: &ServerMessage) -> bool {
        match message {
            ServerMessage::Signal { lane: Some(lane), .. } => *lane == 0 || self.version >= LANES_SINCE_VERSION,
            _ => true,
        }
    }

    async fn send(&mut self, message: &ServerMessage) -> bool {
        match serde_json::to_string(message) {
            Ok(text) => self.socket.text(text).await.is_ok(),
            Err(_) => true,
        }
    }

    /// Sends a refusal, counted by code for operators.
    async fn send_refusal(&mut self, refusal: &Refusal) -> bool {
        self.state.hub.counters.refused(refusal.code);
        self.send(&refusal_message(refusal)).await
    }

    /// Reports a refusal; past `MAX_REFUSALS` the connection is closed.
    async fn refused(&mut self, refusal: Refusal) -> Option<CloseReason> {
        self.refusals += 1;
        self.send_refusal(&refusal).await;
        (self.refusals > MAX_REFUSALS)
            .then(|| close_reason(CloseCode::Policy, &Refusal::new("too_many_errors", "too many refused messages")))
    }

    async fn handle_text(&mut self, text: &str, now: Instant) -> Outcome {
        if !self.limiter.allow(now) {
            return Outcome::Refused(Refusal::new("rate_limited", "too many messages; slow down"));
        }
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(e) => return Outcome::Refused(Refusal::new("invalid_message", truncate(&e.to_string(), 200))),
        };
        if !self.greeted {
            return match message {
                ClientMessage::Hello { version } if (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) => {
                    self.greeted = true;
                    self.version = version;
                    let welcome = ServerMessage::Welcome {
                        version,
                        peer: self.peer.clone(),
                        heartbeat_secs: self.state.timing.heartbeat.as_secs() as u32,
                    };
                    self.send(&welcome).await;
                    Outcome::Continue
                }
                ClientMessage::Hello { version } => Outcome::Close(Refusal::new(
                    "unsupported_version",
                    format!(
                        "protocol version {version} is not supported; this tracker speaks {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}"
                    ),
                )),
                _ => Outcome::Close(Refusal::new("hello_required", "the first message must be hello")),
            };
        }
        match self.handle(message).await {
            Ok(()) => Outcome::Continue,
            Err(refusal) => Outcome::Refused(refusal),
        }
    }

    fn member(&self, swarm: &SwarmKey) -> Result<(), Refusal> {
        if self.joined.contains(swarm) {
            Ok(())
        } else {
            Err(Refusal::new("not_in_swarm", format!("join {}/{} first", swarm.movie, swarm.rendition)))
        }
    }

    async fn handle(&mut self, message: ClientMessage) -> Result<(), Refusal> {
        let peer = self.peer.clone();
        let command = match message {
            ClientMessage::Hello { .. } => return Err(Refusal::new("already_greeted", "hello was already said")),
            ClientMessage::Ping { t } => {
                self.send(&ServerMessage::Pong { t }).await;
                return Ok(());
            }
            ClientMessage::Join { swarm, token, holdings } => {
                if !self.joined.contains(&swarm) && self.joined.len() >= MAX_SWARMS_PER_CONNECTION {
                    return Err(Refusal::new(
                        "too_many_swarms",
                        format!("a connection may be in {MAX_SWARMS_PER_CONNECTION} swarms at most"),
                    ));
                }
                self.state
                    .tokens
                    .verify(&token, &swarm.movie, now_unix_secs())
                    .map_err(|e| Refusal::new(e.code(), "the swarm token does not admit you to this movie"))?;
                let segment_count = self
                    .state
                    .renditions
                    .segment_count(&swarm.movie, &swarm.rendition)
                    .await
                    .ok_or_else(|| Refusal::new("unknown_rendition", "no such movie rendition"))?;
                if self.joined.insert(swarm.clone()) {
                    self.state.recorder.joined(&peer, &swarm, &self.origin.ip, &self.origin.user_agent);
                }
                let network = self.origin.ip.parse().ok().map(crate::reports::network_of);
                Command::Join { peer, swarm, holdings, segment_count, outbox: self.outbox.clone(), network }
            }
            ClientMessage::Have { swarm, added, dropped } => {
                self.member(&swarm)?;
                Command::Have { peer, swarm, added, dropped }
            }
            ClientMessage::WhoHas { swarm, from, count, limit } => {
                self.member(&swarm)?;
                if count == 0 || count > MAX_WINDOW {
                    return Err(Refusal::new("invalid_window", format!("count must be 1 to {MAX_WINDOW}")));
                }
                Command::WhoHas { peer, swarm, from, count, limit: limit.unwrap_or(u32::MAX) }
            }
            ClientMessage::Signal { swarm, to, signal, lane } => {
                self.member(&swarm)?;
                if signal.text_len() > MAX_SIGNAL_BYTES {
                    return Err(Refusal::new(
                        "signal_too_large",
                        format!("signals are limited to {MAX_SIGNAL_BYTES} bytes"),
                    ));
                }
                if lane.is_some_and(|lane| lane >= MAX_LANES) {
                    return Err(Refusal::new("invalid_lane", format!("lane must be 0 to {}", MAX_LANES - 1)));
                }
                // Lane 0 goes without a lane, as version 1 peers expect it.
                Command::Signal { peer, swarm, to, signal, lane: lane.filter(|&lane| lane > 0) }
            }
            ClientMessage::Stats { swarm, http_bytes, peer_bytes, uploaded_bytes } => {
                self.member(&swarm)?;
                let stats = TransferStats { http_bytes, peer_bytes, uploaded_bytes };
                let before = self.reported.get(&swarm).copied().unwrap_or_default();
                if !stats.plausible_after(&before, self.opened.elapsed().as_secs()) {
                    return Err(Refusal::new(
                        "invalid_stats",
                        "byte counters only grow, and no faster than a link can carry",
                    ));
                }
                self.reported.insert(swarm.clone(), stats);
                self.state.hub.counters.viewer_bytes(&before, &stats);
                self.state.recorder.record(Record::Stats { peer: peer.clone(), swarm: swarm.clone(), stats });
                Command::Touch { peer, swarm }
            }
            ClientMessage::Report { swarm, peer: reported, reason } => {
                self.member(&swarm)?;
                tracing::info!(%peer, %reported, ?reason, movie = %swarm.movie, "peer reported");
                Command::Report { peer, swarm, reported }
            }
            ClientMessage::Linked { swarm, pair } => {
                self.member(&swarm)?;
                self.state.ice_pairs.count("segments", pair.as_str());
                Command::Touch { peer, swarm }
            }
            ClientMessage::Leave { swarm } => {
                self.member(&swarm)?;
                self.joined.remove(&swarm);
                self.state.recorder.left(&peer, &swarm);
                Command::Leave { peer, swarm }
            }
        };
        self.state.hub.send(command).await;
        Ok(())
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
