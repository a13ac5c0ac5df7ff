//! Ingests under way in this process, with their progress, so people looking
//! at an empty catalog can see that the demo movie is being prepared.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use utoipa::ToSchema;

/// One ingest under way.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ActiveIngest {
    pub title: String,
    /// 0 to 100.
    pub percent: u8,
    /// Estimated seconds left, once known.
    pub eta_secs: Option<u64>,
}

/// What `GET /api/catalog/status` answers.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Default)]
pub struct CatalogStatus {
    pub ingests: Vec<ActiveIngest>,
    /// Something the operator must do for the catalog to fill (e.g. install ffmpeg).
    pub notice: Option<String>,
}

#[derive(Default, Debug)]
struct Registry {
    next_key: u64,
    entries: Vec<(u64, ActiveIngest)>,
    notice: Option<String>,
}

#[derive(Clone, Default, Debug)]
pub struct ActiveIngests {
    inner: Arc<Mutex<Registry>>,
}

impl ActiveIngests {
    /// Registers an ingest; progress updates go through the returned handle,
    /// which removes the entry when dropped.
    pub fn start(&self, title: &str) -> ActiveIngestHandle {
        let mut inner = self.lock();
        inner.next_key += 1;
        let key = inner.next_key;
        inner.entries.push((key, ActiveIngest { title: title.to_owned(), percent: 0, eta_secs: None }));
        ActiveIngestHandle { registry: self.clone(), key }
    }

    pub fn set_notice(&self, notice: Option<String>) {
        self.lock().notice = notice;
    }

    pub fn status(&self) -> CatalogStatus {
        let inner = self.lock();
        CatalogStatus { ingests: inner.entries.iter().map(|(_, i)| i.clone()).collect(), notice: inner.notice.clone() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct ActiveIngestHandle {
    registry: ActiveIngests,
    key: u64,
}

impl ActiveIngestHandle {
    pub fn update(&self, progress: super::EncodeProgress) {
        let mut inner = self.registry.lock();
        if let Some((_, entry)) = inner.entries.iter_mut().find(|(k, _)| *k == self.key) {
            entry.percent = (progress.fraction * 100.0).round().clamp(0.0, 100.0) as u8;
            entry.eta_secs = progress.eta.map(|d| d.as_secs());
        }
    }
}

impl Drop for ActiveIngestHandle {
    fn drop(&mut self) {
        self.registry.lock().entries.retain(|(k, _)| *k != self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::EncodeProgress;

    #[test]
    fn ingests_are_listed_with_progress_until_dropped() {
        let active = ActiveIngests::default();
        let handle = active.start("Demo");
        handle.update(EncodeProgress { fraction: 0.456, eta: Some(std::time::Duration::from_secs(12)) });
        assert_eq!(
            active.status().ingests,
            vec![ActiveIngest { title: "Demo".into(), percent: 46, eta_secs: Some(12) }]
        );
        drop(handle);
        assert!(active.status().ingests.is_empty());
    }
}
