//! Ingest output is written under `{media}/.staging/{id}` and moved into place
//! with one rename only once everything succeeded. The segment server refuses
//! dot-names, so a half-written movie is never served; a guard removes the
//! staging folder on every failure path, and `sweep_stale` clears what a
//! killed process left behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const STAGING_DIR: &str = ".staging";

/// A staging folder that is deleted when dropped unless it was committed.
pub struct Staging {
    path: Option<PathBuf>,
}

impl Staging {
    /// A new, empty folder `name`: what an earlier run under that name left
    /// (a job's run in a process that was killed) is removed first.
    pub fn create(media_dir: &Path, name: &str) -> std::io::Result<Self> {
        let path = media_dir.join(STAGING_DIR).join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(Self { path: Some(path) })
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Moves the folder to `target` (which must not exist) and disarms the guard.
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        if target.exists() {
            return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "movie folder exists"));
        }
        if let Some(path) = &self.path {
            std::fs::rename(path, target)?;
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(path) = self.path.take()
            && let Err(e) = std::fs::remove_dir_all(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove the staging folder");
        }
    }
}

/// Room a folder must still have after an ingest wrote into it.
const SPACE_PROBE_BYTES: usize = 64 * 1024;

/// Whether `dir`'s filesystem is out of space: a probe file of
/// `SPACE_PROBE_BYTES` cannot be written there (it is removed at once).
pub fn out_of_space(dir: &Path) -> bool {
    use std::io::Write;
    let probe = dir.join(".space-probe");
    let written = std::fs::File::create(&probe).and_then(|mut file| file.write_all(&[0u8; SPACE_PROBE_BYTES]));
    let _ = std::fs::remove_file(&probe);
    matches!(written, Err(e) if e.kind() == std::io::ErrorKind::StorageFull)
}

/// Removes staging folders in which nothing was written for `max_idle`: what
/// an ingest killed mid-way left behind. Recently active ones may belong to an
/// ingest still running in another process sharing the media folder.
pub fn sweep_stale(media_dir: &Path, max_idle: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(media_dir.join(STAGING_DIR)) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let newest = newest_mtime(&entry.path());
        let idle = newest.and_then(|t| now.duration_since(t).ok()).unwrap_or(Duration::MAX);
        if idle >= max_idle && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Newest modification time of a folder and everything directly in it and in
/// its sub-folders (ffmpeg writes into `{rendition}/`).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
    let mut visit = |path: &Path| {
        if let Ok(t) = std::fs::metadata(path).and_then(|m| m.modified()) {
            newest = newest.max(Some(t));
        }
    };
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        visit(&entry.path());
        for inner in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
            visit(&inner.path());
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_staging_is_removed() {
        let media = tempfile::tempdir().unwrap();
        let path = {
            let staging = Staging::create(media.path(), "abc").unwrap();
            std::fs::write(staging.path().join("x"), b"x").unwrap();
            staging.path().to_path_buf()
        };
        assert!(!path.exists());
    }

    #[test]
    fn committed_staging_moves_into_place() {
        let media = tempfile::tempdir().unwrap();
        let staging = Staging::create(media.path(), "abc").unwrap();
        std::fs::write(staging.path().join("x"), b"x").unwrap();
        staging.commit(&media.path().join("abc")).unwrap();
        assert!(media.path().join("abc/x").exists());
        assert!(!media.path().join(STAGING_DIR).join("abc").exists());
    }

    #[test]
    fn sweep_removes_idle_folders_only() {
        let media = tempfile::tempdir().unwrap();
        let old = Staging::create(media.path(), "old").unwrap();
        std::mem::forget(old);
        assert_eq!(sweep_stale(media.path(), Duration::from_secs(3600)), 0);
        assert_eq!(sweep_stale(media.path(), Duration::ZERO), 1);
    }
}
