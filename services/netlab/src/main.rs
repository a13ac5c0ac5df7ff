//! `netlab`: see the crate documentation and README.md, "The network lab (netlab)".

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cinemesh_netlab::cli::Cli::parse();
    match cinemesh_netlab::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netlab: {e:#}");
            ExitCode::FAILURE
        }
    }
}
