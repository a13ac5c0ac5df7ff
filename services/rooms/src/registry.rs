//! The rooms of this instance, by id. Each room runs as its own task; the
//! registry hands out a handle to it. With a store, a room not running here
//! is brought back from it (after a restart, or after it was unloaded for
//! being empty). With a relay (Redis), a room runs on one instance at a time:
//! the handle of a room whose home is elsewhere sends through the relay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cinemesh_common::db::now_ms;
use cinemesh_common::presence_pass::PresencePasses;
use cinemesh_common::turn_credentials::IceServers;
use cinemesh_protocol::room_relay::{ConnectionKey, JoinAnswer, RelayedCommand};
use tokio::sync::{mpsc, oneshot};

use crate::api::MovieDirectory;
use crate::delivery::Route;
use crate::frame::refusal_message;
use crate::password::PasswordHash;
use crate::relay::{Home, Incoming, ROOM_MOVED, Relay, room_moved};
use crate::room::{Room, RoomCommand, run_room};
use crate::setup::{CurrentMovie, RoomSetup};
use crate::store::RoomStore;

/// Rooms one address may create per hour unless configured otherwise.
const DEFAULT_CREATIONS_PER_HOUR: u32 = 30;

fn creation_limits(per_hour: u32) -> crate::ip_limits::IpLimits {
    crate::ip_limits::IpLimits::new(f64::from(per_hour) / 3600.0, f64::from(per_hour))
}

/// Commands queued for one room before senders wait.
const ROOM_QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("reading the room from the database")]
    Database(#[from] sqlx::Error),
    #[error("asking Redis where the room runs")]
    Redis(#[from] redis::RedisError),
    #[error("this instance is shutting down")]
    ShuttingDown,
}

impl From<LookupError> for cinemesh_common::ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::ShuttingDown => Self::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "this server is shutting down; try again",
            ),
            other => Self::internal(&other),
        }
    }
}

/// Where a handle's commands go.
#[derive(Debug, Clone)]
enum Destination {
    Here(mpsc::Sender<RoomCommand>),
    There { home: String, relay: Relay },
}

#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: String,
    /// The movie it plays now.
    pub movie: CurrentMovie,
    /// Checked by the member's session before it joins (on the blocking pool).
    pub password: Option<Arc<PasswordHash>>,
    destination: Destination,
}

impl RoomHandle {
    /// Hands a command to the room. Gives it back when the room does not run
    /// here any more (it was unloaded or moved): ask the registry again.
    pub async fn send(&self, command: RoomCommand) -> Result<(), RoomCommand> {
        match &self.destination {
            Destination::Here(commands) => commands.send(command).await.map_err(|e| e.0),
            Destination::There { home, relay } => {
                self.relay(home, relay, command);
                Ok(())
            }
        }
    }

    fn relay(&self, home: &str, relay: &Relay, command: RoomCommand) {
        match command {
            RoomCommand::Join { name, admitted, resume, address, connection, route, accepted } => {
                let Route::Local(outbox) = route else { return };
                let join = RelayedCommand::Join { connection: connection.clone(), name, admitted, resume, address };
                relay.join_remote(&self.id, home, connection, join, outbox, accepted);
            }
            RoomCommand::Message { member, connection, message } => {
                relay.command(&self.id, home, RelayedCommand::Message { member, connection, message });
            }
            RoomCommand::Detach { member, connection } => {
                relay.forget(&connection);
                relay.command(&self.id, home, RelayedCommand::Detach { member, connection });
            }
            RoomCommand::Leave { member, connection } => {
                relay.forget(&connection);
                relay.command(&self.id, home, RelayedCommand::Leave { member, connection });
            }
            // The room's own: never from a member.
            RoomCommand::Tick
            | RoomCommand::Stop
            | RoomCommand::End(_)
            | RoomCommand::LookedUp { .. }
            | RoomCommand::MovieGone(_) => {}
        }
    }
}

/// How rooms started here are set up.
#[derive(Debug, Clone, Copy)]
struct Timing {
    resume_grace_ms: i64,
    buffer_wait_ms: i64,
    empty_grace_ms: i64,
    max_members: usize,
}

/// The rooms running here, and how to find or bring back the others.
#[derive(Clone)]
pub struct Rooms {
    rooms: Arc<Mutex<HashMap<String, RoomHandle>>>,
    store: Option<RoomStore>,
    relay: Option<Relay>,
    timing: Timing,
    /// Names this instance's connections: `{instance}.{n}`.
    instance: Arc<str>,
    connections: Arc<AtomicU64>,
    /// Set by `shutdown`: no room starts here any more.
    stopping: Arc<AtomicBool>,
    /// Signs the presence pass of each room welcome; the lobby checks them.
    pub passes: PresencePasses,
    /// Handed to each member in its welcome, for the call (TURN credentials made for it).
    pub ice_servers: IceServers,
    /// Wrong-password counts per address and per room.
    pub password_guard: crate::password_guard::PasswordGuard,
    /// Room creations per client address.
    pub creation_limits: crate::ip_limits::IpLimits,
    /// Chat budgets per client address, across rooms and connections.
    pub chat_limits: crate::ip_limits::IpLimits,
    pub metrics: crate::metrics::RoomMetrics,
    /// Where rooms look up the movies members queue.
    movies: Option<Arc<dyn MovieDirectory>>,
}

impl Default for Rooms {
    fn default() -> Self {
        Self {
            rooms: Arc::default(),
            store: None,
            relay: None,
            timing: Timing {
                resume_grace_ms: crate::room::DEFAULT_RESUME_GRACE_MS,
                buffer_wait_ms: crate::room::DEFAULT_BUFFER_WAIT_MS,
                empty_grace_ms: crate::room::DEFAULT_EMPTY_GRACE_MS,
                max_members: crate::room::DEFAULT_MAX_MEMBERS,
            },
            instance: cinemesh_common::id::random_id(12).into(),
            connections: Arc::default(),
            stopping: Arc::default(),
            passes: PresencePasses::new(cinemesh_common::Signer::new("")),
            ice_servers: IceServers::default(),
            password_guard: crate::password_guard::PasswordGuard::default(),
            chat_limits: crate::ip_limits::IpLimits::default(),
            creation_limits: creation_limits(DEFAULT_CREATIONS_PER_HOUR),
            metrics: crate::metrics::RoomMetrics::default(),
            movies: None,
        }
    }
}

impl Rooms {
    pub fn with_store(store: RoomStore) -> Self {
        Self { store: Some(store), ..Self::default() }
    }

    /// How long a room waits for members whose players ran dry.
    pub fn with_buffer_wait(mut self, wait_ms: i64) -> Self {
        self.timing.buffer_wait_ms = wait_ms;
        self
    }

    /// How long a member whose socket dropped keeps its seat.
    pub fn with_resume_grace(mut self, grace_ms: i64) -> Self {
        self.timing.resume_grace_ms = grace_ms;
        self
    }

    /// How long a room nobody is in stays in memory (its rows stay in the store).
    pub fn with_empty_grace(mut self, grace_ms: i64) -> Self {
        self.timing.empty_grace_ms = grace_ms;
        self
    }

    pub fn with_max_members(mut self, max_members: usize) -> Self {
        self.timing.max_members = max_members;
        self
    }

    /// Rooms one address may create per hour (and at once).
    pub fn with_creations_per_hour(mut self, per_hour: u32) -> Self {
        self.creation_limits = creation_limits(per_hour);
        self
    }

    /// Passes signed with the secret every instance shares.
    pub fn with_passes(mut self, passes: PresencePasses) -> Self {
        self.passes = passes;
        self
    }

    /// The STUN/TURN servers each welcome carries.
    pub fn with_ice_servers(mut self, ice_servers: IceServers) -> Self {
        self.ice_servers = ice_servers;
        self
    }

    /// The catalog the rooms' queues take movies from (set before `with_relay`).
    pub fn with_movies(mut self, movies: Arc<dyn MovieDirectory>) -> Self {
        self.movies = Some(movies);
        self
    }

    /// Shares rooms with other instances through `relay`; what they ask of
    /// rooms running here arrives on `incoming`.
    pub fn with_relay(mut self, relay: Relay, incoming: mpsc::Receiver<Incoming>) -> Self {
        self.instance = relay.instance().into();
        self.relay = Some(relay);
        actix_web::rt::spawn(self.clone().serve_relay(incoming));
        self
    }

    /// A name for a new socket's hold on a member, unique across instances.
    pub fn next_connection(&self) -> ConnectionKey {
        format!("{}.{}", self.instance, self.connections.fetch_add(1, Ordering::Relaxed))
    }

    /// Starts a new room here and returns its handle.
    pub async fn create(&self, setup: RoomSetup) -> Result<RoomHandle, LookupError> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(LookupError::ShuttingDown);
        }
        if let Some(relay) = &self.relay {
            // A fresh random id: nobody else holds it, so it is ours.
            relay.claim(&setup.id).await?;
        }
        let room = self.set_up(Room::new(setup.clone(), self.store.clone(), now_ms));
        if let Some(store) = &self.store
            && let Err(e) = store.write_now(&room.created()).await
        {
            if let Some(relay) = &self.relay {
                relay.release(&setup.id).await;
            }
            return Err(e.into());
        }
        Ok(self.start(&setup, room))
    }

    fn set_up(&self, room: Room) -> Room {
        room.with_resume_grace(self.timing.resume_grace_ms)
            .with_buffer_wait(self.timing.buffer_wait_ms)
            .with_empty_grace(self.timing.empty_grace_ms)
            .with_max_members(self.timing.max_members)
            .with_passes(self.passes.clone())
            .with_ice_servers(self.ice_servers.clone())
            .with_metrics(self.metrics.clone())
            .with_movies(self.movies.clone())
    }

    fn start(&self, setup: &RoomSetup, room: Room) -> RoomHandle {
        let (commands, receiver) = mpsc::channel(ROOM_QUEUE);
        let movie = CurrentMovie::new(&setup.movie);
        // The room keeps no strong sender of its own: its task still ends once nobody holds one.
        let room = room.with_current_movie(movie.clone()).with_own_commands(commands.downgrade());
        let handle = RoomHandle {
            id: setup.id.clone(),
            movie,
            password: setup.password.clone().map(Arc::new),
            destination: Destination::Here(commands.clone()),
        };
        self.lock().insert(handle.id.clone(), handle.clone());
        self.metrics.rooms.inc();
        let rooms = self.clone();
        let id = setup.id.clone();
        actix_web::rt::spawn(async move {
            run_room(room, receiver).await;
            rooms.stopped(&id, &commands).await;
        });
        handle
    }

    /// A room's task ended: it is forgotten here, and once its writes reached
    /// the database (where its next home reads it), its lease is given up.
    async fn stopped(&self, id: &str, commands: &mpsc::Sender<RoomCommand>) {
        if let Some(store) = &self.store {
            store.flush().await;
        }
        {
            let mut rooms = self.lock();
            // Only this run of the room; a newer one may have started since.
            if rooms.get(id).is_some_and(|h| matches!(&h.destination, Destination::Here(c) if c.same_channel(commands)))
            {
                rooms.remove(id);
            }
        }
        self.metrics.rooms.dec();
        tracing::debug!(room = id, "room unloaded");
        if let Some(relay) = &self.relay {
            relay.release(id).await;
        }
    }

    /// The room: running here, brought back from the store, or (with a
    /// relay) running on another instance.
    pub async fn get(&self, id: &str) -> Result<Option<RoomHandle>, LookupError> {
        if let Some(handle) = self.lock().get(id).cloned() {
            return Ok(Some(handle));
        }
        if self.stopping.load(Ordering::Relaxed) {
            return Err(LookupError::ShuttingDown);
        }
        let Some(store) = &self.store else { return Ok(None) };
        let Some(relay) = &self.relay else { return Ok(self.bring_back(store, id).await?) };
        match relay.claim(id).await? {
            Home::Here => {
                let handle = self.bring_back(store, id).await?;
                if handle.is_none() {
                    relay.release(id).await;
                }
                Ok(handle)
            }
            Home::There(home) => Ok(store.summary(id).await?.map(|(movie, password)| RoomHandle {
                id: id.to_owned(),
                movie: CurrentMovie::new(&movie),
                password: password.map(Arc::new),
                destination: Destination::There { home, relay: relay.clone() },
            })),
        }
    }

    async fn bring_back(&self, store: &RoomStore, id: &str) -> Result<Option<RoomHandle>, sqlx::Error> {
        let Some(stored) = store.load(id).await? else { return Ok(None) };
        // Another request may have brought it back meanwhile: one task per room.
        if let Some(handle) = self.lock().get(id).cloned() {
            return Ok(Some(handle));
        }
        let setup = stored.setup.clone();
        let room = self.set_up(Room::restore(stored, Some(store.clone()), now_ms));
        Ok(Some(self.start(&setup, room)))
    }

    /// Stops every room here, as a graceful shutdown does: members are told
    /// to reconnect (another instance takes the rooms, or this one after a
    /// restart), writes are flushed and leases given up; members here of rooms
    /// homed elsewhere are told to reconnect too. Waits at most `bound`.
    pub async fn shutdown(&self, bound: Duration) {
        self.stopping.store(true, Ordering::Relaxed);
        // Sockets here of rooms homed elsewhere are as much this instance's to end.
        if let Some(ended) = self.relay.as_ref().map(Relay::end_sessions).filter(|n| *n > 0) {
            tracing::info!(sessions = ended, "members of rooms homed elsewhere told to reconnect");
        }
        let handles: Vec<RoomHandle> = self.lock().values().cloned().collect();
        for handle in handles {
            let _ = handle.send(RoomCommand::Stop).await;
        }
        let deadline = tokio::time::Instant::now() + bound;
        while !self.lock().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The writes queued by now get what is left of the bound: with the
        // database down they could wait a minute, and stopping must not.
        if let Some(store) = &self.store {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_secs(1));
            if tokio::time::timeout(left, store.flush()).await.is_err() {
                tracing::warn!("stopped before every room write reached the database");
            }
        }
    }

    /// Waits, without a bound, until every room write queued so far has
    /// reached the database (`shutdown` waits only so long).
    pub async fn flush_writes(&self) {
        if let Some(store) = &self.store {
            store.flush().await;
        }
    }

    /// Whether a room with this id exists (running anywhere, or stored).
    pub async fn exists(&self, id: &str) -> Result<bool, sqlx::Error> {
        if self.lock().contains_key(id) {
            return Ok(true);
        }
        match &self.store {
            Some(store) => Ok(store.summary(id).await?.is_some()),
            None => Ok(false),
        }
    }

    /// Ends every room playing a deleted movie: their rows go, and members of
    /// the rooms running here are told `movie_deleted`; the other rooms here
    /// drop it from their queues. Returns how many rooms went.
    pub async fn close_movie(&self, movie: &str) -> Result<usize, sqlx::Error> {
        let deleted = match &self.store {
            Some(store) => store.delete_rooms_of(movie).await?,
            None => Vec::new(),
        };
        // Out of the map at once, so that nobody is handed a room that is ending.
        let running: Vec<RoomHandle> = {
            let mut rooms = self.lock();
            let ending: Vec<String> = rooms.values().filter(|h| h.movie.is(movie)).map(|h| h.id.clone()).collect();
            ending.iter().filter_map(|id| rooms.remove(id)).collect()
        };
        for handle in &running {
            match &handle.destination {
                Destination::Here(_) => {
                    let _ = handle.send(RoomCommand::End(movie_deleted())).await;
                }
                Destination::There { home, relay } => relay.command(&handle.id, home, RelayedCommand::MovieDeleted),
            }
        }
        // The other rooms of the movie, running on other instances, are told through their homes.
        if let Some(relay) = &self.relay {
            for room in deleted.iter().filter(|id| !running.iter().any(|h| &h.id == *id)) {
                match relay.home_of(room).await {
                    Ok(Some(home)) if home != relay.instance() => {
                        relay.command(room, &home, RelayedCommand::MovieDeleted);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(room, error = %e, "could not tell a deleted movie's room on another instance")
                    }
                }
            }
        }
        let deleted = deleted.len();
        let others: Vec<RoomHandle> = self.lock().values().cloned().collect();
        for handle in others {
            let _ = handle.send(RoomCommand::MovieGone(movie.to_owned())).await;
        }
        Ok(deleted.max(running.len()))
    }

    /// Deletes the rooms nobody used since `cutoff_ms` (and their chat),
    /// but those loaded here. Returns how many went.
    pub async fn expire_unused(&self, cutoff_ms: i64) -> Result<usize, sqlx::Error> {
        let Some(store) = &self.store else { return Ok(0) };
        let mut total = 0;
        loop {
            let expired = store.expire(cutoff_ms, 500, |id| self.lock().contains_key(id)).await?;
            total += expired.len();
            if expired.len() < 500 {
                break;
            }
        }
        if total > 0 {
            tracing::info!(rooms = total, "expired rooms nobody used");
        }
        Ok(total)
    }

    /// Rooms running here right now.
    pub fn running(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomHandle>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands what other instances' sessions say to the rooms running here.
    async fn serve_relay(self, mut incoming: mpsc::Receiver<Incoming>) {
        while let Some(message) = incoming.recv().await {
            match message {
                Incoming::Command { room, from, command } => self.relayed(&room, from, command).await,
                Incoming::Lost { room } => {
                    let handle = self.lock().get(&room).cloned();
                    if let Some(handle) = handle {
                        let _ = handle.send(RoomCommand::Stop).await;
                    }
                }
            }
        }
    }

    async fn relayed(&self, room: &str, from: String, command: RelayedCommand) {
        let Some(relay) = &self.relay else { return };
        let here = self.lock().get(room).cloned().filter(|h| matches!(h.destination, Destination::Here(_)));
        let Some(handle) = here else {
            // The room stopped here: its members reconnect and find its new home.
            match command {
                RelayedCommand::Join { connection, .. } => {
                    let moved = room_moved();
                    let answer = JoinAnswer::Refused { code: moved.code.into(), message: moved.message };
                    relay.joined(&from, connection, answer);
                }
                RelayedCommand::Message { connection, .. } => {
                    relay.deliver(
                        &from,
                        vec![connection.clone()],
                        &crate::frame::frame_of(&refusal_message(room_moved())),
                    );
                    relay.close(&from, vec![connection]);
                }
                RelayedCommand::Detach { .. } | RelayedCommand::Leave { .. } | RelayedCommand::MovieDeleted => {}
            }
            return;
        };
        if matches!(command, RelayedCommand::MovieDeleted) {
            let ending = self.lock().remove(room);
            if let Some(handle) = ending {
                let _ = handle.send(RoomCommand::End(movie_deleted())).await;
            }
            return;
        }
        let command = match command {
            RelayedCommand::Join { connection, name, admitted, resume, address } => {
                let (accepted, answer) = oneshot::channel::<Result<String, crate::Refusal>>();
                let route = Route::Remote { instance: from.clone(), relay: relay.clone() };
                let relay = relay.clone();
                let key = connection.clone();
                actix_web::rt::spawn(async move {
                    let answer = match answer.await {
                        Ok(Ok(member)) => JoinAnswer::Accepted { member },
                        Ok(Err(refusal)) => JoinAnswer::Refused { code: refusal.code.into(), message: refusal.message },
                        Err(_) => JoinAnswer::Refused { code: ROOM_MOVED.into(), message: room_moved().message },
                    };
                    relay.joined(&from, key, answer);
                });
                RoomCommand::Join { name, admitted, resume, address, connection, route, accepted }
            }
            RelayedCommand::Message { member, connection, message } => {
                RoomCommand::Message { member, connection, message }
            }
            RelayedCommand::Detach { member, connection } => RoomCommand::Detach { member, connection },
            RelayedCommand::Leave { member, connection } => RoomCommand::Leave { member, connection },
            RelayedCommand::MovieDeleted => return,
        };
        let _ = handle.send(command).await;
    }
}

fn movie_deleted() -> crate::Refusal {
    crate::Refusal::new("movie_deleted", "this movie was deleted, and its watch parties with it")
}
