//! Connections between browsers by what carried them, as clients report
//! them: the tracker counts segment links, the rooms call links, into one
//! series, `cinemesh_ice_pairs_total{kind, pair}`. An operator sees how many
//! went direct (host, srflx, prflx) and how many through TURN (relay).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IcePairLabel {
    /// `segments` or `call`.
    kind: &'static str,
    /// `host`, `srflx`, `prflx` or `relay`.
    pair: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct IcePairs(Family<IcePairLabel, Counter>);

impl IcePairs {
    pub fn count(&self, kind: &'static str, pair: &'static str) {
        self.0.get_or_create(&IcePairLabel { kind, pair }).inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cinemesh_ice_pairs",
            "Browser connections that connected, by kind and candidate pair",
            self.0.clone(),
        );
    }
}
