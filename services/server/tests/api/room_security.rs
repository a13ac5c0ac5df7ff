//! Rooms against someone trying to get in or to spoil them:
//! - passwords are stored as Argon2id hashes, never in clear;
//! - guessing is throttled: after a few wrong passwords from one address
//!   every further try, right or wrong, is refused with `too_many_attempts`
//!   until the wait is over, and failures are counted;
//! - a stored password that cannot be read admits nobody by password (but
//!   members keep their seats with their tokens);
//! - a kick is a ban: the token is revoked, the name and (by default) the
//!   address barred, for a time or the room's life, across restarts, until
//!   the host lifts it; barring an address removes every seat there and keeps
//!   seats from returning through it, but never bars the host's own address;
//! - nonsense sync figures are refused and never reach the metrics, nor
//!   do origin fetches that could not have happened;
//! - an oversized first frame closes room and lobby sockets with a code.

use std::time::Duration;

use cinemesh_protocol::room::{BanView, MAX_ORIGIN_FETCHES, OriginFetch, RoomClientMessage, RoomServerMessage};

use crate::room_client::{RoomClient, round_trip_status};
use crate::rooms::{app_with_room, app_with_room_and};
use crate::ws_client::{Ending, JsonSocket};

/// What a hello gets: `welcome`, or the code it is refused with.
async fn hello_outcome(
    app: &crate::helpers::TestApp,
    room: &str,
    name: &str,
    password: Option<&str>,
    resume: Option<&str>,
) -> String {
    hello_outcome_from(app, room, name, password, resume, &[]).await
}

/// `hello_outcome` with request headers, such as the address a trusted proxy forwards.
async fn hello_outcome_from(
    app: &crate::helpers::TestApp,
    room: &str,
    name: &str,
    password: Option<&str>,
    resume: Option<&str>,
    headers: &[(&str, &str)],
) -> String {
    let mut socket = JsonSocket::connect_with(app, &format!("/api/rooms/{room}/socket"), headers).await;
    let hello = RoomClientMessage::Hello {
        version: 1,
        name: name.into(),
        password: password.map(Into::into),
        resume: resume.map(Into::into),
    };
    socket.send(&hello).await;
    match socket.next::<RoomServerMessage>(Duration::from_secs(5)).await {
        Ok(RoomServerMessage::Error { code, .. }) => code,
        Ok(RoomServerMessage::Welcome { .. }) => "welcome".into(),
        other => panic!("expected a welcome or a refusal, got {other:?}"),
    }
}

#[actix_web::test]
async fn room_passwords_are_stored_as_argon2id_hashes() {
    let (app, room) = app_with_room(Some("popcorn")).await;
    let db = app.database().await;
    let (salt, digest): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT password_salt, password_digest FROM rooms WHERE id = $1")
            .bind(&room)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let digest = digest.expect("a digest");
    assert!(digest.starts_with("argon2id:m=19456,t=2,p=1:"), "{digest}");
    assert!(salt.is_none() && !digest.contains("popcorn"));
    db.close().await;
}

#[actix_web::test]
async fn password_guessing_is_throttled_and_counted() {
    let (app, room) = app_with_room(Some("popcorn")).await;
    for guess in 0..5 {
        assert_eq!(hello_outcome(&app, &room, "Eve", Some(&format!("guess{guess}")), None).await, "wrong_password");
    }
    // Now even the right password must wait: the guesser cannot tell.
    assert_eq!(hello_outcome(&app, &room, "Eve", Some("guess5"), None).await, "too_many_attempts");
    assert_eq!(hello_outcome(&app, &room, "Eve", Some("popcorn"), None).await, "too_many_attempts");
    assert_eq!(app.metric("cinemesh_refusals_total{code=\"wrong_password\"}").await, 5.0);
    assert_eq!(app.metric("cinemesh_refusals_total{code=\"too_many_attempts\"}").await, 2.0);
    // The wait after the fifth failure is a second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(hello_outcome(&app, &room, "Eve", Some("popcorn"), None).await, "welcome");
}

#[actix_web::test]
async fn a_password_that_cannot_be_read_admits_nobody_by_password() {
    let (app, room) = app_with_room(Some("popcorn")).await;
    let (_host, welcome) = RoomClient::join(&app, &room, "Ana", Some("popcorn")).await;
    let RoomServerMessage::Welcome { resume_token, .. } = welcome else { unreachable!() };
    let app = app.restart().await;
    let db = app.database().await;
    sqlx::query("UPDATE rooms SET password_digest = 'not-a-hash', password_salt = NULL WHERE id = $1")
        .bind(&room)
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;

    assert_eq!(hello_outcome(&app, &room, "Ben", Some("popcorn"), None).await, "wrong_password");
    assert_eq!(hello_outcome(&app, &room, "Ben", Some(""), None).await, "wrong_password", "and not without one either");
    let (_, summary) = app.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!(summary["has_password"], true);
    let (_ana, welcome) = RoomClient::resume(&app, &room, &resume_token).await;
    assert!(matches!(welcome, RoomServerMessage::Welcome { .. }), "a seat is still taken back with its token");
}

#[actix_web::test]
async fn nonsense_sync_figures_are_refused_and_never_reach_the_metrics() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    for (offset_ms, shared_bytes) in
        [(Some(1.7e308), None), (Some(-9e15), None), (None, Some(-1.0)), (None, Some(1e300))]
    {
        ana.send(&RoomClientMessage::Status {
            buffering: false,
            offset_ms,
            shared_bytes,
            origin_fetches: None,
            ahead_secs: None,
            top_level: None,
            movie: None,
            rtt_ms: None,
        })
        .await;
        assert_eq!(ana.error_code().await, "invalid_status", "{offset_ms:?} {shared_bytes:?}");
    }
    for (ahead_secs, top_level) in [(Some(-1.0), Some(0)), (Some(1e12), Some(0)), (Some(10.0), Some(99))] {
        let status = RoomClientMessage::Status {
            buffering: false,
            offset_ms: None,
            shared_bytes: None,
            origin_fetches: None,
            ahead_secs,
            top_level,
            movie: None,
            rtt_ms: None,
        };
        ana.send(&status).await;
        assert_eq!(ana.error_code().await, "invalid_status", "{ahead_secs:?} {top_level:?}");
    }
    for rtt_ms in [-1.0, 1e9] {
        ana.send(&round_trip_status(rtt_ms)).await;
        assert_eq!(ana.error_code().await, "invalid_status", "{rtt_ms:?}");
    }
    ana.send(&RoomClientMessage::Status {
        buffering: false,
        offset_ms: Some(-12.0),
        shared_bytes: Some(5.0),
        origin_fetches: None,
        ahead_secs: None,
        top_level: None,
        movie: None,
        rtt_ms: None,
    })
    .await;
    // The room records it in its own time.
    for _ in 0..50 {
        if app.metric("cinemesh_sync_error_ms_count").await >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sum = app.metric("cinemesh_sync_error_ms_sum").await;
    let count = app.metric("cinemesh_sync_error_ms_count").await;
    assert_eq!((sum, count), (12.0, 1.0), "only the sane report was recorded");
}

#[actix_web::test]
async fn nonsense_origin_fetches_are_refused() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64;
    let fetch = |start_ms: f64, end_ms: f64, bytes: f64| OriginFetch { start_ms, end_ms, bytes, segment: None };
    for fetches in [
        vec![fetch(now - 1_000.0, now, 300_000.0); MAX_ORIGIN_FETCHES + 1],
        vec![fetch(now, now - 1_000.0, 300_000.0)],
        vec![fetch(now - 1_000.0, now, f64::MAX)],
        vec![fetch(0.0, 1_000.0, 300_000.0)],
        vec![OriginFetch { segment: Some("x".repeat(65)), ..fetch(now - 1_000.0, now, 300_000.0) }],
    ] {
        let first = fetches[0].clone();
        let status = RoomClientMessage::Status {
            buffering: false,
            offset_ms: None,
            shared_bytes: None,
            origin_fetches: Some(fetches),
            ahead_secs: None,
            top_level: None,
            movie: None,
            rtt_ms: None,
        };
        ana.send(&status).await;
        assert_eq!(ana.error_code().await, "invalid_status", "{first:?}");
    }
}

#[actix_web::test]
async fn a_tracker_id_that_is_not_one_is_refused_and_never_handed_to_others() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    let sharing = |peer: &str, audio: Option<&str>| RoomClientMessage::Sharing {
        shares: true,
        upload_cap: None,
        unreachable_peers: None,
        peer: Some(peer.to_owned()),
        audio: audio.map(str::to_owned),
    };
    for peer in ["", "a b", "<script>", &"x".repeat(33), "ü"] {
        ana.send(&sharing(peer, None)).await;
        assert_eq!(ana.error_code().await, "invalid_sharing", "{peer:?}");
    }
    for audio in ["", "audio en", "../x", &"a".repeat(33), "audio-\u{7}"] {
        ana.send(&sharing("ana-peer", Some(audio))).await;
        assert_eq!(ana.error_code().await, "invalid_sharing", "audio {audio:?}");
    }
    ana.send(&sharing(&"x".repeat(32), Some("audio-pt-br"))).await;
    let fetchers = ben
        .until(|m| match m {
            RoomServerMessage::FetchPlan { fetchers, .. } if !fetchers.is_empty() => Some(fetchers),
            _ => None,
        })
        .await;
    assert_eq!(fetchers, ["x".repeat(32)], "only the valid id went out");
}

#[actix_web::test]
async fn an_oversized_first_frame_closes_room_and_lobby_sockets_with_a_code() {
    let (app, room) = app_with_room(None).await;
    for (path, size) in [(format!("/api/rooms/{room}/socket"), 50 * 1024), ("/api/lobby/socket".to_owned(), 5 * 1024)] {
        let mut socket = JsonSocket::connect(&app, &path).await;
        socket.send_text(&"x".repeat(size)).await;
        let refused: RoomServerMessage = socket.next(Duration::from_secs(5)).await.expect("a refusal");
        assert!(matches!(&refused, RoomServerMessage::Error { code, .. } if code == "frame_too_large"), "{refused:?}");
        let ending = socket.next::<RoomServerMessage>(Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(ending, Ending::Closed(Some("frame_too_large".into())), "{path}");
        assert_eq!(socket.close_code, Some(1008), "{path}: a policy close");
    }
}

/// The next `bans` list the host receives.
async fn bans(host: &mut RoomClient) -> Vec<BanView> {
    host.until(|m| match m {
        RoomServerMessage::Bans { bans } => Some(bans),
        _ => None,
    })
    .await
}

#[actix_web::test]
async fn a_kick_bars_the_token_the_name_and_the_address_until_the_host_lifts_it() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, welcome) = RoomClient::join(&app, &room, "Ana", None).await;
    let RoomServerMessage::Welcome { resume_token: ana_token, .. } = welcome else { unreachable!() };
    assert!(bans(&mut ana).await.is_empty(), "the host gets the list with its welcome");
    let (eve, welcome) = RoomClient::join(&app, &room, "Eve", None).await;
    let RoomServerMessage::Welcome { resume_token: eve_token, .. } = welcome else { unreachable!() };

    // Every test client shares 127.0.0.1: this first ban spares the address.
    let kick = RoomClientMessage::Kick { member: eve.member.clone(), ban_minutes: None, bar_address: Some(false) };
    ana.send(&kick).await;
    let listed = bans(&mut ana).await;
    assert_eq!((listed.len(), listed[0].name.as_str(), listed[0].address, listed[0].until_ms), (1, "Eve", false, None));
    assert_eq!(hello_outcome(&app, &room, "Eve", None, Some(&eve_token)).await, "banned", "the old token is revoked");
    assert_eq!(hello_outcome(&app, &room, "eve", None, None).await, "banned", "the name is barred");
    let (mut cy, _) = RoomClient::join(&app, &room, "Cy", None).await;
    cy.send(&RoomClientMessage::Unban { ban: listed[0].id.clone() }).await;
    assert_eq!(cy.error_code().await, "not_allowed", "only the host lifts a ban");
    ana.send(&RoomClientMessage::Unban { ban: listed[0].id.clone() }).await;
    assert!(bans(&mut ana).await.is_empty());
    let (eve, _) = RoomClient::join(&app, &room, "Eve", None).await;

    // By default the address goes too, but never the host's own: here every
    // client is 127.0.0.1, so only the name is barred, for a minute.
    ana.send(&RoomClientMessage::Kick { member: eve.member.clone(), ban_minutes: Some(1), bar_address: None }).await;
    let listed = bans(&mut ana).await;
    assert!(!listed[0].address && listed[0].until_ms.is_some(), "{listed:?}");
    assert_eq!(hello_outcome(&app, &room, "Zed", None, None).await, "welcome", "the host's address is not barred");

    // Bans outlive a restart; seats of members not barred still come back.
    let app = app.restart().await;
    assert_eq!(hello_outcome(&app, &room, "Eve", None, None).await, "banned");
    assert_eq!(hello_outcome(&app, &room, "Ana", None, Some(&ana_token)).await, "welcome");
}

#[actix_web::test]
async fn barring_an_address_removes_every_seat_there_but_never_the_hosts() {
    let (app, room) = app_with_room_and(None, |c| c.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let (host_home, eve_home, ben_home) = ("192.0.2.1", "192.0.2.2", "192.0.2.3");
    let (mut ana, _) = RoomClient::join_from(&app, &room, "Ana", host_home).await;
    let (mut eve, _) = RoomClient::join_from(&app, &room, "Eve", eve_home).await;
    let (mut mallory, welcome) = RoomClient::join_from(&app, &room, "Mallory", eve_home).await;
    let RoomServerMessage::Welcome { resume_token: mallory_token, .. } = welcome else { unreachable!() };
    let (_ben, welcome) = RoomClient::join_from(&app, &room, "Ben", ben_home).await;
    let RoomServerMessage::Welcome { resume_token: ben_token, .. } = welcome else { unreachable!() };
    let (hal, _) = RoomClient::join_from(&app, &room, "Hal", host_home).await;

    ana.send(&RoomClientMessage::Kick { member: eve.member.clone(), ban_minutes: None, bar_address: None }).await;
    assert_eq!(eve.error_code().await, "kicked");
    assert_eq!(mallory.error_code().await, "kicked", "a second tab at the barred address goes too");
    let staying = ana
        .until_roster(|r| {
            let gone = r.named("Eve").is_none() && r.named("Mallory").is_none();
            (gone && r.named("Hal").is_some()).then(|| r.members.values().map(|m| m.name.clone()).collect::<Vec<_>>())
        })
        .await;
    assert_eq!(staying.len(), 3, "Ana, Ben and Hal stay: {staying:?}");
    let listed = bans(&mut ana).await;
    assert!(listed.len() == 1 && listed[0].address, "{listed:?}");

    let from = |address| [("x-forwarded-for", address)];
    assert_eq!(hello_outcome_from(&app, &room, "Zed", None, None, &from(eve_home)).await, "banned");
    assert_eq!(hello_outcome_from(&app, &room, "Mallory", None, Some(&mallory_token), &from(eve_home)).await, "banned");
    // A seat taken elsewhere does not come back from the barred address, only from another.
    assert_eq!(hello_outcome_from(&app, &room, "", None, Some(&ben_token), &from(eve_home)).await, "banned");
    assert_eq!(hello_outcome_from(&app, &room, "", None, Some(&ben_token), &from(ben_home)).await, "welcome");

    // The host's housemate is removed by name only: the host's address stays open.
    ana.send(&RoomClientMessage::Kick { member: hal.member.clone(), ban_minutes: None, bar_address: Some(true) }).await;
    let listed = bans(&mut ana).await;
    let hal_ban = listed.iter().find(|b| b.name == "Hal").expect("Hal's ban");
    assert!(!hal_ban.address, "{listed:?}");
    assert_eq!(hello_outcome_from(&app, &room, "Ida", None, None, &from(host_home)).await, "welcome");
    assert_eq!(hello_outcome_from(&app, &room, "Hal", None, None, &from(ben_home)).await, "banned");
}

#[actix_web::test]
async fn names_that_look_alike_or_hide_characters_and_chat_that_reorders_are_refused() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    // A Greek capital alpha, Cyrillic letters, case and full-width forms all pass for "Ana".
    for look_alike in ["\u{0391}na", "ANA", "Ａｎａ", "An\u{0430}"] {
        assert_eq!(hello_outcome(&app, &room, look_alike, None, None).await, "name_taken", "{look_alike:?}");
    }
    for hidden in ["Ben\u{202E}", "B\u{200B}en", "\u{2066}Ben"] {
        assert_eq!(hello_outcome(&app, &room, hidden, None, None).await, "invalid_name", "{hidden:?}");
    }
    ana.send(&RoomClientMessage::Chat { text: "see gnp.\u{202E}exe".into(), nonce: None }).await;
    assert_eq!(ana.error_code().await, "invalid_chat");
    ana.send(&RoomClientMessage::Chat { text: "hi\u{200B}\u{FEFF} there".into(), nonce: None }).await;
    let posted = ana
        .until(|m| match m {
            RoomServerMessage::Chat { message } if message.name == "Ana" => Some(message.text),
            _ => None,
        })
        .await;
    assert_eq!(posted, "hi there", "invisible characters are dropped");
}

#[actix_web::test]
async fn typing_and_reactions_have_budgets_of_their_own_and_reactions_are_capped() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;
    for _ in 0..6 {
        ben.send(&RoomClientMessage::Typing { active: true }).await;
    }
    assert_eq!(ben.error_code().await, "rate_limited", "past the typing burst");
    ben.send(&RoomClientMessage::Chat { text: "done typing".into(), nonce: None }).await;
    // Everything Ana saw up to Ben's message: one typing notice, however many were sent.
    let notices = std::cell::Cell::new(0);
    let message = ana
        .until(|m| match m {
            RoomServerMessage::Typing { .. } => {
                notices.set(notices.get() + 1);
                None
            }
            RoomServerMessage::Chat { message } if message.text == "done typing" => Some(message.id),
            _ => None,
        })
        .await;
    let notices = notices.get();
    assert_eq!(notices, 1, "repeats of the same state are coalesced");

    for emoji in ["👍", "🎉", "😂"] {
        ana.send(&RoomClientMessage::React { message, emoji: emoji.into() }).await;
    }
    ana.send(&RoomClientMessage::React { message, emoji: "🍿".into() }).await;
    assert_eq!(ana.error_code().await, "too_many_reactions", "three reactions per member per message");
}

#[actix_web::test]
async fn room_creation_is_limited_per_address_and_rooms_seat_a_bounded_number() {
    let app = crate::helpers::TestApp::spawn_with(|c| {
        c.rooms.creations_per_hour = 3;
        c.rooms.max_members = 2;
    })
    .await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let body = serde_json::json!({ "movie_id": "movie1" });
    let create = || app.post_json("/api/rooms", &body);
    let mut rooms = Vec::new();
    for _ in 0..3 {
        let (status, room) = create().await;
        assert_eq!(status, 201, "{room}");
        rooms.push(room["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = create().await;
    assert_eq!((status, body["error"].as_str()), (429, Some("too_many_rooms")));

    let _ana = RoomClient::join(&app, &rooms[0], "Ana", None).await;
    let _ben = RoomClient::join(&app, &rooms[0], "Ben", None).await;
    assert_eq!(hello_outcome(&app, &rooms[0], "Cy", None, None).await, "room_full");
}

#[actix_web::test]
async fn rooms_nobody_used_for_the_expiry_time_are_deleted_with_their_chat() {
    let (app, stale) = app_with_room(None).await;
    let (_, fresh) = app.post_json("/api/rooms", &serde_json::json!({ "movie_id": "movie1" })).await;
    let fresh = fresh["id"].as_str().unwrap().to_owned();
    {
        let (mut ana, _) = RoomClient::join(&app, &stale, "Ana", None).await;
        ana.send(&RoomClientMessage::Chat { text: "long ago".into(), nonce: None }).await;
        ana.until(|m| matches!(m, RoomServerMessage::Chat { .. }).then_some(())).await;
        ana.send(&RoomClientMessage::Leave).await;
    }
    // As a process stop does: the room writes its chat and lets go. Without
    // it, the old instance's chat writer could flush after the expiry below.
    app.stop_rooms().await;
    let old = app;
    let app = old.restart().await;
    // The stop waits for the room's writes only so long. On a busy machine a
    // write that meets a locked database waits, and is retried, past that
    // bound; its `updated_at_ms` would undo the month-old one set below (CI
    // once found nothing to expire here). Every write of the old instance
    // lands first.
    old.flush_room_writes().await;
    let db = app.database().await;
    let month_ago = cinemesh_common::db::now_ms() - 31 * 86_400_000;
    sqlx::query("UPDATE rooms SET updated_at_ms = $1 WHERE id = $2")
        .bind(month_ago)
        .bind(&stale)
        .execute(db.pool())
        .await
        .unwrap();

    let cutoff = cinemesh_common::db::now_ms() - 30 * 86_400_000;
    assert_eq!(app.expire_rooms(cutoff).await, 1);
    let (status, _) = app.get_json(&format!("/api/rooms/{stale}")).await;
    assert_eq!(status, 404, "the stale room is gone");
    let chat: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM room_chat WHERE room_id = $1")
        .bind(&stale)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(chat, 0, "with its chat");
    let (status, _) = app.get_json(&format!("/api/rooms/{fresh}")).await;
    assert_eq!(status, 200, "a room used lately stays");
    db.close().await;
}
