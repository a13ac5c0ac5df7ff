//! A room member for tests: a real WebSocket to a room, speaking the
//! protocol crate's room messages.

use std::time::Duration;

use cinemesh_protocol::room::{MemberId, ROOM_PROTOCOL_VERSION, RoomClientMessage, RoomServerMessage};

use crate::helpers::TestApp;
use crate::ws_client::{Ending, JsonSocket};

pub struct RoomClient {
    socket: JsonSocket,
    pub member: MemberId,
}

impl RoomClient {
    pub async fn connect(app: &TestApp, room: &str) -> JsonSocket {
        JsonSocket::connect(app, &format!("/api/rooms/{room}/socket")).await
    }

    /// Joins as `name`; returns the member and its welcome.
    pub async fn join(app: &TestApp, room: &str, name: &str, password: Option<&str>) -> (Self, RoomServerMessage) {
        let mut socket = Self::connect(app, room).await;
        let hello = RoomClientMessage::Hello {
            version: ROOM_PROTOCOL_VERSION,
            name: name.into(),
            password: password.map(Into::into),
        };
        socket.send(&hello).await;
        let welcome: RoomServerMessage = socket.next(Duration::from_secs(5)).await.expect("welcome");
        let RoomServerMessage::Welcome { member, .. } = &welcome else { panic!("expected welcome, got {welcome:?}") };
        (Self { member: member.clone(), socket }, welcome)
    }

    pub async fn send(&mut self, message: &RoomClientMessage) {
        self.socket.send(message).await;
    }

    pub async fn next(&mut self, wait: Duration) -> Result<RoomServerMessage, Ending> {
        self.socket.next(wait).await
    }

    /// The next message that `pick` accepts, skipping others (chat notices, member lists).
    pub async fn until<T>(&mut self, pick: impl Fn(RoomServerMessage) -> Option<T>) -> T {
        loop {
            let message = self.next(Duration::from_secs(5)).await.expect("a message");
            if let Some(found) = pick(message) {
                return found;
            }
        }
    }

    pub async fn error_code(&mut self) -> String {
        self.until(|m| match m {
            RoomServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
    }
}
