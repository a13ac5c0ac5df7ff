//! A tracker client for tests: a real WebSocket to `/tracker`, speaking the
//! protocol crate's messages.

use std::time::Duration;

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{ClientMessage, PROTOCOL_VERSION, PeerId, ServerMessage, SwarmKey};
use futures_util::{SinkExt, StreamExt};

use crate::helpers::TestApp;

/// What the test client calls itself, as the tracker records it.
pub const USER_AGENT: &str = "cinemesh-tests/1";

pub struct TrackerClient {
    socket: Framed<BoxedSocket, Codec>,
}

/// What came back instead of a message.
#[derive(Debug, PartialEq)]
pub enum Ending {
    Closed(Option<String>),
    Silence,
}

impl TrackerClient {
    pub async fn connect(app: &TestApp) -> Self {
        let url = app.url("/tracker").replacen("http://", "ws://", 1);
        let (_, socket) = app
            .client
            .ws(url)
            .set_header("user-agent", USER_AGENT)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("websocket connects");
        Self { socket }
    }

    /// Connects and says hello; returns the client and its peer id.
    pub async fn greeted(app: &TestApp) -> (Self, PeerId) {
        let mut client = Self::connect(app).await;
        client.send(&ClientMessage::Hello { version: PROTOCOL_VERSION }).await;
        match client.recv().await {
            ServerMessage::Welcome { peer, .. } => (client, peer),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&serde_json::to_string(message).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::Text(text.to_owned().into())).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket.send(Message::Binary(bytes.into())).await.expect("send");
    }

    /// The next message, or how the connection ended.
    pub async fn next(&mut self, wait: Duration) -> Result<ServerMessage, Ending> {
        loop {
            match actix_web::rt::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Err(Ending::Silence),
                Ok(None) | Ok(Some(Err(_))) => return Err(Ending::Closed(None)),
                Ok(Some(Ok(Frame::Text(text)))) => {
                    return Ok(serde_json::from_slice(&text).expect("server sends protocol messages"));
                }
                Ok(Some(Ok(Frame::Close(reason)))) => {
                    return Err(Ending::Closed(reason.and_then(|r| r.description)));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> ServerMessage {
        self.next(Duration::from_secs(5)).await.expect("a message")
    }

    /// The next `error` message's code.
    pub async fn error_code(&mut self) -> String {
        match self.recv().await {
            ServerMessage::Error { code, .. } => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    pub async fn join(&mut self, swarm: &SwarmKey, token: &str, holdings: SegmentRanges) -> u32 {
        self.send(&ClientMessage::Join { swarm: swarm.clone(), token: token.to_owned(), holdings }).await;
        match self.recv().await {
            ServerMessage::Joined { peers, .. } => peers,
            other => panic!("expected joined, got {other:?}"),
        }
    }

    /// Asks who holds the window and returns the holders' ids in rank order.
    pub async fn who_has(&mut self, swarm: &SwarmKey, from: u32, count: u32) -> Vec<(PeerId, SegmentRanges)> {
        self.send(&ClientMessage::WhoHas { swarm: swarm.clone(), from, count, limit: None }).await;
        match self.recv().await {
            ServerMessage::Holders { peers, .. } => peers.into_iter().map(|h| (h.peer, h.holds)).collect(),
            other => panic!("expected holders, got {other:?}"),
        }
    }

    /// Asks `who_has` every 100 ms until `done` accepts the answer (changes
    /// reach the tracker asynchronously); gives up after 5 s with the last answer.
    pub async fn holders_until(
        &mut self,
        swarm: &SwarmKey,
        from: u32,
        count: u32,
        done: impl Fn(&[(PeerId, SegmentRanges)]) -> bool,
    ) -> Vec<(PeerId, SegmentRanges)> {
        let mut holders = self.who_has(swarm, from, count).await;
        for _ in 0..50 {
            if done(&holders) {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            holders = self.who_has(swarm, from, count).await;
        }
        holders
    }

    /// A round trip that proves every earlier message was handled.
    pub async fn sync(&mut self) {
        self.send(&ClientMessage::Ping { t: 7 }).await;
        assert_eq!(self.recv().await, ServerMessage::Pong { t: 7 });
    }
}
