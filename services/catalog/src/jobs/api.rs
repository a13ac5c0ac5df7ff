//! `/api/admin/jobs`: the ingest jobs, one job, cancelling or dismissing one,
//! and a stream of the list as it changes (server-sent events) for the admin
//! page's progress bars.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use cinemesh_common::routes::resource;
use cinemesh_common::{ApiError, ErrorBody};
use futures_util::stream;
use serde::Serialize;
use utoipa::ToSchema;

use super::{IngestJob, JobStore};
use crate::admin::{Admin, AdminAccounts};
use crate::api::{CatalogApi, db_error};
use cinemesh_common::stop::StopWatch;

/// Finished jobs listed after the pending ones.
const FINISHED_SHOWN: i64 = 50;
/// How often the event stream looks for changes.
const EVENTS_EVERY: Duration = Duration::from_secs(1);
/// A comment this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE_EVERY: u32 = 15;
/// How often (in looks) a stream checks that its browser session still holds.
const SESSION_CHECK_EVERY: u32 = 5;

pub fn configure_jobs(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/jobs", "GET").route(web::get().to(list_jobs)))
        .service(resource("/api/admin/jobs/events", "GET").route(web::get().to(job_events)))
        .service(
            resource("/api/admin/jobs/{id}", "GET, DELETE")
                .route(web::get().to(get_job))
                .route(web::delete().to(cancel_job)),
        );
}

/// The ingest jobs: waiting and running ones first, then the latest finished.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<IngestJob>,
}

fn job_not_found(id: &str) -> ApiError {
    ApiError::not_found("job_not_found", format!("no ingest job {id:?}"))
}

/// Ingest jobs waiting, running, and the latest finished.
#[utoipa::path(get, path = "/api/admin/jobs", tag = "admin", security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = JobList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_jobs(_admin: Admin, api: web::Data<CatalogApi>) -> Result<HttpResponse, ApiError> {
    let jobs = api.queue.store.list(FINISHED_SHOWN).await.map_err(db_error)?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(JobList { jobs }))
}

/// One ingest job.
#[utoipa::path(get, path = "/api/admin/jobs/{id}", tag = "admin",
    params(("id" = String, Path, description = "Job id")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = IngestJob), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_job(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job = api.queue.store.get(&id).await.map_err(db_error)?.ok_or_else(|| job_not_found(&id))?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(job))
}

/// Cancel a job that is waiting or running (ffmpeg stops, nothing is left),
/// or forget a finished one (204).
#[utoipa::path(delete, path = "/api/admin/jobs/{id}", tag = "admin",
    params(("id" = String, Path, description = "Job id")),
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, body = IngestJob, description = "cancelled, or being cancelled"), (status = 204),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cancel_job(
    _admin: Admin,
    api: web::Data<CatalogApi>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job = api.queue.store.get(&id).await.map_err(db_error)?.ok_or_else(|| job_not_found(&id))?;
    if job.state.is_finished() {
        api.queue.store.dismiss(&id).await.map_err(db_error)?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let job = api.queue.cancel(&id).await.map_err(db_error)?.ok_or_else(|| job_not_found(&id))?;
    Ok(HttpResponse::build(StatusCode::OK).json(job))
}

/// The job list as server-sent events: one `jobs` event now, then one each
/// time it changes (progress included), at most once a second.
#[utoipa::path(get, path = "/api/admin/jobs/events", tag = "admin",
    security(("admin_token" = []), ("admin_session" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "`event: jobs` with a JobList"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn job_events(admin: Admin, api: web::Data<CatalogApi>) -> HttpResponse {
    let state = Events {
        store: api.queue.store.clone(),
        accounts: api.accounts.clone(),
        session: admin.session.map(|(cookie, _)| cookie),
        stop: api.stop.watch(),
        last: String::new(),
        quiet: 0,
        ticks: 0,
        first: true,
    };
    let events = stream::unfold(state, |mut state| async move {
        let chunk = state.next().await?;
        Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), state))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        // Proxies must pass each event on as it comes (nginx buffers otherwise).
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events)
}

struct Events {
    store: JobStore,
    accounts: AdminAccounts,
    /// The browser session it was opened with: the stream ends with it.
    session: Option<String>,
    stop: StopWatch,
    last: String,
    quiet: u32,
    ticks: u32,
    first: bool,
}

impl Events {
    /// The next thing to send: the list when it changed, else now and then a
    /// keep-alive; `None` ends the stream (the instance stops, or the session
    /// it was opened with ended: signed out, removed, expired).
    async fn next(&mut self) -> Option<String> {
        loop {
            if !std::mem::take(&mut self.first) {
                tokio::select! {
                    () = actix_web::rt::time::sleep(EVENTS_EVERY) => {}
                    () = self.stop.requested() => return None,
                }
                self.ticks += 1;
                if self.ticks.is_multiple_of(SESSION_CHECK_EVERY)
                    && let Some(cookie) = &self.session
                    && !matches!(self.accounts.session(cookie).await, Ok(Some(_)))
                {
                    return None;
                }
            }
            match self.store.list(FINISHED_SHOWN).await {
                Ok(jobs) => {
                    let json = serde_json::to_string(&JobList { jobs }).unwrap_or_default();
                    if json != self.last {
                        self.quiet = 0;
                        self.last.clone_from(&json);
                        return Some(format!("event: jobs\ndata: {json}\n\n"));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the ingest jobs for an event stream"),
            }
            self.quiet += 1;
            if self.quiet >= KEEP_ALIVE_EVERY {
                self.quiet = 0;
                return Some(": keep-alive\n\n".into());
            }
        }
    }
}
