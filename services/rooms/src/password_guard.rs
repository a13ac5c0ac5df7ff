//! Slows password guessing down: wrong passwords are counted per client
//! address and per room, and past a few free tries each further guess must
//! wait, twice as long after every failure. A right password does not
//! count; the session logs every wrong one with the room and the address.
//!
//! The per-room count stops a guesser spread over many addresses; it holds
//! back only addresses that failed themselves, so honest joiners of a room
//! under attack get in, and members taking their seats back with their
//! tokens are never asked for the password at all. Memory is bounded: past `MAX_TRACKED`
//! entries the quietest are forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Refusal;

/// Wrong passwords from one address before it must wait.
pub const FREE_TRIES_PER_ADDRESS: u32 = 5;
/// Wrong passwords for one room, from anywhere, before guessers must wait.
pub const FREE_TRIES_PER_ROOM: u32 = 20;
const FIRST_WAIT_PER_ADDRESS: Duration = Duration::from_secs(1);
const LONGEST_WAIT_PER_ADDRESS: Duration = Duration::from_secs(300);
const FIRST_WAIT_PER_ROOM: Duration = Duration::from_millis(250);
const LONGEST_WAIT_PER_ROOM: Duration = Duration::from_secs(30);
/// A count is forgotten this long after its last failure.
const FORGET_AFTER: Duration = Duration::from_secs(900);
const MAX_TRACKED: usize = 20_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next try may come, given the free tries and the waits.
    fn next_try(&self, free: u32, first: Duration, longest: Duration) -> Instant {
        let Some(beyond) = self.count.checked_sub(free) else { return self.last };
        let wait = first.saturating_mul(1u32 << beyond.min(20)).min(longest);
        self.last + wait
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Room(String),
}

#[derive(Clone, Default)]
pub struct PasswordGuard {
    failures: Arc<Mutex<HashMap<Key, Failures>>>,
}

/// A try in progress, counted as a failure until `forgive` takes it back.
#[derive(Debug)]
pub struct Attempt {
    room: String,
    ip: Option<IpAddr>,
}

impl PasswordGuard {
    /// Lets a try in, counting it as a failure from now on (so that many
    /// sockets at once cannot all guess before the first miss is known), or
    /// refuses it, saying how long to wait. The room's count holds back only
    /// addresses that failed themselves: an honest joiner is never held up
    /// by someone else's guessing.
    pub fn attempt(&self, room: &str, ip: Option<IpAddr>, now: Instant) -> Result<Attempt, Refusal> {
        let mut failures = self.lock();
        let by_address = ip.and_then(|ip| failures.get(&Key::Address(ip))).copied();
        let by_room = by_address
            .and_then(|_| failures.get(&Key::Room(room.to_owned())))
            .map(|f| f.next_try(FREE_TRIES_PER_ROOM, FIRST_WAIT_PER_ROOM, LONGEST_WAIT_PER_ROOM));
        let by_address =
            by_address.map(|f| f.next_try(FREE_TRIES_PER_ADDRESS, FIRST_WAIT_PER_ADDRESS, LONGEST_WAIT_PER_ADDRESS));
        if let Some(next) = by_room.into_iter().chain(by_address).max().filter(|next| *next > now) {
            let secs = (next - now).as_secs_f64().ceil().max(1.0);
            return Err(Refusal::new(
                "too_many_attempts",
                format!("too many wrong passwords; try again in {secs:.0} s"),
            ));
        }
        if failures.len() >= MAX_TRACKED {
            forget_quietest(&mut failures, now);
        }
        for key in std::iter::once(Key::Room(room.to_owned())).chain(ip.map(Key::Address)) {
            let entry = failures.entry(key).or_insert(Failures { count: 0, last: now });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
        Ok(Attempt { room: room.to_owned(), ip })
    }

    /// The password was right: the try does not count.
    pub fn forgive(&self, attempt: Attempt) {
        let mut failures = self.lock();
        for key in std::iter::once(Key::Room(attempt.room)).chain(attempt.ip.map(Key::Address)) {
            if let Some(entry) = failures.get_mut(&key) {
                entry.count = entry.count.saturating_sub(1);
                if entry.count == 0 {
                    failures.remove(&key);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops counts older than `FORGET_AFTER`, then, if still full, the older half.
fn forget_quietest(failures: &mut HashMap<Key, Failures>, now: Instant) {
    failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
    if failures.len() >= MAX_TRACKED {
        let mut lasts: Vec<Instant> = failures.values().map(|f| f.last).collect();
        let middle = lasts.len() / 2;
        let (_, median, _) = lasts.select_nth_unstable(middle);
        let median = *median;
        failures.retain(|_, f| f.last > median);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "room1";

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, n]))
    }

    #[test]
    fn an_address_waits_after_its_free_tries_twice_as_long_each_time() {
        let guard = PasswordGuard::default();
        let start = Instant::now();
        for _ in 0..FREE_TRIES_PER_ADDRESS {
            guard.attempt(ROOM, ip(1), start).unwrap();
        }
        let refused = guard.attempt(ROOM, ip(1), start).unwrap_err();
        assert_eq!(refused.code, "too_many_attempts");
        assert!(guard.attempt(ROOM, ip(2), start).is_ok(), "another address is not held back");
        let later = start + FIRST_WAIT_PER_ADDRESS;
        guard.attempt(ROOM, ip(1), later).unwrap();
        assert!(guard.attempt(ROOM, ip(1), later + FIRST_WAIT_PER_ADDRESS).is_err(), "the wait doubled");
        assert!(guard.attempt(ROOM, ip(1), later + FIRST_WAIT_PER_ADDRESS * 2).is_ok());
    }

    #[test]
    fn a_right_password_does_not_count() {
        let guard = PasswordGuard::default();
        let now = Instant::now();
        for _ in 0..(FREE_TRIES_PER_ADDRESS * 3) {
            let attempt = guard.attempt(ROOM, ip(1), now).unwrap();
            guard.forgive(attempt);
        }
        assert!(guard.attempt(ROOM, ip(1), now).is_ok());
    }

    #[test]
    fn guessers_on_many_addresses_are_held_back_by_room_but_honest_joiners_are_not() {
        let guard = PasswordGuard::default();
        let now = Instant::now();
        for n in 0..FREE_TRIES_PER_ROOM {
            guard.attempt(ROOM, ip(n as u8), now).unwrap();
        }
        assert!(guard.attempt(ROOM, ip(0), now).is_err(), "a guesser waits for this room");
        assert!(guard.attempt(ROOM, ip(200), now).is_ok(), "an address with no failure of its own does not");
        assert!(guard.attempt("another-room", ip(0), now).is_ok());
        assert!(guard.attempt(ROOM, ip(0), now + LONGEST_WAIT_PER_ROOM).is_ok());
    }

    #[test]
    fn waits_are_capped_and_memory_is_bounded() {
        let guard = PasswordGuard::default();
        let mut now = Instant::now();
        for _ in 0..100 {
            now += LONGEST_WAIT_PER_ADDRESS;
            guard.attempt(ROOM, ip(1), now).unwrap();
        }
        assert!(guard.attempt(ROOM, ip(1), now + LONGEST_WAIT_PER_ADDRESS).is_ok());
        for n in 0..(MAX_TRACKED as u32 + 10) {
            let _ = guard.attempt(&format!("r{n}"), None, now + Duration::from_millis(u64::from(n)));
        }
        assert!(guard.lock().len() <= MAX_TRACKED);
    }
}
