//! How a room is set up when it is created (what the store keeps of it and
//! the room is built from), and the movie it plays now, which its queue
//! changes.

use std::sync::{Arc, Mutex, PoisonError};

/// How a room is set up when it is created; `movie`, `title` and
/// `duration_ms` are the movie it plays now.
#[derive(Debug, Clone)]
pub struct RoomSetup {
    pub id: String,
    pub movie: String,
    pub title: String,
    pub duration_ms: f64,
    /// Checked with `PasswordHash::matches`; `None`: open to anyone with the link.
    pub password: Option<crate::password::PasswordHash>,
}

/// The movie a running room plays, as its room task last set it: the
/// registry reads it to describe the room and to end the rooms of a
/// deleted movie.
#[derive(Debug, Clone, Default)]
pub struct CurrentMovie(Arc<Mutex<String>>);

impl CurrentMovie {
    pub fn new(movie: &str) -> Self {
        Self(Arc::new(Mutex::new(movie.to_owned())))
    }

    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set(&self, movie: &str) {
        movie.clone_into(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn is(&self, movie: &str) -> bool {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) == movie
    }
}
