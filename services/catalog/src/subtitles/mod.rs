//! Subtitle files added beside a movie (SubRip, WebVTT, ASS/SSA): read in
//! whatever encoding they came in, checked cue by cue, and written out as
//! clean WebVTT. A file that does not read gets a coded error naming the
//! line where it stops making sense; nothing of it is kept.

mod ass;
mod decode;
mod srt;
mod vtt;

pub use vtt::write_webvtt;

/// A subtitle file larger than this is refused: a feature film's is 50-150 kB.
pub const MAX_SUBTITLE_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Cues one file may hold.
pub const MAX_CUES: usize = 20_000;
/// Characters of one cue's text.
pub const MAX_CUE_CHARS: usize = 1_000;

/// One cue, ready for WebVTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    pub start_ms: i64,
    pub end_ms: i64,
    /// WebVTT cue text: `&`, `<` and `>` escaped, only `<i>`, `<b>` and `<u>` as tags.
    pub text: String,
    /// Placed at the top of the picture (an ASS sign aligned there).
    pub top: bool,
}

/// The formats a subtitle file may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    SubRip,
    WebVtt,
    Ass,
}

impl SubtitleFormat {
    /// By file extension (`srt`, `vtt`, `ass`, `ssa`), case-insensitive.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension.to_ascii_lowercase().as_str() {
            "srt" => Some(Self::SubRip),
            "vtt" => Some(Self::WebVtt),
            "ass" | "ssa" => Some(Self::Ass),
            _ => None,
        }
    }

    /// By the text itself, for a file whose name says nothing.
    pub fn sniff(text: &str) -> Option<Self> {
        let start = text.trim_start_matches('\u{feff}').trim_start();
        if start.starts_with("WEBVTT") {
            Some(Self::WebVtt)
        } else if start.starts_with("[Script Info]") || start.contains("\n[Events]") {
            Some(Self::Ass)
        } else if start.lines().take(3).any(|line| line.contains("-->")) {
            Some(Self::SubRip)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubtitleError {
    #[error("the subtitle file is {0} bytes; at most {max} are accepted", max = MAX_SUBTITLE_FILE_BYTES)]
    TooLarge(usize),
    #[error("the subtitle file is empty")]
    Empty,
    #[error("the subtitle file is not text (it holds binary data near byte {0})")]
    NotText(usize),
    #[error(
        "unknown text encoding {0:?}: name one such as utf-8, windows-1252, iso-8859-15, windows-1251 or shift_jis"
    )]
    UnknownEncoding(String),
    #[error("the file is neither UTF-8 nor {0}: name the encoding it was saved in")]
    Undecodable(&'static str),
    #[error("not a subtitle format Cinemesh reads: SubRip (.srt), WebVTT (.vtt) or ASS/SSA (.ass, .ssa)")]
    UnknownFormat,
    #[error("line {line}: {problem}")]
    Malformed { line: usize, problem: String },
    #[error("the file has no cues")]
    NoCues,
    #[error("the file has more than {max} cues", max = MAX_CUES)]
    TooManyCues,
}

impl SubtitleError {
    /// The stable code clients and tests switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "subtitle_too_large",
            Self::Empty | Self::NoCues => "subtitle_empty",
            Self::NotText(_) => "subtitle_not_text",
            Self::UnknownEncoding(_) => "unknown_encoding",
            Self::Undecodable(_) => "subtitle_encoding",
            Self::UnknownFormat => "unknown_subtitle_format",
            Self::Malformed { .. } => "subtitle_malformed",
            Self::TooManyCues => "too_many_cues",
        }
    }

    fn at(line: usize, problem: impl Into<String>) -> Self {
        Self::Malformed { line, problem: problem.into() }
    }
}

/// A subtitle file read and checked: its cues, and how its bytes were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSubtitles {
    pub cues: Vec<Cue>,
    pub encoding: &'static str,
}

/// Reads a subtitle file. `format`: from its name, if it has one that says;
/// `language`: its BCP 47 tag, which names the legacy encoding to read it in
/// when it is not UTF-8 (see `decode`), unless `encoding` names one.
pub fn read(
    bytes: &[u8],
    format: Option<SubtitleFormat>,
    language: Option<&str>,
    encoding: Option<&str>,
) -> Result<ReadSubtitles, SubtitleError> {
    if bytes.len() > MAX_SUBTITLE_FILE_BYTES {
        return Err(SubtitleError::TooLarge(bytes.len()));
    }
    if bytes.is_empty() {
        return Err(SubtitleError::Empty);
    }
    let (text, encoding) = decode::decode(bytes, language, encoding)?;
    let format = format.or_else(|| SubtitleFormat::sniff(&text)).ok_or(SubtitleError::UnknownFormat)?;
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n").replace('\r', "\n");
    let mut cues = match format {
        SubtitleFormat::SubRip => srt::parse(&text)?,
        SubtitleFormat::WebVtt => vtt::parse(&text)?,
        SubtitleFormat::Ass => ass::parse(&text)?,
    };
    if cues.is_empty() {
        return Err(SubtitleError::NoCues);
    }
    if cues.len() > MAX_CUES {
        return Err(SubtitleError::TooManyCues);
    }
    // Overlapping cues are kept (two people talking): players stack them.
    cues.sort_by_key(|cue| (cue.start_ms, cue.end_ms));
    Ok(ReadSubtitles { cues, encoding })
}

/// `h:mm:ss.xxx` (or `,xxx`, or centiseconds for ASS) to ms, or `None`.
fn parse_time(text: &str, decimal: char) -> Option<i64> {
    let text = text.trim();
    let (clock, fraction) = text.rsplit_once(decimal)?;
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) || fraction.is_empty() || fraction.len() > 3 {
        return None;
    }
    // Hours have at most five digits (11 years): a longer number is no time, and would overflow.
    let number = |s: &str, digits: usize| -> Option<i64> {
        (!s.is_empty() && s.len() <= digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (hours, minutes, seconds) = match parts.as_slice() {
        [h, m, s] => (number(h, 5)?, number(m, 2)?, number(s, 2)?),
        [m, s] => (0, number(m, 2)?, number(s, 2)?),
        _ => return None,
    };
    if minutes > 59 || seconds > 59 {
        return None;
    }
    let fraction_ms = number(fraction, 3)? * 10_i64.pow(3 - fraction.len() as u32);
    Some(((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction_ms)
}

/// Cue text as WebVTT wants it: `<i>`, `<b>`, `<u>` (and their ends) kept,
/// every other tag dropped, `&`, `<` and `>` escaped, control characters out.
fn clean_cue_text(text: &str) -> String {
    const KEPT: &[&str] = &["i", "b", "u", "/i", "/b", "/u"];
    /// A tag is at most this long, `<` and `>` included: the search for its
    /// end stops there, so a cue of a million `<` costs a million steps.
    const MAX_TAG_BYTES: usize = 64;
    // Past what is kept nothing is read (a character escaped may grow to five).
    let text = text.char_indices().nth(MAX_CUE_CHARS * 2).map_or(text, |(end, _)| &text[..end]);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        push_escaped(&mut out, &rest[..open]);
        let after = &rest[open..];
        // `>` is one byte: where it is found is a character boundary.
        let window = &after.as_bytes()[..after.len().min(MAX_TAG_BYTES)];
        match window.iter().position(|&b| b == b'>') {
            // A tag starts with its name (`<i>`, `</font>`): `a < b` is text.
            Some(close)
                if !after[1..close].contains('<')
                    && after[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') =>
            {
                let tag = after[1..close].trim().to_ascii_lowercase();
                let name = tag.split_whitespace().next().unwrap_or_default();
                if KEPT.contains(&name) {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str("&lt;");
                rest = &after[1..];
            }
        }
    }
    push_escaped(&mut out, rest);
    let lines: Vec<String> = out
        .lines()
        .map(|line| line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("\n").chars().take(MAX_CUE_CHARS).collect()
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_every_form_and_nonsense_does_not() {
        assert_eq!(parse_time("01:02:03,456", ','), Some(3_723_456));
        assert_eq!(parse_time("02:03.456", '.'), Some(123_456));
        assert_eq!(parse_time("0:00:05.20", '.'), Some(5_200), "ASS centiseconds");
        for bad in [
            "-00:00:01,000",
            "00:61:00,000",
            "00:00:01",
            "aa:00:01,000",
            "00:00:01,1234",
            "",
            "999999999999999999:00:00,000",
            "00:000:01,000",
        ] {
            assert_eq!(parse_time(bad, ','), None, "{bad}");
        }
    }

    #[test]
    fn cue_text_keeps_styling_and_nothing_that_could_be_markup() {
        assert_eq!(clean_cue_text("<i>Hi</i> <font color=\"red\">there</font>"), "<i>Hi</i> there");
        assert_eq!(clean_cue_text("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(clean_cue_text("<script>alert(1)</script>"), "alert(1)");
        assert_eq!(clean_cue_text("bell\u{7}\n\n second "), "bell\nsecond");
        assert_eq!(clean_cue_text("é<i>à</i>"), "é<i>à</i>", "multi-byte text around tags");
        // Not a speed target: a search that grew with the square of the cue took
        // about 20 minutes here, a linear one takes milliseconds.
        let started = std::time::Instant::now();
        let cleaned = clean_cue_text(&"<".repeat(5_000_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(cleaned.chars().count(), MAX_CUE_CHARS, "a cue's text is capped");
    }

    #[test]
    fn formats_are_known_by_name_or_by_their_text() {
        assert_eq!(SubtitleFormat::from_extension("SRT"), Some(SubtitleFormat::SubRip));
        assert_eq!(SubtitleFormat::from_extension("sub"), None);
        assert_eq!(SubtitleFormat::sniff("\u{feff}WEBVTT\n\n"), Some(SubtitleFormat::WebVtt));
        assert_eq!(SubtitleFormat::sniff("[Script Info]\nTitle: x"), Some(SubtitleFormat::Ass));
        assert_eq!(SubtitleFormat::sniff("1\n00:00:01,000 --> 00:00:02,000\nx"), Some(SubtitleFormat::SubRip));
        assert_eq!(SubtitleFormat::sniff("hello"), None);
    }

    #[test]
    fn too_large_empty_and_binary_files_are_refused_with_their_codes() {
        let code = |bytes: &[u8]| read(bytes, Some(SubtitleFormat::SubRip), None, None).unwrap_err().code();
        assert_eq!(code(&vec![b'a'; MAX_SUBTITLE_FILE_BYTES + 1]), "subtitle_too_large");
        assert_eq!(code(b""), "subtitle_empty");
        assert_eq!(code(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "subtitle_not_text");
        assert_eq!(code(b"1\n00:00:02,000 --> 00:00:01,000\nbackwards\n"), "subtitle_malformed");
        assert_eq!(read(b"just words", None, None, None).unwrap_err().code(), "unknown_subtitle_format");
    }
}
