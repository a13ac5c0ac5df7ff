//! One page's lobby socket: the hello (a display name), then where the user
//! is, invitations and answers; pings answered with the server clock; limits
//! on frame size, message, room change and invitation rates; refusals with codes.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::db::now_ms;
use cinemesh_common::rate_limit::RateLimiter;
use cinemesh_common::stop::SHUTTING_DOWN;
use cinemesh_common::swarm_token::now_unix_secs;
use cinemesh_protocol::lobby::{LOBBY_PROTOCOL_VERSION, LobbyClientMessage, LobbyServerMessage, MAX_LOBBY_FRAME_BYTES};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::delivery::OUTBOX_CAPACITY;
use crate::frame::{Frame, frame_of};
use crate::lobby::{Joined, Lobby, LobbyCommand};
use crate::members::DisplayName;
use crate::registry::Rooms;
use crate::socket::{Guard, Inbound, close, read_hello, upgrade};

/// `MAX_*_FRAME_BYTES`, in words for refusals.
const FRAME_LIMIT: &str = "4 KiB";
const MESSAGES_PER_SEC: f64 = 20.0;
const MESSAGE_BURST: f64 = 40.0;
const INVITES_PER_SEC: f64 = 1.0;
const INVITE_BURST: f64 = 5.0;
/// A page changes rooms rarely, and each change sends it everyone again and
/// everyone its change: without a budget of its own, alternating rooms would
/// turn the message budget into a full presence list 20 times a second.
const MOVES_PER_SEC: f64 = 1.0;
const MOVE_BURST: f64 = 4.0;
/// Room ids are 20 characters; anything much longer is not one.
const MAX_ROOM_ID_CHARS: usize = 64;

pub async fn lobby_socket(
    req: HttpRequest,
    body: web::Payload,
    lobby: web::Data<Lobby>,
    rooms: web::Data<Rooms>,
) -> Result<HttpResponse, actix_web::Error> {
    let admitted = rooms.metrics.connections.admit("lobby", &req)?;
    let (response, socket, stream) = upgrade(&req, body, MAX_LOBBY_FRAME_BYTES)?;
    actix_web::rt::spawn(run(lobby.get_ref().clone(), rooms.get_ref().clone(), socket, stream, admitted.guard));
    Ok(response)
}

fn parse(text: &str) -> Result<LobbyClientMessage, Refusal> {
    serde_json::from_str(text).map_err(|e| Refusal::new("invalid_message", format!("not a lobby message: {e}")))
}

async fn run(
    lobby: Lobby,
    rooms: Rooms,
    mut socket: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    _open: cinemesh_common::connections::OpenConnection,
) {
    let metrics = rooms.metrics.clone();
    let (name, resume) = match read_hello(&mut stream, FRAME_LIMIT).await {
        Ok(text) => match parse(&text) {
            Ok(LobbyClientMessage::Hello { version, name, resume }) if version == LOBBY_PROTOCOL_VERSION => {
                match DisplayName::parse(&name) {
                    // A token that does not verify is ignored: the page joins as someone new.
                    Ok(name) => (name, resume.and_then(|token| rooms.passes.lobby_user(&token, now_unix_secs()))),
                    Err(refusal) => return close(socket, refusal, &metrics).await,
                }
            }
            Ok(LobbyClientMessage::Hello { version, .. }) => {
                let message =
                    format!("lobby protocol {version} is not supported; this server speaks {LOBBY_PROTOCOL_VERSION}");
                return close(socket, Refusal::new("unsupported_version", message), &metrics).await;
            }
            Ok(_) => {
                return close(socket, Refusal::new("hello_required", "the first message must be hello"), &metrics)
                    .await;
            }
            Err(refusal) => return close(socket, refusal, &metrics).await,
        },
        Err(Some(refusal)) => return close(socket, refusal, &metrics).await,
        Err(None) => return,
    };
    let (outbox, mut inbox) = mpsc::channel::<Frame>(OUTBOX_CAPACITY);
    let (joined, id) = oneshot::channel();
    lobby.send(LobbyCommand::Join { name, resume, outbox, joined }).await;
    let Joined { user, connection } = match id.await {
        Ok(Ok(joined)) => joined,
        Ok(Err(refusal)) => return close(socket, refusal, &metrics).await,
        Err(_) => return close(socket, Refusal::new("lobby_closed", "the lobby is not running"), &metrics).await,
    };
    let ending = serve(&lobby, &rooms, &user, &mut socket, &mut stream, &mut inbox).await;
    lobby.send(LobbyCommand::Leave { user, connection }).await;
    match ending {
        Some(refusal) => close(socket, refusal, &metrics).await,
        None => {
            let _ = socket.close(None).await;
        }
    }
}

/// Relays until the socket ends (`None`) or is closed by us (the reason).
async fn serve(
    lobby: &Lobby,
    rooms: &Rooms,
    user: &str,
    socket: &mut actix_ws::Session,
    stream: &mut actix_ws::AggregatedMessageStream,
    inbox: &mut mpsc::Receiver<Frame>,
) -> Option<Refusal> {
    let start = Instant::now();
    let mut messages = RateLimiter::new(MESSAGES_PER_SEC, MESSAGE_BURST, start);
    let mut invites = RateLimiter::new(INVITES_PER_SEC, INVITE_BURST, start);
    let mut moves = RateLimiter::new(MOVES_PER_SEC, MOVE_BURST, start);
    let mut guard = Guard::new(FRAME_LIMIT, rooms.metrics.clone());
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    let mut stopping = lobby.stop.watch();
    loop {
        let refusal = tokio::select! {
            outgoing = inbox.recv() => match outgoing {
                Some(frame) => {
                    if socket.text(frame).await.is_err() {
                        return None;
                    }
                    None
                }
                None => return None,
            },
            incoming = stream.next() => {
                let now = Instant::now();
                match guard.inbound(socket, incoming).await {
                    Inbound::Text(_) if !messages.allow(now) => {
                        Some(Refusal::new("rate_limited", "too many messages; slow down"))
                    }
                    Inbound::Text(text) => match parse(&text) {
                        Ok(LobbyClientMessage::Ping { t }) => {
                            let _ = socket.text(frame_of(&LobbyServerMessage::Pong { t, server_ms: now_ms() })).await;
                            None
                        }
                        Ok(LobbyClientMessage::Hello { .. }) => {
                            Some(Refusal::new("already_greeted", "hello was already said"))
                        }
                        Ok(LobbyClientMessage::Where { .. }) if !moves.allow(now) => {
                            Some(Refusal::new("rate_limited", "changing rooms too often; slow down"))
                        }
                        Ok(LobbyClientMessage::Where { room, pass }) => match admitted(rooms, room.as_deref(), pass.as_deref()).await {
                            Ok(()) => {
                                lobby.send(LobbyCommand::Where { user: user.to_owned(), room }).await;
                                None
                            }
                            Err(refusal) => Some(refusal),
                        },
                        Ok(LobbyClientMessage::Invite { .. }) if !invites.allow(now) => {
                            Some(Refusal::new("rate_limited", "too many invitations; slow down"))
                        }
                        Ok(LobbyClientMessage::Invite { to, room }) => {
                            lobby.send(LobbyCommand::Invite { user: user.to_owned(), to, room }).await;
                            None
                        }
                        Ok(LobbyClientMessage::Answer { invitation, accept }) => {
                            lobby.send(LobbyCommand::Answer { user: user.to_owned(), invitation, accept }).await;
                            None
                        }
                        Err(refusal) => Some(refusal),
                    },
                    Inbound::Handled => None,
                    Inbound::Gone => return None,
                    Inbound::Refused { refusal, fatal: true } => return Some(refusal),
                    Inbound::Refused { refusal, fatal: false } => Some(refusal),
                }
            },
            _ = stopping.requested() => {
                return Some(Refusal::new(SHUTTING_DOWN, "this server is stopping; connect again"));
            }
            _ = ticks.tick() => match guard.silent_too_long() {
                Some(refusal) => return Some(refusal),
                None => None,
            },
        };
        if let Some(refusal) = refusal
            && let Some(last) = guard.refuse(socket, refusal).await
        {
            return Some(last);
        }
    }
}

/// A `where` names a room (or none) with a presence pass that room gave this page.
async fn admitted(rooms: &Rooms, room: Option<&str>, pass: Option<&str>) -> Result<(), Refusal> {
    let Some(room) = room else { return Ok(()) };
    let unknown = || Refusal::new("room_not_found", "no such room");
    if room.is_empty() || room.chars().count() > MAX_ROOM_ID_CHARS {
        return Err(unknown());
    }
    if pass.and_then(|pass| rooms.passes.verify(pass, room, now_unix_secs())).is_none() {
        return Err(Refusal::new("not_a_member", "join the room first; its welcome carries the pass for where"));
    }
    match rooms.exists(room).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(unknown()),
        Err(e) => {
            tracing::error!(error = %e, "could not look a room up");
            Err(Refusal::new("unavailable", "could not check that room; try again"))
        }
    }
}
