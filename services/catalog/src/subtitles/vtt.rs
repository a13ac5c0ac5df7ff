//! WebVTT in and out. In: a file someone made, checked cue by cue (cue
//! settings other than a `line` near the top are dropped). Out: the file
//! the page reads (`web/src/player/tracks/webvtt.ts`).

use std::fmt::Write;

use super::srt::timing_of;
use super::{Cue, SubtitleError, clean_cue_text};

pub fn parse(text: &str) -> Result<Vec<Cue>, SubtitleError> {
    let lines: Vec<&str> = text.lines().collect();
    if !lines.first().is_some_and(|l| l.starts_with("WEBVTT")) {
        return Err(SubtitleError::at(1, "a WebVTT file starts with WEBVTT"));
    }
    let mut cues = Vec::new();
    let mut at = 1;
    while at < lines.len() {
        if lines[at].trim().is_empty() {
            at += 1;
            continue;
        }
        let mut end = at;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let block = &lines[at..end];
        let first = block[0].trim_start();
        let is_meta = ["NOTE", "STYLE", "REGION"].iter().any(|word| first.starts_with(word)) && !first.contains("-->");
        if !is_meta {
            // The timing is the block's first line, or its second after an identifier.
            let Some(offset) = block.iter().take(2).position(|l| l.contains("-->")) else {
                return Err(SubtitleError::at(at + 1, "expected a cue's timing (00:01.000 --> 00:02.000)"));
            };
            let timing = block[offset];
            let (start_ms, end_ms) = timing_of(timing, at + offset + 1)?;
            let text = clean_cue_text(&decode_entities(&block[offset + 1..].join("\n")));
            if !text.is_empty() {
                cues.push(Cue { start_ms, end_ms, text, top: at_top(timing) });
            }
        }
        at = end;
    }
    Ok(cues)
}

/// WebVTT's character references, as text (cleaning escapes them again).
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lrm;", "\u{200e}")
        .replace("&rlm;", "\u{200f}")
        .replace("&amp;", "&")
}

/// `line:0`, `line:10%` and the like: placed in the upper half.
fn at_top(timing: &str) -> bool {
    timing.split_whitespace().filter_map(|s| s.strip_prefix("line:")).any(|line| {
        let line = line.split(',').next().unwrap_or_default();
        match line.strip_suffix('%') {
            Some(percent) => percent.parse::<f64>().is_ok_and(|p| p < 50.0),
            None => line.parse::<i64>().is_ok_and(|n| (0..4).contains(&n)),
        }
    })
}

/// The WebVTT file of `cues`.
pub fn write_webvtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for cue in cues {
        let _ = write!(out, "\n{} --> {}", stamp(cue.start_ms), stamp(cue.end_ms));
        if cue.top {
            out.push_str(" line:0");
        }
        let _ = write!(out, "\n{}\n", cue.text);
    }
    out
}

fn stamp(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_read_past_notes_and_identifiers_and_write_back_clean() {
        let cues = parse("WEBVTT\n\nNOTE made by hand\n\nintro\n00:01.000 --> 00:02.500 line:0 align:start\nHi &amp; <c.loud>bye</c>\n\n00:00:03.000 --> 00:00:04.000\n<b>Bold</b>\n").unwrap();
        assert_eq!(cues.len(), 2);
        assert!(cues[0].top);
        assert_eq!(cues[0].text, "Hi &amp; bye", "a reference in the source is its character, escaped again");
        assert_eq!(
            write_webvtt(&cues),
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.500 line:0\nHi &amp; bye\n\n00:00:03.000 --> 00:00:04.000\n<b>Bold</b>\n"
        );
    }

    #[test]
    fn a_file_without_the_header_or_with_a_bad_cue_names_the_line() {
        assert_eq!(
            parse("1\n00:01.000 --> 00:02.000\nx").unwrap_err().to_string(),
            "line 1: a WebVTT file starts with WEBVTT"
        );
        assert_eq!(
            parse("WEBVTT\n\n00:01.000 --> 00:0x.000\nx").unwrap_err().to_string(),
            "line 3: not a valid timing: \"00:01.000 --> 00:0x.000\""
        );
    }
}
