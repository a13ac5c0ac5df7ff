//! Credentials in the TURN REST form the catalog hands out (and coturn's
//! `use-auth-secret` checks): `EXPIRY:WHO`, with the password the HMAC-SHA1 of
//! it under the shared secret. Nothing is stored per user; a forged, expired or
//! foreign-realm credential is refused.
//!
//! Quotas count the relays that exist: the server's own list of allocations,
//! read every `LIVE_EVERY` (`set_live`), plus the new ones let in since that
//! reading. A forged password is found by the TURN stack after this check, so
//! a request that never became a relay only counts until the next reading:
//! nobody can lock a viewer out with its username, and nothing here grows with
//! what strangers send.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cinemesh_common::turn_credentials::password;
use turn::auth::{AuthHandler, generate_auth_key};

use crate::metrics::TurnMetrics;

/// How often the server's allocations are read for the quotas.
pub const LIVE_EVERY: Duration = Duration::from_secs(2);

/// What each quota counts: a relay lives on one client address and port.
#[derive(Default)]
struct Relays {
    by_user: HashMap<String, HashSet<SocketAddr>>,
    by_address: HashMap<IpAddr, usize>,
}

impl Relays {
    fn add(&mut self, username: String, client: SocketAddr) {
        if self.by_user.entry(username).or_default().insert(client) {
            *self.by_address.entry(client.ip()).or_default() += 1;
        }
    }

    fn holds(&self, username: &str, client: SocketAddr) -> bool {
        self.by_user.get(username).is_some_and(|clients| clients.contains(&client))
    }
}

pub struct RestAuth {
    secret: String,
    realm: String,
    per_user: usize,
    per_address: usize,
    /// The server's relays at its last reading, and the ones let in since.
    live: Mutex<(Relays, Relays)>,
    metrics: TurnMetrics,
}

impl RestAuth {
    pub fn new(secret: String, realm: String, per_user: usize, per_address: usize, metrics: TurnMetrics) -> Self {
        Self { secret, realm, per_user, per_address, live: Mutex::default(), metrics }
    }

    /// The server's relays now, as `(username, client address)`.
    pub fn set_live(&self, relays: impl IntoIterator<Item = (String, SocketAddr)>) {
        let mut read = Relays::default();
        for (username, client) in relays {
            read.add(username, client);
        }
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = (read, Relays::default());
    }

    fn check(&self, username: &str, realm: &str, client: SocketAddr) -> Result<(), &'static str> {
        if realm != self.realm {
            return Err("wrong_realm");
        }
        let expiry = username.split(':').next().and_then(|e| e.parse::<u64>().ok()).ok_or("malformed_username")?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if expiry < now {
            return Err("expired");
        }
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let (read, since) = &mut *live;
        // Requests of a relay that exists (refresh, permissions, channels) are never refused here.
        if read.holds(username, client) || since.holds(username, client) {
            return Ok(());
        }
        let count = |relays: &Relays| relays.by_user.get(username).map_or(0, HashSet::len);
        if count(read) + count(since) >= self.per_user {
            return Err("user_quota");
        }
        let at_address = |relays: &Relays| relays.by_address.get(&client.ip()).copied().unwrap_or(0);
        if at_address(read) + at_address(since) >= self.per_address {
            return Err("address_quota");
        }
        since.add(username.to_owned(), client);
        Ok(())
    }
}

impl AuthHandler for RestAuth {
    /// The key the request's integrity is checked with. A wrong password
    /// fails that check, after this (the TURN stack answers 401).
    fn auth_handle(&self, username: &str, realm: &str, client: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        match self.check(username, realm, client) {
            Ok(()) => Ok(generate_auth_key(username, realm, &password(&self.secret, username))),
            Err(reason) => {
                self.metrics.refuse(reason);
                tracing::debug!(%client, reason, "TURN credentials refused");
                Err(turn::Error::Other(reason.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([203, 0, 113, last], port))
    }

    fn fresh(who: &str) -> String {
        format!("{}:{who}", SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 60)
    }

    #[test]
    fn refuses_other_realms_expired_and_malformed_usernames_and_counts_why() {
        let metrics = TurnMetrics::default();
        let auth = RestAuth::new("s".into(), "cinemesh".into(), 1, 8, metrics.clone());
        let ana = fresh("ana");
        let key = auth.auth_handle(&ana, "cinemesh", client(7, 1)).ok();
        assert_eq!(key, Some(generate_auth_key(&ana, "cinemesh", &password("s", &ana))));
        assert!(auth.auth_handle(&ana, "cinemesh", client(7, 1)).is_ok(), "the same relay's next request");
        assert!(auth.auth_handle(&ana, "elsewhere", client(7, 2)).is_err(), "another realm");
        assert!(auth.auth_handle("1000:ana", "cinemesh", client(7, 2)).is_err(), "expired in 1970");
        assert!(auth.auth_handle("ana", "cinemesh", client(7, 2)).is_err(), "no expiry");
        assert!(auth.auth_handle(&ana, "cinemesh", client(7, 2)).is_err(), "a second relay over a quota of one");
        for reason in ["wrong_realm", "expired", "malformed_username", "user_quota"] {
            assert_eq!(metrics.refused.get_or_create(&crate::metrics::ReasonLabel { reason }).get(), 1, "{reason}");
        }
    }

    #[test]
    fn only_relays_that_exist_count_after_the_next_reading() {
        let auth = RestAuth::new("s".into(), "cinemesh".into(), 2, 3, TurnMetrics::default());
        let ana = fresh("ana");
        // Two requests under Ana's name (forged or not) fill her quota until the server is read...
        assert!(auth.check(&ana, "cinemesh", client(9, 1)).is_ok());
        assert!(auth.check(&ana, "cinemesh", client(9, 2)).is_ok());
        assert_eq!(auth.check(&ana, "cinemesh", client(7, 1)), Err("user_quota"));
        // ...which shows neither became a relay: Ana gets hers.
        auth.set_live([]);
        assert!(auth.check(&ana, "cinemesh", client(7, 1)).is_ok());
        auth.set_live([(ana.clone(), client(7, 1))]);
        assert!(auth.check(&ana, "cinemesh", client(7, 1)).is_ok(), "her relay's own requests");
        assert!(auth.check(&ana, "cinemesh", client(7, 2)).is_ok());
        assert_eq!(auth.check(&ana, "cinemesh", client(7, 3)), Err("user_quota"));
        // New usernames from one address (a page fetching the movie again and again) meet the address quota.
        assert!(auth.check(&fresh("b"), "cinemesh", client(7, 4)).is_ok());
        assert_eq!(auth.check(&fresh("c"), "cinemesh", client(7, 5)), Err("address_quota"));
        assert!(auth.check(&fresh("c"), "cinemesh", client(8, 5)).is_ok(), "another address");
    }
}
