//! Load shapes. Each simulated peer acts on its own schedule (open loop): the
//! next event is due whatever the tracker has or has not answered.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileName {
    /// 2,000 connections, one event every 5 s each.
    Light,
    /// 4,000 connections, one event every second each.
    Heavy,
    /// 2,000 connections in watch-party rooms of 2–10 peers that advance together every 2 s.
    Party,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub connections: usize,
    /// Distinct swarms (Zipf-popular) for light/heavy; ignored by party (one swarm per room).
    pub swarms: usize,
    /// Mean gap between a peer's events.
    pub event_every: Duration,
    pub party: bool,
}

impl Profile {
    pub fn named(name: ProfileName) -> Self {
        match name {
            ProfileName::Light => {
                Self { connections: 2_000, swarms: 200, event_every: Duration::from_secs(5), party: false }
            }
            ProfileName::Heavy => {
                Self { connections: 4_000, swarms: 400, event_every: Duration::from_secs(1), party: false }
            }
            ProfileName::Party => {
                Self { connections: 2_000, swarms: 0, event_every: Duration::from_secs(2), party: true }
            }
        }
    }
}
