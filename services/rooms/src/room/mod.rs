//! One room as a task: it alone owns the room's state, takes commands from
//! its members' sessions in order, and answers with frames serialized once
//! and handed to every recipient without waiting (a member too slow to read
//! loses messages; the room never waits on one).

mod banning;
mod rendition;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use cinemesh_common::presence_pass::PresencePasses;
use cinemesh_common::swarm_token::now_unix_secs;
use cinemesh_common::turn_credentials::IceServers;
use cinemesh_protocol::room::{
    CHAT_HISTORY, ChatKind, ChatMessage, ControlPolicy, MAX_CHAT_CHARS, MAX_EMOJI_CHARS, MAX_NONCE_CHARS,
    MAX_ORIGIN_FETCHES, MAX_RENDITION_LEVEL, MAX_SIGNAL_BYTES, MAX_TRACKER_PEER_ID_LEN, MAX_VIDEO_SENDERS,
    MemberHealth, MemberId, MemberView, PlaybackCommand, ROOM_PROTOCOL_VERSION, Reaction, Role, RoomClientMessage,
    RoomServerMessage, StreamKind, is_tracker_peer_id,
};
use cinemesh_protocol::room_relay::ConnectionKey;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::bans::Bans;
use crate::delivery::{Attachment, Frame, Route, fan_out, frame_of};
use crate::fetch_plan::{Sharer, fetchers, plan};
use crate::members::{DisplayName, Members};
use crate::origin_load::{self, OriginLoad};
use crate::playback::PlaybackClock;
use crate::store::{RoomStore, RoomWrite, StoredMember, StoredRoom};
use rendition::RoomRendition;

/// How long a member whose socket dropped keeps its seat by default, ms.
pub const DEFAULT_RESUME_GRACE_MS: i64 = 30_000;

/// How long a room with no members stays in memory by default, ms.
pub const DEFAULT_EMPTY_GRACE_MS: i64 = 300_000;
/// Members one room seats unless configured otherwise.
pub const DEFAULT_MAX_MEMBERS: usize = 100;

/// How long the room waits for members whose players ran dry, by default, ms.
pub const DEFAULT_BUFFER_WAIT_MS: i64 = 5_000;
/// Buffering reports this soon after the room starts playing (its anchor) are
/// that start itself (everyone seeks and loads), not a member falling behind, ms.
const SETTLE_MS: i64 = 1_500;
/// Ingest cuts movies into segments of this many seconds.
const SEGMENT_SECS: f64 = 2.0;
/// Sync health goes out at most this often, ms.
const HEALTH_EVERY_MS: i64 = 2_000;

/// The room holding for members whose players ran dry.
struct Wait {
    started_ms: i64,
    members: HashSet<MemberId>,
}

/// What a session asks of its room.
#[derive(Debug)]
pub enum RoomCommand {
    Join {
        name: String,
        /// The session checked the room's password (or the room has none).
        admitted: bool,
        resume: Option<String>,
        /// The client's address, for bans.
        address: Option<IpAddr>,
        connection: ConnectionKey,
        route: Route,
        accepted: oneshot::Sender<Result<MemberId, Refusal>>,
    },
    Message {
        member: MemberId,
        connection: ConnectionKey,
        message: RoomClientMessage,
    },
    /// The socket is gone: the seat is kept for the grace period.
    Detach {
        member: MemberId,
        connection: ConnectionKey,
    },
    /// The member said `leave`.
    Leave {
        member: MemberId,
        connection: ConnectionKey,
    },
    /// Time passes: seats kept past their grace period are given up.
    Tick,
    /// The room runs elsewhere now: everyone reconnects, and this task ends.
    Stop,
    /// The room is over for good (its movie was deleted): everyone is told
    /// why, and this task ends.
    End(Refusal),
}

struct Seat {
    /// SHA-256 of the resume token, hex: the token itself is not kept.
    resume_digest: String,
    attachment: Option<Attachment>,
    /// Set while detached: when the seat is given up, server ms.
    keep_until_ms: Option<i64>,
    /// What the member streams now, sorted.
    streaming: Vec<StreamKind>,
    /// Whether the member is in the video call.
    in_call: bool,
    /// The client address it joined from, to bar it with a kick.
    address: Option<IpAddr>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Distinct reactions one chat message carries, and how many of them one member may add.
const MAX_REACTIONS_PER_MESSAGE: usize = 12;
const MAX_REACTIONS_PER_MEMBER: usize = 3;

/// The most bytes a member may say it shared: far past any evening's upload.
const MAX_SHARED_BYTES: f64 = 1e13;

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
    seats: HashMap<MemberId, Seat>,
    chat: VecDeque<ChatMessage>,
    next_chat_id: u64,
    store: Option<RoomStore>,
    resume_grace_ms: i64,
    buffer_wait_ms: i64,
    empty_grace_ms: i64,
    max_members: usize,
    /// Since when nobody has a seat, server ms.
    empty_since_ms: Option<i64>,
    /// Set when the task should end: the room is unloaded or moved.
    finished: bool,
    metrics: crate::metrics::RoomMetrics,
    /// Members online as last added to the shared gauge.
    online_counted: i64,
    health: HashMap<MemberId, MemberHealth>,
    health_changed: bool,
    health_sent_ms: i64,
    /// The segments members fetched over HTTP lately, and what they make of the origin.
    origin: OriginLoad,
    origin_bytes_per_sec: Option<f64>,
    wait: Option<Wait>,
    /// Members the room stopped waiting for; they catch up on their own.
    catching_up: HashSet<MemberId>,
    /// Online members whose players share segments, with their upload caps.
    sharers: BTreeMap<MemberId, Sharer>,
    fetch_plan: Vec<MemberId>,
    /// The tracker ids of the members in `fetch_plan`, for the others to link to early.
    fetchers: Vec<String>,
    /// The rendition the sharing players load, from their buffers.
    rendition: RoomRendition,
    /// Signs the presence pass of each welcome.
    passes: PresencePasses,
    /// The call's STUN/TURN servers, in each welcome.
    ice_servers: IceServers,
    /// Who the host removed and barred.
    bans: Bans,
    /// Members typing now, so that only changes fan out.
    typing: HashSet<MemberId>,
    now_ms: fn() -> i64,
}

impl Room {
    pub fn with_resume_grace(mut self, grace_ms: i64) -> Self {
        let until = (self.now_ms)() + grace_ms;
        for seat in self.seats.values_mut().filter(|s| s.keep_until_ms.is_some()) {
            seat.keep_until_ms = Some(until);
        }
        self.resume_grace_ms = grace_ms;
        self
    }

    pub fn with_buffer_wait(mut self, wait_ms: i64) -> Self {
        self.buffer_wait_ms = wait_ms;
        self
    }

    pub fn with_empty_grace(mut self, grace_ms: i64) -> Self {
        self.empty_grace_ms = grace_ms;
        self
    }

    pub fn with_max_members(mut self, max_members: usize) -> Self {
        self.max_members = max_members;
        self
    }

    pub fn with_passes(mut self, passes: PresencePasses) -> Self {
        self.passes = passes;
        self
    }

    pub fn with_ice_servers(mut self, ice_servers: IceServers) -> Self {
        self.ice_servers = ice_servers;
        self
    }

    pub fn with_metrics(mut self, metrics: crate::metrics::RoomMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Brings the shared online gauge up to date with this room (to zero once it is finished).
    fn count_online(&mut self) {
        let online =
            if self.finished { 0 } else { self.seats.values().filter(|s| s.attachment.is_some()).count() as i64 };
        self.metrics.members_online.inc_by(online - self.online_counted);
        self.online_counted = online;
    }

    /// Whether the task should end (nobody came back within the empty grace, or the room moved).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// A new room; `created` is its record for the store, written before
    /// anyone learns its id.
    pub fn new(setup: RoomSetup, store: Option<RoomStore>, now_ms: fn() -> i64) -> Self {
        let clock = PlaybackClock::new(setup.duration_ms, now_ms());
        Self::assemble(setup, clock, ControlPolicy::HostOnly, VecDeque::new(), store, now_ms)
    }

    /// The new room's row.
    pub fn created(&self) -> RoomWrite {
        RoomWrite::Created {
            setup: self.setup.clone(),
            policy: self.members.policy,
            playback: self.clock.state(),
            at_ms: (self.now_ms)(),
        }
    }

    fn assemble(
        setup: RoomSetup,
        clock: PlaybackClock,
        policy: ControlPolicy,
        chat: VecDeque<ChatMessage>,
        store: Option<RoomStore>,
        now_ms: fn() -> i64,
    ) -> Self {
        let next_chat_id = chat.back().map_or(1, |m| m.id + 1);
        Self {
            setup,
            clock,
            members: Members::new(policy),
            seats: HashMap::new(),
            chat,
            next_chat_id,
            store,
            resume_grace_ms: DEFAULT_RESUME_GRACE_MS,
            buffer_wait_ms: DEFAULT_BUFFER_WAIT_MS,
            empty_grace_ms: DEFAULT_EMPTY_GRACE_MS,
            max_members: DEFAULT_MAX_MEMBERS,
            empty_since_ms: Some(now_ms()),
            finished: false,
            metrics: crate::metrics::RoomMetrics::default(),
            online_counted: 0,
            health: HashMap::new(),
            health_changed: false,
            health_sent_ms: 0,
            origin: OriginLoad::default(),
            origin_bytes_per_sec: None,
            wait: None,
            catching_up: HashSet::new(),
            sharers: BTreeMap::new(),
            bans: Bans::default(),
            typing: HashSet::new(),
            fetch_plan: Vec::new(),
            fetchers: Vec::new(),
            rendition: RoomRendition::default(),
            passes: PresencePasses::new(cinemesh_common::Signer::new("")),
            ice_servers: IceServers::default(),
            now_ms,
        }
    }

    /// A room as it was stored. Nobody is online in it yet, so it does not
    /// play: a room that was playing is paused where it had got to (as it is
    /// whenever nobody in it is online). Its members keep their seats and
    /// roles for the resume grace period, to come back with their tokens.
    pub fn restore(stored: StoredRoom, store: Option<RoomStore>, now_ms: fn() -> i64) -> Self {
        let clock = PlaybackClock::restore(stored.playback, stored.setup.duration_ms);
        let mut room = Self::assemble(stored.setup, clock, stored.policy, stored.chat.into(), store, now_ms);
        room.bans = Bans::restore(stored.bans);
        let until = now_ms() + room.resume_grace_ms;
        for member in stored.members {
            let Ok(name) = DisplayName::parse(&member.name) else { continue };
            room.members.seat(member.id.clone(), name, member.role);
            let seat = Seat {
                resume_digest: member.resume_digest,
                attachment: None,
                keep_until_ms: Some(until),
                streaming: Vec::new(),
                in_call: false,
                address: None,
            };
            room.seats.insert(member.id, seat);
        }
        if !room.members.is_empty() {
            room.empty_since_ms = None;
        }
        room.pause_while_nobody_online();
        room
    }

    /// Nobody watching, nobody to play for: pause where it had got to.
    fn pause_while_nobody_online(&mut self) {
        let online = self.seats.values().any(|s| s.attachment.is_some());
        if !online && self.clock.state().playing {
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
        // Messages rarely change who is online (a kick); the next tick, within 250 ms, counts that.
        let counts_online = !matches!(command, RoomCommand::Message { .. });
        self.dispatch(command);
        if counts_online || self.finished {
            self.count_online();
        }
    }

    fn dispatch(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::Join { name, admitted, resume, address, connection, route, accepted } => {
                let attachment = Attachment { connection, route };
                let result = match resume.as_deref().and_then(|token| self.seat_of(token).map(|m| (m, token))) {
                    Some((member, token)) => {
                        self.readmit(address).map(|()| self.resume(member, token, attachment, address))
                    }
                    None => self.join(name, admitted, attachment, address),
                };
                let _ = accepted.send(result);
            }
            RoomCommand::Message { member, connection, message } => {
                // A socket that was replaced (resumed elsewhere, kicked) no longer speaks for the member.
                if !self.is_attached(&member, &connection) {
                    return;
                }
                if let Err(refusal) = self.message(&member, message) {
                    self.metrics.refused(refusal.code);
                    self.send(&member, &refusal_message(refusal));
                }
            }
            RoomCommand::Detach { member, connection } => {
                if self.is_attached(&member, &connection) {
                    self.detach(&member);
                }
            }
            RoomCommand::Leave { member, connection } => {
                if self.is_attached(&member, &connection) {
                    self.leave(&member, "left");
                }
            }
            RoomCommand::Tick => {
                self.give_up_seats();
                self.expire_bans();
                self.stop_waiting_if_too_long();
                self.choose_rendition();
                self.send_health();
                self.unload_if_empty_too_long();
            }
            RoomCommand::End(refusal) => self.end(refusal),
            // Clients resume elsewhere.
            RoomCommand::Stop => self.end(crate::relay::room_moved()),
        }
    }

    /// Tells everyone why, and ends the task: dropping the attachments ends the sessions.
    fn end(&mut self, refusal: Refusal) {
        self.broadcast(&refusal_message(refusal));
        for seat in self.seats.values_mut() {
            seat.attachment = None;
        }
        self.finished = true;
    }

    /// How often the room ticks: fine enough while someone watches that the
    /// bounded wait overshoots by at most a quarter second; with nobody
    /// online only its graces run, and a quarter of the shortest is enough.
    pub fn tick_every(&self) -> std::time::Duration {
        const WATCHED: std::time::Duration = std::time::Duration::from_millis(250);
        const MOST_IDLE: std::time::Duration = std::time::Duration::from_secs(5);
        if self.seats.values().any(|s| s.attachment.is_some()) {
            return WATCHED;
        }
        let shortest_ms = self.resume_grace_ms.min(self.empty_grace_ms).max(0) as u64;
        std::time::Duration::from_millis(shortest_ms / 4).clamp(WATCHED, MOST_IDLE)
    }

    fn unload_if_empty_too_long(&mut self) {
        if self.members.is_empty() {
            let now = (self.now_ms)();
            let since = *self.empty_since_ms.get_or_insert(now);
            self.finished |= now - since >= self.empty_grace_ms;
        } else {
            self.empty_since_ms = None;
        }
    }

    fn is_attached(&self, member: &str, connection: &str) -> bool {
        self.seats.get(member).and_then(|s| s.attachment.as_ref()).is_some_and(|a| a.connection == connection)
    }

    fn seat_of(&self, resume_token: &str) -> Option<MemberId> {
        let wanted = digest(resume_token);
        self.seats.iter().find(|(_, seat)| seat.resume_digest == wanted).map(|(id, _)| id.clone())
    }

    fn join(
        &mut self,
        name: String,
        admitted: bool,
        attachment: Attachment,
        address: Option<IpAddr>,
    ) -> Result<MemberId, Refusal> {
        if self.setup.password.is_some() && !admitted {
            return Err(Refusal::new("wrong_password", "this room needs the right password"));
        }
        let name = DisplayName::parse(&name)?;
        self.admit(&name, address)?;
        if self.members.len() >= self.max_members {
            return Err(Refusal::new("room_full", format!("this room seats {} people", self.max_members)));
        }
        let member = cinemesh_common::id::random_id(12);
        self.members.join(member.clone(), name.clone())?;
        let token = cinemesh_common::id::random_id(24);
        let seat = Seat {
            resume_digest: digest(&token),
            attachment: Some(attachment),
            keep_until_ms: None,
            streaming: Vec::new(),
            in_call: false,
            address,
        };
        self.seats.insert(member.clone(), seat);
        self.empty_since_ms = None;
        self.save_member(&member);
        self.welcome(&member, &token);
        self.members_changed(&[&member], &[]);
        self.system(format!("{} joined", name.as_str()));
        Ok(member)
    }

    /// The member takes its seat back on a new socket: no leave, no join, the
    /// current state and the recent chat in its welcome.
    fn resume(&mut self, member: MemberId, token: &str, attachment: Attachment, address: Option<IpAddr>) -> MemberId {
        if let Some(seat) = self.seats.get_mut(&member) {
            // A socket still attached is replaced; dropping it ends that session.
            seat.attachment = Some(attachment);
            seat.keep_until_ms = None;
            seat.address = address;
        }
        self.welcome(&member, token);
        self.members_changed(&[&member], &[]);
        member
    }

    fn detach(&mut self, member: &str) {
        if let Some(seat) = self.seats.get_mut(member) {
            seat.attachment = None;
            seat.keep_until_ms = Some((self.now_ms)() + self.resume_grace_ms);
            // The media went with the socket; the page joins the call again.
            seat.streaming.clear();
            seat.in_call = false;
        }
        self.forget_health(member);
        self.members_changed(&[member], &[]);
        self.pause_while_nobody_online();
    }

    /// Records a member's seat (name, role, resume digest) so it survives a
    /// restart or a move to another instance.
    fn save_member(&self, member: &str) {
        let (Some(store), Some(m), Some(seat)) = (&self.store, self.members.get(member), self.seats.get(member)) else {
            return;
        };
        store.write(RoomWrite::Member {
            room: self.setup.id.clone(),
            member: StoredMember {
                id: member.to_owned(),
                name: m.name.as_str().to_owned(),
                role: m.role,
                resume_digest: seat.resume_digest.clone(),
            },
            at_ms: (self.now_ms)(),
        });
    }

    fn forget_member(&self, member: &str) {
        if let Some(store) = &self.store {
            store.write(RoomWrite::MemberGone { room: self.setup.id.clone(), member: member.to_owned() });
        }
    }

    fn give_up_seats(&mut self) {
        let now = (self.now_ms)();
        let expired: Vec<MemberId> = self
            .seats
            .iter()
            .filter(|(_, seat)| seat.keep_until_ms.is_some_and(|until| until <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for member in expired {
            self.leave(&member, "left");
        }
    }

    fn welcome(&self, member: &MemberId, token: &str) {
        let now = (self.now_ms)();
        let welcome = RoomServerMessage::Welcome {
            version: ROOM_PROTOCOL_VERSION,
            member: member.clone(),
            resume_token: token.to_owned(),
            presence_pass: self.passes.issue(&self.setup.id, member, now_unix_secs()),
            // Fresh with every welcome: a page back after sleep or a network change gets new ones.
            ice_servers: self.ice_servers.for_viewer(member, now_unix_secs()),
            room: self.setup.id.clone(),
            movie: self.setup.movie.clone(),
            policy: self.members.policy,
            members: self.member_views(),
            playback: self.clock.state(),
            chat: self.chat.iter().cloned().collect(),
            server_ms: now,
        };
        self.send(member, &welcome);
        if self.members.get(member).is_some_and(|m| m.role == Role::Host) {
            self.send(member, &RoomServerMessage::Bans { bans: self.bans.views() });
        }
    }

    fn leave(&mut self, member: &str, how: &str) {
        let Some(name) = self.members.get(member).map(|m| m.name.as_str().to_owned()) else { return };
        let new_host = self.members.leave(member);
        self.seats.remove(member);
        self.forget_member(member);
        self.forget_health(member);
        self.system(format!("{name} {how}"));
        let mut changed = Vec::new();
        if let Some(host) = new_host {
            self.save_member(&host);
            if let Some(name) = self.members.get(&host).map(|m| m.name.as_str().to_owned()) {
                self.system(format!("{name} is now the host"));
            }
            changed.push(host);
        }
        let handed_over = !changed.is_empty();
        let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
        self.members_changed(&changed, &[member]);
        if handed_over {
            self.send_bans();
        }
        self.pause_while_nobody_online();
    }

    fn message(&mut self, member: &str, message: RoomClientMessage) -> Result<(), Refusal> {
        let name = self
            .members
            .get(member)
            .map(|m| m.name.as_str().to_owned())
            .ok_or_else(|| Refusal::new("unknown_member", "not a member of this room"))?;
        match message {
            RoomClientMessage::Hello { .. } => Err(Refusal::new("already_greeted", "hello was already said")),
            // Handled by the session, which knows its connection.
            RoomClientMessage::Leave => Ok(()),
            RoomClientMessage::Status { buffering, offset_ms, shared_bytes, origin_fetches, ahead_secs, top_level } => {
                // Figures feed the shared histogram and everyone's health panel: nonsense is refused.
                let longest_offset_ms = self.setup.duration_ms + 60_000.0;
                if offset_ms.is_some_and(|o| !o.is_finite() || o.abs() > longest_offset_ms) {
                    return Err(Refusal::new("invalid_status", "offset_ms is beyond the movie"));
                }
                if shared_bytes.is_some_and(|b| !b.is_finite() || !(0.0..=MAX_SHARED_BYTES).contains(&b)) {
                    return Err(Refusal::new("invalid_status", "shared_bytes is not a byte count"));
                }
                if ahead_secs.is_some_and(|a| !a.is_finite() || !(0.0..=longest_offset_ms / 1000.0).contains(&a)) {
                    return Err(Refusal::new("invalid_status", "ahead_secs is not a span of the movie"));
                }
                if top_level.is_some_and(|l| l > MAX_RENDITION_LEVEL) {
                    return Err(Refusal::new("invalid_status", format!("top_level is at most {MAX_RENDITION_LEVEL}")));
                }
                let fetches = origin_fetches.unwrap_or_default();
                if fetches.len() > MAX_ORIGIN_FETCHES {
                    return Err(Refusal::new(
                        "invalid_status",
                        format!("at most {MAX_ORIGIN_FETCHES} origin fetches per status"),
                    ));
                }
                let now = (self.now_ms)() as f64;
                if !fetches.iter().all(|f| origin_load::plausible(f, now)) {
                    return Err(Refusal::new("invalid_status", "an origin fetch is not one of the last two minutes"));
                }
                for fetch in fetches {
                    self.origin.record(fetch);
                }
                self.status(member, &name, buffering, offset_ms, shared_bytes);
                if let (Some(ahead), Some(top)) = (ahead_secs, top_level) {
                    self.rendition.report(member, ahead, top, (self.now_ms)());
                }
                Ok(())
            }
            // Answered by the session without a trip through the room.
            RoomClientMessage::Ping { .. } => Ok(()),
            RoomClientMessage::Control { based_on, command } => {
                self.members.may_control(member)?;
                let now = (self.now_ms)();
                let was_at = self.clock.state().position_at(now);
                let mut state = self.clock.apply(command, based_on, now)?;
                // Moved elsewhere: every player's buffer starts again from nothing.
                if (state.position_ms - was_at).abs() > 1_000.0
                    && let Some(level) = self.rendition.refill(now)
                {
                    self.send_rendition(level);
                }
                // A new command decides; nobody is waited for any more.
                self.wait = None;
                self.catching_up.clear();
                // A start waits for members who said they cannot play there yet,
                // so that everyone starts together from the same frame, rather
                // than the ready ones playing on and being pulled back when the
                // others run dry a moment later.
                let unready = if state.playing { self.unready_members() } else { HashSet::new() };
                if !unready.is_empty() {
                    state = self.clock.hold(true, now);
                }
                self.save_state();
                self.broadcast(&RoomServerMessage::Playback { state, by: Some(member.to_owned()) });
                self.system(describe_command(&name, command));
                if !unready.is_empty() {
                    self.system(format!("Waiting for {}", self.names_of(&unready)));
                    self.wait = Some(Wait { started_ms: now, members: unready });
                }
                Ok(())
            }
            RoomClientMessage::Chat { text, nonce } => {
                let text = crate::text::clean_chat(&text)?;
                let text = text.as_str();
                if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    return Err(Refusal::new(
                        "invalid_chat",
                        format!("a message has 1 to {MAX_CHAT_CHARS} characters"),
                    ));
                }
                if nonce.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NONCE_CHARS) {
                    return Err(Refusal::new("invalid_chat", format!("a nonce has 1 to {MAX_NONCE_CHARS} characters")));
                }
                // Sent again after a reconnect, and already posted: nothing to do.
                if nonce.is_some() && self.chat.iter().any(|m| m.nonce == nonce) {
                    return Ok(());
                }
                self.post(ChatKind::User, name, text.to_owned(), nonce);
                Ok(())
            }
            RoomClientMessage::React { message, emoji } => self.react(member, message, emoji),
            RoomClientMessage::Typing { active } => {
                // Only a change goes out: repeats of the same state are coalesced.
                let changed = if active { self.typing.insert(member.to_owned()) } else { self.typing.remove(member) };
                if changed {
                    self.broadcast_except(member, &RoomServerMessage::Typing { member: member.to_owned(), active });
                }
                Ok(())
            }
            RoomClientMessage::SetPolicy { policy } => {
                self.members.set_policy(member, policy)?;
                self.save_state();
                self.members_changed(&[], &[]);
                Ok(())
            }
            RoomClientMessage::SetCohost { member: target, cohost } => {
                self.members.set_cohost(member, &target, cohost)?;
                self.save_member(&target);
                self.members_changed(&[&target], &[]);
                Ok(())
            }
            RoomClientMessage::HandOver { member: target } => {
                self.members.hand_over(member, &target)?;
                self.save_member(member);
                self.save_member(&target);
                self.members_changed(&[member, &target], &[]);
                if let Some(host) = self.members.get(&target).map(|m| m.name.as_str().to_owned()) {
                    self.system(format!("{host} is now the host"));
                }
                // The new host may lift bans: it gets their list.
                self.send_bans();
                Ok(())
            }
            RoomClientMessage::Kick { member: target, ban_minutes, bar_address } => {
                self.kick(member, &name, &target, ban_minutes, bar_address.unwrap_or(true))
            }
            RoomClientMessage::Unban { ban } => self.unban(member, &ban),
            RoomClientMessage::Sharing { shares, upload_cap, unreachable_peers, peer } => {
                if peer.as_deref().is_some_and(|p| !is_tracker_peer_id(p)) {
                    return Err(Refusal::new(
                        "invalid_sharing",
                        format!("peer is a tracker id: up to {MAX_TRACKER_PEER_ID_LEN} letters, digits, - or _"),
                    ));
                }
                if shares {
                    let sharer = Sharer {
                        upload_cap: upload_cap.filter(|c| c.is_finite()),
                        unreachable_peers: unreachable_peers.unwrap_or(0),
                        peer,
                    };
                    self.sharers.insert(member.to_owned(), sharer);
                } else {
                    self.sharers.remove(member);
                }
                if !self.replan() {
                    self.send(member, &self.fetch_plan_message());
                }
                if shares {
                    self.send(member, &RoomServerMessage::Rendition { level: self.rendition.level() });
                } else {
                    self.rendition.forget(member);
                }
                Ok(())
            }
            RoomClientMessage::Call { joined } => {
                if let Some(seat) = self.seats.get_mut(member)
                    && seat.in_call != joined
                {
                    seat.in_call = joined;
                    if !joined {
                        seat.streaming.retain(|kind| !kind.needs_call());
                    }
                    self.members_changed(&[member], &[]);
                }
                Ok(())
            }
            RoomClientMessage::CallLinked { pair } => {
                if self.seats.get(member).is_some_and(|seat| seat.in_call) {
                    self.metrics.ice_pairs.count("call", pair.as_str());
                }
                Ok(())
            }
            RoomClientMessage::Streaming { mut kinds } => {
                kinds.sort();
                kinds.dedup();
                self.may_stream(member, &kinds)?;
                if let Some(seat) = self.seats.get_mut(member)
                    && seat.streaming != kinds
                {
                    seat.streaming = kinds;
                    self.members_changed(&[member], &[]);
                }
                Ok(())
            }
            RoomClientMessage::Signal { to, data } => {
                if to == member || self.seats.get(&to).is_none_or(|seat| seat.attachment.is_none()) {
                    return Err(Refusal::new("unknown_member", "no such member online in this room"));
                }
                let size = serde_json::to_string(&data).map_or(usize::MAX, |text| text.len());
                if size > MAX_SIGNAL_BYTES {
                    return Err(Refusal::new(
                        "signal_too_large",
                        format!("a signal is at most {MAX_SIGNAL_BYTES} bytes of JSON"),
                    ));
                }
                self.send(&to, &RoomServerMessage::Signal { from: member.to_owned(), data });
                Ok(())
            }
        }
    }

    /// Whether `member` may stream `kinds`: the call's media only in the
    /// call, video only while fewer than `MAX_VIDEO_SENDERS` others send it,
    /// a file only with playback control and while nobody else streams one.
    fn may_stream(&self, member: &str, kinds: &[StreamKind]) -> Result<(), Refusal> {
        let seat = self.seats.get(member).ok_or_else(|| Refusal::new("unknown_member", "not in this room"))?;
        let others = || self.seats.iter().filter(move |(id, _)| id.as_str() != member).map(|(_, seat)| seat);
        if !seat.in_call && kinds.iter().any(|kind| kind.needs_call()) {
            return Err(Refusal::new("not_in_call", "join the call to stream a camera, microphone or screen"));
        }
        let sends_video = |kinds: &[StreamKind]| kinds.iter().any(|kind| kind.is_call_video());
        if sends_video(kinds)
            && !sends_video(&seat.streaming)
            && others().filter(|other| sends_video(&other.streaming)).count() >= MAX_VIDEO_SENDERS
        {
            return Err(Refusal::new(
                "video_full",
                format!("{MAX_VIDEO_SENDERS} members send video already; your audio still goes"),
            ));
        }
        if kinds.contains(&StreamKind::File) {
            self.members.may_control(member)?;
            if others().any(|other| other.streaming.contains(&StreamKind::File)) {
                return Err(Refusal::new("file_in_use", "someone else is streaming a file to the room"));
            }
        }
        Ok(())
    }

    /// Adds `member`'s reaction to a message, or takes it back when it is there already.
    fn react(&mut self, member: &str, message: u64, emoji: String) -> Result<(), Refusal> {
        let chars = emoji.chars().count();
        if chars == 0 || chars > MAX_EMOJI_CHARS || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Refusal::new(
                "invalid_reaction",
                format!("a reaction is 1 to {MAX_EMOJI_CHARS} characters, no spaces"),
            ));
        }
        let target = self
            .chat
            .iter_mut()
            .find(|m| m.id == message && m.kind == ChatKind::User)
            .ok_or_else(|| Refusal::new("unknown_message", "no such message in the recent chat"))?;
        let mine = target.reactions.iter().filter(|r| r.members.iter().any(|m| m == member)).count();
        let distinct = target.reactions.len();
        let too_many = || Refusal::new("too_many_reactions", "this message has as many reactions as it takes");
        match target.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) if reaction.members.iter().any(|m| m == member) => {
                reaction.members.retain(|m| m != member);
            }
            Some(_) if mine >= MAX_REACTIONS_PER_MEMBER => return Err(too_many()),
            Some(reaction) => reaction.members.push(member.to_owned()),
            None if mine >= MAX_REACTIONS_PER_MEMBER || distinct >= MAX_REACTIONS_PER_MESSAGE => {
                return Err(too_many());
            }
            None => target.reactions.push(Reaction { emoji, members: vec![member.to_owned()] }),
        }
        target.reactions.retain(|r| !r.members.is_empty());
        let reactions = target.reactions.clone();
        self.broadcast(&RoomServerMessage::Reactions { message, reactions });
        Ok(())
    }

    fn status(&mut self, member: &str, name: &str, buffering: bool, offset_ms: Option<f64>, shared_bytes: Option<f64>) {
        if let Some(offset) = offset_ms {
            self.metrics.sync_error_ms.observe(offset.abs());
        }
        let health = MemberHealth { id: member.to_owned(), buffering, offset_ms, shared_bytes };
        if self.health.get(member) != Some(&health) {
            self.health.insert(member.to_owned(), health);
            self.health_changed = true;
        }
        let now = (self.now_ms)();
        if !buffering {
            self.catching_up.remove(member);
            if let Some(wait) = &mut self.wait {
                wait.members.remove(member);
                if wait.members.is_empty() {
                    self.go_on("Everyone is ready".into());
                }
            }
            return;
        }
        if self.catching_up.contains(member) {
            return;
        }
        if let Some(wait) = &mut self.wait {
            wait.members.insert(member.to_owned());
            return;
        }
        let state = self.clock.state();
        if state.playing && now >= state.anchor_ms + SETTLE_MS {
            if let Some(level) = self.rendition.ran_dry(member, now) {
                self.send_rendition(level);
            }
            self.clock.hold(true, now);
            self.save_state();
            self.wait = Some(Wait { started_ms: now, members: HashSet::from([member.to_owned()]) });
            self.broadcast(&RoomServerMessage::Playback { state: self.clock.state(), by: None });
            self.system(format!("Waiting for {name}"));
        }
    }

    /// Stops waiting and plays on from where the room held.
    fn go_on(&mut self, why: String) {
        if self.wait.take().is_none() {
            return;
        }
        self.clock.hold(false, (self.now_ms)());
        self.save_state();
        self.broadcast(&RoomServerMessage::Playback { state: self.clock.state(), by: None });
        self.system(why);
    }

    fn stop_waiting_if_too_long(&mut self) {
        let now = (self.now_ms)();
        let Some(wait) = &self.wait else { return };
        if now - wait.started_ms < self.buffer_wait_ms {
            return;
        }
        let names = self.names_of(&wait.members);
        self.catching_up.extend(wait.members.iter().cloned());
        self.go_on(format!("Going on; {names} will catch up"));
    }

    /// Members whose last status said their player cannot play where the room is.
    fn unready_members(&self) -> HashSet<MemberId> {
        self.health.values().filter(|h| h.buffering).map(|h| h.id.clone()).collect()
    }

    /// The members' names, sorted and joined for a system line.
    fn names_of(&self, members: &HashSet<MemberId>) -> String {
        let mut names: Vec<&str> =
            members.iter().filter_map(|id| self.members.get(id).map(|m| m.name.as_str())).collect();
        names.sort_unstable();
        names.join(", ")
    }

    /// Recomputes the fetch plan; when it changed, everyone gets it (true).
    fn replan(&mut self) -> bool {
        let slots = plan(&self.sharers);
        let fetchers = fetchers(&slots, &self.sharers);
        if slots == self.fetch_plan && fetchers == self.fetchers {
            return false;
        }
        self.fetch_plan = slots;
        self.fetchers = fetchers;
        self.broadcast(&self.fetch_plan_message());
        true
    }

    fn fetch_plan_message(&self) -> RoomServerMessage {
        RoomServerMessage::FetchPlan { slots: self.fetch_plan.clone(), fetchers: self.fetchers.clone() }
    }

    /// The sharing players' rendition, judged from their buffers while the room plays.
    fn choose_rendition(&mut self) {
        let now = (self.now_ms)();
        let state = self.clock.state();
        let playing = state.playing && now >= state.anchor_ms && self.wait.is_none();
        let origin_copies = self.origin.copies_per_segment(now as f64, SEGMENT_SECS);
        if let Some(level) = self.rendition.decide(playing, origin_copies, now) {
            self.send_rendition(level);
        }
    }

    /// Only sharing players follow the room's rendition (the others' buffers do not count).
    fn send_rendition(&self, level: u32) {
        let frame = frame_of(&RoomServerMessage::Rendition { level });
        let sharing = self.sharers.keys().filter_map(|id| self.seats.get(id)?.attachment.as_ref());
        fan_out(sharing, &frame);
    }

    /// The member is offline or gone: its health and its share of the fetching go.
    fn forget_health(&mut self, member: &str) {
        self.rendition.forget(member);
        if self.sharers.remove(member).is_some() {
            self.replan();
        }
        self.health_changed |= self.health.remove(member).is_some();
        self.typing.remove(member);
        self.catching_up.remove(member);
        if let Some(wait) = &mut self.wait {
            wait.members.remove(member);
            if wait.members.is_empty() {
                self.go_on("Everyone is ready".into());
            }
        }
    }

    fn send_health(&mut self) {
        let now = (self.now_ms)();
        let origin = origin_load::published(self.origin_bytes_per_sec, self.origin.bytes_per_sec(now as f64));
        if origin != self.origin_bytes_per_sec {
            self.origin_bytes_per_sec = origin;
            self.health_changed = true;
        }
        if !self.health_changed || now - self.health_sent_ms < HEALTH_EVERY_MS {
            return;
        }
        self.health_changed = false;
        self.health_sent_ms = now;
        let mut members: Vec<MemberHealth> = self.health.values().cloned().collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        self.broadcast(&RoomServerMessage::Health { members, origin_bytes_per_sec: self.origin_bytes_per_sec });
    }

    fn member_view(&self, id: &str) -> Option<MemberView> {
        let member = self.members.get(id)?;
        let seat = self.seats.get(id);
        Some(MemberView {
            id: id.to_owned(),
            name: member.name.as_str().to_owned(),
            role: member.role,
            online: seat.is_some_and(|s| s.attachment.is_some()),
            streaming: seat.map(|s| s.streaming.clone()).unwrap_or_default(),
            in_call: seat.is_some_and(|s| s.in_call),
        })
    }

    fn member_views(&self) -> Vec<MemberView> {
        self.members.iter().filter_map(|(id, _)| self.member_view(id)).collect()
    }

    /// Tells everyone what changed about these members (and the policy):
    /// the size of the change, not of the room.
    fn members_changed(&self, changed: &[&str], left: &[&str]) {
        self.broadcast(&RoomServerMessage::MembersChanged {
            changed: changed.iter().filter_map(|id| self.member_view(id)).collect(),
            left: left.iter().map(|id| (*id).to_owned()).collect(),
            policy: self.members.policy,
        });
    }

    fn system(&mut self, text: String) {
        self.post(ChatKind::System, String::new(), text, None);
    }

    fn post(&mut self, kind: ChatKind, name: String, text: String, nonce: Option<String>) {
        let now = (self.now_ms)();
        let message = ChatMessage {
            id: self.next_chat_id,
            kind,
            name,
            text,
            server_ms: now,
            video_ms: self.clock.position_at(now),
            reactions: Vec::new(),
            nonce,
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

    fn send(&self, member: &str, message: &RoomServerMessage) {
        if let Some(attachment) = self.seats.get(member).and_then(|s| s.attachment.as_ref()) {
            attachment.send(&frame_of(message));
        }
    }

    fn broadcast_except(&self, member: &str, message: &RoomServerMessage) {
        let frame: Frame = frame_of(message);
        let others = self.seats.iter().filter(|(id, _)| *id != member).filter_map(|(_, s)| s.attachment.as_ref());
        fan_out(others, &frame);
    }

    fn broadcast(&self, message: &RoomServerMessage) {
        fan_out(self.seats.values().filter_map(|s| s.attachment.as_ref()), &frame_of(message));
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

/// Runs a room until its commands stop or it is finished.
pub async fn run_room(mut room: Room, mut commands: mpsc::Receiver<RoomCommand>) {
    let mut next_tick = tokio::time::Instant::now() + room.tick_every();
    while !room.is_finished() {
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    room.handle(command);
                    // Someone came online: the fine tick starts now, not when the slow one ends.
                    next_tick = next_tick.min(tokio::time::Instant::now() + room.tick_every());
                }
                None => break,
            },
            _ = tokio::time::sleep_until(next_tick) => {
                room.handle(RoomCommand::Tick);
                next_tick = tokio::time::Instant::now() + room.tick_every();
            }
        }
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
            members: vec![],
            bans: vec![],
        };
        let room = Room::restore(stored, None, at_ten_seconds);
        assert_eq!(room.tick_every(), std::time::Duration::from_secs(5), "nobody online: a slow tick");
        let state = room.clock.state();
        assert_eq!((state.playing, state.position_ms, state.seq), (false, 9_000.0, 5));
        assert_eq!(room.members.policy, ControlPolicy::Everyone);
        assert_eq!(room.next_chat_id, 1);
    }
}
