//! What `/metrics` shows of STUN and TURN: datagrams dropped before the
//! protocol stack (not STUN or channel data, TURN with relaying off, TURN
//! requests without credentials past their rate), refused
//! credentials and relays by reason, relays open, relayed bytes, and
//! datagrams a relay would not carry (a refused peer, or over the rate cap).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct TurnMetrics {
    /// Datagrams taken to the protocol stack, by what they ask for.
    pub requests: Family<KindLabel, Counter>,
    /// Datagrams to the listener dropped unread, by reason.
    pub dropped: Family<ReasonLabel, Counter>,
    /// Credentials, relays or TCP connections refused, by reason.
    pub refused: Family<ReasonLabel, Counter>,
    /// Relays open now.
    pub relays: Gauge,
    /// Bytes relays carried, `to_peer` or `from_peer`.
    pub relayed_bytes: Family<DirectionLabel, Counter>,
    /// Datagrams relays dropped, by reason.
    pub relay_dropped: Family<ReasonLabel, Counter>,
}

impl TurnMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("cinemesh_turn_requests", "STUN/TURN datagrams read, by kind", self.requests.clone());
        registry.register(
            "cinemesh_turn_dropped",
            "Datagrams to STUN/TURN dropped unread, by reason",
            self.dropped.clone(),
        );
        registry.register(
            "cinemesh_turn_refused",
            "TURN credentials, relays or TCP connections refused, by reason",
            self.refused.clone(),
        );
        registry.register("cinemesh_turn_relays", "TURN relays open", self.relays.clone());
        registry.register(
            "cinemesh_turn_relayed_bytes",
            "Bytes TURN relays carried, by direction",
            self.relayed_bytes.clone(),
        );
        registry.register(
            "cinemesh_turn_relay_dropped",
            "Datagrams TURN relays dropped (a refused peer, over the rate cap)",
            self.relay_dropped.clone(),
        );
    }

    pub fn request(&self, kind: &'static str) {
        self.requests.get_or_create(&KindLabel { kind }).inc();
    }

    pub fn drop_datagram(&self, reason: &'static str) {
        self.dropped.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn refuse(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn drop_relayed(&self, reason: &'static str) {
        self.relay_dropped.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub fn relayed(&self, direction: &'static str, bytes: usize) {
        self.relayed_bytes.get_or_create(&DirectionLabel { direction }).inc_by(bytes as u64);
    }
}
