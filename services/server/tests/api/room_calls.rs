//! The room's video call and what members stream, over real WebSockets:
//! - joining the call and what a member streams reach everyone, and end with
//!   its socket; leaving the call ends its camera, microphone and screen;
//! - a camera, microphone or screen needs the call; video is limited to
//!   `MAX_VIDEO_SENDERS` members, audio is not;
//! - a file needs playback control, and one member streams one at a time;
//! - signals reach the one member they are for, with the true sender, and
//!   are refused to oneself, to unknown or offline members, and past the size
//!   limit;
//! - the bytes each member shares reach everyone with the sync health;
//! - each welcome hands the member the call's ICE servers, with TURN
//!   credentials made for it and fresh at every welcome.

use cinemesh_common::swarm_token::now_unix_secs;
use cinemesh_common::turn_credentials::password;
use cinemesh_protocol::room::{
    ControlPolicy, MAX_SIGNAL_BYTES, MAX_VIDEO_SENDERS, RoomClientMessage, RoomServerMessage, StreamKind,
};
use serde_json::json;

use crate::room_client::RoomClient;
use crate::rooms::{app_with_room, app_with_room_and};

fn streaming(kinds: &[StreamKind]) -> RoomClientMessage {
    RoomClientMessage::Streaming { kinds: kinds.to_vec() }
}

#[actix_web::test]
async fn call_and_streaming_status_reach_everyone_and_end_with_the_socket() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let ben_id = ben.member.clone();

    ben.send(&streaming(&[StreamKind::Camera])).await;
    assert_eq!(ben.error_code().await, "not_in_call");
    ben.send(&RoomClientMessage::Call { joined: true }).await;
    ana.until_roster(|r| r.members.get(&ben_id).filter(|m| m.in_call).map(|_| ())).await;
    ben.send(&streaming(&[StreamKind::Screen, StreamKind::Camera, StreamKind::Microphone, StreamKind::Camera])).await;
    let kinds =
        ana.until_roster(|r| r.members.get(&ben_id).map(|m| m.streaming.clone()).filter(|s| !s.is_empty())).await;
    assert_eq!(kinds, [StreamKind::Camera, StreamKind::Microphone, StreamKind::Screen], "sorted, no repeats");

    ben.send(&RoomClientMessage::Call { joined: false }).await;
    let left = ana.until_roster(|r| r.members.get(&ben_id).filter(|m| !m.in_call).cloned()).await;
    assert!(left.streaming.is_empty(), "leaving the call ends its media: {:?}", left.streaming);

    ben.send(&RoomClientMessage::Call { joined: true }).await;
    ben.send(&streaming(&[StreamKind::Microphone])).await;
    ana.until_roster(|r| (r.members.get(&ben_id)?.streaming == [StreamKind::Microphone]).then_some(())).await;
    drop(ben);
    let away = ana.until_roster(|r| r.members.get(&ben_id).filter(|m| !m.online).cloned()).await;
    assert!(away.streaming.is_empty() && !away.in_call, "the call and the media went with the socket: {away:?}");
}

#[actix_web::test]
async fn video_is_limited_to_a_few_senders_and_audio_is_not() {
    let (app, room) = app_with_room(None).await;
    let mut members = Vec::new();
    for name in ["Ana", "Ben", "Cy", "Dee", "Eve"] {
        let (mut member, _) = RoomClient::join(&app, &room, name, None).await;
        member.send(&RoomClientMessage::Call { joined: true }).await;
        members.push(member);
    }
    let (senders, last) = members.split_at_mut(MAX_VIDEO_SENDERS);
    let eve = &mut last[0];
    for (i, sender) in senders.iter_mut().enumerate() {
        // Cameras and screens both count as video.
        let kind = if i % 2 == 0 { StreamKind::Camera } else { StreamKind::Screen };
        sender.send(&streaming(&[kind, StreamKind::Microphone])).await;
    }
    let ids: Vec<String> = senders.iter().map(|s| s.member.clone()).collect();
    eve.until_roster(|r| ids.iter().all(|id| r.members.get(id).is_some_and(|m| m.streaming.len() == 2)).then_some(()))
        .await;
    eve.send(&streaming(&[StreamKind::Camera, StreamKind::Microphone])).await;
    assert_eq!(eve.error_code().await, "video_full");
    eve.send(&streaming(&[StreamKind::Microphone])).await;
    let eve_id = eve.member.clone();
    eve.until_roster(|r| (r.members.get(&eve_id)?.streaming == [StreamKind::Microphone]).then_some(())).await;
    // A sender may change what it sends without losing its place.
    senders[0].send(&streaming(&[StreamKind::Camera, StreamKind::Screen])).await;
    let first = ids[0].clone();
    eve.until_roster(|r| (r.members.get(&first)?.streaming == [StreamKind::Camera, StreamKind::Screen]).then_some(()))
        .await;
    // When one stops sending video, there is room again.
    senders[1].send(&streaming(&[StreamKind::Microphone])).await;
    let second = ids[1].clone();
    eve.until_roster(|r| (r.members.get(&second)?.streaming == [StreamKind::Microphone]).then_some(())).await;
    eve.send(&streaming(&[StreamKind::Camera, StreamKind::Microphone])).await;
    eve.until_roster(|r| r.members.get(&eve_id)?.streaming.contains(&StreamKind::Camera).then_some(())).await;
}

#[actix_web::test]
async fn a_file_needs_playback_control_and_one_member_streams_one_at_a_time() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    ben.send(&streaming(&[StreamKind::File])).await;
    assert_eq!(ben.error_code().await, "not_allowed");

    let ana_id = ana.member.clone();
    ana.send(&streaming(&[StreamKind::File])).await;
    ben.until_roster(|r| (r.members.get(&ana_id)?.streaming == [StreamKind::File]).then_some(())).await;
    ana.send(&RoomClientMessage::SetPolicy { policy: ControlPolicy::Everyone }).await;
    ben.until_roster(|r| (r.policy == ControlPolicy::Everyone).then_some(())).await;
    ben.send(&streaming(&[StreamKind::File])).await;
    assert_eq!(ben.error_code().await, "file_in_use");
    ana.send(&streaming(&[])).await;
    ben.until_roster(|r| r.members.get(&ana_id)?.streaming.is_empty().then_some(())).await;
    ben.send(&streaming(&[StreamKind::File])).await;
    let ben_id = ben.member.clone();
    ana.until_roster(|r| (r.members.get(&ben_id)?.streaming == [StreamKind::File]).then_some(())).await;
}

#[actix_web::test]
async fn signals_reach_the_one_member_they_are_for() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    let data = json!({ "description": { "type": "offer", "sdp": "v=0 ..." }, "streams": { "s1": "camera" } });
    ana.send(&RoomClientMessage::Signal { to: ben.member.clone(), data: data.clone() }).await;
    let (from, got) = ben
        .until(|m| match m {
            RoomServerMessage::Signal { from, data } => Some((from, data)),
            _ => None,
        })
        .await;
    assert_eq!((from, got), (ana.member.clone(), data), "relayed as it is, with the true sender");

    for to in [ana.member.clone(), "nobody".to_owned()] {
        ana.send(&RoomClientMessage::Signal { to, data: json!({}) }).await;
        assert_eq!(ana.error_code().await, "unknown_member");
    }
    let oversize = json!({ "sdp": "x".repeat(MAX_SIGNAL_BYTES) });
    ana.send(&RoomClientMessage::Signal { to: ben.member.clone(), data: oversize }).await;
    assert_eq!(ana.error_code().await, "signal_too_large");
    let cy_id = cy.member.clone();
    drop(ben);
    let ben_id = ana.until_roster(|r| r.named("Ben").filter(|m| !m.online).map(|m| m.id.clone())).await;
    ana.send(&RoomClientMessage::Signal { to: ben_id, data: json!({}) }).await;
    assert_eq!(ana.error_code().await, "unknown_member", "an offline member gets no signals");

    // Cy saw none of it.
    ana.send(&RoomClientMessage::Chat { text: "done".into(), nonce: None }).await;
    let seen_signal = cy
        .until(|m| match m {
            RoomServerMessage::Signal { .. } => Some(true),
            RoomServerMessage::Chat { message } if message.text == "done" => Some(false),
            _ => None,
        })
        .await;
    assert!(!seen_signal, "{cy_id} got a signal meant for someone else");
}

#[actix_web::test]
async fn the_bytes_each_member_shares_reach_everyone() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    ben.send(&RoomClientMessage::Status {
        buffering: false,
        offset_ms: None,
        shared_bytes: Some(123_456.0),
        origin_fetches: None,
        ahead_secs: None,
        top_level: None,
        movie: None,
        rtt_ms: None,
    })
    .await;
    let ben_id = ben.member.clone();
    let shared = ana
        .until(|m| match m {
            RoomServerMessage::Health { members, .. } => members.into_iter().find(|h| h.id == ben_id)?.shared_bytes,
            _ => None,
        })
        .await;
    assert_eq!(shared, 123_456.0);
}

#[actix_web::test]
async fn each_welcome_hands_the_member_its_own_fresh_turn_credentials() {
    const SECRET: &str = "the-rooms-turn-secret";
    let (app, room) = app_with_room_and(None, |config| {
        config.tracker.ice_servers = vec!["stun:stun.example:3478".into(), "turn:turn.example:3478".into()];
        config.tracker.turn_secret = SECRET.into();
        config.tracker.turn_credential_ttl_secs = 600;
    })
    .await;
    let welcome_servers = |welcome: RoomServerMessage| match welcome {
        RoomServerMessage::Welcome { ice_servers, member, resume_token, .. } => (ice_servers, member, resume_token),
        other => panic!("expected a welcome, got {other:?}"),
    };
    let (ana, welcome) = RoomClient::join(&app, &room, "Ana", None).await;
    let (servers, member, token) = welcome_servers(welcome);
    assert!(servers.iter().any(|s| s.urls.contains(&"stun:stun.example:3478".to_owned()) && s.username.is_none()));
    let turn_entry = |servers: &[cinemesh_protocol::ice::IceServer]| {
        let entry = servers.iter().find(|s| s.urls.iter().any(|u| u.starts_with("turn:turn.example"))).cloned();
        entry.unwrap_or_else(|| panic!("no TURN entry in {servers:?}"))
    };
    let turn = turn_entry(&servers);
    let username = turn.username.clone().expect("a REST username");
    let (expiry, who) = username.split_once(':').expect("EXPIRY:WHO");
    assert_eq!(who, member, "the credentials name the member");
    let expiry: u64 = expiry.parse().expect("Unix seconds");
    let now = now_unix_secs();
    assert!((now + 590..=now + 610).contains(&expiry), "valid for the configured 600 s: {expiry} at {now}");
    assert_eq!(turn.credential, Some(password(SECRET, &username)), "what coturn computes from the shared secret");

    let (ben, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let (servers, ben_id, _) = welcome_servers(welcome);
    assert!(turn_entry(&servers).username.is_some_and(|name| name.ends_with(&format!(":{ben_id}"))));
    drop((ana, ben));

    // A page back after sleep or a network change takes its seat back: its welcome brings new credentials.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_ana, welcome) = RoomClient::resume(&app, &room, &token).await;
    let (servers, resumed, _) = welcome_servers(welcome);
    assert_eq!(resumed, member);
    let fresh = turn_entry(&servers).username.expect("a REST username");
    assert_ne!(fresh, username, "a later expiry");
    assert!(fresh.ends_with(&format!(":{member}")));
}
