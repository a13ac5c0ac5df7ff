//! Catalog records as stored, and the JSON views the API returns.

pub use cinemesh_protocol::ice::IceServer;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A movie row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub id: String,
    pub title: String,
    pub description: String,
    pub year: Option<i64>,
    pub duration_ms: i64,
    pub created_at_ms: i64,
    /// Bumped each time an admin replaces the poster (see `poster_url`).
    pub poster_version: i64,
}

/// A rendition row: one rung of the ABR ladder, an audio track of its own,
/// or a subtitle track (one WebVTT file, its single segment).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendition {
    /// Folder name, e.g. `720p`, `audio-fr`, `subs-en`.
    pub name: String,
    pub kind: RenditionKind,
    /// Picture size; 0 for audio and subtitles.
    pub width: i64,
    pub height: i64,
    pub bandwidth_bps: i64,
    /// RFC 6381 codecs string (`wvtt` for subtitles).
    pub codecs: String,
    pub segment_count: i64,
    /// BCP 47 tag of an audio or subtitle track, or of the audio muxed into a
    /// video rendition (a movie with one audio track); `None` when untagged.
    pub language: Option<String>,
    /// An audio or subtitle track's name for people ("Français"); empty for video.
    pub label: String,
    /// The audio track players start with.
    pub is_default: bool,
    /// Subtitles shown whatever was chosen (signs, foreign dialogue).
    pub forced: bool,
    /// Audio channels; 0 for video and subtitles.
    pub channels: i64,
}

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

/// A segment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// 0-based position in the rendition's media playlist.
    pub sequence: i64,
    pub duration_ms: i64,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the segment file.
    pub sha256: String,
}

/// Everything an ingest writes to the catalog, in one transaction.
#[derive(Debug, Clone)]
pub struct NewMovie {
    pub movie: Movie,
    pub renditions: Vec<(Rendition, Vec<Segment>)>,
    pub skipped_tracks: Vec<SkippedTrack>,
}

/// Where a movie's files are served, relative to the server's origin.
pub fn master_playlist_url(id: &str) -> String {
    format!("/media/{id}/master.m3u8")
}

/// Poster files are served as immutable, so a replaced poster gets a new
/// URL: the version, as a query the media routes ignore.
pub fn poster_url(movie: &Movie) -> String {
    match movie.poster_version {
        0 => format!("/media/{}/poster.jpg", movie.id),
        version => format!("/media/{}/poster.jpg?v={version}", movie.id),
    }
}

pub fn segment_manifest_url(id: &str) -> String {
    format!("/api/movies/{id}/segments")
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

impl From<&Movie> for MovieSummary {
    fn from(m: &Movie) -> Self {
        Self {
            id: m.id.clone(),
            title: m.title.clone(),
            year: m.year,
            duration_ms: m.duration_ms,
            poster_url: poster_url(m),
        }
    }
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

impl SubtitleView {
    pub fn of(movie: &str, track: &Rendition) -> Self {
        Self {
            name: track.name.clone(),
            language: track.language.clone(),
            label: track.label.clone(),
            forced: track.forced,
            playlist_url: format!("/media/{movie}/{}/index.m3u8", track.name),
            url: format!("/media/{movie}/{}/{}", track.name, crate::ingest::master::SUBTITLE_FILE),
        }
    }
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

impl MovieDetail {
    pub fn new(
        movie: &Movie,
        renditions: &[Rendition],
        skipped_tracks: Vec<SkippedTrack>,
        tracker: TrackerAccess,
    ) -> Self {
        let of = |kind: RenditionKind| renditions.iter().filter(move |r| r.kind == kind);
        let playlist_url = |r: &Rendition| format!("/media/{}/{}/index.m3u8", movie.id, r.name);
        Self {
            id: movie.id.clone(),
            title: movie.title.clone(),
            description: movie.description.clone(),
            year: movie.year,
            duration_ms: movie.duration_ms,
            created_at_ms: movie.created_at_ms,
            poster_url: poster_url(movie),
            master_playlist_url: master_playlist_url(&movie.id),
            segment_manifest_url: segment_manifest_url(&movie.id),
            renditions: of(RenditionKind::Video)
                .map(|r| RenditionView {
                    name: r.name.clone(),
                    width: r.width,
                    height: r.height,
                    bandwidth_bps: r.bandwidth_bps,
                    codecs: r.codecs.clone(),
                    segment_count: r.segment_count,
                    playlist_url: playlist_url(r),
                })
                .collect(),
            audio_tracks: of(RenditionKind::Audio)
                .map(|r| AudioTrackView {
                    name: r.name.clone(),
                    language: r.language.clone(),
                    label: r.label.clone(),
                    is_default: r.is_default,
                    channels: r.channels,
                    bandwidth_bps: r.bandwidth_bps,
                    codecs: r.codecs.clone(),
                    segment_count: r.segment_count,
                    playlist_url: playlist_url(r),
                })
                .collect(),
            audio_language: of(RenditionKind::Video).find_map(|r| r.language.clone()),
            subtitles: of(RenditionKind::Subtitles).map(|r| SubtitleView::of(&movie.id, r)).collect(),
            skipped_tracks,
            tracker,
        }
    }
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

/// Where a movie's bytes came from, summed over the transfer counters its
/// viewers last reported to the tracker.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Offload {
    pub movie_id: String,
    /// Tracker sessions (a viewer in one rendition's swarm) recorded for the movie.
    pub sessions: i64,
    pub http_bytes: i64,
    pub peer_bytes: i64,
    pub uploaded_bytes: i64,
    /// Share of downloaded bytes that came from peers, 0 to 1 (0 when nothing was downloaded).
    pub peer_share: f64,
}
