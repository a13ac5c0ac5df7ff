//! Pieces every Cinemesh service shares: the JSON error envelope, the database
//! (SQLite or Postgres behind one pool type) with its migrations, and random ids.

#[cfg(feature = "server")]
pub mod client_address;
#[cfg(feature = "server")]
pub mod connections;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod ice_pairs;
pub mod id;
pub mod presence_pass;
pub mod rate_limit;
pub mod refusal;
#[cfg(feature = "server")]
pub mod routes;
#[cfg(feature = "server")]
pub mod shared_secret;
pub mod signer;
pub mod stop;
pub mod swarm_token;
pub mod turn_credentials;

#[cfg(feature = "server")]
pub use connections::Connections;
#[cfg(feature = "server")]
pub use db::{Database, DatabaseKind};
#[cfg(feature = "server")]
pub use error::{ApiError, ErrorBody};
#[cfg(feature = "server")]
pub use ice_pairs::IcePairs;
pub use refusal::Refusal;
pub use signer::Signer;
pub use stop::{StopSignal, StopWatch};
