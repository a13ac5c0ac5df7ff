//! The demo movie of the quick start: ffmpeg's test pattern with a tone and a
//! large running clock, so sync between viewers can be judged by eye.

use std::path::Path;
use std::process::Stdio;

use super::{FfmpegTools, IngestError};

const CLOCK: &str = "drawtext=text='%{pts\\:hms}':fontsize=72:fontcolor=white:box=1:boxcolor=black@0.6:\
                     boxborderw=16:x=(w-tw)/2:y=h-th-48";

/// Writes a `seconds`-long 720p clip with audio to `output` (an .mp4 path).
pub async fn generate_demo_source(tools: &FfmpegTools, output: &Path, seconds: u32) -> Result<(), IngestError> {
    tools.check().await?;
    let stderr = match encode_pattern(tools, output, seconds, Some(CLOCK)).await? {
        None => return Ok(()),
        // Without a usable font, the pattern's own small clock has to do.
        Some(stderr) if stderr.contains("font") || stderr.contains("drawtext") => {
            tracing::warn!("no usable font for the demo clock; using the test pattern's own");
            match encode_pattern(tools, output, seconds, None).await? {
                None => return Ok(()),
                Some(stderr) => stderr,
            }
        }
        Some(stderr) => stderr,
    };
    // ffmpeg's messages name files on the server; the error reaches the public
    // catalog status, so they go to the log only.
    tracing::warn!(stderr = %stderr, "ffmpeg could not make the demo clip");
    Err(IngestError::EncodeFailed("demo clip: ffmpeg failed".into()))
}

/// `Ok(None)` when the clip was written, `Ok(Some(stderr))` when ffmpeg failed.
async fn encode_pattern(
    tools: &FfmpegTools,
    output: &Path,
    seconds: u32,
    video_filter: Option<&str>,
) -> Result<Option<String>, IngestError> {
    let mut command = tokio::process::Command::new(&tools.ffmpeg);
    command
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4"])
        .args(["-t", &seconds.to_string()]);
    if let Some(filter) = video_filter {
        command.args(["-vf", filter]);
    }
    let result = command
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest"])
        .arg(output)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| FfmpegTools::missing(&tools.ffmpeg, &e))?;
    Ok((!result.status.success()).then(|| String::from_utf8_lossy(&result.stderr).trim().to_owned()))
}
