//! `/announce`: the WebTorrent tracker protocol, so existing WebTorrent
//! clients (bittorrent-tracker, p2p-media-loader) can use this tracker. Open,
//! like public WebTorrent trackers: no swarm token; the same limits as
//! `/tracker` (frame size, rate, offers per message, swarms and peer ids per
//! connection, refusals before closing). A connection that announces nothing
//! for `idle` is closed: answering our pings does not keep it open.

mod swarms;

use cinemesh_common::routes::resource;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use cinemesh_common::stop::SHUTTING_DOWN;
use cinemesh_common::{Connections, StopSignal};
use cinemesh_protocol::webtorrent::{Announce, Carries, Decoded, MAX_FRAME_BYTES, decode, failure};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::limits::{MAX_REFUSALS, MESSAGE_BURST, MESSAGES_PER_SEC, RateLimiter};
use swarms::{Swarms, WtCommand};

/// Messages queued for one connection before further ones are dropped.
const OUTBOX_CAPACITY: usize = 256;
const PING_EVERY: Duration = Duration::from_secs(30);
/// Info hashes one connection may be in at once (a client shares one socket
/// among its torrents), and peer ids it may use.
const MAX_SWARMS_PER_CONNECTION: usize = cinemesh_protocol::tracker::MAX_SWARMS_PER_CONNECTION;
const MAX_PEER_IDS_PER_CONNECTION: usize = 4;

#[derive(Clone)]
pub struct WebTorrent {
    commands: mpsc::Sender<WtCommand>,
    /// A connection with no announce for this long is closed (clients re-announce every 120 s).
    idle: Duration,
    next_conn: Arc<AtomicU64>,
    stop: StopSignal,
    connections: Connections,
}

impl WebTorrent {
    /// Starts the task that owns the swarms, on its own thread.
    /// Sockets close with a reconnect hint on `stop`, and count in `connections`.
    pub fn start(stop: StopSignal, connections: Connections, idle: Duration) -> Self {
        let (commands, receiver) = mpsc::channel(8192);
        actix_rt::Arbiter::new().spawn(Swarms::default().run(receiver));
        Self { commands, idle, next_conn: Arc::new(AtomicU64::new(1)), stop, connections }
    }
}

pub fn configure_webtorrent(cfg: &mut web::ServiceConfig, state: WebTorrent) {
    cfg.app_data(web::Data::new(state)).service(resource("/announce", "GET").route(web::get().to(announce_socket)));
}

async fn announce_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<WebTorrent>,
) -> Result<HttpResponse, actix_web::Error> {
    let admitted = state.connections.admit("announce", &req)?;
    let (response, session, stream) = cinemesh_common::routes::upgrade_websocket(&req, body, MAX_FRAME_BYTES)?;
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    actix_web::rt::spawn(run(state.get_ref().clone(), conn, session, stream, admitted.guard));
    Ok(response)
}

async fn run(
    state: WebTorrent,
    conn: u64,
    mut socket: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    _open: cinemesh_common::connections::OpenConnection,
) {
    let mut stopping = state.stop.watch();
    let (outbox, mut inbox) = mpsc::channel::<Value>(OUTBOX_CAPACITY);
    let mut limiter = RateLimiter::new(MESSAGES_PER_SEC, MESSAGE_BURST, Instant::now());
    let mut refusals = 0;
    let mut last_announce = Instant::now();
    let mut joined = Joined::default();
    let mut ping = actix_web::rt::time::interval(PING_EVERY);
    let mut idle_check = actix_web::rt::time::interval((state.idle / 4).clamp(Duration::from_millis(100), PING_EVERY));
    let close = loop {
        tokio::select! {
            frame = stream.next() => {
                let now = Instant::now();
                let refusal = match frame {
                    None | Some(Ok(AggregatedMessage::Close(_))) => break None,
                    Some(Err(_)) => {
                        let _ = socket.text(failure("announce", "message too large").to_string()).await;
                        break Some(CloseReason { code: CloseCode::Size, description: Some("frame_too_large".into()) });
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        let _ = socket.pong(&bytes).await;
                        None
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => None,
                    Some(Ok(AggregatedMessage::Binary(_))) => Some(failure("announce", "binary messages are not supported")),
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        if limiter.allow(now) {
                            let handled = handle(&state, conn, &outbox, &mut joined, &text).await;
                            // Only what the tracker accepted keeps a connection open.
                            if handled.is_ok() {
                                last_announce = now;
                            }
                            handled.err()
                        } else {
                            Some(failure("announce", "rate limited: slow down"))
                        }
                    }
                };
                if let Some(refusal) = refusal {
                    refusals += 1;
                    let _ = socket.text(refusal.to_string()).await;
                    if refusals > MAX_REFUSALS {
                        break Some(CloseReason { code: CloseCode::Policy, description: Some("too_many_errors".into()) });
                    }
                }
            }
            Some(message) = inbox.recv() => {
                if socket.text(message.to_string()).await.is_err() { break None; }
            }
            _ = stopping.requested() => {
                break Some(CloseReason { code: CloseCode::Restart, description: Some(SHUTTING_DOWN.into()) });
            }
            _ = ping.tick() => {
                if socket.ping(b"").await.is_err() { break None; }
            }
            _ = idle_check.tick() => {
                if last_announce.elapsed() > state.idle {
                    let _ = socket.text(failure("announce", "closed: nothing announced for too long").to_string()).await;
                    break Some(CloseReason { code: CloseCode::Policy, description: Some("idle".into()) });
                }
            }
        }
    };
    let _ = state.commands.send(WtCommand::Disconnect { conn }).await;
    let _ = socket.close(close).await;
}

/// The swarms a connection is in and the peer ids it used, capped.
#[derive(Default)]
struct Joined {
    info_hashes: HashSet<String>,
    peer_ids: HashSet<String>,
}

impl Joined {
    fn admit(&mut self, info_hash: &str, peer_id: &str, event: Option<&str>) -> Result<(), Value> {
        if !self.peer_ids.contains(peer_id) {
            if self.peer_ids.len() >= MAX_PEER_IDS_PER_CONNECTION {
                let reason = format!("too many peer ids: at most {MAX_PEER_IDS_PER_CONNECTION} per connection");
                return Err(failure("announce", &reason));
            }
            self.peer_ids.insert(peer_id.to_owned());
        }
        if event == Some("stopped") {
            self.info_hashes.remove(info_hash);
        } else if !self.info_hashes.contains(info_hash) {
            if self.info_hashes.len() >= MAX_SWARMS_PER_CONNECTION {
                let reason = format!("too many swarms: at most {MAX_SWARMS_PER_CONNECTION} per connection");
                return Err(failure("announce", &reason));
            }
            self.info_hashes.insert(info_hash.to_owned());
        }
        Ok(())
    }
}

/// Checks one message and hands it to the swarms; `Err` carries the failure to send back.
async fn handle(
    state: &WebTorrent,
    conn: u64,
    outbox: &swarms::Outbox,
    joined: &mut Joined,
    text: &str,
) -> Result<(), Value> {
    let command = match decode(text)? {
        Decoded::Announce(Announce { info_hash, peer_id, event, carries }) => {
            joined.admit(&info_hash, &peer_id, event.as_deref())?;
            match carries {
                Carries::Answer { to_peer_id, offer_id, answer } => {
                    WtCommand::Answer { conn, outbox: outbox.clone(), info_hash, peer_id, to_peer_id, offer_id, answer }
                }
                Carries::Offers { complete, offers } => {
                    WtCommand::Announce { conn, outbox: outbox.clone(), info_hash, peer_id, complete, event, offers }
                }
            }
        }
        Decoded::Scrape { info_hashes } => WtCommand::Scrape { outbox: outbox.clone(), info_hashes },
    };
    let _ = state.commands.send(command).await;
    Ok(())
}
