//! `cinemesh-loadtest turn`: relayed call pairs through a TURN server,
//! measured from both sides. Each pair is two TURN clients that each hold a
//! relay and send the other a call's worth of datagrams (`--kbps`, 1200-byte
//! packets, paced), relay to relay, as two browsers behind symmetric NATs do.
//! Printed: packets and megabits per second the server delivered, the loss,
//! and the server process's CPU per relayed megabit (bench/turn.sh runs the
//! server's own TURN and coturn side by side).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use cinemesh_common::turn_credentials::password;
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

use crate::procstat::cpu_micros;

const PACKET_BYTES: usize = 1200;

#[derive(clap::Args)]
pub struct TurnArgs {
    /// The TURN server, IP:PORT.
    #[arg(long)]
    server: SocketAddr,
    /// The secret the server checks REST credentials with.
    #[arg(long)]
    secret: String,
    /// Process id of the server, for its CPU time.
    #[arg(long)]
    pid: u32,
    /// Call pairs (two relays each).
    #[arg(long, default_value_t = 10)]
    pairs: usize,
    /// What each side of a pair sends, kbit/s.
    #[arg(long, default_value_t = 1500)]
    kbps: u64,
    #[arg(long, default_value_t = 3)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 20)]
    steady_secs: u64,
    /// A label for the report row (e.g. `embedded` or `coturn`).
    #[arg(long, default_value = "")]
    label: String,
    /// Print the column header first.
    #[arg(long)]
    header: bool,
}

/// One side of a call: a TURN client, its relay, and counters.
struct Side {
    client: Client,
    relay: Arc<dyn Conn + Send + Sync>,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

async fn side(args: &TurnArgs, who: &str) -> anyhow::Result<Side> {
    let expiry = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
    let username = format!("{expiry}:{who}");
    let client = Client::new(ClientConfig {
        stun_serv_addr: args.server.to_string(),
        turn_serv_addr: args.server.to_string(),
        password: password(&args.secret, &username),
        username,
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(UdpSocket::bind("127.0.0.1:0").await?),
        vnet: None,
    })
    .await?;
    client.listen().await?;
    let relay = client.allocate().await.with_context(|| format!("allocating a relay for {who}"))?;
    Ok(Side { client, relay: Arc::new(relay), sent: Arc::default(), received: Arc::default() })
}

/// Sends paced datagrams from `from` to `to` until `stop`.
fn send_paced(from: &Side, to: SocketAddr, kbps: u64, stop: Instant) -> tokio::task::JoinHandle<()> {
    let relay = from.relay.clone();
    let sent = from.sent.clone();
    let per_sec = (kbps * 1000 / 8 / PACKET_BYTES as u64).max(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_sec));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let packet = [7u8; PACKET_BYTES];
        while Instant::now() < stop {
            tick.tick().await;
            if relay.send_to(&packet, to).await.is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

fn count_received(side: &Side) -> tokio::task::JoinHandle<()> {
    let relay = side.relay.clone();
    let received = side.received.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, _)) = relay.recv_from(&mut buf).await {
            if n == PACKET_BYTES {
                received.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

pub async fn turn(args: TurnArgs) -> anyhow::Result<()> {
    let mut sides = Vec::new();
    for i in 0..args.pairs * 2 {
        sides.push(side(&args, &format!("bench{i}")).await?);
    }
    let addresses: Vec<SocketAddr> = sides.iter().map(|s| s.relay.local_addr()).collect::<Result<_, _>>()?;
    let receivers: Vec<_> = sides.iter().map(count_received).collect();
    let stop = Instant::now() + Duration::from_secs(args.warmup_secs + args.steady_secs);
    let senders: Vec<_> =
        sides.iter().enumerate().map(|(i, side)| send_paced(side, addresses[i ^ 1], args.kbps, stop)).collect();

    tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let total = |pick: fn(&Side) -> &AtomicU64| sides.iter().map(|s| pick(s).load(Ordering::Relaxed)).sum::<u64>();
    let (sent0, received0) = (total(|s| &s.sent), total(|s| &s.received));
    let cpu0 = cpu_micros(args.pid).context("reading the server's CPU time")?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.steady_secs)).await;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_micros(args.pid).context("reading the server's CPU time")?.saturating_sub(cpu0);
    let (sent, received) = (total(|s| &s.sent) - sent0, total(|s| &s.received) - received0);

    for sender in senders {
        let _ = sender.await;
    }
    for side in &sides {
        let _ = side.relay.close().await;
        let _ = side.client.close().await;
    }
    for receiver in receivers {
        receiver.abort();
    }

    let packets_per_sec = received as f64 / secs;
    let mbit_per_sec = received as f64 * PACKET_BYTES as f64 * 8.0 / 1e6 / secs;
    let loss_pct = if sent == 0 { 0.0 } else { 100.0 * sent.saturating_sub(received) as f64 / sent as f64 };
    let cpu_pct = cpu as f64 / 1e4 / secs;
    let cpu_ms_per_mbit = if mbit_per_sec > 0.0 { cpu as f64 / 1e3 / secs / mbit_per_sec } else { f64::NAN };
    if args.header {
        println!(
            "{:<10} {:>6} {:>10} {:>9} {:>7} {:>7} {:>12}",
            "server", "pairs", "packets/s", "Mbit/s", "loss %", "CPU %", "CPU ms/Mbit"
        );
    }
    println!(
        "{:<10} {:>6} {:>10.0} {:>9.2} {:>7.2} {:>7.1} {:>12.2}",
        args.label, args.pairs, packets_per_sec, mbit_per_sec, loss_pct, cpu_pct, cpu_ms_per_mbit
    );
    Ok(())
}
