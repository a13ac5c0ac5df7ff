//! The master playlist, written from the catalog's records of a movie: its
//! video renditions, and its audio and subtitle tracks as alternate
//! renditions (`EXT-X-MEDIA`) with their language, name and default.
//!
//! ffmpeg writes a master too, but it names audio tracks `audio_2`, leaves
//! out their channels and knows nothing of subtitles added afterwards. Ingest
//! reads the variants' bandwidth and codecs from it, then replaces it with
//! this one; adding or removing a subtitle later writes this one again.

use std::fmt::Write;

use crate::model::{Rendition, RenditionKind};

pub const AUDIO_GROUP: &str = "audio";
pub const SUBTITLE_GROUP: &str = "subs";
/// Each subtitle track is one WebVTT file, the single segment of its playlist.
pub const SUBTITLE_FILE: &str = "subtitles.vtt";

/// The master playlist of a movie's renditions (video best first, as given).
pub fn master_playlist(renditions: &[Rendition]) -> String {
    let of = |kind| renditions.iter().filter(move |r| r.kind == kind);
    let has_audio = of(RenditionKind::Audio).next().is_some();
    let has_subtitles = of(RenditionKind::Subtitles).next().is_some();
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for track in of(RenditionKind::Audio) {
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\",NAME=\"{}\",{}DEFAULT={},AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}/index.m3u8\"",
            quoted(&track.label),
            language_attribute(track),
            yes_no(track.is_default),
            track.channels,
            track.name
        );
    }
    for track in of(RenditionKind::Subtitles) {
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{SUBTITLE_GROUP}\",NAME=\"{}\",{}DEFAULT=NO,AUTOSELECT={},FORCED={},URI=\"{}/index.m3u8\"",
            quoted(&track.label),
            language_attribute(track),
            yes_no(track.language.is_some()),
            yes_no(track.forced),
            track.name
        );
    }
    for video in of(RenditionKind::Video) {
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\"",
            video.bandwidth_bps, video.width, video.height, video.codecs
        );
        if has_audio {
            let _ = write!(out, ",AUDIO=\"{AUDIO_GROUP}\"");
        }
        if has_subtitles {
            let _ = write!(out, ",SUBTITLES=\"{SUBTITLE_GROUP}\"");
        }
        let _ = writeln!(out, "\n{}/index.m3u8", video.name);
    }
    out
}

/// The media playlist of a subtitle track: its one WebVTT file, as long as the movie.
pub fn subtitle_playlist(duration_ms: i64) -> String {
    let seconds = duration_ms.max(1) as f64 / 1000.0;
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXTINF:{seconds:.3},\n{SUBTITLE_FILE}\n#EXT-X-ENDLIST\n",
        seconds.ceil() as i64
    )
}

fn language_attribute(track: &Rendition) -> String {
    track.language.as_deref().map(|tag| format!("LANGUAGE=\"{}\",", quoted(tag))).unwrap_or_default()
}

fn yes_no(value: bool) -> &'static str {
    if value { "YES" } else { "NO" }
}

/// A quoted-string attribute may hold neither a double quote nor a line break (RFC 8216 4.2).
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '"' {
                '\''
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(name: &str, height: i64) -> Rendition {
        Rendition {
            name: name.into(),
            width: height * 16 / 9,
            height,
            bandwidth_bps: height * 3000,
            codecs: "avc1.4d401e,mp4a.40.2".into(),
            segment_count: 5,
            ..Rendition::default()
        }
    }

    fn track(kind: RenditionKind, name: &str, language: Option<&str>, label: &str) -> Rendition {
        Rendition {
            name: name.into(),
            kind,
            language: language.map(Into::into),
            label: label.into(),
            channels: if kind == RenditionKind::Audio { 2 } else { 0 },
            ..Rendition::default()
        }
    }

    #[test]
    fn one_muxed_audio_track_gives_plain_variants() {
        let text = master_playlist(&[video("360p", 360), video("240p", 240)]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1080000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n360p/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=720000,RESOLUTION=426x240,CODECS=\"avc1.4d401e,mp4a.40.2\"\n240p/index.m3u8\n"
        );
    }

    #[test]
    fn tracks_become_alternate_renditions_that_every_variant_names() {
        let mut english = track(RenditionKind::Audio, "audio-en", Some("en"), "English");
        english.is_default = true;
        let mut forced = track(RenditionKind::Subtitles, "subs-en", Some("en"), "English \"forced\"\n");
        forced.forced = true;
        let text = master_playlist(&[
            video("360p", 360),
            english,
            track(RenditionKind::Audio, "audio-fr", Some("fr"), "Français"),
            forced,
            track(RenditionKind::Subtitles, "subs-und", None, "Unknown 1"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3],
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio-en/index.m3u8\""
        );
        assert!(lines[4].contains("NAME=\"Français\",LANGUAGE=\"fr\",DEFAULT=NO"), "{}", lines[4]);
        assert_eq!(
            lines[5],
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English 'forced' \",LANGUAGE=\"en\",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI=\"subs-en/index.m3u8\""
        );
        assert!(lines[6].contains("NAME=\"Unknown 1\",DEFAULT=NO,AUTOSELECT=NO,FORCED=NO"), "{}", lines[6]);
        assert!(lines[7].ends_with(",AUDIO=\"audio\",SUBTITLES=\"subs\""), "{}", lines[7]);
        assert_eq!(lines[8], "360p/index.m3u8");
    }

    #[test]
    fn a_subtitle_playlist_is_one_file_as_long_as_the_movie() {
        let text = subtitle_playlist(10_040);
        assert!(text.contains("#EXT-X-TARGETDURATION:11\n"), "{text}");
        assert!(text.contains("#EXTINF:10.040,\nsubtitles.vtt\n#EXT-X-ENDLIST"), "{text}");
    }
}
