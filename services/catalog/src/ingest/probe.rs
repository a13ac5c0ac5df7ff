//! What ffprobe says about a source file.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use super::{FfmpegTools, IngestError};

#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    pub duration_ms: i64,
    pub has_audio: bool,
}

pub async fn probe(tools: &FfmpegTools, source: &Path) -> Result<SourceInfo, IngestError> {
    let output = tokio::process::Command::new(&tools.ffprobe)
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(source)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|_| IngestError::FfmpegMissing { tool: tools.ffprobe.display().to_string() })?;
    if !output.status.success() {
        let detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(IngestError::NotAVideo(format!("ffprobe could not read it: {detail}")));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| IngestError::NotAVideo(format!("ffprobe printed no JSON: {e}")))?;
    parse_probe(&json)
}

fn parse_probe(json: &Value) -> Result<SourceInfo, IngestError> {
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    // Cover art in audio files is a "video" stream with one frame; skip it.
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| IngestError::NotAVideo("the file has no video stream".into()))?;
    let width = video["width"].as_u64().unwrap_or(0) as u32;
    let height = video["height"].as_u64().unwrap_or(0) as u32;
    let seconds = [&json["format"]["duration"], &video["duration"]]
        .iter()
        .filter_map(|v| v.as_str().and_then(|s| s.parse::<f64>().ok()))
        .find(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| IngestError::NotAVideo("the file has no duration (a still image or a live stream?)".into()))?;
    if width == 0 || height == 0 {
        return Err(IngestError::NotAVideo("the video stream has no picture size".into()));
    }
    Ok(SourceInfo {
        width,
        height,
        duration_ms: (seconds * 1000.0).round() as i64,
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn video_with_audio_is_described() {
        let info = parse_probe(&json!({
            "streams": [
                {"codec_type": "video", "width": 1280, "height": 720, "disposition": {"attached_pic": 0}},
                {"codec_type": "audio"}
            ],
            "format": {"duration": "20.040000"}
        }))
        .unwrap();
        assert_eq!(info, SourceInfo { width: 1280, height: 720, duration_ms: 20040, has_audio: true });
    }

    #[test]
    fn audio_with_cover_art_is_not_a_video() {
        let err = parse_probe(&json!({
            "streams": [
                {"codec_type": "audio"},
                {"codec_type": "video", "width": 500, "height": 500, "disposition": {"attached_pic": 1}}
            ],
            "format": {"duration": "180.0"}
        }))
        .unwrap_err();
        assert_eq!(err.code(), "not_a_video");
    }

    #[test]
    fn still_image_without_duration_is_not_a_video() {
        let err = parse_probe(&json!({
            "streams": [{"codec_type": "video", "width": 10, "height": 10}],
            "format": {}
        }))
        .unwrap_err();
        assert_eq!(err.code(), "not_a_video");
    }
}
