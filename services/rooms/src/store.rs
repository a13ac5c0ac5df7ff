//! Rooms and their chat in the database, so both survive a restart. Writes
//! come from the room tasks through one writer task, in order and without
//! making a room wait; reads happen when a room not in memory is asked for.

use cinemesh_common::Database;
use cinemesh_protocol::room::{
    CHAT_HISTORY, ChatKind, ChatMessage, ControlPolicy, MemberId, MemberTracks, PlaybackState, Role,
};
use cinemesh_protocol::room_queue::WatchedEntry;
use sqlx::Row;
use tokio::sync::mpsc;

use crate::bans::Ban;
use crate::password::PasswordHash;
use crate::queue::StoredQueue;
use crate::setup::RoomSetup;

/// A change to write.
#[derive(Debug)]
pub enum RoomWrite {
    Created {
        setup: RoomSetup,
        policy: ControlPolicy,
        playback: PlaybackState,
        at_ms: i64,
    },
    State {
        room: String,
        policy: ControlPolicy,
        playback: PlaybackState,
        suggested_tracks: MemberTracks,
        /// The movie it plays now, and its length.
        movie: String,
        duration_ms: f64,
        queue: StoredQueue,
        history: Vec<WatchedEntry>,
        at_ms: i64,
    },
    Chat {
        room: String,
        message: ChatMessage,
    },
    /// A seat taken or changed (its role).
    Member {
        room: String,
        member: StoredMember,
        at_ms: i64,
    },
    MemberGone {
        room: String,
        member: MemberId,
    },
    Ban {
        room: String,
        ban: Ban,
    },
    Unban {
        room: String,
        id: String,
    },
    /// Answered once every write queued before it is done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// A member's seat as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub id: MemberId,
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the member's resume token.
    pub resume_digest: String,
}

/// A room as stored: what it takes to run it again.
#[derive(Debug)]
pub struct StoredRoom {
    pub setup: RoomSetup,
    pub policy: ControlPolicy,
    pub playback: PlaybackState,
    pub suggested_tracks: MemberTracks,
    pub queue: StoredQueue,
    pub history: Vec<WatchedEntry>,
    /// The last `CHAT_HISTORY` messages, oldest first.
    pub chat: Vec<ChatMessage>,
    pub members: Vec<StoredMember>,
    pub bans: Vec<Ban>,
}

#[derive(Clone)]
pub struct RoomStore {
    db: Database,
    writes: mpsc::Sender<RoomWrite>,
    /// Writes dropped because the queue was full (the database fell far behind).
    pub shed_writes: prometheus_client::metrics::counter::Counter,
}

/// Writes queued before new ones are shed: minutes of the busiest rooms'
/// traffic, so only a database that is gone for long loses any.
const WRITE_QUEUE: usize = 65_536;
/// Tries of one write before it is given up, with doubling waits from the first.
const WRITE_TRIES: u32 = 6;
const FIRST_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

impl RoomStore {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Database) -> Self {
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        actix_web::rt::spawn(write_in_order(db.clone(), queue));
        Self { db, writes, shed_writes: Default::default() }
    }

    /// Queues a write; a room never waits for the database.
    pub fn write(&self, write: RoomWrite) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.writes.try_send(write) {
            self.shed_writes.inc();
            tracing::error!("the room write queue is full; a write is dropped (cinemesh_room_writes_shed_total)");
        }
    }

    /// A room's movie and password, without loading it.
    pub async fn summary(&self, id: &str) -> Result<Option<(String, Option<PasswordHash>)>, sqlx::Error> {
        let row = sqlx::query("SELECT movie_id, password_salt, password_digest FROM rooms WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| Ok((row.try_get("movie_id")?, stored_password(&row)?))).transpose()
    }

    /// Writes at once, outside the queue (a new room, before its id is handed
    /// out: any instance may be asked for it right away).
    pub async fn write_now(&self, write: &RoomWrite) -> Result<(), sqlx::Error> {
        apply(&self.db, write).await
    }

    /// Deletes every room of `movie`, with its chat, seats and bans.
    pub async fn delete_rooms_of(&self, movie: &str) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        let ids: Vec<String> = sqlx::query_scalar("DELETE FROM rooms WHERE movie_id = $1 RETURNING id")
            .bind(movie)
            .fetch_all(&mut *tx)
            .await?;
        for id in &ids {
            delete_room_children(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Deletes rooms (with their chat, seats and bans) unused since before
    /// `cutoff_ms`, but those `running` says are loaded; at most `batch`.
    pub async fn expire(
        &self,
        cutoff_ms: i64,
        batch: i64,
        running: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, sqlx::Error> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM rooms WHERE updated_at_ms < $1 ORDER BY updated_at_ms LIMIT $2")
                .bind(cutoff_ms)
                .bind(batch)
                .fetch_all(self.db.pool())
                .await?;
        let mut expired = Vec::new();
        for id in ids.into_iter().filter(|id| !running(id)) {
            // The room's row first, still unused: only if it went do its chat,
            // seats and bans go (a room used meanwhile keeps everything).
            let mut tx = self.db.pool().begin().await?;
            let gone = sqlx::query("DELETE FROM rooms WHERE id = $1 AND updated_at_ms < $2")
                .bind(&id)
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
            if gone.rows_affected() != 1 {
                continue;
            }
            delete_room_children(&mut tx, &id).await?;
            tx.commit().await?;
            expired.push(id);
        }
        Ok(expired)
    }

    /// Waits until every write queued so far has reached the database.
    pub async fn flush(&self) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.writes.send(RoomWrite::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }

    pub async fn load(&self, id: &str) -> Result<Option<StoredRoom>, sqlx::Error> {
        let Some(row) = sqlx::query(
            "SELECT id, movie_id, duration_ms, password_salt, password_digest, policy, playback, suggested_tracks, \
             queue, history FROM rooms WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(None);
        };
        let password = stored_password(&row)?;
        let policy: String = row.try_get("policy")?;
        let playback: String = row.try_get("playback")?;
        let suggested_tracks: String = row.try_get("suggested_tracks")?;
        let queue: String = row.try_get("queue")?;
        let history: String = row.try_get("history")?;
        // A queue or history that no longer reads is an empty one: the room still runs.
        let queue: StoredQueue = parse_json(&queue).unwrap_or_default();
        let duration_ms: i64 = row.try_get("duration_ms")?;
        let setup = RoomSetup {
            id: row.try_get("id")?,
            movie: row.try_get("movie_id")?,
            title: queue.title.clone(),
            duration_ms: duration_ms as f64,
            password,
        };
        let chat = sqlx::query(
            "SELECT id, kind, name, text, server_ms, video_ms, nonce FROM room_chat WHERE room_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(CHAT_HISTORY as i64)
        .fetch_all(self.db.pool())
        .await?
        .into_iter()
        .rev()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let message_id: i64 = row.try_get("id")?;
            let video_ms: i64 = row.try_get("video_ms")?;
            Ok(ChatMessage {
                id: message_id as u64,
                kind: if kind == "system" { ChatKind::System } else { ChatKind::User },
                name: row.try_get("name")?,
                text: row.try_get("text")?,
                server_ms: row.try_get("server_ms")?,
                video_ms: video_ms as f64,
                // Reactions live in memory only.
                reactions: Vec::new(),
                nonce: row.try_get("nonce")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let members = sqlx::query("SELECT member_id, name, role, resume_digest FROM room_members WHERE room_id = $1")
            .bind(id)
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(StoredMember {
                    id: row.try_get("member_id")?,
                    name: row.try_get("name")?,
                    role: parse_name(&role).unwrap_or(Role::Member),
                    resume_digest: row.try_get("resume_digest")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let bans = sqlx::query("SELECT ban_id, name, address, until_ms FROM room_bans WHERE room_id = $1 LIMIT $2")
            .bind(id)
            .bind(cinemesh_protocol::room::MAX_BANS as i64)
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .map(|row| {
                let address: Option<String> = row.try_get("address")?;
                Ok(Ban {
                    id: row.try_get("ban_id")?,
                    name: row.try_get("name")?,
                    address: address.and_then(|a| a.parse().ok()),
                    until_ms: row.try_get("until_ms")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(StoredRoom {
            setup,
            members,
            bans,
            policy: parse_name(&policy).unwrap_or(ControlPolicy::HostOnly),
            playback: parse_json(&playback)
                .ok_or_else(|| sqlx::Error::Decode("a room's playback is not JSON".into()))?,
            // A suggestion that no longer reads is no suggestion.
            suggested_tracks: parse_json(&suggested_tracks).unwrap_or_default(),
            queue,
            history: parse_json(&history).unwrap_or_default(),
            chat,
        }))
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

/// The snake_case name serde gives a unit variant (a policy, a role).
fn name_of<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn parse_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// A room's chat, seats and bans, deleted with its row in `tx`.
async fn delete_room_children(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str) -> Result<(), sqlx::Error> {
    for delete in [
        "DELETE FROM room_chat WHERE room_id = $1",
        "DELETE FROM room_members WHERE room_id = $1",
        "DELETE FROM room_bans WHERE room_id = $1",
    ] {
        sqlx::query(delete).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

async fn write_in_order(db: Database, mut queue: mpsc::Receiver<RoomWrite>) {
    while let Some(write) = queue.recv().await {
        if let RoomWrite::Flush(done) = write {
            let _ = done.send(());
            continue;
        }
        // A database restarting or briefly gone is waited for (the queue holds
        // what comes meanwhile); a write the database refuses for good is logged.
        let mut wait = FIRST_RETRY;
        for attempt in 1..=WRITE_TRIES {
            match apply(&db, &write).await {
                Ok(()) => break,
                Err(e) if attempt == WRITE_TRIES => {
                    tracing::error!(error = %e, attempts = attempt, "could not write a room change; it is lost");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "could not write a room change; trying again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    }
}

async fn apply(db: &Database, write: &RoomWrite) -> Result<(), sqlx::Error> {
    match write {
        RoomWrite::Created { setup, policy, playback, at_ms } => {
            let (salt, digest) = setup.password.as_ref().map(PasswordHash::to_stored).unzip();
            let salt = salt.flatten();
            let queue = StoredQueue { title: setup.title.clone(), started_at_ms: *at_ms, ..StoredQueue::default() };
            sqlx::query(
                "INSERT INTO rooms (id, movie_id, duration_ms, password_salt, password_digest, policy, playback, \
                 created_at_ms, updated_at_ms, queue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
            )
            .bind(&setup.id)
            .bind(&setup.movie)
            .bind(setup.duration_ms as i64)
            .bind(salt)
            .bind(digest)
            .bind(name_of(*policy))
            .bind(serde_json::to_string(playback).unwrap_or_default())
            .bind(at_ms)
            .bind(serde_json::to_string(&queue).unwrap_or_else(|_| "{}".into()))
            .execute(db.pool())
            .await?;
        }
        RoomWrite::State { room, policy, playback, suggested_tracks, movie, duration_ms, queue, history, at_ms } => {
            sqlx::query(
                "UPDATE rooms SET policy = $1, playback = $2, suggested_tracks = $5, movie_id = $6, duration_ms = $7, \
                 queue = $8, history = $9, updated_at_ms = $3 WHERE id = $4",
            )
            .bind(name_of(*policy))
            .bind(serde_json::to_string(playback).unwrap_or_default())
            .bind(at_ms)
            .bind(room)
            .bind(serde_json::to_string(suggested_tracks).unwrap_or_else(|_| "{}".into()))
            .bind(movie)
            .bind(*duration_ms as i64)
            .bind(serde_json::to_string(queue).unwrap_or_else(|_| "{}".into()))
            .bind(serde_json::to_string(history).unwrap_or_else(|_| "[]".into()))
            .execute(db.pool())
            .await?;
        }
        RoomWrite::Chat { room, message } => {
            let kind = match message.kind {
                ChatKind::User => "user",
                ChatKind::System => "system",
            };
            sqlx::query(
                "INSERT INTO room_chat (room_id, id, kind, name, text, server_ms, video_ms, nonce) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(room)
            .bind(message.id as i64)
            .bind(kind)
            .bind(&message.name)
            .bind(&message.text)
            .bind(message.server_ms)
            .bind(message.video_ms.round() as i64)
            .bind(&message.nonce)
            .execute(db.pool())
            .await?;
        }
        RoomWrite::Member { room, member, at_ms } => {
            // A seat taken or changed is a use of the room: it is not expired while used.
            sqlx::query("UPDATE rooms SET updated_at_ms = $1 WHERE id = $2 AND updated_at_ms < $1")
                .bind(at_ms)
                .bind(room)
                .execute(db.pool())
                .await?;
            sqlx::query(
                "INSERT INTO room_members (room_id, member_id, name, role, resume_digest, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_id, member_id) DO UPDATE SET \
                 name = excluded.name, role = excluded.role, resume_digest = excluded.resume_digest, \
                 updated_at_ms = excluded.updated_at_ms",
            )
            .bind(room)
            .bind(&member.id)
            .bind(&member.name)
            .bind(name_of(member.role))
            .bind(&member.resume_digest)
            .bind(at_ms)
            .execute(db.pool())
            .await?;
        }
        RoomWrite::MemberGone { room, member } => {
            sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND member_id = $2")
                .bind(room)
                .bind(member)
                .execute(db.pool())
                .await?;
        }
        RoomWrite::Ban { room, ban } => {
            sqlx::query("INSERT INTO room_bans (room_id, ban_id, name, address, until_ms) VALUES ($1, $2, $3, $4, $5)")
                .bind(room)
                .bind(&ban.id)
                .bind(&ban.name)
                .bind(ban.address.map(|a| a.to_string()))
                .bind(ban.until_ms)
                .execute(db.pool())
                .await?;
        }
        RoomWrite::Unban { room, id } => {
            sqlx::query("DELETE FROM room_bans WHERE room_id = $1 AND ban_id = $2")
                .bind(room)
                .bind(id)
                .execute(db.pool())
                .await?;
        }
        RoomWrite::Flush(_) => {}
    }
    Ok(())
}

/// A room's password as stored: none, or a hash (which fails closed when it
/// cannot be read: a damaged row must not open a room to everyone).
fn stored_password(row: &sqlx::any::AnyRow) -> Result<Option<PasswordHash>, sqlx::Error> {
    let salt: Option<String> = row.try_get("password_salt")?;
    let digest: Option<String> = row.try_get("password_digest")?;
    Ok(match (salt, digest) {
        (None, None) => None,
        (salt, Some(digest)) => Some(PasswordHash::from_stored(salt.as_deref(), &digest)),
        (Some(_), None) => {
            tracing::error!("a room has a password salt but no digest; it admits nobody by password");
            Some(PasswordHash::Unreadable)
        }
    })
}
