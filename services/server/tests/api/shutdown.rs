//! A SIGTERM during a party: the `cinemesh` process that is the room's home
//! is stopped while members on it and on another instance chat. It tells
//! every member to reconnect, flushes the room's writes, gives the room up
//! and exits within its bound; the members take their seats back on the
//! other instance with their tokens. Every chat message anyone saw before
//! the stop is in the room's history there, and the messages that were on
//! their way during the stop, sent again with their nonces, end up in it
//! exactly once: none lost, none doubled.

use std::time::Duration;

use cinemesh_protocol::room::{RoomClientMessage, RoomServerMessage};
use serde_json::json;

use crate::helpers::{ServerProcess, TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;
use crate::ws_client::Ending;

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
