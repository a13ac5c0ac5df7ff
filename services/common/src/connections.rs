//! Sockets open on this instance by kind (`room`, `lobby`, `tracker`,
//! `announce`): one gauge family every service counts into, and the caps
//! every socket is admitted under: so many in total, so many per client
//! address (the one `TrustedProxies` finds). Clones share both.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::ApiError;
use crate::client_address::TrustedProxies;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// How many sockets this instance keeps open.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub total: usize,
    pub per_address: usize,
    pub trusted_proxies: TrustedProxies,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { total: 10_000, per_address: 100, trusted_proxies: TrustedProxies::default() }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Connections {
    gauges: Family<KindLabel, Gauge>,
    limits: Arc<ConnectionLimits>,
    open: Arc<Mutex<Open>>,
}

/// A socket let in: its client's address, and the guard that counts it.
pub struct Admitted {
    pub address: Option<IpAddr>,
    pub guard: OpenConnection,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Self {
        Self { limits: Arc::new(limits), ..Self::default() }
    }

    /// Lets a socket of `kind` in, or refuses it (503 when the instance is
    /// full, 429 when its address has too many), before the upgrade.
    pub fn admit(&self, kind: &'static str, req: &HttpRequest) -> Result<Admitted, ApiError> {
        let address = self.client_address(req);
        {
            let mut open = self.lock();
            if open.total >= self.limits.total {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_full",
                    "this server has as many connections as it takes; try again soon",
                ));
            }
            if let Some(address) = address {
                if open.by_address.get(&address).copied().unwrap_or(0) >= self.limits.per_address {
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_connections",
                        format!("at most {} connections from one address", self.limits.per_address),
                    ));
                }
                *open.by_address.entry(address).or_default() += 1;
            }
            open.total += 1;
        }
        let gauge = self.gauges.get_or_create(&KindLabel { kind }).clone();
        gauge.inc();
        Ok(Admitted { address, guard: OpenConnection { gauge, address, open: self.open.clone() } })
    }

    /// The client a request comes from, as limits and bans count it: its
    /// address, all of its IPv6 /64 (see `household`).
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        self.limits.trusted_proxies.client_address(req).map(crate::client_address::household)
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("cinemesh_connections", "Sockets open on this instance, by kind", self.gauges.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one open socket for as long as it lives.
pub struct OpenConnection {
    gauge: Gauge,
    address: Option<IpAddr>,
    open: Arc<Mutex<Open>>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.dec();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(count) = open.by_address.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                open.by_address.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn from(address: &str) -> HttpRequest {
        TestRequest::default().peer_addr(format!("{address}:5000").parse().unwrap()).to_http_request()
    }

    #[test]
    fn sockets_are_capped_per_address_and_in_total_and_freed_when_dropped() {
        let connections =
            Connections::new(ConnectionLimits { total: 3, per_address: 2, ..ConnectionLimits::default() });
        let a1 = connections.admit("room", &from("192.0.2.1")).unwrap();
        let _a2 = connections.admit("lobby", &from("192.0.2.1")).unwrap();
        let refused = connections.admit("room", &from("192.0.2.1")).err().unwrap();
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, "too_many_connections"));
        let _b = connections.admit("room", &from("192.0.2.2")).unwrap();
        let full = connections.admit("room", &from("192.0.2.3")).err().unwrap();
        assert_eq!(full.code, "server_full");
        drop(a1);
        assert!(connections.admit("room", &from("192.0.2.1")).is_ok(), "a closed socket frees its place");
        assert!(connections.lock().by_address.len() <= 2);
    }
}
