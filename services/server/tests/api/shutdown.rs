//! A SIGTERM during a party: the `cinemesh` process that is the room's home
//! is stopped while members on it and on another instance chat. It tells
//! every member to reconnect, flushes the room's writes, gives the room up
//! and exits within its bound; the members take their seats back on the
//! other instance with their tokens. Every chat message anyone saw before
//! the stop is in the room's history there, and the messages that were on
//! their way during the stop, sent again with their nonces, end up in it
//! exactly once: none lost, none doubled.
//!
//! The tracker and lobby sockets on the stopping process are closed with a
//! reconnect hint (1012), and the tracker peers' leaving is written before
//! the exit: the other instance stops introducing them at once, not when
//! their directory entries expire, and their sessions are closed in the
//! records.
//!
//! A process that only carries sockets of rooms homed elsewhere (through a
//! proxy, the common case) ends them the same way when it stops, rather than
//! waiting for them until it is killed.
//!
//! Logs never hold a stop up: a server logging into a pipe nobody reads
//! still serves, and still exits promptly on SIGTERM.

use std::time::Duration;

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::lobby::{LOBBY_PROTOCOL_VERSION, LobbyClientMessage, LobbyServerMessage};
use cinemesh_protocol::room::{RoomClientMessage, RoomServerMessage};
use cinemesh_protocol::tracker::{ServerMessage, SwarmKey};
use serde_json::json;

use crate::helpers::{ServerProcess, TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;
use crate::tracker_client::TrackerClient;
use crate::ws_client::{Ending, JsonSocket};

/// WebSocket close code 1012: the service restarts, come back.
const SERVICE_RESTART: u16 = 1012;

fn chat_text(message: &RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } => Some(message.text.clone()),
        _ => None,
    }
}

/// Reads until the socket ends; returns the chat texts seen and the last error code.
async fn drain_until_closed(member: &mut RoomClient, seen: &mut Vec<String>) -> Option<String> {
    let mut code = None;
    loop {
        match member.next(Duration::from_secs(10)).await {
            Ok(RoomServerMessage::Error { code: c, .. }) => code = Some(c),
            Ok(message) => seen.extend(chat_text(&message)),
            Err(Ending::Closed(_)) => return code,
            Err(Ending::Silence) => panic!("the socket stayed open after the stop"),
        }
    }
}

#[actix_web::test]
async fn a_sigterm_loses_no_chat_and_members_resume_on_the_other_instance() {
    let survivor = TestApp::spawn_with(fresh_redis_namespace).await;
    survivor.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let mut stopping = ServerProcess::start(&survivor).await;

    // The room is made on the process that will be stopped: it is the room's home.
    let (status, room) = stopping.address.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();
    let (mut ana, ana_welcome) = RoomClient::join(&stopping.address, &room, "Ana", None).await;
    let (mut ben, ben_welcome) = RoomClient::join(&survivor, &room, "Ben", None).await;
    let token = |welcome: &RoomServerMessage| match welcome {
        RoomServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        _ => unreachable!(),
    };

    let chat = |who: &str, i: usize| RoomClientMessage::Chat {
        text: format!("{who} {i}"),
        nonce: Some(format!("{who}-nonce-{i}")),
    };
    for i in 0..10 {
        ana.send(&chat("ana", i)).await;
        ben.send(&chat("ben", i)).await;
    }
    ben.until(|m| chat_text(&m).filter(|t| t == "ben 9")).await;
    // More on their way as the stop comes.
    for i in 10..15 {
        ana.try_send(&chat("ana", i)).await;
        ben.try_send(&chat("ben", i)).await;
    }
    let (took, clean) = stopping.terminate().await;
    assert!(clean, "a clean exit");
    assert!(took < Duration::from_secs(10), "the stop is bounded: {took:?}");
    let mut seen = Vec::new();
    assert_eq!(drain_until_closed(&mut ana, &mut seen).await.as_deref(), Some("room_moved"));
    assert_eq!(drain_until_closed(&mut ben, &mut seen).await.as_deref(), Some("room_moved"));

    let (mut ana, welcome) = RoomClient::resume(&survivor, &room, &token(&ana_welcome)).await;
    let RoomServerMessage::Welcome { chat: history, member, .. } = welcome else { unreachable!() };
    assert_eq!(member, ana.member, "Ana has her seat back on the other instance");
    let history: Vec<String> = history.iter().map(|m| m.text.clone()).collect();
    for text in &seen {
        assert!(history.contains(text), "{text:?} was seen before the stop and is in the history: {history:?}");
    }
    let (mut ben, _) = RoomClient::resume(&survivor, &room, &token(&ben_welcome)).await;
    // What the pages had sent near the stop goes again, with the same nonces,
    // as the web client does for messages it never saw come back.
    for i in 10..15 {
        ana.send(&chat("ana", i)).await;
        ben.send(&chat("ben", i)).await;
    }
    ana.send(&RoomClientMessage::Chat { text: "after the move".into(), nonce: None }).await;
    ben.until(|m| chat_text(&m).filter(|t| t == "after the move")).await;
    let (_, welcome) = RoomClient::join(&survivor, &room, "Cy", None).await;
    let RoomServerMessage::Welcome { chat: history, .. } = welcome else { unreachable!() };
    for who in ["ana", "ben"] {
        for i in 0..15 {
            let text = format!("{who} {i}");
            let copies = history.iter().filter(|m| m.text == text).count();
            assert_eq!(copies, 1, "{text:?} is in the history exactly once");
        }
    }
}

#[actix_web::test]
async fn a_sigterm_also_ends_the_sockets_of_rooms_homed_on_another_instance() {
    let survivor = TestApp::spawn_with(fresh_redis_namespace).await;
    survivor.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let mut stopping = ServerProcess::start(&survivor).await;

    // The room is made on the survivor: the stopping process only carries Ana's socket.
    let (status, room) = survivor.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();
    let (mut ana, ana_welcome) = RoomClient::join(&stopping.address, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&survivor, &room, "Ben", None).await;
    ana.send(&RoomClientMessage::Chat { text: "before the stop".into(), nonce: None }).await;
    ben.until(|m| chat_text(&m).filter(|t| t == "before the stop")).await;

    let (took, clean) = stopping.terminate().await;
    assert!(clean, "a clean exit, not a kill");
    assert!(took < Duration::from_secs(10), "no wait for a socket nobody closes: {took:?}");
    let mut seen = Vec::new();
    assert_eq!(drain_until_closed(&mut ana, &mut seen).await.as_deref(), Some("room_moved"));
    assert_eq!(ana.close_code(), Some(SERVICE_RESTART), "a reconnect hint, not a policy close");

    let RoomServerMessage::Welcome { resume_token, .. } = ana_welcome else { unreachable!() };
    let (mut ana, welcome) = RoomClient::resume(&survivor, &room, &resume_token).await;
    let RoomServerMessage::Welcome { member, .. } = welcome else { unreachable!() };
    assert_eq!(member, ana.member, "Ana has her seat back on the room's home");
    ana.send(&RoomClientMessage::Chat { text: "after the stop".into(), nonce: None }).await;
    ben.until(|m| chat_text(&m).filter(|t| t == "after the stop")).await;
}

#[actix_web::test]
async fn a_sigterm_closes_tracker_and_lobby_sockets_with_a_reconnect_hint_and_writes_the_peers_leaving() {
    // One swarm-token secret for both instances, as a deployment sets it.
    let survivor = TestApp::spawn_with(|c| {
        fresh_redis_namespace(c);
        c.tracker.secret = "shared-secret".into();
    })
    .await;
    survivor.seed_movie_with_segments("movie1", "Movie One", "", 1, 100).await;
    let (_, detail) = survivor.get_json("/api/movies/movie1").await;
    let token = detail["tracker"]["token"].as_str().unwrap().to_owned();
    let mut stopping = ServerProcess::start(&survivor).await;

    let swarm = SwarmKey { movie: "movie1".into(), rendition: "720p".into() };
    let (mut leaving, leaving_id) = TrackerClient::greeted(&stopping.address).await;
    leaving.join(&swarm, &token, SegmentRanges::from_sequences(0..=9)).await;
    let (mut staying, _) = TrackerClient::greeted(&survivor).await;
    staying.join(&swarm, &token, SegmentRanges::default()).await;
    let holders = staying.holders_until(&swarm, 0, 10, |h| !h.is_empty()).await;
    assert_eq!(holders.len(), 1, "the peer on the other instance is introduced");
    let mut lobby = JsonSocket::connect(&stopping.address, "/api/lobby/socket").await;
    lobby.send(&LobbyClientMessage::Hello { version: LOBBY_PROTOCOL_VERSION, name: "Ana".into(), resume: None }).await;
    let welcome: LobbyServerMessage = lobby.next(Duration::from_secs(5)).await.expect("welcome");
    assert!(matches!(welcome, LobbyServerMessage::Welcome { .. }), "{welcome:?}");

    let (took, clean) = stopping.terminate().await;
    assert!(clean, "a clean exit");
    assert!(took < Duration::from_secs(10), "the stop is bounded: {took:?}");

    assert_eq!(
        leaving.next(Duration::from_secs(5)).await,
        Ok(ServerMessage::Error {
            code: "shutting_down".into(),
            message: "this server is stopping; connect again".into()
        })
    );
    assert_eq!(leaving.next(Duration::from_secs(5)).await, Err(Ending::Closed(Some("shutting_down".into()))));
    assert_eq!(leaving.close_code(), Some(SERVICE_RESTART));
    let lobby_ending = loop {
        match lobby.next::<LobbyServerMessage>(Duration::from_secs(5)).await {
            Ok(_) => continue,
            Err(ending) => break ending,
        }
    };
    assert_eq!(lobby_ending, Ending::Closed(Some("shutting_down".into())));
    assert_eq!(lobby.close_code, Some(SERVICE_RESTART));

    // Written before the exit: read once, no waiting.
    let db = survivor.database().await;
    let left: Option<i64> = sqlx::query_scalar("SELECT left_at_ms FROM peer_sessions WHERE peer_id = $1")
        .bind(&leaving_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(left.is_some(), "the session is closed in the records");
    db.close().await;
    // The directory entry was deleted, not left to expire (45 s here): the
    // other instance drops the peer on its next read of the directory.
    let holders = staying.holders_until(&swarm, 0, 10, |h| h.is_empty()).await;
    assert!(holders.is_empty(), "the stopped instance's peer is no longer introduced: {holders:?}");
}

#[actix_web::test]
async fn a_sigterm_is_obeyed_promptly_though_nobody_reads_the_logs() {
    let app = TestApp::spawn().await;
    app.seed_movie("movie1", "Movie One", "", 1).await;
    // Every query logged at debug, into a pipe nobody reads: it fills within a few hundred requests.
    let server = ServerProcess::start_with_unread_logs(&app, "debug,sqlx=debug").await;
    let mut server = server;
    for _ in 0..1_500 {
        let (status, _) = server.address.get_json("/api/movies/movie1").await;
        assert_eq!(status, 200);
    }
    let (took, clean) = server.terminate().await;
    assert!(clean, "exits cleanly");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[actix_web::test]
async fn logs_without_a_terminal_are_plain_text() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    // A container's stdout and stderr are no terminal, as this file is not.
    let mut server = ServerProcess::start_logging_to(&app.config, &log).await;
    let (status, _) = server.address.get_json("/api/movies").await;
    assert_eq!(status, 200);
    let (_, clean) = server.terminate().await;
    assert!(clean);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 2, "the server logged its start and stop: {text:?}");
    assert!(!text.contains('\u{1b}'), "no colour codes in a log file: {text:?}");
}
