//! Where ffmpeg and ffprobe are, and how to tell that they are missing.

use std::path::{Path, PathBuf};
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
            match status {
                Ok(s) if s.success() => {}
                Ok(s) => return Err(Self::missing(tool, &format!("`-version` {s}"))),
                Err(e) => return Err(Self::missing(tool, &e)),
            }
        }
        Ok(())
    }

    /// `ffmpeg_missing` for a program that did not run. The configured path is
    /// a detail of the server: it goes to the log, the error names the program.
    pub fn missing(tool: &Path, why: &dyn std::fmt::Display) -> IngestError {
        tracing::warn!(path = %tool.display(), error = %why, "could not run an ffmpeg program");
        let name = tool.file_name().map_or_else(|| "ffmpeg".into(), |n| n.to_string_lossy().into_owned());
        IngestError::FfmpegMissing { tool: name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_named_without_its_folder() {
        let err = FfmpegTools::missing(Path::new("/opt/media/bin/ffprobe"), &"not found");
        assert!(matches!(&err, IngestError::FfmpegMissing { tool } if tool == "ffprobe"), "{err:?}");
        assert!(!err.to_string().contains("/opt"), "{err}");
    }
}
