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

/// One bucket per client address, for requests that cost the server (sign-in
/// attempts, new uploads). Cloned handles share the buckets.
#[derive(Debug, Clone)]
pub struct PerAddress {
    buckets: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, RateLimiter>>>,
    per_sec: f64,
    burst: f64,
}

/// Addresses remembered at most; past this every bucket is forgotten rather
/// than the table growing (each request still costs what the limit protects).
const MAX_TRACKED_ADDRESSES: usize = 10_000;

impl PerAddress {
    pub fn new(per_sec: f64, burst: f64) -> Self {
        Self { buckets: std::sync::Arc::default(), per_sec, burst }
    }

    /// Takes one token from `address`'s bucket; false when it is empty.
    pub fn allow(&self, address: std::net::IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_ADDRESSES && !buckets.contains_key(&address) {
            buckets.clear();
        }
        buckets.entry(address).or_insert_with(|| RateLimiter::new(self.per_sec, self.burst, now)).allow(now)
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

    #[test]
    fn each_address_has_its_own_bucket() {
        let now = Instant::now();
        let limits = PerAddress::new(0.1, 3.0);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!((0..10).filter(|_| limits.allow(a, now)).count(), 3);
        assert!(limits.clone().allow(b, now), "another address, and a clone shares the buckets");
        assert!(!limits.clone().allow(a, now));
    }
}
