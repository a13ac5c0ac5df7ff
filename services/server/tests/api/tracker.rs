//! The tracker over a real WebSocket:
//! - hello assigns the peer id; join admits with a catalog token and counts the others;
//!   open sockets are counted for operators;
//! - holders are ranked by how much of the window they hold, never the asker,
//!   and follow holdings deltas, leaves and disconnects;
//! - signalling is relayed within a swarm with the true sender's id, and
//!   refused across swarms, to unknown or forged ids;
//! - tokens for another movie, expired or forged are refused;
//! - with no secret configured, one is made once and kept in the database:
//!   a second instance on it and the first after a restart accept its tokens;
//! - a silent peer is dropped after the timeout and its holdings vanish;
//! - a reported peer is no longer named to its reporter, and is counted;
//! - bad input gets coded errors; repeated abuse closes the socket.

use std::time::Duration;

use cinemesh_common::Signer;
use cinemesh_common::swarm_token::{SwarmTokens, TOKEN_LIFETIME_SECS, now_unix_secs};
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{
    ClientMessage, MAX_FRAME_BYTES, MAX_LANES, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, ReportReason, ServerMessage,
    Signal, SwarmKey,
};

use crate::helpers::TestApp;
use crate::tracker_client::{Ending, TrackerClient, USER_AGENT};

const SECRET: &str = "tracker-test-secret";

fn swarm(movie: &str, rendition: &str) -> SwarmKey {
    SwarmKey { movie: movie.into(), rendition: rendition.into() }
}

fn held(seqs: std::ops::RangeInclusive<u32>) -> SegmentRanges {
    SegmentRanges::from_sequences(seqs)
}

/// An app with one 100-segment movie `movie1`; returns it with the token the
/// catalog hands out for that movie.
async fn app_with_movie(adjust: impl FnOnce(&mut cinemesh_server::Config)) -> (TestApp, String) {
    let app = TestApp::spawn_with(|c| {
        c.tracker.secret = SECRET.into();
        adjust(c);
    })
    .await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 100).await;
    app.seed_movie_with_segments("movie2", "Movie Two", "", 2, 100).await;
    let (_, detail) = app.get_json("/api/movies/movie1").await;
    assert_eq!(detail["tracker"]["url"], "/tracker");
    (app, detail["tracker"]["token"].as_str().expect("token").to_owned())
}

#[actix_web::test]
async fn hello_assigns_distinct_peer_ids_and_join_counts_the_others() {
    let (app, token) = app_with_movie(|_| {}).await;
    let (mut a, id_a) = TrackerClient::greeted(&app).await;
    let (mut b, id_b) = TrackerClient::greeted(&app).await;
    assert_ne!(id_a, id_b);
    assert_eq!(a.join(&swarm("movie1", "720p"), &token, held(0..=4)).await, 0);
    assert_eq!(b.join(&swarm("movie1", "720p"), &token, SegmentRanges::default()).await, 1);
    assert_eq!(a.join(&swarm("movie1", "360p"), &token, SegmentRanges::default()).await, 0, "swarms are per rendition");

    let open = r#"cinemesh_connections{kind="tracker"}"#;
    assert_eq!(app.metric(open).await, 2.0, "both sockets are counted");
    drop((a, b));
    for _ in 0..50 {
        if app.metric(open).await == 0.0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.metric(open).await, 0.0, "closed sockets are no longer counted");
}

#[actix_web::test]
async fn holders_are_ranked_by_the_window_and_never_include_the_asker() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut most, id_most) = TrackerClient::greeted(&app).await;
    let (mut some, id_some) = TrackerClient::greeted(&app).await;
    let (mut elsewhere, _) = TrackerClient::greeted(&app).await;
    let (mut asker, _) = TrackerClient::greeted(&app).await;
    most.join(&key, &token, held(10..=19)).await;
    some.join(&key, &token, held(10..=12)).await;
    elsewhere.join(&key, &token, held(50..=59)).await;
    asker.join(&key, &token, held(10..=19)).await;
    let holders = asker.who_has(&key, 10, 10).await;
    assert_eq!(holders, vec![(id_most, held(10..=19)), (id_some, held(10..=12))]);
}

#[actix_web::test]
async fn holdings_deltas_leaves_and_disconnects_change_the_answers() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut a, id_a) = TrackerClient::greeted(&app).await;
    let (mut b, id_b) = TrackerClient::greeted(&app).await;
    let (mut asker, _) = TrackerClient::greeted(&app).await;
    a.join(&key, &token, SegmentRanges::default()).await;
    b.join(&key, &token, held(0..=1)).await;
    asker.join(&key, &token, SegmentRanges::default()).await;

    a.send(&ClientMessage::Have { swarm: key.clone(), added: held(0..=9), dropped: SegmentRanges::default() }).await;
    a.sync().await;
    assert_eq!(
        asker.who_has(&key, 0, 10).await.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        [id_a.clone(), id_b.clone()]
    );

    a.send(&ClientMessage::Have { swarm: key.clone(), added: SegmentRanges::default(), dropped: held(0..=9) }).await;
    a.sync().await;
    assert_eq!(asker.who_has(&key, 0, 10).await, vec![(id_b.clone(), held(0..=1))]);

    b.send(&ClientMessage::Leave { swarm: key.clone() }).await;
    b.sync().await;
    assert!(asker.who_has(&key, 0, 10).await.is_empty());

    a.send(&ClientMessage::Have { swarm: key.clone(), added: held(5..=5), dropped: SegmentRanges::default() }).await;
    a.sync().await;
    drop(a);
    let holders = asker.holders_until(&key, 0, 10, |h| h.is_empty()).await;
    assert!(holders.is_empty(), "a closed connection's holdings vanish: {holders:?}");
}

#[actix_web::test]
async fn a_reported_peer_is_no_longer_named_to_its_reporter() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut bad, id_bad) = TrackerClient::greeted(&app).await;
    let (mut reporter, _) = TrackerClient::greeted(&app).await;
    let (mut other, _) = TrackerClient::greeted(&app).await;
    bad.join(&key, &token, held(0..=9)).await;
    reporter.join(&key, &token, SegmentRanges::default()).await;
    other.join(&key, &token, SegmentRanges::default()).await;
    assert_eq!(reporter.who_has(&key, 0, 10).await.len(), 1);

    let report = ClientMessage::Report { swarm: key.clone(), peer: id_bad.clone(), reason: ReportReason::BadSegment };
    reporter.send(&report).await;
    assert!(reporter.who_has(&key, 0, 10).await.is_empty(), "the reporter is not introduced to it again");
    assert_eq!(
        other.who_has(&key, 0, 10).await,
        vec![(id_bad, held(0..=9))],
        "one report hides it from the reporter only"
    );
    let metrics = app.get_text("/metrics").await;
    assert!(metrics.contains("cinemesh_tracker_peer_reports_total 1\n"), "{metrics}");

    let stranger = swarm("movie2", "720p");
    reporter
        .send(&ClientMessage::Report { swarm: stranger, peer: "p1".into(), reason: ReportReason::BadSegment })
        .await;
    assert_eq!(reporter.error_code().await, "not_in_swarm");
}

#[actix_web::test]
async fn signals_are_relayed_within_the_swarm_with_the_true_sender() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut a, id_a) = TrackerClient::greeted(&app).await;
    let (mut b, id_b) = TrackerClient::greeted(&app).await;
    a.join(&key, &token, SegmentRanges::default()).await;
    b.join(&key, &token, SegmentRanges::default()).await;
    let sdp = format!("v=0\r\n{}", "a=candidate:x\r\n".repeat(90));
    let signals = [
        Signal::Offer { sdp: sdp.clone() },
        Signal::Candidate {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
    ];
    for signal in signals {
        a.send(&ClientMessage::Signal { swarm: key.clone(), to: id_b.clone(), signal: signal.clone(), lane: None })
            .await;
        assert_eq!(
            b.recv().await,
            ServerMessage::Signal { swarm: key.clone(), from: id_a.clone(), signal, lane: None }
        );
    }
    // A signal for another of the pair's connections keeps its lane.
    b.send(&ClientMessage::Signal {
        swarm: key.clone(),
        to: id_a.clone(),
        signal: Signal::Answer { sdp: "v=0".into() },
        lane: Some(MAX_LANES - 1),
    })
    .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Signal {
            swarm: key.clone(),
            from: id_b.clone(),
            signal: Signal::Answer { sdp: "v=0".into() },
            lane: Some(MAX_LANES - 1)
        }
    );
    // A lane past the limit is refused, and nothing reaches the other side.
    a.send(&ClientMessage::Signal {
        swarm: key.clone(),
        to: id_b.clone(),
        signal: Signal::Offer { sdp: "v=0".into() },
        lane: Some(MAX_LANES),
    })
    .await;
    assert_eq!(a.error_code().await, "invalid_lane");
    b.sync().await;
    assert_eq!(b.next(Duration::from_millis(300)).await, Err(Ending::Silence), "nothing was relayed");
}

#[actix_web::test]
async fn a_peer_older_than_lanes_gets_only_the_first_lanes_signals() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut new, _) = TrackerClient::greeted(&app).await;
    let (mut old, id_old) = TrackerClient::greeted_as(&app, OLDEST_PROTOCOL_VERSION).await;
    new.join(&key, &token, SegmentRanges::default()).await;
    old.join(&key, &token, SegmentRanges::default()).await;
    let offer = Signal::Offer { sdp: "v=0".into() };
    for lane in [Some(1), Some(0), None] {
        new.send(&ClientMessage::Signal { swarm: key.clone(), to: id_old.clone(), signal: offer.clone(), lane }).await;
    }
    // Lane 1 is dropped; lane 0, given or not, arrives without a lane, as version 1 reads it.
    for _ in 0..2 {
        match old.recv().await {
            ServerMessage::Signal { lane, .. } => assert_eq!(lane, None),
            other => panic!("expected a signal, got {other:?}"),
        }
    }
    new.sync().await;
    assert_eq!(old.next(Duration::from_millis(300)).await, Err(Ending::Silence), "no third signal");
    // A version past this tracker's is refused.
    let mut future = TrackerClient::connect(&app).await;
    future.send(&ClientMessage::Hello { version: PROTOCOL_VERSION + 1 }).await;
    assert_eq!(future.error_code().await, "unsupported_version");
}

#[actix_web::test]
async fn signals_across_swarms_or_to_unknown_ids_are_refused() {
    let (app, token) = app_with_movie(|_| {}).await;
    let (mut a, id_a) = TrackerClient::greeted(&app).await;
    let (mut other, id_other) = TrackerClient::greeted(&app).await;
    a.join(&swarm("movie1", "720p"), &token, SegmentRanges::default()).await;
    other.join(&swarm("movie1", "360p"), &token, SegmentRanges::default()).await;
    let offer = Signal::Offer { sdp: "v=0".into() };
    for to in [id_other.clone(), "forgedpeerid".to_owned(), id_a.clone()] {
        a.send(&ClientMessage::Signal {
            swarm: swarm("movie1", "720p"),
            to: to.clone(),
            signal: offer.clone(),
            lane: None,
        })
        .await;
        assert_eq!(a.error_code().await, "unknown_peer", "signal to {to}");
    }
    // Naming the other swarm without having joined it is refused too.
    a.send(&ClientMessage::Signal { swarm: swarm("movie1", "360p"), to: id_other, signal: offer, lane: None }).await;
    assert_eq!(a.error_code().await, "not_in_swarm");
    other.sync().await;
    assert_eq!(other.next(Duration::from_millis(300)).await, Err(Ending::Silence), "nothing was relayed");
}

#[actix_web::test]
async fn tokens_for_other_movies_expired_or_forged_are_refused() {
    let (app, token) = app_with_movie(|_| {}).await;
    let (mut client, _) = TrackerClient::greeted(&app).await;
    let join = |movie: &str, token: String| ClientMessage::Join {
        swarm: swarm(movie, "720p"),
        token,
        holdings: SegmentRanges::default(),
    };
    client.send(&join("movie2", token.clone())).await;
    assert_eq!(client.error_code().await, "token_scope");
    let (expired, _) = SwarmTokens::new(Signer::new(SECRET)).issue("movie1", now_unix_secs() - TOKEN_LIFETIME_SECS - 1);
    client.send(&join("movie1", expired)).await;
    assert_eq!(client.error_code().await, "token_expired");
    let (forged, _) = SwarmTokens::new(Signer::new("another-secret")).issue("movie1", now_unix_secs());
    client.send(&join("movie1", forged)).await;
    assert_eq!(client.error_code().await, "invalid_token");
    client.send(&ClientMessage::Join { swarm: swarm("movie1", "4k"), token, holdings: SegmentRanges::default() }).await;
    assert_eq!(client.error_code().await, "unknown_rendition");
}

#[actix_web::test]
async fn without_a_configured_secret_instances_on_one_database_share_a_made_one() {
    let first = TestApp::spawn_with(|c| c.tracker.secret = "".into()).await;
    first.seed_movie_with_segments("movie1", "Movie One", "", 1, 100).await;
    let (_, detail) = first.get_json("/api/movies/movie1").await;
    let token = detail["tracker"]["token"].as_str().expect("token").to_owned();
    let key = swarm("movie1", "720p");
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(|c| {
        c.tracker.secret = "".into();
        c.storage = storage;
    })
    .await;
    let (mut there, _) = TrackerClient::greeted(&second).await;
    assert_eq!(
        there.join(&key, &token, SegmentRanges::default()).await,
        0,
        "the other instance accepts the first's token"
    );
    let again = first.restart().await;
    let (mut after, _) = TrackerClient::greeted(&again).await;
    assert_eq!(after.join(&key, &token, SegmentRanges::default()).await, 0, "a restart keeps the secret");
    // Never a well-known value: a token signed with the compose file's old default is refused.
    let (forged, _) = SwarmTokens::new(Signer::new("change-me-for-production")).issue("movie1", now_unix_secs());
    after.send(&ClientMessage::Join { swarm: key.clone(), token: forged, holdings: SegmentRanges::default() }).await;
    assert_eq!(after.error_code().await, "invalid_token");
    // A configured secret wins over the made one.
    let storage = again.config.storage.clone();
    let configured = TestApp::spawn_with(|c| {
        c.tracker.secret = SECRET.into();
        c.storage = storage;
    })
    .await;
    let (mut client, _) = TrackerClient::greeted(&configured).await;
    client.send(&ClientMessage::Join { swarm: key.clone(), token, holdings: SegmentRanges::default() }).await;
    assert_eq!(client.error_code().await, "invalid_token");
    let (signed, _) = SwarmTokens::new(Signer::new(SECRET)).issue("movie1", now_unix_secs());
    assert_eq!(client.join(&key, &signed, SegmentRanges::default()).await, 0);
}

#[actix_web::test]
async fn a_silent_peer_is_dropped_and_its_holdings_vanish() {
    let (app, token) = app_with_movie(|c| c.tracker.peer_timeout_secs = 1).await;
    let key = swarm("movie1", "720p");
    let (mut silent, _) = TrackerClient::greeted(&app).await;
    let (mut asker, _) = TrackerClient::greeted(&app).await;
    silent.join(&key, &token, held(0..=9)).await;
    asker.join(&key, &token, SegmentRanges::default()).await;
    assert_eq!(asker.who_has(&key, 0, 10).await.len(), 1);
    // The asker keeps talking; the other says nothing for over a second.
    let holders = asker.holders_until(&key, 0, 10, |h| h.is_empty()).await;
    assert!(holders.is_empty(), "the silent peer's holdings vanished: {holders:?}");
    assert_eq!(silent.next(Duration::from_secs(2)).await, Err(Ending::Closed(Some("timeout".into()))));
}

#[actix_web::test]
async fn bad_input_gets_coded_errors() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");

    let mut early = TrackerClient::connect(&app).await;
    early.send(&ClientMessage::Ping { t: 1 }).await;
    assert_eq!(early.error_code().await, "hello_required");
    assert_eq!(early.next(Duration::from_secs(2)).await, Err(Ending::Closed(Some("hello_required".into()))));

    let mut old = TrackerClient::connect(&app).await;
    old.send(&ClientMessage::Hello { version: 0 }).await;
    assert_eq!(old.error_code().await, "unsupported_version");

    let (mut client, _) = TrackerClient::greeted(&app).await;
    for (text, code) in [
        ("{not json", "invalid_message"),
        (r#"{"type":"teleport"}"#, "invalid_message"),
        (r#"{"type":"have","swarm":{"movie":"movie1","rendition":"720p"},"added":[[5,1]]}"#, "invalid_message"),
        (r#"{"type":"hello","version":1}"#, "already_greeted"),
    ] {
        client.send_text(text).await;
        assert_eq!(client.error_code().await, code, "{text}");
    }
    client.send(&ClientMessage::WhoHas { swarm: key.clone(), from: 0, count: 4, limit: None }).await;
    assert_eq!(client.error_code().await, "not_in_swarm");
    client.join(&key, &token, SegmentRanges::default()).await;
    client.send(&ClientMessage::WhoHas { swarm: key.clone(), from: 0, count: 1000, limit: None }).await;
    assert_eq!(client.error_code().await, "invalid_window");
    let huge = Signal::Offer { sdp: "x".repeat(13 * 1024) };
    client.send(&ClientMessage::Signal { swarm: key.clone(), to: "someone".into(), signal: huge, lane: None }).await;
    assert_eq!(client.error_code().await, "signal_too_large");
    client.send_binary(vec![1, 2, 3]).await;
    assert_eq!(client.error_code().await, "binary_not_supported");
    for (code, count) in [("invalid_message", 3.0), ("not_in_swarm", 1.0), ("binary_not_supported", 1.0)] {
        let series = format!(r#"cinemesh_tracker_refusals_total{{code="{code}"}}"#);
        assert_eq!(app.metric(&series).await, count, "{series}");
    }
    for rendition in ["360p"] {
        client.join(&swarm("movie1", rendition), &token, SegmentRanges::default()).await;
    }
    let token2 = app.get_json("/api/movies/movie2").await.1["tracker"]["token"].as_str().unwrap().to_owned();
    client.join(&swarm("movie2", "720p"), &token2, SegmentRanges::default()).await;
    client.join(&swarm("movie2", "360p"), &token2, SegmentRanges::default()).await;
    client
        .send(&ClientMessage::Join {
            swarm: swarm("movie1", "x"),
            token: token.clone(),
            holdings: SegmentRanges::default(),
        })
        .await;
    assert_eq!(client.error_code().await, "too_many_swarms");

    let (mut big, _) = TrackerClient::greeted(&app).await;
    big.send_text(&format!(r#"{{"type":"ping","t":1,"pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES))).await;
    assert_eq!(big.error_code().await, "frame_too_large");
    assert!(matches!(big.next(Duration::from_secs(2)).await, Err(Ending::Closed(_))));
}

#[actix_web::test]
async fn floods_are_rate_limited_and_repeated_abuse_closes_the_socket() {
    let (app, _) = app_with_movie(|_| {}).await;
    let (mut flooder, _) = TrackerClient::greeted(&app).await;
    for t in 0..150 {
        flooder.send(&ClientMessage::Ping { t }).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    let ending = loop {
        match flooder.next(Duration::from_secs(2)).await {
            Ok(ServerMessage::Pong { .. }) => pongs += 1,
            Ok(ServerMessage::Error { code, .. }) if code == "rate_limited" => limited += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(ending) => break ending,
        }
    };
    // The burst is 100 messages, and hello spent one of them.
    assert!((99..=110).contains(&pongs), "the burst passes: {pongs}");
    assert!(limited >= 20, "the rest is refused: {limited}");
    assert_eq!(ending, Ending::Closed(Some("too_many_errors".into())));
}

/// Polls `sql` (one row of text columns) until it returns a row.
async fn row_eventually(app: &TestApp, sql: &'static str, bind: &str) -> Vec<String> {
    use sqlx::Row;
    let db = app.database().await;
    for _ in 0..100 {
        if let Some(row) = sqlx::query(sql).bind(bind).fetch_optional(db.pool()).await.unwrap() {
            let values = (0..row.len()).map(|i| row.try_get::<String, _>(i).unwrap_or_default()).collect();
            db.close().await;
            return values;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no row for {bind}: {sql}");
}

#[actix_web::test]
async fn sessions_are_recorded_with_origin_bytes_and_times() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut client, peer) = TrackerClient::greeted(&app).await;
    client.join(&key, &token, held(0..=3)).await;
    for (http, wanted_from_peers) in [(100, 0), (1_000, 5_000)] {
        client
            .send(&ClientMessage::Stats {
                swarm: key.clone(),
                http_bytes: http,
                peer_bytes: wanted_from_peers,
                uploaded_bytes: 77,
            })
            .await;
    }
    client.sync().await;
    for (source, bytes) in [("http", 1_000.0), ("peer", 5_000.0), ("uploaded", 77.0)] {
        let series = format!(r#"cinemesh_viewer_bytes_total{{source="{source}"}}"#);
        assert_eq!(app.metric(&series).await, bytes, "cumulative reports count once: {series}");
    }
    client.send(&ClientMessage::Leave { swarm: key.clone() }).await;
    client.sync().await;
    let row = row_eventually(
        &app,
        "SELECT ip, user_agent, movie_id, rendition, CAST(http_bytes AS TEXT), CAST(peer_bytes AS TEXT), \
         CAST(uploaded_bytes AS TEXT), CAST(left_at_ms - joined_at_ms >= 0 AS TEXT) \
         FROM peer_sessions WHERE peer_id = $1 AND left_at_ms IS NOT NULL",
        &peer,
    )
    .await;
    assert_eq!(row[..7], ["127.0.0.1", USER_AGENT, "movie1", "720p", "1000", "5000", "77"]);
    assert!(row[7] == "true" || row[7] == "1", "left after joining: {row:?}");
}

#[actix_web::test]
async fn holdings_are_snapshotted_periodically() {
    let (app, token) = app_with_movie(|c| c.tracker.snapshot_every_secs = 1).await;
    let (mut client, peer) = TrackerClient::greeted(&app).await;
    client.join(&swarm("movie1", "720p"), &token, held(0..=9)).await;
    let row = row_eventually(&app, "SELECT ranges FROM holdings_snapshots WHERE peer_id = $1", &peer).await;
    assert_eq!(row, ["[[0,9]]"]);
}

#[actix_web::test]
async fn two_instances_sharing_redis_introduce_and_relay_across() {
    let redis_url = std::env::var("CINEMESH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("cinemesh-test-{}:", cinemesh_common::id::random_id(10));
    let shared = |c: &mut cinemesh_server::Config| {
        c.storage.redis_url = redis_url.clone().into();
        c.storage.redis_prefix = prefix.clone();
    };
    let (first, token) = app_with_movie(shared).await;
    // The second instance shares the first one's database and media.
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(|c| {
        shared(c);
        c.tracker.secret = SECRET.into();
        c.storage = storage;
    })
    .await;
    let key = swarm("movie1", "720p");
    let (mut here, id_here) = TrackerClient::greeted(&first).await;
    let (mut there, id_there) = TrackerClient::greeted(&second).await;
    here.join(&key, &token, held(0..=9)).await;
    there.join(&key, &token, SegmentRanges::default()).await;

    let holders = there.holders_until(&key, 0, 10, |h| !h.is_empty()).await;
    assert_eq!(holders, vec![(id_here.clone(), held(0..=9))], "a holder on the other instance is introduced");
    // The swarm is known on the other instance now: a change to it still gets there.
    here.send(&ClientMessage::Have { swarm: key.clone(), added: held(10..=12), dropped: held(0..=4) }).await;
    let holders = there.holders_until(&key, 0, 20, |h| h.first().is_some_and(|(_, r)| *r == held(5..=12))).await;
    assert_eq!(holders, vec![(id_here.clone(), held(5..=12))], "a holder's new segments reach the other instance");

    let offer = Signal::Offer { sdp: "v=0 offer".into() };
    there
        .send(&ClientMessage::Signal { swarm: key.clone(), to: id_here.clone(), signal: offer.clone(), lane: Some(1) })
        .await;
    assert_eq!(
        here.recv().await,
        ServerMessage::Signal { swarm: key.clone(), from: id_there.clone(), signal: offer, lane: Some(1) },
        "the lane crosses instances too"
    );
    let answer = Signal::Answer { sdp: "v=0 answer".into() };
    // The first instance learns of the second's peer on its next refresh.
    let mut delivered = None;
    for _ in 0..50 {
        here.send(&ClientMessage::Signal {
            swarm: key.clone(),
            to: id_there.clone(),
            signal: answer.clone(),
            lane: None,
        })
        .await;
        match there.next(Duration::from_millis(200)).await {
            Ok(message) => {
                delivered = Some(message);
                break;
            }
            Err(_) => {
                // Refused as unknown until the view arrives: take the error off the queue.
                if let Ok(ServerMessage::Error { code, .. }) = here.next(Duration::from_millis(50)).await {
                    assert_eq!(code, "unknown_peer");
                }
            }
        }
    }
    assert_eq!(
        delivered,
        Some(ServerMessage::Signal { swarm: key.clone(), from: id_here.clone(), signal: answer, lane: None })
    );

    // The second instance's only peer leaves, and another joins: the swarm is
    // new there again, and is read from Redis although no one changed it.
    drop(there);
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let (mut there, _) = TrackerClient::greeted(&second).await;
    there.join(&key, &token, SegmentRanges::default()).await;
    let holders = there.holders_until(&key, 0, 20, |h| !h.is_empty()).await;
    assert_eq!(holders, vec![(id_here, held(5..=12))], "a swarm taken up again is read again");

    drop(here);
    let holders = there.holders_until(&key, 0, 10, |h| h.is_empty()).await;
    assert!(holders.is_empty(), "a peer that left one instance vanishes from the other: {holders:?}");
}

#[actix_web::test]
async fn operators_see_offload_per_movie_from_reported_bytes() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    for (http, peers) in [(1_000u64, 3_000u64), (500, 1_500)] {
        let (mut viewer, _) = TrackerClient::greeted(&app).await;
        viewer.join(&key, &token, SegmentRanges::default()).await;
        viewer
            .send(&ClientMessage::Stats { swarm: key.clone(), http_bytes: http, peer_bytes: peers, uploaded_bytes: 10 })
            .await;
        viewer.sync().await;
    }
    let url = app.url("/api/admin/offload/movie1");
    let mut offload = serde_json::Value::Null;
    for _ in 0..50 {
        let mut res =
            app.client.get(&url).insert_header(("authorization", "Bearer test-admin-token")).send().await.unwrap();
        offload = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
        if offload["peer_bytes"] == 4_500 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(offload["sessions"], 2, "{offload}");
    assert_eq!((offload["http_bytes"].as_i64(), offload["peer_bytes"].as_i64()), (Some(1_500), Some(4_500)));
    assert_eq!(offload["peer_share"], 0.75);
    assert_eq!(offload["uploaded_bytes"], 20);
}

#[actix_web::test]
async fn impossible_byte_reports_are_refused_and_the_offload_figures_never_break() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut viewer, _) = TrackerClient::greeted(&app).await;
    viewer.join(&key, &token, SegmentRanges::default()).await;
    let stats = |http_bytes, uploaded_bytes| ClientMessage::Stats {
        swarm: key.clone(),
        http_bytes,
        peer_bytes: 0,
        uploaded_bytes,
    };
    viewer.send(&stats(1_000, u64::MAX)).await;
    assert_eq!(viewer.error_code().await, "invalid_stats", "more than any link carries");
    viewer.send(&stats(1_000, 10)).await;
    viewer.send(&stats(900, 10)).await;
    assert_eq!(viewer.error_code().await, "invalid_stats", "cumulative counters do not go down");
    viewer.sync().await;
    assert!(app.metric("cinemesh_viewer_bytes_total{source=\"uploaded\"}").await < 1e6, "the metric kept sane");

    // Rows written before the bounds existed sum past 2^63: the figures saturate.
    let db = app.database().await;
    for n in 0..3 {
        sqlx::query(
            "INSERT INTO peer_sessions (peer_id, movie_id, rendition, ip, user_agent, joined_at_ms, left_at_ms, \
             http_bytes, peer_bytes, uploaded_bytes) VALUES ($1, 'movie1', '720p', '', '', 0, 1, $2, $2, $2)",
        )
        .bind(format!("old{n}"))
        .bind(i64::MAX)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.close().await;
    let mut res = app
        .client
        .get(app.url("/api/admin/offload/movie1"))
        .insert_header(("authorization", "Bearer test-admin-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let offload: serde_json::Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(offload["uploaded_bytes"].as_i64(), Some(i64::MAX), "{offload}");
}

#[actix_web::test]
async fn reports_hide_a_peer_from_everyone_only_with_evidence_from_three_networks() {
    let (app, token) = app_with_movie(|c| c.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let key = swarm("movie1", "720p");
    let (mut target, id_target) = TrackerClient::greeted_from(&app, Some("198.18.0.1")).await;
    target.join(&key, &token, held(0..=9)).await;
    let (mut observer, _) = TrackerClient::greeted_from(&app, Some("198.18.9.1")).await;
    observer.join(&key, &token, SegmentRanges::default()).await;
    let named = |holders: Vec<(String, SegmentRanges)>| holders.iter().any(|(id, _)| *id == id_target);
    let offer = Signal::Offer { sdp: "v=0\r\n".into() };
    let report =
        ClientMessage::Report { swarm: key.clone(), peer: id_target.clone(), reason: ReportReason::BadSegment };

    // Reporters from `addresses`; those that `talk` exchange signals with the target first, as real peers do.
    let mut reporters = Vec::new();
    let mut file = async |addresses: &[&str], talk: bool| {
        for address in addresses {
            let (mut reporter, id_reporter) = TrackerClient::greeted_from(&app, Some(address)).await;
            reporter.join(&key, &token, SegmentRanges::default()).await;
            if talk {
                // An offer and its answer: the two negotiated a connection.
                reporter
                    .send(&ClientMessage::Signal {
                        swarm: key.clone(),
                        to: id_target.clone(),
                        signal: offer.clone(),
                        lane: None,
                    })
                    .await;
                target
                    .send(&ClientMessage::Signal {
                        swarm: key.clone(),
                        to: id_reporter,
                        signal: offer.clone(),
                        lane: None,
                    })
                    .await;
                // Delivered: the tracker has seen both directions before the report.
                assert!(matches!(reporter.recv().await, ServerMessage::Signal { .. }));
            }
            reporter.send(&report).await;
            reporter.sync().await;
            reporters.push(reporter);
        }
    };
    file(&["192.0.2.1", "192.0.2.2", "192.0.2.3"], true).await;
    assert!(named(observer.who_has(&key, 0, 10).await), "three sockets of one home are one network");
    file(&["203.0.113.1", "198.51.100.1"], false).await;
    assert!(named(observer.who_has(&key, 0, 10).await), "reports from peers that never talked to it do not count");
    file(&["203.0.113.9", "198.51.100.9"], true).await;
    assert!(!named(observer.who_has(&key, 0, 10).await), "three networks with evidence hide it from everyone");
}

#[actix_web::test]
async fn deleting_a_movie_ends_its_swarms_rooms_and_tokens() {
    let (app, token) = app_with_movie(|_| {}).await;
    let key = swarm("movie1", "720p");
    let (mut peer, _) = TrackerClient::greeted(&app).await;
    peer.join(&key, &token, held(0..=9)).await;
    let (status, room) = app.post_json("/api/rooms", &serde_json::json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201);
    let room = room["id"].as_str().unwrap().to_owned();
    let (mut member, _) = crate::room_client::RoomClient::join(&app, &room, "Ana", None).await;

    let mut deleted = app
        .client
        .delete(app.url("/api/admin/movies/movie1"))
        .insert_header(("authorization", "Bearer test-admin-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204, "{:?}", deleted.body().await);

    assert_eq!(peer.error_code().await, "movie_deleted", "the swarm's peers are told");
    assert_eq!(member.error_code().await, "movie_deleted", "so are the room's members");
    let (status, body) = app.get_json(&format!("/api/rooms/{room}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("room_not_found")), "the room is gone");
    let (mut late, _) = TrackerClient::greeted(&app).await;
    late.send(&ClientMessage::Join { swarm: key.clone(), token: token.clone(), holdings: SegmentRanges::default() })
        .await;
    assert_eq!(late.error_code().await, "unknown_rendition", "its tokens admit nobody");
}
