//! Presence and invitations, owned by one task per instance. It knows the
//! users connected here and, with Redis, the users of every other instance
//! (from their announcements); it pushes every change to the users here as a
//! delta, and carries invitations and answers to wherever the user is.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use cinemesh_common::StopSignal;
use cinemesh_common::db::now_ms;
use cinemesh_common::presence_pass::PresencePasses;
use cinemesh_protocol::lobby::{
    INVITATION_TTL_MS, LOBBY_PROTOCOL_VERSION, LobbyRelayed, LobbyServerMessage, UserId, UserView,
};
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::frame::{Frame, frame_of};
use crate::lobby_relay::LobbyRelay;
use crate::members::DisplayName;

/// Commands queued for the lobby before senders wait.
const QUEUE: usize = 8192;
/// How often this instance's full user list goes out to the others.
const ANNOUNCE_EVERY_MS: i64 = 5_000;
/// An instance not heard from for this long is gone, and so are its users.
const INSTANCE_SILENCE_MS: i64 = 15_000;

#[derive(Debug)]
pub enum LobbyCommand {
    Join {
        name: DisplayName,
        /// The user this connection comes back as (from a verified resume token).
        resume: Option<UserId>,
        outbox: mpsc::Sender<Frame>,
        joined: oneshot::Sender<Result<Joined, Refusal>>,
    },
    Where {
        user: UserId,
        room: Option<String>,
    },
    Invite {
        user: UserId,
        to: UserId,
        room: String,
    },
    Answer {
        user: UserId,
        invitation: String,
        accept: bool,
    },
    /// A connection ended; the user leaves unless a newer connection took it over.
    Leave {
        user: UserId,
        connection: u64,
    },
    /// From another instance, through Redis.
    Relayed(LobbyRelayed),
}

/// Who a connection is in the lobby.
#[derive(Debug, Clone)]
pub struct Joined {
    pub user: UserId,
    /// Tells this connection apart from a later one of the same user.
    pub connection: u64,
}

/// Where sessions send lobby commands.
#[derive(Clone, Debug)]
pub struct Lobby {
    commands: mpsc::Sender<LobbyCommand>,
    /// Sockets close with a reconnect hint when the instance stops.
    pub stop: StopSignal,
}

impl Lobby {
    /// Starts the lobby task; with a relay it shares users with other instances.
    pub fn start(
        relay: Option<(LobbyRelay, mpsc::Receiver<LobbyRelayed>)>,
        metrics: crate::metrics::RoomMetrics,
        passes: PresencePasses,
        stop: StopSignal,
    ) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE);
        let (relay, relayed) = relay.unzip();
        let hub = Hub {
            local: BTreeMap::new(),
            remote: HashMap::new(),
            pending: HashMap::new(),
            relay,
            announced_ms: 0,
            metrics,
            connections: 0,
            passes,
        };
        if let Some(mut relayed) = relayed {
            let commands = commands.clone();
            actix_web::rt::spawn(async move {
                while let Some(message) = relayed.recv().await {
                    if commands.send(LobbyCommand::Relayed(message)).await.is_err() {
                        break;
                    }
                }
            });
        }
        actix_web::rt::spawn(hub.run(receiver));
        Self { commands, stop }
    }

    pub async fn send(&self, command: LobbyCommand) {
        let _ = self.commands.send(command).await;
    }
}

struct LocalUser {
    /// With the user's room, seen only by others in it.
    view: UserView,
    name_key: String,
    outbox: mpsc::Sender<Frame>,
    connection: u64,
}

struct RemoteInstance {
    heard_ms: i64,
    users: HashMap<UserId, UserView>,
}

/// An invitation a user here received and has not answered.
struct Pending {
    from: UserView,
    /// The inviter's instance (none: here).
    from_instance: Option<String>,
    to: UserId,
    expires_ms: i64,
}

struct Hub {
    local: BTreeMap<UserId, LocalUser>,
    remote: HashMap<String, RemoteInstance>,
    pending: HashMap<String, Pending>,
    relay: Option<LobbyRelay>,
    announced_ms: i64,
    metrics: crate::metrics::RoomMetrics,
    connections: u64,
    /// Signs the resume token of each welcome.
    passes: PresencePasses,
}

impl Hub {
    async fn run(mut self, mut commands: mpsc::Receiver<LobbyCommand>) {
        if let Some(relay) = &self.relay {
            relay.hello();
        }
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                _ = ticks.tick() => self.tick(now_ms()),
            }
        }
    }

    fn handle(&mut self, command: LobbyCommand) {
        match command {
            LobbyCommand::Join { name, resume, outbox, joined } => {
                let _ = joined.send(self.join(name, resume, outbox));
            }
            LobbyCommand::Where { user, room } => {
                let Some(local) = self.local.get_mut(&user) else { return };
                if local.view.room == room {
                    return;
                }
                local.view.in_room = room.is_some();
                local.view.room = room;
                let view = local.view.clone();
                // What this user may see changed with its room: everyone again, as seen from there.
                let everyone = self.everyone().iter().map(|u| u.seen_from(view.room.as_deref())).collect();
                self.send(&user, &LobbyServerMessage::Presence { changed: everyone, left: vec![] });
                self.changed(vec![view], vec![], Some(&user));
            }
            LobbyCommand::Invite { user, to, room } => {
                if let Err(refusal) = self.invite(&user, to, room) {
                    self.metrics.refused(refusal.code);
                    self.send(&user, &refusal_message(refusal));
                }
            }
            LobbyCommand::Answer { user, invitation, accept } => {
                if let Err(refusal) = self.answer(&user, invitation, accept) {
                    self.metrics.refused(refusal.code);
                    self.send(&user, &refusal_message(refusal));
                }
            }
            LobbyCommand::Leave { user, connection } => {
                if self.local.get(&user).is_some_and(|u| u.connection == connection) {
                    self.local.remove(&user);
                    self.pending.retain(|_, p| p.to != user);
                    self.changed(vec![], vec![user], None);
                }
            }
            LobbyCommand::Relayed(message) => self.relayed(message),
        }
    }

    /// A new connection: a new user, or one coming back (same id) after a
    /// drop. Names are unique among everyone online, here and elsewhere.
    fn join(
        &mut self,
        name: DisplayName,
        resume: Option<UserId>,
        outbox: mpsc::Sender<Frame>,
    ) -> Result<Joined, Refusal> {
        let name_key = name.key();
        let taken = self.local.iter().any(|(id, u)| u.name_key == name_key && Some(id) != resume.as_ref())
            || self.remote.values().flat_map(|i| i.users.values()).any(|u| {
                Some(&u.id) != resume.as_ref() && DisplayName::parse(&u.name).is_ok_and(|n| n.key() == name_key)
            });
        if taken {
            return Err(Refusal::new("name_taken", format!("someone online is called {} already", name.as_str())));
        }
        self.connections += 1;
        let connection = self.connections;
        let id = resume.unwrap_or_else(|| cinemesh_common::id::random_id(12));
        // A connection coming back replaces the one it left behind; the page says where it is again.
        let view = UserView { id: id.clone(), name: name.as_str().to_owned(), room: None, in_room: false };
        self.local.insert(id.clone(), LocalUser { view: view.clone(), name_key, outbox, connection });
        let welcome = LobbyServerMessage::Welcome {
            version: LOBBY_PROTOCOL_VERSION,
            you: id.clone(),
            resume_token: self.passes.lobby_resume_token(&id, cinemesh_common::swarm_token::now_unix_secs()),
            users: self.everyone().iter().map(|u| u.seen_from(None)).collect(),
        };
        self.send(&id, &welcome);
        self.changed(vec![view], vec![], Some(&id));
        Ok(Joined { user: id, connection })
    }

    /// Everyone online, here and elsewhere, with their rooms.
    fn everyone(&self) -> Vec<UserView> {
        let mut users: Vec<UserView> = self.local.values().map(|u| u.view.clone()).collect();
        users.extend(self.remote.values().flat_map(|i| i.users.values().cloned()));
        users
    }

    fn find(&self, user: &str) -> Option<(UserView, Option<String>)> {
        if let Some(local) = self.local.get(user) {
            return Some((local.view.clone(), None));
        }
        self.remote.iter().find_map(|(instance, i)| i.users.get(user).map(|u| (u.clone(), Some(instance.clone()))))
    }

    fn invite(&mut self, user: &str, to: UserId, room: String) -> Result<(), Refusal> {
        let from = self.local.get(user).map(|u| u.view.clone()).ok_or_else(unknown_user)?;
        if from.room.as_deref() != Some(room.as_str()) {
            return Err(Refusal::new("not_in_room", "you can invite people to the room you are in"));
        }
        if to == user {
            return Err(Refusal::new("invalid_invitation", "you are already here"));
        }
        let (invitee, instance) = self.find(&to).ok_or_else(unknown_user)?;
        if invitee.room.as_deref() == Some(room.as_str()) {
            return Err(Refusal::new("already_in_room", format!("{} is in this room already", invitee.name)));
        }
        let invitation = cinemesh_common::id::random_id(16);
        match instance {
            None => self.received(invitation.clone(), from, None, to.clone(), room),
            Some(instance) => {
                if let Some(relay) = &self.relay {
                    relay.invite(&instance, invitation.clone(), from, to.clone(), room);
                }
            }
        }
        self.send(user, &LobbyServerMessage::InvitationSent { invitation, to });
        Ok(())
    }

    /// An invitation for a user here: kept until answered or expired.
    fn received(
        &mut self,
        invitation: String,
        from: UserView,
        from_instance: Option<String>,
        to: UserId,
        room: String,
    ) {
        if !self.local.contains_key(&to) {
            return;
        }
        let message = LobbyServerMessage::Invited { invitation: invitation.clone(), from: from.clone(), room };
        self.pending.insert(
            invitation,
            Pending { from, from_instance, to: to.clone(), expires_ms: now_ms() + INVITATION_TTL_MS },
        );
        self.send(&to, &message);
    }

    fn answer(&mut self, user: &str, invitation: String, accepted: bool) -> Result<(), Refusal> {
        let unknown = || Refusal::new("unknown_invitation", "no such invitation for you");
        let pending = self.pending.get(&invitation).filter(|p| p.to == user).ok_or_else(unknown)?;
        if pending.expires_ms < now_ms() {
            self.pending.remove(&invitation);
            return Err(Refusal::new("invitation_expired", "this invitation has expired"));
        }
        let Some(pending) = self.pending.remove(&invitation) else { return Err(unknown()) };
        match pending.from_instance {
            None => {
                let message = LobbyServerMessage::InvitationAnswered { invitation, by: user.to_owned(), accepted };
                self.send(&pending.from.id, &message);
            }
            Some(instance) => {
                if let Some(relay) = &self.relay {
                    relay.answer(&instance, invitation, user.to_owned(), pending.from.id, accepted);
                }
            }
        }
        Ok(())
    }

    fn relayed(&mut self, message: LobbyRelayed) {
        let now = now_ms();
        match message {
            LobbyRelayed::Everyone { instance, users } => {
                let known = self.remote.remove(&instance).map(|i| i.users).unwrap_or_default();
                let users: HashMap<UserId, UserView> = users.into_iter().map(|u| (u.id.clone(), u)).collect();
                let changed = users.values().filter(|u| known.get(&u.id) != Some(u)).cloned().collect();
                let left = known.keys().filter(|id| !users.contains_key(*id)).cloned().collect();
                self.remote.insert(instance, RemoteInstance { heard_ms: now, users });
                self.push(changed, left, None);
            }
            LobbyRelayed::Changed { instance, changed, left } => {
                let remote = self
                    .remote
                    .entry(instance)
                    .or_insert_with(|| RemoteInstance { heard_ms: now, users: HashMap::new() });
                remote.heard_ms = now;
                for user in &changed {
                    remote.users.insert(user.id.clone(), user.clone());
                }
                for id in &left {
                    remote.users.remove(id);
                }
                self.push(changed, left, None);
            }
            LobbyRelayed::Hello { .. } => self.announce(now),
            LobbyRelayed::Invite { invitation, from, from_instance, to, room } => {
                self.received(invitation, from, Some(from_instance), to, room);
            }
            LobbyRelayed::Answer { invitation, by, to, accepted } => {
                self.send(&to, &LobbyServerMessage::InvitationAnswered { invitation, by, accepted });
            }
        }
    }

    fn tick(&mut self, now: i64) {
        self.pending.retain(|_, p| p.expires_ms >= now);
        if now - self.announced_ms >= ANNOUNCE_EVERY_MS {
            self.announce(now);
        }
        let gone: Vec<String> = self
            .remote
            .iter()
            .filter(|(_, i)| now - i.heard_ms > INSTANCE_SILENCE_MS)
            .map(|(id, _)| id.clone())
            .collect();
        for instance in gone {
            if let Some(instance) = self.remote.remove(&instance) {
                self.push(vec![], instance.users.into_keys().collect(), None);
            }
        }
    }

    fn announce(&mut self, now: i64) {
        self.announced_ms = now;
        if let Some(relay) = &self.relay {
            relay.everyone(self.local.values().map(|u| u.view.clone()).collect());
        }
    }

    /// A change among the users here: pushed to them and to other instances.
    fn changed(&self, changed: Vec<UserView>, left: Vec<UserId>, except: Option<&str>) {
        if let Some(relay) = &self.relay {
            relay.changed(changed.clone(), left.clone());
        }
        self.push(changed, left, except);
    }

    /// Tells the users here (but `except`) about a change: each sees a room
    /// only if it is in it too. Serialized once per room of the recipients.
    fn push(&self, changed: Vec<UserView>, left: Vec<UserId>, except: Option<&str>) {
        if changed.is_empty() && left.is_empty() {
            return;
        }
        let mut frames: HashMap<Option<&str>, Frame> = HashMap::new();
        for (id, user) in &self.local {
            if Some(id.as_str()) == except {
                continue;
            }
            let room = user.view.room.as_deref();
            let frame = frames.entry(room).or_insert_with(|| {
                let changed = changed.iter().map(|u| u.seen_from(room)).collect();
                frame_of(&LobbyServerMessage::Presence { changed, left: left.clone() })
            });
            let _ = user.outbox.try_send(frame.clone());
        }
    }

    fn send(&self, user: &str, message: &LobbyServerMessage) {
        if let Some(local) = self.local.get(user) {
            let _ = local.outbox.try_send(frame_of(message));
        }
    }
}

fn unknown_user() -> Refusal {
    Refusal::new("unknown_user", "nobody with that id is online")
}

pub fn refusal_message(refusal: Refusal) -> LobbyServerMessage {
    LobbyServerMessage::Error { code: refusal.code.to_owned(), message: refusal.message }
}
