//! What operators watch on rooms and the lobby (exported at `/metrics`).
//! Clones share the same series.

use cinemesh_common::IcePairs;
use cinemesh_common::connections::Connections;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: &'static str,
}

#[derive(Clone, Debug)]
pub struct RoomMetrics {
    /// Rooms whose home is this instance.
    pub rooms: Gauge,
    /// Members online in rooms whose home is this instance.
    pub members_online: Gauge,
    /// Sockets open on this instance (shared with the tracker's).
    pub connections: Connections,
    /// Refusals sent to clients, by code.
    pub refusals: Family<CodeLabel, Counter>,
    /// |video − room| as members report it, ms.
    pub sync_error_ms: Histogram,
    /// Call links by what carried them, as members report them (shared with the tracker's).
    pub ice_pairs: IcePairs,
}

impl Default for RoomMetrics {
    fn default() -> Self {
        Self {
            rooms: Gauge::default(),
            members_online: Gauge::default(),
            connections: Connections::default(),
            refusals: Family::default(),
            ice_pairs: IcePairs::default(),
            // 5 ms to about 2.5 s.
            sync_error_ms: Histogram::new(exponential_buckets(5.0, 2.0, 10)),
        }
    }
}

impl RoomMetrics {
    pub fn refused(&self, code: &'static str) {
        self.refusals.get_or_create(&CodeLabel { code }).inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("cinemesh_rooms", "Rooms whose home is this instance", self.rooms.clone());
        registry.register(
            "cinemesh_room_members_online",
            "Members online in rooms whose home is this instance",
            self.members_online.clone(),
        );
        registry.register(
            "cinemesh_refusals",
            "Refusals sent to room and lobby clients, by code",
            self.refusals.clone(),
        );
        registry.register(
            "cinemesh_sync_error_ms",
            "Members' reported |video - room| in milliseconds",
            self.sync_error_ms.clone(),
        );
    }
}
