//! `/api/rooms`: create a room for a catalog movie, look one up, and the
//! room's WebSocket.

use cinemesh_common::routes::resource;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use cinemesh_common::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::registry::Rooms;
use crate::setup::RoomSetup;

/// Longest room password, characters.
const MAX_PASSWORD_CHARS: usize = 128;

/// A catalog movie, as a room needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieFacts {
    pub title: String,
    pub duration_ms: f64,
}

/// Looks up a catalog movie (`None`: no such movie).
pub trait MovieDirectory: Send + Sync + 'static {
    fn facts<'a>(&'a self, movie: &'a str) -> Pin<Box<dyn Future<Output = Option<MovieFacts>> + 'a>>;
}

#[derive(Clone)]
pub struct RoomsApi {
    pub rooms: Rooms,
    pub lobby: crate::Lobby,
    pub movies: Arc<dyn MovieDirectory>,
}

/// A new room.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub movie_id: String,
    /// Members must give it to join; absent: anyone with the link joins.
    #[schema(min_length = 1, max_length = 128)]
    pub password: Option<String>,
}

/// A room, as anyone with its id sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoomSummary {
    pub id: String,
    pub movie_id: String,
    pub has_password: bool,
    /// Page to share: opening it joins the room.
    pub invite_path: String,
    /// WebSocket path of the room.
    pub socket_path: String,
}

pub fn configure_rooms(cfg: &mut web::ServiceConfig, api: RoomsApi) {
    cfg.app_data(web::Data::new(api.rooms.clone()))
        .app_data(web::Data::new(api.lobby.clone()))
        .app_data(web::Data::new(api))
        .service(resource("/api/lobby/socket", "GET").route(web::get().to(crate::lobby_session::lobby_socket)))
        .service(resource("/api/rooms", "POST").route(web::post().to(create_room)))
        .service(resource("/api/rooms/{id}", "GET").route(web::get().to(get_room)))
        .service(resource("/api/rooms/{id}/socket", "GET").route(web::get().to(crate::session::room_socket)));
}

fn summary(id: &str, movie: &str, has_password: bool) -> RoomSummary {
    RoomSummary {
        id: id.to_owned(),
        movie_id: movie.to_owned(),
        has_password,
        invite_path: format!("/rooms/{id}"),
        socket_path: format!("/api/rooms/{id}/socket"),
    }
}

/// Create a watch party for a movie; the caller joins it over its socket.
#[utoipa::path(post, path = "/api/rooms", tag = "rooms", request_body = CreateRoom,
    responses((status = 201, body = RoomSummary), (status = 400, body = cinemesh_common::ErrorBody),
              (status = 404, body = cinemesh_common::ErrorBody),
              (status = 429, description = "too_many_rooms: this address created many rooms lately",
               body = cinemesh_common::ErrorBody)))]
pub async fn create_room(
    req: HttpRequest,
    api: web::Data<RoomsApi>,
    body: web::Json<CreateRoom>,
) -> Result<HttpResponse, ApiError> {
    if let Some(address) = api.rooms.metrics.connections.client_address(&req)
        && !api.rooms.creation_limits.allow(address, std::time::Instant::now())
    {
        api.rooms.metrics.refused("too_many_rooms");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_rooms",
            "this address has created many rooms lately; try again later",
        ));
    }
    let CreateRoom { movie_id, password } = body.into_inner();
    let MovieFacts { title, duration_ms } = api
        .movies
        .facts(&movie_id)
        .await
        .ok_or_else(|| ApiError::not_found("movie_not_found", format!("no movie with id {movie_id:?}")))?;
    let password = match password {
        Some(p) if p.is_empty() || p.chars().count() > MAX_PASSWORD_CHARS => {
            return Err(ApiError::bad_request(
                "invalid_password",
                format!("a password has 1 to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Some(p) => Some(crate::password::hash(p).await),
        None => None,
    };
    // 20 characters of a 31-symbol alphabet: about 99 bits, unguessable.
    let id = cinemesh_common::id::random_id(20);
    let room = api
        .rooms
        .create(RoomSetup { id: id.clone(), movie: movie_id, title, duration_ms, password })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Created().json(summary(&room.id, &room.movie.get(), room.password.is_some())))
}

/// A room's public facts (no members, no chat).
#[utoipa::path(get, path = "/api/rooms/{id}", tag = "rooms", params(("id" = String, Path)),
    responses((status = 200, body = RoomSummary), (status = 404, body = cinemesh_common::ErrorBody)))]
pub async fn get_room(api: web::Data<RoomsApi>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let room = api
        .rooms
        .get(&id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found("room_not_found", "no such room"))?;
    Ok(HttpResponse::Ok().json(summary(&room.id, &room.movie.get(), room.password.is_some())))
}
