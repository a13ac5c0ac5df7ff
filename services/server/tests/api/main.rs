//! Integration tests of the cinemesh server over HTTP, each against its own
//! database (SQLite, or Postgres with CINEMESH_TEST_DATABASE=postgres).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse_limits;
mod admin;
mod admin_library;
mod admin_sessions;
mod catalog;
mod cli;
mod demo;
mod health;
mod helpers;
mod hostile_uploads;
mod http_contract;
mod ingest;
mod ingest_jobs;
mod lobby;
mod proxy;
mod room_calls;
mod room_client;
mod room_instances;
mod room_queue;
mod room_security;
mod room_tracks;
mod rooms;
mod segments;
mod shutdown;
mod subtitles;
mod tracker;
mod tracker_client;
mod tracks;
mod uploads;
mod ws_client;
