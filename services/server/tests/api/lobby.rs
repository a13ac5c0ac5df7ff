//! Presence and invitations over the lobby socket:
//! - everyone online is listed in the welcome and kept current by push
//!   (who came, who changed rooms, who left);
//! - a user in a room invites someone online; the invitee accepts or
//!   declines, and the inviter sees the answer; an answer counts once;
//! - bad input is refused with codes: names, unknown rooms and users,
//!   inviting to a room one is not in, invitation floods;
//! - with two instances sharing Redis, users on both see each other and
//!   invite each other.

use std::time::Duration;

use cinemesh_protocol::lobby::{LOBBY_PROTOCOL_VERSION, LobbyClientMessage, LobbyServerMessage, UserView};
use serde_json::json;

use crate::helpers::{TestApp, fresh_redis_namespace};
use crate::ws_client::{Ending, JsonSocket};

struct LobbyUser {
    socket: JsonSocket,
    id: String,
    users: Vec<UserView>,
}

impl LobbyUser {
    async fn hello(app: &TestApp, name: &str) -> Self {
        let mut socket = JsonSocket::connect(app, "/api/lobby/socket").await;
        socket.send(&LobbyClientMessage::Hello { version: LOBBY_PROTOCOL_VERSION, name: name.into() }).await;
        match socket.next(Duration::from_secs(5)).await.expect("welcome") {
            LobbyServerMessage::Welcome { you, users, .. } => Self { socket, id: you, users },
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    async fn send(&mut self, message: &LobbyClientMessage) {
        self.socket.send(message).await;
    }

    async fn next(&mut self) -> Result<LobbyServerMessage, Ending> {
        self.socket.next(Duration::from_secs(5)).await
    }

    async fn until<T>(&mut self, pick: impl Fn(LobbyServerMessage) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next().await.expect("a lobby message")) {
                return found;
            }
        }
    }

    /// Waits until a presence push says `pick` about the user `id`.
    async fn sees(&mut self, id: &str, pick: impl Fn(&UserView) -> bool) {
        self.until(|m| match m {
            LobbyServerMessage::Presence { changed, .. } => changed.iter().any(|u| u.id == id && pick(u)).then_some(()),
            _ => None,
        })
        .await;
    }

    /// The users the next presence push with departures says have left.
    async fn next_left(&mut self) -> Vec<String> {
        self.until(|m| match m {
            LobbyServerMessage::Presence { left, .. } if !left.is_empty() => Some(left),
            _ => None,
        })
        .await
    }

    async fn error_code(&mut self) -> String {
        self.until(|m| match m {
            LobbyServerMessage::Error { code, .. } => Some(code),
            _ => None,
        })
        .await
    }
}

async fn create_room(app: &TestApp) -> String {
    let (status, room) = app.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().expect("room id").to_owned()
}

async fn app_with_movie(adjust: impl FnOnce(&mut cinemesh_server::Config)) -> TestApp {
    let app = TestApp::spawn_with(adjust).await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    app
}

fn invited(message: LobbyServerMessage) -> Option<(String, UserView, String)> {
    match message {
        LobbyServerMessage::Invited { invitation, from, room } => Some((invitation, from, room)),
        _ => None,
    }
}

fn answered(message: LobbyServerMessage) -> Option<(String, String, bool)> {
    match message {
        LobbyServerMessage::InvitationAnswered { invitation, by, accepted } => Some((invitation, by, accepted)),
        _ => None,
    }
}

#[actix_web::test]
async fn everyone_online_is_listed_and_kept_current() {
    let app = app_with_movie(|_| {}).await;
    let room = create_room(&app).await;
    let mut ana = LobbyUser::hello(&app, "Ana").await;
    assert_eq!(ana.users, [UserView { id: ana.id.clone(), name: "Ana".into(), room: None }]);
    let mut ben = LobbyUser::hello(&app, "Ben").await;
    assert_eq!(ben.users.len(), 2, "the welcome lists everyone online");
    let ben_id = ben.id.clone();
    ana.sees(&ben_id, |u| u.name == "Ben" && u.room.is_none()).await;

    ben.send(&LobbyClientMessage::Where { room: Some(room.clone()) }).await;
    ana.sees(&ben_id, |u| u.room.as_deref() == Some(room.as_str())).await;
    ben.send(&LobbyClientMessage::Where { room: None }).await;
    ana.sees(&ben_id, |u| u.room.is_none()).await;

    drop(ben);
    assert_eq!(ana.next_left().await, [ben_id]);
}

#[actix_web::test]
async fn an_invitation_is_answered_and_the_inviter_sees_the_answer() {
    let app = app_with_movie(|_| {}).await;
    let room = create_room(&app).await;
    let mut ana = LobbyUser::hello(&app, "Ana").await;
    let mut ben = LobbyUser::hello(&app, "Ben").await;
    let ben_id = ben.id.clone();

    ana.send(&LobbyClientMessage::Invite { to: ben_id.clone(), room: room.clone() }).await;
    assert_eq!(ana.error_code().await, "not_in_room", "only to the room one is in");
    ana.send(&LobbyClientMessage::Where { room: Some(room.clone()) }).await;
    ana.send(&LobbyClientMessage::Invite { to: ben_id.clone(), room: room.clone() }).await;
    let sent = ana
        .until(|m| match m {
            LobbyServerMessage::InvitationSent { invitation, to } => Some((invitation, to)),
            _ => None,
        })
        .await;
    assert_eq!(sent.1, ben_id);
    let (invitation, from, to_room) = ben.until(invited).await;
    assert_eq!((invitation.as_str(), from.name.as_str(), to_room.as_str()), (sent.0.as_str(), "Ana", room.as_str()));

    ben.send(&LobbyClientMessage::Answer { invitation: invitation.clone(), accept: true }).await;
    assert_eq!(ana.until(answered).await, (invitation.clone(), ben_id.clone(), true));
    ben.send(&LobbyClientMessage::Answer { invitation, accept: true }).await;
    assert_eq!(ben.error_code().await, "unknown_invitation", "an answer counts once");

    ana.send(&LobbyClientMessage::Invite { to: ben_id.clone(), room: room.clone() }).await;
    let (second, _, _) = ben.until(invited).await;
    ana.send(&LobbyClientMessage::Answer { invitation: second.clone(), accept: true }).await;
    assert_eq!(ana.error_code().await, "unknown_invitation", "only the invitee answers");
    ben.send(&LobbyClientMessage::Answer { invitation: second.clone(), accept: false }).await;
    assert_eq!(ana.until(answered).await, (second, ben_id.clone(), false));

    ben.send(&LobbyClientMessage::Where { room: Some(room.clone()) }).await;
    ana.sees(&ben_id, |u| u.room.is_some()).await;
    ana.send(&LobbyClientMessage::Invite { to: ben_id.clone(), room: room.clone() }).await;
    assert_eq!(ana.error_code().await, "already_in_room");
}

#[actix_web::test]
async fn bad_lobby_input_is_refused_with_codes() {
    let app = app_with_movie(|_| {}).await;
    let room = create_room(&app).await;
    let mut nameless = JsonSocket::connect(&app, "/api/lobby/socket").await;
    nameless.send(&LobbyClientMessage::Hello { version: LOBBY_PROTOCOL_VERSION, name: "  ".into() }).await;
    let refused: LobbyServerMessage = nameless.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, LobbyServerMessage::Error { code, .. } if code == "invalid_name"), "{refused:?}");
    let mut wrong_version = JsonSocket::connect(&app, "/api/lobby/socket").await;
    wrong_version.send(&LobbyClientMessage::Hello { version: 99, name: "Ana".into() }).await;
    let refused: LobbyServerMessage = wrong_version.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, LobbyServerMessage::Error { code, .. } if code == "unsupported_version"));

    let mut ana = LobbyUser::hello(&app, "Ana").await;
    ana.send(&LobbyClientMessage::Where { room: Some("no-such-room".into()) }).await;
    assert_eq!(ana.error_code().await, "room_not_found");
    ana.socket.send_text(&format!(r#"{{"type":"where","room":"{}"}}"#, "x".repeat(5_000))).await;
    assert_eq!(ana.error_code().await, "frame_too_large", "frames are capped");
    assert_eq!(ana.next().await.unwrap_err(), Ending::Closed(Some("frame_too_large".into())));

    let mut ana = LobbyUser::hello(&app, "Ana").await;
    ana.send(&LobbyClientMessage::Where { room: Some(room.clone()) }).await;
    ana.send(&LobbyClientMessage::Invite { to: "nobody".into(), room: room.clone() }).await;
    assert_eq!(ana.error_code().await, "unknown_user");
    let ben = LobbyUser::hello(&app, "Ben").await;
    for _ in 0..8 {
        ana.send(&LobbyClientMessage::Invite { to: ben.id.clone(), room: room.clone() }).await;
    }
    assert_eq!(ana.error_code().await, "rate_limited", "invitations are rate limited");
}

#[actix_web::test]
async fn presence_and_invitations_span_two_instances() {
    let first = app_with_movie(fresh_redis_namespace).await;
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(|c| c.storage = storage).await;
    let room = create_room(&first).await;

    let mut ana = LobbyUser::hello(&first, "Ana").await;
    let mut ben = LobbyUser::hello(&second, "Ben").await;
    ana.sees(&ben.id, |u| u.name == "Ben").await;
    ana.send(&LobbyClientMessage::Where { room: Some(room.clone()) }).await;
    let ana_id = ana.id.clone();
    ben.sees(&ana_id, |u| u.room.as_deref() == Some(room.as_str())).await;

    ana.send(&LobbyClientMessage::Invite { to: ben.id.clone(), room: room.clone() }).await;
    let (invitation, from, _) = ben.until(invited).await;
    assert_eq!(from.id, ana.id, "the invitation crossed instances");
    ben.send(&LobbyClientMessage::Answer { invitation: invitation.clone(), accept: true }).await;
    assert_eq!(ana.until(answered).await, (invitation, ben.id.clone(), true), "and so did the answer");

    let ben_id = ben.id.clone();
    drop(ben);
    assert_eq!(ana.next_left().await, [ben_id]);
}
