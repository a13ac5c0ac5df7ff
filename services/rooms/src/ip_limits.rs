//! A chat rate limit per client address, shared by all of that address's
//! connections, so opening more sockets does not buy more messages. Entries
//! idle for a minute are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cinemesh_common::rate_limit::RateLimiter;

/// Chat messages per second from one address, and its burst: twice a
/// connection's, as a household shares an address.
const PER_SEC: f64 = 20.0;
const BURST: f64 = 40.0;
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// Entries kept before idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Clone, Default)]
pub struct IpLimits {
    limits: Arc<Mutex<HashMap<IpAddr, (RateLimiter, Instant)>>>,
}

impl IpLimits {
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        if limits.len() > SWEEP_ABOVE {
            limits.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        }
        let (limiter, last) = limits.entry(ip).or_insert_with(|| (RateLimiter::new(PER_SEC, BURST, now), now));
        *last = now;
        limiter.allow(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_from_one_address_share_its_budget() {
        let limits = IpLimits::default();
        let now = Instant::now();
        let home: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!((0..60).filter(|_| limits.allow(home, now)).count(), BURST as usize);
        assert!(limits.allow(other, now), "another address has its own budget");
        assert!(limits.allow(home, now + Duration::from_millis(100)), "refilled at the rate");
    }
}
