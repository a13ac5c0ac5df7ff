//! Bytes served by the segment server, per movie and rendition: the origin's
//! side of the offload figure (bytes from peers are reported by clients).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MediaLabels {
    movie: String,
    /// `-` for files outside a rendition (master playlist, poster).
    rendition: String,
    /// `segment`, `playlist` or `other`: offload is measured on segments.
    kind: &'static str,
}

/// Cloneable handle to the per-movie, per-rendition byte counters.
#[derive(Clone, Default)]
pub struct ServedBytes {
    family: Family<MediaLabels, Counter>,
}

impl ServedBytes {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cinemesh_segment_bytes_served",
            "Bytes of media bodies sent by the segment server",
            self.family.clone(),
        );
    }

    /// The counter to add to while serving a file of this movie and rendition
    /// with this extension.
    pub fn counter(&self, movie: &str, rendition: Option<&str>, extension: &str) -> Counter {
        let kind = match extension {
            "ts" | "m4s" => "segment",
            "m3u8" => "playlist",
            "vtt" => "subtitles",
            _ => "other",
        };
        let labels = MediaLabels { movie: movie.to_owned(), rendition: rendition.unwrap_or("-").to_owned(), kind };
        self.family.get_or_create(&labels).clone()
    }
}
