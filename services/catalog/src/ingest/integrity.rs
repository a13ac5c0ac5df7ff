//! A source must hold the media its container promises. An MP4 cut off after
//! its index (`moov` first, then part of `mdat`) still declares the full
//! duration: packaged as is, it would be listed as longer than anything that
//! plays, and players would stall at the cut. ffprobe reads every packet
//! (demuxing only, no decoding) and the time they span must reach the
//! declared duration.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::encode::stderr_tail;
use super::source::SourceInput;
use super::{FfmpegTools, IngestError};

/// How far the packets may fall short of the declared duration: container
/// and stream durations legitimately differ by a frame or an audio block.
pub fn tolerance_ms(declared_ms: i64) -> i64 {
    (declared_ms / 50).max(1000)
}

/// Fails with `source_truncated` when the packets end well before `declared_ms`.
pub async fn check_complete(tools: &FfmpegTools, input: SourceInput<'_>, declared_ms: i64) -> Result<(), IngestError> {
    let mut child = tokio::process::Command::new(&tools.ffprobe)
        .args(["-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0"])
        .args(input.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| FfmpegTools::missing(&tools.ffprobe, &e))?;
    let stderr = stderr_tail(child.stderr.take());
    let mut span = PacketSpan::default();
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            span.add(&line);
        }
    }
    let status = child.wait().await.map_err(|e| IngestError::NotAVideo(format!("ffprobe did not finish: {e}")))?;
    let stderr = stderr.await.unwrap_or_default();
    if !status.success() || !stderr.is_empty() {
        // A cut-off file makes the demuxer complain ("partial file"); the
        // verdict comes from the timestamps below.
        tracing::warn!(source = %input.path.display(), %status, stderr = %stderr, "ffprobe reading packets");
    }
    judge(declared_ms, span.length_ms())
}

fn judge(declared_ms: i64, decoded_ms: Option<i64>) -> Result<(), IngestError> {
    let decoded_ms = decoded_ms.unwrap_or(0);
    if decoded_ms + tolerance_ms(declared_ms) < declared_ms {
        return Err(IngestError::SourceTruncated { declared_ms, decoded_ms });
    }
    Ok(())
}

/// Earliest start and latest end of the packets of every stream, in seconds.
#[derive(Debug, Default)]
struct PacketSpan {
    start: Option<f64>,
    end: Option<f64>,
}

impl PacketSpan {
    /// One `pts_time,duration_time` line; `N/A` fields are skipped.
    fn add(&mut self, line: &str) {
        let mut fields = line.split(',').map(|f| f.trim().parse::<f64>().ok().filter(|v| v.is_finite()));
        let Some(Some(pts)) = fields.next() else {
            return;
        };
        let end = pts + fields.next().flatten().unwrap_or(0.0).max(0.0);
        self.start = Some(self.start.map_or(pts, |s| s.min(pts)));
        self.end = Some(self.end.map_or(end, |e| e.max(end)));
    }

    fn length_ms(&self) -> Option<i64> {
        Some(((self.end? - self.start?) * 1000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(lines: &[&str]) -> Option<i64> {
        let mut span = PacketSpan::default();
        lines.iter().for_each(|l| span.add(l));
        span.length_ms()
    }

    #[test]
    fn packets_span_from_the_first_start_to_the_last_end() {
        assert_eq!(span(&["0.000000,0.040000", "5.960000,0.040000", "5.990748,0.009252"]), Some(6000));
        assert_eq!(span(&["1.400000,0.040000", "N/A,0.040000", "7.360000,0.040000"]), Some(6000));
        assert_eq!(span(&["-0.021333,0.021333", "5.978667,0.021333"]), Some(6021));
        assert_eq!(span(&["", "N/A,N/A"]), None);
    }

    #[test]
    fn tolerance_is_a_second_or_two_percent() {
        assert_eq!(tolerance_ms(6_000), 1000);
        assert_eq!(tolerance_ms(600_000), 12_000);
    }

    #[test]
    fn media_ending_early_is_truncated() {
        assert!(judge(6_000, Some(5_100)).is_ok());
        assert!(judge(6_000, Some(6_400)).is_ok());
        let err = judge(6_000, Some(3_040)).unwrap_err();
        assert_eq!(err.code(), "source_truncated");
        assert_eq!(judge(6_000, None).unwrap_err().code(), "source_truncated");
    }
}
