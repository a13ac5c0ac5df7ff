//! The catalog's JSON views that clients other than the server read too:
//! a movie's details, listings and the segment-hash manifest. The native
//! seeder and the load tester take them from here, without the catalog's
//! storage and ingest; the server builds them from its rows.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ice::IceServer;

/// What a rendition carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenditionKind {
    /// Video, with the movie's audio muxed in when it has a single track.
    #[default]
    Video,
    Audio,
    Subtitles,
}

impl RenditionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Subtitles => "subtitles",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Video, Self::Audio, Self::Subtitles].into_iter().find(|k| k.as_str() == text)
    }
}

/// A source track that ingest left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkippedTrack {
    /// `audio` or `subtitles`.
    pub kind: String,
    /// Position among the source's tracks of that kind, from 0.
    pub position: i64,
    /// ffmpeg's codec name, e.g. `hdmv_pgs_subtitle`.
    pub codec: String,
    pub language: Option<String>,
    /// Stable code: `image_subtitles`, `unsupported_subtitles`, `too_many_tracks`.
    pub code: String,
    pub reason: String,
}

/// A movie in a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MovieSummary {
    pub id: String,
    pub title: String,
    pub year: Option<i64>,
    /// Running time in milliseconds.
    pub duration_ms: i64,
    pub poster_url: String,
}

/// One page of a listing or search.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MoviePage {
    pub movies: Vec<MovieSummary>,
    /// 1-based page number.
    pub page: i64,
    pub per_page: i64,
    /// Movies matching the query, over all pages.
    pub total: i64,
}

/// A rendition in a movie's details.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RenditionView {
    pub name: String,
    pub width: i64,
    pub height: i64,
    /// Peak bandwidth from the master playlist, bits per second.
    pub bandwidth_bps: i64,
    pub codecs: String,
    pub segment_count: i64,
    pub playlist_url: String,
}

/// An audio track of its own, in a movie's details (a movie whose source
/// had one track has none: its audio is in every video rendition).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AudioTrackView {
    /// Folder name, e.g. `audio-fr`.
    pub name: String,
    /// BCP 47 tag; absent when the source did not say.
    pub language: Option<String>,
    /// For people, e.g. `Français`.
    pub label: String,
    /// The track players start with.
    pub is_default: bool,
    pub channels: i64,
    pub bandwidth_bps: i64,
    pub codecs: String,
    pub segment_count: i64,
    pub playlist_url: String,
}

/// A subtitle track in a movie's details: one WebVTT file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SubtitleView {
    /// Folder name, e.g. `subs-en`.
    pub name: String,
    pub language: Option<String>,
    pub label: String,
    /// Shown whatever the viewer chose (signs, foreign dialogue).
    pub forced: bool,
    pub playlist_url: String,
    /// The WebVTT file itself.
    pub url: String,
}

/// A movie's details, with everything a player needs to start.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MovieDetail {
    pub id: String,
    pub title: String,
    pub description: String,
    pub year: Option<i64>,
    pub duration_ms: i64,
    pub created_at_ms: i64,
    pub poster_url: String,
    pub master_playlist_url: String,
    /// Sizes and SHA-256 of every segment, for peers to verify what they receive.
    pub segment_manifest_url: String,
    /// The video renditions, best first.
    pub renditions: Vec<RenditionView>,
    pub audio_tracks: Vec<AudioTrackView>,
    /// The language of the movie's audio when it has one track (muxed into the video).
    pub audio_language: Option<String>,
    pub subtitles: Vec<SubtitleView>,
    /// Tracks of the source that ingest left out, with the reason.
    pub skipped_tracks: Vec<SkippedTrack>,
    /// Where and how to join this movie's swarms.
    pub tracker: TrackerAccess,
}

/// What a viewer needs to join the movie's swarms on the tracker.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TrackerAccess {
    /// WebSocket path of the tracker, relative to the server origin.
    pub url: String,
    /// Signed token admitting the holder to this movie's swarms.
    pub token: String,
    /// When the token stops working, Unix seconds.
    pub expires_at_secs: u64,
    /// STUN/TURN servers for peer connections (RTCPeerConnection `iceServers`).
    pub ice_servers: Vec<IceServer>,
    /// Whether segment connections may go through the TURN servers too (the
    /// call's always may): relayed segments cost the server's uplink as much
    /// as HTTP, so by default they take STUN only and fall back to HTTP.
    pub relay_segments: bool,
}

/// Segment sizes and hashes of one rendition, column by column: index `i` of
/// each list describes the segment with sequence number `i`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RenditionSegments {
    pub name: String,
    /// `video` or `audio`.
    pub kind: RenditionKind,
    pub durations_ms: Vec<i64>,
    pub sizes_bytes: Vec<i64>,
    /// Lowercase hex SHA-256 of each segment file.
    pub sha256: Vec<String>,
}

/// The segment-hash manifest of a movie.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SegmentManifest {
    pub movie_id: String,
    pub renditions: Vec<RenditionSegments>,
}
