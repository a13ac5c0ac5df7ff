//! Ingest: packages a movie file into HLS with ffmpeg and records it in the
//! catalog. Atomic: on any failure nothing is left in the catalog or on disk.

mod active;
mod demo;
mod encode;
mod integrity;
mod ladder;
pub mod language;
pub mod master;
mod playlist;
mod probe;
mod source;
mod staging;
pub(crate) mod subtitles;
mod tools;
pub(crate) mod tracks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use active::{ActiveIngest, ActiveIngests, CatalogStatus};
pub use demo::generate_demo_source;
pub use encode::{EncodeProgress, SEGMENT_SECONDS};
pub use staging::{STAGING_DIR, sweep_stale};
pub use tools::{FfmpegTools, ffmpeg_failure};

use crate::domain::{Description, MovieId, Title, Year};
use crate::model::{Movie, NewMovie, Rendition, RenditionKind, Segment, SkippedTrack};
use crate::store::CatalogStore;
use crate::subtitle_tracks::{NewSubtitles, PreparedSubtitles, SubtitleTrackError, prepare, write_master, write_track};

/// A finished ingest is older than this only if its process died: sweep it.
pub const STALE_STAGING_AFTER: Duration = Duration::from_secs(3600);

/// What went wrong. Messages reach uploaders through the admin API and the
/// public catalog status, so they never name files or folders of the server:
/// those details are logged where the failure happens.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// `tool` is the program's name, not its configured path.
    #[error("{tool} was not found or does not run; install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg)")]
    FfmpegMissing { tool: String },
    #[error("cannot read the source file: {reason}")]
    SourceUnreadable { reason: String },
    /// The container ffprobe detected (e.g. `hls`), which could name other files.
    #[error(
        "not a movie file but {0:?}: only {containers} files are accepted (no playlists, concat lists or images)",
        containers = source::CONTAINERS_FOR_PEOPLE
    )]
    UnsupportedContainer(String),
    #[error("not a playable video: {0}")]
    NotAVideo(String),
    #[error(
        "the file is incomplete: it declares {declared:.1} s but its media stop at {decoded:.1} s \
         (a cut-off upload or copy?)",
        declared = *declared_ms as f64 / 1000.0,
        decoded = *decoded_ms as f64 / 1000.0
    )]
    SourceTruncated { declared_ms: i64, decoded_ms: i64 },
    #[error("the video is {0} pixels tall; at least {min} are needed for two renditions", min = ladder::MIN_SOURCE_HEIGHT)]
    VideoTooSmall(u32),
    #[error("ffmpeg failed: {0}")]
    EncodeFailed(String),
    #[error("ffmpeg's output is not as expected: {0}")]
    OutputInvalid(String),
    #[error("could not write the media folder: {0}")]
    Storage(#[source] std::io::Error),
    #[error("the media folder is full: free some space, then upload again")]
    StorageFull,
    #[error("could not record the movie in the catalog")]
    Database(#[source] sqlx::Error),
    /// A subtitle file given with the source; `file` is its name, as given.
    #[error("subtitle file {file}: {error}")]
    Sidecar { file: String, error: crate::subtitle_tracks::SubtitleTrackError },
}

impl IngestError {
    /// The HTTP status the failure answers with: the source's fault (422),
    /// the machine's (503, 507), or ours (500).
    pub fn status(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            Self::FfmpegMissing { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::SourceUnreadable { .. }
            | Self::UnsupportedContainer(_)
            | Self::NotAVideo(_)
            | Self::SourceTruncated { .. }
            | Self::VideoTooSmall(_)
            | Self::EncodeFailed(_)
            | Self::Sidecar { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::OutputInvalid(_) | Self::Storage(_) | Self::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients and tests switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::FfmpegMissing { .. } => "ffmpeg_missing",
            Self::SourceUnreadable { .. } => "source_unreadable",
            Self::UnsupportedContainer(_) => "unsupported_container",
            Self::NotAVideo(_) => "not_a_video",
            Self::SourceTruncated { .. } => "source_truncated",
            Self::VideoTooSmall(_) => "video_too_small",
            Self::EncodeFailed(_) => "encode_failed",
            Self::OutputInvalid(_) => "ingest_output_invalid",
            Self::Storage(_) => "storage_error",
            Self::StorageFull => "storage_full",
            Self::Database(_) => "database_error",
            Self::Sidecar { error, .. } => error.code(),
        }
    }
}

/// What to ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub source: PathBuf,
    pub title: Title,
    pub description: Description,
    pub year: Option<Year>,
    /// Subtitle files beside the source, added as tracks of their own.
    pub subtitles: Vec<SidecarSubtitles>,
    /// The staging folder's name (a job's id), when a run of the same
    /// request may have left one behind: it is cleared first. By default the
    /// new movie's id.
    pub staging_name: Option<String>,
}

/// A subtitle file given with a source (`--subtitle fr=path.srt`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SidecarSubtitles {
    pub path: PathBuf,
    /// The language, as written (`fr`, `fre`, `pt-BR`).
    pub language: Option<String>,
    pub label: Option<String>,
    pub encoding: Option<String>,
}

/// Packages movies into a media folder and records them in a catalog.
#[derive(Clone, Debug)]
pub struct Ingester {
    pub store: CatalogStore,
    pub media_dir: PathBuf,
    pub tools: FfmpegTools,
}

impl Ingester {
    /// Runs the whole ingest; `on_progress` hears about the encode.
    pub async fn ingest(
        &self,
        request: &IngestRequest,
        on_progress: &mut (dyn FnMut(EncodeProgress) + Send),
    ) -> Result<Movie, IngestError> {
        self.tools.check().await?;
        check_readable(&request.source)?;
        // Every subtitle file given is read and checked before the long encode.
        let sidecars = request.subtitles.iter().map(prepare_sidecar).collect::<Result<Vec<_>, _>>()?;
        let info = probe::probe(&self.tools, &request.source).await?;
        let rungs = ladder::ladder_for(info.height).ok_or(IngestError::VideoTooSmall(info.height))?;
        let input = source::SourceInput { path: &request.source, format: info.format };
        integrity::check_complete(&self.tools, input, info.duration_ms).await?;

        let id = MovieId::generate();
        let staging_name = request.staging_name.as_deref().unwrap_or(id.as_str());
        let staging = staging::Staging::create(&self.media_dir, staging_name).map_err(|e| match e.kind() {
            std::io::ErrorKind::StorageFull => IngestError::StorageFull,
            _ => IngestError::Storage(e),
        })?;
        let plan = Packaging { rungs, tracks: tracks::plan(&info), sidecars };
        let packaged = self.package(input, &info, &plan, staging.path(), on_progress).await;
        // ffmpeg's HLS muxer ignores failed writes: on a full disk it exits 0
        // and leaves empty or cut files. Whatever the run says, a folder that
        // cannot be written now may hold cut files: nothing of it is kept.
        if staging::out_of_space(staging.path()) {
            tracing::error!(movie = %id, "the media folder ran out of space during an ingest");
            return Err(IngestError::StorageFull);
        }
        let (renditions, unread) = packaged?;

        let new_movie = NewMovie {
            movie: Movie {
                id: id.to_string(),
                title: request.title.as_str().to_owned(),
                description: request.description.as_str().to_owned(),
                year: request.year.map(Year::get),
                duration_ms: info.duration_ms,
                created_at_ms: cinemesh_common::db::now_ms(),
                poster_version: 0,
            },
            renditions,
            skipped_tracks: plan.tracks.skipped.iter().chain(&unread).map(skipped_record).collect(),
        };
        for skipped in &new_movie.skipped_tracks {
            tracing::info!(movie = %id, kind = %skipped.kind, position = skipped.position, code = %skipped.code, "{}", skipped.reason);
        }
        // Files first, rows second: a row always points at files that exist.
        // A task of its own, which an ingest dropped now (a cancel) does not
        // stop half-way, between the two.
        let target = self.media_dir.join(id.as_str());
        let store = self.store.clone();
        tokio::spawn(async move {
            staging.commit(&target).map_err(IngestError::Storage)?;
            if let Err(e) = store.insert(&new_movie).await {
                if let Err(rm) = tokio::fs::remove_dir_all(&target).await {
                    tracing::error!(path = %target.display(), error = %rm, "could not remove the files of a failed ingest");
                }
                return Err(IngestError::Database(e));
            }
            tracing::info!(movie = %new_movie.movie.id, title = %new_movie.movie.title, "ingested");
            Ok(new_movie.movie)
        })
        .await
        .map_err(|e| IngestError::OutputInvalid(e.to_string()))?
    }

    /// The poster, the packaging run, the subtitles, and the records of
    /// what they wrote into `out_dir`, whose master playlist is then ours;
    /// with the subtitle tracks that came out unreadable, left out.
    async fn package(
        &self,
        input: source::SourceInput<'_>,
        info: &probe::SourceInfo,
        plan: &Packaging,
        out_dir: &Path,
        on_progress: &mut (dyn FnMut(EncodeProgress) + Send),
    ) -> Result<(Vec<(Rendition, Vec<Segment>)>, Vec<tracks::SkippedTrack>), IngestError> {
        self.write_poster(input, info, out_dir).await?;
        let args = encode::hls_args(&self.tools, input, info, &plan.rungs, &plan.tracks, out_dir);
        encode::run_ffmpeg(&self.tools, args, info.duration_ms, on_progress).await?;
        subtitles::extract(&self.tools, input, &plan.tracks.subtitles, info.duration_ms, out_dir).await?;
        let out = out_dir.to_path_buf();
        let (Packaging { tracks, sidecars, .. }, duration_ms) = (plan.clone(), info.duration_ms);
        tokio::task::spawn_blocking(move || {
            let mut renditions = read_output(&out, &tracks)?;
            let extracted = subtitles::read_back(&tracks.subtitles, duration_ms, &out)?;
            renditions.extend(extracted.kept);
            for sidecar in &sidecars {
                let existing: Vec<Rendition> = renditions.iter().map(|(r, _)| r.clone()).collect();
                let (rendition, segment) =
                    write_track(&out, &existing, sidecar, duration_ms).map_err(IngestError::Storage)?;
                renditions.push((rendition, vec![segment]));
            }
            let records: Vec<Rendition> = renditions.iter().map(|(r, _)| r.clone()).collect();
            write_master(&out, &records).map_err(IngestError::Storage)?;
            Ok((renditions, extracted.skipped))
        })
        .await
        .map_err(|e| IngestError::OutputInvalid(e.to_string()))?
    }

    async fn write_poster(
        &self,
        input: source::SourceInput<'_>,
        info: &probe::SourceInfo,
        out_dir: &Path,
    ) -> Result<(), IngestError> {
        // A frame a tenth of the way in, past opening black, capped at a minute.
        let at_seconds = (info.duration_ms as f64 / 1000.0 * 0.1).min(60.0);
        crate::poster::write_poster(&self.tools, &input.args(), Some(at_seconds), out_dir).await
    }
}

/// What a source becomes: the video rungs, its tracks, the subtitle files given with it.
#[derive(Debug, Clone)]
struct Packaging {
    rungs: Vec<ladder::Rung>,
    tracks: tracks::TrackPlan,
    sidecars: Vec<PreparedSubtitles>,
}

/// A subtitle file given with the source, read and checked.
fn prepare_sidecar(sidecar: &SidecarSubtitles) -> Result<PreparedSubtitles, IngestError> {
    // Its name as given: the uploader's own path, safe to show them.
    let file = sidecar.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let fail = |error: SubtitleTrackError| IngestError::Sidecar { file: file.clone(), error };
    let new = NewSubtitles {
        language: sidecar.language.clone(),
        label: sidecar.label.clone(),
        encoding: sidecar.encoding.clone(),
        ..NewSubtitles::from_file(&sidecar.path).map_err(fail)?
    };
    prepare(&new).map_err(fail)
}

fn check_readable(source: &Path) -> Result<(), IngestError> {
    let unreadable = |reason: String| {
        tracing::warn!(source = %source.display(), %reason, "the source cannot be read");
        IngestError::SourceUnreadable { reason }
    };
    // io::Error's text is the OS's ("No such file or directory"), without the path.
    let meta = std::fs::metadata(source).map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    std::fs::File::open(source).map_err(|e| unreadable(e.to_string()))?;
    Ok(())
}

/// Reads the master and media playlists ffmpeg wrote and hashes every
/// segment: the video renditions, then the audio tracks of `tracks` when
/// they have renditions of their own.
fn read_output(dir: &Path, tracks: &tracks::TrackPlan) -> Result<Vec<(Rendition, Vec<Segment>)>, IngestError> {
    let invalid = |what: String| IngestError::OutputInvalid(what);
    let master =
        std::fs::read_to_string(dir.join("master.m3u8")).map_err(|e| invalid(format!("master playlist: {e}")))?;
    // ffmpeg may also list each audio rendition as an audio-only variant.
    let is_track = |uri: &str| tracks.audio.iter().any(|t| uri.split('/').next() == Some(t.folder.as_str()));
    let variants: Vec<_> = playlist::parse_master(&master).into_iter().filter(|v| !is_track(&v.uri)).collect();
    if variants.len() < 2 {
        return Err(invalid(format!("{} renditions in the master playlist", variants.len())));
    }
    let mut renditions = Vec::with_capacity(variants.len() + tracks.audio.len());
    for variant in variants {
        let (name, _) = variant.uri.split_once('/').ok_or_else(|| invalid(format!("variant URI {}", variant.uri)))?;
        let rendition = Rendition {
            name: name.to_owned(),
            width: variant.width,
            height: variant.height,
            bandwidth_bps: variant.bandwidth_bps,
            codecs: variant.codecs,
            // The language of the audio muxed in, when it is the movie's only track.
            language: if tracks.separate_audio() {
                None
            } else {
                tracks.audio.first().and_then(|t| t.language.clone())
            },
            ..Rendition::default()
        };
        renditions.push(with_segments(dir, rendition)?);
    }
    if tracks.separate_audio() {
        for track in &tracks.audio {
            let rendition = Rendition {
                name: track.folder.clone(),
                kind: RenditionKind::Audio,
                bandwidth_bps: i64::from(encode::AUDIO_KBPS) * 1000,
                codecs: "mp4a.40.2".into(),
                language: track.language.clone(),
                label: track.label.clone(),
                is_default: track.default,
                channels: i64::from(encode::AUDIO_CHANNELS),
                ..Rendition::default()
            };
            renditions.push(with_segments(dir, rendition)?);
        }
    }
    Ok(renditions)
}

/// A rendition with the segments its media playlist lists, each hashed.
fn with_segments(dir: &Path, mut rendition: Rendition) -> Result<(Rendition, Vec<Segment>), IngestError> {
    let invalid = |what: String| IngestError::OutputInvalid(what);
    let uri = format!("{}/index.m3u8", rendition.name);
    let media_text = std::fs::read_to_string(dir.join(&uri)).map_err(|e| invalid(format!("{uri}: {e}")))?;
    let media = playlist::parse_media(&media_text);
    if media.is_empty() {
        return Err(invalid(format!("{uri} has no segments")));
    }
    let mut segments = Vec::with_capacity(media.len());
    for (sequence, entry) in media.iter().enumerate() {
        let path = dir.join(&rendition.name).join(&entry.uri);
        let (size_bytes, sha256) = hash_file(&path).map_err(|e| invalid(format!("{}: {e}", entry.uri)))?;
        segments.push(Segment { sequence: sequence as i64, duration_ms: entry.duration_ms, size_bytes, sha256 });
    }
    rendition.segment_count = segments.len() as i64;
    Ok((rendition, segments))
}

fn skipped_record(track: &tracks::SkippedTrack) -> SkippedTrack {
    SkippedTrack {
        kind: track.kind.as_str().to_owned(),
        position: track.source as i64,
        codec: track.codec.clone(),
        language: track.language.clone(),
        code: track.code.to_owned(),
        reason: track.reason.clone(),
    }
}

/// Size and lowercase hex SHA-256 of a file, read in 64 KiB blocks.
pub fn hash_file(path: &Path) -> std::io::Result<(i64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0i64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as i64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}
