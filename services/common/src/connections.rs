//! Sockets open on this instance by kind (`room`, `lobby`, `tracker`,
//! `announce`): one gauge family every service counts into. Clones share it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct Connections(Family<KindLabel, Gauge>);

impl Connections {
    /// A socket of `kind` opened; the guard counts it closed when dropped.
    pub fn opened(&self, kind: &'static str) -> OpenConnection {
        let gauge = self.0.get_or_create(&KindLabel { kind }).clone();
        gauge.inc();
        OpenConnection(gauge)
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("cinemesh_connections", "Sockets open on this instance, by kind", self.0.clone());
    }
}

/// Counts one open socket for as long as it lives.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
