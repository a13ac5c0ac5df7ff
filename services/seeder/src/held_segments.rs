//! The segments a native peer holds: files in the media folder the segment
//! server uses (`{media}/{movie}/{rendition}/seg_NNNNN.ts`) whose SHA-256 is
//! the catalog's. A file that is missing or differs is left out and reported,
//! never served. Files are read when asked for (a movie need not fit in
//! memory) and checked again then. Segments the folder lacks can be fetched
//! from other peers: they are kept (in memory) once their hash is the
//! catalog's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::catalog::SegmentManifest;
use cinemesh_protocol::peer_wire::SegmentId;
use sha2::{Digest, Sha256};

/// A segment the catalog lists that could not be held, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub rendition: String,
    pub sequence: u32,
    pub reason: String,
}

#[derive(Debug)]
struct HeldFile {
    path: PathBuf,
    size: usize,
    sha256: String,
}

type Key = (String, u32);

#[derive(Debug, Default)]
pub struct HeldSegments {
    segments: HashMap<Key, HeldFile>,
    pub left_out: Vec<LeftOut>,
    /// Every segment of the renditions seeded: its size and SHA-256.
    catalog: HashMap<Key, (usize, String)>,
    /// Segments fetched from peers, verified.
    fetched: Mutex<HashMap<Key, Bytes>>,
}

fn key(segment: &SegmentId) -> Key {
    (segment.rendition.clone(), segment.sequence)
}

fn verified(path: &Path, expected: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual == expected {
        Ok(bytes)
    } else {
        Err(format!("{}: SHA-256 {actual} is not the catalog's {expected}", path.display()))
    }
}

impl HeldSegments {
    /// Holds nothing yet, for the renditions named (all when empty): every
    /// segment is to be fetched.
    pub fn empty(manifest: &SegmentManifest, renditions: &[String]) -> Self {
        let mut held = Self::default();
        for rendition in &manifest.renditions {
            if !renditions.is_empty() && !renditions.contains(&rendition.name) {
                continue;
            }
            for (sequence, sha256) in rendition.sha256.iter().enumerate() {
                let size = rendition.sizes_bytes.get(sequence).copied().unwrap_or(0).max(0) as usize;
                held.catalog.insert((rendition.name.clone(), sequence as u32), (size, sha256.clone()));
            }
        }
        held
    }

    /// Reads and verifies the renditions named (all when `renditions` is empty).
    pub fn load(media_dir: &Path, manifest: &SegmentManifest, renditions: &[String]) -> Self {
        let mut held = Self::empty(manifest, renditions);
        let mut expected: Vec<(Key, String)> =
            held.catalog.iter().map(|(key, (_, sha256))| (key.clone(), sha256.clone())).collect();
        // In order, so what is left out is reported in order.
        expected.sort();
        for ((rendition, sequence), sha256) in expected {
            let path = media_dir.join(&manifest.movie_id).join(&rendition).join(format!("seg_{sequence:05}.ts"));
            match verified(&path, &sha256) {
                Ok(bytes) => {
                    let file = HeldFile { path, size: bytes.len(), sha256 };
                    held.segments.insert((rendition, sequence), file);
                }
                Err(reason) => held.left_out.push(LeftOut { rendition, sequence, reason }),
            }
        }
        held
    }

    /// A held segment's length.
    pub fn size(&self, segment: &SegmentId) -> Option<usize> {
        let fetched = || self.fetched.lock().ok()?.get(&key(segment)).map(Bytes::len);
        self.file(segment).map(|f| f.size).or_else(fetched)
    }

    /// A held segment's bytes, read and checked now; an error when the file
    /// changed since it was verified.
    pub fn read(&self, segment: &SegmentId) -> Result<Bytes, String> {
        if let Some(file) = self.file(segment) {
            return verified(&file.path, &file.sha256).map(Bytes::from);
        }
        self.fetched.lock().ok().and_then(|f| f.get(&key(segment)).cloned()).ok_or_else(|| "not held".to_owned())
    }

    fn file(&self, segment: &SegmentId) -> Option<&HeldFile> {
        self.segments.get(&key(segment))
    }

    /// The catalog's size of a segment of a seeded rendition.
    pub fn catalog_size(&self, segment: &SegmentId) -> Option<usize> {
        self.catalog.get(&key(segment)).map(|(size, _)| *size)
    }

    /// Segments of the seeded renditions not held yet, in order.
    pub fn missing(&self) -> Vec<SegmentId> {
        let fetched = self.fetched.lock().map(|f| f.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        let mut missing: Vec<SegmentId> = self
            .catalog
            .keys()
            .filter(|k| !self.segments.contains_key(*k) && !fetched.contains(k))
            .map(|(rendition, sequence)| SegmentId { rendition: rendition.clone(), sequence: *sequence })
            .collect();
        missing.sort_by(|a, b| (&a.rendition, a.sequence).cmp(&(&b.rendition, b.sequence)));
        missing
    }

    /// Keeps a segment fetched from a peer when its SHA-256 is the catalog's.
    pub fn add_fetched(&self, segment: &SegmentId, bytes: Vec<u8>) -> Result<(), String> {
        let (_, expected) = self.catalog.get(&key(segment)).ok_or_else(|| "not a segment of this movie".to_owned())?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != *expected {
            return Err(format!("SHA-256 {actual} is not the catalog's {expected}"));
        }
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.insert(key(segment), Bytes::from(bytes));
        }
        Ok(())
    }

    /// The renditions seeded (held or to be fetched), sorted.
    pub fn renditions(&self) -> Vec<String> {
        let mut renditions: Vec<String> = self.catalog.keys().map(|(r, _)| r.clone()).collect();
        renditions.sort();
        renditions.dedup();
        renditions
    }

    /// The renditions held, each with the sequences held, for `join`.
    pub fn holdings(&self) -> HashMap<String, SegmentRanges> {
        let mut by_rendition: HashMap<String, Vec<u32>> = HashMap::new();
        let fetched = self.fetched.lock().map(|f| f.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        for (rendition, sequence) in self.segments.keys().chain(fetched.iter()) {
            by_rendition.entry(rendition.clone()).or_default().push(*sequence);
        }
        by_rendition
            .into_iter()
            .map(|(rendition, mut sequences)| {
                sequences.sort_unstable();
                (rendition, SegmentRanges::from_sequences(sequences))
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.segments.len() + self.fetched.lock().map_or(0, |f| f.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.segments.values().map(|f| f.size).sum::<usize>()
            + self.fetched.lock().map_or(0, |f| f.values().map(Bytes::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use cinemesh_protocol::catalog::RenditionSegments;

    use super::*;

    #[test]
    fn only_files_with_the_catalogs_hash_are_held() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("movie1").join("360p");
        std::fs::create_dir_all(&folder).unwrap();
        let contents: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
        let hashes = contents.iter().map(|c| hex::encode(Sha256::digest(c))).collect();
        for (i, bytes) in contents.iter().enumerate() {
            if i == 3 {
                continue; // missing
            }
            let written = if i == 1 { b"tampered".to_vec() } else { bytes.clone() };
            std::fs::write(folder.join(format!("seg_{i:05}.ts")), written).unwrap();
        }
        let manifest = SegmentManifest {
            movie_id: "movie1".into(),
            renditions: vec![RenditionSegments {
                name: "360p".into(),
                kind: cinemesh_protocol::catalog::RenditionKind::Video,
                durations_ms: vec![2000; 4],
                sizes_bytes: contents.iter().map(|c| c.len() as i64).collect(),
                sha256: hashes,
            }],
        };
        let held = HeldSegments::load(dir.path(), &manifest, &[]);
        assert_eq!(held.len(), 2);
        let segment = |sequence| SegmentId { rendition: "360p".into(), sequence };
        assert_eq!(held.read(&segment(0)).map(|b| b.to_vec()), Ok(contents[0].clone()));
        assert!(held.size(&segment(1)).is_none(), "a file that differs from the catalog is not served");
        assert_eq!(held.left_out.iter().map(|l| l.sequence).collect::<Vec<_>>(), [1, 3]);
        assert!(held.left_out[0].reason.contains("is not the catalog's"));
        assert_eq!(held.holdings()["360p"], SegmentRanges::from_sequences([0, 2]));
        assert_eq!(held.catalog_size(&segment(1)), Some(101));
        assert!(
            HeldSegments::load(dir.path(), &manifest, &["720p".into()]).is_empty(),
            "only the renditions asked for"
        );
        // What the folder lacks can be fetched, and is kept only with the catalog's hash.
        assert_eq!(held.missing(), [segment(1), segment(3)]);
        assert!(held.add_fetched(&segment(3), b"forged".to_vec()).unwrap_err().contains("is not the catalog's"));
        held.add_fetched(&segment(3), contents[3].clone()).unwrap();
        assert_eq!(held.read(&segment(3)).map(|b| b.to_vec()), Ok(contents[3].clone()));
        assert_eq!(held.missing(), [segment(1)]);
        assert_eq!(held.holdings()["360p"], SegmentRanges::from_sequences([0, 2, 3]));
        // A file changed after it was verified is refused when read.
        std::fs::write(folder.join("seg_00002.ts"), b"changed").unwrap();
        assert!(held.read(&segment(2)).unwrap_err().contains("is not the catalog's"));
    }
}
