//! The `Upload-Metadata` header: comma-separated `key base64value` pairs
//! (a key alone means an empty value). We read the movie's details from it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The header is refused past this length.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What a client says about its upload; stored with it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMetadata {
    /// `filename` (tus-js-client's key) or `name`.
    pub file_name: String,
    /// `filetype` or `type`.
    pub file_type: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub year: Option<String>,
}

/// Parses the header; the message says what is wrong.
pub fn parse_metadata(header: &str) -> Result<UploadMetadata, String> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(format!("Upload-Metadata is longer than {MAX_HEADER_BYTES} bytes"));
    }
    let mut metadata = UploadMetadata::default();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| format!("the value of {key:?} is not base64"))?;
        let value = String::from_utf8(bytes).map_err(|_| format!("the value of {key:?} is not UTF-8"))?;
        match key {
            "filename" | "name" => metadata.file_name = value,
            "filetype" | "type" => metadata.file_type = Some(value),
            "title" => metadata.title = Some(value),
            "description" => metadata.description = Some(value),
            "year" => metadata.year = Some(value),
            // Other keys (tus-js-client adds its own) are not ours to read.
            _ => {}
        }
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_read_and_unknown_keys_ignored() {
        let header = format!(
            "filename {},filetype {}, title {},is_confidential,relativePath bnVsbA==",
            STANDARD.encode("Été.mkv"),
            STANDARD.encode("video/x-matroska"),
            STANDARD.encode("Summer"),
        );
        let metadata = parse_metadata(&header).unwrap();
        assert_eq!(metadata.file_name, "Été.mkv");
        assert_eq!(metadata.file_type.as_deref(), Some("video/x-matroska"));
        assert_eq!(metadata.title.as_deref(), Some("Summer"));
        assert_eq!(metadata.year, None);
    }

    #[test]
    fn bad_values_and_huge_headers_are_refused() {
        assert!(parse_metadata("filename !!!").unwrap_err().contains("not base64"));
        assert!(parse_metadata(&format!("filename {}", STANDARD.encode([0xff, 0xfe]))).unwrap_err().contains("UTF-8"));
        assert!(parse_metadata(&"a".repeat(20_000)).is_err());
        assert_eq!(parse_metadata("").unwrap(), UploadMetadata::default());
    }
}
