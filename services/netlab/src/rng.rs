//! A small PRNG (xorshift64*): the shaper draws delays and loss positions per packet and needs
//! speed, not cryptographic quality.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Seeded from the operating system.
    pub fn from_entropy() -> Self {
        Self::new(getrandom::u64().unwrap_or(0x5EED))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `low..high` (`low` when the range is empty).
    pub fn below(&mut self, low: u64, high: u64) -> u64 {
        if high <= low { low } else { low + self.next_u64() % (high - low) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_draws_cover_the_interval_evenly() {
        let mut rng = Rng::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[(rng.unit() * 10.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&b| (9_000..11_000).contains(&b)), "{buckets:?}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(2);
        assert!((0..1000).all(|_| (5..8).contains(&rng.below(5, 8))));
        assert_eq!(rng.below(4, 4), 4);
    }
}
