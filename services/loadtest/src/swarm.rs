//! `cinemesh-loadtest swarm`: native peers (the seeder's WebRTC peer, on the
//! webrtc crate) that watch a movie together on loopback. Each joins at its
//! own time, plays from the start at 1x, fetches over HTTP what is due within
//! 4 s (and its first 6 s, as a browser's first chunk), asks peers for what is
//! due 4 to 16 s ahead, serves others what it holds, and leaves after its
//! watch time; every fifth seeks to the middle halfway through. A segment not
//! held when the playhead reaches it stalls that viewer. Every segment is
//! checked against the catalog's SHA-256. One row of figures at the end.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cinemesh_protocol::catalog::{MovieDetail, SegmentManifest};
use cinemesh_protocol::peer_wire::SegmentId;
use cinemesh_seeder::held_segments::HeldSegments;
use cinemesh_seeder::native_peer::{self, PeerReport, PeerSetup, Wants};
use cinemesh_seeder::seeder::get_json;
use cinemesh_seeder::upload::Uploads;
use tokio::sync::mpsc;

use crate::stats::percentile;

#[derive(clap::Args)]
pub struct SwarmArgs {
    /// Base URL of the cinemesh server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The movie to watch (its files on the server's segment server).
    #[arg(long)]
    movie: String,
    #[arg(long, default_value_t = 50)]
    peers: usize,
    /// Time between two viewers' joins.
    #[arg(long, default_value_t = 200)]
    join_every_ms: u64,
    /// How long each viewer watches.
    #[arg(long, default_value_t = 60)]
    watch_secs: u64,
    /// The rendition everyone watches (default: the lowest).
    #[arg(long)]
    rendition: Option<String>,
    /// Print the column header first.
    #[arg(long)]
    header: bool,
}

/// Due sooner than this: over HTTP, as the browser loader does.
const HTTP_WITHIN: f64 = 4.0;
/// Asked of peers up to this far ahead (the player's buffer).
const PEERS_WITHIN: f64 = 16.0;
/// After a start or a seek, this much comes over HTTP (a fast first frame).
const FIRST_CHUNK: f64 = 6.0;

/// One simulated viewer's clock and what it wants from it.
struct Viewer {
    rendition: String,
    /// Start time of each segment, seconds (the last entry is the end).
    starts: Vec<f64>,
    joined: Instant,
    watch: Duration,
    /// (after, to seconds): a seek during the watch.
    seek: Option<(Duration, f64)>,
    /// The playhead, seconds, and where the current run began.
    position: f64,
    run_start: f64,
    last_tick: Instant,
    stalled: Duration,
}

impl Viewer {
    fn segment_at(&self, seconds: f64) -> u32 {
        self.starts.partition_point(|start| *start <= seconds).saturating_sub(1) as u32
    }

    fn due_in(&self, sequence: u32) -> f64 {
        self.starts.get(sequence as usize).copied().unwrap_or(f64::MAX) - self.position
    }

    fn id(&self, sequence: u32) -> SegmentId {
        SegmentId { rendition: self.rendition.clone(), sequence }
    }

    /// Moves the playhead on when it has the segment it is in; stalls otherwise.
    fn advance(&mut self, held: &HeldSegments) {
        let now = Instant::now();
        let elapsed = now - self.last_tick;
        self.last_tick = now;
        if let Some((after, to)) = self.seek
            && now - self.joined >= after
        {
            self.seek = None;
            self.position = to;
            self.run_start = to;
            return;
        }
        let end = self.starts.last().copied().unwrap_or(0.0);
        if self.position >= end {
            return;
        }
        if held.size(&self.id(self.segment_at(self.position))).is_some() {
            self.position = (self.position + elapsed.as_secs_f64()).min(end);
        } else if now - self.joined > Duration::from_millis(500) {
            self.stalled += elapsed;
        }
    }

    /// Not held, from the segment under the playhead on, due within [`from`, `within`) seconds.
    fn lacking(&self, held: &HeldSegments, from: f64, within: f64) -> Vec<SegmentId> {
        let first = self.segment_at(self.position);
        (first..self.starts.len().saturating_sub(1) as u32)
            .filter(|s| {
                let due = self.due_in(*s);
                (s == &first || due >= from) && due < within
            })
            .map(|s| self.id(s))
            .filter(|s| held.size(s).is_none())
            .collect()
    }
}

impl Wants for Viewer {
    fn tick(&mut self, held: &HeldSegments) {
        self.advance(held);
    }

    fn over_http(&mut self, held: &HeldSegments) -> Vec<SegmentId> {
        let urgent = if self.position - self.run_start < FIRST_CHUNK { FIRST_CHUNK } else { HTTP_WITHIN };
        self.lacking(held, 0.0, urgent)
    }

    fn wanted_from_peers(&mut self, held: &HeldSegments) -> Vec<SegmentId> {
        self.lacking(held, HTTP_WITHIN, PEERS_WITHIN)
    }

    fn done(&mut self) -> bool {
        self.joined.elapsed() >= self.watch
    }
}

struct ViewerResult {
    report: PeerReport,
    uploaded: u64,
    joined: Instant,
    stalled: Duration,
    watched_bytes: u64,
    error: Option<String>,
}

pub async fn swarm(args: SwarmArgs) -> anyhow::Result<()> {
    let client =
        awc::Client::builder().connector(awc::Connector::new().limit(0)).timeout(Duration::from_secs(30)).finish();
    let server = args.server.trim_end_matches('/').to_owned();
    let movie: MovieDetail = get_json(&client, &format!("{server}/api/movies/{}", args.movie)).await?;
    let manifest: SegmentManifest = get_json(&client, &format!("{server}/api/movies/{}/segments", args.movie)).await?;
    let rendition = match &args.rendition {
        Some(name) => manifest.renditions.iter().find(|r| &r.name == name),
        None => manifest.renditions.iter().min_by_key(|r| r.sizes_bytes.iter().sum::<i64>()),
    }
    .ok_or_else(|| anyhow::anyhow!("no such rendition"))?
    .clone();
    let mut starts = vec![0.0];
    for duration in &rendition.durations_ms {
        starts.push(starts.last().copied().unwrap_or(0.0) + *duration as f64 / 1000.0);
    }
    let setup = PeerSetup {
        server: server.clone(),
        movie: args.movie.clone(),
        tracker_url: format!("{server}{}", movie.tracker.url).replacen("http", "ws", 1),
        token: movie.tracker.token.clone(),
        max_peers: 16,
        print_fetches: false,
    };
    let api = Arc::new(cinemesh_seeder::rtc::api());
    let manifest = Rc::new(manifest);
    let (results_tx, mut results) = mpsc::unbounded_channel::<ViewerResult>();
    let watch = Duration::from_secs(args.watch_secs);
    let started = Instant::now();
    for i in 0..args.peers {
        if i > 0 {
            actix_rt::time::sleep(Duration::from_millis(args.join_every_ms)).await;
        }
        let held = Arc::new(HeldSegments::empty(&manifest, std::slice::from_ref(&rendition.name)));
        let uploads = Arc::new(Uploads::new(held, None));
        let joined = Instant::now();
        let middle = starts.last().copied().unwrap_or(0.0) / 2.0;
        let mut viewer = Viewer {
            rendition: rendition.name.clone(),
            starts: starts.clone(),
            joined,
            watch,
            seek: (i % 5 == 4).then_some((watch / 2, middle)),
            position: 0.0,
            run_start: 0.0,
            last_tick: joined,
            stalled: Duration::ZERO,
        };
        let (client, setup, api, results_tx) = (client.clone(), setup.clone(), api.clone(), results_tx.clone());
        let sizes = rendition.sizes_bytes.clone();
        actix_rt::spawn(async move {
            let mut report = PeerReport::default();
            let outcome = native_peer::session(&client, &setup, &uploads, &api, &mut viewer, &mut report).await;
            // What it played: every segment its playhead went through.
            let watched_bytes = (0..=viewer.segment_at(viewer.position) as usize)
                .map(|s| sizes.get(s).copied().unwrap_or(0).max(0) as u64)
                .sum();
            let _ = results_tx.send(ViewerResult {
                report,
                uploaded: uploads.sent().values().sum(),
                joined,
                stalled: viewer.stalled,
                watched_bytes,
                error: outcome.err().map(|e| format!("{e:#}")),
            });
        });
    }
    drop(results_tx);
    let mut all = Vec::new();
    while let Some(result) = results.recv().await {
        all.push(result);
    }
    print_row(&args, &all, started.elapsed());
    Ok(())
}

fn print_row(args: &SwarmArgs, all: &[ViewerResult], wall: Duration) {
    let http: u64 = all.iter().map(|r| r.report.http_bytes).sum();
    let peer: u64 = all.iter().map(|r| r.report.peer_bytes).sum();
    let watched: u64 = all.iter().map(|r| r.watched_bytes).sum();
    let per_viewer = watched as f64 / all.len().max(1) as f64;
    let mut first_peer: Vec<u32> = all
        .iter()
        .filter_map(|r| r.report.first_peer_segment_at.map(|at| (at - r.joined).as_millis() as u32))
        .collect();
    first_peer.sort_unstable();
    let mut uploads: Vec<u32> = all.iter().map(|r| (r.uploaded / 1000) as u32).collect();
    uploads.sort_unstable();
    let messages: u64 = all.iter().map(|r| r.report.tracker_sent + r.report.tracker_received).sum();
    let failed: u64 = all.iter().map(|r| r.report.failed_connections).sum();
    let refused: u64 = all.iter().map(|r| r.report.refused_segments).sum();
    let stalled: Vec<&ViewerResult> = all.iter().filter(|r| r.stalled > Duration::from_millis(500)).collect();
    let stall_ms: u128 = all.iter().map(|r| r.stalled.as_millis()).sum();
    let errors = all.iter().filter(|r| r.error.is_some()).count();
    if args.header {
        println!(
            "{:>5} {:>7} {:>8} {:>13} {:>17} {:>16} {:>10} {:>8} {:>8} {:>14} {:>6} {:>7}",
            "peers",
            "watch s",
            "offload",
            "origin (x1)",
            "1st peer seg ms",
            "upload KB p50/max",
            "tracker",
            "failed",
            "refused",
            "stalled (ms)",
            "errors",
            "wall s"
        );
    }
    println!(
        "{:>5} {:>7} {:>7.1}% {:>13.2} {:>17} {:>16} {:>10} {:>8} {:>8} {:>14} {:>6} {:>7.0}",
        all.len(),
        args.watch_secs,
        if http + peer == 0 { 0.0 } else { peer as f64 * 100.0 / (http + peer) as f64 },
        http as f64 / per_viewer.max(1.0),
        format!("{}/{}", percentile(&first_peer, 50.0), percentile(&first_peer, 95.0)),
        format!("{}/{}", percentile(&uploads, 50.0), uploads.last().copied().unwrap_or(0)),
        messages,
        failed,
        refused,
        format!("{} ({stall_ms})", stalled.len()),
        errors,
        wall.as_secs_f64(),
    );
    let mut reasons: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for result in all {
        for (reason, count) in &result.report.failures {
            *reasons.entry(reason.as_str()).or_default() += count;
        }
    }
    if !reasons.is_empty() {
        eprintln!("failed connections by reason: {reasons:?}");
    }
    for result in all.iter().filter_map(|r| r.error.as_ref()).take(3) {
        eprintln!("error: {result}");
    }
}
