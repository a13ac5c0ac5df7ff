//! A token bucket for message rates: a burst passes, then the average holds.

use std::time::Instant;

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

    /// Takes one token; false when the bucket is empty.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
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
}
