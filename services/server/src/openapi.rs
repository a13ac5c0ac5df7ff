//! The OpenAPI document, generated from the handlers' annotations, so it
//! lists exactly the routes the handlers implement.

use actix_web::{HttpResponse, web};
use cinemesh_common::routes::resource;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use cinemesh_catalog::{admin, api, ingest, jobs, model, uploads};
use cinemesh_common::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cinemesh", description = "Watch-party platform: catalog, segment server and rooms API."),
    paths(
        api::list_movies,
        api::get_movie,
        api::get_segment_manifest,
        api::catalog_status,
        api::upload_movie,
        api::delete_movie,
        cinemesh_catalog::subtitles_api::add_subtitles,
        cinemesh_catalog::subtitles_api::remove_subtitles,
        api::movie_offload,
        admin::session_api::sign_in,
        admin::session_api::current_session,
        admin::session_api::sign_out,
        admin::library_api::library,
        admin::library_api::edit_movie,
        admin::library_api::upload_poster,
        admin::library_api::poster_from_frame,
        jobs::api::list_jobs,
        jobs::api::get_job,
        jobs::api::cancel_job,
        jobs::api::job_events,
        uploads::api::capabilities,
        uploads::api::create_upload,
        uploads::api::upload_offset,
        uploads::api::append_to_upload,
        uploads::api::terminate_upload,
        cinemesh_rooms::api::create_room,
        cinemesh_rooms::api::get_room,
        crate::health::healthz,
        crate::health::readyz,
        crate::health::metrics,
        openapi_json,
    ),
    components(schemas(
        ErrorBody,
        model::MoviePage,
        model::MovieSummary,
        model::MovieDetail,
        model::RenditionView,
        model::RenditionKind,
        model::AudioTrackView,
        model::SubtitleView,
        model::SkippedTrack,
        model::TrackerAccess,
        model::IceServer,
        model::Offload,
        model::SegmentManifest,
        model::RenditionSegments,
        ingest::CatalogStatus,
        ingest::ActiveIngest,
        admin::session_api::SignIn,
        admin::session_api::TokenSignIn,
        admin::session_api::UserSignIn,
        admin::session_api::SessionView,
        admin::library::LibraryPage,
        admin::library::LibraryMovie,
        admin::library::LibrarySort,
        admin::library::MovieEdit,
        admin::library_api::PosterFrame,
        jobs::IngestJob,
        jobs::JobState,
        jobs::api::JobList,
        crate::health::Readiness,
        cinemesh_rooms::api::CreateRoom,
        cinemesh_rooms::api::RoomSummary,
    )),
    modifiers(&AdminToken),
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
            // A browser signed in at /admin; unsafe methods also need `x-csrf-token`.
            components.add_security_scheme(
                "admin_session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(admin::auth::SESSION_COOKIE))),
            );
        }
        // Every admin route checks the token or session first, and a household
        // that failed too often may not try (`too_many_attempts`).
        let limited = ResponseBuilder::new()
            .description("`too_many_attempts`: too many failed sign-ins or wrong tokens from this address")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build();
        for (path, item) in openapi.paths.paths.iter_mut().filter(|(path, _)| path.starts_with("/api/admin")) {
            let operations =
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete, &mut item.head];
            for operation in operations.into_iter().flatten() {
                operation.responses.responses.entry("429".into()).or_insert_with(|| limited.clone().into());
            }
            let _ = path;
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, content_type = "application/json")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

pub fn configure_openapi(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/openapi.json", "GET").route(web::get().to(openapi_json)));
}
