//! Where ffmpeg and ffprobe are, and how to tell that they are missing.

use std::path::PathBuf;
use std::process::Stdio;

use super::IngestError;

/// Paths (or names on `PATH`) of the two programs ingest runs, and how hard
/// x264 works. This is also the `[ingest]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FfmpegTools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// x264 preset: `veryfast` by default; tests use `ultrafast`.
    pub x264_preset: String,
}

impl Default for FfmpegTools {
    fn default() -> Self {
        Self { ffmpeg: "ffmpeg".into(), ffprobe: "ffprobe".into(), x264_preset: "veryfast".into() }
    }
}

impl FfmpegTools {
    /// Fails with `ffmpeg_missing` (and an install hint) unless both programs run.
    pub async fn check(&self) -> Result<(), IngestError> {
        for tool in [&self.ffmpeg, &self.ffprobe] {
            let status = tokio::process::Command::new(tool)
                .arg("-version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
            if !matches!(status, Ok(s) if s.success()) {
                return Err(IngestError::FfmpegMissing { tool: tool.display().to_string() });
            }
        }
        Ok(())
    }
}
