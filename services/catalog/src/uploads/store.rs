//! Uploads in progress: a row each (length, metadata, expiry) in the shared
//! database, and the bytes received so far in `<upload dir>/tus/<id>`, whose
//! length is the upload's offset.

use std::path::PathBuf;

use cinemesh_common::Database;
use sqlx::Row;

use super::UploadMetadata;

/// An upload as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub length: i64,
    pub metadata: UploadMetadata,
    pub expires_at_ms: i64,
}

#[derive(Clone, Debug)]
pub struct UploadStore {
    db: Database,
    dir: PathBuf,
}

/// Upload ids are ours (`random_id`): anything else names no upload, and
/// never reaches the file system.
pub fn is_upload_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl UploadStore {
    pub fn new(db: Database, upload_dir: PathBuf) -> Self {
        Self { db, dir: upload_dir.join("tus") }
    }

    pub fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Records a new upload and makes its empty file.
    pub async fn create(
        &self,
        length: i64,
        metadata: &UploadMetadata,
        created_by: &str,
        expires_at_ms: i64,
    ) -> std::io::Result<UploadRecord> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let record =
            UploadRecord { id: cinemesh_common::id::random_id(24), length, metadata: metadata.clone(), expires_at_ms };
        tokio::fs::File::create(self.path_of(&record.id)).await?;
        let inserted = sqlx::query(
            "INSERT INTO uploads (id, length, metadata, created_by, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id)
        .bind(length)
        .bind(serde_json::to_string(metadata).unwrap_or_default())
        .bind(created_by)
        .bind(cinemesh_common::db::now_ms())
        .bind(expires_at_ms)
        .execute(self.db.pool())
        .await;
        if let Err(e) = inserted {
            let _ = tokio::fs::remove_file(self.path_of(&record.id)).await;
            return Err(std::io::Error::other(e));
        }
        Ok(record)
    }

    /// An upload that has not expired.
    pub async fn get(&self, id: &str) -> Result<Option<UploadRecord>, sqlx::Error> {
        if !is_upload_id(id) {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT id, length, metadata, expires_at_ms FROM uploads WHERE id = $1 AND expires_at_ms > $2")
                .bind(id)
                .bind(cinemesh_common::db::now_ms())
                .fetch_optional(self.db.pool())
                .await?;
        row.map(|row| {
            let metadata: String = row.try_get("metadata")?;
            Ok(UploadRecord {
                id: row.try_get("id")?,
                length: row.try_get("length")?,
                metadata: serde_json::from_str(&metadata).unwrap_or_default(),
                expires_at_ms: row.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    /// Pushes an upload's expiry back (it is still being sent).
    pub async fn extend(&self, id: &str, expires_at_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET expires_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(expires_at_ms)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Forgets an upload and removes its bytes; whether there was one.
    pub async fn remove(&self, id: &str) -> Result<bool, sqlx::Error> {
        if !is_upload_id(id) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(self.db.pool()).await?;
        let _ = tokio::fs::remove_file(self.path_of(id)).await;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a complete upload, whose file an ingest job owns now.
    pub async fn forget(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Removes uploads that expired (and their bytes); how many.
    pub async fn sweep_expired(&self, now_ms: i64) -> Result<usize, sqlx::Error> {
        let expired: Vec<String> = sqlx::query_scalar("DELETE FROM uploads WHERE expires_at_ms <= $1 RETURNING id")
            .bind(now_ms)
            .fetch_all(self.db.pool())
            .await?;
        for id in &expired {
            if is_upload_id(id) {
                let _ = tokio::fs::remove_file(self.path_of(id)).await;
            }
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_ids_name_uploads() {
        assert!(is_upload_id("abc123"));
        for bad in ["", "../etc", "ABC", "a/b", "a.b", &"a".repeat(65)] {
            assert!(!is_upload_id(bad), "{bad:?}");
        }
    }
}
