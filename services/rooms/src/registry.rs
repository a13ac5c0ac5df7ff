//! The rooms of this instance, by id. Each room runs as its own task; the
//! registry hands out the sender of its commands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use cinemesh_common::db::now_ms;
use tokio::sync::mpsc;

use crate::room::{Room, RoomCommand, RoomSetup, run_room};
use crate::store::RoomStore;

/// Commands queued for one room before senders wait.
const ROOM_QUEUE: usize = 1024;

#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: String,
    pub movie: String,
    pub has_password: bool,
    pub commands: mpsc::Sender<RoomCommand>,
}

/// The rooms running here; with a store, rooms are recorded and a room not
/// running here is looked up there (after a restart).
#[derive(Clone)]
pub struct Rooms {
    rooms: Arc<Mutex<HashMap<String, RoomHandle>>>,
    store: Option<RoomStore>,
    resume_grace_ms: i64,
    buffer_wait_ms: i64,
    /// Chat budgets per client address, across rooms and connections.
    pub chat_limits: crate::ip_limits::IpLimits,
}

impl Default for Rooms {
    fn default() -> Self {
        Self {
            rooms: Arc::default(),
            store: None,
            resume_grace_ms: crate::room::DEFAULT_RESUME_GRACE_MS,
            buffer_wait_ms: crate::room::DEFAULT_BUFFER_WAIT_MS,
            chat_limits: crate::ip_limits::IpLimits::default(),
        }
    }
}

impl Rooms {
    pub fn with_store(store: RoomStore) -> Self {
        Self { store: Some(store), ..Self::default() }
    }

    /// How long a room waits for members whose players ran dry.
    pub fn with_buffer_wait(mut self, wait_ms: i64) -> Self {
        self.buffer_wait_ms = wait_ms;
        self
    }

    /// How long a member whose socket dropped keeps its seat.
    pub fn with_resume_grace(mut self, grace_ms: i64) -> Self {
        self.resume_grace_ms = grace_ms;
        self
    }

    /// Starts a new room and returns its handle.
    pub fn create(&self, setup: RoomSetup) -> RoomHandle {
        let room = Room::new(setup.clone(), self.store.clone(), now_ms)
            .with_resume_grace(self.resume_grace_ms)
            .with_buffer_wait(self.buffer_wait_ms);
        self.start(&setup, room)
    }

    fn start(&self, setup: &RoomSetup, room: Room) -> RoomHandle {
        let (commands, receiver) = mpsc::channel(ROOM_QUEUE);
        let handle = RoomHandle {
            id: setup.id.clone(),
            movie: setup.movie.clone(),
            has_password: setup.password.is_some(),
            commands,
        };
        actix_web::rt::spawn(run_room(room, receiver));
        self.lock().insert(handle.id.clone(), handle.clone());
        handle
    }

    /// The room, running here or brought back from the store.
    pub async fn get(&self, id: &str) -> Result<Option<RoomHandle>, sqlx::Error> {
        if let Some(handle) = self.lock().get(id).cloned() {
            return Ok(Some(handle));
        }
        let Some(store) = &self.store else { return Ok(None) };
        let Some(stored) = store.load(id).await? else { return Ok(None) };
        // Another request may have brought it back meanwhile: one task per room.
        if let Some(handle) = self.lock().get(id).cloned() {
            return Ok(Some(handle));
        }
        let setup = stored.setup.clone();
        let room = Room::restore(stored, Some(store.clone()), now_ms)
            .with_resume_grace(self.resume_grace_ms)
            .with_buffer_wait(self.buffer_wait_ms);
        Ok(Some(self.start(&setup, room)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomHandle>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
