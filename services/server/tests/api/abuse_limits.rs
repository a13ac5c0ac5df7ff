//! Limits that keep one client from holding what everyone shares:
//! - sockets of every kind are capped per client address (429) and in total
//!   (503), before the upgrade, and a closed socket frees its place;
//! - behind a trusted proxy the address is the one it forwards, and from
//!   anyone else `X-Forwarded-For` is ignored;
//! - an `/announce` connection is in at most 4 swarms with at most 4 peer
//!   ids, and one that announces nothing is closed even if it answers pings.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ws_client::{Ending, JsonSocket};

/// The status of a WebSocket upgrade to `path`, with extra headers.
async fn upgrade_status(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = app.client.ws(app.url(path).replacen("http://", "ws://", 1));
    for (name, value) in headers {
        request = request.set_header(*name, *value);
    }
    match request.connect().await {
        Ok(_) => 101,
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

#[actix_web::test]
async fn sockets_are_capped_per_address_and_in_total() {
    let app = TestApp::spawn_with(|c| {
        c.server.max_connections_per_address = 3;
        c.server.max_connections = 5;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let mut held = Vec::new();
    for path in ["/api/lobby/socket", "/tracker", "/announce"] {
        held.push(JsonSocket::connect(&app, path).await);
    }
    // The connections above came straight from 127.0.0.1, a trusted proxy with no header: its own address.
    assert_eq!(upgrade_status(&app, "/api/lobby/socket", &[]).await, 429);
    let refused = app.client.get(app.url("/tracker")).insert_header(("upgrade", "websocket")).send().await;
    let mut refused = refused.unwrap();
    let body: Value = serde_json::from_slice(&refused.body().await.unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_connections");

    // Through the proxy, each forwarded client has its own budget; a forged head is ignored.
    let forwarded = [("x-forwarded-for", "6.6.6.6, 192.0.2.10")];
    let mut through_proxy = Vec::new();
    for _ in 0..2 {
        through_proxy.push(JsonSocket::connect_with(&app, "/announce", &forwarded).await);
    }
    assert_eq!(upgrade_status(&app, "/announce", &forwarded).await, 503, "five sockets in all: the instance is full");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(upgrade_status(&app, "/announce", &[("x-forwarded-for", "192.0.2.11")]).await, 101, "a place freed");
}

fn announce(info_hash: &str, peer_id: &str, event: Option<&str>) -> Value {
    let mut message = json!({ "action": "announce", "info_hash": info_hash, "peer_id": peer_id, "numwant": 5 });
    if let Some(event) = event {
        message["event"] = json!(event);
    }
    message
}

/// A 20-character binary id made of `c`.
fn id(c: char) -> String {
    std::iter::repeat_n(c, 20).collect()
}

/// The next failure reason on the socket, skipping other answers.
async fn next_failure(socket: &mut JsonSocket) -> String {
    loop {
        let message: Value = socket.next(Duration::from_secs(5)).await.expect("a message");
        if let Some(reason) = message["failure reason"].as_str() {
            return reason.to_owned();
        }
    }
}

#[actix_web::test]
async fn an_announce_connection_is_in_four_swarms_with_four_peer_ids_at_most() {
    let app = TestApp::spawn().await;
    let mut socket = JsonSocket::connect(&app, "/announce").await;
    for hash in ['a', 'b', 'c', 'd'] {
        socket.send(&announce(&id(hash), &id('p'), Some("started"))).await;
    }
    socket.send(&announce(&id('e'), &id('p'), Some("started"))).await;
    assert!(next_failure(&mut socket).await.contains("too many swarms"));
    socket.send(&announce(&id('a'), &id('p'), Some("stopped"))).await;
    socket.send(&announce(&id('e'), &id('p'), Some("started"))).await;
    socket.send(&announce(&id('f'), &id('p'), Some("started"))).await;
    assert!(next_failure(&mut socket).await.contains("too many swarms"), "e took a's place, f has none");

    let mut peers = JsonSocket::connect(&app, "/announce").await;
    for peer in ['1', '2', '3', '4', '5'] {
        peers.send(&announce(&id('a'), &id(peer), None)).await;
    }
    assert!(next_failure(&mut peers).await.contains("too many peer ids"));
}

#[actix_web::test]
async fn an_announce_connection_that_announces_nothing_is_closed_though_it_answers_pings() {
    let app = TestApp::spawn_with(|c| c.tracker.announce_idle_secs = 1).await;
    let mut socket = JsonSocket::connect(&app, "/announce").await;
    socket.send(&announce(&id('a'), &id('p'), Some("started"))).await;
    let closed = async {
        loop {
            socket.send_ping().await;
            match socket.next::<Value>(Duration::from_millis(200)).await {
                Err(Ending::Closed(reason)) => return reason,
                _ => continue,
            }
        }
    };
    let reason = tokio::time::timeout(Duration::from_secs(5), closed).await.expect("closed within 5 s");
    assert_eq!(reason.as_deref(), Some("idle"));
}
