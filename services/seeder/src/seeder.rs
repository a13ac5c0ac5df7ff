//! `cinemesh seed`: a native peer that holds a movie's segments and gives
//! them to viewers. It reads the movie and its segment hashes from the
//! server's catalog, verifies the files in the media folder against them,
//! joins the movie's swarms on the tracker like a browser (with the whole
//! movie as its holdings) and answers every viewer who connects, within its
//! connection and upload limits. Segments the folder lacks (or that differ
//! from the catalog) are fetched from peers that hold them, verified, and
//! served from then on. When the tracker connection drops it comes back, with
//! a fresh swarm token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use cinemesh_catalog::model::{MovieDetail, SegmentManifest};
use cinemesh_protocol::peer_wire::SegmentId;

use crate::held_segments::HeldSegments;
use crate::native_peer::{self, PeerReport, PeerSetup, Wants};
use crate::upload::Uploads;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Base URL of a cinemesh server (`http://host:port`).
    pub server: String,
    pub movie: String,
    /// The server's media folder.
    pub media_dir: PathBuf,
    /// Renditions to seed (empty: all).
    pub renditions: Vec<String>,
    /// Upload cap over all viewers, bytes/s (0: none).
    pub upload_bytes_per_sec: u64,
    /// Viewers connected at once at most; more are not answered.
    pub max_peers: usize,
}

const RECONNECT_MAX: Duration = Duration::from_secs(30);

pub async fn run(options: SeedOptions) -> anyhow::Result<()> {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let server = options.server.trim_end_matches('/').to_owned();
    let manifest: SegmentManifest =
        get_json(&client, &format!("{server}/api/movies/{}/segments", options.movie)).await?;
    let held = HeldSegments::load(&options.media_dir, &manifest, &options.renditions);
    for left_out in &held.left_out {
        tracing::warn!(rendition = %left_out.rendition, sequence = left_out.sequence, reason = %left_out.reason, "not seeding a segment");
    }
    if held.is_empty() {
        bail!(
            "no segment of {} in {} matches the catalog: is that the server's media folder (storage.data_dir/media)?",
            options.movie,
            options.media_dir.display()
        );
    }
    println!(
        "seeding {} segments ({} bytes) of {} in {}; {} left out",
        held.len(),
        held.bytes(),
        options.movie,
        held.renditions().join(", "),
        held.left_out.len()
    );
    let uploads = Arc::new(Uploads::new(Arc::new(held), options.upload_bytes_per_sec));
    let api = Arc::new(crate::rtc::api());
    let mut backoff = Duration::from_secs(1);
    let mut report = PeerReport::default();
    loop {
        // A fresh token each time: it admits to the movie's swarms for hours, not forever.
        let session = async {
            let movie: MovieDetail = get_json(&client, &format!("{server}/api/movies/{}", options.movie)).await?;
            let setup = PeerSetup {
                server: server.clone(),
                movie: options.movie.clone(),
                tracker_url: format!("{server}{}", movie.tracker.url).replacen("http", "ws", 1),
                token: movie.tracker.token,
                max_peers: options.max_peers,
                print_fetches: true,
            };
            native_peer::session(&client, &setup, &uploads, &api, &mut SeedEverything, &mut report).await
        };
        match session.await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "the tracker connection ended; connecting again"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

/// A seeder wants every segment it lacks, from peers, and never leaves.
struct SeedEverything;

impl Wants for SeedEverything {
    fn wanted_from_peers(&mut self, held: &HeldSegments) -> Vec<SegmentId> {
        held.missing()
    }
}

pub async fn get_json<T: serde::de::DeserializeOwned>(client: &awc::Client, url: &str) -> anyhow::Result<T> {
    let mut response = client.get(url).send().await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        bail!("GET {url}: {}", response.status());
    }
    let body = response.body().limit(64 << 20).await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).with_context(|| format!("GET {url}: unexpected body"))
}
