//! A folder whose files are served: opened once, then every file is opened
//! beneath it with `openat2(RESOLVE_BENEATH)`, so the kernel itself refuses any
//! path, `..` or symlink that would leave the folder, in one system call and
//! without blocking the worker on a directory walk. Kernels without `openat2`
//! (before 5.6) fall back to comparing canonical paths.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::media_path::MediaPath;

#[derive(Debug)]
pub struct ServedDir {
    root: PathBuf,
    dir: OwnedFd,
}

impl ServedDir {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let root = root.canonicalize()?;
        let dir = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Self { root, dir })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the regular file at `path` inside the folder; `None` when there is
    /// none (or the path would leave the folder).
    pub fn open_file(&self, path: &MediaPath) -> Option<File> {
        let relative = path.components().join("/");
        let file = match rustix::fs::openat2(
            &self.dir,
            relative.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => File::from(fd),
            Err(rustix::io::Errno::NOSYS) => File::open(path.resolve_within(&self.root)?).ok()?,
            Err(_) => return None,
        };
        file.metadata().ok().filter(|m| m.is_file()).map(|_| file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_inside_open_and_symlinks_out_do_not() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("movie/720p")).unwrap();
        std::fs::write(root.path().join("movie/720p/seg.ts"), b"ok").unwrap();
        std::fs::write(outside.path().join("seg.ts"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(root.path().join("movie"), root.path().join("alias")).unwrap();
        let dir = ServedDir::open(root.path()).unwrap();
        let open = |p: &str| dir.open_file(&MediaPath::parse(p).unwrap()).is_some();
        assert!(open("movie/720p/seg.ts"));
        assert!(!open("escape/seg.ts"), "symlink out of the folder");
        assert!(!open("movie/720p/none.ts"));
        assert!(!open("movie/720p"), "folders are not files");
        // An absolute symlink is refused by RESOLVE_BENEATH even when it points inside.
        assert!(!open("alias/720p/seg.ts"));
    }
}
