//! ASS/SSA: the `[Events]` section's `Dialogue:` lines, whose fields the
//! section's `Format:` line names. Override blocks (`{\b1}`, `{\an8}`) carry
//! the styling: bold, italic and underline become WebVTT's tags, an
//! alignment at the top (`\an7`-`\an9`, SSA's `\a5`-`\a7`) places the cue
//! there, and the rest (fonts, colours, positions, karaoke, drawings) is
//! dropped with its text kept.

use super::{Cue, SubtitleError, clean_cue_text, parse_time};

pub fn parse(text: &str) -> Result<Vec<Cue>, SubtitleError> {
    let mut in_events = false;
    let mut fields: Option<Vec<String>> = None;
    let mut cues = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.starts_with('[') {
            in_events = line.eq_ignore_ascii_case("[Events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(format) = line.strip_prefix("Format:") {
            fields = Some(format.split(',').map(|f| f.trim().to_ascii_lowercase()).collect());
        } else if let Some(dialogue) = line.strip_prefix("Dialogue:") {
            let Some(fields) = &fields else {
                return Err(SubtitleError::at(number, "a Dialogue line before the [Events] section's Format line"));
            };
            // The text is the last field, and may hold commas itself.
            let values: Vec<&str> = dialogue.splitn(fields.len(), ',').collect();
            if values.len() < fields.len() {
                return Err(SubtitleError::at(number, format!("a Dialogue line needs {} fields", fields.len())));
            }
            let value =
                |name: &str| fields.iter().position(|f| f == name).and_then(|i| values.get(i)).map(|v| v.trim());
            let time = |name: &str| {
                value(name).and_then(|v| parse_time(v, '.')).ok_or_else(|| {
                    SubtitleError::at(number, format!("not a valid {name} time: {:?}", value(name).unwrap_or_default()))
                })
            };
            let (start_ms, end_ms) = (time("start")?, time("end")?);
            if end_ms <= start_ms {
                return Err(SubtitleError::at(number, "the cue ends before it starts"));
            }
            let raw_text = values.last().copied().unwrap_or_default();
            let (text, top) = convert(raw_text);
            let text = clean_cue_text(&text);
            if !text.is_empty() {
                cues.push(Cue { start_ms, end_ms, text, top });
            }
        }
    }
    if fields.is_none() {
        return Err(SubtitleError::at(1, "no [Events] section with a Format line"));
    }
    Ok(cues)
}

/// An ASS text line as cue text (with `<i>`, `<b>`, `<u>`), and whether it is aligned at the top.
fn convert(text: &str) -> (String, bool) {
    let mut out = String::new();
    let mut top = false;
    let mut open: Vec<char> = Vec::new();
    let mut rest = text;
    while let Some(brace) = rest.find('{') {
        out.push_str(&escape_text(&rest[..brace]));
        let Some(close) = rest[brace..].find('}') else {
            out.push_str(&escape_text(&rest[brace..]));
            rest = "";
            break;
        };
        for tag in rest[brace + 1..brace + close].split('\\').map(str::trim) {
            if let Some(align) = tag.strip_prefix("an") {
                top |= matches!(align, "7" | "8" | "9");
            } else if let Some(align) =
                tag.strip_prefix('a').filter(|a| a.bytes().all(|b| b.is_ascii_digit()) && !a.is_empty())
            {
                top |= matches!(align, "5" | "6" | "7");
            }
            for style in ['b', 'i', 'u'] {
                match tag.strip_prefix(style) {
                    Some("1") if !open.contains(&style) => {
                        open.push(style);
                        out.push_str(&format!("<{style}>"));
                    }
                    Some("0") if open.contains(&style) => {
                        open.retain(|s| *s != style);
                        out.push_str(&format!("</{style}>"));
                    }
                    _ => {}
                }
            }
        }
        rest = &rest[brace + close + 1..];
    }
    out.push_str(&escape_text(rest));
    for style in open.iter().rev() {
        out.push_str(&format!("</{style}>"));
    }
    (out, top)
}

/// ASS's own escapes: `\N` and `\n` break the line, `\h` is a hard space;
/// a `<` in dialogue is text, not a tag.
fn escape_text(text: &str) -> String {
    text.replace("\\N", "\n")
        .replace("\\n", "\n")
        .replace("\\h", "\u{a0}")
        .replace('<', "\u{2039}")
        .replace('>', "\u{203a}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STYLED: &str = "[Script Info]\nTitle: x\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:02.00,0:00:03.50,Default,,0,0,0,,{\\b1}Bold{\\b0} and {\\i1}italic, with a comma{\\i0}\nComment: 0,0:00:04.00,0:00:05.00,Default,,0,0,0,,not shown\nDialogue: 0,0:00:05.00,0:00:06.00,Sign,,0,0,0,,{\\an8\\fs20\\c&H00FFFF&}A sign at the top\\NSecond row\n";

    #[test]
    fn dialogue_becomes_cues_with_their_styling_and_placement() {
        let cues = parse(STYLED).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_ms, cues[0].end_ms), (2_000, 3_500));
        assert_eq!(cues[0].text, "<b>Bold</b> and <i>italic, with a comma</i>");
        assert!(!cues[0].top);
        assert_eq!(cues[1].text, "A sign at the top\nSecond row");
        assert!(cues[1].top, "\\an8 is top centre");
    }

    #[test]
    fn bad_times_and_missing_sections_name_the_line() {
        let broken = STYLED.replace("0:00:05.00,0:00:06.00", "0:00:05.00,later");
        assert_eq!(parse(&broken).unwrap_err().to_string(), "line 12: not a valid end time: \"later\"");
        assert_eq!(parse("[Script Info]\nTitle: x\n").unwrap_err().code(), "subtitle_malformed");
        let unclosed = "[Events]\nFormat: Start, End, Text\nDialogue: 0:00:01.00,0:00:02.00,{\\i1}never closed <tag>\n";
        assert_eq!(parse(unclosed).unwrap()[0].text, "<i>never closed \u{2039}tag\u{203a}</i>");
    }
}
