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

    /// Whether a token is there now, without taking it.
    pub fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Tokens in the bucket now.
    pub fn level(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// Whether the bucket has refilled to its burst: nothing to remember.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
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

/// One bucket per client household (an IPv4 address, or an IPv6 /64, which
/// one client can rotate through), for requests that cost the server or guess
/// at secrets: sign-ins, admin tokens, new uploads. Clones share the buckets.
#[cfg(feature = "server")]
#[derive(Debug, Clone)]
pub struct PerAddress {
    buckets: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, RateLimiter>>>,
    per_sec: f64,
    burst: f64,
}

#[cfg(feature = "server")]
/// Households remembered at most. Past this, the ones whose buckets refilled
/// are forgotten (they lose nothing), or else the one closest to full.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

#[cfg(feature = "server")]
impl PerAddress {
    pub fn new(per_sec: f64, burst: f64) -> Self {
        Self { buckets: std::sync::Arc::default(), per_sec, burst }
    }

    /// Takes one token from `address`'s household; false when there is none.
    pub fn allow(&self, address: std::net::IpAddr, now: Instant) -> bool {
        self.with_bucket(address, now, |bucket| bucket.allow(now))
    }

    /// Whether `address`'s household has a token now, without taking it.
    pub fn would_allow(&self, address: std::net::IpAddr, now: Instant) -> bool {
        self.with_bucket(address, now, |bucket| bucket.has_token(now))
    }

    fn with_bucket(&self, address: std::net::IpAddr, now: Instant, f: impl FnOnce(&mut RateLimiter) -> bool) -> bool {
        let household = crate::client_address::household(address);
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_ADDRESSES && !buckets.contains_key(&household) {
            buckets.retain(|_, bucket| !bucket.is_full(now));
            // All still draining (households flooding from one big prefix):
            // the one closest to full is forgotten, never a newcomer refused,
            // so that a flood cannot lock everyone else out.
            if buckets.len() >= MAX_TRACKED_ADDRESSES
                && let Some(fullest) = buckets
                    .iter_mut()
                    .map(|(address, bucket)| (*address, bucket.level(now)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(address, _)| address)
            {
                buckets.remove(&fullest);
            }
        }
        f(buckets.entry(household).or_insert_with(|| RateLimiter::new(self.per_sec, self.burst, now)))
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
    #[cfg(feature = "server")]
    fn an_ipv6_client_rotating_through_its_prefix_shares_one_bucket() {
        let now = Instant::now();
        let limits = PerAddress::new(0.1, 2.0);
        let mut allowed = 0;
        for host in 1..10u16 {
            let address = std::net::IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, host));
            allowed += usize::from(limits.allow(address, now));
        }
        assert_eq!(allowed, 2);
    }

    #[test]
    #[cfg(feature = "server")]
    fn a_peek_takes_nothing() {
        let now = Instant::now();
        let limits = PerAddress::new(0.1, 1.0);
        let address = "10.0.0.9".parse().unwrap();
        assert!(limits.would_allow(address, now) && limits.would_allow(address, now));
        assert!(limits.allow(address, now));
        assert!(!limits.would_allow(address, now));
    }

    #[test]
    #[cfg(feature = "server")]
    fn each_address_has_its_own_bucket() {
        let now = Instant::now();
        let limits = PerAddress::new(0.1, 3.0);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!((0..10).filter(|_| limits.allow(a, now)).count(), 3);
        assert!(limits.clone().allow(b, now), "another address, and a clone shares the buckets");
        assert!(!limits.clone().allow(a, now));
    }
}
