//! The embedded STUN/TURN server driven by the webrtc-rs TURN client over
//! real UDP sockets (and a TCP connection) on loopback: STUN answers, a client
//! that has only TCP gets a relay too, relays need valid fresh
//! credentials, peers on loopback and the server's own ports are refused
//! (and allowed blocks open), quotas hold, and malformed datagrams are
//! dropped and counted while the server keeps answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cinemesh_common::turn_credentials::password;
use cinemesh_turn::{EmbeddedTurn, TurnConfig, TurnMetrics};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const SECRET: &str = "shared-secret";

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Running {
    turn: EmbeddedTurn,
    metrics: TurnMetrics,
    /// Stands for the HTTP server: its port is refused as a relay peer.
    http: UdpSocket,
}

/// The server on loopback with relaying on.
async fn start(config: TurnConfig) -> Result<Running, Box<dyn std::error::Error>> {
    start_with(TurnConfig { relay: true, ..config }).await
}

async fn start_with(config: TurnConfig) -> Result<Running, Box<dyn std::error::Error>> {
    let http = UdpSocket::bind("127.0.0.1:0").await?;
    let metrics = TurnMetrics::default();
    let config = TurnConfig { listen: "127.0.0.1:0".into(), ..config };
    let turn = EmbeddedTurn::start(&config, "127.0.0.1:0", http.local_addr()?, Some(SECRET.into()), metrics.clone())
        .await?
        .ok_or("enabled, so started")?;
    Ok(Running { turn, metrics, http })
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the catalog hands a viewer: `EXPIRY:WHO` and its HMAC.
fn credentials(expiry: u64, who: &str) -> (String, String) {
    let username = format!("{expiry}:{who}");
    let pass = password(SECRET, &username);
    (username, pass)
}

async fn turn_client(server: SocketAddr, username: &str, pass: &str) -> Result<Client, Box<dyn std::error::Error>> {
    turn_client_over(Arc::new(UdpSocket::bind("127.0.0.1:0").await?), server, username, pass).await
}

async fn turn_client_over(
    conn: Arc<dyn Conn + Send + Sync>,
    server: SocketAddr,
    username: &str,
    pass: &str,
) -> Result<Client, Box<dyn std::error::Error>> {
    let client = Client::new(ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.to_owned(),
        password: pass.to_owned(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await?;
    client.listen().await?;
    Ok(client)
}

/// A client's TCP connection to the server as the TURN client reads it: one
/// whole message per `recv_from` (`tcp_listener::message_length` cuts them).
struct TcpClientConn {
    server: SocketAddr,
    local: SocketAddr,
    reader: tokio::sync::Mutex<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>,
}

#[async_trait::async_trait]
impl Conn for TcpClientConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(())
    }
    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut reader = self.reader.lock().await;
        let mut header = [0u8; 4];
        reader.read_exact(&mut header).await?;
        let total =
            cinemesh_turn::tcp_listener::message_length(header).ok_or_else(|| std::io::Error::other("not STUN"))?;
        buf[..4].copy_from_slice(&header);
        reader.read_exact(&mut buf[4..total]).await?;
        Ok((total, self.server))
    }
    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.writer.lock().await.write_all(buf).await?;
        Ok(buf.len())
    }
    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc_util::Result<usize> {
        self.send(buf).await
    }
    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }
    fn remote_addr(&self) -> Option<SocketAddr> {
        Some(self.server)
    }
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// Whether a datagram reaches `peer` within half a second.
async fn arrives(peer: &UdpSocket) -> bool {
    let mut buf = [0u8; 64];
    tokio::time::timeout(Duration::from_millis(500), peer.recv_from(&mut buf)).await.is_ok()
}

fn metrics_text(metrics: &TurnMetrics) -> String {
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    let _ = encode(&mut text, &registry);
    text
}

#[tokio::test]
async fn stun_tells_a_client_its_address_without_credentials() -> TestResult {
    let running = start(TurnConfig::default()).await?;
    let client = turn_client(running.turn.local_addr(), "", "").await?;
    let mapped = client.send_binding_request().await?;
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    assert_ne!(mapped.port(), 0);
    assert!(running.turn.stun_url().starts_with("stun:{host}:"), "{}", running.turn.stun_url());
    client.close().await?;
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn a_client_with_only_tcp_gets_a_relay_that_carries_data_both_ways() -> TestResult {
    let running =
        start(TurnConfig { allowed_peer_ranges: vec!["127.0.0.0/8".into()], ..TurnConfig::default() }).await?;
    let server = running.turn.local_addr();
    assert!(
        running.turn.turn_urls().iter().any(|url| url.ends_with("?transport=tcp")),
        "{:?}",
        running.turn.turn_urls()
    );
    let stream = TcpStream::connect(server).await?;
    let local = stream.local_addr()?;
    let (reader, writer) = stream.into_split();
    let conn = Arc::new(TcpClientConn {
        server,
        local,
        reader: tokio::sync::Mutex::new(reader),
        writer: tokio::sync::Mutex::new(writer),
    });
    let (username, pass) = credentials(now_secs() + 600, "ana");
    let client = turn_client_over(conn, server, &username, &pass).await?;
    let relay = client.allocate().await?;
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    // Odd lengths: channel data over TCP is padded to four bytes, and must still arrive whole.
    relay.send_to(b"hello", peer.local_addr()?).await?;
    let mut buf = [0u8; 64];
    let (n, relayed_from) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf)).await??;
    assert_eq!(&buf[..n], b"hello");
    peer.send_to(b"back!", relayed_from).await?;
    let (n, from) = tokio::time::timeout(Duration::from_secs(2), relay.recv_from(&mut buf)).await??;
    assert_eq!((&buf[..n], from), (&b"back!"[..], peer.local_addr()?));
    assert!(metrics_text(&running.metrics).contains("cinemesh_turn_relays 1"));
    client.close().await?;
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn one_address_holds_a_bounded_share_of_the_tcp_connections() -> TestResult {
    use cinemesh_turn::tcp_listener::MAX_CONNECTIONS_PER_ADDRESS;
    let running = start(TurnConfig::default()).await?;
    let server = running.turn.local_addr();
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS_PER_ADDRESS {
        held.push(TcpStream::connect(server).await?);
    }
    // The kernel accepts the connection; the listener closes it at once.
    let mut extra = TcpStream::connect(server).await?;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut byte)).await?;
    assert!(matches!(read, Ok(0) | Err(_)), "closed without a word: {read:?}");
    let text = metrics_text(&running.metrics);
    assert!(text.contains(r#"cinemesh_turn_refused_total{reason="tcp_address_full"} 1"#), "{text}");

    // A place given back is taken again.
    drop(held.pop());
    let again = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let mut stream = TcpStream::connect(server).await?;
            let open = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await.is_err();
            if open {
                return Ok::<_, std::io::Error>(stream);
            }
        }
    })
    .await??;
    drop((again, held));
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn with_relaying_off_only_binding_requests_are_answered() -> TestResult {
    let running = start_with(TurnConfig { relay: false, ..TurnConfig::default() }).await?;
    let (username, pass) = credentials(now_secs() + 600, "ana");
    let client = turn_client(running.turn.local_addr(), &username, &pass).await?;
    assert_eq!(client.send_binding_request().await?.ip().to_string(), "127.0.0.1");
    assert!(client.allocate().await.is_err(), "no relay with relaying off");
    assert!(running.turn.turn_urls().is_empty());
    let text = metrics_text(&running.metrics);
    assert!(text.contains(r#"cinemesh_turn_dropped_total{reason="relay_off"}"#), "{text}");
    client.close().await?;
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn forged_requests_under_a_viewers_name_do_not_use_up_its_quota() -> TestResult {
    let running = start(TurnConfig { allocations_per_user: 2, ..TurnConfig::default() }).await?;
    let server = running.turn.local_addr();
    let (ana, pass) = credentials(now_secs() + 600, "ana");
    for _ in 0..3 {
        let forger = turn_client(server, &ana, "forged").await?;
        assert!(forger.allocate().await.is_err());
        forger.close().await?;
    }
    // Once the server's relays are read again, the forged requests count for nothing.
    tokio::time::sleep(cinemesh_turn::rest_auth::LIVE_EVERY + Duration::from_millis(500)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let client = turn_client(server, &ana, &pass).await?;
        let relay = client.allocate().await?;
        held.push((client, relay));
    }
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn a_relay_needs_fresh_credentials_made_with_the_secret() -> TestResult {
    let running = start(TurnConfig::default()).await?;
    let server = running.turn.local_addr();
    let refused = [
        ("no credentials", String::new(), String::new()),
        ("forged", credentials(now_secs() + 600, "ana").0, "forged".to_owned()),
        ("expired", credentials(now_secs() - 1, "ana").0, credentials(now_secs() - 1, "ana").1),
        ("not the REST form", "ana".to_owned(), password(SECRET, "ana")),
    ];
    for (what, username, pass) in refused {
        let client = turn_client(server, &username, &pass).await?;
        assert!(client.allocate().await.is_err(), "{what}: a relay must be refused");
        client.close().await?;
    }
    let (username, pass) = credentials(now_secs() + 600, "ana");
    let client = turn_client(server, &username, &pass).await?;
    let relay = client.allocate().await?;
    assert_eq!(relay.local_addr()?.ip().to_string(), "127.0.0.1");
    let text = metrics_text(&running.metrics);
    assert!(text.contains(r#"cinemesh_turn_refused_total{reason="expired"} 1"#), "{text}");
    assert!(text.contains("cinemesh_turn_relays 1"), "{text}");
    client.close().await?;
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn relays_never_reach_loopback_or_the_servers_own_ports_unless_allowed() -> TestResult {
    let peer = UdpSocket::bind("127.0.0.1:0").await?;
    let (username, pass) = credentials(now_secs() + 600, "ben");

    // By default: loopback is refused.
    let running = start(TurnConfig::default()).await?;
    let client = turn_client(running.turn.local_addr(), &username, &pass).await?;
    let relay = client.allocate().await?;
    relay.send_to(b"hello", peer.local_addr()?).await?;
    assert!(!arrives(&peer).await, "a relay must not send to 127.0.0.1");
    relay.send_to(b"hello", running.http.local_addr()?).await?;
    assert!(!arrives(&running.http).await, "a relay must not send to the server's HTTP port");
    assert!(metrics_text(&running.metrics).contains(r#"cinemesh_turn_relay_dropped_total{reason="refused_peer"}"#));
    client.close().await?;
    running.turn.close().await;

    // Loopback allowed (a LAN party's block): the same datagram arrives, the server's own port stays shut.
    let running =
        start(TurnConfig { allowed_peer_ranges: vec!["127.0.0.0/8".into()], ..TurnConfig::default() }).await?;
    let client = turn_client(running.turn.local_addr(), &username, &pass).await?;
    let relay = client.allocate().await?;
    relay.send_to(b"hello", peer.local_addr()?).await?;
    assert!(arrives(&peer).await, "an allowed peer gets what the relay sends");
    relay.send_to(b"hello", running.http.local_addr()?).await?;
    assert!(!arrives(&running.http).await, "the server's HTTP port stays refused");
    client.close().await?;
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn quotas_hold_per_viewer_and_per_server() -> TestResult {
    let running = start(TurnConfig { allocations_per_user: 2, max_allocations: 3, ..TurnConfig::default() }).await?;
    let server = running.turn.local_addr();
    let (ana, ana_pass) = credentials(now_secs() + 600, "ana");
    let mut held = Vec::new();
    for _ in 0..2 {
        let client = turn_client(server, &ana, &ana_pass).await?;
        let relay = client.allocate().await?;
        held.push((client, relay));
    }
    let third = turn_client(server, &ana, &ana_pass).await?;
    assert!(third.allocate().await.is_err(), "a third relay for one viewer");
    let (ben, ben_pass) = credentials(now_secs() + 600, "ben");
    let bens = turn_client(server, &ben, &ben_pass).await?;
    let relay = bens.allocate().await?;
    held.push((bens, relay));
    let (cy, cy_pass) = credentials(now_secs() + 600, "cy");
    let cys = turn_client(server, &cy, &cy_pass).await?;
    assert!(cys.allocate().await.is_err(), "a fourth relay on a server that holds three");
    let text = metrics_text(&running.metrics);
    assert!(text.contains(r#"cinemesh_turn_refused_total{reason="user_quota"}"#), "{text}");
    assert!(text.contains(r#"cinemesh_turn_refused_total{reason="server_quota"}"#), "{text}");
    running.turn.close().await;
    Ok(())
}

#[tokio::test]
async fn malformed_datagrams_are_dropped_and_counted_and_stun_still_answers() -> TestResult {
    let running = start(TurnConfig::default()).await?;
    let server = running.turn.local_addr();
    let sender = UdpSocket::bind("127.0.0.1:0").await?;
    let mut header = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    header.extend_from_slice(&[9; 12]);
    let mut lying_length = header.clone();
    lying_length[3] = 0xF0; // says 240 bytes of attributes, has none
    let mut bad_attribute = header.clone();
    bad_attribute[3] = 8;
    bad_attribute.extend_from_slice(&[0x00, 0x06, 0xFF, 0xFF, 1, 2, 3, 4]); // USERNAME of 65535 bytes
    let mut allocate_garbage = header.clone();
    allocate_garbage[1] = 0x03;
    allocate_garbage[3] = 4;
    allocate_garbage.extend_from_slice(&[0x00, 0x19, 0x00, 0x00]); // REQUESTED-TRANSPORT, empty
    let seeds: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xFF; 1400],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        header[..19].to_vec(),
        lying_length,
        bad_attribute,
        allocate_garbage,
        vec![0x40, 0x00, 0xFF, 0xFF, 1, 2], // channel data claiming 65535 bytes
        vec![0x7F, 0xFF, 0x00, 0x00],
    ];
    for seed in &seeds {
        sender.send_to(seed, server).await?;
    }
    let client = turn_client(server, "", "").await?;
    assert_eq!(client.send_binding_request().await?.ip().to_string(), "127.0.0.1", "the server still answers");
    let text = metrics_text(&running.metrics);
    assert!(text.contains(r#"cinemesh_turn_dropped_total{reason="not_stun"} 5"#), "{text}");
    client.close().await?;
    running.turn.close().await;
    Ok(())
}
