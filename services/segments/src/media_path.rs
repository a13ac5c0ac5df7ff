//! A path inside the media directory, parsed from the raw request path.
//!
//! Whitelisting is the defence: each component is percent-decoded exactly once
//! and must then consist only of `[A-Za-z0-9_.-]`, start with an alphanumeric
//! character and contain no `..`. Everything that could escape the directory
//! (`..`, `%2e%2e`, `%252e`, backslashes, absolute paths, NUL, `~`) fails that
//! test; symlinks are caught later by comparing canonical paths.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Deepest layout we serve: `{movie}/{rendition}/{file}`.
const MAX_COMPONENTS: usize = 3;
/// Longest component we accept; ours are far shorter.
const MAX_COMPONENT_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaPathError {
    /// The path tried to leave the media directory or used characters we never produce.
    Invalid(&'static str),
}

impl std::fmt::Display for MediaPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(why) => write!(f, "invalid media path: {why}"),
        }
    }
}

/// A validated relative path such as `abc123/720p/seg_00004.ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    components: Vec<String>,
}

impl MediaPath {
    /// Parses the part of the raw (still percent-encoded) request path after the
    /// route prefix, e.g. `abc123/720p/seg_00004.ts`.
    pub fn parse(raw: &str) -> Result<Self, MediaPathError> {
        if raw.is_empty() {
            return Err(MediaPathError::Invalid("empty path"));
        }
        let components = raw.split('/').map(decode_component).collect::<Result<Vec<_>, _>>()?;
        if components.len() > MAX_COMPONENTS {
            return Err(MediaPathError::Invalid("too many path components"));
        }
        Ok(Self { components })
    }

    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The movie id: the first component.
    pub fn movie(&self) -> &str {
        self.components.first().map(String::as_str).unwrap_or_default()
    }

    /// The rendition, for files inside a rendition folder.
    pub fn rendition(&self) -> Option<&str> {
        (self.components.len() == 3).then(|| self.components[1].as_str())
    }

    pub fn file_name(&self) -> &str {
        self.components.last().map(String::as_str).unwrap_or_default()
    }

    pub fn extension(&self) -> &str {
        self.file_name().rsplit_once('.').map(|(_, ext)| ext).unwrap_or_default()
    }

    /// Joins onto `root` and resolves symlinks; refuses a result outside `root`
    /// (which must itself be canonical). `None` means "no such file".
    pub fn resolve_within(&self, canonical_root: &Path) -> Option<PathBuf> {
        let mut path = canonical_root.to_path_buf();
        path.extend(&self.components);
        let resolved = path.canonicalize().ok()?;
        resolved.starts_with(canonical_root).then_some(resolved)
    }
}

fn decode_component(raw: &str) -> Result<String, MediaPathError> {
    let decoded =
        percent_decode_str(raw).decode_utf8().map_err(|_| MediaPathError::Invalid("not UTF-8 after decoding"))?;
    if decoded.is_empty() {
        return Err(MediaPathError::Invalid("empty path component"));
    }
    if decoded.len() > MAX_COMPONENT_LEN {
        return Err(MediaPathError::Invalid("path component too long"));
    }
    if !decoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-') {
        return Err(MediaPathError::Invalid("unexpected character in path"));
    }
    if !decoded.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(MediaPathError::Invalid("path component must start with a letter or digit"));
    }
    if decoded.contains("..") {
        return Err(MediaPathError::Invalid("'..' is not allowed"));
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_path_exposes_movie_rendition_and_extension() {
        let path = MediaPath::parse("abc123/720p/seg_00004.ts").unwrap();
        assert_eq!(path.movie(), "abc123");
        assert_eq!(path.rendition(), Some("720p"));
        assert_eq!(path.extension(), "ts");
    }

    #[test]
    fn master_playlist_has_no_rendition() {
        let path = MediaPath::parse("abc123/master.m3u8").unwrap();
        assert_eq!(path.rendition(), None);
    }

    #[test]
    fn percent_encoded_safe_names_are_decoded_once() {
        let path = MediaPath::parse("abc123/720%70/seg_1.ts").unwrap();
        assert_eq!(path.rendition(), Some("720p"));
    }

    #[test]
    fn traversal_variants_are_refused() {
        for raw in [
            "..",
            "../etc/passwd",
            "abc/../../etc/passwd",
            "%2e%2e/etc/passwd",
            "%2E%2E/%2E%2E/etc/passwd",
            "%252e%252e/etc/passwd",
            "..%2fetc%2fpasswd",
            "..%5c..%5cwindows",
            "abc\\..\\secret",
            "%2fetc%2fpasswd",
            "/etc/passwd",
            "abc/.hidden",
            ".staging/x",
            "abc/seg%00.ts",
            "~root/x",
            "abc//seg.ts",
            "a/b/c/d",
            "abc/..%252f..%252fetc",
            "%c0%ae%c0%ae/etc/passwd",
        ] {
            assert!(MediaPath::parse(raw).is_err(), "{raw} should be refused");
        }
    }

    #[test]
    fn symlink_out_of_root_is_not_resolved() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.ts"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("movie")).unwrap();
        let root = root.path().canonicalize().unwrap();
        let path = MediaPath::parse("movie/secret.ts").unwrap();
        assert_eq!(path.resolve_within(&root), None);
    }
}
