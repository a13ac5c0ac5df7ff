//! A source's text subtitles as WebVTT: one ffmpeg run writes every kept
//! track to its folder (`subs-fr/subtitles.vtt`), each beside a playlist that
//! lists that one file for the movie's whole length.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use super::master::{SUBTITLE_FILE, subtitle_playlist};
use super::source::SourceInput;
use super::tracks::{SkippedTrack, Track, TrackKind};
use super::{FfmpegTools, IngestError, hash_file};
use crate::model::{Rendition, RenditionKind, Segment};
use crate::subtitles::{SubtitleError, SubtitleFormat, write_webvtt};

/// Writes the WebVTT files and playlists of `tracks` into `out_dir`.
pub async fn extract(
    tools: &FfmpegTools,
    input: SourceInput<'_>,
    tracks: &[Track],
    duration_ms: i64,
    out_dir: &Path,
) -> Result<(), IngestError> {
    if tracks.is_empty() {
        return Ok(());
    }
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"].map(OsString::from).to_vec();
    args.extend(input.args());
    for track in tracks {
        let folder = out_dir.join(&track.folder);
        std::fs::create_dir_all(&folder).map_err(IngestError::Storage)?;
        std::fs::write(folder.join("index.m3u8"), subtitle_playlist(duration_ms)).map_err(IngestError::Storage)?;
        args.extend(["-map".into(), format!("0:s:{}", track.source).into()]);
        args.extend(["-c:s", "webvtt", "-f", "webvtt"].map(OsString::from));
        args.push(folder.join(SUBTITLE_FILE).into());
    }
    let output = tokio::process::Command::new(&tools.ffmpeg)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| FfmpegTools::missing(&tools.ffmpeg, &e))?;
    if !output.status.success() {
        tracing::warn!(source = %input.path.display(), "the subtitle run of ffmpeg failed");
        return Err(super::tools::ffmpeg_failure("subtitles", output.status, &String::from_utf8_lossy(&output.stderr)));
    }
    Ok(())
}

/// The catalog record of a subtitle track: one WebVTT file in `folder`.
pub fn subtitle_rendition(folder: String, language: Option<String>, label: String, forced: bool) -> Rendition {
    Rendition {
        name: folder,
        kind: RenditionKind::Subtitles,
        codecs: "wvtt".into(),
        segment_count: 1,
        language,
        label,
        forced,
        ..Rendition::default()
    }
}

/// The subtitle tracks `extract` wrote: those kept, with their records, and those left out.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub kept: Vec<(Rendition, Vec<Segment>)>,
    pub skipped: Vec<SkippedTrack>,
}

/// Reads back what `extract` wrote, through the same reader as a subtitle
/// file added later (`crate::subtitles`): the same limits (size, cues) and
/// the same clean WebVTT, whatever the source held. A track that does not
/// read is left out, with the reason, and its folder removed.
pub fn read_back(tracks: &[Track], duration_ms: i64, out_dir: &Path) -> Result<ReadBack, IngestError> {
    let mut read_back = ReadBack::default();
    for track in tracks {
        let folder = out_dir.join(&track.folder);
        let path = folder.join(SUBTITLE_FILE);
        let invalid = |what: String| IngestError::OutputInvalid(format!("{}/{SUBTITLE_FILE}: {what}", track.folder));
        let size = std::fs::metadata(&path).map_err(|e| invalid(e.to_string()))?.len();
        let read = if size > crate::subtitles::MAX_SUBTITLE_FILE_BYTES as u64 {
            Err(SubtitleError::TooLarge(usize::try_from(size).unwrap_or(usize::MAX)))
        } else {
            let bytes = std::fs::read(&path).map_err(|e| invalid(e.to_string()))?;
            crate::subtitles::read(&bytes, Some(SubtitleFormat::WebVtt), track.language.as_deref(), None)
        };
        match read {
            Ok(read) => {
                std::fs::write(&path, write_webvtt(&read.cues)).map_err(IngestError::Storage)?;
                let (size_bytes, sha256) = hash_file(&path).map_err(|e| invalid(e.to_string()))?;
                let rendition =
                    subtitle_rendition(track.folder.clone(), track.language.clone(), track.label.clone(), track.forced);
                read_back.kept.push((rendition, vec![Segment { sequence: 0, duration_ms, size_bytes, sha256 }]));
            }
            Err(error) => {
                std::fs::remove_dir_all(&folder).map_err(IngestError::Storage)?;
                read_back.skipped.push(SkippedTrack {
                    kind: TrackKind::Subtitles,
                    source: track.source,
                    codec: track.codec.clone(),
                    language: track.language.clone(),
                    code: error.code(),
                    reason: format!("the track does not read as subtitles: {error}"),
                });
            }
        }
    }
    Ok(read_back)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(folder: &str, source: usize) -> Track {
        Track {
            source,
            folder: folder.into(),
            language: Some("fr".into()),
            label: "Français".into(),
            default: false,
            forced: false,
            codec: "subrip".into(),
        }
    }

    #[test]
    fn extracted_tracks_are_cleaned_and_those_that_do_not_read_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let write = |folder: &str, text: &str| {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
            std::fs::write(dir.path().join(folder).join(SUBTITLE_FILE), text).unwrap();
        };
        write("subs-fr", "WEBVTT\n\n00:01.000 --> 00:02.000\n<c.red>Bonjour</c> <font>à tous</font>\n");
        write("subs-fr-2", "WEBVTT\n\n00:01.000 --> 00:02.000\n<font></font>\n");
        let read = read_back(&[track("subs-fr", 0), track("subs-fr-2", 1)], 10_000, dir.path()).unwrap();
        assert_eq!(read.kept.len(), 1);
        let kept = std::fs::read_to_string(dir.path().join("subs-fr").join(SUBTITLE_FILE)).unwrap();
        assert_eq!(kept, "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nBonjour à tous\n");
        assert_eq!(read.kept[0].1[0].size_bytes, kept.len() as i64, "the record is of the file as rewritten");
        assert_eq!(read.skipped.len(), 1);
        assert_eq!((read.skipped[0].source, read.skipped[0].code), (1, "subtitle_empty"));
        assert!(!dir.path().join("subs-fr-2").exists(), "its folder is removed");
    }
}
