//! Subtitle tracks added to a movie after its ingest (or beside its source at
//! ingest), and removed: the file is read and checked first (see
//! `subtitles`), then written as the track's WebVTT and playlist, recorded,
//! and the master playlist written again to list it. Each step that fails
//! undoes the ones before it: a track is added whole or not at all.

use std::path::{Path, PathBuf};

use crate::domain::MovieId;
use crate::ingest::language;
use crate::ingest::master::{SUBTITLE_FILE, master_playlist, subtitle_playlist};
use crate::ingest::subtitles::subtitle_rendition;
use crate::ingest::tracks::{clean_title, unique};
use crate::ingest::{Ingester, hash_file};
use crate::model::{Rendition, RenditionKind, Segment};
use crate::subtitles::{self, SubtitleError, SubtitleFormat};

/// Subtitle tracks a movie may have, from its source and added.
pub const MAX_SUBTITLE_TRACKS: usize = 32;

/// A subtitle file to add.
#[derive(Debug, Clone, Default)]
pub struct NewSubtitles {
    pub bytes: Vec<u8>,
    /// From the file's name, when it has one that says.
    pub format: Option<SubtitleFormat>,
    /// The language, as the uploader wrote it (`fr`, `fre`, `pt-BR`).
    pub language: Option<String>,
    /// A name for people; by default the language's own name.
    pub label: Option<String>,
    /// The text encoding, when the file is not UTF-8 and its language's usual one is not it.
    pub encoding: Option<String>,
}

impl NewSubtitles {
    /// A file on disk, refused before it is read when it is too large; its
    /// format from its extension. Language, label and encoding are set after.
    pub fn from_file(path: &Path) -> Result<Self, SubtitleTrackError> {
        let unreadable = |e: std::io::Error| SubtitleTrackError::Unreadable(e.to_string());
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > subtitles::MAX_SUBTITLE_FILE_BYTES as u64 {
            return Err(SubtitleError::TooLarge(usize::try_from(size).unwrap_or(usize::MAX)).into());
        }
        Ok(Self {
            bytes: std::fs::read(path).map_err(unreadable)?,
            format: path.extension().and_then(|e| SubtitleFormat::from_extension(&e.to_string_lossy())),
            ..Self::default()
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubtitleTrackError {
    #[error(transparent)]
    Subtitles(#[from] SubtitleError),
    #[error("cannot read the subtitle file: {0}")]
    Unreadable(String),
    #[error("{0:?} is not a language tag (such as fr, pt-BR or fre)")]
    InvalidLanguage(String),
    #[error("no movie with id {0:?}")]
    MovieNotFound(String),
    #[error("the movie has no subtitle track {0:?}")]
    TrackNotFound(String),
    #[error("a movie has at most {max} subtitle tracks", max = MAX_SUBTITLE_TRACKS)]
    TooManyTracks,
    #[error("could not write the subtitle files")]
    Storage(#[from] std::io::Error),
    #[error("could not record the subtitles in the catalog")]
    Database(#[source] sqlx::Error),
}

impl SubtitleTrackError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Subtitles(e) => e.code(),
            Self::Unreadable(_) => "subtitle_unreadable",
            Self::InvalidLanguage(_) => "invalid_language",
            Self::MovieNotFound(_) => "movie_not_found",
            Self::TrackNotFound(_) => "subtitle_track_not_found",
            Self::TooManyTracks => "too_many_subtitle_tracks",
            Self::Storage(_) => "storage_error",
            Self::Database(_) => "database_error",
        }
    }
}

/// A subtitle file read, checked and made WebVTT, with its track's language and label.
#[derive(Debug, Clone)]
pub struct PreparedSubtitles {
    pub webvtt: String,
    pub language: Option<String>,
    label: Option<String>,
}

/// Reads and checks a subtitle file: everything that can be wrong with it, before anything is written.
pub fn prepare(new: &NewSubtitles) -> Result<PreparedSubtitles, SubtitleTrackError> {
    let language = match new.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(raw) => Some(
            language::normalize(Some(raw))
                .ok_or_else(|| SubtitleTrackError::InvalidLanguage(raw.chars().take(40).collect()))?,
        ),
        None => None,
    };
    let read =
        subtitles::read(&new.bytes, new.format, language.as_ref().map(|l| l.tag.as_str()), new.encoding.as_deref())?;
    let label = new
        .label
        .as_deref()
        .map(clean_title)
        .filter(|l| !l.is_empty())
        .or_else(|| language.as_ref().map(|l| l.name.clone()));
    Ok(PreparedSubtitles { webvtt: subtitles::write_webvtt(&read.cues), language: language.map(|l| l.tag), label })
}

/// Writes a prepared track into `movie_dir` beside the `existing` renditions:
/// its folder (named apart from theirs), WebVTT file and playlist. The files
/// and the record to keep of them.
pub fn write_track(
    movie_dir: &Path,
    existing: &[Rendition],
    prepared: &PreparedSubtitles,
    duration_ms: i64,
) -> std::io::Result<(Rendition, Segment)> {
    // Names the catalog knows, and folders on disk (a removal whose files stayed behind).
    let mut names: Vec<String> = existing.iter().map(|r| r.name.clone()).collect();
    if let Ok(entries) = std::fs::read_dir(movie_dir) {
        names.extend(entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()));
    }
    let stem = format!("subs-{}", prepared.language.as_deref().unwrap_or("und").to_ascii_lowercase());
    let folder = unique(&names, &stem, "-");
    let labels: Vec<String> =
        existing.iter().filter(|r| r.kind == RenditionKind::Subtitles).map(|r| r.label.clone()).collect();
    let unknown = existing.iter().filter(|r| r.kind == RenditionKind::Subtitles && r.language.is_none()).count();
    let base = prepared.label.clone().unwrap_or_else(|| format!("Unknown {}", unknown + 1));
    let label = unique(&labels, &base, " ");
    // Written aside, then moved into place whole.
    let staging = movie_dir.join(format!(".{folder}-{}", cinemesh_common::id::random_id(8)));
    std::fs::create_dir_all(&staging)?;
    let written = (|| {
        std::fs::write(staging.join(SUBTITLE_FILE), &prepared.webvtt)?;
        std::fs::write(staging.join("index.m3u8"), subtitle_playlist(duration_ms))?;
        let (size_bytes, sha256) = hash_file(&staging.join(SUBTITLE_FILE))?;
        std::fs::rename(&staging, movie_dir.join(&folder))?;
        Ok::<_, std::io::Error>((size_bytes, sha256))
    })();
    let (size_bytes, sha256) = written.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staging);
    })?;
    let rendition = subtitle_rendition(folder, prepared.language.clone(), label, false);
    Ok((rendition, Segment { sequence: 0, duration_ms, size_bytes, sha256 }))
}

/// Writes `master.m3u8` of `renditions` into `movie_dir`, replacing the old one whole.
pub fn write_master(movie_dir: &Path, renditions: &[Rendition]) -> std::io::Result<()> {
    let staging = movie_dir.join(format!(".master-{}.m3u8", cinemesh_common::id::random_id(8)));
    std::fs::write(&staging, master_playlist(renditions))?;
    std::fs::rename(&staging, movie_dir.join("master.m3u8")).inspect_err(|_| {
        let _ = std::fs::remove_file(&staging);
    })
}

/// Subtitle changes in this process, one at a time: each writes the movie's
/// master playlist from what the catalog lists once its own row is written,
/// and two at once would each write their own view of it.
static CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The file whose lock makes a movie's subtitle changes one at a time across
/// processes sharing a media directory (the CLI beside a running server,
/// instances on one volume), in the movie's folder.
pub const CHANGES_LOCK_FILE: &str = ".subtitle-changes.lock";

/// A subtitle change's turn: this process's, then the movie folder's (released on drop).
struct ChangeTurn {
    _file: std::fs::File,
    _process: tokio::sync::MutexGuard<'static, ()>,
}

impl Ingester {
    /// Waits for this change's turn, in this process and then across processes.
    async fn change_turn(&self, movie: &MovieId) -> Result<ChangeTurn, SubtitleTrackError> {
        let process = CHANGES.lock().await;
        let path = self.movie_dir(movie).join(CHANGES_LOCK_FILE);
        let file = blocking(move || {
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SubtitleTrackError::MovieNotFound(movie.to_string()),
            _ => SubtitleTrackError::Storage(e),
        })?;
        Ok(ChangeTurn { _file: file, _process: process })
    }

    fn movie_dir(&self, movie: &MovieId) -> PathBuf {
        self.media_dir.join(movie.as_str())
    }

    /// The movie's renditions as the catalog lists them now.
    async fn renditions_of(&self, movie: &MovieId) -> Result<(i64, Vec<Rendition>), SubtitleTrackError> {
        let (record, renditions) = self
            .store
            .get(movie)
            .await
            .map_err(SubtitleTrackError::Database)?
            .ok_or_else(|| SubtitleTrackError::MovieNotFound(movie.to_string()))?;
        Ok((record.duration_ms, renditions))
    }

    /// The master playlist written again from the catalog's records.
    async fn rewrite_master(&self, movie: &MovieId) -> Result<(), SubtitleTrackError> {
        let (_, renditions) = self.renditions_of(movie).await?;
        let dir = self.movie_dir(movie);
        blocking(move || write_master(&dir, &renditions)).await.map_err(SubtitleTrackError::Storage)
    }

    /// Adds a subtitle track to a movie; its record.
    pub async fn add_subtitles(&self, movie: &MovieId, new: NewSubtitles) -> Result<Rendition, SubtitleTrackError> {
        let _one_at_a_time = self.change_turn(movie).await?;
        // The movie first: a file for no movie is not worth reading.
        let (duration_ms, renditions) = self.renditions_of(movie).await?;
        if renditions.iter().filter(|r| r.kind == RenditionKind::Subtitles).count() >= MAX_SUBTITLE_TRACKS {
            return Err(SubtitleTrackError::TooManyTracks);
        }
        let dir = self.movie_dir(movie);
        let (rendition, segment) = {
            let dir = dir.clone();
            // Reading a 5 MiB file cue by cue takes a while: not on the server's async threads.
            blocking(move || {
                let prepared = prepare(&new)?;
                write_track(&dir, &renditions, &prepared, duration_ms).map_err(SubtitleTrackError::Storage)
            })
            .await?
        };
        let undo_files = || {
            if let Err(e) = std::fs::remove_dir_all(dir.join(&rendition.name)) {
                tracing::error!(movie = %movie, error = %e, "could not remove the files of a subtitle track not added");
            }
        };
        if let Err(e) = self.store.add_rendition(movie, &rendition, std::slice::from_ref(&segment)).await {
            undo_files();
            return Err(SubtitleTrackError::Database(e));
        }
        if let Err(e) = self.rewrite_master(movie).await {
            if let Err(undo) = self.store.remove_rendition(movie, &rendition.name).await {
                tracing::error!(movie = %movie, error = %undo, "a subtitle track's record stays without its master playlist entry");
            }
            undo_files();
            return Err(e);
        }
        tracing::info!(movie = %movie, track = %rendition.name, "subtitles added");
        Ok(rendition)
    }

    /// Removes a subtitle track: its record, then the master playlist written
    /// again without it, then its files.
    pub async fn remove_subtitles(&self, movie: &MovieId, name: &str) -> Result<(), SubtitleTrackError> {
        let _one_at_a_time = self.change_turn(movie).await?;
        let (_, renditions) = self.renditions_of(movie).await?;
        let Some(track) = renditions.iter().find(|r| r.kind == RenditionKind::Subtitles && r.name == name) else {
            return Err(SubtitleTrackError::TrackNotFound(name.chars().take(64).collect()));
        };
        let segments = self.store.segments(movie, name).await.map_err(SubtitleTrackError::Database)?;
        self.store.remove_rendition(movie, name).await.map_err(SubtitleTrackError::Database)?;
        if let Err(e) = self.rewrite_master(movie).await {
            // The master still lists it: so must the catalog.
            if let Err(undo) = self.store.add_rendition(movie, track, &segments).await {
                tracing::error!(movie = %movie, error = %undo, "the master playlist lists a subtitle track no longer recorded");
            }
            return Err(e);
        }
        if let Err(e) = std::fs::remove_dir_all(self.movie_dir(movie).join(name)) {
            tracing::warn!(movie = %movie, track = name, error = %e, "a removed subtitle track's files stay behind");
        }
        tracing::info!(movie = %movie, track = name, "subtitles removed");
        Ok(())
    }
}

/// `work` on the blocking pool.
async fn blocking<T: Send + 'static, E: Send + 'static + From<std::io::Error>>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    tokio::task::spawn_blocking(work).await.map_err(|e| E::from(std::io::Error::other(e.to_string())))?
}
