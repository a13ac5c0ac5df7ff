//! Build, then run: `Application::build` binds the listener (port 0 picks a
//! free one) and wires every service; `run_until_stopped` serves until a
//! signal or until the handle is stopped.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::admin::AdminAccounts;
use cinemesh_catalog::admin::session_api::SignInAttempts;
use cinemesh_catalog::api::{CatalogApi, configure_catalog};
use cinemesh_catalog::ingest::{ActiveIngests, Ingester, STALE_STAGING_AFTER, sweep_stale};
use cinemesh_catalog::jobs::{IngestQueue, JobStore};
use cinemesh_catalog::model::IceServer;
use cinemesh_catalog::uploads::UploadStore;
use cinemesh_common::error::extractor_error;
use cinemesh_common::presence_pass::PresencePasses;
use cinemesh_common::rate_limit::PerAddress;
use cinemesh_common::shared_secret::shared_secret;
use cinemesh_common::swarm_token::SwarmTokens;
use cinemesh_common::turn_credentials::IceServers;
use cinemesh_common::{Connections, Database, IcePairs, Signer, StopSignal};
use cinemesh_segments::{MediaState, ServedBytes, WebState, configure_media, configure_web};
use cinemesh_tracker::{
    DirectoryConfig, Hub, Recorder, SessionTiming, TrackerState, WebTorrent, configure_tracker, configure_webtorrent,
    directory_channel,
};
use cinemesh_turn::{EmbeddedTurn, TurnMetrics};
use prometheus_client::registry::Registry;
use std::time::Duration;

use crate::catalog_lookups::{CatalogMovies, CatalogRenditions};
use crate::config::Config;
use crate::health::{HealthState, configure_health};
use crate::openapi::configure_openapi;
use crate::stopper::Stopper;
use cinemesh_rooms::{Lobby, LobbyRelay, Relay, RoomStore, Rooms, RoomsApi, configure_rooms};

/// The name the tracker's made secret is kept under in the database.
const TRACKER_SECRET_NAME: &str = "tracker";
/// The name the made secret of the server's own TURN is kept under.
const TURN_SECRET_NAME: &str = "turn";

/// Largest JSON request body any endpoint accepts.
const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

pub struct Application {
    address: SocketAddr,
    /// `https` when the binary serves TLS itself.
    scheme: &'static str,
    server: Server,
    store: CatalogStore,
    stopper: Stopper,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // A bad certificate stops the start before anything is opened.
        let tls = match config.server.tls_files()? {
            Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
            None => None,
        };
        let storage = &config.storage;
        let media_dir = storage.media_dir();
        std::fs::create_dir_all(&media_dir).with_context(|| format!("creating {}", media_dir.display()))?;
        let db = Database::connect(&storage.database_url()).await.context("opening the database")?;
        let swept = sweep_stale(&media_dir, STALE_STAGING_AFTER);
        if swept > 0 {
            tracing::info!(count = swept, "removed staging folders left by interrupted ingests");
        }
        let redis = storage.redis_url().map(redis::Client::open).transpose().context("parsing REDIS_URL")?;

        let store = CatalogStore::new(db.clone());
        let served = ServedBytes::default();
        let mut registry = Registry::default();
        served.register(&mut registry);
        // Long-lived sockets of every kind are counted together and told together of a stop.
        let connections = Connections::new(config.server.connection_limits()?);
        connections.register(&mut registry);
        // Segment links (the tracker's) and call links (the rooms') in one series.
        let ice_pairs = IcePairs::default();
        ice_pairs.register(&mut registry);
        let stop = StopSignal::default();
        let active = ActiveIngests::default();
        // One secret signs what every instance must accept: swarm tokens (the
        // catalog issues, the tracker verifies) and rooms' presence passes.
        // Unless one is configured, it is made once and kept in the database
        // the instances share: never a well-known default, and a restart keeps
        // the tokens and passes handed out valid.
        let configured = config.tracker.secret.expose();
        let secret = if configured.is_empty() {
            shared_secret(&db, TRACKER_SECRET_NAME).await.context("reading the tracker secret from the database")?
        } else {
            configured.to_owned()
        };
        let signer = Signer::new(&secret);
        let tokens = SwarmTokens::new(signer.clone());
        // Bound before anything hands out addresses: STUN/TURN refuses to relay to it.
        let listener =
            TcpListener::bind(&config.server.bind).with_context(|| format!("binding {}", config.server.bind))?;
        let address = listener.local_addr()?;
        let own_relay = config.turn.enabled && config.turn.relay;
        let turn_secret = match config.tracker.turn_secret()? {
            Some(configured) => Some(configured),
            None if own_relay => {
                Some(shared_secret(&db, TURN_SECRET_NAME).await.context("reading the TURN secret from the database")?)
            }
            None => None,
        };
        let turn_metrics = TurnMetrics::default();
        turn_metrics.register(&mut registry);
        let own_turn =
            EmbeddedTurn::start(&config.turn, &config.server.bind, address, turn_secret.clone(), turn_metrics)
                .await?
                .map(Arc::new);
        let mut fixed_ice_servers = config.tracker.browser_ice_servers();
        if let Some(turn) = &own_turn {
            fixed_ice_servers.insert(0, IceServer::open(vec![turn.stun_url()]));
        }
        let ice_servers = IceServers::new(
            fixed_ice_servers,
            config
                .tracker
                .turn_credentials(turn_secret, own_turn.as_ref().map(|turn| turn.turn_urls()).unwrap_or_default())?,
        );
        let ingester = Ingester { store: store.clone(), media_dir: media_dir.clone(), tools: config.ingest.clone() };
        let queue = IngestQueue::new(JobStore::new(db.clone()), ingester.clone(), active.clone());
        queue.start(config.admin.ingest_workers);
        let ingest_here = queue.clone();
        let uploads = UploadStore::new(db.clone(), storage.upload_dir());
        actix_web::rt::spawn(sweep_expired_uploads(uploads.clone()));
        let per_minute = f64::from(config.admin.uploads_per_minute.max(1));
        let mut catalog = CatalogApi {
            ingester: ingester.clone(),
            admin_token: Some(config.admin.token.expose().to_owned()).filter(|t| !t.is_empty()),
            upload_dir: storage.upload_dir(),
            max_upload_bytes: config.admin.max_upload_mib * 1024 * 1024,
            queue,
            active: active.clone(),
            tokens: tokens.clone(),
            ice_servers: ice_servers.clone(),
            relay_segments: config.turn.relay_segments,
            on_delete: None,
            accounts: AdminAccounts::new(db.clone()),
            sign_in_attempts: SignInAttempts::per_minute(config.admin.sign_in_attempts_per_minute),
            trusted_proxies: config.server.trusted_proxies()?,
            uploads,
            upload_creations: PerAddress::new(per_minute / 60.0, per_minute),
            upload_expiry: Duration::from_secs(config.admin.upload_expiry_hours.saturating_mul(3600)),
            stop: stop.clone(),
        };
        let media = MediaState::new(&media_dir, served.clone()).context("opening the media folder")?;
        let web_dir = Some(config.server.web_dir.as_path()).filter(|d| d.join("index.html").is_file());
        if web_dir.is_none() {
            tracing::warn!(dir = %config.server.web_dir.display(), "the web client is not built; serving the API only");
        }
        let web_state = WebState::new(web_dir);
        let recorder = Recorder::start(db.clone());
        let peer_timeout = Duration::from_secs(config.tracker.peer_timeout_secs);
        // With Redis, instances share swarms through a directory there.
        let directory = storage.redis_url().map(|url| {
            directory_channel(DirectoryConfig {
                redis_url: url.to_owned(),
                prefix: config.storage.redis_prefix.clone(),
                peer_ttl: peer_timeout,
            })
        });
        let hub = Hub::start(
            match config.tracker.shards {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                n => n,
            },
            recorder.clone(),
            Duration::from_secs(config.tracker.snapshot_every_secs.max(1)),
            directory.as_ref().map(|(handle, _)| handle.clone()),
        );
        if let Some((_, inbox)) = directory {
            inbox.run(hub.clone()).context("parsing REDIS_URL for the tracker")?;
        }
        let tracker = TrackerState {
            hub,
            recorder,
            tokens: tokens.clone(),
            renditions: Arc::new(CatalogRenditions::new(store.clone())),
            timing: SessionTiming {
                heartbeat: Duration::from_secs(config.tracker.heartbeat_secs),
                peer_timeout,
                ..SessionTiming::default()
            },
            stop: stop.clone(),
            connections: connections.clone(),
            ice_pairs: ice_pairs.clone(),
        };
        tracker.hub.counters.register(&mut registry);
        let tracker_here = tracker.clone();
        let webtorrent = WebTorrent::start(
            stop.clone(),
            connections.clone(),
            Duration::from_secs(config.tracker.announce_idle_secs),
        );
        let room_store = RoomStore::start(db.clone());
        registry.register(
            "cinemesh_room_writes_shed",
            "Room writes dropped because the database fell far behind",
            room_store.shed_writes.clone(),
        );
        let movies: Arc<dyn cinemesh_rooms::MovieDirectory> = Arc::new(CatalogMovies::new(store.clone()));
        let mut rooms = Rooms::with_store(room_store)
            .with_movies(movies.clone())
            .with_resume_grace(secs_to_ms(config.rooms.resume_grace_secs))
            .with_buffer_wait(secs_to_ms(config.rooms.buffer_wait_secs))
            .with_empty_grace(secs_to_ms(config.rooms.empty_grace_secs))
            .with_max_members(config.rooms.max_members)
            .with_creations_per_hour(config.rooms.creations_per_hour)
            .with_passes(PresencePasses::new(signer))
            .with_ice_servers(ice_servers);
        // With Redis, a room runs on one instance and members anywhere reach it.
        if let Some(url) = storage.redis_url() {
            let (relay, incoming) =
                Relay::start(url, &config.storage.redis_prefix).context("parsing REDIS_URL for the rooms")?;
            rooms = rooms.with_relay(relay, incoming);
        }
        let lobby_relay = match storage.redis_url() {
            Some(url) => {
                Some(LobbyRelay::start(url, &config.storage.redis_prefix).context("parsing REDIS_URL for the lobby")?)
            }
            None => None,
        };
        rooms.metrics.connections = connections;
        rooms.metrics.ice_pairs = ice_pairs;
        rooms.metrics.register(&mut registry);
        let lobby = Lobby::start(lobby_relay, rooms.metrics.clone(), rooms.passes.clone(), stop.clone());
        let rooms_here = rooms.clone();
        if config.rooms.expire_after_days > 0 {
            actix_web::rt::spawn(expire_unused_rooms(rooms.clone(), config.rooms.expire_after_days));
        }
        catalog.on_delete = Some(Arc::new(EndWithMovie { tracker: tracker_here.clone(), rooms: rooms.clone() }));
        let rooms = RoomsApi { rooms, lobby, movies };
        let health = HealthState { db, redis, registry: Arc::new(registry) };

        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = HttpServer::new(move || {
            App::new()
                .wrap_fn(crate::request_id::with_request_id)
                .app_data(web::QueryConfig::default().error_handler(|e, _| extractor_error("invalid_query_string", e)))
                .app_data(web::PathConfig::default().error_handler(|e, _| extractor_error("invalid_path", e)))
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_JSON_BODY_BYTES)
                        .error_handler(|e, _| extractor_error("invalid_json", e)),
                )
                .configure(|cfg| configure_health(cfg, health.clone()))
                .configure(configure_openapi)
                .configure(|cfg| configure_catalog(cfg, catalog.clone()))
                .configure(|cfg| configure_tracker(cfg, tracker.clone()))
                .configure(|cfg| configure_webtorrent(cfg, webtorrent.clone()))
                .configure(|cfg| configure_rooms(cfg, rooms.clone()))
                .configure(|cfg| configure_media(cfg, media.clone()))
                .configure(|cfg| configure_web(cfg, web_state.clone()))
        })
        // Segment responses end in a short tail write; with Nagle's algorithm
        // on, it waits for the client's delayed ACK (~40 ms per response).
        .tcp_nodelay(true)
        // Stop signals are the binary's to handle: the rooms hand over first.
        .disable_signals();
        let mut server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls)?,
            None => server.listen(listener)?,
        };
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        let server = server.run();

        if config.demo.enabled && storage.is_embedded() {
            actix_web::rt::spawn(crate::demo::ensure_demo_movie(
                ingester,
                active,
                config.demo.clone(),
                storage.data_dir.clone(),
            ));
        }
        let stopper =
            Stopper { rooms: rooms_here, sockets: stop, tracker: tracker_here, turn: own_turn, ingest: ingest_here };
        Ok(Self { address, scheme, server, store, stopper })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where clients reach it: `http://ADDRESS` or `https://ADDRESS`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn store(&self) -> &CatalogStore {
        &self.store
    }

    /// What a graceful stop runs before the server stops.
    pub fn stopper(&self) -> &Stopper {
        &self.stopper
    }

    /// A handle that stops the server (graceful: in-flight requests finish).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// A deleted movie's swarms and rooms end with it.
struct EndWithMovie {
    tracker: TrackerState,
    rooms: Rooms,
}

impl cinemesh_catalog::api::MovieDeleted for EndWithMovie {
    fn deleted<'a>(&'a self, movie: &'a str) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
        Box::pin(async move {
            self.tracker.end_movie(movie).await;
            match self.rooms.close_movie(movie).await {
                Ok(rooms) => tracing::info!(movie, rooms, "a deleted movie's swarms and rooms ended"),
                Err(e) => tracing::error!(movie, error = %e, "could not delete a deleted movie's rooms"),
            }
        })
    }
}

/// How often unfinished uploads are looked at for expiry.
const SWEEP_UPLOADS_EVERY: Duration = Duration::from_secs(600);

/// Removes unfinished uploads past their expiry, at start and then every ten minutes.
async fn sweep_expired_uploads(uploads: UploadStore) {
    let mut every = actix_web::rt::time::interval(SWEEP_UPLOADS_EVERY);
    loop {
        every.tick().await;
        match uploads.sweep_expired(cinemesh_common::db::now_ms()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed unfinished uploads that expired"),
            Err(e) => tracing::warn!(error = %e, "could not look for expired uploads"),
        }
    }
}

/// How often rooms nobody used are looked for.
const EXPIRE_ROOMS_EVERY: Duration = Duration::from_secs(3600);

/// Deletes rooms nobody used for `days`, with their chat, once at start and then hourly.
async fn expire_unused_rooms(rooms: Rooms, days: u64) {
    let mut every = actix_web::rt::time::interval(EXPIRE_ROOMS_EVERY);
    loop {
        every.tick().await;
        let cutoff = cinemesh_common::db::now_ms().saturating_sub(secs_to_ms(days.saturating_mul(86_400)));
        if let Err(e) = rooms.expire_unused(cutoff).await {
            tracing::warn!(error = %e, "could not expire unused rooms; trying again in an hour");
        }
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
