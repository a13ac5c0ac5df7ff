//! One room as a task: it alone owns the room's state, takes commands from
//! its members' sessions in order, and answers with frames serialized once
//! and handed to every recipient without waiting (a member too slow to read
//! loses messages; the room never waits on one).

mod banning;
mod chat;
mod control;
mod health;
mod messages;
mod queue;
mod rendition;
mod roles;
mod seats;
mod sharing;
mod start_lead;
mod streams;
mod tracks;
mod waiting;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use cinemesh_common::presence_pass::PresencePasses;
use cinemesh_common::turn_credentials::IceServers;
use cinemesh_protocol::room::{
    ChatMessage, ControlPolicy, MemberHealth, MemberId, MemberTracks, RoomClientMessage, RoomServerMessage,
};
use cinemesh_protocol::room_relay::ConnectionKey;
use tokio::sync::{mpsc, oneshot};

use crate::Refusal;
use crate::api::MovieDirectory;
use crate::bans::Bans;
use crate::delivery::{Attachment, Route, fan_out};
use crate::fetch_plan::{FetchPlans, Sharer};
use crate::frame::{Frame, frame_of, refusal_message};
use crate::members::{DisplayName, Members};
use crate::origin_load::OriginLoad;
use crate::playback::PlaybackClock;
use crate::setup::{CurrentMovie, RoomSetup};
use crate::store::{RoomStore, RoomWrite, StoredRoom};
use rendition::RoomRendition;
use seats::Seat;
use waiting::Wait;

/// How long a member whose socket dropped keeps its seat by default, ms.
pub const DEFAULT_RESUME_GRACE_MS: i64 = 30_000;

/// How long a room with no members stays in memory by default, ms.
pub const DEFAULT_EMPTY_GRACE_MS: i64 = 300_000;
/// Members one room seats unless configured otherwise.
pub const DEFAULT_MAX_MEMBERS: usize = 100;

/// How long the room waits for members whose players ran dry, by default, ms.
pub const DEFAULT_BUFFER_WAIT_MS: i64 = 5_000;

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
    /// The catalog answered about a movie a member queued (`None`: no such movie).
    LookedUp {
        ticket: u64,
        facts: Option<crate::api::MovieFacts>,
    },
    /// A movie was deleted from the catalog: it leaves the queue.
    MovieGone(String),
}

pub struct Room {
    setup: RoomSetup,
    clock: PlaybackClock,
    members: Members,
    seats: HashMap<MemberId, Seat>,
    chat: VecDeque<ChatMessage>,
    next_chat_id: u64,
    /// The languages the host suggests.
    suggested_tracks: MemberTracks,
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
    /// Who fetches which segment for the room (the video's and the audio renditions').
    fetch_plan: FetchPlans,
    /// The rendition the sharing players load, from their buffers.
    rendition: RoomRendition,
    /// How far ahead starts go out, from the members' round trips.
    start_lead: start_lead::StartLead,
    /// Signs the presence pass of each welcome.
    passes: PresencePasses,
    /// The call's STUN/TURN servers, in each welcome.
    ice_servers: IceServers,
    /// Who the host removed and barred.
    bans: Bans,
    /// Members typing now, so that only changes fan out.
    typing: HashSet<MemberId>,
    /// What plays next, and what the room watched.
    queue: crate::queue::RoomQueue,
    /// The movie playing went to the history as ended (it is not recorded twice).
    end_recorded: bool,
    /// Someone stopped the countdown at this movie's end: the room stays there.
    countdown_stopped: bool,
    /// Movies deleted from the catalog while this room ran.
    deleted_movies: HashSet<String>,
    /// Movies members queued while the catalog is asked about them, in order.
    pending_adds: VecDeque<queue::PendingAdd>,
    next_ticket: u64,
    /// When the movie playing started, server ms.
    started_at_ms: i64,
    /// The movie playing, shared with the registry (room summaries, deleted movies).
    current_movie: CurrentMovie,
    /// The catalog, for the movies members queue.
    movies: Option<Arc<dyn MovieDirectory>>,
    /// This room's own commands, for the catalog's answers.
    own_commands: Option<mpsc::WeakSender<RoomCommand>>,
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

    pub fn with_movies(mut self, movies: Option<Arc<dyn MovieDirectory>>) -> Self {
        self.movies = movies;
        self
    }

    /// Where the registry reads the movie this room plays.
    pub fn with_current_movie(mut self, current: CurrentMovie) -> Self {
        current.set(&self.setup.movie);
        self.current_movie = current;
        self
    }

    pub fn with_own_commands(mut self, commands: mpsc::WeakSender<RoomCommand>) -> Self {
        self.own_commands = Some(commands);
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
            suggested_tracks: MemberTracks::default(),
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
            queue: crate::queue::RoomQueue::default(),
            end_recorded: false,
            countdown_stopped: false,
            deleted_movies: HashSet::new(),
            pending_adds: VecDeque::new(),
            next_ticket: 0,
            started_at_ms: now_ms(),
            current_movie: CurrentMovie::default(),
            movies: None,
            own_commands: None,
            fetch_plan: FetchPlans::default(),
            rendition: RoomRendition::default(),
            start_lead: start_lead::StartLead::default(),
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
        room.suggested_tracks = stored.suggested_tracks;
        room.queue = crate::queue::RoomQueue::restore(&stored.queue, stored.history);
        room.started_at_ms = stored.queue.started_at_ms;
        // Stored at its end: it went to the history in the same write.
        room.end_recorded = room.at_end(now_ms());
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
                tracks: MemberTracks::default(),
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
                suggested_tracks: self.suggested_tracks.clone(),
                movie: self.setup.movie.clone(),
                duration_ms: self.setup.duration_ms,
                queue: self.queue.stored(&self.now_playing(), self.started_at_ms),
                history: self.queue.history(),
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
                self.next_movie_if_due();
                self.choose_rendition();
                self.send_health();
                self.unload_if_empty_too_long();
            }
            RoomCommand::End(refusal) => self.end(refusal),
            RoomCommand::LookedUp { ticket, facts } => self.queue_looked_up(ticket, facts),
            RoomCommand::MovieGone(movie) => self.movie_gone(&movie),
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
            setup: RoomSetup {
                id: "r".into(),
                movie: "m".into(),
                title: "M".into(),
                duration_ms: 60_000.0,
                password: None,
            },
            policy: ControlPolicy::Everyone,
            playback: PlaybackState { position_ms: 1_000.0, playing: true, rate: 1.0, seq: 4, anchor_ms: 2_000 },
            suggested_tracks: MemberTracks { audio: Some("fr".into()), subtitles: None },
            queue: crate::queue::StoredQueue::default(),
            history: vec![],
            chat: vec![],
            members: vec![],
            bans: vec![],
        };
        let room = Room::restore(stored, None, at_ten_seconds);
        assert_eq!(room.suggested_tracks.audio.as_deref(), Some("fr"), "the host's suggestion comes back");
        assert_eq!(room.tick_every(), std::time::Duration::from_secs(5), "nobody online: a slow tick");
        let state = room.clock.state();
        assert_eq!((state.playing, state.position_ms, state.seq), (false, 9_000.0, 5));
        assert_eq!(room.members.policy, ControlPolicy::Everyone);
        assert_eq!(room.next_chat_id, 1);
    }
}
