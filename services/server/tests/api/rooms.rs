//! Rooms over real WebSockets:
//! - a room is created for a catalog movie (unknown movies and bad passwords refused);
//! - the creator hosts; names are unique in a room; a wrong password is refused;
//! - playback commands go to everyone with a scheduled start and a new `seq`;
//!   stale commands and commands from members without permission are refused;
//! - the host changes the policy, makes co-hosts, hands over and kicks;
//! - chat reaches everyone, a newcomer gets exactly the last 100 messages, long
//!   messages and floods are refused; pings are answered with the server clock;
//! - rooms, their chat, policy, playback and seats (with roles) survive a
//!   restart, and members take their seats back with their tokens; a room
//!   left empty, or brought back, does not play on its own; a room nobody is
//!   in leaves memory and its invite link brings it back;
//! - a dropped socket keeps its seat: resuming with the token brings back the
//!   same member with the chat it missed and no leave/join noise; after the
//!   grace period, or on `leave`, the member is gone;
//! - a member whose player runs dry makes the room wait, at most the bounded
//!   time, and everyone's sync health is shared;
//! - reactions toggle per member, typing reaches the others, and connections
//!   from one address share one chat budget;
//! - members who share segments split the HTTP fetching by upload cap.

use std::time::Duration;

use cinemesh_protocol::room::{
    CHAT_HISTORY, ChatKind, ControlPolicy, MAX_CHAT_CHARS, OriginFetch, PlaybackCommand, PlaybackState, Role,
    RoomClientMessage, RoomServerMessage,
};
use serde_json::json;

use crate::helpers::TestApp;
use crate::room_client::{RoomClient, Roster, round_trip_status, status};
use crate::ws_client::Ending;

/// An app with a 10-minute movie and a room for it; returns the room id.
pub async fn app_with_room(password: Option<&str>) -> (TestApp, String) {
    app_with_room_and(password, |_| {}).await
}

pub async fn app_with_room_and(
    password: Option<&str>,
    adjust: impl FnOnce(&mut cinemesh_server::Config),
) -> (TestApp, String) {
    let app = TestApp::spawn_with(adjust).await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let mut body = json!({ "movie_id": "movie1" });
    if let Some(password) = password {
        body["password"] = json!(password);
    }
    let (status, room) = app.post_json("/api/rooms", &body).await;
    assert_eq!(status, 201, "{room}");
    (app, room["id"].as_str().expect("room id").to_owned())
}

fn playback(message: RoomServerMessage) -> Option<PlaybackState> {
    match message {
        RoomServerMessage::Playback { state, .. } => Some(state),
        _ => None,
    }
}

#[actix_web::test]
async fn rooms_are_created_for_catalog_movies_only() {
    let (app, room) = app_with_room(None).await;
    assert_eq!(room.len(), 20, "unguessable ids");
    let (status, summary) = app.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!(status, 200);
    assert_eq!(summary["invite_path"], format!("/rooms/{room}"));
    assert_eq!(summary["has_password"], false);

    let (status, body) = app.post_json("/api/rooms", &json!({ "movie_id": "nope" })).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("movie_not_found")));
    let (status, body) = app.post_json("/api/rooms", &json!({ "movie_id": "movie1", "password": "" })).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_password")));
    let (status, body) = app.post_json("/api/rooms", &json!({ "movie": "movie1" })).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")));
    let (status, body) = app.get_json("/api/rooms/nosuchroom").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("room_not_found")));
}

#[actix_web::test]
async fn the_creator_hosts_names_are_unique_and_passwords_are_checked() {
    let (app, room) = app_with_room(Some("popcorn")).await;
    let (host, welcome) = RoomClient::join(&app, &room, "Ana", Some("popcorn")).await;
    let RoomServerMessage::Welcome { members, movie, playback, .. } = welcome else { unreachable!() };
    assert_eq!(movie, "movie1");
    assert_eq!((members.len(), members[0].role, members[0].id.clone()), (1, Role::Host, host.member.clone()));
    assert!(!playback.playing);

    for (name, password, code) in [
        ("ana", Some("popcorn"), "name_taken"),
        ("Ben", Some("nope"), "wrong_password"),
        ("Ben", None, "wrong_password"),
        ("", Some("popcorn"), "invalid_name"),
    ] {
        let mut socket = RoomClient::connect(&app, &room).await;
        socket
            .send(&RoomClientMessage::Hello {
                version: 1,
                name: name.into(),
                password: password.map(Into::into),
                resume: None,
            })
            .await;
        let refused: RoomServerMessage = socket.next(Duration::from_secs(5)).await.unwrap();
        assert!(matches!(&refused, RoomServerMessage::Error { code: c, .. } if c == code), "{name}: {refused:?}");
        assert_eq!(
            socket.next::<RoomServerMessage>(Duration::from_secs(5)).await.unwrap_err(),
            Ending::Closed(Some(code.into()))
        );
    }
    let (ben, welcome) = RoomClient::join(&app, &room, "Ben", Some("popcorn")).await;
    let RoomServerMessage::Welcome { members, .. } = welcome else { unreachable!() };
    assert_eq!(members.iter().find(|m| m.id == ben.member).map(|m| m.role), Some(Role::Member));
}

#[actix_web::test]
async fn playback_commands_reach_everyone_with_a_scheduled_start() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut guest, _) = RoomClient::join(&app, &room, "Ben", None).await;

    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 1_000.0 } })
        .await;
    let seen_by_host = host.until(playback).await;
    let seen_by_guest = guest.until(playback).await;
    assert_eq!(seen_by_host, seen_by_guest);
    assert_eq!((seen_by_guest.seq, seen_by_guest.playing, seen_by_guest.position_ms), (1, true, 1_000.0));
    let now = cinemesh_common::db::now_ms();
    assert!(seen_by_guest.anchor_ms > now - 100 && seen_by_guest.anchor_ms <= now + 300, "starts shortly after now");

    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Pause { position_ms: 2_000.0 } })
        .await;
    assert_eq!(host.error_code().await, "stale_command");
    guest
        .send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Pause { position_ms: 2_000.0 } })
        .await;
    assert_eq!(guest.error_code().await, "not_allowed", "host-only by default");
    host.send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Seek { position_ms: 9e9 } }).await;
    assert_eq!(host.error_code().await, "invalid_position");

    host.send(&RoomClientMessage::SetPolicy { policy: ControlPolicy::Everyone }).await;
    guest.until_roster(|r| (r.policy == ControlPolicy::Everyone).then_some(())).await;
    guest
        .send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Pause { position_ms: 2_000.0 } })
        .await;
    let paused = host.until(playback).await;
    assert_eq!((paused.seq, paused.playing, paused.position_ms), (2, false, 2_000.0));
}

/// The host plays; how far ahead of the command the room scheduled the start, ms (at least, at most).
async fn start_lead(host: &mut RoomClient, based_on: u64, position_ms: f64) -> (i64, i64) {
    let sent = cinemesh_common::db::now_ms();
    host.send(&RoomClientMessage::Control { based_on, command: PlaybackCommand::Play { position_ms } }).await;
    let state = host.until(playback).await;
    let heard = cinemesh_common::db::now_ms();
    assert!(state.playing, "{state:?}");
    (state.anchor_ms - heard, state.anchor_ms - sent)
}

/// Ben says his round trip, then the host pauses the room (at state `based_on`).
async fn say_round_trip_then_pause(host: &mut RoomClient, ben: &mut RoomClient, rtt_ms: f64, based_on: u64) {
    let pause = RoomClientMessage::Control { based_on, command: PlaybackCommand::Pause { position_ms: 0.0 } };
    ben.send(&round_trip_status(rtt_ms)).await;
    // Ben may not control: the refusal shows his status was taken first.
    ben.send(&pause).await;
    assert_eq!(ben.error_code().await, "not_allowed");
    host.send(&pause).await;
    host.until(playback).await;
}

#[actix_web::test]
async fn a_start_goes_out_as_far_ahead_as_its_slowest_member_needs() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    // Ben has said nothing of his round trip yet: the default lead.
    let (least, most) = start_lead(&mut host, 0, 0.0).await;
    assert!(least <= 250 && most >= 250, "{least}..{most}");

    host.send(&round_trip_status(30.0)).await;
    say_round_trip_then_pause(&mut host, &mut ben, 600.0, 1).await;
    // Half of Ben's 600 ms, and a margin.
    let (least, most) = start_lead(&mut host, 2, 0.0).await;
    assert!(least <= 380 && most >= 380, "{least}..{most}");

    say_round_trip_then_pause(&mut host, &mut ben, 4.0, 3).await;
    // Everyone close by: the shortest lead, well under the default.
    let (least, most) = start_lead(&mut host, 4, 0.0).await;
    assert!(least <= 120 && most >= 120, "{least}..{most}");
}

#[actix_web::test]
async fn the_host_manages_roles_and_kicks() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;

    ben.send(&RoomClientMessage::Kick { member: cy.member.clone(), ban_minutes: None, bar_address: None }).await;
    assert_eq!(ben.error_code().await, "not_allowed");
    host.send(&RoomClientMessage::SetCohost { member: ben.member.clone(), cohost: true }).await;
    host.send(&RoomClientMessage::SetPolicy { policy: ControlPolicy::Cohosts }).await;
    // Messages from different sockets are not ordered: wait until Ben sees the change.
    ben.until_roster(|r| (r.policy == ControlPolicy::Cohosts).then_some(())).await;
    ben.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } }).await;
    assert_eq!(cy.until(playback).await.seq, 1, "a co-host controls under the co-hosts policy");
    cy.send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Pause { position_ms: 0.0 } }).await;
    assert_eq!(cy.error_code().await, "not_allowed");

    host.send(&RoomClientMessage::HandOver { member: ben.member.clone() }).await;
    let ben_hosts = |r: &Roster| r.named("Ben").is_some_and(|m| m.role == Role::Host).then(|| r.clone());
    let roles = cy.until_roster(ben_hosts).await;
    assert_eq!(roles.named("Ana").map(|m| m.role), Some(Role::Cohost));

    let cy_id = cy.member.clone();
    ben.until_roster(ben_hosts).await;
    ben.send(&RoomClientMessage::Kick { member: cy_id.clone(), ban_minutes: None, bar_address: None }).await;
    assert_eq!(cy.error_code().await, "kicked");
    assert!(matches!(cy.next(Duration::from_secs(5)).await, Err(Ending::Closed(_))));
    host.until(|m| {
        matches!(&m, RoomServerMessage::Chat { message } if message.text == "Cy was removed by Ben").then_some(())
    })
    .await;
    let left = host.until_roster(|r| (!r.members.contains_key(&cy_id)).then(|| r.clone())).await;
    let mut names: Vec<&str> = left.members.values().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ana", "Ben"]);
}

#[actix_web::test]
async fn chat_reaches_everyone_and_newcomers_get_the_last_100() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut guest, _) = RoomClient::join(&app, &room, "Ben", None).await;
    host.send(&RoomClientMessage::Chat { text: "  hello  ".into(), nonce: None }).await;
    let said = guest
        .until(|m| match m {
            RoomServerMessage::Chat { message } if message.kind == ChatKind::User => Some(message),
            _ => None,
        })
        .await;
    assert_eq!((said.name.as_str(), said.text.as_str()), ("Ana", "hello"));

    host.send(&RoomClientMessage::Chat { text: "x".repeat(MAX_CHAT_CHARS + 1), nonce: None }).await;
    assert_eq!(host.error_code().await, "invalid_chat");

    // 130 more messages, paced under the chat rate limit.
    for i in 0..130 {
        host.send(&RoomClientMessage::Chat { text: format!("message {i}"), nonce: None }).await;
        if i % 15 == 14 {
            actix_web::rt::time::sleep(Duration::from_millis(1_600)).await;
        }
    }
    host.send(&RoomClientMessage::Chat { text: "last".into(), nonce: None }).await;
    guest.until(|m| matches!(&m, RoomServerMessage::Chat { message } if message.text == "last").then_some(())).await;
    let (_, welcome) = RoomClient::join(&app, &room, "Cy", None).await;
    let RoomServerMessage::Welcome { chat, .. } = welcome else { unreachable!() };
    assert_eq!(chat.len(), CHAT_HISTORY);
    assert_eq!(chat.last().map(|m| m.text.as_str()), Some("last"));
    assert!(chat.windows(2).all(|w| w[0].id + 1 == w[1].id), "consecutive, oldest first");
}

#[actix_web::test]
async fn chat_floods_are_refused_and_pings_carry_the_server_clock() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    for i in 0..25 {
        host.send(&RoomClientMessage::Chat { text: format!("spam {i}"), nonce: None }).await;
    }
    assert_eq!(host.error_code().await, "rate_limited");
    host.send(&RoomClientMessage::Ping { t: 42.5 }).await;
    let (t, server_ms) = host
        .until(|m| match m {
            RoomServerMessage::Pong { t, server_ms } => Some((t, server_ms)),
            _ => None,
        })
        .await;
    assert_eq!(t, 42.5);
    assert!((server_ms - cinemesh_common::db::now_ms()).abs() < 1_000);
}

/// Waits until the room's chat rows reached the database (they are written in the background).
async fn chat_rows_eventually(app: &TestApp, room: &str, count: i64) {
    let db = app.database().await;
    for _ in 0..50 {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM room_chat WHERE room_id = $1")
            .bind(room)
            .fetch_one(db.pool())
            .await
            .unwrap();
        if rows >= count {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chat rows of {room} never reached {count}");
}

#[actix_web::test]
async fn rooms_chat_and_playback_survive_a_restart() {
    let (app, room) = app_with_room(Some("popcorn")).await;
    let (mut host, host_welcome) = RoomClient::join(&app, &room, "Ana", Some("popcorn")).await;
    let (host_id, host_token) = (host.member.clone(), resume_token(&host_welcome));
    host.send(&RoomClientMessage::SetPolicy { policy: ControlPolicy::Everyone }).await;
    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 60_000.0 } })
        .await;
    host.until(playback).await;
    host.send(&RoomClientMessage::Chat { text: "see you after the restart".into(), nonce: None }).await;
    host.until(|m| matches!(&m, RoomServerMessage::Chat { message } if message.kind == ChatKind::User).then_some(()))
        .await;
    // joined, played, the message.
    chat_rows_eventually(&app, &room, 3).await;
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    // Gone before the restart (a graceful stop waits for open sockets): the room pauses, and that is saved.
    drop(host);
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    let again = app.restart().await;
    let (status, summary) = again.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!((status, summary["has_password"].as_bool()), (200, Some(true)));
    let mut socket = RoomClient::connect(&again, &room).await;
    socket
        .send(&RoomClientMessage::Hello {
            version: 1,
            name: "Ben".into(),
            password: Some("wrong".into()),
            resume: None,
        })
        .await;
    let refused: RoomServerMessage = socket.next(Duration::from_secs(5)).await.unwrap();
    assert!(
        matches!(refused, RoomServerMessage::Error { code, .. } if code == "wrong_password"),
        "the password survives"
    );

    let (mut ben, welcome) = RoomClient::join(&again, &room, "Ben", Some("popcorn")).await;
    let RoomServerMessage::Welcome { chat, policy, playback, members, .. } = welcome else { unreachable!() };
    assert_eq!(policy, ControlPolicy::Everyone);
    assert_eq!(
        chat.iter().filter(|m| m.kind == ChatKind::User).map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["see you after the restart"]
    );
    assert!(!playback.playing, "nobody was there: the room waits");
    assert!(playback.position_ms > 60_200.0 && playback.position_ms < 63_000.0, "{playback:?}");
    let ana = members.iter().find(|m| m.id == host_id).expect("Ana's seat is kept across the restart");
    assert_eq!((ana.role, ana.online), (Role::Host, false), "offline, still the host");
    assert_eq!(members.iter().find(|m| m.name == "Ben").map(|m| m.role), Some(Role::Member));

    // Ana's page comes back with her token: the same seat, no join notice.
    let (_, welcome) = RoomClient::resume(&again, &room, &host_token).await;
    let RoomServerMessage::Welcome { member, .. } = welcome else { unreachable!() };
    assert_eq!(member, host_id);
    ben.until_roster(|r| r.members.get(&host_id).is_some_and(|m| m.online && m.role == Role::Host).then_some(())).await;
    ben.send(&RoomClientMessage::Chat { text: "hi again".into(), nonce: None }).await;
    let mut notices = Vec::new();
    loop {
        match ben.next(Duration::from_secs(5)).await.unwrap() {
            RoomServerMessage::Chat { message } if message.text == "hi again" => break,
            RoomServerMessage::Chat { message } => notices.push(message.text),
            _ => {}
        }
    }
    assert!(notices.is_empty(), "no join notice for a resumed seat: {notices:?}");
}

#[actix_web::test]
async fn a_room_with_nobody_online_stops_playing() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } }).await;
    host.until(playback).await;
    actix_web::rt::time::sleep(Duration::from_millis(1_000)).await;
    drop(host);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let (_, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let RoomServerMessage::Welcome { playback, .. } = welcome else { unreachable!() };
    assert!(!playback.playing);
    assert!(playback.position_ms > 600.0 && playback.position_ms < 2_000.0, "paused where it had got to: {playback:?}");
}

#[actix_web::test]
async fn a_room_nobody_is_in_leaves_memory_and_its_link_brings_it_back() {
    let (app, room) = app_with_room_and(None, |c| c.rooms.empty_grace_secs = 1).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    ana.send(&RoomClientMessage::Chat { text: "remember me".into(), nonce: None }).await;
    ana.until(|m| matches!(&m, RoomServerMessage::Chat { message } if message.text == "remember me").then_some(()))
        .await;
    ana.send(&RoomClientMessage::Leave).await;
    assert_eq!(app.running_rooms(), 1);
    let mut waited = Duration::ZERO;
    while app.running_rooms() > 0 {
        assert!(waited < Duration::from_secs(5), "the empty room stayed in memory");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert!(waited >= Duration::from_millis(500), "not before its grace: {waited:?}");

    let (ben, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let RoomServerMessage::Welcome { chat, .. } = welcome else { unreachable!() };
    assert!(chat.iter().any(|m| m.text == "remember me"), "brought back with its chat");
    assert_eq!(ben.roster.named("Ben").map(|m| m.role), Some(Role::Host), "the first one back hosts");
    assert_eq!(app.running_rooms(), 1);
}

/// A `sharing` message from a member whose player shares, with what it says of itself.
fn sharing(
    upload_cap: Option<f64>,
    unreachable_peers: Option<u32>,
    peer: Option<&str>,
    audio: Option<&str>,
) -> RoomClientMessage {
    RoomClientMessage::Sharing {
        shares: true,
        upload_cap,
        unreachable_peers,
        peer: peer.map(str::to_owned),
        audio: audio.map(str::to_owned),
    }
}

/// A fetch plan's slots and fetchers' tracker ids.
fn plan_of(message: RoomServerMessage) -> Option<(Vec<String>, Vec<String>)> {
    match message {
        RoomServerMessage::FetchPlan { slots, fetchers, .. } => Some((slots, fetchers)),
        _ => None,
    }
}

fn fetch_plan(message: RoomServerMessage) -> Option<Vec<String>> {
    plan_of(message).map(|(slots, _)| slots)
}

#[actix_web::test]
async fn members_who_share_split_the_fetching_by_upload_cap() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    let (a, b) = (ana.member.clone(), ben.member.clone());

    ana.send(&sharing(None, None, None, None)).await;
    assert_eq!(ana.until(fetch_plan).await, std::slice::from_ref(&a));
    ben.send(&sharing(Some(1e6), None, None, None)).await;
    let slots = cy.until(|m| fetch_plan(m).filter(|s| s.len() > 1)).await;
    assert_eq!(slots.len(), 5, "4 slots for an uncapped member, 1 for a 1 MB/s cap: {slots:?}");
    assert_eq!(slots.iter().filter(|s| **s == b).count(), 1);
    cy.send(&sharing(None, Some(2), None, None)).await;
    assert_eq!(cy.until(fetch_plan).await, slots, "a member whose player could not link to two peers fetches nothing");
    cy.send(&RoomClientMessage::Sharing {
        shares: false,
        upload_cap: None,
        unreachable_peers: None,
        peer: None,
        audio: None,
    })
    .await;
    assert_eq!(cy.until(fetch_plan).await, slots, "a member who does not share gets the plan, without a slot");

    drop(ben);
    assert_eq!(
        ana.until(|m| fetch_plan(m).filter(|s| s.len() == 1)).await,
        [a],
        "a member who drops gives up its slots"
    );
}

/// The fetchers' tracker ids, sorted: their order follows the slots, whose order follows member ids.
fn fetchers(message: RoomServerMessage) -> Option<Vec<String>> {
    plan_of(message).map(|(_, mut fetchers)| {
        fetchers.sort();
        fetchers
    })
}

#[actix_web::test]
async fn the_plan_names_the_fetchers_tracker_ids_so_that_the_others_link_to_them_early() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;

    // Before its tracker session is up a player shares without an id: a slot, but no one to link to.
    ana.send(&sharing(None, Some(0), None, None)).await;
    assert_eq!(cy.until(fetchers).await, Vec::<String>::new());
    ana.send(&sharing(None, Some(0), Some("ana-peer"), None)).await;
    assert_eq!(
        cy.until(|m| fetchers(m).filter(|f| !f.is_empty())).await,
        ["ana-peer"],
        "the id came: the plan goes out again"
    );
    ben.send(&sharing(None, Some(0), Some("ben-peer"), None)).await;
    assert_eq!(cy.until(|m| fetchers(m).filter(|f| f.len() == 2)).await, ["ana-peer", "ben-peer"]);
    // Cy could not link to two peers: it does not fetch, so nobody needs a link to it first.
    cy.send(&sharing(None, Some(2), Some("cy-peer"), None)).await;
    assert_eq!(cy.until(fetchers).await, ["ana-peer", "ben-peer"]);
    drop(ben);
    assert_eq!(
        ana.until(|m| fetchers(m).filter(|f| f.len() == 1)).await,
        ["ana-peer"],
        "a member who leaves is no fetcher"
    );
}

#[actix_web::test]
async fn members_who_play_the_same_audio_rendition_share_its_fetching() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    let audio_plans = |m: RoomServerMessage| match m {
        RoomServerMessage::FetchPlan { slots, audio, .. } if slots.len() == 3 => Some(audio),
        _ => None,
    };
    ana.send(&sharing(None, None, Some("ana-peer"), Some("audio-en"))).await;
    ben.send(&sharing(None, None, Some("ben-peer"), Some("audio-fr"))).await;
    cy.send(&sharing(None, None, Some("cy-peer"), Some("audio-en"))).await;
    let plans = ben.until(audio_plans).await;
    assert_eq!(plans.keys().collect::<Vec<_>>(), ["audio-en"], "Ben alone plays French: no plan for it");
    let english = &plans["audio-en"];
    let mut slots = english.slots.clone();
    slots.sort();
    let mut listeners = vec![ana.member.clone(), cy.member.clone()];
    listeners.sort();
    assert_eq!(slots, listeners, "the English listeners take turns");
    let mut fetchers = english.fetchers.clone();
    fetchers.sort();
    assert_eq!(fetchers, ["ana-peer", "cy-peer"]);

    // Ben turns to English: the plan takes him in.
    ben.send(&sharing(None, None, Some("ben-peer"), Some("audio-en"))).await;
    let plans = ana.until(|m| audio_plans(m).filter(|p| p.get("audio-en").is_some_and(|e| e.slots.len() == 3))).await;
    assert!(plans["audio-en"].slots.contains(&ben.member), "{plans:?}");
    // Cy leaves: two English listeners are left.
    drop(cy);
    let plans = ana
        .until(|m| match m {
            RoomServerMessage::FetchPlan { slots, audio, .. } if slots.len() == 2 => Some(audio),
            _ => None,
        })
        .await;
    assert_eq!(plans["audio-en"].slots.len(), 2, "{plans:?}");
}

#[actix_web::test]
async fn the_room_measures_its_origin_from_everyone_s_fetches() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64;
    // Both fetched 300 kB in the same two seconds: each saw 150 kB/s, the origin served 300 kB/s.
    let fetch = OriginFetch { start_ms: now - 3_000.0, end_ms: now - 1_000.0, bytes: 300_000.0, segment: None };
    for member in [&mut ana, &mut ben] {
        member
            .send(&RoomClientMessage::Status {
                buffering: false,
                offset_ms: None,
                shared_bytes: None,
                origin_fetches: Some(vec![fetch.clone()]),
                ahead_secs: None,
                top_level: None,
                movie: None,
                rtt_ms: None,
            })
            .await;
    }
    let origin = |m: RoomServerMessage| match m {
        RoomServerMessage::Health { origin_bytes_per_sec: Some(rate), .. } if rate > 150_000.0 => Some(rate),
        _ => None,
    };
    assert_eq!(ana.until(origin).await, 300_000.0);
    assert_eq!(ben.until(origin).await, 300_000.0, "everyone hears it");
}

#[actix_web::test]
async fn rooms_are_measured_for_operators() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut guest, _) = RoomClient::join(&app, &room, "Ben", None).await;
    guest.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } }).await;
    assert_eq!(guest.error_code().await, "not_allowed");
    guest.send(&status(false, Some(-12.0))).await;
    host.send(&status(false, Some(30.0))).await;
    host.send(&RoomClientMessage::Ping { t: 1.0 }).await;
    host.until(|m| matches!(m, RoomServerMessage::Pong { .. }).then_some(())).await;
    // The online gauge is brought up to date on the room's next tick.
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;

    assert_eq!(app.metric("cinemesh_rooms").await, 1.0);
    assert_eq!(app.metric("cinemesh_room_members_online").await, 2.0);
    assert_eq!(app.metric(r#"cinemesh_connections{kind="room"}"#).await, 2.0);
    assert_eq!(app.metric(r#"cinemesh_refusals_total{code="not_allowed"}"#).await, 1.0);
    assert_eq!(app.metric("cinemesh_sync_error_ms_count").await, 2.0);
    assert_eq!(app.metric("cinemesh_sync_error_ms_sum").await, 42.0);
    drop(guest);
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.metric(r#"cinemesh_connections{kind="room"}"#).await, 1.0);
    assert_eq!(app.metric("cinemesh_room_members_online").await, 1.0);
}

fn resume_token(welcome: &RoomServerMessage) -> String {
    match welcome {
        RoomServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        other => panic!("expected welcome, got {other:?}"),
    }
}

fn system_lines(message: RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } if message.kind == ChatKind::System => Some(message.text),
        _ => None,
    }
}

#[actix_web::test]
async fn a_dropped_member_resumes_its_seat_with_the_chat_it_missed_and_no_noise() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (ben, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let token = resume_token(&welcome);
    let ben_id = ben.member.clone();
    host.set_cohost_and_wait(&ben_id).await;
    drop(ben);
    let away = host.until_roster(|r| r.members.get(&ben_id).filter(|m| !m.online).cloned()).await;
    assert_eq!(away.role, Role::Cohost, "the seat is kept, role and all");
    host.send(&RoomClientMessage::Chat { text: "while you were away".into(), nonce: None }).await;
    host.until(|m| {
        matches!(&m, RoomServerMessage::Chat { message } if message.text == "while you were away").then_some(())
    })
    .await;

    let (_, welcome) = RoomClient::resume(&app, &room, &token).await;
    let RoomServerMessage::Welcome { member, chat, members, resume_token: again, .. } = welcome else { unreachable!() };
    assert_eq!(member, ben_id, "the same member");
    assert_eq!(again, token);
    assert!(chat.iter().any(|m| m.text == "while you were away"), "the chat it missed");
    assert!(members.iter().all(|m| m.online));
    host.send(&RoomClientMessage::Chat { text: "welcome back".into(), nonce: None }).await;
    let mut notices = Vec::new();
    loop {
        match host.next(Duration::from_secs(5)).await.unwrap() {
            RoomServerMessage::Chat { message } if message.text == "welcome back" => break,
            RoomServerMessage::Chat { message } if message.kind == ChatKind::System => notices.push(message.text),
            _ => {}
        }
    }
    assert!(notices.is_empty(), "no leave or join notices: {notices:?}");
}

#[actix_web::test]
async fn a_seat_is_given_up_after_the_grace_period_or_on_leave() {
    let (app, room) = app_with_room_and(None, |c| c.rooms.resume_grace_secs = 1).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (ben, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let token = resume_token(&welcome);
    drop(ben);
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t == "Ben left")).await, "Ben left");
    let mut socket = RoomClient::connect(&app, &room).await;
    socket.send(&RoomClientMessage::Hello { version: 1, name: "".into(), password: None, resume: Some(token) }).await;
    let refused: RoomServerMessage = socket.next(Duration::from_secs(5)).await.unwrap();
    assert!(
        matches!(refused, RoomServerMessage::Error { code, .. } if code == "invalid_name"),
        "an expired token is a plain hello"
    );

    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    cy.send(&RoomClientMessage::Leave).await;
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t == "Cy left")).await, "Cy left");
}

/// The room's next two states as `client` sees them: held for a member, then
/// going on without it within the bounded wait (1 s here, checked on ticks of 1 s).
async fn held_then_going_on(client: &mut RoomClient) -> PlaybackState {
    assert!(!client.until(playback).await.playing);
    let waited_from = std::time::Instant::now();
    let going_on = client.until(playback).await;
    assert!(going_on.playing, "the room goes on without the member");
    assert!(waited_from.elapsed() < Duration::from_millis(2_500), "waited at most the bounded time");
    going_on
}

#[actix_web::test]
async fn the_room_waits_for_a_member_that_ran_dry_but_not_for_long() {
    let (app, room) = app_with_room_and(None, |c| c.rooms.buffer_wait_secs = 1).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } }).await;
    ben.until(playback).await;
    host.until(playback).await;
    // Reports right after a change are the change itself (everyone loads), not a member falling behind.
    ben.send(&status(true, None)).await;
    ben.send(&status(false, Some(12.0))).await;
    actix_web::rt::time::sleep(Duration::from_millis(2_000)).await;

    ben.send(&status(true, None)).await;
    let held = host.until(playback).await;
    assert!(!held.playing && held.position_ms > 1_000.0, "{held:?}");
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t.starts_with("Waiting"))).await, "Waiting for Ben");
    ben.send(&status(false, Some(-8.0))).await;
    let resumed = host.until(playback).await;
    assert!(resumed.playing && resumed.position_ms == held.position_ms && resumed.seq == held.seq + 1);
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t.starts_with("Everyone"))).await, "Everyone is ready");
    let health = host
        .until(|m| match m {
            RoomServerMessage::Health { members, .. } => members.into_iter().find(|h| h.offset_ms == Some(-8.0)),
            _ => None,
        })
        .await;
    assert!(!health.buffering);

    actix_web::rt::time::sleep(Duration::from_millis(2_000)).await;
    ben.send(&status(true, None)).await;
    held_then_going_on(&mut host).await;
    assert_eq!(
        host.until(|m| system_lines(m).filter(|t| t.starts_with("Going on"))).await,
        "Going on; Ben will catch up"
    );
    ben.send(&status(true, None)).await;
    host.send(&RoomClientMessage::Chat { text: "still playing?".into(), nonce: None }).await;
    let mut held_again = false;
    loop {
        match host.next(Duration::from_secs(5)).await.unwrap() {
            RoomServerMessage::Chat { message } if message.text == "still playing?" => break,
            RoomServerMessage::Playback { .. } => held_again = true,
            _ => {}
        }
    }
    assert!(!held_again, "a member catching up does not hold the room again");
}

#[actix_web::test]
async fn a_start_waits_for_members_not_ready_to_play_there() {
    let (app, room) = app_with_room_and(None, |c| c.rooms.buffer_wait_secs = 1).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    let loading = status(true, None);
    let loaded = status(false, None);
    // Ben's player is still loading the first segment when Ana presses play.
    let ben_id = ben.member.clone();
    let ben_loading = move |m: RoomServerMessage| match m {
        RoomServerMessage::Health { members, .. } => {
            members.iter().any(|h| h.id == ben_id && h.buffering).then_some(())
        }
        _ => None,
    };
    ben.send(&loading).await;
    cy.send(&loaded).await;
    host.until(&ben_loading).await;
    host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 12_000.0 } })
        .await;
    let held = cy.until(playback).await;
    assert!(!held.playing && held.position_ms == 12_000.0, "nobody starts before Ben can: {held:?}");
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t.starts_with("Waiting"))).await, "Waiting for Ben");
    cy.send(&loading).await;
    cy.send(&loaded).await;
    ben.send(&loaded).await;
    let started = cy.until(playback).await;
    assert!(started.playing && started.position_ms == 12_000.0 && started.seq == held.seq + 1, "{started:?}");
    assert_eq!(host.until(|m| system_lines(m).filter(|t| t.starts_with("Everyone"))).await, "Everyone is ready");

    // A member still loading after a pause and a seek holds the next start for at most the bounded wait.
    host.send(&RoomClientMessage::Control {
        based_on: started.seq,
        command: PlaybackCommand::Pause { position_ms: 20_000.0 },
    })
    .await;
    let paused = cy.until(playback).await;
    ben.send(&loading).await;
    host.until(&ben_loading).await;
    host.send(&RoomClientMessage::Control {
        based_on: paused.seq,
        command: PlaybackCommand::Play { position_ms: 20_000.0 },
    })
    .await;
    let going_on = held_then_going_on(&mut cy).await;
    assert_eq!(going_on.position_ms, 20_000.0, "{going_on:?}");
    assert_eq!(
        host.until(|m| system_lines(m).filter(|t| t.starts_with("Going on"))).await,
        "Going on; Ben will catch up"
    );
}

/// A sharing player's status: its buffer ahead, and 2 the highest rendition it shows.
fn buffer_status(ahead_secs: f64) -> RoomClientMessage {
    RoomClientMessage::Status {
        buffering: false,
        offset_ms: Some(3.0),
        shared_bytes: None,
        origin_fetches: None,
        ahead_secs: Some(ahead_secs),
        top_level: Some(2),
        movie: None,
        rtt_ms: None,
    }
}

/// Both members report their buffers every half second until the room's rendition is `wanted` (or 40 s went by).
async fn report_until_rendition(
    ana: &mut RoomClient,
    ben: &mut RoomClient,
    ahead: (f64, f64),
    wanted: u32,
) -> Duration {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(40) {
        ana.send(&buffer_status(ahead.0)).await;
        ben.send(&buffer_status(ahead.1)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Ok(message)) = tokio::time::timeout_at(deadline, ben.next(Duration::from_secs(1))).await {
            match message {
                RoomServerMessage::Rendition { level } if level == wanted => return started.elapsed(),
                RoomServerMessage::Rendition { level } => panic!("went to {level}, not {wanted}"),
                _ => {}
            }
        }
    }
    panic!("the room never went to rendition {wanted}");
}

#[actix_web::test]
async fn the_room_climbs_renditions_while_buffers_stay_full_and_steps_down_when_one_runs_low() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    for member in [&mut ana, &mut ben] {
        member.send(&sharing(None, None, None, None)).await;
        member.until(|m| matches!(m, RoomServerMessage::Rendition { level: 0 }).then_some(())).await;
    }
    // Full buffers while paused say nothing about playing.
    for _ in 0..4 {
        ana.send(&buffer_status(15.0)).await;
        ben.send(&buffer_status(15.0)).await;
        assert!(!matches!(ben.next(Duration::from_millis(500)).await, Ok(RoomServerMessage::Rendition { .. })));
    }
    ana.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } }).await;
    let took = report_until_rendition(&mut ana, &mut ben, (15.0, 14.0), 1).await;
    assert!(took >= Duration::from_secs(5), "the buffers must stay full for a while first: {took:?}");
    // Ben's buffer drains at the new rendition: down again as soon as a step may follow the last (4 s).
    let took = report_until_rendition(&mut ana, &mut ben, (15.0, 3.0), 0).await;
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[actix_web::test]
async fn reactions_toggle_and_typing_reaches_the_others() {
    let (app, room) = app_with_room(None).await;
    let (mut host, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    host.send(&RoomClientMessage::Chat { text: "popcorn?".into(), nonce: None }).await;
    let said = ben
        .until(|m| match m {
            RoomServerMessage::Chat { message } if message.kind == ChatKind::User => Some(message),
            _ => None,
        })
        .await;
    let reactions_of = |m: RoomServerMessage| match m {
        RoomServerMessage::Reactions { message, reactions } if message == said.id => Some(reactions),
        _ => None,
    };
    ben.send(&RoomClientMessage::React { message: said.id, emoji: "🍿".into() }).await;
    let after_one = host.until(reactions_of).await;
    assert_eq!((after_one[0].emoji.as_str(), after_one[0].members.clone()), ("🍿", vec![ben.member.clone()]));
    host.send(&RoomClientMessage::React { message: said.id, emoji: "🍿".into() }).await;
    assert_eq!(host.until(reactions_of).await[0].members.len(), 2);
    ben.send(&RoomClientMessage::React { message: said.id, emoji: "🍿".into() }).await;
    assert_eq!(host.until(reactions_of).await[0].members, vec![host.member.clone()], "again takes it back");

    ben.send(&RoomClientMessage::React { message: said.id, emoji: "way too long".into() }).await;
    assert_eq!(ben.error_code().await, "invalid_reaction");
    ben.send(&RoomClientMessage::React { message: 9_999, emoji: "👍".into() }).await;
    assert_eq!(ben.error_code().await, "unknown_message");

    ben.send(&RoomClientMessage::Typing { active: true }).await;
    let typing = host
        .until(|m| match m {
            RoomServerMessage::Typing { member, active } => Some((member, active)),
            _ => None,
        })
        .await;
    assert_eq!(typing, (ben.member.clone(), true));
    // The (welcome) reactions of a newcomer's history.
    let (_, welcome) = RoomClient::join(&app, &room, "Cy", None).await;
    let RoomServerMessage::Welcome { chat, .. } = welcome else { unreachable!() };
    let popcorn = chat.iter().find(|m| m.id == said.id).unwrap();
    assert_eq!(popcorn.reactions.len(), 1);
}

#[actix_web::test]
async fn connections_from_one_address_share_a_chat_budget() {
    let (app, room) = app_with_room(None).await;
    let mut members = Vec::new();
    for name in ["A", "B", "C"] {
        members.push(RoomClient::join(&app, &room, name, None).await.0);
    }
    // Each connection stays within its own burst (20); together they pass the address's (40).
    for (i, member) in members.iter_mut().enumerate() {
        let count = if i < 2 { 20 } else { 10 };
        for n in 0..count {
            member.send(&RoomClientMessage::Chat { text: format!("{i}-{n}"), nonce: None }).await;
        }
    }
    // Which connection is refused depends on arrival order; how many pass does not.
    let mut accepted = 0;
    while let Ok(message) = members[2].next(Duration::from_secs(2)).await {
        if matches!(message, RoomServerMessage::Chat { message } if message.kind == ChatKind::User) {
            accepted += 1;
        }
    }
    assert!((40..=42).contains(&accepted), "the address's burst of 40 (and a little refill), not 50: {accepted}");
}
