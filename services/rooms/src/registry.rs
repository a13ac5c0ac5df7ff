//! The rooms of this instance, by id. Each room runs as its own task; the
//! registry hands out the sender of its commands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::room::{Room, RoomCommand, RoomSetup, run_room};

/// Commands queued for one room before senders wait.
const ROOM_QUEUE: usize = 1024;

#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: String,
    pub movie: String,
    pub has_password: bool,
    pub commands: mpsc::Sender<RoomCommand>,
}

#[derive(Clone, Default)]
pub struct Rooms {
    rooms: Arc<Mutex<HashMap<String, RoomHandle>>>,
}

/// The server's clock, Unix ms.
pub fn now_ms() -> i64 {
    cinemesh_common::db::now_ms()
}

impl Rooms {
    /// Starts a room and returns its handle.
    pub fn create(&self, setup: RoomSetup) -> RoomHandle {
        let (commands, receiver) = mpsc::channel(ROOM_QUEUE);
        let handle = RoomHandle {
            id: setup.id.clone(),
            movie: setup.movie.clone(),
            has_password: setup.password.is_some(),
            commands,
        };
        actix_web::rt::spawn(run_room(Room::new(setup, now_ms), receiver));
        self.lock().insert(handle.id.clone(), handle.clone());
        handle
    }

    pub fn get(&self, id: &str) -> Option<RoomHandle> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomHandle>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
