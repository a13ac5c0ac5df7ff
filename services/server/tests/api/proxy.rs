//! Two `cinemesh` processes on one database and one Redis, behind Debian's
//! nginx running `deploy/nginx.conf`, the compose file's proxy, with only its
//! upstream servers and port replaced:
//! - the API and the room and tracker sockets work through it (WebSockets
//!   are upgraded);
//! - a room with members through the proxy and on each instance works:
//!   everyone is listed, chat and play/pause reach everyone;
//! - a swarm spans both instances: a peer reaching the tracker through the
//!   proxy, and one on the other instance, are introduced to a holder;
//! - an instance whose address does not answer (a stopped container's) costs
//!   a request or a room socket a few seconds, not nginx's default minute.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::room::{PlaybackCommand, RoomClientMessage, RoomServerMessage};
use cinemesh_protocol::tracker::SwarmKey;
use serde_json::json;

use crate::helpers::{Address, ServerProcess, TestApp, fresh_redis_namespace};
use crate::room_client::RoomClient;
use crate::tracker_client::TrackerClient;

const SECRET: &str = "proxy-test-secret";

struct Proxy {
    child: Child,
    address: Address,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    /// SIGTERM, so the master stops its workers (a SIGKILLed master leaves them running).
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// deploy/nginx.conf with `upstreams` (host:port) and a free local port.
fn proxy_config(upstreams: &[String], port: u16) -> String {
    let config = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"))
        .expect("deploy/nginx.conf");
    let start = config.find("# BEGIN upstream servers").expect("the upstream servers' start marker");
    let end = config.find("# END upstream servers").expect("the upstream servers' end marker");
    let servers: String =
        upstreams.iter().map(|u| format!("server {u} max_fails=1 fail_timeout=5s;\n        ")).collect();
    let config = format!("{}{servers}{}", &config[..start], &config[end..]);
    assert!(config.contains("listen 8080;"), "the proxy listens on 8080");
    config.replacen("listen 8080;", &format!("listen 127.0.0.1:{port};"), 1)
}

impl Proxy {
    fn start(upstreams: &[String]) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nginx is installed (apt-get install nginx)");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, proxy_config(upstreams, port)).unwrap();
        let globals = format!("daemon off; pid {0}/nginx.pid; error_log {0}/logs/error.log;", dir.path().display());
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg(globals)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("logs/stderr.log")).unwrap())
            .spawn()
            .expect("nginx starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = ["logs/error.log", "logs/stderr.log"]
                .map(|f| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default())
                .join("\n");
            assert!(Instant::now() < deadline, "nginx did not start listening: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, address: Address::new(format!("http://127.0.0.1:{port}")), _dir: dir }
    }
}

/// Two `cinemesh` processes sharing a database and Redis, with a movie, and the
/// proxy in front; the app (in this process) only holds the storage.
async fn two_processes_behind_the_proxy() -> (TestApp, ServerProcess, ServerProcess, Proxy) {
    let first = TestApp::spawn_with(|c| {
        fresh_redis_namespace(c);
        c.tracker.secret = SECRET.into();
    })
    .await;
    first.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let one = ServerProcess::start(&first).await;
    let two = ServerProcess::start(&first).await;
    let upstreams = [&one, &two].map(|p| p.address.base.trim_start_matches("http://").to_owned());
    let proxy = Proxy::start(&upstreams);
    (first, one, two, proxy)
}

fn chat_text(message: RoomServerMessage) -> Option<String> {
    match message {
        RoomServerMessage::Chat { message } => Some(message.text),
        _ => None,
    }
}

#[actix_web::test]
async fn a_room_works_through_the_proxy_with_members_on_both_instances() {
    let (_storage, first, second, proxy) = two_processes_behind_the_proxy().await;
    let (first, second) = (&first.address, &second.address);
    let (status, page) = proxy.address.get_json("/api/movies").await;
    assert_eq!((status, page["total"].as_i64()), (200, Some(1)));
    let (status, room) = proxy.address.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
    assert_eq!(status, 201, "{room}");
    let room = room["id"].as_str().unwrap().to_owned();

    let (mut ana, _) = RoomClient::join(&proxy.address, &room, "Ana", None).await;
    let (mut ben, _) = RoomClient::join(first, &room, "Ben", None).await;
    let (mut cy, welcome) = RoomClient::join(second, &room, "Cy", None).await;
    let RoomServerMessage::Welcome { members, .. } = welcome else { unreachable!() };
    assert_eq!(members.len(), 3, "one room, whichever way its members came in");

    cy.send(&RoomClientMessage::Chat { text: "hi from the second instance".into(), nonce: None }).await;
    for member in [&mut ana, &mut ben] {
        assert_eq!(
            member.until(|m| chat_text(m).filter(|t| t.starts_with("hi from"))).await,
            "hi from the second instance"
        );
    }
    ana.send(&RoomClientMessage::Control { based_on: 0, command: PlaybackCommand::Play { position_ms: 1_000.0 } })
        .await;
    ana.send(&RoomClientMessage::Control { based_on: 1, command: PlaybackCommand::Pause { position_ms: 1_500.0 } })
        .await;
    for member in [&mut ben, &mut cy] {
        let paused = member
            .until(|m| match m {
                RoomServerMessage::Playback { state, .. } if !state.playing => Some(state),
                _ => None,
            })
            .await;
        assert_eq!((paused.seq, paused.position_ms), (2, 1_500.0));
    }
}

#[actix_web::test]
async fn a_swarm_spans_both_instances_through_the_proxy() {
    let (_storage, first, second, proxy) = two_processes_behind_the_proxy().await;
    let (first, second) = (&first.address, &second.address);
    let (_, detail) = proxy.address.get_json("/api/movies/movie1").await;
    let token = detail["tracker"]["token"].as_str().expect("a tracker token").to_owned();
    let key = SwarmKey { movie: "movie1".into(), rendition: "720p".into() };
    let held = SegmentRanges::from_sequences(0..=9);

    let (mut holder, holder_id) = TrackerClient::greeted(first).await;
    holder.join(&key, &token, held.clone()).await;
    let (mut through_proxy, _) = TrackerClient::greeted(&proxy.address).await;
    through_proxy.join(&key, &token, SegmentRanges::default()).await;
    let (mut on_second, _) = TrackerClient::greeted(second).await;
    on_second.join(&key, &token, SegmentRanges::default()).await;
    for asker in [&mut through_proxy, &mut on_second] {
        let holders = asker.holders_until(&key, 0, 10, |h| !h.is_empty()).await;
        assert_eq!(holders, vec![(holder_id.clone(), held.clone())], "the holder is introduced across instances");
    }
}

/// A listener that never accepts, with its queue full: a connection to it is
/// neither accepted nor refused (its SYN is dropped), as with the address of a
/// container that stopped. Keep both alive while it is used.
fn unanswering_upstream() -> (tokio::net::TcpListener, Vec<std::net::TcpStream>, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
        queued.push(stream);
        assert!(queued.len() < 16, "the listener's queue never filled");
    }
    (listener, queued, address.to_string())
}

#[actix_web::test]
async fn an_instance_that_does_not_answer_costs_seconds_not_a_minute() {
    let app = TestApp::spawn_with(fresh_redis_namespace).await;
    app.seed_movie_with_segments("movie1", "Movie One", "", 1, 300).await;
    let alive = ServerProcess::start(&app).await;
    let (_listener, _queued, silent) = unanswering_upstream();
    let proxy = Proxy::start(&[silent, alive.address.base.trim_start_matches("http://").to_owned()]);

    // Requests spread by request id, room sockets by room id: some of each go to the silent one first.
    for i in 0..6 {
        let started = Instant::now();
        let (status, room) = proxy.address.post_json("/api/rooms", &json!({ "movie_id": "movie1" })).await;
        assert_eq!(status, 201, "{room}");
        let room = room["id"].as_str().unwrap().to_owned();
        let (_member, welcome) = RoomClient::join(&proxy.address, &room, &format!("Member {i}"), None).await;
        assert!(matches!(welcome, RoomServerMessage::Welcome { .. }), "{welcome:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "room {i}: created and joined in {took:?}");
    }
}
