//! The quick start's demo movie: created on the first start of the embedded
//! default while the catalog is empty, in the background, so the web client
//! is up at once and shows the progress.

use std::path::PathBuf;

use cinemesh_catalog::domain::{Description, Title};
use cinemesh_catalog::ingest::{ActiveIngests, IngestError, IngestRequest, Ingester, generate_demo_source};

use crate::config::DemoConfig;

pub const DEMO_TITLE: &str = "Cinemesh Demo: Test Pattern";
const DEMO_DESCRIPTION: &str = "A test pattern with a tone and a large running clock. \
    Open it in two windows, start a watch party, and compare the clocks.";

pub async fn ensure_demo_movie(ingester: Ingester, active: ActiveIngests, demo: DemoConfig, data_dir: PathBuf) {
    match ingester.store.count().await {
        Ok(0) => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "could not count movies; skipping the demo movie");
            return;
        }
    }
    let progress = active.start(DEMO_TITLE);
    tracing::info!(seconds = demo.duration_secs, "creating the demo movie");
    let source = data_dir.join(format!("demo-source-{}.mp4", std::process::id()));
    let result = async {
        generate_demo_source(&ingester.tools, &source, demo.duration_secs).await?;
        let request = IngestRequest {
            source: source.clone(),
            title: Title::parse(DEMO_TITLE).map_err(|e| IngestError::NotAVideo(e.message))?,
            description: Description::parse(DEMO_DESCRIPTION).map_err(|e| IngestError::NotAVideo(e.message))?,
            year: None,
            subtitles: vec![],
            staging_name: None,
        };
        ingester.ingest(&request, &mut |p| progress.update(p)).await
    }
    .await;
    let _ = tokio::fs::remove_file(&source).await;
    drop(progress);
    match result {
        Ok(movie) => tracing::info!(movie = %movie.id, "the demo movie is ready"),
        Err(e @ IngestError::FfmpegMissing { .. }) => {
            tracing::warn!("{e}; the web client is served without a demo movie");
            active.set_notice(Some(format!("No demo movie: {e}. Restart Cinemesh after installing it.")));
        }
        Err(e) => {
            tracing::error!(error = %e, "could not create the demo movie");
            active.set_notice(Some(format!("The demo movie could not be created: {e}")));
        }
    }
}
