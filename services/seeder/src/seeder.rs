//! `cinemesh seed`: a native peer that holds a movie's segments (or every
//! movie's: `catalog_seeding.rs`) and gives them to viewers. It reads the movie and its segment hashes from the
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
use cinemesh_protocol::catalog::{MovieDetail, SegmentManifest};
use cinemesh_protocol::peer_wire::SegmentId;

use crate::held_segments::HeldSegments;
use crate::native_peer::{self, PeerReport, PeerSetup, Wants};
use crate::upload::{UploadBudget, Uploads, upload_budget};

/// What to seed.
#[derive(Debug, Clone)]
pub enum Movies {
    /// One movie, by id.
    One(String),
    /// Every movie in the catalog, and those added later.
    Catalog,
}

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Base URL of a cinemesh server (`http://host:port`).
    pub server: String,
    pub movies: Movies,
    /// The server's media folder.
    pub media_dir: PathBuf,
    /// Renditions to seed (empty: all).
    pub renditions: Vec<String>,
    /// Upload cap over all viewers (of all movies), bytes/s (0: none).
    pub upload_bytes_per_sec: u64,
    /// Viewers of a movie connected at once at most; more are not answered.
    pub max_peers: usize,
}

const RECONNECT_MAX: Duration = Duration::from_secs(30);

pub async fn run(options: SeedOptions) -> anyhow::Result<()> {
    let budget = upload_budget(options.upload_bytes_per_sec);
    match &options.movies {
        Movies::One(movie) => seed_movie(options.clone(), movie.clone(), budget).await,
        Movies::Catalog => crate::catalog_seeding::seed_catalog(options, budget).await,
    }
}

/// Seeds `movie` until the process ends; returns only when it cannot (the
/// catalog does not know the movie, or no longer does, or no file in the
/// folder matches).
pub async fn seed_movie(options: SeedOptions, movie: String, budget: UploadBudget) -> anyhow::Result<()> {
    let client = http_client();
    let server = options.server.trim_end_matches('/').to_owned();
    let manifest: SegmentManifest = get_json(&client, &format!("{server}/api/movies/{movie}/segments")).await?;
    // Hashing a movie's files takes a while: off the thread the other movies' peers run on.
    let (media_dir, renditions) = (options.media_dir.clone(), options.renditions.clone());
    let held = tokio::task::spawn_blocking(move || HeldSegments::load(&media_dir, &manifest, &renditions))
        .await
        .context("checking the movie's files")?;
    for left_out in &held.left_out {
        tracing::warn!(rendition = %left_out.rendition, sequence = left_out.sequence, reason = %left_out.reason, "not seeding a segment");
    }
    if held.is_empty() {
        bail!(
            "no segment of {movie} in {} matches the catalog: is that the server's media folder (storage.data_dir/media)?",
            options.media_dir.display()
        );
    }
    println!(
        "seeding {} segments ({} bytes) of {} in {}; {} left out",
        held.len(),
        held.bytes(),
        movie,
        held.renditions().join(", "),
        held.left_out.len()
    );
    let uploads = Arc::new(Uploads::new(Arc::new(held), budget));
    let api = Arc::new(crate::rtc::api());
    let mut backoff = Duration::from_secs(1);
    let mut report = PeerReport::default();
    loop {
        // A fresh token each time: it admits to the movie's swarms for hours, not forever.
        let session = async {
            let Some(detail) =
                get_json_if_found::<MovieDetail>(&client, &format!("{server}/api/movies/{movie}")).await?
            else {
                return Ok(Session::MovieGone);
            };
            let setup = PeerSetup {
                server: server.clone(),
                movie: movie.clone(),
                tracker_url: format!("{server}{}", detail.tracker.url).replacen("http", "ws", 1),
                token: detail.tracker.token,
                max_peers: options.max_peers,
                print_fetches: true,
            };
            native_peer::session(&client, &setup, &uploads, &api, &mut SeedEverything, &mut report).await?;
            anyhow::Ok(Session::Ended)
        };
        match session.await {
            Ok(Session::MovieGone) => bail!("{movie} is no longer in the catalog"),
            Ok(Session::Ended) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(%movie, error = %format!("{e:#}"), "the tracker connection ended; connecting again")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

/// How one tracker session of a movie ended.
enum Session {
    /// The tracker connection closed; a new one follows.
    Ended,
    /// The catalog no longer has the movie: nothing to seed.
    MovieGone,
}

/// A seeder wants every segment it lacks, from peers, and never leaves.
struct SeedEverything;

impl Wants for SeedEverything {
    fn wanted_from_peers(&mut self, held: &HeldSegments) -> Vec<SegmentId> {
        held.missing()
    }
}

pub fn http_client() -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(30)).finish()
}

pub async fn get_json<T: serde::de::DeserializeOwned>(client: &awc::Client, url: &str) -> anyhow::Result<T> {
    get_json_if_found(client, url).await?.ok_or_else(|| anyhow::anyhow!("GET {url}: 404 Not Found"))
}

/// `get_json`, with a 404 answered by `None`.
async fn get_json_if_found<T: serde::de::DeserializeOwned>(
    client: &awc::Client,
    url: &str,
) -> anyhow::Result<Option<T>> {
    let mut response = client.get(url).send().await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    if response.status() == awc::http::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        bail!("GET {url}: {}", response.status());
    }
    let body = response.body().limit(64 << 20).await.map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).map(Some).with_context(|| format!("GET {url}: unexpected body"))
}
