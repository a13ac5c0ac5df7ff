//! What other services ask the catalog: the tracker, how many segments a
//! rendition has when a peer joins its swarm (cached, as segment counts never
//! change, but only for a minute: a movie deleted through another instance
//! must stop admitting peers here too); the rooms, how long a movie is when a
//! room is created.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::domain::MovieId;
use cinemesh_rooms::{MovieDirectory, MovieFacts};
use cinemesh_tracker::RenditionDirectory;

/// How long a looked-up segment count is trusted.
const CACHED_FOR: Duration = Duration::from_secs(60);

pub struct CatalogRenditions {
    store: CatalogStore,
    cache: Mutex<HashMap<(String, String), (u32, Instant)>>,
}

impl CatalogRenditions {
    pub fn new(store: CatalogStore) -> Self {
        Self { store, cache: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, movie: &str, rendition: &str) -> Option<u32> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(&(movie.to_owned(), rendition.to_owned()))
            .filter(|(_, at)| at.elapsed() < CACHED_FOR)
            .map(|(count, _)| *count)
    }
}

impl RenditionDirectory for CatalogRenditions {
    fn segment_count<'a>(
        &'a self,
        movie: &'a str,
        rendition: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<u32>> + 'a>> {
        Box::pin(async move {
            if let Some(count) = self.cached(movie, rendition) {
                return Some(count);
            }
            let id = MovieId::parse(movie).ok()?;
            let (_, renditions) = self.store.get(&id).await.ok()??;
            let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.retain(|_, (_, at)| at.elapsed() < CACHED_FOR);
            let now = Instant::now();
            for r in &renditions {
                cache.insert((movie.to_owned(), r.name.clone()), (r.segment_count as u32, now));
            }
            renditions.iter().find(|r| r.name == rendition).map(|r| r.segment_count as u32)
        })
    }

    fn forget(&self, movie: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.retain(|(cached_movie, _), _| cached_movie != movie);
    }
}

pub struct CatalogMovies {
    store: CatalogStore,
}

impl CatalogMovies {
    pub fn new(store: CatalogStore) -> Self {
        Self { store }
    }
}

impl MovieDirectory for CatalogMovies {
    fn facts<'a>(&'a self, movie: &'a str) -> Pin<Box<dyn Future<Output = Option<MovieFacts>> + 'a>> {
        Box::pin(async move {
            let id = MovieId::parse(movie).ok()?;
            let (movie, _) = self.store.get(&id).await.ok()??;
            Some(MovieFacts { title: movie.title, duration_ms: movie.duration_ms as f64 })
        })
    }
}
