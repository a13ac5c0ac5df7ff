//! The ffmpeg run that packages a source into HLS: every rung of the ladder in
//! one pass (the source is decoded once), keyframes forced every 2 s on the
//! same timestamps in every rendition so segment boundaries line up, 2 s
//! MPEG-TS segments. A source with one audio track gets it muxed into each
//! video rendition; one with several gets each as an audio-only rendition of
//! its own, cut at the same 2 s boundaries, beside video-only renditions.
//! The master playlist ffmpeg writes is read back and replaced (see
//! `master.rs`): it names tracks `audio_2` and knows nothing of subtitles.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::ladder::Rung;
use super::probe::SourceInfo;
use super::source::SourceInput;
use super::tracks::TrackPlan;
use super::{FfmpegTools, IngestError};

/// Target segment length. Every segment but the last is exactly this long.
pub const SEGMENT_SECONDS: u32 = 2;
pub const AUDIO_KBPS: u32 = 128;
/// Every audio track is served as stereo: what every browser plays.
pub const AUDIO_CHANNELS: u32 = 2;
/// Bytes of ffmpeg's error output kept for the log.
const STDERR_TAIL_BYTES: usize = 4096;

/// Progress of a running encode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeProgress {
    /// 0.0 to 1.0.
    pub fraction: f64,
    /// Estimated time left, once enough has been done to estimate.
    pub eta: Option<Duration>,
}

/// The arguments of the packaging run, writing into `out_dir`.
pub fn hls_args(
    tools: &FfmpegTools,
    input: SourceInput<'_>,
    info: &SourceInfo,
    rungs: &[Rung],
    tracks: &TrackPlan,
    out_dir: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"].map(OsString::from).to_vec();
    args.extend(input.args());
    if !info.has_audio() {
        // A silent track keeps every movie shaped alike for the players.
        args.extend(["-f", "lavfi", "-t"].map(OsString::from));
        args.push(format!("{:.3}", info.duration_ms as f64 / 1000.0).into());
        args.extend(["-i", "anullsrc=channel_layout=stereo:sample_rate=48000"].map(OsString::from));
    }
    let split = rungs.iter().enumerate().map(|(i, _)| format!("[s{i}]")).collect::<String>();
    let scales =
        rungs.iter().enumerate().map(|(i, r)| format!(";[s{i}]scale=-2:{}[v{i}]", r.height)).collect::<String>();
    args.push("-filter_complex".into());
    args.push(format!("[0:v]split={}{split}{scales}", rungs.len()).into());
    for i in 0..rungs.len() {
        args.extend(["-map".into(), OsString::from(format!("[v{i}]"))]);
    }
    if tracks.separate_audio() {
        for track in &tracks.audio {
            args.extend(["-map".into(), OsString::from(format!("0:a:{}", track.source))]);
        }
    } else {
        let audio_input = match tracks.audio.first() {
            Some(track) => format!("0:a:{}", track.source),
            None => "1:a:0".to_owned(),
        };
        for _ in rungs {
            args.extend(["-map".into(), OsString::from(&audio_input)]);
        }
    }
    args.extend(
        ["-c:v", "libx264", "-preset", &tools.x264_preset, "-profile:v", "main", "-pix_fmt", "yuv420p", "-crf", "23"]
            .map(OsString::from),
    );
    for (i, rung) in rungs.iter().enumerate() {
        args.push(format!("-maxrate:v:{i}").into());
        args.push(format!("{}k", rung.max_video_kbps).into());
        args.push(format!("-bufsize:v:{i}").into());
        args.push(format!("{}k", rung.max_video_kbps * 2).into());
    }
    args.extend(
        [
            "-force_key_frames",
            &format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})"),
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            &format!("{AUDIO_KBPS}k"),
            "-ac",
            &AUDIO_CHANNELS.to_string(),
            "-f",
            "hls",
            "-hls_time",
            &SEGMENT_SECONDS.to_string(),
            "-hls_playlist_type",
            "vod",
            "-hls_flags",
            "independent_segments",
            "-master_pl_name",
            "master.m3u8",
            "-var_stream_map",
        ]
        .map(OsString::from),
    );
    args.push(stream_map(rungs, tracks).into());
    args.push("-hls_segment_filename".into());
    args.push(out_dir.join("%v").join("seg_%05d.ts").into());
    args.extend(["-progress", "pipe:1", "-nostats"].map(OsString::from));
    args.push(out_dir.join("%v").join("index.m3u8").into());
    args
}

/// ffmpeg's `-var_stream_map`: which output streams make each rendition, and its folder.
fn stream_map(rungs: &[Rung], tracks: &TrackPlan) -> String {
    let variants: Vec<String> = if tracks.separate_audio() {
        let video = rungs.iter().enumerate().map(|(i, r)| format!("v:{i},agroup:audio,name:{}", r.name()));
        let audio = tracks.audio.iter().enumerate().map(|(i, t)| format!("a:{i},agroup:audio,name:{}", t.folder));
        video.chain(audio).collect()
    } else {
        rungs.iter().enumerate().map(|(i, r)| format!("v:{i},a:{i},name:{}", r.name())).collect()
    };
    variants.join(" ")
}

/// Runs ffmpeg with `args`, reporting progress against `duration_ms`.
pub async fn run_ffmpeg(
    tools: &FfmpegTools,
    args: Vec<OsString>,
    duration_ms: i64,
    on_progress: &mut (dyn FnMut(EncodeProgress) + Send),
) -> Result<(), IngestError> {
    let mut child = tokio::process::Command::new(&tools.ffmpeg)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| FfmpegTools::missing(&tools.ffmpeg, &e))?;
    let stderr_task = stderr_tail(child.stderr.take());
    let started = Instant::now();
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(fraction) = progress_fraction(&line, duration_ms) {
                let elapsed = started.elapsed();
                let eta = (fraction > 0.02).then(|| elapsed.mul_f64((1.0 - fraction) / fraction));
                on_progress(EncodeProgress { fraction, eta });
            }
        }
    }
    let status = child.wait().await.map_err(|e| IngestError::EncodeFailed(format!("packaging: {e}")))?;
    let stderr_tail = stderr_task.await.unwrap_or_default();
    if !status.success() {
        return Err(super::tools::ffmpeg_failure("packaging", status, &stderr_tail));
    }
    on_progress(EncodeProgress { fraction: 1.0, eta: Some(Duration::ZERO) });
    Ok(())
}

/// The last `STDERR_TAIL_BYTES` a child writes to `stderr`, read as it runs
/// so that a chatty child never blocks on a full pipe.
pub fn stderr_tail(stderr: Option<tokio::process::ChildStderr>) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut tail = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > STDERR_TAIL_BYTES {
                    tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                }
            }
        }
        String::from_utf8_lossy(&tail).trim().to_owned()
    })
}

/// `out_time_us=12345678` → the fraction of `duration_ms` done.
fn progress_fraction(line: &str, duration_ms: i64) -> Option<f64> {
    let micros: i64 = line.strip_prefix("out_time_us=")?.trim().parse().ok()?;
    if duration_ms <= 0 || micros < 0 {
        return None;
    }
    Some((micros as f64 / 1000.0 / duration_ms as f64).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_give_fractions() {
        assert_eq!(progress_fraction("out_time_us=5000000", 10_000), Some(0.5));
        assert_eq!(progress_fraction("out_time_us=N/A", 10_000), None);
        assert_eq!(progress_fraction("frame=12", 10_000), None);
        assert_eq!(progress_fraction("out_time_us=20000000", 10_000), Some(1.0));
    }

    #[test]
    fn args_map_one_video_and_one_audio_per_rung() {
        let tools = FfmpegTools::default();
        let info = SourceInfo {
            format: "mov",
            width: 1280,
            height: 720,
            duration_ms: 20_000,
            audio: vec![],
            subtitles: vec![],
        };
        let rungs = super::super::ladder::ladder_for(720).unwrap_or_default();
        let input = SourceInput { path: Path::new("in.mp4"), format: "mov" };
        let tracks = super::super::tracks::plan(&info);
        let args: Vec<String> = hls_args(&tools, input, &info, &rungs, &tracks, Path::new("/out"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(joined.contains("v:0,a:0,name:720p v:1,a:1,name:480p v:2,a:2,name:360p v:3,a:3,name:240p"), "{joined}");
        assert!(joined.contains("anullsrc"), "a silent track is added when the source has none");
        assert_eq!(args.iter().filter(|a| *a == "1:a:0").count(), 4);
        assert!(joined.contains("expr:gte(t,n_forced*2)"));
        assert!(
            joined.starts_with("-hide_banner -nostdin -loglevel error -y -protocol_whitelist file -f mov -i in.mp4 ")
        );
    }

    #[test]
    fn several_audio_tracks_become_audio_renditions_beside_video_only_ones() {
        use super::super::probe::StreamTags;
        let tools = FfmpegTools::default();
        let tags = |language: &str| StreamTags {
            codec: "aac".into(),
            language: Some(language.into()),
            ..StreamTags::default()
        };
        let info = SourceInfo {
            format: "matroska",
            width: 640,
            height: 360,
            duration_ms: 10_000,
            audio: vec![tags("eng"), tags("fre")],
            subtitles: vec![],
        };
        let rungs = super::super::ladder::ladder_for(360).unwrap_or_default();
        let tracks = super::super::tracks::plan(&info);
        let input = SourceInput { path: Path::new("in.mkv"), format: "matroska" };
        let joined = hls_args(&tools, input, &info, &rungs, &tracks, Path::new("/out"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            joined.contains(
                "v:0,agroup:audio,name:360p v:1,agroup:audio,name:240p a:0,agroup:audio,name:audio-en a:1,agroup:audio,name:audio-fr"
            ),
            "{joined}"
        );
        assert!(joined.contains("-map 0:a:0 -map 0:a:1"), "{joined}");
        assert!(!joined.contains("anullsrc"), "{joined}");
    }
}
