//! A tracker client for tests: a real WebSocket to `/tracker`, speaking the
//! protocol crate's messages.

use std::time::Duration;

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{ClientMessage, PROTOCOL_VERSION, PeerId, ServerMessage, SwarmKey};

use crate::helpers::Endpoint;
use crate::ws_client::JsonSocket;
pub use crate::ws_client::{Ending, USER_AGENT};

pub struct TrackerClient {
    socket: JsonSocket,
}

impl TrackerClient {
    pub async fn connect(app: &impl Endpoint) -> Self {
        Self { socket: JsonSocket::connect(app, "/tracker").await }
    }

    /// Connects and says hello; returns the client and its peer id.
    pub async fn greeted(app: &impl Endpoint) -> (Self, PeerId) {
        Self::greeted_from(app, None).await
    }

    /// Like `greeted`, through a proxy that says the client is `address`.
    pub async fn greeted_from(app: &impl Endpoint, address: Option<&str>) -> (Self, PeerId) {
        Self::greeted_with(app, address, PROTOCOL_VERSION).await
    }

    /// Like `greeted`, saying hello with an older protocol `version`.
    pub async fn greeted_as(app: &impl Endpoint, version: u32) -> (Self, PeerId) {
        Self::greeted_with(app, None, version).await
    }

    async fn greeted_with(app: &impl Endpoint, address: Option<&str>, version: u32) -> (Self, PeerId) {
        let headers: Vec<(&str, &str)> = address.map(|a| ("x-forwarded-for", a)).into_iter().collect();
        let mut client = Self { socket: JsonSocket::connect_with(app, "/tracker", &headers).await };
        client.send(&ClientMessage::Hello { version }).await;
        match client.recv().await {
            ServerMessage::Welcome { peer, .. } => (client, peer),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The close code the tracker gave, once it closed.
    pub fn close_code(&self) -> Option<u16> {
        self.socket.close_code
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.socket.send(message).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send_text(text).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket.send_binary(bytes).await;
    }

    /// The next message, or how the connection ended.
    pub async fn next(&mut self, wait: Duration) -> Result<ServerMessage, Ending> {
        self.socket.next(wait).await
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
