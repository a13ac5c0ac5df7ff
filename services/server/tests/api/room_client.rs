//! A room member for tests: a real WebSocket to a room, speaking the
//! protocol crate's room messages.

use std::collections::BTreeMap;
use std::time::Duration;

use cinemesh_protocol::room::{
    ControlPolicy, MemberId, MemberView, ROOM_PROTOCOL_VERSION, RoomClientMessage, RoomServerMessage,
};

use crate::helpers::Endpoint;
use crate::ws_client::{Ending, JsonSocket};

/// A player's status with only whether it is buffering and its offset (ms) from the room.
pub fn status(buffering: bool, offset_ms: Option<f64>) -> RoomClientMessage {
    RoomClientMessage::Status {
        buffering,
        offset_ms,
        shared_bytes: None,
        origin_fetches: None,
        ahead_secs: None,
        top_level: None,
        movie: None,
        rtt_ms: None,
    }
}

/// A ready player's status saying its smallest round trip to the server (ms).
pub fn round_trip_status(rtt_ms: f64) -> RoomClientMessage {
    RoomClientMessage::Status {
        buffering: false,
        offset_ms: None,
        shared_bytes: None,
        origin_fetches: None,
        ahead_secs: None,
        top_level: None,
        movie: None,
        rtt_ms: Some(rtt_ms),
    }
}

pub struct RoomClient {
    socket: JsonSocket,
    pub member: MemberId,
    /// The members as this client knows them: the welcome's list with every change applied.
    pub roster: Roster,
}

#[derive(Debug, Clone)]
pub struct Roster {
    pub members: BTreeMap<MemberId, MemberView>,
    pub policy: ControlPolicy,
}

impl Roster {
    fn apply(&mut self, message: &RoomServerMessage) -> bool {
        match message {
            RoomServerMessage::Welcome { members, policy, .. } => {
                self.members = members.iter().map(|m| (m.id.clone(), m.clone())).collect();
                self.policy = *policy;
            }
            RoomServerMessage::MembersChanged { changed, left, policy } => {
                for member in changed {
                    self.members.insert(member.id.clone(), member.clone());
                }
                for id in left {
                    self.members.remove(id);
                }
                self.policy = *policy;
            }
            _ => return false,
        }
        true
    }

    pub fn named(&self, name: &str) -> Option<&MemberView> {
        self.members.values().find(|m| m.name == name)
    }
}

impl RoomClient {
    pub async fn connect(app: &impl Endpoint, room: &str) -> JsonSocket {
        JsonSocket::connect(app, &format!("/api/rooms/{room}/socket")).await
    }

    /// Joins as `name`; returns the member and its welcome.
    pub async fn join(
        app: &impl Endpoint,
        room: &str,
        name: &str,
        password: Option<&str>,
    ) -> (Self, RoomServerMessage) {
        Self::hello(app, room, name, password, None, &[]).await
    }

    /// Joins as `name` from `address`, as a trusted proxy forwards it.
    pub async fn join_from(app: &impl Endpoint, room: &str, name: &str, address: &str) -> (Self, RoomServerMessage) {
        Self::hello(app, room, name, None, None, &[("x-forwarded-for", address)]).await
    }

    /// Takes a seat back with the resume token of an earlier welcome.
    pub async fn resume(app: &impl Endpoint, room: &str, token: &str) -> (Self, RoomServerMessage) {
        Self::hello(app, room, "", None, Some(token), &[]).await
    }

    async fn hello(
        app: &impl Endpoint,
        room: &str,
        name: &str,
        password: Option<&str>,
        resume: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (Self, RoomServerMessage) {
        let mut socket = JsonSocket::connect_with(app, &format!("/api/rooms/{room}/socket"), headers).await;
        let hello = RoomClientMessage::Hello {
            version: ROOM_PROTOCOL_VERSION,
            name: name.into(),
            password: password.map(Into::into),
            resume: resume.map(Into::into),
        };
        socket.send(&hello).await;
        let welcome: RoomServerMessage = socket.next(Duration::from_secs(5)).await.expect("welcome");
        let RoomServerMessage::Welcome { member, .. } = &welcome else { panic!("expected welcome, got {welcome:?}") };
        let mut roster = Roster { members: BTreeMap::new(), policy: ControlPolicy::HostOnly };
        roster.apply(&welcome);
        (Self { member: member.clone(), socket, roster }, welcome)
    }

    /// Sends unless the socket is gone; says whether it went.
    pub async fn try_send(&mut self, message: &RoomClientMessage) -> bool {
        self.socket.try_send(message).await
    }

    pub async fn send(&mut self, message: &RoomClientMessage) {
        self.socket.send(message).await;
    }

    pub async fn next(&mut self, wait: Duration) -> Result<RoomServerMessage, Ending> {
        let message = self.socket.next(wait).await?;
        self.roster.apply(&message);
        Ok(message)
    }

    /// Reads until the roster, after a change, is what `pick` accepts.
    pub async fn until_roster<T>(&mut self, pick: impl Fn(&Roster) -> Option<T>) -> T {
        loop {
            let message = self.next(Duration::from_secs(5)).await.expect("a message");
            if matches!(message, RoomServerMessage::MembersChanged { .. })
                && let Some(found) = pick(&self.roster)
            {
                return found;
            }
        }
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

    /// Makes `member` a co-host and waits until the room says so.
    pub async fn set_cohost_and_wait(&mut self, member: &str) {
        self.send(&RoomClientMessage::SetCohost { member: member.into(), cohost: true }).await;
        self.until_roster(|r| {
            r.members.get(member).is_some_and(|m| m.role == cinemesh_protocol::room::Role::Cohost).then_some(())
        })
        .await;
    }

    /// The code the server closed the socket with, once it did.
    pub fn close_code(&self) -> Option<u16> {
        self.socket.close_code
    }

    pub async fn error_code(&mut self) -> String {
        self.until(|m| match m {
            RoomServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
    }
}
