//! Running the library: who may (the admin token, or users with passwords and
//! browser sessions), and the admin pages' own routes.

pub mod accounts;
pub mod auth;
pub mod library;
pub mod library_api;
pub mod session_api;

pub use accounts::AdminAccounts;
pub use auth::Admin;
