//! Command line: `cinemesh` (serve), `cinemesh ingest FILE --title T`,
//! `cinemesh subtitles add|remove`, `cinemesh admin-user add|remove|list`, `cinemesh seed --movie ID` (or `--all`),
//! `cinemesh config --print-default`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::ingest::{ActiveIngests, Ingester};
use cinemesh_common::Database;
use clap::{Parser, Subcommand};

use crate::admin_cli::{AdminUserCommand, admin_user};
use crate::catalog_cli::{IngestArgs, SubtitlesCommand, ingest, subtitles};
use crate::config::{Config, DEFAULT_TOML};
use crate::openapi::ApiDoc;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(name = "cinemesh", version, about = "Watch movies together; viewers share segments peer to peer.")]
pub struct Cli {
    /// Configuration file (TOML); also CINEMESH_CONFIG.
    #[arg(long, global = true, env = "CINEMESH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Package a movie file into HLS and add it to the catalog.
    Ingest(IngestArgs),
    /// Add a subtitle file to a movie, or remove one of its subtitle tracks.
    #[command(subcommand)]
    Subtitles(SubtitlesCommand),
    /// Manage who may sign in at /admin.
    #[command(subcommand)]
    AdminUser(AdminUserCommand),
    /// Make the demo movie when the catalog is empty (a one-shot step of a
    /// deployment whose instances share a database), then exit.
    Demo,
    /// Seed a movie (or all) to viewers as a native WebRTC peer (runs the
    /// `cinemesh-seeder` binary next to this one, with this configuration's
    /// server address and media folder unless given).
    #[command(disable_help_flag = true)]
    Seed {
        /// `--movie ID` or `--all`, and `cinemesh-seeder --help` for the rest.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the OpenAPI document of the HTTP API (JSON).
    Openapi,
    /// Configuration helpers.
    Config {
        /// Print the default configuration with every key documented.
        #[arg(long)]
        print_default: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config { print_default: true } => {
            print!("{DEFAULT_TOML}");
            Ok(())
        }
        Command::Config { print_default: false } => {
            let config = Config::load(cli.config.as_deref(), std::env::vars())?;
            print!("{}", toml::to_string(&redacted(config))?);
            Ok(())
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&<ApiDoc as utoipa::OpenApi>::openapi())?);
            Ok(())
        }
        Command::Serve => serve(Config::load(cli.config.as_deref(), std::env::vars())?).await,
        Command::Demo => demo(Config::load(cli.config.as_deref(), std::env::vars())?).await,
        Command::Seed { args } => seed(Config::load(cli.config.as_deref(), std::env::vars())?, args),
        Command::Ingest(args) => ingest(Config::load(cli.config.as_deref(), std::env::vars())?, args).await,
        Command::Subtitles(command) => subtitles(Config::load(cli.config.as_deref(), std::env::vars())?, command).await,
        Command::AdminUser(command) => {
            admin_user(Config::load(cli.config.as_deref(), std::env::vars())?, command).await
        }
    }
}

/// The effective configuration with secrets masked, for printing.
fn redacted(mut config: Config) -> Config {
    for secret in [
        &mut config.admin.token,
        &mut config.tracker.secret,
        &mut config.tracker.turn_credential,
        &mut config.tracker.turn_secret,
        &mut config.storage.database_url,
        &mut config.storage.redis_url,
    ] {
        *secret = secret.redacted();
    }
    config
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    // One stable line on stdout for people and scripts waiting for the server.
    println!("cinemesh listening on {}", app.url());
    let (stopper, server) = (app.stopper().clone(), app.handle());
    actix_web::rt::spawn(async move {
        stop_requested().await;
        tracing::info!("stopping: handing the rooms over, then closing connections");
        // Clients are told to reconnect and resume (on another instance when
        // there is one); writes are flushed before the leases go.
        stopper.stop(STOP_BOUND).await;
        server.stop(true).await;
    });
    app.run_until_stopped().await.context("server failed")
}

/// How long a stop waits for each step (rooms handed over and sockets
/// closed, then the tracker's writes).
const STOP_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// SIGTERM (a container stop) or Ctrl-C.
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Runs `cinemesh-seeder` (a separate binary, so that the server does not
/// carry the WebRTC stack) with this configuration's defaults.
fn seed(config: Config, mut args: Vec<String>) -> anyhow::Result<()> {
    let given = |args: &[String], flag: &str| args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if !given(&args, "--server") {
        // The seeder's HTTP client speaks plain HTTP only.
        if config.server.tls_files()?.is_some() {
            bail!(
                "this server serves HTTPS only (server.tls_cert), and the seeder speaks plain HTTP: \
                 run it against a plain-HTTP instance on the same database and media with --server"
            );
        }
        let bind = config.server.bind.replace("0.0.0.0", "127.0.0.1");
        args.extend(["--server".into(), format!("http://{bind}")]);
    }
    if !given(&args, "--media-dir") {
        args.extend(["--media-dir".into(), config.storage.media_dir().display().to_string()]);
    }
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("cinemesh-seeder")));
    let program = beside.filter(|p| p.is_file()).unwrap_or_else(|| PathBuf::from("cinemesh-seeder"));
    let status = std::process::Command::new(&program).args(&args).status().with_context(|| {
        format!(
            "running {}: the seeder is a binary of its own; build it with `cargo build --release -p cinemesh-seeder`",
            program.display()
        )
    })?;
    std::process::exit(status.code().unwrap_or(1));
}

async fn demo(config: Config) -> anyhow::Result<()> {
    if !config.demo.enabled {
        println!("the demo movie is switched off (demo.enabled = false)");
        return Ok(());
    }
    let media_dir = config.storage.media_dir();
    std::fs::create_dir_all(&media_dir).with_context(|| format!("creating {}", media_dir.display()))?;
    std::fs::create_dir_all(&config.storage.data_dir)
        .with_context(|| format!("creating {}", config.storage.data_dir.display()))?;
    let db = Database::connect(&config.storage.database_url()).await.context("opening the database")?;
    let store = CatalogStore::new(db.clone());
    let ingester = Ingester { store: store.clone(), media_dir, tools: config.ingest.clone() };
    let active = ActiveIngests::default();
    crate::demo::ensure_demo_movie(ingester, active.clone(), config.demo.clone(), config.storage.data_dir.clone())
        .await;
    let movies = store.count().await;
    db.close().await;
    match movies.context("counting movies")? {
        0 => anyhow::bail!(
            "no demo movie: {}",
            active.status().notice.unwrap_or_else(|| "the catalog is still empty".into())
        ),
        n => {
            println!("the catalog has {n} movie(s)");
            Ok(())
        }
    }
}
