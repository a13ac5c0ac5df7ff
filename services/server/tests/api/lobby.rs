//! Presence and invitations over the lobby socket:
//! - everyone online is listed in the welcome and kept current by push
//!   (who came, who changed rooms, who left);
//! - a user in a room invites someone online; the invitee accepts or
//!   declines, and the inviter sees the answer; an answer counts once;
//! - room ids are capabilities: a user is shown in a room only on the
//!   presence pass that room gave them, and only others in the same room
//!   see which room it is; names are unique among everyone online, and a
//!   dropped page comes back as the same user with its resume token;
//! - bad input is refused with codes: names, unknown rooms and users,
//!   inviting to a room one is not in, invitation floods;
//! - with two instances sharing Redis, users on both see each other and
//!   invite each other.

use std::time::Duration;

use cinemesh_protocol::lobby::{LOBBY_PROTOCOL_VERSION, LobbyClientMessage, LobbyServerMessage, UserView};
use serde_json::json;

use cinemesh_protocol::room::RoomServerMessage;

use crate::helpers::{TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;
use crate::ws_client::{Ending, JsonSocket};

struct LobbyUser {
    socket: JsonSocket,
    id: String,
    resume_token: String,
    users: Vec<UserView>,
}

fn hello(name: &str, resume: Option<&str>) -> LobbyClientMessage {
    LobbyClientMessage::Hello { version: LOBBY_PROTOCOL_VERSION, name: name.into(), resume: resume.map(Into::into) }
}

impl LobbyUser {
    async fn hello(app: &TestApp, name: &str) -> Self {
        Self::try_hello(app, name, None).await.expect("welcome")
    }

    /// The welcome, or the code the hello was refused with.
    async fn try_hello(app: &TestApp, name: &str, resume: Option<&str>) -> Result<Self, String> {
        let mut socket = JsonSocket::connect(app, "/api/lobby/socket").await;
        socket.send(&hello(name, resume)).await;
        match socket.next(Duration::from_secs(5)).await.expect("an answer to hello") {
            LobbyServerMessage::Welcome { you, users, resume_token, .. } => {
                Ok(Self { socket, id: you, users, resume_token })
            }
            LobbyServerMessage::Error { code, .. } => Err(code),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    async fn send(&mut self, message: &LobbyClientMessage) {
        self.socket.send(message).await;
    }

    /// Says this page is in `room`, with the pass `room`'s welcome gave it.
    async fn enter(&mut self, room: &str, pass: &str) {
        self.send(&LobbyClientMessage::Where { room: Some(room.into()), pass: Some(pass.into()) }).await;
    }

    async fn browse(&mut self) {
        self.send(&LobbyClientMessage::Where { room: None, pass: None }).await;
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

/// Joins `room` as `name` and returns the presence pass of its welcome.
async fn presence_pass(app: &TestApp, room: &str, name: &str) -> String {
    let (_member, welcome) = RoomClient::join(app, room, name, None).await;
    let RoomServerMessage::Welcome { presence_pass, .. } = welcome else { unreachable!() };
    presence_pass
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
    assert_eq!(ana.users, [UserView { id: ana.id.clone(), name: "Ana".into(), room: None, in_room: false }]);
    let mut ben = LobbyUser::hello(&app, "Ben").await;
    assert_eq!(ben.users.len(), 2, "the welcome lists everyone online");
    let ben_id = ben.id.clone();
    ana.sees(&ben_id, |u| u.name == "Ben" && !u.in_room).await;

    let ben_pass = presence_pass(&app, &room, "Ben").await;
    ben.enter(&room, &ben_pass).await;
    ana.sees(&ben_id, |u| u.in_room && u.room.is_none()).await;
    // Inside the room, Ana sees which room Ben is in: hers.
    let ana_pass = presence_pass(&app, &room, "Ana").await;
    ana.enter(&room, &ana_pass).await;
    ana.sees(&ben_id, |u| u.room.as_deref() == Some(room.as_str())).await;
    ben.browse().await;
    ana.sees(&ben_id, |u| u.room.is_none() && !u.in_room).await;

    drop(ben);
    assert_eq!(ana.next_left().await, [ben_id]);
}

#[actix_web::test]
async fn a_room_is_shown_only_on_its_pass_and_only_to_its_members() {
    let app = app_with_movie(|_| {}).await;
    let room = create_room(&app).await;
    let other_room = create_room(&app).await;
    let mut eve = LobbyUser::hello(&app, "Eve").await;
    let mut ben = LobbyUser::hello(&app, "Ben").await;
    let ben_pass = presence_pass(&app, &room, "Ben").await;
    ben.enter(&room, &ben_pass).await;
    let ben_id = ben.id.clone();
    // Everything Eve receives from now on names no room, though Ben is in one.
    let seen = eve
        .socket
        .until_raw(Duration::from_secs(5), |text| text.contains(&ben_id) && text.contains("\"in_room\":true"))
        .await;
    assert!(seen.iter().all(|text| !text.contains(&room)), "a room id reached someone outside it: {seen:?}");
    let late = LobbyUser::hello(&app, "Late").await;
    let ben_seen = late.users.iter().find(|u| u.id == ben_id).expect("Ben is online");
    assert_eq!((ben_seen.room.as_deref(), ben_seen.in_room), (None, true), "nor does a welcome");

    // Saying one is in a room takes that room's pass.
    eve.send(&LobbyClientMessage::Where { room: Some(room.clone()), pass: None }).await;
    assert_eq!(eve.error_code().await, "not_a_member");
    let eve_pass_elsewhere = presence_pass(&app, &other_room, "Eve").await;
    eve.enter(&room, &eve_pass_elsewhere).await;
    assert_eq!(eve.error_code().await, "not_a_member", "a pass holds for its own room only");
    eve.enter(&room, &ben_pass.replacen('.', "x.", 1)).await;
    assert_eq!(eve.error_code().await, "not_a_member", "a forged pass");
}

#[actix_web::test]
async fn names_are_unique_online_and_a_dropped_page_comes_back_as_itself() {
    let app = app_with_movie(|_| {}).await;
    let ana = LobbyUser::hello(&app, "Ana").await;
    assert_eq!(LobbyUser::try_hello(&app, "Ana", None).await.err().as_deref(), Some("name_taken"));
    assert_eq!(LobbyUser::try_hello(&app, " ana ", None).await.err().as_deref(), Some("name_taken"));
    let forged = ana.resume_token.replacen(&ana.id, "someoneelse", 1);
    assert_eq!(LobbyUser::try_hello(&app, "Ana", Some(&forged)).await.err().as_deref(), Some("name_taken"));

    // The page's socket dropped without the server noticing yet: its token takes the user back.
    let (id, token) = (ana.id.clone(), ana.resume_token.clone());
    let again = LobbyUser::try_hello(&app, "Ana", Some(&token)).await.expect("the same user comes back");
    assert_eq!(again.id, id);
    assert_eq!(again.users.iter().filter(|u| u.name == "Ana").count(), 1, "listed once");
    // The old socket ending later does not take the new one's user away.
    drop(ana);
    let mut watcher = LobbyUser::hello(&app, "Watcher").await;
    assert!(watcher.users.iter().any(|u| u.id == id), "still online after the old socket ended");
    watcher.send(&LobbyClientMessage::Ping { t: 1.0 }).await;
    let pong_or_left = watcher
        .until(|m| match m {
            LobbyServerMessage::Pong { .. } => Some(Vec::new()),
            LobbyServerMessage::Presence { left, .. } if !left.is_empty() => Some(left),
            _ => None,
        })
        .await;
    assert!(pong_or_left.is_empty(), "nobody left: {pong_or_left:?}");
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
    let ana_pass = presence_pass(&app, &room, "Ana").await;
    ana.enter(&room, &ana_pass).await;
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

    let ben_pass = presence_pass(&app, &room, "Ben").await;
    ben.enter(&room, &ben_pass).await;
    ana.sees(&ben_id, |u| u.room.is_some()).await;
    ana.send(&LobbyClientMessage::Invite { to: ben_id.clone(), room: room.clone() }).await;
    assert_eq!(ana.error_code().await, "already_in_room");
}

#[actix_web::test]
async fn bad_lobby_input_is_refused_with_codes() {
    let app = app_with_movie(|_| {}).await;
    let room = create_room(&app).await;
    let mut nameless = JsonSocket::connect(&app, "/api/lobby/socket").await;
    nameless.send(&hello("  ", None)).await;
    let refused: LobbyServerMessage = nameless.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, LobbyServerMessage::Error { code, .. } if code == "invalid_name"), "{refused:?}");
    let mut wrong_version = JsonSocket::connect(&app, "/api/lobby/socket").await;
    wrong_version.send(&LobbyClientMessage::Hello { version: 99, name: "Ana".into(), resume: None }).await;
    let refused: LobbyServerMessage = wrong_version.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, LobbyServerMessage::Error { code, .. } if code == "unsupported_version"));

    let mut ana = LobbyUser::hello(&app, "Ana").await;
    ana.enter("no-such-room", "pass").await;
    assert_eq!(ana.error_code().await, "not_a_member");
    ana.socket.send_text(&format!(r#"{{"type":"where","room":"{}"}}"#, "x".repeat(5_000))).await;
    assert_eq!(ana.error_code().await, "frame_too_large", "frames are capped");
    assert_eq!(ana.next().await.unwrap_err(), Ending::Closed(Some("frame_too_large".into())));

    let mut ana = LobbyUser::hello(&app, "Ana2").await;
    let pass = presence_pass(&app, &room, "Ana").await;
    ana.enter(&room, &pass).await;
    ana.send(&LobbyClientMessage::Invite { to: "nobody".into(), room: room.clone() }).await;
    assert_eq!(ana.error_code().await, "unknown_user");
    let ben = LobbyUser::hello(&app, "Ben").await;
    for _ in 0..8 {
        ana.send(&LobbyClientMessage::Invite { to: ben.id.clone(), room: room.clone() }).await;
    }
    assert_eq!(ana.error_code().await, "rate_limited", "invitations are rate limited");

    // Each change of room sends the page everyone again: changes have their own budget.
    let mut cy = LobbyUser::hello(&app, "Cy").await;
    let cy_pass = presence_pass(&app, &room, "Cy").await;
    for i in 0..8 {
        let (room, pass) = if i % 2 == 0 { (Some(room.clone()), Some(cy_pass.clone())) } else { (None, None) };
        cy.send(&LobbyClientMessage::Where { room, pass }).await;
    }
    assert_eq!(cy.error_code().await, "rate_limited", "room changes are rate limited");
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
    let ana_pass = presence_pass(&second, &room, "Ana").await;
    ana.enter(&room, &ana_pass).await;
    let ana_id = ana.id.clone();
    ben.sees(&ana_id, |u| u.in_room && u.room.is_none()).await;

    ana.send(&LobbyClientMessage::Invite { to: ben.id.clone(), room: room.clone() }).await;
    let (invitation, from, _) = ben.until(invited).await;
    assert_eq!(from.id, ana.id, "the invitation crossed instances");
    ben.send(&LobbyClientMessage::Answer { invitation: invitation.clone(), accept: true }).await;
    assert_eq!(ana.until(answered).await, (invitation, ben.id.clone(), true), "and so did the answer");
    let ben_pass = presence_pass(&second, &room, "Ben").await;
    ben.enter(&room, &ben_pass).await;
    ben.sees(&ana_id, |u| u.room.as_deref() == Some(room.as_str())).await;

    let ben_id = ben.id.clone();
    drop(ben);
    assert_eq!(ana.next_left().await, [ben_id]);
}
