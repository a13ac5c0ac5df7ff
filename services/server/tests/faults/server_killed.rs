//! kill -9 of the server in the middle of a party, then a restart on the same
//! data (SQLite, and Postgres): the room comes back with its password, its
//! playback (paused where it had got to: nobody is online in a room brought
//! back), its seats (names, roles) and its chat history; each member resumes
//! with its token, without the password, as the same member; new chat goes on
//! after the old, and the process never panicked.
//!
//! Room writes go through a background writer, so a SIGKILL loses what is
//! still queued (milliseconds of it): the test waits until the database holds
//! the party before it kills.

use std::time::{Duration, Instant};

use cinemesh_protocol::room::{
    ChatKind, PlaybackCommand, PlaybackState, ROOM_PROTOCOL_VERSION, Role, RoomClientMessage, RoomServerMessage,
};
use serde_json::json;

use crate::helpers::{PostgresDatabase, ServerProcess, assert_log_has_no_panic};
use crate::own_services::{Storage, eventually, one_at_a_time};
use crate::room_client::RoomClient;
use crate::ws_client::Ending;

const PASSWORD: &str = "popcorn";

fn chat_text(message: &RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } if message.kind == ChatKind::User => Some(message.text.clone()),
        _ => None,
    }
}

fn token(welcome: &RoomServerMessage) -> String {
    match welcome {
        RoomServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// What the database holds of the room: user chat lines, seats, playback.
async fn stored(storage: &Storage, room: &str) -> (i64, Vec<(String, String)>, PlaybackState) {
    let db = storage.database().await;
    let chat: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM room_chat WHERE room_id = $1 AND kind = 'user'")
        .bind(room)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let seats: Vec<(String, String)> =
        sqlx::query_as("SELECT name, role FROM room_members WHERE room_id = $1 ORDER BY name")
            .bind(room)
            .fetch_all(db.pool())
            .await
            .unwrap();
    let playback: String =
        sqlx::query_scalar("SELECT playback FROM rooms WHERE id = $1").bind(room).fetch_one(db.pool()).await.unwrap();
    db.close().await;
    (chat, seats, serde_json::from_str(&playback).unwrap())
}

async fn a_killed_server_brings_the_party_back(storage: Storage) {
    storage.seed_movie("movie1", 300).await;
    let log = storage.log("server");
    let mut server = ServerProcess::start_logging_to(&storage.config, &log).await;
    let (status, room) =
        server.address.post_json("/api/rooms", &json!({ "movie_id": "movie1", "password": PASSWORD })).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();

    let (mut ana, ana_welcome) = RoomClient::join(&server.address, &room, "Ana", Some(PASSWORD)).await;
    let (mut ben, ben_welcome) = RoomClient::join(&server.address, &room, "Ben", Some(PASSWORD)).await;
    ana.set_cohost_and_wait(&ben.member).await;
    let lines = ["popcorn is ready", "lights off", "shh, it starts"];
    for (i, text) in lines.iter().enumerate() {
        // One at a time: the room orders what arrives from different sockets by arrival.
        let speaker = if i % 2 == 0 { &mut ana } else { &mut ben };
        speaker.send(&RoomClientMessage::Chat { text: (*text).into(), nonce: Some(format!("n{i}")) }).await;
        for member in [&mut ana, &mut ben] {
            member.until(|m| chat_text(&m).filter(|t| t == text)).await;
        }
    }
    ana.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 10_000.0 } })
        .await;
    let playing = ben
        .until(|m| match m {
            RoomServerMessage::Playback { state, .. } if state.playing => Some(state),
            _ => None,
        })
        .await;
    let played_at = Instant::now();

    let (storage_ref, room_ref) = (&storage, room.as_str());
    let written = eventually("the party is in the database", Duration::from_secs(10), || async move {
        let (chat, seats, playback) = stored(storage_ref, room_ref).await;
        (chat == 3 && seats.len() == 2 && playback.playing).then_some(seats)
    })
    .await;
    assert_eq!(written, [("Ana".to_owned(), "host".to_owned()), ("Ben".to_owned(), "cohost".to_owned())]);

    server.kill().await;
    for member in [&mut ana, &mut ben] {
        let ending = loop {
            match member.next(Duration::from_secs(5)).await {
                Ok(_) => continue,
                Err(ending) => break ending,
            }
        };
        assert!(matches!(ending, Ending::Closed(_)), "a killed server's sockets close: {ending:?}");
    }

    let mut server = ServerProcess::start_logging_to(&storage.config, &log).await;
    let (status, detail) = server.address.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!((status, &detail["has_password"]), (200, &json!(true)), "{detail}");
    // The password came back too: a newcomer without it is refused.
    let mut stranger = RoomClient::connect(&server.address, &room).await;
    stranger
        .send(&RoomClientMessage::Hello {
            version: ROOM_PROTOCOL_VERSION,
            name: "Eve".into(),
            password: None,
            resume: None,
        })
        .await;
    let refused: RoomServerMessage = stranger.next(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(&refused, RoomServerMessage::Error { code, .. } if code == "wrong_password"), "{refused:?}");

    // Ana comes back with her token and no password: her seat, the chat, the playback.
    let (mut ana_again, welcome) = RoomClient::resume(&server.address, &room, &token(&ana_welcome)).await;
    let RoomServerMessage::Welcome { member, members, playback, chat, .. } = &welcome else { unreachable!() };
    assert_eq!(member, &ana.member, "the same member");
    let me = members.iter().find(|m| &m.id == member).unwrap();
    assert_eq!((me.name.as_str(), me.role, me.online), ("Ana", Role::Host, true));
    let ben_seat = members.iter().find(|m| m.id == ben.member).expect("Ben's seat is kept for him");
    assert_eq!((ben_seat.name.as_str(), ben_seat.role, ben_seat.online), ("Ben", Role::Cohost, false));
    let said: Vec<&str> = chat.iter().filter(|m| m.kind == ChatKind::User).map(|m| m.text.as_str()).collect();
    assert_eq!(said, lines, "the chat history came back");
    assert!(!playback.playing, "nobody was online when the room came back: it is paused");
    assert!(playback.seq > playing.seq, "paused by the room, after the play: {playback:?}");
    let got_to = played_at.elapsed().as_millis() as f64;
    assert!(
        playback.position_ms >= 10_000.0 && playback.position_ms <= 10_000.0 + got_to + 1_000.0,
        "paused where it had got to (10 s + at most {got_to} ms): {playback:?}"
    );

    let (mut ben_again, welcome) = RoomClient::resume(&server.address, &room, &token(&ben_welcome)).await;
    let RoomServerMessage::Welcome { member, .. } = &welcome else { unreachable!() };
    assert_eq!(member, &ben.member, "Ben has his seat back");
    assert_eq!(ben_again.roster.named("Ben").map(|m| m.role), Some(Role::Cohost));
    ana_again.until_roster(|r| r.named("Ben").filter(|m| m.online).map(|_| ())).await;

    // The chat goes on after the old lines, in order, once.
    ben_again.send(&RoomClientMessage::Chat { text: "we are back".into(), nonce: None }).await;
    ana_again.until(|m| chat_text(&m).filter(|t| t == "we are back")).await;
    let (_, welcome) = RoomClient::join(&server.address, &room, "Cy", Some(PASSWORD)).await;
    let RoomServerMessage::Welcome { chat, .. } = &welcome else { unreachable!() };
    let said: Vec<&str> = chat.iter().filter(|m| m.kind == ChatKind::User).map(|m| m.text.as_str()).collect();
    assert_eq!(said, [lines[0], lines[1], lines[2], "we are back"]);
    assert!(chat.windows(2).all(|w| w[0].id < w[1].id), "chat ids keep increasing: {chat:?}");

    assert!(server.exit_status().is_none(), "the restarted server runs");
    assert_log_has_no_panic(&log);
}

#[actix_web::test]
async fn kill_9_mid_party_then_restart_on_sqlite() {
    let _one = one_at_a_time().await;
    a_killed_server_brings_the_party_back(Storage::new(|_| {})).await;
}

#[actix_web::test]
async fn kill_9_mid_party_then_restart_on_postgres() {
    let _one = one_at_a_time().await;
    let database = PostgresDatabase::create().await;
    a_killed_server_brings_the_party_back(Storage::new(|c| c.storage.database_url = database.url.clone().into())).await;
}
