//! Reading back the playlists ffmpeg wrote: the master's variants and each
//! media playlist's segments. Only the tags ffmpeg's HLS muxer emits matter.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub uri: String,
    pub bandwidth_bps: i64,
    pub width: i64,
    pub height: i64,
    pub codecs: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSegment {
    pub uri: String,
    pub duration_ms: i64,
}

pub fn parse_master(text: &str) -> Vec<Variant> {
    let mut variants = Vec::new();
    let mut pending: Option<Variant> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let attr = |name: &str| attribute(attrs, name);
            let (width, height) = attr("RESOLUTION")
                .and_then(|r| r.split_once('x').map(|(w, h)| (w.parse().unwrap_or(0), h.parse().unwrap_or(0))))
                .unwrap_or((0, 0));
            pending = Some(Variant {
                uri: String::new(),
                bandwidth_bps: attr("BANDWIDTH").and_then(|b| b.parse().ok()).unwrap_or(0),
                width,
                height,
                codecs: attr("CODECS").unwrap_or_default(),
            });
        } else if !line.starts_with('#')
            && let Some(mut variant) = pending.take()
        {
            variant.uri = line.to_owned();
            variants.push(variant);
        }
    }
    variants
}

pub fn parse_media(text: &str) -> Vec<MediaSegment> {
    let mut segments = Vec::new();
    let mut duration_ms = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let seconds: f64 = rest.split(',').next().and_then(|d| d.trim().parse().ok()).unwrap_or(0.0);
            duration_ms = Some((seconds * 1000.0).round() as i64);
        } else if !line.starts_with('#')
            && let Some(duration_ms) = duration_ms.take()
        {
            segments.push(MediaSegment { uri: line.to_owned(), duration_ms });
        }
    }
    segments
}

/// Value of `NAME=value` or `NAME="value"` in an attribute list.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while !rest.is_empty() {
        let (key, after_key) = rest.split_once('=')?;
        let (value, after_value) = if let Some(quoted) = after_key.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], quoted[end + 1..].trim_start_matches(','))
        } else {
            match after_key.split_once(',') {
                Some((v, r)) => (v, r),
                None => (after_key, ""),
            }
        };
        if key.trim() == name {
            return Some(value.to_owned());
        }
        rest = after_value;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:6\n\
        #EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"\n720p/index.m3u8\n\n\
        #EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n360p/index.m3u8\n";

    #[test]
    fn master_variants_are_read_with_their_attributes() {
        let variants = parse_master(MASTER);
        assert_eq!(variants.len(), 2);
        assert_eq!(
            variants[0],
            Variant {
                uri: "720p/index.m3u8".into(),
                bandwidth_bps: 3_220_800,
                width: 1280,
                height: 720,
                codecs: "avc1.4d401f,mp4a.40.2".into()
            }
        );
        assert_eq!(variants[1].height, 360);
    }

    #[test]
    fn media_segments_are_read_in_order_with_durations() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nseg_00000.ts\n#EXTINF:1.480000,\nseg_00001.ts\n#EXT-X-ENDLIST\n";
        assert_eq!(
            parse_media(text),
            vec![
                MediaSegment { uri: "seg_00000.ts".into(), duration_ms: 2000 },
                MediaSegment { uri: "seg_00001.ts".into(), duration_ms: 1480 }
            ]
        );
    }
}
