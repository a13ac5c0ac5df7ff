//! Credentials in the TURN REST form the catalog hands out (and coturn's
//! `use-auth-secret` checks): `EXPIRY:WHO`, with the password the HMAC-SHA1 of
//! it under the shared secret. Nothing is stored per user; a forged, expired or
//! foreign-realm credential is refused. Each viewer's credentials hold at most
//! `allocations_per_user` relays: a relay lives on one client address and port,
//! so those are counted per username until the relay closes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cinemesh_catalog::turn_credentials::password;
use turn::auth::{AuthHandler, generate_auth_key};

use crate::metrics::TurnMetrics;

/// A client address not heard from this long holds no relay any more (a
/// relay lives 10 minutes unrefreshed; browsers refresh well before).
const FORGET_CLIENT_AFTER: Duration = Duration::from_secs(11 * 60);

pub struct RestAuth {
    secret: String,
    realm: String,
    allocations_per_user: usize,
    clients: Mutex<HashMap<String, HashMap<SocketAddr, Instant>>>,
    metrics: TurnMetrics,
}

impl RestAuth {
    pub fn new(secret: String, realm: String, allocations_per_user: usize, metrics: TurnMetrics) -> Self {
        Self { secret, realm, allocations_per_user, clients: Mutex::default(), metrics }
    }

    /// The relay of `username` at `client` closed.
    pub fn forget(&self, username: &str, client: SocketAddr) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(addresses) = clients.get_mut(username) {
            addresses.remove(&client);
            if addresses.is_empty() {
                clients.remove(username);
            }
        }
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
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let addresses = clients.entry(username.to_owned()).or_default();
        let now = Instant::now();
        addresses.retain(|_, seen| now.duration_since(*seen) < FORGET_CLIENT_AFTER);
        if !addresses.contains_key(&client) && addresses.len() >= self.allocations_per_user {
            return Err("user_quota");
        }
        addresses.insert(client, now);
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

    fn client(port: u16) -> SocketAddr {
        SocketAddr::from(([203, 0, 113, 7], port))
    }

    #[test]
    fn refuses_other_realms_expired_and_malformed_usernames_and_counts_why() {
        let metrics = TurnMetrics::default();
        let auth = RestAuth::new("s".into(), "cinemesh".into(), 1, metrics.clone());
        let fresh = format!("{}:ana", SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 60);
        let key = auth.auth_handle(&fresh, "cinemesh", client(1)).ok();
        assert_eq!(key, Some(generate_auth_key(&fresh, "cinemesh", &password("s", &fresh))));
        assert!(auth.auth_handle(&fresh, "elsewhere", client(1)).is_err(), "another realm");
        assert!(auth.auth_handle("1000:ana", "cinemesh", client(1)).is_err(), "expired in 1970");
        assert!(auth.auth_handle("ana", "cinemesh", client(1)).is_err(), "no expiry");
        assert!(
            auth.auth_handle(&fresh, "cinemesh", client(2)).is_err(),
            "a second client address over a quota of one"
        );
        auth.forget(&fresh, client(1));
        assert!(auth.auth_handle(&fresh, "cinemesh", client(2)).is_ok(), "the first relay closed");
        for reason in ["wrong_realm", "expired", "malformed_username", "user_quota"] {
            assert_eq!(metrics.refused.get_or_create(&crate::metrics::ReasonLabel { reason }).get(), 1, "{reason}");
        }
    }
}
