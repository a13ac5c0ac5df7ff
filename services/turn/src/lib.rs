//! The server's own STUN and TURN. STUN is on by default so that browsers
//! learn their public address from this server rather than from a third
//! party; TURN relays (`turn.relay`) take the short-lived credentials the
//! catalog hands each viewer, and never relay to private addresses or this
//! server's own ports.

pub mod config;
pub mod guarded_relay;
pub mod listener;
pub mod metrics;
pub mod peer_policy;
mod rate_cap;
pub mod rest_auth;
mod server;
pub mod tcp_listener;

pub use config::TurnConfig;
pub use metrics::TurnMetrics;
pub use server::{EmbeddedTurn, PAGE_HOST};
