//! Which audio and subtitle tracks of a source a movie gets, under which
//! folder and name, and which are left out and why.
//!
//! Every audio track is kept: a film's dubs are what a family of several
//! languages watches it for. Text subtitles become WebVTT. Image subtitles
//! (Blu-ray PGS, DVD VobSub, DVB) are pictures of text: without OCR they
//! cannot become WebVTT, so they are listed as skipped, with the reason,
//! where the uploader sees the result.

use super::language::{self, Language};
use super::probe::{SourceInfo, StreamTags};

/// Audio tracks a movie keeps at most: each is encoded, stored and served
/// apart. Past this, a source is more likely damaged than a film.
pub const MAX_AUDIO_TRACKS: usize = 8;
/// Subtitle tracks a movie keeps at most from its source.
pub const MAX_SUBTITLE_TRACKS: usize = 24;
/// Longest name kept from a track's title, in characters.
const MAX_TITLE_CHARS: usize = 64;

/// Subtitle codecs ffmpeg converts to WebVTT as text.
const TEXT_SUBTITLES: &[&str] = &[
    "subrip",
    "srt",
    "ass",
    "ssa",
    "mov_text",
    "webvtt",
    "text",
    "microdvd",
    "subviewer",
    "subviewer1",
    "sami",
    "realtext",
    "mpl2",
    "pjs",
    "vplayer",
    "jacosub",
    "stl",
];
/// Subtitle codecs that carry pictures.
const IMAGE_SUBTITLES: &[&str] = &["hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub", "dvb_teletext"];

/// A track the movie keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Its position among the source's streams of its kind (`0:a:N`, `0:s:N`).
    pub source: usize,
    /// Folder in the movie's media folder, e.g. `audio-fr`, `subs-en-2`.
    pub folder: String,
    /// BCP 47 tag; `None` when the source does not say.
    pub language: Option<String>,
    /// For people: "Français", "English: Commentary", "Unknown 2".
    pub label: String,
    pub default: bool,
    pub forced: bool,
    /// ffmpeg's name for its codec in the source.
    pub codec: String,
}

/// A track the movie does not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTrack {
    pub kind: TrackKind,
    pub source: usize,
    pub codec: String,
    pub language: Option<String>,
    /// Stable code: `image_subtitles`, `unsupported_subtitles`, `too_many_tracks`.
    pub code: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Subtitles,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Subtitles => "subtitles",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackPlan {
    pub audio: Vec<Track>,
    pub subtitles: Vec<Track>,
    pub skipped: Vec<SkippedTrack>,
}

impl TrackPlan {
    /// Audio goes into its own renditions only when there is a choice to
    /// make: a movie with one track keeps it muxed into each video segment,
    /// so each 2 s of the movie is one fetch and one swarm, as before.
    pub fn separate_audio(&self) -> bool {
        self.audio.len() > 1
    }
}

pub fn plan(info: &SourceInfo) -> TrackPlan {
    let mut plan = TrackPlan::default();
    // Audio and subtitles are chosen in separate menus, and their folders
    // have different prefixes: each kind hands out its own names.
    let (mut audio_names, mut subtitle_names) = (Names::default(), Names::default());
    let default_audio = info.audio.iter().position(|a| a.default).unwrap_or(0);
    for (source, tags) in info.audio.iter().enumerate() {
        if plan.audio.len() == MAX_AUDIO_TRACKS {
            plan.skipped.push(too_many(TrackKind::Audio, source, tags, MAX_AUDIO_TRACKS));
            continue;
        }
        plan.audio.push(audio_names.track("audio", source, tags, source == default_audio));
    }
    for (source, tags) in info.subtitles.iter().enumerate() {
        let codec = tags.codec.as_str();
        let language = language::normalize(tags.language.as_deref()).map(|l| l.tag);
        if IMAGE_SUBTITLES.contains(&codec) {
            plan.skipped.push(SkippedTrack {
                kind: TrackKind::Subtitles,
                source,
                codec: codec.to_owned(),
                language,
                code: "image_subtitles",
                reason: format!(
                    "{codec} subtitles are pictures of text; they cannot become WebVTT without OCR. \
                     Add the same subtitles as a .srt, .ass or .vtt file instead"
                ),
            });
        } else if !TEXT_SUBTITLES.contains(&codec) {
            plan.skipped.push(SkippedTrack {
                kind: TrackKind::Subtitles,
                source,
                codec: codec.to_owned(),
                language,
                code: "unsupported_subtitles",
                reason: format!("{codec} subtitles are not a text format Cinemesh converts"),
            });
        } else if plan.subtitles.len() == MAX_SUBTITLE_TRACKS {
            plan.skipped.push(too_many(TrackKind::Subtitles, source, tags, MAX_SUBTITLE_TRACKS));
        } else {
            // Subtitles are off until someone picks them: a source's default
            // flag is often just its first track. Forced ones are kept as such.
            plan.subtitles.push(subtitle_names.track("subs", source, tags, false));
        }
    }
    plan
}

fn too_many(kind: TrackKind, source: usize, tags: &StreamTags, max: usize) -> SkippedTrack {
    SkippedTrack {
        kind,
        source,
        codec: tags.codec.clone(),
        language: language::normalize(tags.language.as_deref()).map(|l| l.tag),
        code: "too_many_tracks",
        reason: format!("a movie keeps at most {max} {} tracks", kind.as_str()),
    }
}

/// Hands out folders and labels of one kind of track, each once.
#[derive(Default)]
struct Names {
    folders: Vec<String>,
    labels: Vec<String>,
    unknown: usize,
}

impl Names {
    fn track(&mut self, prefix: &str, source: usize, tags: &StreamTags, default: bool) -> Track {
        let language = language::normalize(tags.language.as_deref());
        let stem = format!("{prefix}-{}", language.as_ref().map_or("und".into(), |l| l.tag.to_ascii_lowercase()));
        let folder = unique(&self.folders, &stem, "-");
        self.folders.push(folder.clone());
        let label = self.label(language.as_ref(), tags.title.as_deref());
        let codec = tags.codec.clone();
        Track { source, folder, language: language.map(|l| l.tag), label, default, forced: tags.forced, codec }
    }

    fn label(&mut self, language: Option<&Language>, title: Option<&str>) -> String {
        let title = title.map(clean_title).filter(|t| !t.is_empty());
        let base = match (language, title) {
            (Some(language), Some(title)) if title.to_lowercase().contains(&language.name.to_lowercase()) => title,
            (Some(language), Some(title)) => format!("{}: {title}", language.name),
            (Some(language), None) => language.name.clone(),
            (None, Some(title)) => title,
            (None, None) => {
                self.unknown += 1;
                format!("Unknown {}", self.unknown)
            }
        };
        let label = unique(&self.labels, &base, " ");
        self.labels.push(label.clone());
        label
    }
}

/// `stem`, or `stem{sep}2`, `stem{sep}3`... whichever is not in `taken`.
pub(crate) fn unique(taken: &[String], stem: &str, separator: &str) -> String {
    (1..)
        .map(|n| if n == 1 { stem.to_owned() } else { format!("{stem}{separator}{n}") })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_default()
}

/// A title as people may read it: no control or formatting characters,
/// whitespace runs made one space, at most `MAX_TITLE_CHARS` characters. A
/// double quote becomes a single one: a playlist's NAME cannot hold it, and
/// players find a track by the name the playlist gives it.
pub fn clean_title(raw: &str) -> String {
    let kept: String = raw
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible_format(c) {
                ' '
            } else if c == '"' {
                '\''
            } else {
                c
            }
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_TITLE_CHARS).collect()
}

/// Bidirectional overrides and zero-width characters: a name made of them
/// can look like another track's, or reorder the text around it.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(codec: &str, language: Option<&str>, title: Option<&str>) -> StreamTags {
        StreamTags {
            codec: codec.into(),
            language: language.map(Into::into),
            title: title.map(Into::into),
            ..StreamTags::default()
        }
    }

    fn info(audio: Vec<StreamTags>, subtitles: Vec<StreamTags>) -> SourceInfo {
        SourceInfo { format: "matroska", width: 640, height: 360, duration_ms: 10_000, audio, subtitles }
    }

    #[test]
    fn every_audio_track_is_kept_with_its_language_and_the_source_default() {
        let mut french = stream("ac3", Some("fre"), None);
        french.default = true;
        let plan = plan(&info(
            vec![stream("aac", Some("eng"), Some("English")), french, stream("aac", Some("eng"), Some("Commentary"))],
            vec![],
        ));
        let got: Vec<_> = plan.audio.iter().map(|t| (t.folder.as_str(), t.label.as_str(), t.default)).collect();
        assert_eq!(
            got,
            [
                ("audio-en", "English", false),
                ("audio-fr", "Français", true),
                ("audio-en-2", "English: Commentary", false)
            ]
        );
        assert!(plan.separate_audio());
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn untagged_tracks_are_unknown_1_and_2_and_one_track_stays_muxed() {
        let plan = plan(&info(vec![stream("aac", None, None), stream("aac", Some("und"), None)], vec![]));
        let labels: Vec<_> = plan.audio.iter().map(|t| (t.folder.as_str(), t.label.as_str())).collect();
        assert_eq!(labels, [("audio-und", "Unknown 1"), ("audio-und-2", "Unknown 2")]);
        assert!(plan.audio[0].default, "with no default flag, the first");
        assert!(!super::plan(&info(vec![stream("aac", None, None)], vec![])).separate_audio());
        let both = super::plan(&info(vec![stream("aac", None, None)], vec![stream("subrip", None, None)]));
        assert_eq!(both.subtitles[0].label, "Unknown 1", "each menu counts its own unknown tracks");
    }

    #[test]
    fn image_and_unknown_subtitles_are_skipped_with_a_reason_and_text_ones_kept_off() {
        let mut forced = stream("subrip", Some("eng"), Some("Forced"));
        forced.forced = true;
        forced.default = true;
        let plan = plan(&info(
            vec![],
            vec![
                stream("subrip", Some("fre"), None),
                stream("hdmv_pgs_subtitle", Some("ger"), None),
                forced,
                stream("eia_608", None, None),
                stream("ass", Some("fra"), Some("Français")),
            ],
        ));
        let kept: Vec<_> = plan.subtitles.iter().map(|t| (t.source, t.folder.as_str(), t.label.as_str())).collect();
        assert_eq!(
            kept,
            [(0, "subs-fr", "Français"), (2, "subs-en", "English: Forced"), (4, "subs-fr-2", "Français 2")]
        );
        assert!(plan.subtitles.iter().all(|t| !t.default), "subtitles start off");
        assert!(plan.subtitles[1].forced);
        let skipped: Vec<_> = plan.skipped.iter().map(|s| (s.source, s.code, s.language.as_deref())).collect();
        assert_eq!(skipped, [(1, "image_subtitles", Some("de")), (3, "unsupported_subtitles", None)]);
        assert!(plan.skipped[0].reason.contains("OCR"), "{}", plan.skipped[0].reason);
    }

    #[test]
    fn tracks_past_the_limit_are_skipped() {
        let audio = (0..MAX_AUDIO_TRACKS + 2).map(|_| stream("aac", Some("eng"), None)).collect();
        let plan = plan(&info(audio, vec![]));
        assert_eq!(plan.audio.len(), MAX_AUDIO_TRACKS);
        assert_eq!(plan.skipped.iter().filter(|s| s.code == "too_many_tracks").count(), 2);
        assert_eq!(plan.audio[7].folder, "audio-en-8");
    }

    #[test]
    fn titles_lose_control_and_invisible_characters_and_are_capped() {
        assert_eq!(clean_title("Dir\u{1b}[31mector's\n\tcut\u{202E}"), "Dir [31mector's cut");
        assert_eq!(clean_title("\u{0}\u{7}"), "");
        assert_eq!(clean_title("The \"director's\" cut"), "The 'director's' cut");
        assert_eq!(clean_title(&"é".repeat(100)).chars().count(), MAX_TITLE_CHARS);
        let plan = plan(&info(vec![stream("aac", None, Some("\u{0}\u{8}"))], vec![]));
        assert_eq!(plan.audio[0].label, "Unknown 1", "a title of control characters says nothing");
    }
}
