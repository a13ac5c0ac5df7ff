//! The catalog: movies, their renditions and every segment's size and SHA-256;
//! the ffmpeg ingest that produces them; and the JSON API that lists them.

pub mod admin;
pub mod api;
pub mod domain;
pub mod ingest;
pub mod jobs;
pub mod model;
pub mod poster;
pub mod store;
pub mod subtitle_tracks;
pub mod subtitles;
pub mod subtitles_api;
pub mod temp_file;
pub mod uploads;

pub use store::CatalogStore;
