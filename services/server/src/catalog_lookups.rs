//! What other services ask the catalog: the tracker, how many segments a
//! rendition has when a peer joins its swarm (cached, as segment counts never
//! change); the rooms, how long a movie is when a room is created.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::domain::MovieId;
use cinemesh_rooms::MovieDirectory;
use cinemesh_tracker::RenditionDirectory;

pub struct CatalogRenditions {
    store: CatalogStore,
    cache: Mutex<HashMap<(String, String), u32>>,
}

impl CatalogRenditions {
    pub fn new(store: CatalogStore) -> Self {
        Self { store, cache: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, movie: &str, rendition: &str) -> Option<u32> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(&(movie.to_owned(), rendition.to_owned())).copied()
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
            for r in &renditions {
                cache.insert((movie.to_owned(), r.name.clone()), r.segment_count as u32);
            }
            cache.get(&(movie.to_owned(), rendition.to_owned())).copied()
        })
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
    fn duration_ms<'a>(&'a self, movie: &'a str) -> Pin<Box<dyn Future<Output = Option<f64>> + 'a>> {
        Box::pin(async move {
            let id = MovieId::parse(movie).ok()?;
            let (movie, _) = self.store.get(&id).await.ok()??;
            Some(movie.duration_ms as f64)
        })
    }
}
