//! Catalog records as stored, and the JSON views the API returns (those
//! that native clients read too are in `cinemesh_protocol::catalog`).

pub use cinemesh_protocol::catalog::{
    AudioTrackView, MovieDetail, MoviePage, MovieSummary, RenditionKind, RenditionSegments, RenditionView,
    SegmentManifest, SkippedTrack, SubtitleView, TrackerAccess,
};
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

/// A subtitle track's view: where its playlist and its WebVTT file are served.
pub fn subtitle_view(movie: &str, track: &Rendition) -> SubtitleView {
    SubtitleView {
        name: track.name.clone(),
        language: track.language.clone(),
        label: track.label.clone(),
        forced: track.forced,
        playlist_url: format!("/media/{movie}/{}/index.m3u8", track.name),
        url: format!("/media/{movie}/{}/{}", track.name, crate::ingest::master::SUBTITLE_FILE),
    }
}

/// A movie's details, from its rows.
pub fn movie_detail(
    movie: &Movie,
    renditions: &[Rendition],
    skipped_tracks: Vec<SkippedTrack>,
    tracker: TrackerAccess,
) -> MovieDetail {
    let of = |kind: RenditionKind| renditions.iter().filter(move |r| r.kind == kind);
    let playlist_url = |r: &Rendition| format!("/media/{}/{}/index.m3u8", movie.id, r.name);
    MovieDetail {
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
        subtitles: of(RenditionKind::Subtitles).map(|r| subtitle_view(&movie.id, r)).collect(),
        skipped_tracks,
        tracker,
    }
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
