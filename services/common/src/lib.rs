//! Pieces every Cinemesh service shares: the JSON error envelope, the database
//! (SQLite or Postgres behind one pool type) with its migrations, and random ids.

pub mod client_address;
pub mod connections;
pub mod db;
pub mod error;
pub mod ice_pairs;
pub mod id;
pub mod presence_pass;
pub mod rate_limit;
pub mod refusal;
pub mod routes;
pub mod shared_secret;
pub mod signer;
pub mod stop;
pub mod swarm_token;
pub mod turn_credentials;

pub use connections::Connections;
pub use db::{Database, DatabaseKind};
pub use error::{ApiError, ErrorBody};
pub use ice_pairs::IcePairs;
pub use refusal::Refusal;
pub use signer::Signer;
pub use stop::{StopSignal, StopWatch};
