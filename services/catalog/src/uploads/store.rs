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
    /// Every byte came, and the upload is now ingest job `id`, which owns the file.
    pub completed: bool,
}

/// What terminating an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// A request is writing to it now.
    Busy,
    /// It is complete: its file is an ingest job's now.
    Completed,
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
        let record = UploadRecord {
            id: cinemesh_common::id::random_id(24),
            length,
            metadata: metadata.clone(),
            expires_at_ms,
            completed: false,
        };
        tokio::fs::File::create(self.path_of(&record.id)).await?;
        let inserted = sqlx::query(
            "INSERT INTO uploads (id, length, completed, metadata, created_by, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, 0, $3, $4, $5, $6)",
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
        let row = sqlx::query(
            "SELECT id, length, completed, metadata, expires_at_ms FROM uploads WHERE id = $1 AND expires_at_ms > $2",
        )
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
                completed: row.try_get::<i64, _>("completed")? != 0,
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

    /// Cancels an unfinished upload and removes its bytes, unless a request
    /// is writing them now.
    pub async fn remove(&self, id: &str) -> Result<Removal, sqlx::Error> {
        let Some(record) = self.get(id).await? else { return Ok(Removal::NotFound) };
        if record.completed {
            return Ok(Removal::Completed);
        }
        // Held until the bytes are gone, so that no PATCH starts on them meanwhile.
        let Ok(file) = std::fs::File::open(self.path_of(id)) else { return Ok(Removal::NotFound) };
        if file.try_lock().is_err() {
            return Ok(Removal::Busy);
        }
        let done =
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND completed = 0").bind(id).execute(self.db.pool()).await?;
        if done.rows_affected() == 0 {
            return Ok(Removal::NotFound);
        }
        let _ = std::fs::remove_file(self.path_of(id));
        Ok(Removal::Removed)
    }

    /// Marks an upload complete: its file is ingest job `id`'s now.
    pub async fn mark_complete(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET completed = 1 WHERE id = $1").bind(id).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Bytes still to come for the unfinished uploads: room they will need.
    pub async fn pending_bytes(&self) -> Result<u64, sqlx::Error> {
        let rows = sqlx::query("SELECT id, length FROM uploads WHERE completed = 0 AND expires_at_ms > $1")
            .bind(cinemesh_common::db::now_ms())
            .fetch_all(self.db.pool())
            .await?;
        let mut pending = 0u64;
        for row in rows {
            let (id, length): (String, i64) = (row.try_get("id")?, row.try_get("length")?);
            let received = std::fs::metadata(self.path_of(&id)).map_or(0, |m| m.len());
            pending = pending.saturating_add(u64::try_from(length).unwrap_or(0).saturating_sub(received));
        }
        Ok(pending)
    }

    /// Removes uploads that expired; how many. An unfinished one goes with
    /// its bytes, unless a request is writing them now (it waits for the next
    /// sweep); a complete one leaves its file to its job.
    pub async fn sweep_expired(&self, now_ms: i64) -> Result<usize, sqlx::Error> {
        let expired = sqlx::query("SELECT id, completed FROM uploads WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .fetch_all(self.db.pool())
            .await?;
        let mut removed = 0;
        for row in expired {
            let (id, completed): (String, i64) = (row.try_get("id")?, row.try_get("completed")?);
            let lock = std::fs::File::open(self.path_of(&id)).ok();
            if completed == 0 && lock.as_ref().is_some_and(|file| file.try_lock().is_err()) {
                continue;
            }
            let done = sqlx::query("DELETE FROM uploads WHERE id = $1 AND expires_at_ms <= $2")
                .bind(&id)
                .bind(now_ms)
                .execute(self.db.pool())
                .await?;
            if done.rows_affected() > 0 {
                removed += 1;
                if completed == 0 && is_upload_id(&id) {
                    let _ = std::fs::remove_file(self.path_of(&id));
                }
            }
        }
        Ok(removed)
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
