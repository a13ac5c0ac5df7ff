//! How ffmpeg and ffprobe may open a source. An upload is untrusted: some
//! ffmpeg demuxers (HLS playlists, concat lists, image sequences) read other
//! files they name, which would package another movie's segments or any file
//! on the server into a public movie. So a source is opened only through the
//! `file` protocol, only when its container is one that holds its own media,
//! and always with that container forced, so no later run can re-detect the
//! bytes as something else.

use std::ffi::OsString;
use std::path::Path;

/// Protocols a source may be read through: the file itself, nothing it names.
const PROTOCOLS: &str = "file";

/// Demuxers of self-contained audio/video containers, by the first name
/// ffmpeg gives each (`mov` covers mp4, m4a, 3gp, 3g2 and mj2; `matroska`
/// covers webm). An allow-list: a demuxer added to ffmpeg later is refused
/// until someone checks that it cannot reach beyond the file.
pub const CONTAINERS: &[&str] = &["mov", "matroska", "avi", "mpegts", "flv", "ogg", "mpeg", "asf"];

/// For people: the containers of `CONTAINERS`.
pub const CONTAINERS_FOR_PEOPLE: &str = "MP4/MOV, Matroska/WebM, AVI, MPEG-TS, FLV, Ogg, MPEG-PS or ASF/WMV";

/// The demuxer to force for ffprobe's `format_name` (e.g.
/// `mov,mp4,m4a,3gp,3g2,mj2` → `mov`), or `None` when it is not allowed.
pub fn allowed_container(format_name: &str) -> Option<&'static str> {
    let first = format_name.split(',').next().unwrap_or_default().trim();
    CONTAINERS.iter().copied().find(|c| *c == first)
}

/// ffprobe arguments for the first look at a source, before its container is
/// known: detection is limited to `CONTAINERS`, so a playlist or concat list
/// is refused before its demuxer opens anything.
pub fn detect_args(source: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-protocol_whitelist".into(), PROTOCOLS.into()];
    args.extend(["-format_whitelist".into(), CONTAINERS.join(",").into()]);
    args.extend(["-i".into(), source.into()]);
    args
}

/// A source whose container was probed and allowed.
#[derive(Debug, Clone, Copy)]
pub struct SourceInput<'a> {
    pub path: &'a Path,
    /// One of `CONTAINERS`.
    pub format: &'static str,
}

impl SourceInput<'_> {
    /// Input arguments for ffmpeg or ffprobe: `-protocol_whitelist file -f <format> -i <path>`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-protocol_whitelist".into(), PROTOCOLS.into()];
        args.extend(["-f".into(), self.format.into(), "-i".into(), self.path.into()]);
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movie_containers_are_allowed_under_their_first_name() {
        assert_eq!(allowed_container("mov,mp4,m4a,3gp,3g2,mj2"), Some("mov"));
        assert_eq!(allowed_container("matroska,webm"), Some("matroska"));
        assert_eq!(allowed_container("mpegts"), Some("mpegts"));
    }

    #[test]
    fn playlists_lists_images_and_raw_streams_are_not() {
        for name in ["hls", "concat", "image2", "png_pipe", "jpeg_pipe", "tty", "lavfi", "h264", ""] {
            assert_eq!(allowed_container(name), None, "{name}");
        }
    }

    #[test]
    fn inputs_are_read_as_local_files_of_the_probed_container() {
        let input = SourceInput { path: Path::new("in"), format: "mov" };
        let args: Vec<String> = input.args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["-protocol_whitelist", "file", "-f", "mov", "-i", "in"]);
    }
}
