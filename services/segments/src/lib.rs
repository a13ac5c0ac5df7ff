//! The segment server: serves the media directory (master and media playlists,
//! segments, posters) over HTTP, and the web client's static files with the same
//! file machinery. Safe paths only, byte ranges, strong ETags, streamed bodies,
//! bytes served counted per movie and rendition.

mod counters;
mod file_response;
mod media_path;
mod range;
mod routes;
mod served_dir;
mod static_files;

pub use counters::ServedBytes;
pub use file_response::{FileResponder, content_type_for};
pub use media_path::{MediaPath, MediaPathError};
pub use range::{ByteRange, RangeRequest, parse_range};
pub use routes::{MediaState, configure_media};
pub use served_dir::ServedDir;
pub use static_files::{WebState, configure_web};
