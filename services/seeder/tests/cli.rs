//! The `cinemesh-seeder` binary fails clearly when it cannot seed: no movie
//! named, a server that does not answer.
//! (Seeding itself is tested with real browsers in web/e2e/seeder.test.ts.)

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn seeder(args: &[&str]) -> (bool, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_cinemesh-seeder")).args(args).env("CINEMESH_LOG", "error").output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_movie_must_be_named() {
    let (ok, stderr) = seeder(&[]);
    assert!(!ok);
    assert!(stderr.contains("--movie"), "{stderr}");
}

#[test]
fn an_unreachable_server_is_reported() {
    // Port 9 (discard) on loopback: nothing listens there.
    let (ok, stderr) = seeder(&["--movie", "m1", "--server", "http://127.0.0.1:9"]);
    assert!(!ok);
    assert!(stderr.contains("GET http://127.0.0.1:9/api/movies/m1/segments"), "{stderr}");
}
