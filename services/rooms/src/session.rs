//! One member's room socket: the hello (name, password), limits (frame size,
//! message rate, chat rate), refusals with codes, pings answered with the
//! server's clock, and the silence timeout. Everything else goes to the room.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::db::now_ms;
use cinemesh_common::rate_limit::RateLimiter;
use cinemesh_protocol::room::{
    MAX_ROOM_FRAME_BYTES, MemberId, ROOM_PROTOCOL_VERSION, RoomClientMessage, RoomServerMessage,
};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::delivery::{OUTBOX_CAPACITY, Route};
use crate::frame::Frame;
use crate::ip_limits::IpLimits;
use crate::registry::{RoomHandle, Rooms};
use crate::room::RoomCommand;
use crate::socket::{Guard, Inbound, close, close_quietly, read_hello, upgrade};

/// `MAX_*_FRAME_BYTES`, in words for refusals.
const FRAME_LIMIT: &str = "40 KiB";
const MESSAGES_PER_SEC: f64 = 50.0;
const MESSAGE_BURST: f64 = 100.0;
const CHATS_PER_SEC: f64 = 10.0;
const CHAT_BURST: f64 = 20.0;
/// Typing and reactions fan out to everyone: each has a budget of its own.
const TYPING_PER_SEC: f64 = 2.0;
const TYPING_BURST: f64 = 4.0;
const REACTIONS_PER_SEC: f64 = 4.0;
const REACTION_BURST: f64 = 8.0;

pub async fn room_socket(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
    rooms: web::Data<Rooms>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = path.into_inner();
    let room = rooms.get(&id).await.map_err(cinemesh_common::ApiError::from)?;
    let Some(room) = room else {
        return Err(cinemesh_common::ApiError::not_found("room_not_found", "no such room").into());
    };
    let admitted = rooms.metrics.connections.admit("room", &req)?;
    let (response, socket, stream) = upgrade(&req, body, MAX_ROOM_FRAME_BYTES)?;
    let client = Client {
        ip: admitted.address,
        _open: admitted.guard,
        chat_limits: rooms.chat_limits.clone(),
        metrics: rooms.metrics.clone(),
    };
    // Everything logged for this socket carries the room id (and the member, once known).
    let span = tracing::info_span!("room_socket", room = %id, member = tracing::field::Empty);
    let session = run_session(rooms.get_ref().clone(), room, client, socket, stream);
    actix_web::rt::spawn(tracing::Instrument::instrument(session, span));
    Ok(response)
}

/// Why a member's session ended.
enum Exit {
    /// The socket closed or broke.
    Gone,
    /// The member said `leave`.
    Left,
    /// Closed by us, for this reason.
    Refused(Refusal),
    /// The room let go of the member and already said why.
    Removed,
    /// The room moved to another instance (or this one stops) and said so: come back.
    Moved,
}

fn parse(text: &str) -> Result<RoomClientMessage, Refusal> {
    serde_json::from_str(text).map_err(|e| Refusal::new("invalid_message", format!("not a room message: {e}")))
}

/// Where a connection comes from, for the per-address chat budget.
struct Client {
    ip: Option<std::net::IpAddr>,
    /// Counts this socket among the instance's (and its address's) until it ends.
    _open: cinemesh_common::connections::OpenConnection,
    chat_limits: IpLimits,
    metrics: crate::metrics::RoomMetrics,
}

/// Times a join is tried when the room stops between the lookup and the join
/// (it was unloaded, or moved to another instance).
const JOIN_ATTEMPTS: usize = 3;

async fn run_session(
    rooms: Rooms,
    mut room: RoomHandle,
    client: Client,
    mut socket: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let metrics = rooms.metrics.clone();
    // The hello: nothing else is read before it.
    let text = match read_hello(&mut stream, FRAME_LIMIT).await {
        Ok(text) => text,
        Err(Some(refusal)) => return close(socket, refusal, &metrics).await,
        Err(None) => return,
    };
    let (name, password, resume) = match parse(&text) {
        Ok(RoomClientMessage::Hello { version, name, password, resume }) if version == ROOM_PROTOCOL_VERSION => {
            (name, password, resume)
        }
        Ok(RoomClientMessage::Hello { version, .. }) => {
            let message =
                format!("room protocol {version} is not supported; this server speaks {ROOM_PROTOCOL_VERSION}");
            return close(socket, Refusal::new("unsupported_version", message), &metrics).await;
        }
        Ok(_) => {
            return close(socket, Refusal::new("hello_required", "the first message must be hello"), &metrics).await;
        }
        Err(refusal) => return close(socket, refusal, &metrics).await,
    };
    // A member taking its seat back needs no password: its token is tried
    // first, so that guessers slowing the room's password down never hold
    // members back. The password is checked (and counted) only when needed.
    let mut password = password;
    let mut admitted = room.password.is_none();
    if resume.is_none() {
        admitted = match check_password(&rooms, &room, client.ip, password.take()).await {
            Ok(admitted) => admitted,
            Err(refusal) => return close(socket, refusal, &metrics).await,
        };
    }
    let (outbox, mut inbox) = mpsc::channel::<Frame>(OUTBOX_CAPACITY);
    let connection = rooms.next_connection();
    let mut attempt = 0;
    let member = loop {
        attempt += 1;
        let (accepted, answer) = oneshot::channel();
        let join = RoomCommand::Join {
            name: name.clone(),
            admitted,
            resume: resume.clone(),
            address: client.ip,
            connection: connection.clone(),
            route: Route::Local(outbox.clone()),
            accepted,
        };
        let outcome = match room.send(join).await {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        match outcome {
            Some(Ok(member)) => break member,
            // The token held no seat: now the password counts.
            Some(Err(refusal)) if refusal.code == "wrong_password" && password.is_some() => {
                admitted = match check_password(&rooms, &room, client.ip, password.take()).await {
                    Ok(admitted) => admitted,
                    Err(refusal) => return close(socket, refusal, &metrics).await,
                };
                if !admitted {
                    return close(socket, refusal, &metrics).await;
                }
            }
            Some(Err(refusal)) if refusal.code != crate::relay::ROOM_MOVED => {
                return close(socket, refusal, &metrics).await;
            }
            _ if attempt < JOIN_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                match rooms.get(&room.id).await {
                    Ok(Some(again)) => room = again,
                    _ => return close(socket, Refusal::new("room_closed", "the room has closed"), &metrics).await,
                }
            }
            _ => return close(socket, Refusal::new("room_closed", "the room has closed"), &metrics).await,
        }
    };
    tracing::Span::current().record("member", member.as_str());
    // Only the room holds the outbox now: when it lets go, the session ends.
    drop(outbox);
    let exit = serve_member(&room, &client, &member, &connection, &mut socket, &mut stream, &mut inbox).await;
    let goodbye = match exit {
        Exit::Left => RoomCommand::Leave { member, connection },
        // A dropped socket keeps the seat for the grace period, to resume.
        _ => RoomCommand::Detach { member, connection },
    };
    let _ = room.send(goodbye).await;
    match exit {
        Exit::Refused(refusal) => close(socket, refusal, &metrics).await,
        Exit::Removed => close_quietly(socket, "removed").await,
        Exit::Moved => close_quietly(socket, crate::relay::ROOM_MOVED).await,
        Exit::Gone | Exit::Left => {
            let _ = socket.close(None).await;
        }
    }
}

/// Whether the hello's password opens the room (always, for a room without
/// one). Checked here, on the blocking pool, rather than in the room's task:
/// a check costs tens of milliseconds. Guesses are throttled; see `PasswordGuard`.
async fn check_password(
    rooms: &Rooms,
    room: &RoomHandle,
    ip: Option<std::net::IpAddr>,
    password: Option<String>,
) -> Result<bool, Refusal> {
    let (Some(expected), Some(password)) = (&room.password, password) else {
        return Ok(room.password.is_none());
    };
    // Counted as a failure before the (slow) check, so that many sockets at
    // once cannot all guess before the first miss is known; forgiven if right.
    let attempt = rooms.password_guard.attempt(&room.id, ip, Instant::now())?;
    if crate::password::check(expected.clone(), password).await {
        rooms.password_guard.forgive(attempt);
        Ok(true)
    } else {
        tracing::warn!(room = %room.id, address = ?ip, "wrong room password");
        Ok(false)
    }
}

/// Relays between the socket and the room until either ends.
async fn serve_member(
    room: &RoomHandle,
    client: &Client,
    member: &MemberId,
    connection: &str,
    socket: &mut actix_ws::Session,
    stream: &mut actix_ws::AggregatedMessageStream,
    inbox: &mut mpsc::Receiver<Frame>,
) -> Exit {
    let start = Instant::now();
    let mut messages = RateLimiter::new(MESSAGES_PER_SEC, MESSAGE_BURST, start);
    let mut chats = RateLimiter::new(CHATS_PER_SEC, CHAT_BURST, start);
    let mut typing = RateLimiter::new(TYPING_PER_SEC, TYPING_BURST, start);
    let mut reactions = RateLimiter::new(REACTIONS_PER_SEC, REACTION_BURST, start);
    let mut guard = Guard::new(FRAME_LIMIT, client.metrics.clone());
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    // The room's last word when it moves (a stop, a home gone): the socket then
    // closes with 1012, come back, rather than as a removal.
    let moved = crate::frame::frame_of(&crate::frame::refusal_message(crate::relay::room_moved()));
    let mut told_moved = false;
    loop {
        tokio::select! {
            outgoing = inbox.recv() => match outgoing {
                Some(frame) => {
                    told_moved = frame == moved;
                    if socket.text(frame).await.is_err() {
                        return Exit::Gone;
                    }
                }
                None if told_moved => return Exit::Moved,
                None => return Exit::Removed,
            },
            incoming = stream.next() => {
                let now = Instant::now();
                let refusal = match guard.inbound(socket, incoming).await {
                    Inbound::Text(_) if !messages.allow(now) => {
                        Some(Refusal::new("rate_limited", "too many messages; slow down"))
                    }
                    Inbound::Text(text) => match parse(&text) {
                        Ok(RoomClientMessage::Ping { t }) => {
                            let pong = RoomServerMessage::Pong { t, server_ms: now_ms() };
                            let _ = socket.text(crate::frame::frame_of(&pong)).await;
                            None
                        }
                        Ok(RoomClientMessage::Leave) => return Exit::Left,
                        Ok(RoomClientMessage::Chat { .. })
                            if !chats.allow(now) || client.ip.is_some_and(|ip| !client.chat_limits.allow(ip, now)) =>
                        {
                            Some(Refusal::new("rate_limited", "too many chat messages; slow down"))
                        }
                        Ok(RoomClientMessage::Typing { .. }) if !typing.allow(now) => {
                            Some(Refusal::new("rate_limited", "too many typing notices; slow down"))
                        }
                        Ok(RoomClientMessage::React { .. }) if !reactions.allow(now) => {
                            Some(Refusal::new("rate_limited", "too many reactions; slow down"))
                        }
                        Ok(message) => {
                            let command =
                                RoomCommand::Message { member: member.clone(), connection: connection.to_owned(), message };
                            if room.send(command).await.is_err() {
                                return Exit::Refused(crate::relay::room_moved());
                            }
                            None
                        }
                        Err(refusal) => Some(refusal),
                    },
                    Inbound::Handled => None,
                    Inbound::Gone => return Exit::Gone,
                    Inbound::Refused { refusal, fatal: true } => return Exit::Refused(refusal),
                    Inbound::Refused { refusal, fatal: false } => Some(refusal),
                };
                if let Some(refusal) = refusal
                    && let Some(last) = guard.refuse(socket, refusal).await
                {
                    return Exit::Refused(last);
                }
            },
            _ = ticks.tick() => {
                if let Some(refusal) = guard.silent_too_long() {
                    return Exit::Refused(refusal);
                }
            }
        }
    }
}
