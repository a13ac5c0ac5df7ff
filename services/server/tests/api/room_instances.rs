//! One room across two instances that share a database and Redis:
//! - a member connected to either instance is in the same room: the member
//!   list, chat both ways, call signalling both ways, playback commands and
//!   typing reach everyone;
//! - the host's controls (roles, kick) act on a member on the other instance;
//! - a member takes its seat back through the other instance with its token;
//! - when the room's home stops, its members are told to reconnect, and the
//!   room comes back on the instance they reach, seats and roles included;
//! - a movie deleted through the instance that is not the room's home ends
//!   the room on its home, and its members on both instances are told.

use std::time::Duration;

use cinemesh_protocol::room::{ControlPolicy, PlaybackCommand, Role, RoomClientMessage, RoomServerMessage};
use serde_json::json;

use crate::helpers::{TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;
use crate::ws_client::Ending;

/// Two instances on one database and one Redis namespace, a movie, and a room
/// created on the first.
async fn two_instances_with_room() -> (TestApp, TestApp, String) {
    let first = TestApp::spawn_with(fresh_redis_namespace).await;
    first.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(|c| c.storage = storage).await;
    let (status, room) = first.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    (first, second, room["id"].as_str().expect("room id").to_owned())
}

fn chat_text(message: RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } => Some(message.text),
        _ => None,
    }
}

#[actix_web::test]
async fn one_room_spans_two_instances() {
    let (first, second, room) = two_instances_with_room().await;
    let (mut ana, _) = RoomClient::join(&first, &room, "Ana", None).await;
    let (mut ben, welcome) = RoomClient::join(&second, &room, "Ben", None).await;
    let RoomServerMessage::Welcome { members, .. } = &welcome else { unreachable!() };
    assert_eq!(members.len(), 2, "the member on the other instance sees the whole room: {members:?}");
    assert_eq!(ben.roster.named("Ana").map(|m| m.role), Some(Role::Host));
    assert_eq!(
        second.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await.0,
        201,
        "either instance creates rooms"
    );
    ana.until_roster(|r| r.named("Ben").map(|_| ())).await;

    // A name is unique across instances too.
    let mut clash = RoomClient::connect(&first, &room).await;
    clash.send(&RoomClientMessage::Hello { version: 1, name: "ben".into(), password: None, resume: None }).await;
    let refused: RoomServerMessage = clash.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, RoomServerMessage::Error { code, .. } if code == "name_taken"), "{refused:?}");

    ben.send(&RoomClientMessage::Chat { text: "hello from the second instance".into(), nonce: None }).await;
    let heard = ana.until(|m| chat_text(m).filter(|t| t.starts_with("hello from"))).await;
    assert_eq!(heard, "hello from the second instance");
    ana.send(&RoomClientMessage::Chat { text: "and back".into(), nonce: None }).await;
    assert_eq!(ben.until(|m| chat_text(m).filter(|t| t == "and back")).await, "and back");

    // Call signalling reaches across both ways, with the true sender.
    let signal = |m: RoomServerMessage| match m {
        RoomServerMessage::Signal { from, data } => Some((from, data)),
        _ => None,
    };
    ben.send(&RoomClientMessage::Signal { to: ana.member.clone(), data: json!({ "offer": 1 }) }).await;
    assert_eq!(ana.until(signal).await, (ben.member.clone(), json!({ "offer": 1 })));
    ana.send(&RoomClientMessage::Signal { to: ben.member.clone(), data: json!({ "answer": 1 }) }).await;
    assert_eq!(ben.until(signal).await, (ana.member.clone(), json!({ "answer": 1 })));

    ana.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 5_000.0 } })
        .await;
    let state = ben
        .until(|m| match m {
            RoomServerMessage::Playback { state, by } => Some((state, by)),
            _ => None,
        })
        .await;
    assert_eq!((state.0.seq, state.0.playing, state.1), (1, true, Some(ana.member.clone())));

    // The host's controls reach across: Ben becomes co-host and pauses from his instance.
    ana.send(&RoomClientMessage::SetPolicy { policy: ControlPolicy::Cohosts }).await;
    ana.set_cohost_and_wait(&ben.member).await;
    ben.until_roster(|r| (r.policy == ControlPolicy::Cohosts && r.named("Ben")?.role == Role::Cohost).then_some(()))
        .await;
    ben.send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Pause { position_ms: 6_000.0 } })
        .await;
    let paused = ana
        .until(|m| match m {
            RoomServerMessage::Playback { state, .. } if !state.playing => Some(state),
            _ => None,
        })
        .await;
    assert_eq!((paused.seq, paused.position_ms), (2, 6_000.0));
    ben.send(&RoomClientMessage::Typing { active: true }).await;
    let typing = ana
        .until(|m| match m {
            RoomServerMessage::Typing { member, active } => Some((member, active)),
            _ => None,
        })
        .await;
    assert_eq!(typing, (ben.member.clone(), true));

    ana.send(&RoomClientMessage::Kick { member: ben.member.clone(), ban_minutes: None, bar_address: None }).await;
    assert_eq!(ben.error_code().await, "kicked");
    assert!(matches!(ben.next(Duration::from_secs(5)).await, Err(Ending::Closed(_))), "the kicked socket closes");
    let ben_id = ben.member.clone();
    ana.until_roster(|r| (!r.members.contains_key(&ben_id)).then_some(())).await;
}

#[actix_web::test]
async fn a_member_resumes_through_the_other_instance() {
    let (first, second, room) = two_instances_with_room().await;
    let (mut ana, _) = RoomClient::join(&first, &room, "Ana", None).await;
    let (ben, welcome) = RoomClient::join(&first, &room, "Ben", None).await;
    let RoomServerMessage::Welcome { resume_token, .. } = welcome else { unreachable!() };
    let ben_id = ben.member.clone();
    drop(ben);
    ana.until_roster(|r| r.members.get(&ben_id).filter(|m| !m.online).map(|_| ())).await;

    let (mut ben, welcome) = RoomClient::resume(&second, &room, &resume_token).await;
    let RoomServerMessage::Welcome { member, .. } = welcome else { unreachable!() };
    assert_eq!(member, ben_id, "the same seat, through the other instance");
    ana.until_roster(|r| r.members.get(&ben_id).filter(|m| m.online).map(|_| ())).await;
    ana.send(&RoomClientMessage::Chat { text: "welcome back".into(), nonce: None }).await;
    let mut lines = Vec::new();
    loop {
        let line = ben.until(chat_text).await;
        if line == "welcome back" {
            break;
        }
        lines.push(line);
    }
    assert!(lines.is_empty(), "no leave or join notices: {lines:?}");
}

#[actix_web::test]
async fn when_the_home_stops_the_room_moves_with_its_seats() {
    let (first, second, room) = two_instances_with_room().await;
    let (mut ana, ana_welcome) = RoomClient::join(&first, &room, "Ana", None).await;
    let (mut ben, ben_welcome) = RoomClient::join(&second, &room, "Ben", None).await;
    ana.until_roster(|r| r.named("Ben").map(|_| ())).await;
    ana.send(&RoomClientMessage::Chat { text: "before the move".into(), nonce: None }).await;
    ben.until(|m| chat_text(m).filter(|t| t == "before the move")).await;

    first.stop_rooms().await;
    assert_eq!(ana.error_code().await, "room_moved", "members of the home are told to reconnect");
    assert_eq!(ben.error_code().await, "room_moved", "and so are members on other instances");

    let token = |welcome: &RoomServerMessage| match welcome {
        RoomServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        _ => unreachable!(),
    };
    let (mut ben, welcome) = RoomClient::resume(&second, &room, &token(&ben_welcome)).await;
    let RoomServerMessage::Welcome { member, chat, .. } = welcome else { unreachable!() };
    assert_eq!(member, ben.member);
    assert!(chat.iter().any(|m| m.text == "before the move"), "the chat came along");
    assert_eq!(ben.roster.named("Ana").map(|m| (m.role, m.online)), Some((Role::Host, false)));
    let (_, welcome) = RoomClient::resume(&second, &room, &token(&ana_welcome)).await;
    let RoomServerMessage::Welcome { member, .. } = welcome else { unreachable!() };
    assert_eq!(member, ana.member, "Ana is the host again, on the new home");
    ben.until_roster(|r| r.named("Ana").filter(|m| m.online && m.role == Role::Host).map(|_| ())).await;
}

#[actix_web::test]
async fn a_movie_deleted_through_another_instance_ends_its_room_on_its_home() {
    let (first, second, room) = two_instances_with_room().await;
    let (mut ana, _) = RoomClient::join(&first, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&second, &room, "Ben", None).await;
    ana.until_roster(|r| r.named("Ben").map(|_| ())).await;

    // The room's home is the first instance; the delete goes through the second.
    let res = second
        .client
        .delete(second.url("/api/admin/movies/movie1"))
        .insert_header(("authorization", format!("Bearer {}", crate::helpers::ADMIN_TOKEN)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(ana.error_code().await, "movie_deleted", "the member on the room's home is told");
    assert_eq!(ben.error_code().await, "movie_deleted", "and so is the one on the other instance");
    assert_eq!(first.running_rooms(), 0, "the room ended on its home");
    let (status, body) = first.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("room_not_found")));
}
