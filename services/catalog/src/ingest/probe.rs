//! What ffprobe says about a source file.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use super::source::{self, CONTAINERS_FOR_PEOPLE};
use super::{FfmpegTools, IngestError};

#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The demuxer every later run is forced to use (one of `source::CONTAINERS`).
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub duration_ms: i64,
    /// Audio streams in source order: entry `i` is ffmpeg's `0:a:i`.
    pub audio: Vec<StreamTags>,
    /// Subtitle streams in source order: entry `i` is ffmpeg's `0:s:i`.
    pub subtitles: Vec<StreamTags>,
}

impl SourceInfo {
    pub fn has_audio(&self) -> bool {
        !self.audio.is_empty()
    }
}

/// What a source says about one of its audio or subtitle streams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamTags {
    /// ffmpeg's codec name, e.g. `aac`, `subrip`, `hdmv_pgs_subtitle`.
    pub codec: String,
    /// The `language` tag as written, e.g. `fre`.
    pub language: Option<String>,
    pub title: Option<String>,
    pub default: bool,
    /// A subtitle shown whatever the viewer chose: signs and foreign dialogue.
    pub forced: bool,
}

impl StreamTags {
    fn of(stream: &Value) -> Self {
        let tag = |name: &str| stream["tags"][name].as_str().map(str::to_owned);
        let flag = |name: &str| stream["disposition"][name].as_i64() == Some(1);
        Self {
            codec: stream["codec_name"].as_str().unwrap_or("unknown").chars().take(64).collect(),
            // Matroska writes LANGUAGE, MP4 language; ffprobe keeps either.
            language: tag("language").or_else(|| tag("LANGUAGE")),
            title: tag("title").or_else(|| tag("TITLE")),
            default: flag("default"),
            forced: flag("forced"),
        }
    }
}

pub async fn probe(tools: &FfmpegTools, source: &Path) -> Result<SourceInfo, IngestError> {
    let output = tokio::process::Command::new(&tools.ffprobe)
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .args(source::detect_args(source))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| FfmpegTools::missing(&tools.ffprobe, &e))?;
    if !output.status.success() {
        // Its messages name the file: they go to the log, not to the uploader.
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::warn!(source = %source.display(), stderr = %stderr.trim(), "ffprobe refused the source");
        if let Some(format) = refused_container(&stderr) {
            return Err(IngestError::UnsupportedContainer(format));
        }
        return Err(IngestError::NotAVideo(format!(
            "ffprobe cannot read it as a movie ({CONTAINERS_FOR_PEOPLE} are accepted)"
        )));
    }
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| IngestError::NotAVideo(format!("ffprobe printed no JSON: {e}")))?;
    parse_probe(&json)
}

/// The demuxer ffprobe detected but was not allowed to use, from its
/// `[hls @ 0x…] Format not on whitelist '…'` line.
fn refused_container(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.contains("Format not on whitelist"))?;
    let name = line.strip_prefix('[').and_then(|rest| rest.split_once(" @")).map(|(name, _)| name);
    Some(name.filter(|n| !n.is_empty() && n.len() <= 32).unwrap_or("unknown").to_owned())
}

fn parse_probe(json: &Value) -> Result<SourceInfo, IngestError> {
    let format_name = json["format"]["format_name"].as_str().unwrap_or_default();
    let format = source::allowed_container(format_name)
        .ok_or_else(|| IngestError::UnsupportedContainer(format_name.chars().take(64).collect()))?;
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
        format,
        width,
        height,
        duration_ms: (seconds * 1000.0).round() as i64,
        audio: streams.iter().filter(|s| s["codec_type"] == "audio").map(StreamTags::of).collect(),
        subtitles: streams.iter().filter(|s| s["codec_type"] == "subtitle").map(StreamTags::of).collect(),
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
                {"codec_type": "audio", "codec_name": "aac", "tags": {"language": "fre"}, "disposition": {"default": 1}},
                {"codec_type": "subtitle", "codec_name": "subrip", "tags": {"LANGUAGE": "eng", "title": "SDH"}},
                {"codec_type": "subtitle", "codec_name": "hdmv_pgs_subtitle", "disposition": {"forced": 1}}
            ],
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "20.040000"}
        }))
        .unwrap();
        let french =
            StreamTags { codec: "aac".into(), language: Some("fre".into()), default: true, ..StreamTags::default() };
        let english = StreamTags {
            codec: "subrip".into(),
            language: Some("eng".into()),
            title: Some("SDH".into()),
            ..StreamTags::default()
        };
        let pgs = StreamTags { codec: "hdmv_pgs_subtitle".into(), forced: true, ..StreamTags::default() };
        assert_eq!(
            info,
            SourceInfo {
                format: "mov",
                width: 1280,
                height: 720,
                duration_ms: 20040,
                audio: vec![french],
                subtitles: vec![english, pgs]
            }
        );
    }

    #[test]
    fn audio_with_cover_art_is_not_a_video() {
        let err = parse_probe(&json!({
            "streams": [
                {"codec_type": "audio"},
                {"codec_type": "video", "width": 500, "height": 500, "disposition": {"attached_pic": 1}}
            ],
            "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "180.0"}
        }))
        .unwrap_err();
        assert_eq!(err.code(), "not_a_video");
    }

    #[test]
    fn still_image_without_duration_is_not_a_video() {
        let err = parse_probe(&json!({
            "streams": [{"codec_type": "video", "width": 10, "height": 10}],
            "format": {"format_name": "matroska,webm"}
        }))
        .unwrap_err();
        assert_eq!(err.code(), "not_a_video");
    }

    #[test]
    fn playlists_and_image_sequences_are_unsupported_containers() {
        for name in ["hls", "concat", "image2", "png_pipe"] {
            let err = parse_probe(&json!({
                "streams": [{"codec_type": "video", "width": 640, "height": 360}],
                "format": {"format_name": name, "duration": "6.0"}
            }))
            .unwrap_err();
            assert_eq!(err.code(), "unsupported_container", "{name}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn the_refused_demuxer_is_read_from_ffprobe_errors() {
        let stderr = "[hls @ 0x5644] Format not on whitelist 'mov,matroska'\n/data/uploads/x: Invalid argument\n";
        assert_eq!(refused_container(stderr).as_deref(), Some("hls"));
        assert_eq!(refused_container("Format not on whitelist 'mov'").as_deref(), Some("unknown"));
        assert_eq!(refused_container("/data/uploads/x: Invalid data found when processing input"), None);
    }
}
