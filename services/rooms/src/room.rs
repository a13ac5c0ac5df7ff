//! One room as a task: it alone owns the room's state, takes commands from
//! its members' sessions in order, and answers by writing to their outboxes
//! with `try_send` (a member too slow to read loses messages; the room never
//! waits on one).

use std::collections::{HashMap, VecDeque};

use cinemesh_protocol::room::{
    CHAT_HISTORY, ChatKind, ChatMessage, ControlPolicy, MAX_CHAT_CHARS, MemberId, MemberView, PlaybackCommand,
    ROOM_PROTOCOL_VERSION, RoomClientMessage, RoomServerMessage,
};
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::members::{DisplayName, Members};
use crate::playback::PlaybackClock;
use crate::store::{RoomStore, RoomWrite, StoredRoom};

/// Messages queued for one member before further ones are dropped.
pub const OUTBOX_CAPACITY: usize = 256;

pub type Outbox = mpsc::Sender<RoomServerMessage>;

/// What a session asks of its room.
#[derive(Debug)]
pub enum RoomCommand {
    Join {
        name: String,
        password: Option<String>,
        outbox: Outbox,
        accepted: oneshot::Sender<Result<MemberId, Refusal>>,
    },
    Message {
        member: MemberId,
        message: RoomClientMessage,
    },
    Leave {
        member: MemberId,
    },
}

/// How a room is set up when it is created.
#[derive(Debug, Clone)]
pub struct RoomSetup {
    pub id: String,
    pub movie: String,
    pub duration_ms: f64,
    /// Checked with `PasswordHash::matches`; `None`: open to anyone with the link.
    pub password: Option<crate::password::PasswordHash>,
}

pub struct Room {
    setup: RoomSetup,
    clock: PlaybackClock,
    members: Members,
    outboxes: HashMap<MemberId, Outbox>,
    chat: VecDeque<ChatMessage>,
    next_chat_id: u64,
    store: Option<RoomStore>,
    now_ms: fn() -> i64,
}

impl Room {
    /// A new room, recorded in `store` when there is one.
    pub fn new(setup: RoomSetup, store: Option<RoomStore>, now_ms: fn() -> i64) -> Self {
        let now = now_ms();
        let clock = PlaybackClock::new(setup.duration_ms, now);
        let policy = ControlPolicy::HostOnly;
        if let Some(store) = &store {
            store.write(RoomWrite::Created { setup: setup.clone(), policy, playback: clock.state(), at_ms: now });
        }
        Self {
            setup,
            clock,
            members: Members::new(policy),
            outboxes: HashMap::new(),
            chat: VecDeque::new(),
            next_chat_id: 1,
            store,
            now_ms,
        }
    }

    /// A room as it was stored. Nobody is in it yet, so it does not play:
    /// a room that was playing is paused where it had got to.
    pub fn restore(stored: StoredRoom, store: Option<RoomStore>, now_ms: fn() -> i64) -> Self {
        let next_chat_id = stored.chat.last().map_or(1, |m| m.id + 1);
        let mut room = Self {
            clock: PlaybackClock::restore(stored.playback, stored.setup.duration_ms),
            setup: stored.setup,
            members: Members::new(stored.policy),
            outboxes: HashMap::new(),
            chat: stored.chat.into(),
            next_chat_id,
            store,
            now_ms,
        };
        room.pause_while_empty();
        room
    }

    fn pause_while_empty(&mut self) {
        if self.members.is_empty() && self.clock.state().playing {
            self.clock.hold(true, (self.now_ms)());
            self.save_state();
        }
    }

    fn save_state(&self) {
        if let Some(store) = &self.store {
            store.write(RoomWrite::State {
                room: self.setup.id.clone(),
                policy: self.members.policy,
                playback: self.clock.state(),
                at_ms: (self.now_ms)(),
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    pub fn handle(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::Join { name, password, outbox, accepted } => {
                let result = self.join(name, password.as_deref(), outbox);
                let _ = accepted.send(result);
            }
            RoomCommand::Message { member, message } => {
                if let Err(refusal) = self.message(&member, message) {
                    self.send(&member, refusal_message(refusal));
                }
            }
            RoomCommand::Leave { member } => self.leave(&member, "left"),
        }
    }

    fn join(&mut self, name: String, password: Option<&str>, outbox: Outbox) -> Result<MemberId, Refusal> {
        if let Some(expected) = &self.setup.password
            && !expected.matches(password.unwrap_or_default())
        {
            return Err(Refusal::new("wrong_password", "this room needs the right password"));
        }
        let name = DisplayName::parse(&name)?;
        let member = cinemesh_common::id::random_id(12);
        self.members.join(member.clone(), name.clone())?;
        self.outboxes.insert(member.clone(), outbox);
        let now = (self.now_ms)();
        let welcome = RoomServerMessage::Welcome {
            version: ROOM_PROTOCOL_VERSION,
            member: member.clone(),
            room: self.setup.id.clone(),
            movie: self.setup.movie.clone(),
            policy: self.members.policy,
            members: self.member_views(),
            playback: self.clock.state(),
            chat: self.chat.iter().cloned().collect(),
            server_ms: now,
        };
        self.send(&member, welcome);
        self.broadcast_members();
        self.system(format!("{} joined", name.as_str()));
        Ok(member)
    }

    fn leave(&mut self, member: &str, how: &str) {
        let Some(name) = self.members.get(member).map(|m| m.name.as_str().to_owned()) else { return };
        let new_host = self.members.leave(member);
        self.outboxes.remove(member);
        self.system(format!("{name} {how}"));
        if let Some(host) = new_host.and_then(|id| self.members.get(&id).map(|m| m.name.as_str().to_owned())) {
            self.system(format!("{host} is now the host"));
        }
        self.broadcast_members();
        self.pause_while_empty();
    }

    fn message(&mut self, member: &str, message: RoomClientMessage) -> Result<(), Refusal> {
        let name = self
            .members
            .get(member)
            .map(|m| m.name.as_str().to_owned())
            .ok_or_else(|| Refusal::new("unknown_member", "not a member of this room"))?;
        match message {
            RoomClientMessage::Hello { .. } => Err(Refusal::new("already_greeted", "hello was already said")),
            // Answered by the session without a trip through the room.
            RoomClientMessage::Ping { .. } => Ok(()),
            RoomClientMessage::Control { based_on, command } => {
                self.members.may_control(member)?;
                let state = self.clock.apply(command, based_on, (self.now_ms)())?;
                self.save_state();
                self.broadcast(&RoomServerMessage::Playback { state, by: Some(member.to_owned()) });
                self.system(describe_command(&name, command));
                Ok(())
            }
            RoomClientMessage::Chat { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    return Err(Refusal::new(
                        "invalid_chat",
                        format!("a message has 1 to {MAX_CHAT_CHARS} characters"),
                    ));
                }
                self.post(ChatKind::User, name, text.to_owned());
                Ok(())
            }
            RoomClientMessage::SetPolicy { policy } => {
                self.members.set_policy(member, policy)?;
                self.save_state();
                self.broadcast_members();
                Ok(())
            }
            RoomClientMessage::SetCohost { member: target, cohost } => {
                self.members.set_cohost(member, &target, cohost)?;
                self.broadcast_members();
                Ok(())
            }
            RoomClientMessage::HandOver { member: target } => {
                self.members.hand_over(member, &target)?;
                self.broadcast_members();
                if let Some(host) = self.members.get(&target).map(|m| m.name.as_str().to_owned()) {
                    self.system(format!("{host} is now the host"));
                }
                Ok(())
            }
            RoomClientMessage::Kick { member: target } => {
                let kicked = self.members.kick(member, &target)?;
                self.send(&target, refusal_message(Refusal::new("kicked", "the host removed you from the room")));
                // Dropping the outbox ends the kicked member's session.
                self.outboxes.remove(&target);
                self.system(format!("{} was removed by {name}", kicked.name.as_str()));
                self.broadcast_members();
                Ok(())
            }
        }
    }

    fn member_views(&self) -> Vec<MemberView> {
        self.members
            .iter()
            .map(|(id, m)| MemberView { id: id.clone(), name: m.name.as_str().to_owned(), role: m.role })
            .collect()
    }

    fn broadcast_members(&self) {
        self.broadcast(&RoomServerMessage::Members { members: self.member_views(), policy: self.members.policy });
    }

    fn system(&mut self, text: String) {
        self.post(ChatKind::System, String::new(), text);
    }

    fn post(&mut self, kind: ChatKind, name: String, text: String) {
        let now = (self.now_ms)();
        let message = ChatMessage {
            id: self.next_chat_id,
            kind,
            name,
            text,
            server_ms: now,
            video_ms: self.clock.position_at(now),
        };
        self.next_chat_id += 1;
        if let Some(store) = &self.store {
            store.write(RoomWrite::Chat { room: self.setup.id.clone(), message: message.clone() });
        }
        self.chat.push_back(message.clone());
        while self.chat.len() > CHAT_HISTORY {
            self.chat.pop_front();
        }
        self.broadcast(&RoomServerMessage::Chat { message });
    }

    fn send(&self, member: &str, message: RoomServerMessage) {
        if let Some(outbox) = self.outboxes.get(member) {
            let _ = outbox.try_send(message);
        }
    }

    fn broadcast(&self, message: &RoomServerMessage) {
        for outbox in self.outboxes.values() {
            let _ = outbox.try_send(message.clone());
        }
    }
}

fn describe_command(name: &str, command: PlaybackCommand) -> String {
    let at = |ms: f64| {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}:{:02}", secs / 60, secs % 60)
    };
    match command {
        PlaybackCommand::Play { position_ms } => format!("{name} played at {}", at(position_ms)),
        PlaybackCommand::Pause { position_ms } => format!("{name} paused at {}", at(position_ms)),
        PlaybackCommand::Seek { position_ms } => format!("{name} jumped to {}", at(position_ms)),
    }
}

pub fn refusal_message(refusal: Refusal) -> RoomServerMessage {
    RoomServerMessage::Error { code: refusal.code.to_owned(), message: refusal.message }
}

/// Runs a room until its last member leaves and its commands stop.
pub async fn run_room(mut room: Room, mut commands: mpsc::Receiver<RoomCommand>) {
    while let Some(command) = commands.recv().await {
        room.handle(command);
    }
}

#[cfg(test)]
mod tests {
    use cinemesh_protocol::room::PlaybackState;

    use super::*;

    fn at_ten_seconds() -> i64 {
        10_000
    }

    #[test]
    fn a_room_brought_back_while_playing_is_paused_where_it_had_got_to() {
        let stored = StoredRoom {
            setup: RoomSetup { id: "r".into(), movie: "m".into(), duration_ms: 60_000.0, password: None },
            policy: ControlPolicy::Everyone,
            playback: PlaybackState { position_ms: 1_000.0, playing: true, rate: 1.0, seq: 4, anchor_ms: 2_000 },
            chat: vec![],
        };
        let room = Room::restore(stored, None, at_ten_seconds);
        let state = room.clock.state();
        assert_eq!((state.playing, state.position_ms, state.seq), (false, 9_000.0, 5));
        assert_eq!(room.members.policy, ControlPolicy::Everyone);
        assert_eq!(room.next_chat_id, 1);
    }
}
