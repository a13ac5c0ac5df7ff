//! What room instances say to each other through Redis. A room runs on one
//! instance at a time, its home, named by the key `{prefix}room:{id}:home`
//! (a lease the home renews). Members connected elsewhere reach it through
//! the home's channel, `{prefix}rooms:{instance}`; the home answers on the
//! channel of the member's instance. Each message is one `Relayed`, JSON.

use serde::{Deserialize, Serialize};

use crate::room::{MemberId, RoomClientMessage};

/// One socket's hold on a member, unique across instances: `{instance}.{n}`.
pub type ConnectionKey = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Relayed {
    /// To a room's home: what a member connected to `from` asks.
    Command { room: String, from: String, command: RelayedCommand },
    /// To a member's instance: frames for these connections, in order.
    Deliver { connections: Vec<ConnectionKey>, frame: String },
    /// To a member's instance: the room let go of these connections.
    Close { connections: Vec<ConnectionKey> },
    /// To a member's instance: the answer to its `join`.
    Joined { connection: ConnectionKey, answer: JoinAnswer },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelayedCommand {
    /// `admitted`: the member's instance checked the room's password (or it
    /// has none). `address`: the member's client address, for bans.
    Join {
        connection: ConnectionKey,
        name: String,
        admitted: bool,
        resume: Option<String>,
        #[serde(default)]
        address: Option<std::net::IpAddr>,
    },
    Message {
        member: MemberId,
        connection: ConnectionKey,
        message: RoomClientMessage,
    },
    Detach {
        member: MemberId,
        connection: ConnectionKey,
    },
    Leave {
        member: MemberId,
        connection: ConnectionKey,
    },
    /// The room's movie was deleted (on the instance that says so): the room
    /// ends, and its members are told `movie_deleted`.
    MovieDeleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum JoinAnswer {
    Accepted { member: MemberId },
    Refused { code: String, message: String },
}

pub fn home_key(prefix: &str, room: &str) -> String {
    format!("{prefix}room:{room}:home")
}

pub fn rooms_channel(prefix: &str, instance: &str) -> String {
    format!("{prefix}rooms:{instance}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_messages_round_trip() {
        let messages = [
            Relayed::Command {
                room: "r".into(),
                from: "i2".into(),
                command: RelayedCommand::Join {
                    connection: "i2.7".into(),
                    name: "Ana".into(),
                    admitted: false,
                    resume: Some("t".into()),
                    address: Some([192, 0, 2, 1].into()),
                },
            },
            Relayed::Command {
                room: "r".into(),
                from: "i2".into(),
                command: RelayedCommand::Message {
                    member: "m".into(),
                    connection: "i2.7".into(),
                    message: RoomClientMessage::Typing { active: true },
                },
            },
            Relayed::Deliver { connections: vec!["i2.7".into()], frame: r#"{"type":"pong"}"#.into() },
            Relayed::Close { connections: vec!["i2.7".into()] },
            Relayed::Joined { connection: "i2.7".into(), answer: JoinAnswer::Accepted { member: "m".into() } },
        ];
        for message in messages {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<Relayed>(&json).unwrap(), message, "{json}");
        }
    }

    #[test]
    fn keys_are_namespaced_by_prefix() {
        assert_eq!(home_key("t1:", "abc"), "t1:room:abc:home");
        assert_eq!(rooms_channel("t1:", "i1"), "t1:rooms:i1");
    }
}
