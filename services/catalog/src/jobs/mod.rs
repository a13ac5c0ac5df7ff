//! Ingest as jobs. An upload ends at once with a job; workers (a bounded
//! number per instance, one by default) claim queued jobs in order from the
//! database every instance shares, and a job's progress, failure reason or
//! movie is recorded there for the admin page to follow. A job can be
//! cancelled, which stops ffmpeg and leaves nothing behind; a job whose
//! process died restarts from the beginning once its lease runs out.

pub mod api;
mod earlier_runs;
mod queue;
mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use queue::{IngestQueue, WORKER_SILENCE};
pub use store::{JobSpec, JobStore, Outcome, Progress};

/// Jobs waiting or running at most, over all instances: past this an upload
/// is refused (`ingest_queue_full`) instead of piling up sources on disk.
pub const MAX_PENDING_JOBS: i64 = 100;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }
}

/// An ingest job, as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IngestJob {
    pub id: String,
    pub title: String,
    /// The file's name as the uploader gave it.
    pub file_name: String,
    pub state: JobState,
    /// What it is doing: `queued`, `starting`, `encoding`, `finishing`, or the state once finished.
    pub step: String,
    /// 0 to 100.
    pub percent: i64,
    /// Estimated seconds left, once known.
    pub eta_secs: Option<i64>,
    /// The failure's stable code (`not_a_video`, `source_truncated`…).
    pub error: Option<String>,
    /// The failure in plain words.
    pub message: Option<String>,
    /// The HTTP status the failure answers with (`wait=true`).
    #[serde(skip)]
    pub error_status: Option<i64>,
    /// The movie it made.
    pub movie_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{MAX_PENDING_JOBS} ingest jobs are already waiting or running: try again when some are done")]
    QueueFull,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
