//! Pieces every Cinemesh service shares: the JSON error envelope, the database
//! (SQLite or Postgres behind one pool type) with its migrations, and random ids.

pub mod db;
pub mod error;
pub mod id;
pub mod swarm_token;

pub use db::{Database, DatabaseKind};
pub use error::{ApiError, ErrorBody};
