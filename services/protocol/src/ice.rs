//! What carried a WebRTC connection, as clients report it: operators see in
//! `/metrics` how many connections went direct and how many through TURN.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
