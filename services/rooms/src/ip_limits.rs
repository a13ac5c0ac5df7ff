//! A rate limit per client address, shared by all of that address's
//! connections, so opening more sockets does not buy more messages (chat),
//! and more requests do not buy more rooms (creation).
//!
//! Memory is bounded: past `MAX_TRACKED` addresses, the ones idle for
//! `FORGET_AFTER` are swept, at most once a second (so a flood of new
//! addresses does not turn every call into a sweep), and if that is not
//! enough the older half goes. A forgotten address starts with a full burst,
//! which only ever happens to addresses that were quiet.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cinemesh_common::rate_limit::RateLimiter;

const FORGET_AFTER: Duration = Duration::from_secs(600);
const MAX_TRACKED: usize = 10_000;
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(1);

struct Limits {
    by_address: HashMap<IpAddr, (RateLimiter, Instant)>,
    swept: Option<Instant>,
}

#[derive(Clone)]
pub struct IpLimits {
    per_sec: f64,
    burst: f64,
    limits: Arc<Mutex<Limits>>,
}

impl Default for IpLimits {
    /// The chat budget: twice a connection's, as a household shares an address.
    fn default() -> Self {
        Self::new(20.0, 40.0)
    }
}

impl IpLimits {
    pub fn new(per_sec: f64, burst: f64) -> Self {
        Self { per_sec, burst, limits: Arc::new(Mutex::new(Limits { by_address: HashMap::new(), swept: None })) }
    }

    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        if limits.by_address.len() >= MAX_TRACKED
            && limits.swept.is_none_or(|at| now.duration_since(at) >= SWEEP_AT_MOST_EVERY)
        {
            limits.swept = Some(now);
            sweep(&mut limits.by_address, now);
        }
        let (per_sec, burst) = (self.per_sec, self.burst);
        let (limiter, last) =
            limits.by_address.entry(ip).or_insert_with(|| (RateLimiter::new(per_sec, burst, now), now));
        *last = now;
        limiter.allow(now)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.limits.lock().unwrap_or_else(PoisonError::into_inner).by_address.len()
    }
}

fn sweep(by_address: &mut HashMap<IpAddr, (RateLimiter, Instant)>, now: Instant) {
    by_address.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
    if by_address.len() >= MAX_TRACKED {
        let mut lasts: Vec<Instant> = by_address.values().map(|(_, last)| *last).collect();
        let middle = lasts.len() / 2;
        let (_, median, _) = lasts.select_nth_unstable(middle);
        let median = *median;
        by_address.retain(|_, (_, last)| *last > median);
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
        assert_eq!((0..60).filter(|_| limits.allow(home, now)).count(), 40);
        assert!(limits.allow(other, now), "another address has its own budget");
        assert!(limits.allow(home, now + Duration::from_millis(100)), "refilled at the rate");
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let limits = IpLimits::new(1.0, 1.0);
        let start = Instant::now();
        for n in 0..(3 * MAX_TRACKED as u32) {
            let at = start + Duration::from_millis(u64::from(n));
            limits.allow(IpAddr::from(n.to_be_bytes()), at);
        }
        assert!(limits.tracked() <= 2 * MAX_TRACKED, "{}", limits.tracked());
    }
}
