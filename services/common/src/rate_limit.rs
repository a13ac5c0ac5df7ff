//! A token bucket for message and byte rates: a burst passes, then the
//! average holds.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter {
    tokens: f64,
    last: Instant,
    per_sec: f64,
    burst: f64,
}

impl RateLimiter {
    pub fn new(per_sec: f64, burst: f64, now: Instant) -> Self {
        Self { tokens: burst, last: now, per_sec, burst }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
    }

    /// Takes `amount` tokens, going into debt if it must; returns how long to
    /// wait before using them so the average holds (zero when they were there).
    pub fn reserve(&mut self, amount: f64, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= amount;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.per_sec) }
    }

    /// Takes one token; false when the bucket is empty.
    pub fn allow(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_pass_then_the_rate_holds() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10.0, 5.0, start);
        assert_eq!((0..8).filter(|_| limiter.allow(start)).count(), 5);
        assert!(limiter.allow(start + Duration::from_millis(100)), "one token refilled after 100 ms");
        assert!(!limiter.allow(start + Duration::from_millis(110)));
    }

    #[test]
    fn reserving_bytes_past_the_burst_waits_for_the_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(1_000.0, 500.0, start);
        assert_eq!(limiter.reserve(500.0, start), Duration::ZERO, "the burst is there");
        assert_eq!(limiter.reserve(250.0, start), Duration::from_millis(250));
        // The debt is paid first: 250 ms later the bucket is empty again.
        assert_eq!(limiter.reserve(100.0, start + Duration::from_millis(250)), Duration::from_millis(100));
    }
}
