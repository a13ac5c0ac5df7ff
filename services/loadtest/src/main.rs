//! `cinemesh-loadtest tracker`: open-loop load on a running tracker, measured
//! from both sides (what the peers see, and the tracker process's CPU and
//! memory). See bench/tracker.sh for the side-by-side runs.
//! `cinemesh-loadtest swarm`: native WebRTC peers watching a movie together
//! (bench/swarm.sh).
//! `cinemesh-loadtest turn`: relayed call pairs through a TURN server
//! (bench/turn.sh).

mod introduction;
mod peer;
mod procstat;
mod profile;
mod rng;
mod stats;
mod swarm;
mod turn_bench;

use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::model::{Movie, NewMovie, Rendition, Segment};
use cinemesh_protocol::tracker::SwarmKey;
use clap::{Parser, Subcommand};

use crate::profile::{Profile, ProfileName};
use crate::rng::{Rng, Zipf};
use crate::stats::{Observed, percentile};

/// Segments per simulated movie rendition (20 minutes of 2 s segments).
const SEGMENTS: u32 = 600;
/// Connections opened at once while ramping up.
const RAMP_BATCH: usize = 250;
/// Probe pairs timing introductions across instances (when there are two servers).
const PROBES: usize = 4;

#[derive(Parser)]
#[command(name = "cinemesh-loadtest", about = "Load generators for Cinemesh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulated viewers against a running tracker.
    Tracker(TrackerArgs),
    /// Native WebRTC peers watching a movie together on loopback.
    Swarm(swarm::SwarmArgs),
    /// Relayed call pairs through a TURN server.
    Turn(turn_bench::TurnArgs),
}

#[derive(clap::Args)]
struct TrackerArgs {
    /// Base URL of a cinemesh server; given more than once (instances
    /// sharing Redis and a database), viewers are spread over them in turn,
    /// so a party room has members on each.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: Vec<String>,
    /// The servers' database, where the simulated movies are created.
    #[arg(long)]
    database_url: String,
    /// Process id of each server, for their CPU time and memory (summed).
    #[arg(long, required = true)]
    pid: Vec<u32>,
    #[arg(long, value_enum, default_value = "light")]
    profile: ProfileName,
    /// Overrides the profile's connection count.
    #[arg(long)]
    connections: Option<usize>,
    #[arg(long, default_value_t = 10)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 20)]
    steady_secs: u64,
    /// A label for the report row (e.g. the storage mode).
    #[arg(long, default_value = "")]
    label: String,
    /// Print the column header first.
    #[arg(long)]
    header: bool,
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Tracker(args) => tracker(args).await,
        Command::Swarm(args) => swarm::swarm(args).await,
        Command::Turn(args) => turn_bench::turn(args).await,
    }
}

async fn tracker(args: TrackerArgs) -> anyhow::Result<()> {
    let mut profile = Profile::named(args.profile);
    if let Some(n) = args.connections {
        profile.connections = n;
    }
    let mut rng = Rng::new(42);
    // Party rooms hold 2–10 peers, each room its own swarm.
    let rooms: Vec<usize> = if profile.party {
        let mut sizes = Vec::new();
        let mut left = profile.connections;
        while left > 0 {
            let size = (rng.range(2, 11) as usize).min(left);
            sizes.push(size);
            left -= size;
        }
        sizes
    } else {
        Vec::new()
    };
    let swarm_count = if profile.party { rooms.len() } else { profile.swarms };
    // With two servers, probes time introductions across them, each in a swarm of its own.
    let probes = if args.server.len() > 1 { PROBES } else { 0 };
    let client =
        awc::Client::builder().connector(awc::Connector::new().limit(0)).timeout(Duration::from_secs(30)).finish();
    let tokens = seed_movies(&args, &client, swarm_count + probes).await?;

    let observed = Rc::new(Observed::default());
    let ws_urls: Vec<String> =
        args.server.iter().map(|server| format!("{}/tracker", server.replacen("http", "ws", 1))).collect();
    let rss_before = total(&args.pid, procstat::rss_bytes).context("reading the servers' memory")?;
    let zipf = Zipf::new(swarm_count, 1.0);
    let started = Instant::now();
    let mut room_of_peer = rooms.iter().enumerate().flat_map(|(room, size)| std::iter::repeat_n(room, *size));
    for i in 0..profile.connections {
        let swarm_index = if profile.party { room_of_peer.next().unwrap_or(0) } else { zipf.sample(&mut rng) };
        let (movie, token) = tokens[swarm_index].clone();
        // The first events spread over one interval after the ramp, except
        // that a party room shares one phase.
        let phase = if profile.party { (swarm_index as f64 * 0.618).fract() } else { rng.unit() };
        let ramp = Duration::from_millis((profile.connections / RAMP_BATCH) as u64 * 100 + 500);
        let plan = peer::PeerPlan {
            url: ws_urls[i % ws_urls.len()].clone(),
            swarm: SwarmKey { movie, rendition: "720p".into() },
            token,
            segments: SEGMENTS,
            first_event: started + ramp + profile.event_every.mul_f64(phase),
            event_every: profile.event_every,
            lockstep: profile.party,
            seed: i as u64 + 1,
        };
        actix_rt::spawn(peer::run(client.clone(), plan, observed.clone()));
        if (i + 1) % RAMP_BATCH == 0 {
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while (observed.connected.get() + observed.failed_connections.get()) < profile.connections as u64
        && Instant::now() < deadline
    {
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    for (movie, token) in &tokens[swarm_count..] {
        let plan = introduction::ProbePlan {
            reporter_url: ws_urls[0].clone(),
            asker_url: ws_urls[1].clone(),
            swarm: SwarmKey { movie: movie.clone(), rendition: "720p".into() },
            token: token.clone(),
            segments: SEGMENTS,
            seed: rng.range(0, u64::MAX),
        };
        actix_rt::spawn(introduction::run(client.clone(), plan, observed.clone()));
    }
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    let rss_after = total(&args.pid, procstat::rss_bytes).unwrap_or(rss_before);

    actix_rt::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let (delivered_before, dropped_before) = all_counters(&client, &args.server).await;
    let cpu_before = total(&args.pid, procstat::cpu_micros).unwrap_or(0);
    observed.measuring.set(true);
    let steady_started = Instant::now();
    actix_rt::time::sleep(Duration::from_secs(args.steady_secs)).await;
    observed.measuring.set(false);
    let steady = steady_started.elapsed().as_secs_f64();
    let cpu = total(&args.pid, procstat::cpu_micros).unwrap_or(0).saturating_sub(cpu_before);
    let (delivered_after, dropped_after) = all_counters(&client, &args.server).await;
    observed.stop.set(true);

    let sent = observed.sent.get();
    let received = observed.received.get();
    let mut rtts = observed.rtt_micros.borrow().clone();
    rtts.sort_unstable();
    let messages = (sent + received).max(1);
    if args.header {
        println!(
            "{:<10} {:<7} {:>6} {:>9} {:>9} {:>10} {:>9} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7}",
            "mode",
            "profile",
            "conns",
            "in/s",
            "out/s",
            "delivered",
            "dropped",
            "µs/msg",
            "cpu%",
            "KiB/conn",
            "p50 ms",
            "p90 ms",
            "p99 ms"
        );
    }
    let ms = |us: u32| us as f64 / 1000.0;
    println!(
        "{:<10} {:<7} {:>6} {:>9.0} {:>9.0} {:>10} {:>9} {:>8.1} {:>7.1} {:>8.1} {:>7.2} {:>7.2} {:>7.2}",
        args.label,
        format!("{:?}", args.profile).to_lowercase(),
        observed.connected.get(),
        sent as f64 / steady,
        received as f64 / steady,
        delivered_after.saturating_sub(delivered_before),
        dropped_after.saturating_sub(dropped_before),
        cpu as f64 / messages as f64,
        cpu as f64 / steady / 10_000.0,
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / observed.connected.get().max(1) as f64,
        ms(percentile(&rtts, 50.0)),
        ms(percentile(&rtts, 90.0)),
        ms(percentile(&rtts, 99.0)),
    );
    let mut introductions = observed.introduction_micros.borrow().clone();
    if !introductions.is_empty() {
        introductions.sort_unstable();
        println!(
            "{:<10} {:<7} introduction across instances: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples)",
            args.label,
            format!("{:?}", args.profile).to_lowercase(),
            ms(percentile(&introductions, 50.0)),
            ms(percentile(&introductions, 99.0)),
            ms(*introductions.last().unwrap_or(&0)),
            introductions.len(),
        );
    }
    let errors = observed.errors.borrow();
    if !errors.is_empty() || observed.failed_connections.get() > 0 {
        eprintln!("failed connections: {}, errors: {errors:?}", observed.failed_connections.get());
    }
    Ok(())
}

/// Creates the simulated movies (once per database) and fetches a token for each.
async fn seed_movies(args: &TrackerArgs, client: &awc::Client, count: usize) -> anyhow::Result<Vec<(String, String)>> {
    let db = cinemesh_common::Database::connect(&args.database_url).await.context("connecting to the database")?;
    let store = CatalogStore::new(db.clone());
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("loadtest{i}");
        let parsed = cinemesh_catalog::domain::MovieId::parse(&id)?;
        if store.get(&parsed).await?.is_none() {
            let segments = (0..i64::from(SEGMENTS))
                .map(|s| Segment { sequence: s, duration_ms: 2000, size_bytes: 500_000, sha256: format!("{s:064x}") })
                .collect();
            let rendition = Rendition {
                name: "720p".into(),
                width: 1280,
                height: 720,
                bandwidth_bps: 2_800_000,
                codecs: "avc1.4d401f,mp4a.40.2".into(),
                segment_count: i64::from(SEGMENTS),
                ..Rendition::default()
            };
            let movie = Movie {
                id: id.clone(),
                title: format!("Load test {i}"),
                description: String::new(),
                year: None,
                duration_ms: i64::from(SEGMENTS) * 2000,
                created_at_ms: 0,
                poster_version: 0,
            };
            store.insert(&NewMovie { movie, renditions: vec![(rendition, segments)], skipped_tracks: vec![] }).await?;
        }
        let mut response = client
            .get(format!("{}/api/movies/{id}", args.server[0]))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("fetching {id}: {e}"))?;
        let body: serde_json::Value = response.json().await.map_err(|e| anyhow::anyhow!("reading {id}: {e}"))?;
        let token = body["tracker"]["token"].as_str().context("a tracker token in the movie details")?.to_owned();
        tokens.push((id, token));
    }
    db.close().await;
    Ok(tokens)
}

/// A figure of each process, summed; none when one cannot be read.
fn total(pids: &[u32], read: fn(u32) -> Option<u64>) -> Option<u64> {
    pids.iter().map(|pid| read(*pid)).sum()
}

/// Delivered and dropped message counters, summed over every server.
async fn all_counters(client: &awc::Client, servers: &[String]) -> (u64, u64) {
    let mut sums = (0, 0);
    for server in servers {
        let (delivered, dropped) = server_counters(client, server).await;
        sums = (sums.0 + delivered, sums.1 + dropped);
    }
    sums
}

/// Delivered and dropped message counters from the server's `/metrics`.
async fn server_counters(client: &awc::Client, server: &str) -> (u64, u64) {
    let Ok(mut response) = client.get(format!("{server}/metrics")).send().await else {
        return (0, 0);
    };
    let Ok(body) = response.body().limit(16 * 1024 * 1024).await else {
        return (0, 0);
    };
    let text = String::from_utf8_lossy(&body);
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse::<f64>().ok()))
            .unwrap_or(0.0) as u64
    };
    (value("cinemesh_tracker_messages_delivered_total "), value("cinemesh_tracker_messages_dropped_total "))
}
