//! Resumable uploads, by the tus protocol 1.0 (core, with the creation,
//! expiration and termination extensions): a client creates an upload with
//! its length and metadata, sends the bytes in PATCH requests from the offset
//! the server has, and after a dropped connection asks (HEAD) where to resume.
//! Everything a creation can be refused for (size, free disk, file type,
//! title) is checked before the first byte. A finished upload becomes an
//! ingest job with the upload's id; an unfinished one expires.

pub mod api;
mod metadata;
mod store;

pub use metadata::{UploadMetadata, parse_metadata};
pub use store::UploadStore;

/// The protocol version spoken, sent with every answer.
pub const TUS_VERSION: &str = "1.0.0";
pub const TUS_EXTENSIONS: &str = "creation,expiration,termination";
/// PATCH bodies carry this type.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// File name extensions of movie files we ingest: a creation naming another
/// (`.m3u8`, `.jpg`, `.txt`) is refused before any byte is sent. What the
/// bytes are is found out by probing, after the upload.
pub const MOVIE_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "ts", "m2ts", "mts", "flv", "ogv", "ogg", "mpg", "mpeg", "vob", "wmv",
    "asf",
];

/// Whether a file of this name and declared type may be uploaded as a movie.
pub fn is_movie_file(file_name: &str, file_type: Option<&str>) -> bool {
    match file_name.rsplit_once('.') {
        Some((_, extension)) => MOVIE_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()),
        None => file_type.is_some_and(|t| t.starts_with("video/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movie_files_are_told_by_their_extension_else_their_type() {
        assert!(is_movie_file("Holiday.MKV", None));
        assert!(is_movie_file("film.2024.mp4", Some("application/octet-stream")));
        assert!(!is_movie_file("list.m3u8", Some("video/mp4")), "the name wins over a declared type");
        assert!(!is_movie_file("poster.jpg", None));
        assert!(is_movie_file("recording", Some("video/webm")));
        assert!(!is_movie_file("notes", Some("text/plain")));
        assert!(!is_movie_file("notes", None));
    }
}
