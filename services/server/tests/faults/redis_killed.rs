//! Redis SIGKILLed under a party spanning two `cinemesh` processes (one
//! Postgres database, the test's own Redis), then started again, empty, on
//! the same port.
//!
//! Two rooms, one homed on each process, each with two members on its home
//! and one on the other process, both playing. While Redis is gone:
//! - on each room's home, chat and playback commands still reach its members;
//! - no socket is dropped and no member is told to move (`room_moved`):
//!   members on the other process still get pongs from it;
//! - `/readyz` names Redis as unavailable, `/healthz` answers, and neither
//!   process exits or panics.
//!
//! Once Redis is back, within 5 s (the time is printed):
//! - a tracker peer whose holdings changed during the outage is introduced
//!   across processes with its current holdings;
//! - two new peers, one on each process, find each other and their
//!   signalling crosses.
//!
//! And over the 7 s after Redis is back, past the homes' next lease renewals
//! and checks of each other (every 3 s) against a Redis that forgot every
//! lease and script: the members on the other process hear their room again
//! and are heard, no socket drops and no room moves, and a newcomer through
//! the other process joins the running room (its host online in it), not a
//! second copy of it.

use std::time::{Duration, Instant};

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::room::{ChatKind, PlaybackCommand, RoomClientMessage, RoomServerMessage};
use cinemesh_protocol::tracker::{ClientMessage, ServerMessage, Signal, SwarmKey};
use serde_json::json;

use crate::helpers::{PostgresDatabase, ServerProcess, assert_log_has_no_panic};
use crate::own_services::{OwnRedis, Storage, eventually, one_at_a_time};
use crate::room_client::RoomClient;
use crate::tracker_client::TrackerClient;
use crate::ws_client::Ending;

/// The tracker must work across processes again this soon after Redis returns.
const TRACKER_RECOVERY: Duration = Duration::from_secs(5);
/// How long Redis stays away: past lease renewals and home checks (every
/// 3 s), and long enough for reconnection tries to back off.
const OUTAGE: Duration = Duration::from_secs(7);
/// How long after Redis returns members are watched for a room moving.
const ROOMS_SETTLE: Duration = Duration::from_secs(7);

/// The next message `pick` accepts within `within`, or `None`. Panics when the
/// socket ends or the room reports an error (such as `room_moved`): nothing
/// about a Redis outage may cost a member its connection.
async fn heard<T>(
    member: &mut RoomClient,
    within: Duration,
    pick: impl Fn(&RoomServerMessage) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        match member.next(deadline.saturating_duration_since(Instant::now())).await {
            Ok(RoomServerMessage::Error { code, message }) => {
                panic!("member {} was told {code}: {message}", member.member)
            }
            Ok(message) => {
                if let Some(found) = pick(&message) {
                    return Some(found);
                }
            }
            Err(Ending::Silence) => return None,
            Err(Ending::Closed(reason)) => panic!("member {}'s socket closed: {reason:?}", member.member),
        }
    }
}

/// Sends, or panics saying whose socket is gone.
async fn say(member: &mut RoomClient, message: &RoomClientMessage) {
    assert!(member.try_send(message).await, "member {}'s socket is gone", member.member);
}

async fn must_hear<T>(member: &mut RoomClient, what: &str, pick: impl Fn(&RoomServerMessage) -> Option<T>) -> T {
    let who = member.member.clone();
    heard(member, Duration::from_secs(5), pick).await.unwrap_or_else(|| panic!("{who} did not hear {what}"))
}

fn chat_starting(prefix: &str) -> impl Fn(&RoomServerMessage) -> Option<String> + '_ {
    move |message| match message {
        RoomServerMessage::Chat { message } if message.kind == ChatKind::User && message.text.starts_with(prefix) => {
            Some(message.text.clone())
        }
        _ => None,
    }
}

fn playback(message: &RoomServerMessage) -> Option<(bool, u64)> {
    match message {
        RoomServerMessage::Playback { state, .. } => Some((state.playing, state.seq)),
        _ => None,
    }
}

/// A round trip to the process serving the member's socket.
async fn pong(member: &mut RoomClient) {
    say(member, &RoomClientMessage::Ping { t: 42.0 }).await;
    must_hear(member, "a pong", |m| matches!(m, RoomServerMessage::Pong { t, .. } if *t == 42.0).then_some(())).await;
}

/// A room homed on `home`: two members there, one on `other`, playing.
struct Party {
    room: String,
    host: RoomClient,
    local: RoomClient,
    remote: RoomClient,
}

impl Party {
    async fn start(home: &ServerProcess, other: &ServerProcess, names: [&str; 3]) -> Self {
        let (status, room) = home.address.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
        assert_eq!(status, 201, "{room}");
        let room = room["id"].as_str().unwrap().to_owned();
        let (mut host, _) = RoomClient::join(&home.address, &room, names[0], None).await;
        let (mut local, _) = RoomClient::join(&home.address, &room, names[1], None).await;
        let (mut remote, _) = RoomClient::join(&other.address, &room, names[2], None).await;
        host.until_roster(|r| r.named(names[2]).map(|_| ())).await;
        host.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 0.0 } })
            .await;
        for member in [&mut host, &mut local, &mut remote] {
            assert_eq!(must_hear(member, "the play", playback).await, (true, 1));
        }
        Self { room, host, local, remote }
    }

    /// On the room's home, with Redis gone: chat and a pause reach the other member there.
    async fn goes_on_at_home(&mut self) {
        let text = format!("{} says: still here", self.room);
        say(&mut self.host, &RoomClientMessage::Chat { text: text.clone(), nonce: None }).await;
        assert_eq!(must_hear(&mut self.local, "chat on the home", chat_starting(&self.room)).await, text);
        let pause = PlaybackCommand::Pause { position_ms: 7_000.0 };
        say(&mut self.host, &RoomClientMessage::Control { based_on: 1, command: pause }).await;
        assert_eq!(must_hear(&mut self.local, "the pause", playback).await, (false, 2));
        assert_eq!(must_hear(&mut self.host, "the pause", playback).await, (false, 2));
        // The member on the other process keeps its socket, served there.
        pong(&mut self.remote).await;
    }

    /// `name` joins through `other`, the process that is not the home: the
    /// host is online in its welcome, and the host sees it join.
    async fn newcomer_joins_the_running_room(&mut self, other: &ServerProcess, name: &str) {
        let (newcomer, _) = RoomClient::join(&other.address, &self.room, name, None).await;
        let host = self.host.member.clone();
        let seen_host = newcomer.roster.members.get(&host).map(|m| m.online);
        assert_eq!(seen_host, Some(true), "{name} joined the room where its host is online: {:?}", newcomer.roster);
        let joined = heard(&mut self.host, Duration::from_secs(5), |m| match m {
            RoomServerMessage::MembersChanged { changed, .. } => changed.iter().any(|v| v.name == name).then_some(()),
            _ => None,
        })
        .await;
        assert!(joined.is_some(), "the host saw {name} join");
    }

    /// Chat from the home reaches the member on the other process, and back:
    /// each sends again every 300 ms until heard (what is relayed while Redis
    /// is gone is lost, as the README says of relayed messages).
    async fn heard_across_again(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        for (from_home, prefix) in [(true, "from the home"), (false, "from the other process")] {
            let mut attempt = 0;
            loop {
                assert!(Instant::now() < deadline, "{}: {prefix} not heard across within {within:?}", self.room);
                attempt += 1;
                let text = format!("{prefix} #{attempt}");
                let (speaker, listener) =
                    if from_home { (&mut self.host, &mut self.remote) } else { (&mut self.remote, &mut self.host) };
                say(speaker, &RoomClientMessage::Chat { text, nonce: None }).await;
                if heard(listener, Duration::from_millis(300), chat_starting(prefix)).await.is_some() {
                    break;
                }
            }
        }
    }
}

/// Every member of both parties reads what comes until `until`; none may be
/// told of an error (such as `room_moved`) or lose its socket meanwhile.
async fn nothing_goes_wrong(parties: [&mut Party; 2], until: Instant) {
    let within = until.saturating_duration_since(Instant::now());
    let [a, b] = parties;
    let members = [&mut a.host, &mut a.local, &mut a.remote, &mut b.host, &mut b.local, &mut b.remote];
    futures_util::future::join_all(members.map(|m| heard(m, within, |_| None::<()>))).await;
}

async fn readiness(server: &ServerProcess) -> (u16, serde_json::Value) {
    server.address.get_json("/readyz").await
}

#[actix_web::test]
async fn redis_killed_mid_party_then_restarted() {
    let _one = one_at_a_time().await;
    let mut redis = OwnRedis::start().await;
    let database = PostgresDatabase::create().await;
    let storage = Storage::new(|c| {
        c.storage.database_url = database.url.clone().into();
        c.storage.redis_url = redis.url().into();
    });
    storage.seed_movie("movie1", 300).await;
    let (log_one, log_two) = (storage.log("one"), storage.log("two"));
    let mut one = ServerProcess::start_logging_to(&storage.config, &log_one).await;
    let mut two = ServerProcess::start_logging_to(&storage.config, &log_two).await;

    let mut homed_on_one = Party::start(&one, &two, ["Ana", "Al", "Ben"]).await;
    let mut homed_on_two = Party::start(&two, &one, ["Cy", "Cal", "Dan"]).await;

    // A swarm across the two processes.
    let (_, detail) = one.address.get_json("/api/movies/movie1").await;
    let token = detail["tracker"]["token"].as_str().unwrap().to_owned();
    let swarm = SwarmKey { movie: "movie1".into(), rendition: "360p".into() };
    let (mut holder, holder_id) = TrackerClient::greeted(&one.address).await;
    holder.join(&swarm, &token, SegmentRanges::from_sequences(0..=9)).await;
    let (mut seeker, _) = TrackerClient::greeted(&two.address).await;
    seeker.join(&swarm, &token, SegmentRanges::default()).await;
    let holders = seeker.holders_until(&swarm, 0, 10, |h| !h.is_empty()).await;
    assert_eq!(holders.iter().map(|(p, _)| p).collect::<Vec<_>>(), [&holder_id], "introduced across processes");

    redis.kill();
    let killed = Instant::now();
    for server in [&one, &two] {
        let (status, body) = eventually("/readyz names Redis as unavailable", Duration::from_secs(10), || async move {
            let (status, body) = readiness(server).await;
            (status == 503).then_some((status, body))
        })
        .await;
        assert_eq!((status, &body["redis"], &body["database"]), (503, &json!("unavailable"), &json!("ok")), "{body}");
        assert_eq!(server.address.get_json("/healthz").await.0, 200);
    }
    homed_on_one.goes_on_at_home().await;
    homed_on_two.goes_on_at_home().await;
    // The holder fetched more while Redis was gone: its instance cannot write that yet.
    holder
        .send(&ClientMessage::Have {
            swarm: swarm.clone(),
            added: SegmentRanges::from_sequences(10..=19),
            dropped: SegmentRanges::default(),
        })
        .await;
    holder.sync().await;
    let remaining = OUTAGE.saturating_sub(killed.elapsed());
    actix_web::rt::time::sleep(remaining).await;
    for party in [&mut homed_on_one, &mut homed_on_two] {
        for member in [&mut party.host, &mut party.local, &mut party.remote] {
            pong(member).await;
        }
    }
    assert!(one.exit_status().is_none() && two.exit_status().is_none(), "both processes run through the outage");

    redis.start_again().await;
    let back = Instant::now();
    println!("Redis was gone for {:?}", back - killed);

    // The holder is introduced across processes again, with what it holds now.
    let deadline = back + TRACKER_RECOVERY;
    loop {
        let holders = seeker.who_has(&swarm, 10, 10).await;
        if holders.iter().any(|(peer, holds)| peer == &holder_id && holds.iter().any(|s| s == 19)) {
            break;
        }
        assert!(Instant::now() < deadline, "the holder's current holdings are not seen across: {holders:?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let holder_back = back.elapsed();
    // New peers on each process find each other, and their signalling crosses.
    let (mut fresh_holder, fresh_id) = TrackerClient::greeted(&two.address).await;
    fresh_holder.join(&swarm, &token, SegmentRanges::from_sequences(100..=104)).await;
    let (mut fresh_seeker, fresh_seeker_id) = TrackerClient::greeted(&one.address).await;
    fresh_seeker.join(&swarm, &token, SegmentRanges::default()).await;
    loop {
        let holders = fresh_seeker.who_has(&swarm, 100, 5).await;
        if holders.iter().any(|(peer, _)| peer == &fresh_id) {
            break;
        }
        assert!(Instant::now() < deadline, "a new peer is not introduced across: {holders:?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let offer = Signal::Offer { sdp: "v=0".into() };
    let signal_crossed = loop {
        assert!(Instant::now() < deadline, "no signal crossed within {TRACKER_RECOVERY:?}");
        fresh_seeker
            .send(&ClientMessage::Signal {
                swarm: swarm.clone(),
                to: fresh_id.clone(),
                signal: offer.clone(),
                lane: None,
            })
            .await;
        match fresh_holder.next(Duration::from_millis(300)).await {
            Ok(ServerMessage::Signal { from, signal, .. }) => break (from, signal),
            Ok(other) => panic!("expected a signal, got {other:?}"),
            Err(Ending::Silence) => continue,
            Err(ending) => panic!("the tracker socket ended: {ending:?}"),
        }
    };
    assert_eq!(signal_crossed, (fresh_seeker_id, offer));
    let tracker_back = back.elapsed();
    println!(
        "tracker recovered {} ms after Redis came back (the holdings changed during the outage were seen \
         across after {} ms; then new peers were introduced and signalled across)",
        tracker_back.as_millis(),
        holder_back.as_millis(),
    );
    assert!(tracker_back <= TRACKER_RECOVERY, "tracker recovery took {tracker_back:?}");

    // The rooms are heard across processes again; nobody lost a socket.
    homed_on_one.heard_across_again(Duration::from_secs(10)).await;
    homed_on_two.heard_across_again(Duration::from_secs(10)).await;
    println!("both rooms heard across processes {} ms after Redis came back", back.elapsed().as_millis());
    // Past the homes' next lease renewals and checks (every 3 s), which find
    // a Redis that forgot every lease: the rooms stay where they are.
    nothing_goes_wrong([&mut homed_on_one, &mut homed_on_two], back + ROOMS_SETTLE).await;
    homed_on_one.heard_across_again(Duration::from_secs(5)).await;
    homed_on_two.heard_across_again(Duration::from_secs(5)).await;
    // Each room still has one home, which holds its lease again: a newcomer
    // through the other process joins the running room, not a second copy.
    homed_on_one.newcomer_joins_the_running_room(&two, "Eve").await;
    homed_on_two.newcomer_joins_the_running_room(&one, "Fay").await;
    for server in [&one, &two] {
        eventually("/readyz is ready again", Duration::from_secs(5), || async move {
            (readiness(server).await.0 == 200).then_some(())
        })
        .await;
    }
    for party in [&mut homed_on_one, &mut homed_on_two] {
        for member in [&mut party.host, &mut party.local, &mut party.remote] {
            pong(member).await;
        }
    }
    assert!(one.exit_status().is_none() && two.exit_status().is_none(), "both processes still run");
    assert_log_has_no_panic(&log_one);
    assert_log_has_no_panic(&log_two);
}
