//! Presence and invitations: JSON text frames over the lobby WebSocket,
//! tagged by `type`. Every open page of the app keeps one lobby connection:
//! it says who the user is and which room they are in, sees everyone online
//! (kept current by push), invites users to its room, and answers invitations.
//!
//! Room ids are capabilities: a user is shown in a room only on the presence
//! pass that room gave them, and the room's id is shown only to others in it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of this protocol; `hello` carries it.
pub const LOBBY_PROTOCOL_VERSION: u32 = 2;
/// Largest text frame a lobby socket reads, bytes.
pub const MAX_LOBBY_FRAME_BYTES: usize = 4 * 1024;
/// How long an invitation can be answered, ms.
pub const INVITATION_TTL_MS: i64 = 60_000;

/// Server-assigned id of one online user (one lobby connection).
pub type UserId = String;

/// Someone online, as everyone sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UserView {
    pub id: UserId,
    pub name: String,
    /// The room they are in, shown only to others in the same room.
    #[serde(default)]
    pub room: Option<String>,
    /// Whether they are in a room (which one is theirs to share).
    #[serde(default)]
    pub in_room: bool,
}

impl UserView {
    /// As `viewer_room`'s members see this user: the room only if it is theirs too.
    pub fn seen_from(&self, viewer_room: Option<&str>) -> UserView {
        let shared = self.room.is_some() && self.room.as_deref() == viewer_room;
        UserView {
            id: self.id.clone(),
            name: self.name.clone(),
            room: if shared { self.room.clone() } else { None },
            in_room: self.room.is_some(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum LobbyClientMessage {
    /// First message: the name others see; `resume`, the `resume_token`
    /// of an earlier welcome, comes back as the same user after a drop.
    Hello {
        version: u32,
        name: String,
        #[serde(default)]
        #[ts(optional)]
        resume: Option<String>,
    },
    /// The room this page is in now (none: browsing), with the
    /// `presence_pass` of that room's welcome.
    Where {
        #[serde(default)]
        #[ts(optional)]
        room: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        pass: Option<String>,
    },
    /// Invite `to` into the room this user is in.
    Invite {
        to: UserId,
        room: String,
    },
    /// Accept or decline an invitation this user received.
    Answer {
        invitation: String,
        accept: bool,
    },
    Ping {
        t: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum LobbyServerMessage {
    /// Everyone online now, this user included.
    Welcome {
        version: u32,
        you: UserId,
        /// Give it in the next `hello` to come back as this user.
        resume_token: String,
        users: Vec<UserView>,
    },
    /// Who came online or changed rooms (`changed`) and who went offline (`left`).
    Presence {
        #[serde(default)]
        changed: Vec<UserView>,
        #[serde(default)]
        left: Vec<UserId>,
    },
    /// This user is invited to `room`; answer within `INVITATION_TTL_MS`.
    Invited {
        invitation: String,
        from: UserView,
        room: String,
    },
    /// The invitation this user sent is on its way.
    InvitationSent {
        invitation: String,
        to: UserId,
    },
    /// The answer to an invitation this user sent.
    InvitationAnswered {
        invitation: String,
        by: UserId,
        accepted: bool,
    },
    Pong {
        t: f64,
        server_ms: i64,
    },
    /// A refused message. `code` is stable.
    Error {
        code: String,
        message: String,
    },
}

/// What lobby instances tell each other through Redis: on the shared channel
/// `{prefix}lobby`, each instance's users (in full every few seconds, and
/// changes as they happen); on `{prefix}lobby:{instance}`, invitations and
/// answers for users connected there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LobbyRelayed {
    /// All of `instance`'s users; an instance not heard from for a while is gone.
    Everyone {
        instance: String,
        users: Vec<UserView>,
    },
    Changed {
        instance: String,
        changed: Vec<UserView>,
        left: Vec<UserId>,
    },
    /// A new instance asks the others to say who they have now.
    Hello {
        instance: String,
    },
    Invite {
        invitation: String,
        from: UserView,
        from_instance: String,
        to: UserId,
        room: String,
    },
    Answer {
        invitation: String,
        by: UserId,
        to: UserId,
        accepted: bool,
    },
}

pub fn lobby_channel(prefix: &str) -> String {
    format!("{prefix}lobby")
}

pub fn lobby_instance_channel(prefix: &str, instance: &str) -> String {
    format!("{prefix}lobby:{instance}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_stable_tags() {
        let hello: LobbyClientMessage = serde_json::from_str(r#"{"type":"hello","version":1,"name":"Ana"}"#).unwrap();
        assert_eq!(hello, LobbyClientMessage::Hello { version: 1, name: "Ana".into(), resume: None });
        let browsing: LobbyClientMessage = serde_json::from_str(r#"{"type":"where"}"#).unwrap();
        assert_eq!(browsing, LobbyClientMessage::Where { room: None, pass: None });
        assert!(serde_json::from_str::<LobbyClientMessage>(r#"{"type":"where","room":"r","x":1}"#).is_err());
        let relayed = LobbyRelayed::Invite {
            invitation: "i".into(),
            from: UserView { id: "u".into(), name: "Ana".into(), room: Some("r".into()), in_room: true },
            from_instance: "a".into(),
            to: "v".into(),
            room: "r".into(),
        };
        let json = serde_json::to_string(&relayed).unwrap();
        assert_eq!(serde_json::from_str::<LobbyRelayed>(&json).unwrap(), relayed);
        assert_eq!(lobby_instance_channel("p:", "a"), "p:lobby:a");
    }

    #[test]
    fn a_room_is_seen_only_from_inside_it() {
        let ana = UserView { id: "u".into(), name: "Ana".into(), room: Some("r".into()), in_room: true };
        assert_eq!(ana.seen_from(Some("r")), ana);
        let outside = ana.seen_from(None);
        assert_eq!((outside.room, outside.in_room), (None, true));
        assert_eq!(ana.seen_from(Some("other")).room, None);
        let browsing = UserView { room: None, in_room: false, ..ana };
        assert_eq!(browsing.seen_from(None), browsing);
    }
}
