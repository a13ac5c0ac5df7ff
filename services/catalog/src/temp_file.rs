//! A file that is removed when dropped unless it is kept: an upload until a
//! job owns it, a poster until it is renamed into place. Every way out of a
//! handler (an error, a client that went away) then leaves nothing behind.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Leaves the file where it is, for its new owner.
    pub fn keep(mut self) -> PathBuf {
        std::mem::take(&mut self.0)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_files_go_and_kept_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (gone, kept) = (dir.path().join("gone"), dir.path().join("kept"));
        std::fs::write(&gone, b"x").unwrap();
        std::fs::write(&kept, b"x").unwrap();
        drop(TempFile::new(gone.clone()));
        assert_eq!(TempFile::new(kept.clone()).keep(), kept);
        assert!(!gone.exists());
        assert!(kept.exists());
    }
}
