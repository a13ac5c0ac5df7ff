//! Rooms shared by instances through Redis. A room runs on one instance, its
//! home, which holds a lease on `{prefix}room:{id}:home` and renews it while
//! the room runs. A member whose socket is on another instance is a remote
//! connection: its commands are published on the home's channel, and the
//! home publishes its frames on the member's instance's channel, batched per
//! instance. When a home goes away (its channel has no listener), its remote
//! connections are told `room_moved` and closed; clients resume with their
//! token, and whichever instance they reach claims the room from the store.
//! Nothing on a room's path waits for Redis: publishing goes through a queue.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cinemesh_protocol::room::MemberId;
use cinemesh_protocol::room_relay::{ConnectionKey, JoinAnswer, Relayed, RelayedCommand, home_key, rooms_channel};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::frame::{Frame, frame_of};

/// A home's lease lasts this long without renewal.
const LEASE: Duration = Duration::from_secs(10);
/// Leases are renewed, and remote homes checked, this often.
const UPKEEP_EVERY: Duration = Duration::from_secs(3);
/// Relayed messages queued before new ones are dropped (and counted).
const QUEUE: usize = 65_536;
/// Publishes sent in one pipeline.
const BATCH: usize = 512;
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// Longest wait between tries to reconnect to Redis (jitter may double it):
/// without it the waits grow past 3 s, and rooms are relayed again that long
/// after Redis is back.
pub(crate) const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);
/// How long a lookup waits for this instance's subscription (at start-up, or
/// while Redis reconnects) before it fails.
const LISTEN_WAIT: Duration = Duration::from_secs(3);
/// A channel without a listener means its instance is gone, except just after
/// Redis came back: every instance subscribes again then, each within about
/// `RECONNECT_AFTER`. Until this instance has listened this long, no home is
/// taken for gone.
const RESUBSCRIBE_GRACE: Duration = Duration::from_secs(3);

/// Sets the lease when it is free or already ours; returns the holder.
const CLAIM: &str = r"
local home = redis.call('GET', KEYS[1])
if home == false or home == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return home";
/// Takes the lease from a holder known to be gone, unless it changed meanwhile.
const TAKE_OVER: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
return 0";
/// Renews (ARGV[2] > 0) or gives up (ARGV[2] = 0) the lease if it is ours.
/// A lease nobody holds is taken back: it lapsed while Redis could not be
/// reached, or Redis restarted without it, and the room still runs here.
const RENEW_OR_RELEASE: &str = r"
local home = redis.call('GET', KEYS[1])
if home == false and ARGV[2] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if home ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])";

/// Where a room runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Home {
    Here,
    There(String),
}

/// What other instances ask of the rooms running here.
#[derive(Debug)]
pub enum Incoming {
    Command {
        room: String,
        from: String,
        command: RelayedCommand,
    },
    /// Another instance holds this room's lease now: the room must stop here.
    Lost {
        room: String,
    },
}

/// A session here whose room runs elsewhere.
struct RemoteSession {
    home: String,
    outbox: mpsc::Sender<Frame>,
    accepted: Option<oneshot::Sender<Result<MemberId, Refusal>>>,
}

struct Outgoing {
    instance: String,
    message: Relayed,
}

struct Inner {
    instance: Arc<str>,
    prefix: String,
    queue: mpsc::Sender<Outgoing>,
    sessions: Mutex<HashMap<ConnectionKey, RemoteSession>>,
    /// Rooms whose lease this instance holds.
    homes: Mutex<HashSet<String>>,
    redis: ConnectionManager,
    dropped: AtomicU64,
    /// Whether this instance's channel is subscribed: until it is, no room is
    /// claimed here (others would take a home they cannot hear for gone).
    listening: tokio::sync::watch::Sender<bool>,
    /// Since when it is subscribed, without a break.
    listening_since: Mutex<Option<tokio::time::Instant>>,
}

#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("instance", &self.inner.instance).finish_non_exhaustive()
    }
}

impl Relay {
    /// Starts subscribing to this instance's channel, the publisher and the
    /// lease upkeep; while Redis cannot be reached they retry, and rooms
    /// cannot be looked up. Commands for rooms here arrive on the returned
    /// receiver. Only a URL that cannot be parsed fails.
    pub fn start(redis_url: &str, prefix: &str) -> redis::RedisResult<(Self, mpsc::Receiver<Incoming>)> {
        let client = redis::Client::open(redis_url)?;
        let config = ConnectionManagerConfig::new().set_max_delay(RECONNECT_MAX_DELAY);
        let redis = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let (incoming_tx, incoming) = mpsc::channel(QUEUE);
        let relay = Self {
            inner: Arc::new(Inner {
                instance: cinemesh_common::id::random_id(12).into(),
                prefix: prefix.to_owned(),
                queue,
                sessions: Mutex::default(),
                homes: Mutex::default(),
                redis,
                dropped: AtomicU64::new(0),
                listening: tokio::sync::watch::Sender::new(false),
                listening_since: Mutex::default(),
            }),
        };
        actix_web::rt::spawn(relay.clone().listen(client, incoming_tx.clone()));
        actix_web::rt::spawn(relay.clone().publish(outgoing));
        actix_web::rt::spawn(relay.clone().upkeep(incoming_tx));
        Ok((relay, incoming))
    }

    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Relayed messages lost to a full queue so far.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    fn channel(&self, instance: &str) -> String {
        rooms_channel(&self.inner.prefix, instance)
    }

    fn home_key(&self, room: &str) -> String {
        home_key(&self.inner.prefix, room)
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<ConnectionKey, RemoteSession>> {
        self.inner.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn homes(&self) -> MutexGuard<'_, HashSet<String>> {
        self.inner.homes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a channel without listeners now means its instance is gone
    /// (see `RESUBSCRIBE_GRACE`).
    fn may_judge_homes(&self) -> bool {
        let since = *self.inner.listening_since.lock().unwrap_or_else(PoisonError::into_inner);
        since.is_some_and(|since| since.elapsed() >= RESUBSCRIBE_GRACE)
    }

    fn set_listening(&self, listening: bool) {
        *self.inner.listening_since.lock().unwrap_or_else(PoisonError::into_inner) =
            listening.then(tokio::time::Instant::now);
        self.inner.listening.send_replace(listening);
    }

    fn enqueue(&self, instance: &str, message: Relayed) {
        let outgoing = Outgoing { instance: instance.to_owned(), message };
        if self.inner.queue.try_send(outgoing).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Where `room` runs: here when its lease was free, ours, or held by an
    /// instance that is gone (and then it is ours now).
    pub async fn claim(&self, room: &str) -> redis::RedisResult<Home> {
        let mut listening = self.inner.listening.subscribe();
        if !matches!(tokio::time::timeout(LISTEN_WAIT, listening.wait_for(|l| *l)).await, Ok(Ok(_))) {
            let reason = "this instance is not subscribed to its Redis channel";
            return Err(redis::RedisError::from((redis::ErrorKind::Io, "rooms unavailable", reason.to_owned())));
        }
        let mut redis = self.inner.redis.clone();
        let key = self.home_key(room);
        let lease_ms = LEASE.as_millis() as u64;
        let holder: String = redis::Script::new(CLAIM)
            .key(&key)
            .arg(&*self.inner.instance)
            .arg(lease_ms)
            .invoke_async(&mut redis)
            .await?;
        if holder == *self.inner.instance {
            self.homes().insert(room.to_owned());
            return Ok(Home::Here);
        }
        if listeners(&mut redis, &self.channel(&holder)).await? > 0 {
            return Ok(Home::There(holder));
        }
        let taken: i64 = redis::Script::new(TAKE_OVER)
            .key(&key)
            .arg(&*self.inner.instance)
            .arg(&holder)
            .arg(lease_ms)
            .invoke_async(&mut redis)
            .await?;
        if taken == 1 {
            tracing::info!(room, gone = %holder, "took over a room whose home is gone");
            self.homes().insert(room.to_owned());
            return Ok(Home::Here);
        }
        // Someone else took it over first; ask again who.
        Box::pin(self.claim(room)).await
    }

    /// The instance `room` runs on now, if any.
    pub async fn home_of(&self, room: &str) -> redis::RedisResult<Option<String>> {
        let mut redis = self.inner.redis.clone();
        redis::cmd("GET").arg(self.home_key(room)).query_async(&mut redis).await
    }

    /// The room stopped here: its lease is given up at once.
    pub async fn release(&self, room: &str) {
        self.homes().remove(room);
        let mut redis = self.inner.redis.clone();
        let released: redis::RedisResult<i64> = redis::Script::new(RENEW_OR_RELEASE)
            .key(self.home_key(room))
            .arg(&*self.inner.instance)
            .arg(0)
            .invoke_async(&mut redis)
            .await;
        if let Err(e) = released {
            tracing::warn!(room, error = %e, "could not release a room's lease; it expires on its own");
        }
    }

    /// A session here joins a room whose home is `home`.
    pub fn join_remote(
        &self,
        room: &str,
        home: &str,
        connection: ConnectionKey,
        command: RelayedCommand,
        outbox: mpsc::Sender<Frame>,
        accepted: oneshot::Sender<Result<MemberId, Refusal>>,
    ) {
        let session = RemoteSession { home: home.to_owned(), outbox, accepted: Some(accepted) };
        self.sessions().insert(connection, session);
        self.command(room, home, command);
    }

    /// A session here says something to its room at `home`.
    pub fn command(&self, room: &str, home: &str, command: RelayedCommand) {
        let message = Relayed::Command { room: room.to_owned(), from: self.inner.instance.to_string(), command };
        self.enqueue(home, message);
    }

    /// This instance stops: every session here whose room lives elsewhere is
    /// told `room_moved` and ends (its socket closes with 1012), rather than
    /// holding the stop up until the process is killed. The members take their
    /// seats back on whichever instance they reach next.
    pub fn end_sessions(&self) -> usize {
        let ending: Vec<RemoteSession> = self.sessions().drain().map(|(_, session)| session).collect();
        let count = ending.len();
        for session in ending {
            end(session, room_moved());
        }
        count
    }

    /// A session here ended.
    pub fn forget(&self, connection: &str) {
        self.sessions().remove(connection);
    }

    /// A room here sends a frame to connections on `instance`.
    pub fn deliver(&self, instance: &str, connections: Vec<ConnectionKey>, frame: &Frame) {
        self.enqueue(instance, Relayed::Deliver { connections, frame: frame.to_string() });
    }

    /// A room here let go of connections on `instance`.
    pub fn close(&self, instance: &str, connections: Vec<ConnectionKey>) {
        self.enqueue(instance, Relayed::Close { connections });
    }

    /// A room here answers a join from `instance`.
    pub fn joined(&self, instance: &str, connection: ConnectionKey, answer: JoinAnswer) {
        self.enqueue(instance, Relayed::Joined { connection, answer });
    }

    /// Hands what another instance sent to the sessions here, or to the rooms.
    async fn dispatch(&self, message: Relayed, rooms: &mpsc::Sender<Incoming>) {
        match message {
            Relayed::Command { room, from, command } => {
                let _ = rooms.send(Incoming::Command { room, from, command }).await;
            }
            Relayed::Deliver { connections, frame } => {
                let frame: Frame = frame.into();
                let sessions = self.sessions();
                for connection in &connections {
                    if let Some(session) = sessions.get(connection) {
                        let _ = session.outbox.try_send(frame.clone());
                    }
                }
            }
            Relayed::Close { connections } => {
                // The room said why before letting go; dropping the outbox ends the session.
                let mut sessions = self.sessions();
                for connection in &connections {
                    sessions.remove(connection);
                }
            }
            Relayed::Joined { connection, answer } => {
                let mut sessions = self.sessions();
                let Some(session) = sessions.get_mut(&connection) else { return };
                let result = match answer {
                    JoinAnswer::Accepted { member } => Ok(member),
                    JoinAnswer::Refused { code, message } => Err(Refusal::new(closing_code(&code), message)),
                };
                let refused = result.is_err();
                if let Some(accepted) = session.accepted.take() {
                    let _ = accepted.send(result);
                }
                if refused {
                    sessions.remove(&connection);
                }
            }
        }
    }

    /// Ends every session here whose room lived on `home`: they reconnect.
    fn home_gone(&self, home: &str) {
        let mut sessions = self.sessions();
        let gone: Vec<ConnectionKey> =
            sessions.iter().filter(|(_, s)| s.home == home).map(|(key, _)| key.clone()).collect();
        if !gone.is_empty() {
            tracing::warn!(home, sessions = gone.len(), "a room's home is gone; its members reconnect");
        }
        for key in gone {
            if let Some(session) = sessions.remove(&key) {
                end(session, room_moved());
            }
        }
    }

    async fn listen(self, client: redis::Client, rooms: mpsc::Sender<Incoming>) {
        let channel = self.channel(&self.inner.instance);
        loop {
            match subscribe(&client, &channel).await {
                Ok(current) => {
                    self.set_listening(true);
                    let mut messages = current.into_on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else { continue };
                        match serde_json::from_str::<Relayed>(&payload) {
                            Ok(relayed) => self.dispatch(relayed, &rooms).await,
                            Err(e) => tracing::warn!(error = %e, "ignoring a malformed relayed room message"),
                        }
                    }
                    self.set_listening(false);
                    tracing::warn!("the rooms' Redis subscription ended; subscribing again");
                }
                Err(e) => tracing::warn!(error = %e, "could not subscribe for relayed room messages"),
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    }

    /// Publishes in pipelined batches, in queue order. A command that no
    /// instance heard means its room's home is gone.
    async fn publish(self, mut outgoing: mpsc::Receiver<Outgoing>) {
        let mut redis = self.inner.redis.clone();
        let mut batch = Vec::with_capacity(BATCH);
        while outgoing.recv_many(&mut batch, BATCH).await > 0 {
            let mut pipe = redis::pipe();
            for item in &batch {
                let Ok(payload) = serde_json::to_string(&item.message) else { continue };
                pipe.publish(self.channel(&item.instance), payload);
            }
            match pipe.query_async::<Vec<i64>>(&mut redis).await {
                Ok(heard) => {
                    let may_judge = self.may_judge_homes();
                    for (item, listeners) in batch.iter().zip(heard) {
                        if listeners == 0 && may_judge && matches!(item.message, Relayed::Command { .. }) {
                            self.home_gone(&item.instance);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, messages = batch.len(), "could not relay room messages"),
            }
            batch.clear();
        }
    }

    /// Renews the leases of the rooms here (telling a room whose lease was
    /// lost to stop) and checks that the homes of remote sessions still listen.
    async fn upkeep(self, rooms: mpsc::Sender<Incoming>) {
        let mut redis = self.inner.redis.clone();
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            let homes: Vec<String> = self.homes().iter().cloned().collect();
            if !homes.is_empty() {
                let script = redis::Script::new(RENEW_OR_RELEASE);
                let mut pipe = redis::pipe();
                // EVALSHA in a pipeline does not load its script, and a Redis
                // that restarted has forgotten it: load it every time.
                pipe.load_script(&script).ignore();
                for room in &homes {
                    pipe.invoke_script(
                        script.key(self.home_key(room)).arg(&*self.inner.instance).arg(LEASE.as_millis() as u64),
                    );
                }
                match pipe.query_async::<Vec<i64>>(&mut redis).await {
                    Ok(renewed) => {
                        for (room, renewed) in homes.into_iter().zip(renewed) {
                            if renewed == 0 && self.homes().remove(&room) {
                                tracing::warn!(room, "another instance holds this room's lease now");
                                let _ = rooms.send(Incoming::Lost { room }).await;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not renew the rooms' leases"),
                }
            }
            let remote_homes: HashSet<String> = self.sessions().values().map(|s| s.home.clone()).collect();
            for home in remote_homes {
                match listeners(&mut redis, &self.channel(&home)).await {
                    Ok(0) if self.may_judge_homes() => self.home_gone(&home),
                    Ok(0) => {}
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not check a room's home"),
                }
            }
        }
    }
}

/// Ends a session here: it reads the reason, then its outbox closes.
fn end(session: RemoteSession, refusal: Refusal) {
    match session.accepted {
        Some(accepted) => {
            let _ = accepted.send(Err(refusal));
        }
        None => {
            let _ = session.outbox.try_send(frame_of(&crate::frame::refusal_message(refusal)));
        }
    }
}

/// The code of `room_moved`: the client is to come back (its socket closes with 1012).
pub const ROOM_MOVED: &str = "room_moved";

/// The refusal a session hears when its room moved to another instance.
pub fn room_moved() -> Refusal {
    Refusal::new(ROOM_MOVED, "the room moved to another server; reconnecting")
}

/// A refused join's code, back from text: sessions keep `'static` codes.
fn closing_code(code: &str) -> &'static str {
    match code {
        "wrong_password" => "wrong_password",
        "name_taken" => "name_taken",
        "invalid_name" => "invalid_name",
        ROOM_MOVED => ROOM_MOVED,
        _ => "room_closed",
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// How many instances listen on `channel` (0: its instance is gone).
async fn listeners(redis: &mut ConnectionManager, channel: &str) -> redis::RedisResult<i64> {
    let (_, count): (String, i64) = redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(redis).await?;
    Ok(count)
}
