//! The `cinemesh` server: composes the catalog, the segment server, health and
//! metrics, and the web client into one process.

pub mod admin_cli;
pub mod catalog_cli;
pub mod catalog_lookups;
pub mod cli;
pub mod config;
pub mod demo;
pub mod health;
pub mod openapi;
pub mod progress_bar;
pub mod request_id;
pub mod secret;
pub mod startup;
pub mod stopper;
pub mod telemetry;
pub mod tls;

pub use config::Config;
pub use startup::Application;
