//! One pool type for both storage modes. The embedded default is a SQLite file;
//! `postgres://` URLs select Postgres. Queries go through sqlx's `Any` driver, so
//! every statement in the project is written once, in SQL both databases accept:
//! `$n` placeholders, TEXT and BIGINT columns, times as Unix milliseconds.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

/// The migrations, embedded so the binary carries its schema. One change per file.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "catalog", include_str!("../../../migrations/0001_catalog.sql")),
    (2, "tracker", include_str!("../../../migrations/0002_tracker.sql")),
    (3, "rooms", include_str!("../../../migrations/0003_rooms.sql")),
    (4, "room_members", include_str!("../../../migrations/0004_room_members.sql")),
    (5, "chat_nonce", include_str!("../../../migrations/0005_chat_nonce.sql")),
    (6, "room_bans", include_str!("../../../migrations/0006_room_bans.sql")),
    (7, "server_secrets", include_str!("../../../migrations/0007_server_secrets.sql")),
    (8, "tracks", include_str!("../../../migrations/0008_tracks.sql")),
    (9, "room_tracks", include_str!("../../../migrations/0009_room_tracks.sql")),
    (10, "room_queue", include_str!("../../../migrations/0010_room_queue.sql")),
    (11, "admin", include_str!("../../../migrations/0011_admin.sql")),
    (12, "ingest_jobs", include_str!("../../../migrations/0012_ingest_jobs.sql")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL scheme in {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("could not create the database folder {path}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A connection pool with the knowledge of which database is behind it.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    kind: DatabaseKind,
}

impl Database {
    /// Connects, creating the SQLite file (and its folder) when needed, and runs
    /// the migrations.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DatabaseKind::Postgres
        } else {
            return Err(DbError::UnsupportedUrl(url.to_owned()));
        };
        let url = match kind {
            DatabaseKind::Sqlite => sqlite_url_with_create(url)?,
            DatabaseKind::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(DbError::Connect)?;
        let pool = AnyPoolOptions::new()
            // SQLite serializes writers anyway; a small pool avoids lock contention.
            .max_connections(if kind == DatabaseKind::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == DatabaseKind::Sqlite {
                        // WAL lets readers proceed while an ingest writes; the busy
                        // timeout turns brief writer overlap into a wait, not an error.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        let db = Self { pool, kind };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect::<Vec<_>>();
        Migrator::with_migrations(migrations).run(&self.pool).await.map_err(DbError::Migrate)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// True when a trivial query succeeds: what `/readyz` asks.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://data/cinemesh.db` → the same with `mode=rwc`, after creating `data/`.
fn sqlite_url_with_create(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|source| DbError::CreateDir { path: parent.display().to_string(), source })?;
    }
    Ok(if rest.contains("mode=") {
        url.to_owned()
    } else if rest.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Current time as Unix milliseconds, the one time format stored in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_file_and_folder_are_created_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/cinemesh.db", dir.path().display());
        let db = Database::connect(&url).await.unwrap();
        assert_eq!(db.kind(), DatabaseKind::Sqlite);
        assert!(db.is_reachable().await);
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('movies', 'renditions', 'segments')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(tables, 3);
    }

    #[tokio::test]
    async fn unknown_url_scheme_is_refused() {
        let err = Database::connect("mysql://x").await.unwrap_err();
        assert!(matches!(err, DbError::UnsupportedUrl(_)));
    }
}
