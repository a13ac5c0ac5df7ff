use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let _logs = cinemesh_server::telemetry::init();
    let cli = cinemesh_server::cli::Cli::parse();
    match cinemesh_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
