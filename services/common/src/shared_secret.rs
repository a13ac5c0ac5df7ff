//! Secrets that every instance on one database must share, made once. When no
//! secret is configured, the first instance to start writes a random one and
//! every instance (that one after a restart, too) reads the same value back.
//! A database is what instances share already, in both modes (the embedded
//! SQLite file, or Postgres behind several instances), so nothing else has to
//! be mounted or copied for them to agree.

use crate::db::{Database, now_ms};

/// Random bytes in a made secret (hex-encoded in the database).
const SECRET_BYTES: usize = 32;

/// The secret named `name`: the one stored, or a new random one stored first.
/// Instances starting together agree: only the first insert counts.
pub async fn shared_secret(db: &Database, name: &str) -> Result<String, sqlx::Error> {
    let made = hex::encode(crate::id::random_bytes(SECRET_BYTES));
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&made)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(db.pool()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_made_once_and_read_back_after_a_reconnect() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/cinemesh.db", dir.path().display());
        let db = Database::connect(&url).await.unwrap();
        let first = shared_secret(&db, "tracker").await.unwrap();
        assert_eq!(first.len(), SECRET_BYTES * 2);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(shared_secret(&db, "tracker").await.unwrap(), first);
        assert_ne!(shared_secret(&db, "turn").await.unwrap(), first, "each name has its own");
        db.close().await;
        let again = Database::connect(&url).await.unwrap();
        assert_eq!(shared_secret(&again, "tracker").await.unwrap(), first);
    }

    #[tokio::test]
    async fn instances_starting_together_get_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!("sqlite://{}/cinemesh.db", dir.path().display())).await.unwrap();
        let mut starting = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let db = db.clone();
            starting.spawn(async move { shared_secret(&db, "tracker").await.unwrap() });
        }
        let made = starting.join_all().await;
        assert!(made.iter().all(|s| *s == made[0]), "{made:?}");
    }
}
