//! A source's text subtitles as WebVTT: one ffmpeg run writes every kept
//! track to its folder (`subs-fr/subtitles.vtt`), each beside a playlist that
//! lists that one file for the movie's whole length.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use super::master::{SUBTITLE_FILE, subtitle_playlist};
use super::source::SourceInput;
use super::tracks::Track;
use super::{FfmpegTools, IngestError, hash_file};
use crate::model::{Rendition, RenditionKind, Segment};

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
        // ffmpeg's messages name files on the server: they go to the log only.
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::warn!(source = %input.path.display(), status = %output.status, stderr = %stderr.trim(), "the subtitle run of ffmpeg failed");
        return Err(IngestError::EncodeFailed(format!("subtitles: {} (details are in the server log)", output.status)));
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

/// The catalog records of the subtitle tracks `extract` wrote.
pub fn read_back(
    tracks: &[Track],
    duration_ms: i64,
    out_dir: &Path,
) -> Result<Vec<(Rendition, Vec<Segment>)>, IngestError> {
    tracks
        .iter()
        .map(|track| {
            let path = out_dir.join(&track.folder).join(SUBTITLE_FILE);
            let invalid =
                |what: String| IngestError::OutputInvalid(format!("{}/{SUBTITLE_FILE}: {what}", track.folder));
            let head = std::fs::read(&path).map_err(|e| invalid(e.to_string()))?;
            if !head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head).starts_with(b"WEBVTT") {
                return Err(invalid("not WebVTT".into()));
            }
            let (size_bytes, sha256) = hash_file(&path).map_err(|e| invalid(e.to_string()))?;
            let rendition =
                subtitle_rendition(track.folder.clone(), track.language.clone(), track.label.clone(), track.forced);
            Ok((rendition, vec![Segment { sequence: 0, duration_ms, size_bytes, sha256 }]))
        })
        .collect()
}
