//! ICE on the wire: the STUN/TURN servers a page is handed, and what carried
//! each WebRTC connection, as clients report it (operators see in `/metrics`
//! how many connections went direct and how many through TURN).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One entry of RTCPeerConnection's `iceServers`. TURN entries carry
/// short-lived credentials made for one viewer (the TURN REST form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub credential: Option<String>,
}

impl IceServer {
    /// An entry without credentials (STUN).
    pub fn open(urls: Vec<String>) -> Self {
        Self { urls, username: None, credential: None }
    }
}

/// The kind of the selected candidate pair, by its farther candidate: a
/// pair with a relay candidate on either side is `relay`, else one with a
/// peer-reflexive one `prflx`, else one with a server-reflexive one `srflx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum IcePair {
    Host,
    Srflx,
    Prflx,
    Relay,
}

impl IcePair {
    pub fn as_str(self) -> &'static str {
        match self {
            IcePair::Host => "host",
            IcePair::Srflx => "srflx",
            IcePair::Prflx => "prflx",
            IcePair::Relay => "relay",
        }
    }
}
