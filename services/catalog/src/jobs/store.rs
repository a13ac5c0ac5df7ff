//! The job table: every statement portable between SQLite and Postgres.
//! Claiming is one conditional UPDATE, so two workers never take the same job.

use std::path::PathBuf;

use cinemesh_common::Database;
use cinemesh_common::db::now_ms;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IngestJob, JobError, JobState, MAX_PENDING_JOBS};
use crate::ingest::SidecarSubtitles;

/// What a job ingests.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub title: String,
    pub description: String,
    pub year: Option<i64>,
    pub source: PathBuf,
    pub subtitles: Vec<SidecarSubtitles>,
    /// The source is an upload of ours, removed when the job ends.
    pub owns_source: bool,
    pub file_name: String,
}

/// A job a worker took, with everything it needs to run it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub spec: JobSpec,
}

const COLUMNS: &str = "id, title, file_name, state, step, percent, eta_secs, error_code, error_message, \
                       error_status, movie_id, created_at_ms, updated_at_ms";

#[derive(Clone, Debug)]
pub struct JobStore {
    db: Database,
}

impl JobStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Queues a job under `id`.
    pub async fn enqueue(&self, id: &str, spec: &JobSpec) -> Result<IngestJob, JobError> {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ingest_jobs WHERE state IN ('queued', 'running')")
            .fetch_one(self.db.pool())
            .await?;
        if pending >= MAX_PENDING_JOBS {
            return Err(JobError::QueueFull);
        }
        let now = now_ms();
        let subtitles = serde_json::to_string(&spec.subtitles).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO ingest_jobs (id, title, description, year, source_path, subtitles, owns_source, file_name, \
             state, step, percent, cancel_requested, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 'queued', 0, 0, $9, $9)",
        )
        .bind(id)
        .bind(&spec.title)
        .bind(&spec.description)
        .bind(spec.year)
        .bind(spec.source.to_string_lossy().into_owned())
        .bind(subtitles)
        .bind(i64::from(spec.owns_source))
        .bind(&spec.file_name)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(self.get(id).await?.ok_or(sqlx::Error::RowNotFound)?)
    }

    /// Takes the oldest queued job (or job `only`) for `worker` until `lease_until_ms`.
    pub async fn claim(
        &self,
        worker: &str,
        lease_until_ms: i64,
        only: Option<&str>,
    ) -> Result<Option<ClaimedJob>, sqlx::Error> {
        let candidate: Option<String> = match only {
            Some(id) => Some(id.to_owned()),
            None => {
                sqlx::query_scalar(
                    "SELECT id FROM ingest_jobs WHERE state = 'queued' ORDER BY created_at_ms, id LIMIT 1",
                )
                .fetch_optional(self.db.pool())
                .await?
            }
        };
        let Some(id) = candidate else { return Ok(None) };
        let row = sqlx::query(
            "UPDATE ingest_jobs SET state = 'running', step = 'starting', worker = $2, lease_until_ms = $3, \
             updated_at_ms = $4 WHERE id = $1 AND state = 'queued' \
             RETURNING id, title, description, year, source_path, subtitles, owns_source, file_name",
        )
        .bind(&id)
        .bind(worker)
        .bind(lease_until_ms)
        .bind(now_ms())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            let subtitles: String = row.try_get("subtitles")?;
            Ok(ClaimedJob {
                id: row.try_get("id")?,
                spec: JobSpec {
                    title: row.try_get("title")?,
                    description: row.try_get("description")?,
                    year: row.try_get("year")?,
                    source: PathBuf::from(row.try_get::<String, _>("source_path")?),
                    subtitles: serde_json::from_str(&subtitles).unwrap_or_default(),
                    owns_source: row.try_get::<i64, _>("owns_source")? != 0,
                    file_name: row.try_get("file_name")?,
                },
            })
        })
        .transpose()
    }

    /// Renews a running job's lease and records its progress; whether a
    /// cancel was asked for (from any instance). `None` when the job is no
    /// longer this worker's.
    pub async fn renew(
        &self,
        id: &str,
        worker: &str,
        lease_until_ms: i64,
        progress: Progress,
    ) -> Result<Option<bool>, sqlx::Error> {
        let cancel: Option<i64> = sqlx::query_scalar(
            "UPDATE ingest_jobs SET lease_until_ms = $3, step = $4, percent = $5, eta_secs = $6, updated_at_ms = $7 \
             WHERE id = $1 AND worker = $2 AND state = 'running' RETURNING cancel_requested",
        )
        .bind(id)
        .bind(worker)
        .bind(lease_until_ms)
        .bind(progress.step)
        .bind(progress.percent)
        .bind(progress.eta_secs)
        .bind(now_ms())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(cancel.map(|c| c != 0))
    }

    /// Whether job `id` is running on `worker`.
    pub async fn owns(&self, id: &str, worker: &str) -> Result<bool, sqlx::Error> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ingest_jobs WHERE id = $1 AND worker = $2 AND state = 'running'")
                .bind(id)
                .bind(worker)
                .fetch_one(self.db.pool())
                .await?;
        Ok(count > 0)
    }

    /// Records how a running job ended, if it is still `worker`'s; whether it was.
    pub async fn finish(&self, id: &str, worker: &str, outcome: &Outcome) -> Result<bool, sqlx::Error> {
        let (state, percent, movie, code, message, status) = match outcome {
            Outcome::Done { movie } => (JobState::Done, 100, Some(movie.as_str()), None, None, None),
            Outcome::Failed { code, message, status } => {
                (JobState::Failed, 0, None, Some(*code), Some(message.as_str()), Some(i64::from(*status)))
            }
            Outcome::Cancelled => (JobState::Cancelled, 0, None, None, None, None),
        };
        let done = sqlx::query(
            "UPDATE ingest_jobs SET state = $3, step = $3, percent = $4, eta_secs = NULL, movie_id = $5, \
             error_code = $6, error_message = $7, error_status = $8, worker = NULL, lease_until_ms = NULL, \
             updated_at_ms = $9 WHERE id = $1 AND worker = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(state.as_str())
        .bind(percent)
        .bind(movie)
        .bind(code)
        .bind(message)
        .bind(status)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Asks a job to stop. A queued job is cancelled at once (its source to
    /// remove is returned); a running one is flagged for its worker.
    pub async fn request_cancel(&self, id: &str) -> Result<Option<CancelAsked>, sqlx::Error> {
        let queued: Option<(String, i64)> = sqlx::query(
            "UPDATE ingest_jobs SET state = 'cancelled', step = 'cancelled', updated_at_ms = $2 \
             WHERE id = $1 AND state = 'queued' RETURNING source_path, owns_source",
        )
        .bind(id)
        .bind(now_ms())
        .fetch_optional(self.db.pool())
        .await?
        .map(|row| Ok::<_, sqlx::Error>((row.try_get("source_path")?, row.try_get("owns_source")?)))
        .transpose()?;
        if let Some((source, owns)) = queued {
            return Ok(Some(CancelAsked::Cancelled { source: (owns != 0).then(|| PathBuf::from(source)) }));
        }
        let running = sqlx::query(
            "UPDATE ingest_jobs SET cancel_requested = 1, updated_at_ms = $2 WHERE id = $1 AND state = 'running'",
        )
        .bind(id)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        if running.rows_affected() > 0 {
            return Ok(Some(CancelAsked::Flagged));
        }
        Ok(self.get(id).await?.map(|_| CancelAsked::AlreadyFinished))
    }

    /// Forgets a finished job; whether there was one.
    pub async fn dismiss(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM ingest_jobs WHERE id = $1 AND state IN ('done', 'failed', 'cancelled')")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Running jobs whose worker stopped renewing: queued again to restart
    /// from the beginning, or cancelled if that was asked. Their owned
    /// sources of the cancelled ones are returned for removal.
    pub async fn recover_abandoned(&self, now: i64) -> Result<(u64, Vec<PathBuf>), sqlx::Error> {
        let cancelled: Vec<(String, i64)> = sqlx::query(
            "UPDATE ingest_jobs SET state = 'cancelled', step = 'cancelled', worker = NULL, updated_at_ms = $1 \
             WHERE state = 'running' AND lease_until_ms < $1 AND cancel_requested = 1 \
             RETURNING source_path, owns_source",
        )
        .bind(now)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|row| Ok::<_, sqlx::Error>((row.try_get("source_path")?, row.try_get("owns_source")?)))
        .collect::<Result<_, _>>()?;
        let requeued = sqlx::query(
            "UPDATE ingest_jobs SET state = 'queued', step = 'queued', percent = 0, eta_secs = NULL, worker = NULL, \
             lease_until_ms = NULL, updated_at_ms = $1 WHERE state = 'running' AND lease_until_ms < $1",
        )
        .bind(now)
        .execute(self.db.pool())
        .await?;
        let sources = cancelled.into_iter().filter(|(_, owns)| *owns != 0).map(|(path, _)| path.into()).collect();
        Ok((requeued.rows_affected(), sources))
    }

    pub async fn get(&self, id: &str) -> Result<Option<IngestJob>, sqlx::Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM ingest_jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs waiting or running, oldest first, then the latest `finished` ones.
    pub async fn list(&self, finished: i64) -> Result<Vec<IngestJob>, sqlx::Error> {
        let pending = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM ingest_jobs WHERE state IN ('queued', 'running') ORDER BY created_at_ms, id"
        )))
        .fetch_all(self.db.pool())
        .await?;
        let ended = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM ingest_jobs WHERE state NOT IN ('queued', 'running') \
             ORDER BY updated_at_ms DESC, id LIMIT $1"
        )))
        .bind(finished)
        .fetch_all(self.db.pool())
        .await?;
        pending.iter().chain(&ended).map(job_from_row).collect()
    }

    /// Says that `instance` runs jobs now.
    pub async fn worker_alive(&self, instance: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO ingest_workers (instance, seen_at_ms) VALUES ($1, $2) \
             ON CONFLICT (instance) DO UPDATE SET seen_at_ms = excluded.seen_at_ms",
        )
        .bind(instance)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        sqlx::query("DELETE FROM ingest_workers WHERE seen_at_ms < $1")
            .bind(now_ms() - 3_600_000)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn worker_gone(&self, instance: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM ingest_workers WHERE instance = $1").bind(instance).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Whether some process said it runs jobs since `since_ms`.
    pub async fn any_worker_since(&self, since_ms: i64) -> Result<bool, sqlx::Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ingest_workers WHERE seen_at_ms >= $1")
            .bind(since_ms)
            .fetch_one(self.db.pool())
            .await?;
        Ok(count > 0)
    }
}

/// A running job's progress, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub step: &'static str,
    pub percent: i64,
    pub eta_secs: Option<i64>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        movie: String,
    },
    /// `status`: the HTTP status the failure answers with.
    Failed {
        code: &'static str,
        message: String,
        status: u16,
    },
    Cancelled,
}

/// What asking a job to stop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelAsked {
    /// It was waiting: it is cancelled, and here is its upload to remove.
    Cancelled {
        source: Option<PathBuf>,
    },
    /// It is running: its worker stops it within a second or so.
    Flagged,
    AlreadyFinished,
}

fn job_from_row(row: &AnyRow) -> Result<IngestJob, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(IngestJob {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        file_name: row.try_get("file_name")?,
        state: JobState::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("job state {state:?}").into()))?,
        step: row.try_get("step")?,
        percent: row.try_get("percent")?,
        eta_secs: row.try_get("eta_secs")?,
        error: row.try_get("error_code")?,
        message: row.try_get("error_message")?,
        error_status: row.try_get("error_status")?,
        movie_id: row.try_get("movie_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}
