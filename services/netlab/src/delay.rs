//! The delay line of one link direction: which packets to drop, and when to release the rest.
//! Pure logic, driven by [`crate::shaper`] with packet ids and clock readings.
//!
//! Order: a packet is released at `max(release of the packet before it, arrival + delay ±
//! jitter)`. A real link's jitter comes from queues, which do not reorder; releasing out of order
//! would make every jittered TCP flow see reordering (and spurious retransmits) that no real access
//! link produces. The price: when packets come closer together than the jitter's spread, later
//! ones inherit their predecessor's delay, so dense traffic sees delays skewed up within
//! the band. Calibration probes are spaced wider than the band, and see the configured spread.
//!
//! Loss is spread evenly ("stratified"): the packet stream is cut into runs of 1/p packets and
//! exactly one packet of each run, at a uniformly random place, is dropped. Each packet is lost
//! with probability p as with independent random loss, but the count over any stretch is exact
//! (±1), so short calibrations and benchmark runs see the configured loss, not a binomial draw.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::profile::LinkSpec;
use fastrand::Rng;

/// Impairments of one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Base one-way delay: half the link's RTT.
    pub delay: Duration,
    /// Half-width of the uniform jitter band: half the link's ± RTT jitter.
    pub jitter: Duration,
    /// Probability of losing a packet, 0..=1.
    pub loss: f64,
}

impl Impairment {
    /// Each direction of `link` gets half its RTT and half its jitter, and its full loss.
    pub fn of_link(link: &LinkSpec) -> Self {
        Self {
            delay: Duration::from_secs_f64(link.rtt_ms / 2000.0),
            jitter: Duration::from_secs_f64(link.jitter_ms / 2000.0),
            loss: (link.loss_pct / 100.0).clamp(0.0, 1.0),
        }
    }

    pub fn is_none(&self) -> bool {
        self.delay.is_zero() && self.jitter.is_zero() && self.loss <= 0.0
    }
}

/// Evenly spread loss: exactly one drop per run of 1/rate packets, at a random place in the run.
#[derive(Debug)]
pub struct EvenLoss {
    rate: f64,
    seen: u64,
    runs: u64,
    run_end: u64,
    drop_at: u64,
}

impl EvenLoss {
    pub fn new(rate: f64) -> Self {
        Self { rate, seen: 0, runs: 0, run_end: 0, drop_at: u64::MAX }
    }

    /// Whether the next packet is lost.
    pub fn lose(&mut self, rng: &mut Rng) -> bool {
        if self.rate <= 0.0 {
            return false;
        }
        if self.rate >= 1.0 {
            return true;
        }
        if self.seen == self.run_end {
            // Run k covers packets floor((k-1)/p) .. floor(k/p): lengths average 1/p exactly.
            let start = self.run_end;
            self.runs += 1;
            self.run_end = ((self.runs as f64) / self.rate).floor() as u64;
            self.drop_at = if self.run_end <= start { start } else { rng.u64(start..self.run_end) };
        }
        let lost = self.seen == self.drop_at;
        self.seen += 1;
        lost
    }
}

pub struct DelayLine {
    params: Impairment,
    loss: EvenLoss,
    rng: Rng,
    held: VecDeque<(Instant, u32)>,
    last_release: Option<Instant>,
}

impl DelayLine {
    pub fn new(params: Impairment, rng: Rng) -> Self {
        Self { params, loss: EvenLoss::new(params.loss), rng, held: VecDeque::new(), last_release: None }
    }

    /// New impairments apply to packets arriving from now on; a new loss rate starts new runs.
    pub fn set(&mut self, params: Impairment) {
        if params != self.params {
            if params.loss != self.params.loss {
                self.loss = EvenLoss::new(params.loss);
            }
            self.params = params;
        }
    }

    /// Takes in packet `id`, arrived at `now`: `false` means drop it now.
    pub fn admit(&mut self, id: u32, now: Instant) -> bool {
        if self.loss.lose(&mut self.rng) {
            return false;
        }
        let jitter = self.params.jitter.as_secs_f64() * (2.0 * self.rng.f64() - 1.0);
        let delay = (self.params.delay.as_secs_f64() + jitter).max(0.0);
        let mut due = now + Duration::from_secs_f64(delay);
        if let Some(last) = self.last_release {
            due = due.max(last);
        }
        self.last_release = Some(due);
        self.held.push_back((due, id));
        true
    }

    /// When the next held packet is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.held.front().map(|(due, _)| *due)
    }

    /// Pops every packet due by `now` and returns the id of the last one: accepting everything
    /// up to it releases them all, in order.
    pub fn release(&mut self, now: Instant) -> Option<u32> {
        let mut last = None;
        while let Some(&(due, id)) = self.held.front() {
            if due > now {
                break;
            }
            self.held.pop_front();
            last = Some(id);
        }
        last
    }

    /// Pops everything (on shutdown) and returns the last id.
    pub fn release_all(&mut self) -> Option<u32> {
        let last = self.held.back().map(|(_, id)| *id);
        self.held.clear();
        last
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: f64) -> Duration {
        Duration::from_secs_f64(n / 1000.0)
    }

    #[test]
    fn each_direction_gets_half_the_rtt_and_half_the_jitter() {
        let link = LinkSpec { rtt_ms: 40.0, jitter_ms: 5.0, loss_pct: 0.5, ..LinkSpec::default() };
        let imp = Impairment::of_link(&link);
        assert_eq!((imp.delay, imp.jitter), (ms(20.0), ms(2.5)));
        assert!((imp.loss - 0.005).abs() < 1e-12);
        assert!(Impairment::of_link(&LinkSpec::default()).is_none());
    }

    #[test]
    fn even_loss_drops_exactly_the_share_over_any_long_stretch() {
        for rate in [0.005, 0.01, 0.02, 0.3, 0.75] {
            let mut loss = EvenLoss::new(rate);
            let mut rng = Rng::with_seed(9);
            let mut lost = 0u64;
            for n in 1..=20_000u64 {
                lost += u64::from(loss.lose(&mut rng));
                let expected = n as f64 * rate;
                assert!((lost as f64 - expected).abs() <= 1.0 + 1e-9, "rate {rate}: {lost} lost of {n}");
            }
        }
    }

    #[test]
    fn even_loss_places_drops_at_random_not_periodically() {
        let mut loss = EvenLoss::new(0.01);
        let mut rng = Rng::with_seed(4);
        let positions: Vec<u64> = (0..10_000u64).filter(|_| loss.lose(&mut rng)).map(|n| n % 100).collect();
        let mut distinct = positions.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 50, "drops sit at only {} places in their runs", distinct.len());
    }

    #[test]
    fn no_loss_and_full_loss_are_exact() {
        let mut rng = Rng::with_seed(1);
        assert!(!(0..1000).any(|_| EvenLoss::new(0.0).lose(&mut rng)));
        let mut all = EvenLoss::new(1.0);
        assert!((0..1000).all(|_| all.lose(&mut rng)));
    }

    #[test]
    fn packets_are_held_for_the_delay_within_the_jitter_band() {
        let imp = Impairment { delay: ms(20.0), jitter: ms(2.5), loss: 0.0 };
        let mut line = DelayLine::new(imp, Rng::with_seed(3));
        let start = Instant::now();
        for i in 0..1000u32 {
            // Spaced wider than the band: ordering never binds.
            let now = start + ms(10.0) * i;
            assert!(line.admit(i, now));
            let due = line.held.back().unwrap().0 - now;
            assert!(due >= ms(17.5) && due <= ms(22.5), "{due:?}");
        }
    }

    #[test]
    fn release_keeps_arrival_order_even_when_jitter_would_reorder() {
        let imp = Impairment { delay: ms(20.0), jitter: ms(10.0), loss: 0.0 };
        let mut line = DelayLine::new(imp, Rng::with_seed(5));
        let start = Instant::now();
        for i in 0..500u32 {
            line.admit(i, start + ms(0.1) * i);
        }
        let dues: Vec<Instant> = line.held.iter().map(|(d, _)| *d).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]));
        let ids: Vec<u32> = line.held.iter().map(|(_, id)| *id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn release_hands_back_the_last_due_id() {
        let imp = Impairment { delay: ms(10.0), jitter: Duration::ZERO, loss: 0.0 };
        let mut line = DelayLine::new(imp, Rng::with_seed(5));
        let start = Instant::now();
        for i in 1..=3u32 {
            line.admit(i, start + ms(5.0) * i);
        }
        assert_eq!(line.release(start + ms(14.0)), None);
        assert_eq!(line.release(start + ms(20.0)), Some(2));
        assert_eq!(line.next_due(), Some(start + ms(25.0)));
        assert_eq!(line.release_all(), Some(3));
        assert_eq!(line.held(), 0);
    }

    #[test]
    fn lost_packets_are_not_held() {
        let imp = Impairment { delay: ms(10.0), jitter: Duration::ZERO, loss: 1.0 };
        let mut line = DelayLine::new(imp, Rng::with_seed(5));
        assert!(!line.admit(1, Instant::now()));
        assert_eq!(line.held(), 0);
    }
}
