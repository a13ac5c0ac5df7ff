//! Room messages: JSON text frames over a room's WebSocket, tagged by `type`.
//! The server holds the authoritative playback state; clients send commands
//! that carry the `seq` they last saw, and the server answers with a new
//! state that takes effect at a scheduled server time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ice::{IcePair, IceServer};
use crate::room_queue::{NowPlaying, QueueView, WatchedEntry};

/// Version of this protocol; `hello` carries it.
pub const ROOM_PROTOCOL_VERSION: u32 = 1;
/// Longest display name, characters.
pub const MAX_NAME_CHARS: usize = 32;

/// Server-assigned member id: unique per room member, opaque to clients.
pub type MemberId = String;

/// Who may play, pause and seek.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ControlPolicy {
    HostOnly,
    Cohosts,
    Everyone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Cohost,
    Host,
}

/// The room's playback, authoritative on the server. The position is
/// `position_ms` at server time `anchor_ms`, and advances at `rate` from then
/// on while `playing` (a start scheduled in the future holds the position
/// until then).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct PlaybackState {
    pub position_ms: f64,
    pub playing: bool,
    pub rate: f64,
    /// Bumped by every accepted command.
    pub seq: u64,
    /// Server time, Unix ms.
    pub anchor_ms: i64,
}

impl PlaybackState {
    /// The position at server time `now_ms`.
    pub fn position_at(&self, now_ms: i64) -> f64 {
        if !self.playing || now_ms <= self.anchor_ms {
            return self.position_ms;
        }
        self.position_ms + (now_ms - self.anchor_ms) as f64 * self.rate
    }
}

/// A playback command; `position_ms` is where the sender wants the room to be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum PlaybackCommand {
    Play { position_ms: f64 },
    Pause { position_ms: f64 },
    Seek { position_ms: f64 },
}

/// Largest text frame a room socket reads, bytes (room for a `signal`).
pub const MAX_ROOM_FRAME_BYTES: usize = 40 * 1024;
/// Largest `signal` payload, bytes of JSON: a session description with
/// audio and a few video tracks is 5 to 15 KiB.
pub const MAX_SIGNAL_BYTES: usize = 32 * 1024;
/// Members who may send video (camera or screen) at once: a mesh of more
/// costs every receiver too much. Audio has no such limit.
pub const MAX_VIDEO_SENDERS: usize = 4;
/// Longest chat message, characters.
pub const MAX_CHAT_CHARS: usize = 500;
/// Chat messages a newcomer receives.
pub const CHAT_HISTORY: usize = 100;
/// Longest reaction, characters (an emoji with its modifiers).
pub const MAX_EMOJI_CHARS: usize = 8;
/// Bans one room keeps; the oldest goes first past this.
pub const MAX_BANS: usize = 200;
/// Longest timed ban, minutes (a year); longer is "as long as the room lasts".
pub const MAX_BAN_MINUTES: u32 = 525_600;

/// Someone the host removed and barred from the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BanView {
    pub id: String,
    /// The name they had; it is refused while the ban holds.
    pub name: String,
    /// When the ban ends, server ms (none: as long as the room lasts).
    #[serde(default)]
    #[ts(optional)]
    pub until_ms: Option<i64>,
    /// Whether their address is barred too.
    pub address: bool,
}

/// Messages from a member to its room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum RoomClientMessage {
    /// First message: who joins, with the room's password when it has one.
    Hello {
        version: u32,
        name: String,
        #[serde(default)]
        #[ts(optional)]
        password: Option<String>,
        /// The `resume_token` of an earlier welcome: take back that seat
        /// (within the grace period) without a leave and a join.
        #[serde(default)]
        #[ts(optional)]
        resume: Option<String>,
    },
    /// Leaving for good (a dropped socket only steps away for the grace period).
    Leave,
    /// How this member's player is doing: sent every few seconds and when
    /// `buffering` changes. `buffering`: the player cannot play where the
    /// room is (running dry while the room plays, or, while it is paused,
    /// not loaded enough to start at once). A start, and a member that runs
    /// dry while the room plays, make the room wait for such members, for a
    /// bounded time.
    Status {
        buffering: bool,
        /// The player's position minus the room's, ms (none while not playing).
        #[serde(default)]
        #[ts(optional)]
        offset_ms: Option<f64>,
        /// Bytes this member's player has uploaded to peers so far.
        #[serde(default)]
        #[ts(optional)]
        shared_bytes: Option<f64>,
        /// Segments this member fetched over HTTP since its last status, at
        /// most `MAX_ORIGIN_FETCHES`: the room measures what its origin can
        /// serve from them.
        #[serde(default)]
        #[ts(optional)]
        origin_fetches: Option<Vec<OriginFetch>>,
        /// Seconds of the movie this member's player holds ahead of its
        /// position, sent by players that follow the room's rendition (the
        /// ones that share with peers): the room picks the rendition all of
        /// them can keep their buffers full at.
        #[serde(default)]
        #[ts(optional)]
        ahead_secs: Option<f64>,
        /// The highest rendition this player shows (its screen's size), as
        /// an index into the movie's renditions from the lowest bitrate up.
        #[serde(default)]
        #[ts(optional)]
        top_level: Option<u32>,
        /// The movie this status is about: one about a movie the room has
        /// left (sent before the player heard of the change) is not counted.
        #[serde(default)]
        #[ts(optional)]
        movie: Option<String>,
        /// The smallest round trip to the server this page measured lately
        /// (its pings), ms: the room schedules starts far enough ahead for
        /// its slowest member to hear of them in time. Left out when none,
        /// so that an instance of the version before, which refuses unknown
        /// fields, still takes a relayed status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        rtt_ms: Option<f64>,
    },
    /// Answered by `pong` with the server's clock, for the clock offset.
    Ping {
        t: f64,
    },
    /// A playback command based on the state with sequence `based_on`.
    Control {
        based_on: u64,
        command: PlaybackCommand,
    },
    /// A chat message. `nonce`, chosen by the client, makes sending again
    /// safe: a message whose nonce the room already has is not posted twice
    /// (clients send again what was not echoed before a reconnect).
    Chat {
        text: String,
        #[serde(default)]
        #[ts(optional)]
        nonce: Option<String>,
    },
    /// React to a chat message with an emoji (again: take it back).
    React {
        message: u64,
        emoji: String,
    },
    /// The member started or stopped typing.
    Typing {
        active: bool,
    },
    /// The host (or co-host, when allowed) changes who controls playback.
    SetPolicy {
        policy: ControlPolicy,
    },
    SetCohost {
        member: MemberId,
        cohost: bool,
    },
    HandOver {
        member: MemberId,
    },
    /// Removes a member and bars them: their resume token no longer works,
    /// their name is refused, and so (unless `bar_address` is false) is
    /// their address, for `ban_minutes` or, by default, as long as the room lasts.
    Kick {
        member: MemberId,
        #[serde(default)]
        #[ts(optional)]
        ban_minutes: Option<u32>,
        #[serde(default)]
        #[ts(optional)]
        bar_address: Option<bool>,
    },
    /// Lifts a ban (host only); its id is in `bans`.
    Unban {
        ban: String,
    },
    /// Joining (or leaving) the room's video call. Only members in the call
    /// stream a camera, microphone or screen, and they receive each other's.
    Call {
        joined: bool,
    },
    /// One of this member's call connections connected, over `pair`
    /// (counted in `/metrics`).
    CallLinked {
        pair: IcePair,
    },
    /// What this member streams to the room now (empty: nothing). The media
    /// itself goes over WebRTC; the room only tells everyone. Camera,
    /// microphone and screen need the call; video is limited to
    /// `MAX_VIDEO_SENDERS` members; a file is streamed by one member at a
    /// time, who may control playback.
    Streaming {
        kinds: Vec<StreamKind>,
    },
    /// What this member hears and reads now, as BCP 47 tags (none: the
    /// movie's only audio track; no subtitles). Shown to everyone in the
    /// People panel; each member's playback stays on the room's clock.
    Tracks {
        #[serde(default)]
        #[ts(optional)]
        audio: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        subtitles: Option<String>,
    },
    /// The host suggests audio and subtitle languages for the room: each
    /// member who has not picked their own in the room takes them (none:
    /// no suggestion for that one). Host only.
    SuggestTracks {
        #[serde(default)]
        #[ts(optional)]
        audio: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        subtitles: Option<String>,
    },
    /// Adds a catalog movie to the end of the queue: members with playback
    /// control, and the others while the queue takes suggestions (at most
    /// `MAX_SUGGESTIONS` entries of theirs at a time).
    QueueAdd {
        movie: String,
    },
    /// Takes an entry out of the queue.
    QueueRemove {
        entry: String,
    },
    /// Moves an entry to index `to`, based on the queue's `version`: a move
    /// based on an older one is refused (`stale_queue`).
    QueueMove {
        entry: String,
        to: u32,
        based_on: u64,
    },
    /// Plays an entry now, for everyone: it leaves the queue, and the movie
    /// playing goes to the history.
    QueuePlay {
        entry: String,
    },
    /// Whether the next movie starts at the end of one, and after how many
    /// seconds of countdown (at most `MAX_COUNTDOWN_SECS`); whether members
    /// without playback control may add movies (none: as it was).
    QueueSettings {
        autoplay: bool,
        countdown_secs: u32,
        #[serde(default)]
        #[ts(optional)]
        suggestions: Option<bool>,
    },
    /// Stops the countdown to the next movie: the room stays at the end.
    CancelCountdown,
    /// WebRTC signalling for another member, relayed as it is: at most
    /// `MAX_SIGNAL_BYTES` of JSON.
    Signal {
        to: MemberId,
        #[ts(type = "unknown")]
        data: serde_json::Value,
    },
    /// Whether this member's player shares segments with peers, and its
    /// upload cap in bytes/s (none: uncapped). Answered with `fetch_plan`.
    Sharing {
        shares: bool,
        #[serde(default)]
        #[ts(optional)]
        upload_cap: Option<f64>,
        /// Peers this member's player tried to link to lately and could not
        /// (their NATs and its own do not let a connection through). The
        /// room's fetching goes to the members everyone can reach.
        #[serde(default)]
        #[ts(optional)]
        unreachable_peers: Option<u32>,
        /// This member's id on the movie's tracker, once it has one
        /// (`MAX_TRACKER_PEER_ID_LEN` letters, digits, `-` or `_`): the
        /// others link to the room's fetchers before they need a segment.
        #[serde(default)]
        #[ts(optional)]
        peer: Option<String>,
        /// The audio rendition this member's player loads beside the video
        /// (`audio-fr`), when the movie's audio tracks are renditions of
        /// their own: the members who play the same one share its fetching.
        #[serde(default)]
        #[ts(optional)]
        audio: Option<String>,
    },
}

/// The longest language tag a member may report in `tracks` (BCP 47 allows 35).
pub const MAX_LANGUAGE_TAG_LEN: usize = 35;

/// Whether `tag` looks like a BCP 47 language tag: `fr`, `pt-BR`, `zh-Hant`.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    tag.len() <= MAX_LANGUAGE_TAG_LEN
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What a member hears and reads, as BCP 47 tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberTracks {
    /// None: the movie's only audio track (or not said yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub audio: Option<String>,
    /// None: no subtitles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub subtitles: Option<String>,
}

/// The longest tracker peer id a member may report in `sharing`.
pub const MAX_TRACKER_PEER_ID_LEN: usize = 32;

/// Whether `peer` looks like a tracker peer id (it is only used to link early, never trusted).
pub fn is_tracker_peer_id(peer: &str) -> bool {
    !peer.is_empty()
        && peer.len() <= MAX_TRACKER_PEER_ID_LEN
        && peer.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The longest rendition name a member may report in `sharing`.
pub const MAX_RENDITION_NAME_LEN: usize = 32;

/// Whether `name` looks like a rendition's name (`480p`, `audio-pt-br`).
pub fn is_rendition_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RENDITION_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// What a member can stream to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Camera,
    Microphone,
    Screen,
    /// A movie file from the member's own computer.
    File,
}

impl StreamKind {
    /// Media of the video call, sent only by members in it.
    pub fn needs_call(self) -> bool {
        matches!(self, Self::Camera | Self::Microphone | Self::Screen)
    }

    /// Video of the call, which `MAX_VIDEO_SENDERS` limits.
    pub fn is_call_video(self) -> bool {
        matches!(self, Self::Camera | Self::Screen)
    }
}

/// A member as everyone in the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberView {
    pub id: MemberId,
    pub name: String,
    pub role: Role,
    /// False while the member's socket is gone and the seat is kept for it.
    pub online: bool,
    /// What the member streams now, in `StreamKind` order.
    #[serde(default)]
    pub streaming: Vec<StreamKind>,
    /// Whether the member is in the room's video call.
    #[serde(default)]
    pub in_call: bool,
    /// What the member hears and reads.
    #[serde(default)]
    pub tracks: MemberTracks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// Written by a member.
    User,
    /// Written by the room: joins, leaves, playback changes, role changes.
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    /// Increasing within a room.
    pub id: u64,
    pub kind: ChatKind,
    /// The writer's name at the time (empty for system messages).
    pub name: String,
    pub text: String,
    /// Server time, Unix ms.
    pub server_ms: i64,
    /// The room's playback position when it was written, ms.
    pub video_ms: f64,
    /// Reactions so far, by emoji, in the order they first appeared.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// The sender's nonce, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub nonce: Option<String>,
}

/// Longest chat nonce, characters.
pub const MAX_NONCE_CHARS: usize = 64;

/// One segment fetched over HTTP, on the server's clock (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct OriginFetch {
    pub start_ms: f64,
    pub end_ms: f64,
    pub bytes: f64,
    /// Which segment it was ("240p/12": rendition and number), so that the
    /// room counts how many times the origin served each one. At most
    /// `MAX_FETCHED_SEGMENT_CHARS` characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub segment: Option<String>,
}

/// Longest `OriginFetch::segment`, characters.
pub const MAX_FETCHED_SEGMENT_CHARS: usize = 64;

/// Most origin fetches one status may carry.
pub const MAX_ORIGIN_FETCHES: usize = 16;
/// Most renditions a movie's ladder may have, for `top_level` (and the room's `rendition`).
pub const MAX_RENDITION_LEVEL: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reaction {
    pub emoji: String,
    /// Who reacted with it.
    pub members: Vec<MemberId>,
}

/// Messages from a room to a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
#[allow(
    clippy::large_enum_variant,
    reason = "messages are serialized as soon as they are made; a welcome goes out once per join"
)]
pub enum RoomServerMessage {
    Welcome {
        version: u32,
        /// The id of the member who said hello.
        member: MemberId,
        /// Give it in `hello` to take this seat back after a dropped socket.
        resume_token: String,
        /// Give it in the lobby's `where` to be shown in this room there.
        presence_pass: String,
        /// STUN/TURN servers for the call and streamed files, TURN
        /// credentials made for this member (they expire: each welcome
        /// carries fresh ones).
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        room: String,
        movie: String,
        policy: ControlPolicy,
        members: Vec<MemberView>,
        playback: PlaybackState,
        /// The last `CHAT_HISTORY` messages, oldest first.
        chat: Vec<ChatMessage>,
        server_ms: i64,
        /// The languages the host suggests (see `suggest_tracks`).
        #[serde(default)]
        suggested_tracks: MemberTracks,
        /// The movie the room plays (`movie`, with its title and length).
        #[serde(default)]
        #[ts(optional)]
        now_playing: Option<NowPlaying>,
        #[serde(default)]
        queue: QueueView,
        /// What the room watched, oldest first.
        #[serde(default)]
        history: Vec<WatchedEntry>,
    },
    Pong {
        t: f64,
        server_ms: i64,
    },
    /// The playback state changed; `by` is who changed it (none: the room).
    Playback {
        state: PlaybackState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<MemberId>,
    },
    /// The queue changed (or its countdown started or stopped).
    Queue {
        queue: QueueView,
    },
    /// The room plays another movie: every player loads it and the room
    /// starts it once they can play (or after the bounded wait), from `state`.
    NowPlaying {
        now_playing: NowPlaying,
        state: PlaybackState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        by: Option<MemberId>,
    },
    /// What the room watched, oldest first, after it changed.
    History {
        history: Vec<WatchedEntry>,
    },
    /// The host suggested these languages for the room.
    SuggestedTracks {
        tracks: MemberTracks,
    },
    /// The room's bans, to the host: after its welcome and whenever they change.
    Bans {
        bans: Vec<BanView>,
    },
    /// Members changed: `changed` are new or updated (a join, a role, going
    /// offline, streaming), `left` are gone. The full list is in `welcome`.
    MembersChanged {
        #[serde(default)]
        changed: Vec<MemberView>,
        #[serde(default)]
        left: Vec<MemberId>,
        policy: ControlPolicy,
    },
    Chat {
        message: ChatMessage,
    },
    /// A message's reactions changed.
    Reactions {
        message: u64,
        reactions: Vec<Reaction>,
    },
    Typing {
        member: MemberId,
        active: bool,
    },
    /// Everyone's sync health, at most every couple of seconds, when it changed.
    Health {
        members: Vec<MemberHealth>,
        /// What the origin served the room's HTTP fetches at lately, bytes/s:
        /// their bytes over the time any of them was under way (none: too
        /// little measured yet). It changes only when the measure moves by
        /// more than a fifth.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        origin_bytes_per_sec: Option<f64>,
    },
    /// Who fetches which segment over HTTP for everyone: segment `n` (of
    /// any rendition) is fetched by `slots[n % slots.len()]`, and the other
    /// members take it from that member over P2P. Members appear in
    /// proportion to their upload caps; members who do not share are left
    /// out. Empty: no plan, every member fetches for itself.
    FetchPlan {
        slots: Vec<MemberId>,
        /// The tracker ids of the members in `slots` that reported one:
        /// the peers worth linking to before the movie starts.
        #[serde(default)]
        fetchers: Vec<String>,
        /// The same for each audio rendition that several sharing members
        /// play (by rendition name); the slots count its segments, and only
        /// its listeners are in them.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        #[ts(as = "Option<BTreeMap<String, AudioFetchPlan>>", optional)]
        audio: BTreeMap<String, AudioFetchPlan>,
    },
    /// The rendition the room's sharing players load, as an index into the
    /// movie's renditions from the lowest bitrate up (a player whose screen
    /// shows less loads its own highest). One rendition keeps the room in
    /// one swarm; it goes up while everyone's buffer stays full and down as
    /// soon as someone's runs low. Sent when it changes, and to a member
    /// when it says it shares.
    Rendition {
        level: u32,
    },
    /// WebRTC signalling from another member.
    Signal {
        from: MemberId,
        #[ts(type = "unknown")]
        data: serde_json::Value,
    },
    /// A refused message. `code` is stable.
    Error {
        code: String,
        message: String,
    },
}

/// The fetch plan of one audio rendition: like the room's `fetch_plan`,
/// among the members who play it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AudioFetchPlan {
    pub slots: Vec<MemberId>,
    pub fetchers: Vec<String>,
}

/// Most slots one member takes in a fetch plan (its weight, for the largest upload cap).
pub const MAX_FETCH_WEIGHT: u32 = 4;

/// One member's sync health as it last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MemberHealth {
    pub id: MemberId,
    pub buffering: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub offset_ms: Option<f64>,
    /// Bytes the member's player has uploaded to peers, as it last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub shared_bytes: Option<f64>,
}
