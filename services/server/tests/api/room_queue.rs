//! A room's queue of movies:
//! - the host adds catalog movies, moves and removes them; a member without
//!   control may not; an unknown movie, a stale move, an unknown entry and a
//!   countdown too long are refused with codes; a movie deleted from the
//!   catalog leaves the queue;
//! - a queue of three plays through across two instances sharing Redis: each
//!   switch reaches the members on both within 100 ms of each other, the next
//!   movie starts once both players say they can play it, a member joining
//!   during the second lands in it at the room's position, and the history
//!   lists all three;
//! - a countdown comes before the next movie, and the host may stop it;
//! - the queue, its settings and the history survive a restart.

use std::time::{Duration, Instant};

use cinemesh_protocol::room::{PlaybackCommand, PlaybackState, RoomClientMessage, RoomServerMessage};
use cinemesh_protocol::room_queue::{MAX_SUGGESTIONS, NowPlaying, QueueView, WatchedEntry};
use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;

fn queue(message: RoomServerMessage) -> Option<QueueView> {
    match message {
        RoomServerMessage::Queue { queue } => Some(queue),
        _ => None,
    }
}

fn now_playing(message: RoomServerMessage) -> Option<(NowPlaying, PlaybackState)> {
    match message {
        RoomServerMessage::NowPlaying { now_playing, state, .. } => Some((now_playing, state)),
        _ => None,
    }
}

fn history(message: RoomServerMessage) -> Option<Vec<WatchedEntry>> {
    match message {
        RoomServerMessage::History { history } => Some(history),
        _ => None,
    }
}

fn add(movie: &str) -> RoomClientMessage {
    RoomClientMessage::QueueAdd { movie: movie.into() }
}

/// A player that can play `movie` where the room is.
fn ready_for(movie: &str) -> RoomClientMessage {
    RoomClientMessage::Status {
        buffering: false,
        offset_ms: None,
        shared_bytes: None,
        origin_fetches: None,
        ahead_secs: None,
        top_level: None,
        movie: Some(movie.into()),
        rtt_ms: None,
    }
}

async fn create_room(app: &TestApp, movie: &str) -> String {
    let (status, room) = app.post_json("/api/rooms", &json!({ "movie_id": movie })).await;
    assert_eq!(status, 201, "{room}");
    room["id"].as_str().expect("room id").to_owned()
}

/// An app with Movie One (10 minutes), Movie Two and Movie Three (6 s each), and a room playing Movie One.
async fn app_with_movies() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    app.seed_movie_with_segments("movie2", "Movie Two", "", 1, 3).await;
    app.seed_movie_with_segments("movie3", "Movie Three", "", 1, 3).await;
    let room = create_room(&app, "movie1").await;
    (app, room)
}

#[actix_web::test]
async fn the_host_builds_the_queue_and_bad_changes_are_refused_with_codes() {
    let (app, room) = app_with_movies().await;
    let (mut ana, welcome) = RoomClient::join(&app, &room, "Ana", None).await;
    let RoomServerMessage::Welcome { now_playing, queue: empty, .. } = welcome else { unreachable!() };
    assert_eq!(
        now_playing.map(|n| (n.movie, n.title, n.duration_ms)),
        Some(("movie1".into(), "Movie One".into(), 600_000.0))
    );
    assert_eq!(empty, QueueView::default(), "an empty queue, autoplay on, no countdown");
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;

    ana.send(&add("movie2")).await;
    ana.send(&add("movie3")).await;
    let view = ben.until(|m| queue(m).filter(|q| q.entries.len() == 2)).await;
    let titles: Vec<&str> = view.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(titles, ["Movie Two", "Movie Three"], "everyone sees it, in order");
    assert!(view.entries.iter().all(|e| e.added_by == "Ana" && e.duration_ms == 6_000.0));

    ben.send(&add("movie2")).await;
    assert_eq!(ben.error_code().await, "not_allowed", "the host alone controls playback by default");
    for (movie, code) in [("nope", "movie_not_found"), ("../etc", "invalid_queue"), ("", "invalid_queue")] {
        ana.send(&add(movie)).await;
        assert_eq!(ana.error_code().await, code, "{movie:?}");
    }

    // Two moves based on the same version: the second comes too late.
    let (first, second) = (view.entries[0].id.clone(), view.entries[1].id.clone());
    let based_on = view.version;
    ana.send(&RoomClientMessage::QueueMove { entry: second.clone(), to: 0, based_on }).await;
    ana.send(&RoomClientMessage::QueueMove { entry: first.clone(), to: 0, based_on }).await;
    assert_eq!(ana.error_code().await, "stale_queue");
    let moved = ben.until(|m| queue(m).filter(|q| q.version > based_on)).await;
    assert_eq!(moved.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [second.as_str(), first.as_str()]);
    ana.send(&RoomClientMessage::QueueMove { entry: first.clone(), to: 2, based_on: moved.version }).await;
    assert_eq!(ana.error_code().await, "invalid_queue", "no index 2 in a queue of two");
    ana.send(&RoomClientMessage::QueueRemove { entry: "q999".into() }).await;
    assert_eq!(ana.error_code().await, "unknown_entry");
    ana.send(&RoomClientMessage::QueueSettings { autoplay: true, countdown_secs: 61, suggestions: None }).await;
    assert_eq!(ana.error_code().await, "invalid_queue");
    ana.send(&RoomClientMessage::CancelCountdown).await;
    assert_eq!(ana.error_code().await, "no_countdown");

    // A movie deleted from the catalog leaves the queue.
    let mut deleted = app
        .client
        .delete(app.url("/api/admin/movies/movie3"))
        .insert_header(("authorization", format!("Bearer {ADMIN_TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204, "{:?}", deleted.body().await);
    let left = ben.until(|m| queue(m).filter(|q| q.entries.len() == 1)).await;
    assert_eq!(left.entries[0].movie, "movie2");
    ana.send(&RoomClientMessage::QueueRemove { entry: first }).await;
    assert!(ben.until(|m| queue(m).filter(|q| q.entries.is_empty())).await.entries.is_empty());

    // The host lets everyone suggest: Ben adds a few, and no more; he still may not change the rest.
    let settings = |suggestions| RoomClientMessage::QueueSettings { autoplay: true, countdown_secs: 0, suggestions };
    ana.send(&settings(Some(true))).await;
    ben.until(|m| queue(m).filter(|q| q.suggestions)).await;
    for _ in 0..MAX_SUGGESTIONS {
        ben.send(&add("movie2")).await;
    }
    let suggested = ben.until(|m| queue(m).filter(|q| q.entries.len() == MAX_SUGGESTIONS)).await;
    assert!(suggested.entries.iter().all(|e| e.suggested && e.added_by == "Ben"), "{suggested:?}");
    ben.send(&add("movie2")).await;
    assert_eq!(ben.error_code().await, "too_many_suggestions");
    ben.send(&RoomClientMessage::QueueRemove { entry: suggested.entries[0].id.clone() }).await;
    assert_eq!(ben.error_code().await, "not_allowed", "suggesting is all");
    ana.send(&settings(Some(false))).await;
    ben.until(|m| queue(m).filter(|q| !q.suggestions)).await;
    ben.send(&add("movie1")).await;
    assert_eq!(ben.error_code().await, "not_allowed");
}

#[actix_web::test]
async fn a_queue_of_three_plays_through_for_everyone_across_two_instances() {
    let first = TestApp::spawn_with(fresh_redis_namespace).await;
    for (id, title) in [("short1", "Short One"), ("short2", "Short Two"), ("short3", "Short Three")] {
        // One 2 s segment each.
        first.seed_movie_with_segments(id, title, "", 1, 1).await;
    }
    let storage = first.config.storage.clone();
    let second = TestApp::spawn_with(|c| c.storage = storage).await;
    let room = create_room(&first, "short1").await;
    let (mut ana, welcome) = RoomClient::join(&first, &room, "Ana", None).await;
    let RoomServerMessage::Welcome { playback, .. } = welcome else { unreachable!() };
    let (mut ben, _) = RoomClient::join(&second, &room, "Ben", None).await;
    ana.send(&add("short2")).await;
    ana.send(&add("short3")).await;
    ben.until(|m| queue(m).filter(|q| q.entries.len() == 2)).await;

    ana.send(&RoomClientMessage::Control {
        based_on: playback.seq,
        command: PlaybackCommand::Play { position_ms: 0.0 },
    })
    .await;
    for next in ["short2", "short3"] {
        // Both hear of the switch at the end, on either instance, at the same moment.
        let (heard_a, heard_b) = tokio::join!(
            async {
                let (playing, state) = ana.until(now_playing).await;
                (playing, state, Instant::now())
            },
            async {
                let (playing, _) = ben.until(now_playing).await;
                (playing, Instant::now())
            }
        );
        let ((playing, state, at_a), (playing_b, at_b)) = (heard_a, heard_b);
        let apart = at_a.max(at_b) - at_a.min(at_b);
        println!("the switch to {next} reached the two instances' members {} ms apart", apart.as_millis());
        assert!(apart <= Duration::from_millis(100), "{apart:?}");
        assert_eq!((playing.movie.as_str(), playing_b.movie.as_str()), (next, next));
        assert_eq!((state.position_ms, state.playing), (0.0, false), "held at its start until the players can play it");
        // The room starts it once both players say they can.
        ana.send(&ready_for(next)).await;
        ben.send(&ready_for(next)).await;
        let started = ana
            .until(|m| match m {
                RoomServerMessage::Playback { state, .. } if state.playing => Some(state),
                _ => None,
            })
            .await;
        assert_eq!(started.position_ms, 0.0);
        if next == "short2" {
            // A member joining now lands in the second movie, at the room's position.
            let (_cy, welcome) = RoomClient::join(&second, &room, "Cy", None).await;
            let RoomServerMessage::Welcome { movie, now_playing, playback, .. } = welcome else { unreachable!() };
            assert_eq!(movie, "short2");
            assert_eq!(now_playing.map(|n| n.title), Some("Short Two".into()));
            assert!(playback.playing && playback.seq == started.seq, "{playback:?}");
        }
    }
    // The last one ends, and the room stays at its end: nothing is left to play.
    let ended = ana
        .until(|m| match m {
            RoomServerMessage::Playback { state, .. } => Some(state),
            _ => None,
        })
        .await;
    assert!(!ended.playing && ended.position_ms == 2_000.0, "{ended:?}");
    let watched = ana.until(|m| history(m).filter(|h| h.len() == 3)).await;
    let movies: Vec<(&str, bool)> = watched.iter().map(|w| (w.movie.as_str(), w.finished)).collect();
    assert_eq!(movies, [("short1", true), ("short2", true), ("short3", true)]);
    assert!(watched.iter().all(|w| w.watched_ms == 2_000.0 && w.ended_at_ms >= w.started_at_ms));
}

#[actix_web::test]
async fn a_countdown_comes_before_the_next_movie_and_the_host_may_stop_it() {
    let app = TestApp::spawn().await;
    for (id, title) in [("short1", "Short One"), ("short2", "Short Two"), ("short3", "Short Three")] {
        app.seed_movie_with_segments(id, title, "", 1, 1).await;
    }
    let room = create_room(&app, "short1").await;
    let (mut ana, welcome) = RoomClient::join(&app, &room, "Ana", None).await;
    let RoomServerMessage::Welcome { playback, .. } = welcome else { unreachable!() };
    ana.send(&RoomClientMessage::QueueSettings { autoplay: true, countdown_secs: 1, suggestions: None }).await;
    ana.send(&add("short2")).await;
    ana.send(&add("short3")).await;
    ana.until(|m| queue(m).filter(|q| q.entries.len() == 2 && q.countdown_secs == 1)).await;
    ana.send(&RoomClientMessage::Control {
        based_on: playback.seq,
        command: PlaybackCommand::Play { position_ms: 0.0 },
    })
    .await;

    let counting = ana.until(|m| queue(m).filter(|q| q.countdown.is_some())).await;
    let counted_from = Instant::now();
    let countdown = counting.countdown.expect("a countdown");
    assert_eq!(countdown.entry, counting.entries[0].id, "to the first entry");
    let (playing, _) = ana.until(now_playing).await;
    let waited = counted_from.elapsed();
    println!("the next movie came {} ms after its 1 s countdown began", waited.as_millis());
    assert_eq!(playing.movie, "short2");
    assert!(waited >= Duration::from_millis(700), "{waited:?}");

    // A longer countdown for the second, so that stopping it cannot come too late.
    let settings =
        |countdown_secs| RoomClientMessage::QueueSettings { autoplay: true, countdown_secs, suggestions: None };
    ana.send(&settings(5)).await;
    ana.send(&ready_for("short2")).await;
    // The second ends too; the host stops its countdown, and the room stays at the end.
    ana.until(|m| queue(m).filter(|q| q.countdown.is_some())).await;
    ana.send(&RoomClientMessage::CancelCountdown).await;
    let stopped = ana.until(queue).await;
    assert!(stopped.countdown.is_none() && stopped.entries.len() == 1, "{stopped:?}");
    let quiet = tokio::time::timeout(Duration::from_millis(1_500), ana.until(now_playing)).await;
    assert!(quiet.is_err(), "nothing started: {quiet:?}");

    // Settings changed while the room sits at the end with a movie queued: its countdown starts again.
    ana.send(&settings(5)).await;
    let again = ana.until(|m| queue(m).filter(|q| q.countdown.is_some())).await;
    assert_eq!(again.countdown.map(|c| c.entry), Some(again.entries[0].id.clone()));
    // Another movie played now during the countdown: that countdown is off.
    ana.send(&add("short1")).await;
    let with_first = ana.until(|m| queue(m).filter(|q| q.entries.len() == 2)).await;
    ana.send(&RoomClientMessage::QueuePlay { entry: with_first.entries[1].id.clone() }).await;
    let (playing, _) = ana.until(now_playing).await;
    assert_eq!(playing.movie, "short1");
    let after = ana.until(queue).await;
    assert!(after.countdown.is_none() && after.entries.len() == 1, "{after:?}");
    let history = ana.until(history).await;
    let ended: Vec<(&str, bool)> = history.iter().map(|w| (w.movie.as_str(), w.finished)).collect();
    assert_eq!(ended, [("short1", true), ("short2", true)], "the second went to the history once, as ended");
}

#[actix_web::test]
async fn the_queue_its_settings_and_the_history_survive_a_restart() {
    let (app, room) = app_with_movies().await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    ana.send(&add("movie2")).await;
    ana.send(&add("movie3")).await;
    ana.send(&RoomClientMessage::QueueSettings { autoplay: false, countdown_secs: 5, suggestions: Some(true) }).await;
    let view = ana.until(|m| queue(m).filter(|q| q.entries.len() == 2 && !q.autoplay)).await;
    // Movie Three now: Movie One goes to the history, not finished.
    ana.send(&RoomClientMessage::QueuePlay { entry: view.entries[1].id.clone() }).await;
    let (playing, _) = ana.until(now_playing).await;
    assert_eq!(playing.movie, "movie3");
    drop(ana);
    app.flush_room_writes().await;

    let app = app.restart().await;
    let (_ana, welcome) = RoomClient::join(&app, &room, "Ana again", None).await;
    let RoomServerMessage::Welcome { movie, now_playing, queue, history, .. } = welcome else { unreachable!() };
    assert_eq!(movie, "movie3");
    assert_eq!(now_playing.map(|n| (n.title, n.duration_ms)), Some(("Movie Three".into(), 6_000.0)));
    assert_eq!(queue.entries.iter().map(|e| e.movie.as_str()).collect::<Vec<_>>(), ["movie2"]);
    assert_eq!((queue.autoplay, queue.countdown_secs, queue.suggestions), (false, 5, true));
    assert_eq!(history.iter().map(|w| (w.movie.as_str(), w.finished)).collect::<Vec<_>>(), [("movie1", false)]);
    let summary = app.get_json(&format!("/api/rooms/{room}")).await.1;
    assert_eq!(summary["movie_id"], "movie3", "the room's page opens on the movie it plays");
}
