//! One WebRTC connection to another peer. Either the other peer asked for it
//! (it offers, this side answers: browsers open a connection to the holder
//! they want a segment from), or this side wants segments the other holds
//! (it offers, and asks for them once the channel is open). Signals arrive in
//! order on a channel and are applied one after another; candidates that come
//! before the description wait for it. The data channel is negotiated (id 0),
//! as the browsers make it. What the other side sends goes through
//! `WireSession`; a violation, or a segment whose hash is not the catalog's,
//! closes the connection with its code in the log, and the seeder reports
//! the peer to the tracker.

use std::sync::Arc;
use std::time::Duration;

use cinemesh_protocol::peer_wire::{SegmentId, WIRE_VERSION, WireMessage};
use cinemesh_protocol::tracker::{PeerId, ReportReason, Signal, SwarmKey};
use tokio::sync::mpsc;
use webrtc::api::API;
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

use crate::upload::{self, UploadQueue, Uploads};
use crate::wire_session::Step;

/// A connection that has not opened its data channel by then is given up.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// An open connection with nothing moving either way this long is closed,
/// so that its slot goes to someone who wants something.
const IDLE_CLOSE: Duration = Duration::from_secs(8);

/// A signal for the tracker to relay.
#[derive(Debug)]
pub struct Outgoing {
    pub swarm: SwarmKey,
    pub to: PeerId,
    pub signal: Signal,
}

/// Why a connection ended, for the log and the counters.
#[derive(Debug)]
pub enum Ending {
    /// The other side or the network closed it.
    Closed,
    /// The other side broke the wire protocol (the code says how).
    Violation(&'static str, ReportReason),
    Failed(String),
}

/// What happened to a segment this side asked for.
#[derive(Debug)]
pub enum Fetched {
    /// Verified and held now.
    Held { segment: SegmentId, from: PeerId, bytes: usize },
    /// The other side did not have it, or the connection ended first.
    NotHeld { segment: SegmentId },
}

/// Who starts the connection.
#[derive(Debug, Clone)]
pub enum Role {
    /// The other side offers; this side serves what it asks for.
    Answer,
    /// This side offers, then asks for these segments (and serves too).
    Fetch(Vec<SegmentId>),
}

/// What every connection shares with the seeder.
#[derive(Clone)]
pub struct PeerContext {
    pub api: Arc<API>,
    pub uploads: Arc<Uploads>,
    pub outgoing: mpsc::UnboundedSender<Outgoing>,
    pub ended: mpsc::UnboundedSender<(PeerId, SwarmKey, Ending)>,
    pub fetched: mpsc::UnboundedSender<Fetched>,
}

/// Segments asked of one peer at once at most; more are handed back as not
/// held (another peer, or the next round, gets them). A browser queues 16
/// requests per link and answers the rest `absent`.
pub const MAX_ASKED: usize = 16;

/// What the seeder keeps of a connection: where to send its signals, and
/// more segments to ask of that peer (whoever opened the connection).
pub struct PeerHandle {
    pub signals: mpsc::UnboundedSender<Signal>,
    pub fetch: mpsc::UnboundedSender<Vec<SegmentId>>,
}

/// Starts a connection with `remote` in `swarm`; `ended` receives its id when it is over.
pub fn spawn(context: PeerContext, swarm: SwarmKey, remote: PeerId, role: Role) -> PeerHandle {
    let (signals, inbox) = mpsc::unbounded_channel();
    let (fetch, more) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let ended = context.ended.clone();
        let ending = run(context, swarm.clone(), remote.clone(), role, Inboxes { signals: inbox, more })
            .await
            .unwrap_or_else(|e| Ending::Failed(e.to_string()));
        let _ = ended.send((remote, swarm, ending));
    });
    PeerHandle { signals, fetch }
}

/// What the seeder sends a connection: signals, and more segments to ask for.
struct Inboxes {
    signals: mpsc::UnboundedReceiver<Signal>,
    more: mpsc::UnboundedReceiver<Vec<SegmentId>>,
}

enum Event {
    Frame(bytes::Bytes),
    Open,
    State(RTCPeerConnectionState),
}

async fn run(
    context: PeerContext,
    swarm: SwarmKey,
    remote: PeerId,
    role: Role,
    mut inboxes: Inboxes,
) -> Result<Ending, webrtc::Error> {
    let pc = Arc::new(context.api.new_peer_connection(RTCConfiguration::default()).await?);
    let mut wanted = match &role {
        Role::Answer => Vec::new(),
        Role::Fetch(segments) => segments.clone(),
    };
    let result = connect(&pc, &context, swarm, remote, role, &mut inboxes, &mut wanted).await;
    let _ = pc.close().await;
    // Whatever was asked for and did not come is for someone else to fetch.
    for segment in wanted {
        let _ = context.fetched.send(Fetched::NotHeld { segment });
    }
    result
}

async fn connect(
    pc: &Arc<RTCPeerConnection>,
    context: &PeerContext,
    swarm: SwarmKey,
    remote: PeerId,
    role: Role,
    inboxes: &mut Inboxes,
    wanted: &mut Vec<SegmentId>,
) -> Result<Ending, webrtc::Error> {
    let uploads = context.uploads.clone();
    let outgoing = context.outgoing.clone();
    let init = RTCDataChannelInit { ordered: Some(true), negotiated: Some(0), ..Default::default() };
    let channel = pc.create_data_channel("cinemesh", Some(init)).await?;
    let (events_tx, mut events) = mpsc::unbounded_channel();
    {
        let (outgoing, swarm, remote) = (outgoing.clone(), swarm.clone(), remote.clone());
        pc.on_ice_candidate(Box::new(move |candidate| {
            if let Some(init) = candidate.and_then(|c| c.to_json().ok()) {
                // The m-line index, not the crate's empty mid: browsers match on it.
                let signal = Signal::Candidate { candidate: init.candidate, sdp_mid: None, sdp_m_line_index: Some(0) };
                let _ = outgoing.send(Outgoing { swarm: swarm.clone(), to: remote.clone(), signal });
            }
            Box::pin(async {})
        }));
    }
    let events_state = events_tx.clone();
    pc.on_peer_connection_state_change(Box::new(move |state| {
        let _ = events_state.send(Event::State(state));
        Box::pin(async {})
    }));
    let events_open = events_tx.clone();
    channel.on_open(Box::new(move || {
        let _ = events_open.send(Event::Open);
        Box::pin(async {})
    }));
    channel.on_message(Box::new(move |message| {
        let _ = events_tx.send(Event::Frame(message.data));
        Box::pin(async {})
    }));

    let offering = matches!(role, Role::Fetch(_));
    if offering {
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer.clone()).await?;
        let _ = outgoing.send(Outgoing {
            swarm: swarm.clone(),
            to: remote.clone(),
            signal: Signal::Offer { sdp: offer.sdp },
        });
    }
    let queue = Arc::new(UploadQueue::default());
    let mut uploader: Option<tokio::task::JoinHandle<()>> = None;
    let mut early_candidates = Vec::new();
    let mut described = false;
    let opened_by = tokio::time::Instant::now() + OPEN_TIMEOUT;
    let mut heard_at = tokio::time::Instant::now();
    let mut idle_check = tokio::time::interval(IDLE_CLOSE / 4);
    let ending = loop {
        tokio::select! {
            Some(more) = inboxes.more.recv() => {
                // Asked of this peer on top of what is in flight, up to the cap; the rest goes back.
                let room = MAX_ASKED.saturating_sub(wanted.len());
                let (ask, refused) = split_at_most(more, room);
                for segment in refused {
                    let _ = context.fetched.send(Fetched::NotHeld { segment });
                }
                if uploader.is_some() {
                    for request in requests_for(&queue, &uploads, &ask) {
                        upload::send(&channel, request).await?;
                    }
                }
                // Not open yet: asked for when it opens, with the rest.
                wanted.extend(ask);
            }
            signal = inboxes.signals.recv() => match signal {
                None => break Ending::Closed,
                // Offers crossing (both sides wanting something at once) end this attempt; the other stands.
                Some(Signal::Offer { .. }) if offering => break Ending::Failed("offers crossed".into()),
                Some(Signal::Offer { sdp }) => {
                    pc.set_remote_description(RTCSessionDescription::offer(sdp)?).await?;
                    described = true;
                    for candidate in early_candidates.drain(..) {
                        pc.add_ice_candidate(candidate).await?;
                    }
                    let answer = pc.create_answer(None).await?;
                    pc.set_local_description(answer.clone()).await?;
                    let signal = Signal::Answer { sdp: answer.sdp };
                    let _ = outgoing.send(Outgoing { swarm: swarm.clone(), to: remote.clone(), signal });
                }
                Some(Signal::Answer { sdp }) if offering && !described => {
                    pc.set_remote_description(RTCSessionDescription::answer(sdp)?).await?;
                    described = true;
                    for candidate in early_candidates.drain(..) {
                        pc.add_ice_candidate(candidate).await?;
                    }
                }
                // An answer to an offer this side did not make.
                Some(Signal::Answer { .. }) => break Ending::Violation("unexpected_answer", ReportReason::ProtocolViolation),
                Some(Signal::Candidate { candidate, sdp_mid, sdp_m_line_index }) => {
                    let init = RTCIceCandidateInit { candidate, sdp_mid, sdp_mline_index: sdp_m_line_index, username_fragment: None };
                    if described {
                        // A candidate the stack cannot use is not fatal: others may work.
                        if let Err(e) = pc.add_ice_candidate(init).await {
                            tracing::debug!(error = %e, "a remote candidate was not usable");
                        }
                    } else if early_candidates.len() < 32 {
                        early_candidates.push(init);
                    }
                }
            },
            event = events.recv() => match event {
                None => break Ending::Closed,
                Some(Event::Open) => {
                    upload::send(&channel, WireMessage::Handshake { version: WIRE_VERSION }).await?;
                    uploader = Some(tokio::spawn(upload::run(queue.clone(), channel.clone(), uploads.clone())));
                    // Requests may follow the handshake at once: messages on the channel stay in order.
                    for request in requests_for(&queue, &uploads, wanted) {
                        upload::send(&channel, request).await?;
                    }
                }
                Some(Event::State(state)) => {
                    if matches!(state, RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) {
                        break Ending::Closed;
                    }
                }
                Some(Event::Frame(bytes)) => {
                    heard_at = tokio::time::Instant::now();
                    let step = match queue.state.lock() {
                        Ok(mut state) => {
                            let step = state.session.receive(&bytes, |segment| uploads.held.size(segment));
                            if let Step::Cancelled(request) = step {
                                state.cancel(request);
                            }
                            step
                        }
                        Err(_) => break Ending::Failed("the upload queue was poisoned".into()),
                    };
                    match step {
                        Step::Nothing | Step::Cancelled(_) => queue.queued.notify_one(),
                        Step::Reply(message) => upload::send(&channel, message).await?,
                        Step::Downloaded(segment, bytes) => {
                            wanted.retain(|w| *w != segment);
                            let size = bytes.len();
                            if let Err(reason) = uploads.held.add_fetched(&segment, bytes) {
                                tracing::info!(peer = %remote, %reason, "a peer sent a segment that is not the catalog's");
                                let _ = context.fetched.send(Fetched::NotHeld { segment });
                                break Ending::Violation("bad_hash", ReportReason::BadSegment);
                            }
                            let _ = context.fetched.send(Fetched::Held { segment, from: remote.clone(), bytes: size });
                        }
                        Step::Unavailable(segment) => {
                            wanted.retain(|w| *w != segment);
                            let _ = context.fetched.send(Fetched::NotHeld { segment });
                        }
                        Step::Close(violation) => {
                            tracing::info!(peer = %remote, code = violation.code, message = %violation.message, "closing a peer that broke the wire protocol");
                            break Ending::Violation(violation.code, ReportReason::ProtocolViolation);
                        }
                    }
                }
            },
            _ = tokio::time::sleep_until(opened_by), if uploader.is_none() => {
                break Ending::Failed("the data channel did not open in time".into());
            }
            _ = idle_check.tick(), if uploader.is_some() => {
                let busy = queue.state.lock().map(|s| s.uploading() || s.session.downloads_in_flight() > 0).unwrap_or(false);
                if !busy && heard_at.elapsed() >= IDLE_CLOSE {
                    break Ending::Closed;
                }
            }
        }
    };
    if let Some(uploader) = uploader {
        uploader.abort();
    }
    Ok(ending)
}

/// The wire requests for `segments` (those the catalog knows), registered
/// with the session so that their answers are expected.
fn requests_for(queue: &UploadQueue, uploads: &Uploads, segments: &[SegmentId]) -> Vec<WireMessage> {
    match queue.state.lock() {
        Ok(mut state) => segments
            .iter()
            .filter_map(|segment| Some(state.session.request(segment.clone(), uploads.held.catalog_size(segment)?)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The first `at_most` of `segments`, and the rest.
fn split_at_most(mut segments: Vec<SegmentId>, at_most: usize) -> (Vec<SegmentId>, Vec<SegmentId>) {
    let rest = segments.split_off(at_most.min(segments.len()));
    (segments, rest)
}
