//! A token bucket: relays' bytes per second, the listener's unauthenticated requests.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A token bucket holding one second's worth: bytes, or requests.
pub(crate) struct RateCap {
    bytes_per_sec: u64,
    state: Mutex<(f64, Instant)>,
}

impl RateCap {
    pub(crate) fn new(bytes_per_sec: u64) -> Self {
        Self { bytes_per_sec, state: Mutex::new((bytes_per_sec as f64, Instant::now())) }
    }

    /// Whether `bytes` fit now (0 per second: no cap).
    pub(crate) fn take(&self, bytes: usize) -> bool {
        if self.bytes_per_sec == 0 {
            return true;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = &mut *state;
        let now = Instant::now();
        let rate = self.bytes_per_sec as f64;
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens < bytes as f64 {
            return false;
        }
        *tokens -= bytes as f64;
        true
    }
}
