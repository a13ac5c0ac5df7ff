//! Per-connection limits: a token bucket for message rate, and a count of
//! refusals after which the connection is closed as abusive.

/// Messages per second a connection may send on average.
pub const MESSAGES_PER_SEC: f64 = 50.0;
/// Messages a connection may send in a burst.
pub const MESSAGE_BURST: f64 = 100.0;
/// Refused messages tolerated before the socket is closed.
pub const MAX_REFUSALS: u32 = 20;

pub use cinemesh_common::rate_limit::RateLimiter;
