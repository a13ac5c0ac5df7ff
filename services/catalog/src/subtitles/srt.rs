//! SubRip: numbered blocks of a timing line (`00:00:01,000 --> 00:00:02,500`)
//! and text, separated by blank lines. The number is optional in practice,
//! and many files use `.` for the decimal mark: both are read.

use super::{Cue, SubtitleError, clean_cue_text, parse_time};

pub fn parse(text: &str) -> Result<Vec<Cue>, SubtitleError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cues = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].trim().is_empty() {
            at += 1;
            continue;
        }
        // A counter line, then the timing; or the timing straight away.
        let timing_at = if lines[at].contains("-->") { at } else { at + 1 };
        let Some(timing) = lines.get(timing_at).filter(|l| l.contains("-->")) else {
            // After a cue number, the line that should have been its timing is the one at fault.
            let numbered = lines[at].trim().parse::<u64>().is_ok() && timing_at < lines.len();
            let (number, found) = if numbered { (timing_at + 1, lines[timing_at]) } else { (at + 1, lines[at]) };
            return Err(SubtitleError::at(
                number,
                format!("expected a cue's timing (00:00:01,000 --> 00:00:02,000), found {:?}", shorten(found)),
            ));
        };
        if timing_at > at && lines[at].trim().parse::<u64>().is_err() {
            return Err(SubtitleError::at(at + 1, format!("expected a cue number, found {:?}", shorten(lines[at]))));
        }
        let (start_ms, end_ms) = timing_of(timing, timing_at + 1)?;
        let mut end = timing_at + 1;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let text = clean_cue_text(&lines[timing_at + 1..end].join("\n"));
        if !text.is_empty() {
            cues.push(Cue { start_ms, end_ms, text, top: false });
        }
        at = end;
    }
    Ok(cues)
}

/// The start and end of a timing line (line `number`, for errors).
pub fn timing_of(line: &str, number: usize) -> Result<(i64, i64), SubtitleError> {
    let (start, rest) = line.split_once("-->").unwrap_or((line, ""));
    // Anything after the end time (SubRip coordinates, WebVTT settings) is not timing.
    let end = rest.split_whitespace().next().unwrap_or_default();
    let read = |time: &str| parse_time(time, ',').or_else(|| parse_time(time, '.'));
    let (Some(start_ms), Some(end_ms)) = (read(start), read(end)) else {
        return Err(SubtitleError::at(number, format!("not a valid timing: {:?}", shorten(line))));
    };
    if end_ms <= start_ms {
        return Err(SubtitleError::at(number, "the cue ends before it starts"));
    }
    Ok((start_ms, end_ms))
}

fn shorten(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_blocks_become_cues() {
        let cues = parse("1\n00:00:01,000 --> 00:00:02,500\nHello <i>there</i>\nsecond line\n\n2\n00:00:04.000 --> 00:00:05,000 X1:10\nDot decimal\n").unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(
            (cues[0].start_ms, cues[0].end_ms, cues[0].text.as_str()),
            (1000, 2500, "Hello <i>there</i>\nsecond line")
        );
        assert_eq!((cues[1].start_ms, cues[1].end_ms), (4000, 5000));
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbroken arrow\n")
            .unwrap_err();
        assert_eq!(
            error,
            SubtitleError::at(
                6,
                "expected a cue's timing (00:00:01,000 --> 00:00:02,000), found \"00:00:03,000 -> 00:00:04,000\""
            )
        );
        let error = parse("00:00:01,000 --> 00:00:02,000\nok\n\nstray words\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 4: expected a cue's timing (00:00:01,000 --> 00:00:02,000), found \"stray words\""
        );
        let error =
            parse("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n-00:00:03,000 --> 00:00:04,000\nnegative\n").unwrap_err();
        assert_eq!(error.to_string(), "line 6: not a valid timing: \"-00:00:03,000 --> 00:00:04,000\"");
        let error = parse("7\n00:00:05,000 --> 00:00:04,000\nbackwards\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2: the cue ends before it starts");
    }
}
