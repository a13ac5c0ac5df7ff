//! The `Range: bytes=...` header (RFC 9110 §14). One range per request: a
//! multi-range request is answered with the whole file, which the RFC allows
//! and which no HLS client needs otherwise.

/// A satisfiable byte range, inclusive on both ends like the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What a `Range` header asks of a file of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send the whole file with 200.
    Whole,
    /// Send this part with 206.
    Partial(ByteRange),
    /// Syntactically fine but outside the file: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header value against a file of `size` bytes.
/// Malformed headers are ignored (whole file), as the RFC asks.
pub fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    match (parse(start), parse(end)) {
        // bytes=-N: the last N bytes.
        (None, Some(suffix)) if start.is_empty() => {
            if suffix == 0 || size == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange { first: size.saturating_sub(suffix), last: size - 1 })
            }
        }
        // bytes=A- : from A to the end.
        (Some(first), None) if end.is_empty() => {
            if first >= size {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange { first, last: size - 1 })
            }
        }
        // bytes=A-B
        (Some(first), Some(last)) if first <= last => {
            if first >= size {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial(ByteRange { first, last: last.min(size - 1) })
            }
        }
        _ => RangeRequest::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(first: u64, last: u64) -> RangeRequest {
        RangeRequest::Partial(ByteRange { first, last })
    }

    #[test]
    fn first_bytes() {
        assert_eq!(parse_range("bytes=0-99", 1000), partial(0, 99));
    }

    #[test]
    fn middle_bytes() {
        assert_eq!(parse_range("bytes=500-599", 1000), partial(500, 599));
    }

    #[test]
    fn open_ended_range_runs_to_the_end() {
        assert_eq!(parse_range("bytes=900-", 1000), partial(900, 999));
    }

    #[test]
    fn suffix_range_takes_the_last_bytes() {
        assert_eq!(parse_range("bytes=-100", 1000), partial(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), partial(0, 999));
    }

    #[test]
    fn end_past_the_file_is_clamped() {
        assert_eq!(parse_range("bytes=990-5000", 1000), partial(990, 999));
    }

    #[test]
    fn start_past_the_file_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=1000-", 1000), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=2000-3000", 1000), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_mean_whole_file() {
        for header in ["items=0-1", "bytes=abc", "bytes=5-1", "bytes=0-1,5-6", "bytes=-", "bytes=+1-2"] {
            assert_eq!(parse_range(header, 1000), RangeRequest::Whole, "{header}");
        }
    }
}
