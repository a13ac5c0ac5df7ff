//! What the simulated peers observe, shared on the load generator's one thread.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Observed {
    /// Set during the steady phase only: everything below counts only then.
    pub measuring: Cell<bool>,
    pub sent: Cell<u64>,
    pub received: Cell<u64>,
    pub rtt_micros: RefCell<Vec<u32>>,
    /// From a report on one instance to its holder being named on another.
    pub introduction_micros: RefCell<Vec<u32>>,
    pub errors: RefCell<BTreeMap<String, u64>>,
    pub connected: Cell<u64>,
    pub failed_connections: Cell<u64>,
    pub stop: Cell<bool>,
}

impl Observed {
    pub fn sent_one(&self) {
        if self.measuring.get() {
            self.sent.set(self.sent.get() + 1);
        }
    }

    pub fn received_one(&self) {
        if self.measuring.get() {
            self.received.set(self.received.get() + 1);
        }
    }

    pub fn rtt(&self, micros: u32) {
        if self.measuring.get() {
            self.rtt_micros.borrow_mut().push(micros);
        }
    }

    pub fn introduction(&self, took: std::time::Duration) {
        if self.measuring.get() {
            self.introduction_micros.borrow_mut().push(took.as_micros().min(u128::from(u32::MAX)) as u32);
        }
    }

    pub fn error(&self, code: &str) {
        *self.errors.borrow_mut().entry(code.to_owned()).or_default() += 1;
    }
}

/// The `p`-th percentile (0–100) of sorted samples.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), 51);
        assert_eq!(percentile(&samples, 99.0), 99);
        assert_eq!(percentile(&samples, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
