//! Integration tests of netlab with real namespaces, NATs and shapers. They need root (CI runs
//! as root); without it each test prints why it did not run and passes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod lifecycle;
mod links;
mod nat;
