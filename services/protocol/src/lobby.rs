//! Presence and invitations: JSON text frames over the lobby WebSocket,
//! tagged by `type`. Every open page of the app keeps one lobby connection:
//! it says who the user is and which room they are in, sees everyone online
//! (kept current by push), invites users to its room, and answers invitations.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of this protocol; `hello` carries it.
pub const LOBBY_PROTOCOL_VERSION: u32 = 1;
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
    /// The room they are in (none: browsing).
    #[serde(default)]
    pub room: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum LobbyClientMessage {
    /// First message: the name others see.
    Hello {
        version: u32,
        name: String,
    },
    /// The room this page is in now (none: browsing).
    Where {
        #[serde(default)]
        #[ts(optional)]
        room: Option<String>,
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
        assert_eq!(hello, LobbyClientMessage::Hello { version: 1, name: "Ana".into() });
        let browsing: LobbyClientMessage = serde_json::from_str(r#"{"type":"where"}"#).unwrap();
        assert_eq!(browsing, LobbyClientMessage::Where { room: None });
        assert!(serde_json::from_str::<LobbyClientMessage>(r#"{"type":"where","room":"r","x":1}"#).is_err());
        let relayed = LobbyRelayed::Invite {
            invitation: "i".into(),
            from: UserView { id: "u".into(), name: "Ana".into(), room: Some("r".into()) },
            from_instance: "a".into(),
            to: "v".into(),
            room: "r".into(),
        };
        let json = serde_json::to_string(&relayed).unwrap();
        assert_eq!(serde_json::from_str::<LobbyRelayed>(&json).unwrap(), relayed);
        assert_eq!(lobby_instance_channel("p:", "a"), "p:lobby:a");
    }
}
