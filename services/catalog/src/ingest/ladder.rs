//! The ABR ladder: which renditions to encode from a source of a given height.

/// One rung: output height and the bitrate cap for its video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub height: u32,
    pub max_video_kbps: u32,
}

impl Rung {
    pub fn name(&self) -> String {
        format!("{}p", self.height)
    }
}

/// The standard rungs, best first. 480p sits between 720p and 360p because a
/// 5 Mbit/s home line, shared by a household, carries it and not 720p.
const STANDARD: &[Rung] = &[
    Rung { height: 1080, max_video_kbps: 5000 },
    Rung { height: 720, max_video_kbps: 2800 },
    Rung { height: 480, max_video_kbps: 1400 },
    Rung { height: 360, max_video_kbps: 800 },
    Rung { height: 240, max_video_kbps: 400 },
];

/// A rung used only when a small source would otherwise get a single rendition.
const SMALL: Rung = Rung { height: 144, max_video_kbps: 200 };

/// Rungs per movie at most: each one costs encoding time and disk, and four
/// span a 1:4 height range, from a TV down to a weak mobile link.
const MAX_RUNGS: usize = 4;

/// The shortest source we package: two renditions need 240p and 144p.
pub const MIN_SOURCE_HEIGHT: u32 = 240;

/// Chooses the tallest rungs the source allows (never upscaled), at most
/// `MAX_RUNGS` and at least two. `None` when the source is too small for two.
pub fn ladder_for(source_height: u32) -> Option<Vec<Rung>> {
    let mut rungs: Vec<Rung> = STANDARD.iter().copied().filter(|r| r.height <= source_height).take(MAX_RUNGS).collect();
    if rungs.len() < 2 && SMALL.height <= source_height {
        rungs.push(SMALL);
    }
    (rungs.len() >= 2).then_some(rungs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heights(source: u32) -> Option<Vec<u32>> {
        ladder_for(source).map(|r| r.iter().map(|r| r.height).collect())
    }

    #[test]
    fn full_hd_source_gets_four_rungs() {
        assert_eq!(heights(1080), Some(vec![1080, 720, 480, 360]));
    }

    #[test]
    fn hd_source_is_never_upscaled() {
        assert_eq!(heights(720), Some(vec![720, 480, 360, 240]));
        assert_eq!(heights(1000), Some(vec![720, 480, 360, 240]));
        assert_eq!(heights(480), Some(vec![480, 360, 240]));
    }

    #[test]
    fn small_sources_get_lower_rungs() {
        assert_eq!(heights(360), Some(vec![360, 240]));
        assert_eq!(heights(300), Some(vec![240, 144]));
    }

    #[test]
    fn tiny_sources_are_refused() {
        assert_eq!(heights(143), None);
        assert_eq!(heights(200), None);
    }
}
