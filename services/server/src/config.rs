//! Configuration: one struct per section, defaults that match
//! `config/default.toml` (the documented reference, printed by
//! `cinemesh config --print-default`), an optional TOML file, and environment
//! overrides `CINEMESH_<SECTION>_<KEY>`. Unknown keys are errors that name the key.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cinemesh_catalog::ingest::FfmpegTools;
use cinemesh_catalog::model::IceServer;
use cinemesh_common::client_address::TrustedProxies;
use cinemesh_common::connections::ConnectionLimits;
use cinemesh_common::turn_credentials::TurnCredentials;
use cinemesh_turn::TurnConfig;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The documented default configuration.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub admin: AdminConfig,
    /// The ffmpeg programs and encoder preset.
    pub ingest: FfmpegTools,
    pub tracker: TrackerConfig,
    /// The server's own STUN and TURN.
    pub turn: TurnConfig,
    pub rooms: RoomsConfig,
    pub demo: DemoConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on; port 0 picks a free port.
    pub bind: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Folder with the built web client.
    pub web_dir: PathBuf,
    /// Sockets (rooms, lobby, tracker, announce) open at once on this instance.
    pub max_connections: usize,
    /// Sockets open at once from one client address.
    pub max_connections_per_address: usize,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For`
    /// names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// PEM certificate chain for HTTPS; empty (with `tls_key`) serves plain HTTP.
    pub tls_cert: PathBuf,
    /// PEM private key of `tls_cert`.
    pub tls_key: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            web_dir: "web/dist".into(),
            max_connections: 10_000,
            max_connections_per_address: 100,
            trusted_proxies: Vec::new(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
        }
    }
}

impl ServerConfig {
    /// The certificate and key to serve HTTPS with; none for plain HTTP. One without the other is an error.
    pub fn tls_files(&self) -> anyhow::Result<Option<(&Path, &Path)>> {
        match (self.tls_cert.as_os_str().is_empty(), self.tls_key.as_os_str().is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some((&self.tls_cert, &self.tls_key))),
            (false, true) => bail!("server.tls_cert is set but server.tls_key is not: HTTPS needs both"),
            (true, false) => bail!("server.tls_key is set but server.tls_cert is not: HTTPS needs both"),
        }
    }

    /// The socket caps, with the trusted proxies parsed.
    pub fn connection_limits(&self) -> anyhow::Result<ConnectionLimits> {
        Ok(ConnectionLimits {
            total: self.max_connections,
            per_address: self.max_connections_per_address,
            trusted_proxies: self.trusted_proxies()?,
        })
    }

    pub fn trusted_proxies(&self) -> anyhow::Result<TrustedProxies> {
        TrustedProxies::parse(&self.trusted_proxies).map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Folder for the embedded database, media and uploads.
    pub data_dir: PathBuf,
    /// Empty: embedded SQLite; `postgres://...` selects Postgres.
    pub database_url: Secret,
    /// Empty: no Redis.
    pub redis_url: Secret,
    /// Namespace of every Redis key and channel (instances that share rooms
    /// and swarms use the same one).
    pub redis_prefix: String,
    /// Folder of packaged movies; empty means `data_dir/media`.
    pub media_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: "data".into(),
            database_url: Secret::default(),
            redis_url: Secret::default(),
            redis_prefix: "cinemesh:".into(),
            media_dir: PathBuf::new(),
        }
    }
}

impl StorageConfig {
    /// True for the embedded default: no outside database.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_empty()
    }

    pub fn database_url(&self) -> String {
        if self.is_embedded() {
            format!("sqlite://{}", self.data_dir.join("cinemesh.db").display())
        } else {
            self.database_url.expose().to_owned()
        }
    }

    pub fn media_dir(&self) -> PathBuf {
        if self.media_dir.as_os_str().is_empty() { self.data_dir.join("media") } else { self.media_dir.clone() }
    }

    /// Uploads, beside the media they become: instances that share the media
    /// folder (and claim each other's ingest jobs) share them too. A dot-name:
    /// the segment server never serves it.
    pub fn upload_dir(&self) -> PathBuf {
        self.media_dir().join(".uploads")
    }

    pub fn redis_url(&self) -> Option<&str> {
        Some(self.redis_url.expose()).filter(|u| !u.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Bearer token for the admin API; empty disables it. Never logged.
    pub token: Secret,
    /// Largest accepted upload, MiB.
    pub max_upload_mib: u64,
    /// Ingest jobs this instance runs at once; 0 runs none here (another
    /// instance on the same database must).
    pub ingest_workers: usize,
    /// An unfinished resumable upload is removed this long after its last byte, hours.
    pub upload_expiry_hours: u64,
    /// Uploads one client address may start per minute (and at once).
    pub uploads_per_minute: u32,
    /// Failed sign-ins and wrong admin tokens one household may try per
    /// minute (and at once); past them it waits, whatever it sends.
    pub sign_in_attempts_per_minute: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            max_upload_mib: 8192,
            ingest_workers: 1,
            upload_expiry_hours: 24,
            uploads_per_minute: 20,
            sign_in_attempts_per_minute: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// Signs swarm tokens and rooms' presence passes; empty means a random
    /// secret made at the first start and kept in the database, which every
    /// instance on that database uses. Never logged.
    pub secret: Secret,
    /// Clients send something at least this often, seconds.
    pub heartbeat_secs: u64,
    /// Silence after which a peer is dropped, seconds.
    pub peer_timeout_secs: u64,
    /// Swarm-owning tasks; 0 means one per CPU core.
    pub shards: usize,
    /// How often every peer's holdings are recorded in the database, seconds.
    pub snapshot_every_secs: u64,
    /// An `/announce` socket that announces nothing this long is closed, seconds.
    pub announce_idle_secs: u64,
    /// STUN/TURN server URLs handed to browsers for peer connections, after
    /// the server's own STUN (and TURN) when `[turn]` is enabled.
    pub ice_servers: Vec<String>,
    /// Fixed credentials for the `turn:`/`turns:` URLs above (empty: none).
    pub turn_username: String,
    pub turn_credential: Secret,
    /// The secret shared with the TURN server: each viewer gets credentials of its own.
    pub turn_secret: Secret,
    /// A file whose first line is that secret (empty: none).
    pub turn_secret_file: String,
    /// How long those credentials are good for, seconds.
    pub turn_credential_ttl_secs: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            secret: Secret::default(),
            heartbeat_secs: 15,
            peer_timeout_secs: 45,
            shards: 0,
            snapshot_every_secs: 60,
            announce_idle_secs: 300,
            ice_servers: Vec::new(),
            turn_username: String::new(),
            turn_credential: Secret::default(),
            turn_secret: Secret::default(),
            turn_secret_file: String::new(),
            turn_credential_ttl_secs: 21_600,
        }
    }
}

fn is_turn_url(url: &str) -> bool {
    url.starts_with("turn:") || url.starts_with("turns:")
}

impl TrackerConfig {
    /// Whether TURN credentials are made per viewer from a shared secret.
    fn turn_by_secret(&self) -> bool {
        !self.turn_secret.is_empty() || !self.turn_secret_file.is_empty()
    }

    fn turn_urls(&self) -> Vec<String> {
        self.ice_servers.iter().filter(|url| is_turn_url(url)).cloned().collect()
    }

    /// The secret shared with an outside TURN server (`turn_secret`, or the
    /// first line of `turn_secret_file`); none when neither is set.
    pub fn turn_secret(&self) -> anyhow::Result<Option<String>> {
        if !self.turn_by_secret() {
            return Ok(None);
        }
        let secret = if self.turn_secret.is_empty() {
            let text = std::fs::read_to_string(&self.turn_secret_file)
                .with_context(|| format!("reading tracker.turn_secret_file {}", self.turn_secret_file))?;
            text.lines().next().unwrap_or_default().trim().to_owned()
        } else {
            self.turn_secret.expose().to_owned()
        };
        if secret.is_empty() {
            bail!("tracker.turn_secret_file {} holds no secret", self.turn_secret_file);
        }
        Ok(Some(secret))
    }

    /// What makes each viewer's TURN credentials with `secret`: for the
    /// server's own TURN (`own_urls`) and for the `turn:` URLs of
    /// `ice_servers` when the secret is theirs (`turn_secret`).
    pub fn turn_credentials(
        &self,
        secret: Option<String>,
        own_urls: Vec<String>,
    ) -> anyhow::Result<Option<TurnCredentials>> {
        let Some(secret) = secret else {
            return Ok(None);
        };
        let mut urls = own_urls;
        if self.turn_by_secret() {
            urls.extend(self.turn_urls());
        }
        if urls.is_empty() {
            bail!(
                "a TURN secret is set, but tracker.ice_servers has no turn: or turns: URL to use it with (and turn.relay is off)"
            );
        }
        if self.turn_credential_ttl_secs == 0 {
            bail!("tracker.turn_credential_ttl_secs must be at least 1");
        }
        Ok(Some(TurnCredentials::new(urls, secret, self.turn_credential_ttl_secs)))
    }

    /// The ICE servers as browsers take them: STUN URLs in one entry, TURN
    /// URLs in another with their fixed credentials (with a shared secret,
    /// `turn_credentials` makes that entry for each viewer instead).
    pub fn browser_ice_servers(&self) -> Vec<IceServer> {
        let (turn, stun): (Vec<String>, Vec<String>) =
            self.ice_servers.iter().cloned().partition(|url| is_turn_url(url));
        let credential = |value: &str| Some(value.to_owned()).filter(|v| !v.is_empty());
        let mut servers = Vec::new();
        if !stun.is_empty() {
            servers.push(IceServer::open(stun));
        }
        if !turn.is_empty() && !self.turn_by_secret() {
            servers.push(IceServer {
                urls: turn,
                username: credential(&self.turn_username),
                credential: credential(self.turn_credential.expose()),
            });
        }
        servers
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoomsConfig {
    /// How long a member whose connection dropped keeps its seat, seconds.
    pub resume_grace_secs: u64,
    /// How long a room waits for a member whose player ran dry, seconds.
    pub buffer_wait_secs: u64,
    /// How long a room nobody is in stays loaded, seconds.
    pub empty_grace_secs: u64,
    /// A room nobody used this long is deleted with its chat, days.
    pub expire_after_days: u64,
    /// Members one room seats at most.
    pub max_members: usize,
    /// Rooms one client address may create per hour (and at once).
    pub creations_per_hour: u32,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            resume_grace_secs: 30,
            buffer_wait_secs: 5,
            empty_grace_secs: 300,
            expire_after_days: 30,
            max_members: 100,
            creations_per_hour: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Create a demo movie on the first embedded start with an empty catalog.
    pub enabled: bool,
    /// Length of the demo movie, seconds.
    pub duration_secs: u32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self { enabled: true, duration_secs: 120 }
    }
}

impl Config {
    /// Reads `file` (if any) and applies environment overrides from `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut table: toml::Table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                text.parse().with_context(|| format!("parsing {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let (section, key) = match name.as_str() {
                "DATABASE_URL" => ("storage".to_owned(), "database_url".to_owned()),
                "REDIS_URL" => ("storage".to_owned(), "redis_url".to_owned()),
                "CINEMESH_CONFIG" | "CINEMESH_LOG" => continue,
                other => match other.strip_prefix("CINEMESH_").and_then(|rest| rest.split_once('_')) {
                    Some((section, key)) => (section.to_lowercase(), key.to_lowercase()),
                    None if other.starts_with("CINEMESH_") => {
                        bail!("unknown configuration variable {other}")
                    }
                    None => continue,
                },
            };
            let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(section_table) = entry.as_table_mut() else {
                bail!("configuration section [{section}] is not a table");
            };
            section_table.insert(key, env_value(&value));
        }
        Config::deserialize(toml::Value::Table(table)).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }
}

/// Environment values are TOML scalars or arrays when they parse as one
/// (`false`, `8`, `["stun:a", "stun:b"]`), strings otherwise (`127.0.0.1:8080`).
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn documented_default_file_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn environment_overrides_file_values() {
        let config = Config::load(
            None,
            env(&[
                ("CINEMESH_SERVER_BIND", "0.0.0.0:9000"),
                ("CINEMESH_DEMO_ENABLED", "false"),
                ("CINEMESH_DEMO_DURATION_SECS", "20"),
                ("CINEMESH_TRACKER_ICE_SERVERS", r#"["stun:a.example:3478", "turn:b.example"]"#),
                ("DATABASE_URL", "postgres://db/x"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:9000");
        assert!(!config.demo.enabled);
        assert_eq!(config.demo.duration_secs, 20);
        assert_eq!(config.tracker.ice_servers, ["stun:a.example:3478", "turn:b.example"]);
        let browser = config.tracker.browser_ice_servers();
        assert_eq!(browser.len(), 2, "STUN and TURN URLs go in separate entries");
        assert_eq!(
            (browser[1].urls.as_slice(), browser[1].username.as_deref()),
            (&["turn:b.example".to_owned()][..], None)
        );
        assert_eq!(config.storage.database_url, "postgres://db/x");
        assert!(!config.storage.is_embedded());
    }

    #[test]
    fn a_turn_secret_makes_credentials_per_viewer_instead_of_fixed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("turn-secret");
        std::fs::write(&file, "from-the-file\nignored\n").unwrap();
        let load = |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap().tracker;
        let credentials = |tracker: &TrackerConfig| tracker.turn_credentials(tracker.turn_secret()?, Vec::new());
        let servers = r#"["stun:t.example:3478", "turn:t.example:3478"]"#;
        let fixed = load(&[("CINEMESH_TRACKER_ICE_SERVERS", servers), ("CINEMESH_TRACKER_TURN_USERNAME", "u")]);
        assert!(credentials(&fixed).unwrap().is_none());
        assert_eq!(fixed.browser_ice_servers().len(), 2);
        let by_file = load(&[
            ("CINEMESH_TRACKER_ICE_SERVERS", servers),
            ("CINEMESH_TRACKER_TURN_SECRET_FILE", file.to_str().unwrap()),
        ]);
        assert_eq!(by_file.browser_ice_servers().len(), 1, "no fixed TURN entry next to the per-viewer one");
        let server = credentials(&by_file).unwrap().unwrap().ice_server("v", 100);
        assert_eq!(server.username.as_deref(), Some("21700:v"));
        assert_eq!(server.credential, Some(cinemesh_common::turn_credentials::password("from-the-file", "21700:v")));
        let by_value = load(&[("CINEMESH_TRACKER_ICE_SERVERS", servers), ("CINEMESH_TRACKER_TURN_SECRET", "s")]);
        let server = credentials(&by_value).unwrap().unwrap().ice_server("v", 100);
        assert_eq!(server.credential, Some(cinemesh_common::turn_credentials::password("s", "21700:v")));
        let missing =
            load(&[("CINEMESH_TRACKER_ICE_SERVERS", servers), ("CINEMESH_TRACKER_TURN_SECRET_FILE", "/nonexistent")]);
        assert!(credentials(&missing).unwrap_err().to_string().contains("/nonexistent"));
        let no_turn_url = load(&[("CINEMESH_TRACKER_TURN_SECRET", "s")]);
        assert!(credentials(&no_turn_url).unwrap_err().to_string().contains("no turn:"));
        // The server's own TURN takes the secret too, next to the outside one's URLs.
        let own = by_value
            .turn_credentials(Some("s".into()), vec!["turn:{host}:3478?transport=udp".into()])
            .unwrap()
            .unwrap();
        assert_eq!(own.ice_server("v", 100).urls, ["turn:{host}:3478?transport=udp", "turn:t.example:3478"]);
        let made = fixed
            .turn_credentials(Some("made".into()), vec!["turn:{host}:3478?transport=udp".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            made.ice_server("v", 100).urls,
            ["turn:{host}:3478?transport=udp"],
            "fixed credentials' URLs keep them"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::load(None, env(&[("CINEMESH_SERVER_BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
        let err = Config::load(None, env(&[("CINEMESH_NOPE", "x")])).unwrap_err();
        assert!(err.to_string().contains("CINEMESH_NOPE"), "{err}");
    }

    #[test]
    fn wrong_types_are_rejected() {
        assert!(Config::load(None, env(&[("CINEMESH_DEMO_DURATION_SECS", "soon")])).is_err());
    }

    #[test]
    fn https_takes_a_certificate_and_a_key_together() {
        let tls =
            |pairs: &[(&str, &str)]| Config::load(None, env(pairs)).unwrap().server.tls_files().map(|f| f.is_some());
        assert!(!tls(&[]).unwrap(), "plain HTTP by default");
        let both = [("CINEMESH_SERVER_TLS_CERT", "c.pem"), ("CINEMESH_SERVER_TLS_KEY", "k.pem")];
        assert!(tls(&both).unwrap());
        for one in [&both[..1], &both[1..]] {
            let error = tls(one).unwrap_err().to_string();
            assert!(error.contains("HTTPS needs both"), "{error}");
        }
    }

    #[test]
    fn embedded_default_derives_paths_from_the_data_dir() {
        let config = Config::default();
        assert!(config.storage.is_embedded());
        assert_eq!(config.storage.database_url(), "sqlite://data/cinemesh.db");
        assert_eq!(config.storage.media_dir(), PathBuf::from("data/media"));
    }
}
