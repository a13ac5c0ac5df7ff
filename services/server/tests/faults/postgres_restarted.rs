//! The database stopped (`pg_ctl stop -m immediate`, as a crash) under a
//! chatting room, on the test's own Postgres cluster, then started again.
//!
//! While it is down: chat, a newcomer's join and playback changes work as
//! before (a room never waits for the database), `/readyz` answers 503 and
//! names the database, and the process neither exits nor panics. Once it is
//! back, `/readyz` recovers, and after a restart of the server every chat
//! line sent during the outage is in the room's history exactly once, the
//! newcomer has a seat, and the playback is where the last command left it.

use std::time::Duration;

use cinemesh_protocol::room::{ChatKind, PlaybackCommand, RoomClientMessage, RoomServerMessage};
use serde_json::json;

use crate::helpers::{ServerProcess, assert_log_has_no_panic};
use crate::own_services::{OwnPostgres, Storage, eventually, one_at_a_time};
use crate::room_client::RoomClient;

/// How long the database stays down, at least.
const OUTAGE: Duration = Duration::from_secs(5);

fn chat_text(message: &RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } if message.kind == ChatKind::User => Some(message.text.clone()),
        _ => None,
    }
}

fn playback(message: RoomServerMessage) -> Option<(bool, f64, u64)> {
    match message {
        RoomServerMessage::Playback { state, .. } => Some((state.playing, state.position_ms, state.seq)),
        _ => None,
    }
}

fn token(welcome: &RoomServerMessage) -> String {
    match welcome {
        RoomServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// A server on the test's own Postgres cluster, with one movie and one room.
struct OnOwnPostgres {
    postgres: OwnPostgres,
    storage: Storage,
    log: std::path::PathBuf,
    server: ServerProcess,
    room: String,
}

async fn server_with_a_room_on_own_postgres() -> OnOwnPostgres {
    let postgres = OwnPostgres::start().await;
    let storage = Storage::new(|c| c.storage.database_url = postgres.url().into());
    storage.seed_movie("movie1", 300).await;
    let log = storage.log("server");
    let server = ServerProcess::start_logging_to(&storage.config, &log).await;
    let (status, room) = server.address.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();
    OnOwnPostgres { postgres, storage, log, server, room }
}

#[actix_web::test]
async fn postgres_restarted_mid_party_loses_no_chat() {
    let _one = one_at_a_time().await;
    let OnOwnPostgres { mut postgres, storage, log, mut server, room } = server_with_a_room_on_own_postgres().await;
    let (status, ready) = server.address.get_json("/readyz").await;
    assert_eq!((status, &ready["database"]), (200, &json!("ok")), "{ready}");
    let (mut ana, ana_welcome) = RoomClient::join(&server.address, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&server.address, &room, "Ben", None).await;
    ana.send(&RoomClientMessage::Chat { text: "before".into(), nonce: None }).await;
    ben.until(|m| chat_text(&m).filter(|t| t == "before")).await;

    postgres.stop_immediately();
    let stopped = std::time::Instant::now();
    let address = &server.address;
    let (status, body) = eventually("/readyz reports the database", Duration::from_secs(10), || async move {
        let (status, body) = address.get_json("/readyz").await;
        (status != 200).then_some((status, body))
    })
    .await;
    assert_eq!((status, &body["status"], &body["database"]), (503, &json!("unavailable"), &json!("unavailable")));

    // The party goes on: chat both ways, a newcomer, play, seek and pause.
    let mut sent = Vec::new();
    for i in 0..6 {
        let text = format!("during the outage {i}");
        let (speaker, listener) = if i % 2 == 0 { (&mut ana, &mut ben) } else { (&mut ben, &mut ana) };
        speaker.send(&RoomClientMessage::Chat { text: text.clone(), nonce: Some(format!("nonce-{i}")) }).await;
        assert_eq!(listener.until(|m| chat_text(&m).filter(|t| t == &text)).await, text);
        sent.push(text);
    }
    let (mut cy, _) = RoomClient::join(&server.address, &room, "Cy", None).await;
    cy.send(&RoomClientMessage::Chat { text: "joined while the database was down".into(), nonce: None }).await;
    ana.until(|m| chat_text(&m).filter(|t| t.starts_with("joined while"))).await;
    sent.push("joined while the database was down".into());
    let commands = [
        PlaybackCommand::Play { position_ms: 5_000.0 },
        PlaybackCommand::Seek { position_ms: 42_000.0 },
        PlaybackCommand::Pause { position_ms: 42_000.0 },
    ];
    for (based_on, command) in commands.into_iter().enumerate() {
        ana.send(&RoomClientMessage::Control { based_on: based_on as u64, command }).await;
        let (_, _, seq) = ben.until(playback).await;
        assert_eq!(seq, based_on as u64 + 1, "each command takes effect during the outage");
    }
    assert_eq!(server.address.get_json("/healthz").await.0, 200);
    assert!(server.exit_status().is_none(), "the server runs through the outage");
    actix_web::rt::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;

    postgres.start_again().await;
    let back = std::time::Instant::now();
    let address = &server.address;
    eventually("/readyz recovers", Duration::from_secs(15), || async move {
        let (status, body) = address.get_json("/readyz").await;
        (status == 200 && body["database"] == "ok").then_some(())
    })
    .await;
    println!(
        "the database was down for {:?}; /readyz was ready {} ms after it came back",
        back - stopped,
        back.elapsed().as_millis()
    );

    // A graceful restart flushes what the room still holds; the next process reads it all back.
    let (took, clean) = server.terminate().await;
    assert!(clean && took < Duration::from_secs(10), "a clean, bounded stop: {took:?}");
    let server = ServerProcess::start_logging_to(&storage.config, &log).await;
    let (_, welcome) = RoomClient::resume(&server.address, &room, &token(&ana_welcome)).await;
    let RoomServerMessage::Welcome { member, members, playback, chat, .. } = &welcome else { unreachable!() };
    assert_eq!(member, &ana.member, "Ana's seat survived");
    assert!(members.iter().any(|m| m.name == "Cy"), "the newcomer's seat was written: {members:?}");
    let history: Vec<String> = chat.iter().filter(|m| m.kind == ChatKind::User).map(|m| m.text.clone()).collect();
    for text in &sent {
        let copies = history.iter().filter(|t| *t == text).count();
        assert_eq!(copies, 1, "{text:?} is in the history once: {history:?}");
    }
    assert_eq!((playback.playing, playback.position_ms, playback.seq), (false, 42_000.0, 3), "{playback:?}");
    assert_log_has_no_panic(&log);
}

/// Stopping must not wait on a database that is gone: the writes still queued
/// get what is left of the 5 s stop bound, then the process exits.
#[actix_web::test]
async fn a_server_stopped_while_the_database_is_down_stops_within_its_bound() {
    let _one = one_at_a_time().await;
    let OnOwnPostgres { mut postgres, storage: _storage, log, mut server, room } =
        server_with_a_room_on_own_postgres().await;
    let (mut ana, _) = RoomClient::join(&server.address, &room, "Ana", None).await;

    postgres.stop_immediately();
    for i in 0..3 {
        let text = format!("queued {i}");
        ana.send(&RoomClientMessage::Chat { text: text.clone(), nonce: None }).await;
        ana.until(|m| chat_text(&m).filter(|t| t == &text)).await;
    }
    let (took, clean) = server.terminate().await;
    println!("stopped with the database down in {took:?}");
    assert!(clean, "the stop is clean");
    assert!(took < Duration::from_secs(8), "the stop is bounded, not held by the queued writes: {took:?}");
    assert_log_has_no_panic(&log);
}
