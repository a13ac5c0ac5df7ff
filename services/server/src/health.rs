//! `/healthz` (the process answers), `/readyz` (its dependencies answer) and
//! `/metrics` (Prometheus text).

use cinemesh_common::routes::resource;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use cinemesh_common::Database;
use prometheus_client::registry::Registry;
use serde::Serialize;
use utoipa::ToSchema;

/// How long a readiness probe waits for each dependency.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HealthState {
    pub db: Database,
    pub redis: Option<redis::Client>,
    pub registry: Arc<Registry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
    /// `not_configured` when running without Redis.
    pub redis: &'static str,
}

pub fn configure_health(cfg: &mut web::ServiceConfig, state: HealthState) {
    cfg.app_data(web::Data::new(state))
        .service(resource("/healthz", "GET").route(web::get().to(healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(readyz)))
        .service(resource("/metrics", "GET").route(web::get().to(metrics)));
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database (and Redis, when configured) answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<HealthState>) -> HttpResponse {
    let database_ok = tokio::time::timeout(PROBE_TIMEOUT, state.db.is_reachable()).await.unwrap_or(false);
    let redis = match &state.redis {
        None => "not_configured",
        Some(client) => {
            if tokio::time::timeout(PROBE_TIMEOUT, ping(client)).await.unwrap_or(false) {
                "ok"
            } else {
                "unavailable"
            }
        }
    };
    let ready = database_ok && redis != "unavailable";
    let body = Readiness {
        status: if ready { "ok" } else { "unavailable" },
        database: if database_ok { "ok" } else { "unavailable" },
        redis,
    };
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

async fn ping(client: &redis::Client) -> bool {
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "application/openmetrics-text")))]
pub async fn metrics(state: web::Data<HealthState>) -> HttpResponse {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        return actix_web::ResponseError::error_response(&cinemesh_common::ApiError::internal(&e));
    }
    HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text)
}
