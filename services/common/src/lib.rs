//! Pieces every Cinemesh service shares: the JSON error envelope, the database
//! (SQLite or Postgres behind one pool type) with its migrations, and random ids.

pub mod db;
pub mod error;
pub mod id;
pub mod rate_limit;
pub mod refusal;
pub mod swarm_token;

pub use db::{Database, DatabaseKind};
pub use error::{ApiError, ErrorBody};
pub use refusal::Refusal;
