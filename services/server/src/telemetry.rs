//! Logs to stderr; the level comes from `CINEMESH_LOG` (e.g. `debug`,
//! `info,sqlx=warn`), default `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("CINEMESH_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
