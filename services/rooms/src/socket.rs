//! What the room and lobby sockets handle alike: upgrading with a frame-size
//! cap, the hello that must come first and in time, frames that are not JSON
//! text, pings, refusals counted until the socket is closed, the silence
//! timeout, and closing with a refusal's code. Errors are JSON
//! `{"type": "error", "code", "message"}` on both sockets.

use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use bytestring::ByteString;
use cinemesh_common::stop::SHUTTING_DOWN;
use futures_util::StreamExt;

use crate::Refusal;
use crate::frame::frame_of;
use crate::metrics::RoomMetrics;

/// Time a new connection has to say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A client silent this long is dropped (clients ping every few seconds).
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(45);
/// Refused messages tolerated before the socket is closed.
const MAX_REFUSALS: u32 = 20;

#[derive(serde::Serialize)]
#[serde(tag = "type", rename = "error")]
struct ErrorFrame<'a> {
    code: &'a str,
    message: &'a str,
}

/// Upgrades to a WebSocket whose frames (and reassembled messages) are at most
/// `max_bytes`; anything but a handshake gets 426.
pub use cinemesh_common::routes::upgrade_websocket as upgrade;

pub async fn send_refusal(socket: &mut Session, refusal: &Refusal, metrics: &RoomMetrics) -> bool {
    metrics.refused(refusal.code);
    let frame = frame_of(&ErrorFrame { code: refusal.code, message: &refusal.message });
    socket.text(frame).await.is_ok()
}

/// Sends the refusal, then closes with its code as the reason.
pub async fn close(mut socket: Session, refusal: Refusal, metrics: &RoomMetrics) {
    send_refusal(&mut socket, &refusal, metrics).await;
    close_quietly(socket, refusal.code).await;
}

pub async fn close_quietly(socket: Session, code: &'static str) {
    // A stop or a room that moved asks the client to come back (1012); other
    // closes are about the client.
    let come_back = code == SHUTTING_DOWN || code == crate::relay::ROOM_MOVED;
    let close_code = if come_back { CloseCode::Restart } else { CloseCode::Policy };
    let _ = socket.close(Some(CloseReason { code: close_code, description: Some(code.to_owned()) })).await;
}

fn hello_required() -> Refusal {
    Refusal::new("hello_required", "the first message must be hello")
}

/// The first text message, within `HELLO_TIMEOUT`; `Err(None)`: the client
/// went away. `frame_limit` says the frame cap in words ("40 KiB").
pub async fn read_hello(
    stream: &mut AggregatedMessageStream,
    frame_limit: &str,
) -> Result<ByteString, Option<Refusal>> {
    match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(AggregatedMessage::Text(text)))) => Ok(text),
        Ok(Some(Ok(AggregatedMessage::Close(_)))) | Ok(None) => Err(None),
        Ok(Some(Ok(_))) => Err(Some(hello_required())),
        Ok(Some(Err(error))) => Err(Some(protocol_refusal(&error, frame_limit))),
        Err(_) => Err(Some(Refusal::new("hello_timeout", "no hello in time"))),
    }
}

/// Why a frame that broke the WebSocket protocol closes the socket.
fn protocol_refusal(error: &actix_ws::ProtocolError, frame_limit: &str) -> Refusal {
    match error {
        actix_ws::ProtocolError::Overflow => {
            Refusal::new("frame_too_large", format!("frames are limited to {frame_limit}"))
        }
        other => Refusal::new("invalid_frame", format!("not a valid WebSocket frame: {other}")),
    }
}

/// A frame after the common handling.
pub enum Inbound {
    /// A text message for the session to parse.
    Text(ByteString),
    /// Handled here (a ping, a pong).
    Handled,
    /// The client closed or the connection broke.
    Gone,
    /// To refuse (counted); a `fatal` one closes the socket.
    Refused { refusal: Refusal, fatal: bool },
}

/// Per-socket bookkeeping of refusals and silence.
pub struct Guard {
    refusals: u32,
    last_heard: Instant,
    frame_limit: &'static str,
    metrics: RoomMetrics,
}

impl Guard {
    /// `frame_limit` says the frame cap in words ("40 KiB").
    pub fn new(frame_limit: &'static str, metrics: RoomMetrics) -> Self {
        Self { refusals: 0, last_heard: Instant::now(), frame_limit, metrics }
    }

    /// Sorts out what the stream yielded.
    pub async fn inbound(
        &mut self,
        socket: &mut Session,
        incoming: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>,
    ) -> Inbound {
        self.last_heard = Instant::now();
        match incoming {
            Some(Ok(AggregatedMessage::Text(text))) => Inbound::Text(text),
            Some(Ok(AggregatedMessage::Binary(_))) => Inbound::Refused {
                refusal: Refusal::new("binary_frame", "messages are JSON text frames"),
                fatal: false,
            },
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = socket.pong(&bytes).await;
                Inbound::Handled
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Inbound::Handled,
            Some(Ok(AggregatedMessage::Close(_))) | None => Inbound::Gone,
            Some(Err(error)) => Inbound::Refused { refusal: protocol_refusal(&error, self.frame_limit), fatal: true },
        }
    }

    /// Tells the client why; `Some` when refusals have run out and the socket should close for it.
    pub async fn refuse(&mut self, socket: &mut Session, refusal: Refusal) -> Option<Refusal> {
        self.refusals += 1;
        if self.refusals >= MAX_REFUSALS {
            return Some(Refusal::new("too_many_errors", "too many refused messages"));
        }
        send_refusal(socket, &refusal, &self.metrics).await;
        None
    }

    /// `Some` when the client has been silent for too long.
    pub fn silent_too_long(&self) -> Option<Refusal> {
        (self.last_heard.elapsed() > SILENCE_TIMEOUT)
            .then(|| Refusal::new("timeout", "nothing heard from this client for too long"))
    }
}
