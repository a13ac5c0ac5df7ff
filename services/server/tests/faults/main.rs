//! Fault tests with real services: each test starts the service it breaks
//! (its own Redis, its own Postgres cluster, its own tmpfs), never the shared
//! ones, breaks it in the middle of a watch party, and checks what the
//! `cinemesh` processes do meanwhile and after. They run one at a time: they
//! kill processes and measure recovery times on a small machine.
//!
//! - `redis_killed`: Redis SIGKILLed under two instances, then restarted;
//! - `postgres_restarted`: the database stopped while a room chats;
//! - `disk_full`: an ingest that does not fit in the media folder;
//! - `server_killed`: SIGKILL of the server, then a restart on the same data.
//!
//! The HTTP and WebSocket helpers are the API suite's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../api/room_client.rs"]
#[allow(dead_code)]
mod room_client;
#[path = "../api/tracker_client.rs"]
#[allow(dead_code, unused_imports)]
mod tracker_client;
#[path = "../api/ws_client.rs"]
#[allow(dead_code)]
mod ws_client;

mod disk_full;
mod own_services;
mod postgres_restarted;
mod redis_killed;
mod server_killed;
