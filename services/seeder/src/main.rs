//! `cinemesh-seeder` (also run as `cinemesh seed`): seeds a movie, or the
//! whole catalog, to viewers.

use std::path::PathBuf;

use clap::Parser;

use cinemesh_seeder::seeder::{Movies, SeedOptions, run};

#[derive(Parser)]
#[command(name = "cinemesh seed", about = "Seed a movie's segments (or every movie's) to viewers as a native peer")]
struct Args {
    /// The movie's id in the catalog.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    movie: Option<String>,
    /// Every movie in the catalog, and those added later.
    #[arg(long)]
    all: bool,
    /// Base URL of the cinemesh server.
    #[arg(long, env = "CINEMESH_SEED_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The server's media folder (its storage.data_dir, then media).
    #[arg(long, env = "CINEMESH_SEED_MEDIA_DIR", default_value = "data/media")]
    media_dir: PathBuf,
    /// Renditions to seed, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    renditions: Vec<String>,
    /// Upload cap over all viewers (of all movies), bytes per second (0: none).
    #[arg(long, default_value_t = 8_000_000)]
    upload_rate: u64,
    /// Viewers of a movie connected at once at most.
    #[arg(long, default_value_t = 32)]
    max_peers: usize,
}

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CINEMESH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,webrtc=warn,webrtc_ice=warn,webrtc_sctp=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args = Args::parse();
    let options = SeedOptions {
        server: args.server,
        movies: args.movie.map_or(Movies::Catalog, Movies::One),
        media_dir: args.media_dir,
        renditions: args.renditions,
        upload_bytes_per_sec: args.upload_rate,
        max_peers: args.max_peers.max(1),
    };
    actix_rt::System::new().block_on(run(options))
}
