//! The workers of one process: each claims a queued job, runs the ingest,
//! and once a second renews the job's lease, records its progress and looks
//! for a cancel. A cancel drops the ingest, which kills ffmpeg and removes
//! its staging folder, so nothing of the job is left.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cinemesh_common::db::now_ms;
use tokio::sync::Notify;

use super::store::{CancelAsked, ClaimedJob, Outcome, Progress};
use super::{IngestJob, JobError, JobSpec, JobStore, earlier_runs};
use crate::domain::{Description, Title, Year};
use crate::ingest::{ActiveIngests, EncodeProgress, IngestRequest, Ingester, STALE_STAGING_AFTER, sweep_stale};

/// How long a claimed job stays a worker's without a renewal: a job whose
/// process died is queued again this long after its last renewal.
pub const LEASE: Duration = Duration::from_secs(15);
/// How often a running job's lease, progress and cancel flag are looked at.
const TICK: Duration = Duration::from_secs(1);
/// A worker that could not renew its lease for this long stops the job:
/// another may take it once the lease lapses.
const GIVE_UP_AFTER: Duration = Duration::from_secs(10);
/// A renewal that takes longer than this counts as failed (the give-up
/// deadline must be looked at while the database is slow).
const RENEW_PATIENCE: Duration = Duration::from_secs(2);
/// How often an idle worker looks for jobs queued by another process.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How often a process says it runs jobs, and looks for abandoned ones.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);
/// Upkeep rounds between sweeps of stale staging folders (ten minutes).
const SWEEP_STAGING_EVERY: u64 = 120;
/// A process that said nothing for this long runs no jobs.
pub const WORKER_SILENCE: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct IngestQueue {
    pub store: JobStore,
    ingester: Ingester,
    active: ActiveIngests,
    /// This process, as the job table knows it.
    instance: String,
    wake: Arc<Notify>,
    /// Jobs running here, by id: told to stop when cancelled.
    running: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
    /// Whether this process runs workers.
    working: Arc<std::sync::atomic::AtomicBool>,
    /// The instance is stopping: no new job is taken, nothing said of workers.
    leaving: Arc<std::sync::atomic::AtomicBool>,
}

impl IngestQueue {
    pub fn new(store: JobStore, ingester: Ingester, active: ActiveIngests) -> Self {
        Self {
            store,
            ingester,
            active,
            instance: format!("instance-{}", cinemesh_common::id::random_id(10)),
            wake: Arc::default(),
            running: Arc::default(),
            working: Arc::default(),
            leaving: Arc::default(),
        }
    }

    /// Starts `workers` workers and the upkeep, on the current runtime. With
    /// none, this process runs no jobs (other instances do).
    pub fn start(&self, workers: usize) {
        if workers == 0 {
            return;
        }
        self.working.store(true, std::sync::atomic::Ordering::Relaxed);
        for _ in 0..workers {
            actix_web::rt::spawn(self.clone().work());
        }
        actix_web::rt::spawn(self.clone().upkeep());
    }

    /// Whether any process runs jobs: this one, or one that said so lately.
    pub async fn workers_alive(&self) -> Result<bool, sqlx::Error> {
        if self.working.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(true);
        }
        self.store.any_worker_since(now_ms() - WORKER_SILENCE.as_millis() as i64).await
    }

    pub async fn enqueue(&self, id: &str, spec: &JobSpec) -> Result<IngestJob, JobError> {
        let job = self.store.enqueue(id, spec).await?;
        self.wake.notify_one();
        Ok(job)
    }

    /// Stops a job: a queued one at once, a running one within a second
    /// (here or on the instance running it). `None` when there is no such job.
    pub async fn cancel(&self, id: &str) -> Result<Option<IngestJob>, sqlx::Error> {
        match self.store.request_cancel(id).await? {
            None => return Ok(None),
            Some(CancelAsked::Cancelled { source: Some(source) }) => remove_source(&source),
            Some(CancelAsked::Flagged) => {
                if let Some(stop) = self.lock_running().get(id) {
                    stop.notify_one();
                }
            }
            Some(_) => {}
        }
        self.store.get(id).await
    }

    /// Says this process runs jobs (for `cinemesh ingest`), and takes over
    /// jobs whose process died.
    async fn upkeep(self) {
        let mut every = actix_web::rt::time::interval(MAINTENANCE_EVERY);
        let mut ticks: u64 = 0;
        loop {
            every.tick().await;
            if self.is_leaving() {
                return;
            }
            ticks += 1;
            // Now and then, what killed runs elsewhere left (idle for an hour).
            if ticks.is_multiple_of(SWEEP_STAGING_EVERY) {
                let media_dir = self.ingester.media_dir.clone();
                let _ = tokio::task::spawn_blocking(move || sweep_stale(&media_dir, STALE_STAGING_AFTER)).await;
            }
            if let Err(e) = self.store.worker_alive(&self.instance).await {
                tracing::warn!(error = %e, "could not record this ingest worker");
            }
            match self.store.recover_abandoned(now_ms()).await {
                Ok((requeued, sources)) => {
                    sources.iter().for_each(|s| remove_source(s));
                    if requeued > 0 {
                        tracing::info!(jobs = requeued, "queued again ingest jobs whose process stopped");
                        self.wake.notify_waiters();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not look for abandoned ingest jobs"),
            }
        }
    }

    async fn work(self) {
        while !self.is_leaving() {
            match self.store.claim(&self.instance, lease_end(), None).await {
                Ok(Some(job)) => {
                    self.run(job).await;
                }
                Ok(None) => {
                    let _ = actix_web::rt::time::timeout(IDLE_POLL, self.wake.notified()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim an ingest job");
                    actix_web::rt::time::sleep(IDLE_POLL).await;
                }
            }
        }
    }

    /// Runs job `id` in this process if it is still queued (what `cinemesh
    /// ingest` does when no server runs jobs); `None` when another took it,
    /// or took it back.
    pub async fn run_one(&self, id: &str) -> Result<Option<Outcome>, sqlx::Error> {
        match self.store.claim(&self.instance, lease_end(), Some(id)).await? {
            Some(job) => Ok(self.run(job).await),
            None => Ok(None),
        }
    }

    /// Runs a claimed job to its end and records it; `None` when the job
    /// stopped being ours (its lease lapsed and another worker took it): then
    /// nothing is recorded and its upload is left to the one running it now.
    async fn run(&self, job: ClaimedJob) -> Option<Outcome> {
        let stop = Arc::new(Notify::new());
        self.lock_running().insert(job.id.clone(), stop.clone());
        let outcome = self.ingest(&job, &stop).await;
        self.lock_running().remove(&job.id);
        let Some(outcome) = outcome else {
            tracing::warn!(job = %job.id, "an ingest job's lease lapsed: stopped it here, another worker has it");
            return None;
        };
        // Before the end is recorded, so that whoever waits for it finds
        // nothing left; and only while the job is still ours.
        if job.spec.owns_source && matches!(self.store.owns(&job.id, &self.instance).await, Ok(true)) {
            remove_source(&job.spec.source);
        }
        match self.store.finish(&job.id, &self.instance, &outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = %job.id, "an ingest job ended here after another worker took it"),
            Err(e) => tracing::error!(job = %job.id, error = %e, "could not record the end of an ingest job"),
        }
        match &outcome {
            Outcome::Done { movie } => tracing::info!(job = %job.id, movie, "ingest job done"),
            Outcome::Failed { code, message, .. } => tracing::info!(job = %job.id, code, message, "ingest job failed"),
            Outcome::Cancelled => tracing::info!(job = %job.id, "ingest job cancelled"),
        }
        Some(outcome)
    }

    /// The ingest, with a tick that renews the lease, records progress and
    /// looks for a cancel. A cancel stops the encode; once the encode is
    /// over, the job finishes whatever is asked (seconds of hashing and
    /// recording, which a stop half-way would leave inconsistent). `None`
    /// when the job was lost: taken by another worker, or not renewed for
    /// long enough that another may take it.
    async fn ingest(&self, job: &ClaimedJob, stop: &Notify) -> Option<Outcome> {
        // A run of this job in a process that died may still be encoding here.
        let (media_dir, ffmpeg) = (self.ingester.media_dir.clone(), self.ingester.tools.ffmpeg.clone());
        let id = job.id.clone();
        let _ = tokio::task::spawn_blocking(move || earlier_runs::clear_earlier_runs(&media_dir, &ffmpeg, &id)).await;
        let run = cinemesh_common::id::random_id(6);
        let request = match request_of(&job.id, &run, &job.spec) {
            Ok(request) => request,
            Err((code, message)) => return Some(Outcome::Failed { code, message, status: 422 }),
        };
        let shown = self.active.start(&job.spec.title);
        let latest: Arc<Mutex<Option<EncodeProgress>>> = Arc::default();
        let seen = latest.clone();
        let mut on_progress = move |p: EncodeProgress| {
            shown.update(p);
            *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(p);
        };
        let encoded =
            || latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some_and(|p| p.fraction >= 1.0);
        let ingest = self.ingester.ingest(&request, &mut on_progress);
        tokio::pin!(ingest);
        let mut tick = actix_web::rt::time::interval(TICK);
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                result = &mut ingest => {
                    return Some(match result {
                        Ok(movie) => Outcome::Done { movie: movie.id },
                        Err(e) => Outcome::Failed { code: e.code(), message: e.to_string(), status: e.status().as_u16() },
                    });
                }
                () = stop.notified(), if !encoded() => return Some(Outcome::Cancelled),
                _ = tick.tick() => {
                    let progress = progress_of(*latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                    let renewal = self.store.renew(&job.id, &self.instance, lease_end(), progress);
                    match actix_web::rt::time::timeout(RENEW_PATIENCE, renewal).await {
                        Ok(Ok(Some(true))) if !encoded() => return Some(Outcome::Cancelled),
                        Ok(Ok(Some(_))) => renewed = Instant::now(),
                        // Once the encode is over the run finishes whatever happens: what
                        // it records is the movie, which a stop could leave half-made.
                        Ok(Ok(None)) if !encoded() => return None,
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => tracing::warn!(job = %job.id, error = %e, "could not renew an ingest job's lease"),
                        Err(_) => tracing::warn!(job = %job.id, "renewing an ingest job's lease took too long"),
                    }
                    // Stop well before the lease lapses, so that two workers never run one job.
                    if !encoded() && renewed.elapsed() > GIVE_UP_AFTER {
                        return None;
                    }
                }
            }
        }
    }

    /// This process stops: it takes no new job and tells the job table it
    /// runs none (a job running here goes back to the queue when its lease
    /// lapses).
    pub async fn leave(&self) {
        self.leaving.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.store.worker_gone(&self.instance).await;
    }

    fn is_leaving(&self) -> bool {
        self.leaving.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn lease_end() -> i64 {
    now_ms() + LEASE.as_millis() as i64
}

fn progress_of(latest: Option<EncodeProgress>) -> Progress {
    match latest {
        None => Progress { step: "starting", percent: 0, eta_secs: None },
        Some(p) => Progress {
            step: if p.fraction >= 1.0 { "finishing" } else { "encoding" },
            percent: (p.fraction * 100.0).round().clamp(0.0, 100.0) as i64,
            eta_secs: p.eta.map(|d| d.as_secs() as i64),
        },
    }
}

/// The job's details checked again: they were checked when queued, but the
/// row may come from an older version or another process.
fn request_of(id: &str, run: &str, spec: &JobSpec) -> Result<IngestRequest, (&'static str, String)> {
    let fail = |e: crate::domain::InvalidInput| (e.code, e.message);
    Ok(IngestRequest {
        source: spec.source.clone(),
        title: Title::parse(&spec.title).map_err(fail)?,
        description: Description::parse(&spec.description).map_err(fail)?,
        year: spec.year.map(Year::parse).transpose().map_err(fail)?,
        subtitles: spec.subtitles.clone(),
        staging_name: Some(earlier_runs::staging_name(id, run)),
    })
}

fn remove_source(source: &Path) {
    if let Err(e) = std::fs::remove_file(source)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %source.display(), error = %e, "could not remove an ingest job's upload");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_what_the_encode_is_at() {
        assert_eq!(progress_of(None), Progress { step: "starting", percent: 0, eta_secs: None });
        let half = EncodeProgress { fraction: 0.456, eta: Some(Duration::from_secs(9)) };
        assert_eq!(progress_of(Some(half)), Progress { step: "encoding", percent: 46, eta_secs: Some(9) });
        let end = EncodeProgress { fraction: 1.0, eta: None };
        assert_eq!(progress_of(Some(end)).step, "finishing");
    }
}
