//! Tracker messages: JSON text frames over the `/tracker` WebSocket, tagged by
//! `type`. The client speaks first with `hello`; the server answers `welcome`
//! with the peer id it assigned. A client never chooses a peer id: the tracker
//! addresses signalling by the ids it handed out, so none can be forged.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ice::IcePair;

use crate::SegmentRanges;

/// Version of this protocol; `hello` carries it, and a version outside
/// `OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION` is refused.
/// 2: signals may carry a `lane`.
pub const PROTOCOL_VERSION: u32 = 2;
/// The oldest version still served: a page loaded before an upgrade keeps
/// working. Version 1 peers are sent no signal for a lane past the first
/// (they would take it for the first connection's).
pub const OLDEST_PROTOCOL_VERSION: u32 = 1;
/// The first version whose peers take signals with a `lane`.
pub const LANES_SINCE_VERSION: u32 = 2;
/// Largest text frame the tracker reads, bytes (an SDP offer is ~1.3–6 KB).
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Largest SDP or ICE candidate string relayed, bytes.
pub const MAX_SIGNAL_BYTES: usize = 12 * 1024;
/// Most swarms one connection may be in at once (one per rendition watched).
pub const MAX_SWARMS_PER_CONNECTION: usize = 4;
/// Most peers one `holders` answer lists.
pub const MAX_PEERS_PER_ANSWER: u32 = 16;
/// Widest window a `who_has` may ask about, segments.
pub const MAX_WINDOW: u32 = 64;
/// Peer connections two peers may hold to each other at once ("lanes"). Each is
/// its own SCTP association with its own congestion window: between homes one
/// association backs off at every loss and carries 1-2 Mbit/s, several carry
/// about that much each.
pub const MAX_LANES: u8 = 3;
/// Distinct networks (IPv4 /24, IPv6 /48) whose credible reports make a peer
/// named to nobody in that swarm. A report is credible when its reporter
/// exchanged signalling with the peer and has not filed many reports.
pub const REPORTS_TO_EXCLUDE: usize = 3;

/// Server-assigned peer id: unique per connection, opaque to clients.
pub type PeerId = String;

/// A swarm: the viewers of one rendition of one movie.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct SwarmKey {
    pub movie: String,
    pub rendition: String,
}

/// Messages from a peer to the tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum ClientMessage {
    /// First message on a connection.
    Hello {
        version: u32,
    },
    /// Enter a swarm with the token the catalog issued for that movie, and the
    /// segments already held.
    Join {
        swarm: SwarmKey,
        token: String,
        #[serde(default)]
        holdings: SegmentRanges,
    },
    /// Segments that entered or left the peer's cache since the last `have`.
    Have {
        swarm: SwarmKey,
        #[serde(default)]
        added: SegmentRanges,
        #[serde(default)]
        dropped: SegmentRanges,
    },
    /// Who holds segments `from ..= from + count - 1`? Answered by `holders`.
    WhoHas {
        swarm: SwarmKey,
        from: u32,
        count: u32,
        /// Most peers wanted (capped at `MAX_PEERS_PER_ANSWER`).
        #[serde(default)]
        #[ts(optional)]
        limit: Option<u32>,
    },
    /// WebRTC signalling for another peer of the same swarm.
    Signal {
        swarm: SwarmKey,
        to: PeerId,
        signal: Signal,
        /// Which of the peer connections between the two (below `MAX_LANES`)
        /// the signal is for; the first (0) when absent. Relayed unchanged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        lane: Option<u8>,
    },
    /// Cumulative transfer counters of this peer in a swarm, bytes.
    Stats {
        swarm: SwarmKey,
        http_bytes: u64,
        peer_bytes: u64,
        uploaded_bytes: u64,
    },
    Leave {
        swarm: SwarmKey,
    },
    /// One of this peer's connections in `swarm` connected, over `pair`
    /// (counted in `/metrics`).
    Linked {
        swarm: SwarmKey,
        pair: IcePair,
    },
    /// The sender caught `peer` misbehaving on the peer wire. The tracker stops
    /// naming that peer to the sender, and to everyone once credible reports
    /// came from `REPORTS_TO_EXCLUDE` distinct networks.
    Report {
        swarm: SwarmKey,
        peer: PeerId,
        reason: ReportReason,
    },
    /// Heartbeat; answered by `pong` with the same `t`.
    Ping {
        t: u64,
    },
}

/// Why a peer was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// It sent a segment whose SHA-256 is not the catalog's.
    BadSegment,
    /// It sent frames the peer wire codec refuses.
    ProtocolViolation,
}

/// WebRTC signalling payloads, relayed unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Signal {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
}

impl Signal {
    /// Bytes of text this signal carries.
    pub fn text_len(&self) -> usize {
        match self {
            Self::Offer { sdp } | Self::Answer { sdp } => sdp.len(),
            Self::Candidate { candidate, sdp_mid, .. } => candidate.len() + sdp_mid.as_ref().map_or(0, String::len),
        }
    }
}

/// A holder in a `holders` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Holder {
    pub peer: PeerId,
    /// Which of the asked-for segments this peer holds.
    pub holds: SegmentRanges,
}

/// Messages from the tracker to a peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum ServerMessage {
    Welcome {
        version: u32,
        peer: PeerId,
        /// Send something (a `ping` will do) at least this often, seconds.
        heartbeat_secs: u32,
    },
    Joined {
        swarm: SwarmKey,
        /// Other peers in the swarm now.
        peers: u32,
    },
    /// Best holders first: most of the window, then least loaded, then most
    /// recently active. Never the asker.
    Holders {
        swarm: SwarmKey,
        from: u32,
        count: u32,
        peers: Vec<Holder>,
    },
    Signal {
        swarm: SwarmKey,
        from: PeerId,
        signal: Signal,
        /// As the sender gave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        lane: Option<u8>,
    },
    Pong {
        t: u64,
    },
    /// A refused message. `code` is stable; repeated abuse closes the socket.
    Error {
        code: String,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swarm() -> SwarmKey {
        SwarmKey { movie: "m1".into(), rendition: "720p".into() }
    }

    #[test]
    fn a_signal_without_a_lane_is_for_the_first_connection_and_is_written_as_before() {
        let text = r#"{"type":"signal","swarm":{"movie":"m1","rendition":"720p"},"to":"p","signal":{"kind":"offer","sdp":"v=0"}}"#;
        let parsed: ClientMessage = serde_json::from_str(text).unwrap();
        let offer = Signal::Offer { sdp: "v=0".into() };
        assert_eq!(parsed, ClientMessage::Signal { swarm: swarm(), to: "p".into(), signal: offer, lane: None });
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
    }

    #[test]
    fn client_messages_round_trip() {
        let messages = [
            ClientMessage::Hello { version: PROTOCOL_VERSION },
            ClientMessage::Join { swarm: swarm(), token: "t".into(), holdings: SegmentRanges::from_sequences([1, 2]) },
            ClientMessage::Have {
                swarm: swarm(),
                added: SegmentRanges::from_sequences([3]),
                dropped: SegmentRanges::default(),
            },
            ClientMessage::WhoHas { swarm: swarm(), from: 10, count: 5, limit: Some(3) },
            ClientMessage::Signal {
                swarm: swarm(),
                to: "p2".into(),
                signal: Signal::Candidate {
                    candidate: "c".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                },
                lane: None,
            },
            ClientMessage::Stats { swarm: swarm(), http_bytes: 1, peer_bytes: 2, uploaded_bytes: 3 },
            ClientMessage::Leave { swarm: swarm() },
            ClientMessage::Report { swarm: swarm(), peer: "p3".into(), reason: ReportReason::BadSegment },
            ClientMessage::Ping { t: 42 },
        ];
        for message in messages {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<ClientMessage>(&json).unwrap(), message, "{json}");
        }
    }

    #[test]
    fn wire_shape_is_tagged_and_snake_case() {
        let json =
            serde_json::to_value(ClientMessage::WhoHas { swarm: swarm(), from: 1, count: 2, limit: None }).unwrap();
        assert_eq!(json["type"], "who_has");
        assert_eq!(json["swarm"]["rendition"], "720p");
        let signal = serde_json::to_value(Signal::Offer { sdp: "v=0".into() }).unwrap();
        assert_eq!(signal, serde_json::json!({"kind": "offer", "sdp": "v=0"}));
    }

    #[test]
    fn unknown_types_and_fields_are_refused() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"teleport"}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"ping","t":1,"extra":true}"#).is_err());
    }

    #[test]
    fn server_messages_round_trip() {
        let message = ServerMessage::Holders {
            swarm: swarm(),
            from: 4,
            count: 8,
            peers: vec![Holder { peer: "p1".into(), holds: SegmentRanges::from_sequences([4, 5, 6]) }],
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), message);
    }
}
