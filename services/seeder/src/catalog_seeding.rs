//! `cinemesh seed --all`: every movie in the catalog, and each one added
//! later, seeded by one process under one upload cap (the compose stack's
//! `seeder` profile runs it). The catalog is listed again every minute; a
//! movie that cannot be seeded (no file in the folder matches its hashes) is
//! named in the log and tried again after ten minutes, not every minute,
//! since trying means hashing its files. A movie deleted from the catalog
//! stops being seeded at its next reconnection to the tracker (which ends
//! its swarms) and is not listed again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use cinemesh_protocol::catalog::MoviePage;
use tokio::sync::mpsc;

use crate::seeder::{SeedOptions, get_json, http_client, seed_movie};
use crate::upload::UploadBudget;

const LIST_EVERY: Duration = Duration::from_secs(60);
const RETRY_AFTER: Duration = Duration::from_secs(600);
/// The catalog's largest page.
const PER_PAGE: usize = 100;

pub async fn seed_catalog(options: SeedOptions, budget: UploadBudget) -> anyhow::Result<()> {
    let client = http_client();
    let server = options.server.trim_end_matches('/').to_owned();
    let mut seeding: HashSet<String> = HashSet::new();
    let mut failed: HashMap<String, Instant> = HashMap::new();
    let (ended, mut endings) = mpsc::unbounded_channel::<(String, anyhow::Error)>();
    loop {
        match movie_ids(&client, &server).await {
            Ok(ids) => {
                for id in ids {
                    let waiting = failed.get(&id).is_some_and(|at| at.elapsed() < RETRY_AFTER);
                    if waiting || !seeding.insert(id.clone()) {
                        continue;
                    }
                    failed.remove(&id);
                    let (options, budget, ended) = (options.clone(), budget.clone(), ended.clone());
                    actix_rt::spawn(async move {
                        if let Err(error) = seed_movie(options, id.clone(), budget).await {
                            let _ = ended.send((id, error));
                        }
                    });
                }
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "could not list the catalog; trying again"),
        }
        let next_listing = tokio::time::sleep(LIST_EVERY);
        tokio::pin!(next_listing);
        loop {
            tokio::select! {
                () = &mut next_listing => break,
                Some((movie, error)) = endings.recv() => {
                    tracing::warn!(%movie, error = %format!("{error:#}"), "not seeding this movie; trying again in 10 minutes");
                    seeding.remove(&movie);
                    failed.insert(movie, Instant::now());
                }
            }
        }
    }
}

/// Every movie's id, page after page.
async fn movie_ids(client: &awc::Client, server: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for page in 1.. {
        let listed: MoviePage =
            get_json(client, &format!("{server}/api/movies?per_page={PER_PAGE}&page={page}")).await?;
        let count = listed.movies.len();
        ids.extend(listed.movies.into_iter().map(|movie| movie.id));
        if count < PER_PAGE || ids.len() as i64 >= listed.total {
            break;
        }
    }
    Ok(ids)
}
