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

/// Why an ffmpeg run failed, for the uploader: `step`, the exit status, and
/// ffmpeg's own last words, with what looks like a path on the server taken
/// out (the whole of its messages goes to the log).
pub fn ffmpeg_failure(step: &str, status: std::process::ExitStatus, stderr: &str) -> IngestError {
    tracing::warn!(step, %status, stderr = %stderr.trim(), "an ffmpeg run failed");
    IngestError::EncodeFailed(match ffmpeg_reason(stderr) {
        Some(reason) => format!("{step}: {status}: {reason}"),
        None => format!("{step}: {status} (details are in the server log)"),
    })
}

/// The last line of ffmpeg's messages that says something, with its
/// component named plainly (`[libx264 @ 0x7f] …` → `libx264: …`), without
/// paths or more than 200 characters.
fn ffmpeg_reason(stderr: &str) -> Option<String> {
    let line = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty() && *l != "Conversion failed!")?;
    let (component, rest) = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((inside, rest)) => (inside.split(" @ ").next().map(|name| format!("{name}: ")), rest),
        None => (None, line),
    };
    let words: Vec<&str> = rest
        .split_whitespace()
        .map(|w| match (w.contains('/') || w.contains('\\'), w.ends_with(':')) {
            (true, true) => "(the file):",
            (true, false) => "(the file)",
            _ => w,
        })
        .collect();
    let reason: String = format!("{}{}", component.unwrap_or_default(), words.join(" ")).chars().take(200).collect();
    (!reason.trim().is_empty()).then_some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpegs_reason_is_kept_and_paths_are_not() {
        let stderr = "[matroska,webm @ 0x55d1c0] EBML header parsing failed\n\
                      /srv/cinemesh/data/uploads/tus/abc: Invalid data found when processing input\n";
        assert_eq!(ffmpeg_reason(stderr).as_deref(), Some("(the file): Invalid data found when processing input"));
        let stderr = "[libx264 @ 0x7f] height not divisible by 2 (853x479)\nConversion failed!\n";
        assert_eq!(ffmpeg_reason(stderr).as_deref(), Some("libx264: height not divisible by 2 (853x479)"));
        assert_eq!(ffmpeg_reason("\n  \nConversion failed!\n"), None);
        assert_eq!(ffmpeg_reason(&"x".repeat(500)).map(|r| r.len()), Some(200));
    }

    #[test]
    fn a_missing_program_is_named_without_its_folder() {
        let err = FfmpegTools::missing(Path::new("/opt/media/bin/ffprobe"), &"not found");
        assert!(matches!(&err, IngestError::FfmpegMissing { tool } if tool == "ffprobe"), "{err:?}");
        assert!(!err.to_string().contains("/opt"), "{err}");
    }
}
