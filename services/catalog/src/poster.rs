//! Posters: one JPEG frame at most 360 pixels tall, made by ffmpeg from a
//! source at ingest, from an image an admin uploads, or from a moment of a
//! movie's own best rendition. Always written beside the final name and
//! renamed over it, so a viewer never loads half a poster.

use std::ffi::OsString;
use std::path::Path;

use crate::ingest::{FfmpegTools, IngestError, ffmpeg_failure};
use crate::temp_file::TempFile;

pub const POSTER_FILE: &str = "poster.jpg";
/// Image types an admin may upload as a poster, with the ffmpeg demuxer
/// forced for each: an upload is never probed, so it cannot pass for a
/// playlist that names other files.
pub const IMAGE_TYPES: &[(&str, &str)] =
    &[("image/jpeg", "jpeg_pipe"), ("image/png", "png_pipe"), ("image/webp", "webp_pipe")];
/// Largest poster image accepted, bytes.
pub const MAX_POSTER_BYTES: u64 = 5 * 1024 * 1024;

/// The demuxer forced for an uploaded image of `content_type`, or `None`
/// when that type is not accepted.
pub fn image_demuxer(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    IMAGE_TYPES.iter().find(|(mime, _)| *mime == essence).map(|(_, demuxer)| *demuxer)
}

/// Input arguments for an uploaded image read with `demuxer`.
pub fn image_input(demuxer: &str, path: &Path) -> Vec<OsString> {
    vec!["-protocol_whitelist".into(), "file".into(), "-f".into(), demuxer.into(), "-i".into(), path.into()]
}

/// Input arguments for a movie's own rendition playlist (our files only).
pub fn rendition_input(playlist: &Path) -> Vec<OsString> {
    vec!["-protocol_whitelist".into(), "file".into(), "-f".into(), "hls".into(), "-i".into(), playlist.into()]
}

/// Writes the frame at `at_secs` of `input` as the poster of `folder`.
pub async fn write_poster(
    tools: &FfmpegTools,
    input: &[OsString],
    at_secs: Option<f64>,
    folder: &Path,
) -> Result<(), IngestError> {
    let partial = TempFile::new(folder.join(format!(".{POSTER_FILE}.{}", cinemesh_common::id::random_id(8))));
    let mut command = tokio::process::Command::new(&tools.ffmpeg);
    command.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]);
    if let Some(at) = at_secs {
        command.args(["-ss", &format!("{at:.3}")]);
    }
    let output = command
        .args(input)
        .args(["-frames:v", "1", "-vf", "scale=-2:'min(360,ih)'", "-q:v", "3", "-f", "mjpeg"])
        .arg(partial.path())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| FfmpegTools::missing(&tools.ffmpeg, &e))?;
    let written = std::fs::metadata(partial.path()).is_ok_and(|m| m.len() > 0);
    if !output.status.success() || !written {
        return Err(ffmpeg_failure("poster", output.status, &String::from_utf8_lossy(&output.stderr)));
    }
    std::fs::rename(partial.path(), folder.join(POSTER_FILE)).map_err(IngestError::Storage)?;
    partial.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_image_types_get_a_forced_demuxer() {
        assert_eq!(image_demuxer("image/PNG; charset=binary"), Some("png_pipe"));
        assert_eq!(image_input("png_pipe", Path::new("/tmp/x"))[3], "png_pipe");
        assert_eq!(image_demuxer("application/vnd.apple.mpegurl"), None);
        assert_eq!(image_demuxer(""), None);
    }
}
