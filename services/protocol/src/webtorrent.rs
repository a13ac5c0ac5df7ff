//! The WebTorrent tracker protocol (JSON over WebSocket), as bittorrent-tracker
//! and p2p-media-loader clients speak it, so they can use our `/announce`.
//! Hashes and peer ids are 20-byte binary strings: JSON strings whose 20
//! characters are each below U+0100.

use serde::Deserialize;
use serde_json::{Value, json};

/// Offers one announce may carry (clients send up to 5 or 10).
pub const MAX_OFFERS: usize = 10;
/// Seconds between announces that we ask clients for.
pub const ANNOUNCE_INTERVAL_SECS: u32 = 120;
/// Largest WebSocket frame read on `/announce` (offers carry SDP), bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Info hashes one scrape may ask about.
pub const MAX_SCRAPE_HASHES: usize = 50;

/// Any message a WebTorrent client sends. Unknown fields are ignored, as
/// clients add their own (`uploaded`, `downloaded`, `trackerid`, ...).
#[derive(Debug, Deserialize)]
pub struct Request {
    pub action: String,
    #[serde(default)]
    pub info_hash: Option<InfoHashes>,
    #[serde(default)]
    pub peer_id: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    /// Bytes left to download; 0 means a seeder. `null` or absent: unknown.
    #[serde(default)]
    pub left: Option<Value>,
    #[serde(default)]
    pub offers: Option<Vec<Offer>>,
    #[serde(default)]
    pub answer: Option<Value>,
    #[serde(default)]
    pub to_peer_id: Option<String>,
    #[serde(default)]
    pub offer_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Offer {
    pub offer: Value,
    pub offer_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum InfoHashes {
    One(String),
    Many(Vec<String>),
}

/// A 20-byte binary string, as hashes and peer ids are on this protocol.
pub fn is_binary_id(value: &str) -> bool {
    value.chars().count() == 20 && value.chars().all(|c| (c as u32) < 0x100)
}

pub fn failure(action: &str, reason: &str) -> Value {
    json!({ "action": action, "failure reason": reason })
}

pub fn announce_reply(info_hash: &str, complete: usize, incomplete: usize) -> Value {
    json!({
        "action": "announce",
        "interval": ANNOUNCE_INTERVAL_SECS,
        "info_hash": info_hash,
        "complete": complete,
        "incomplete": incomplete,
    })
}

pub fn relayed_offer(info_hash: &str, from: &str, offer_id: &str, offer: &Value) -> Value {
    json!({ "action": "announce", "info_hash": info_hash, "peer_id": from, "offer_id": offer_id, "offer": offer })
}

pub fn relayed_answer(info_hash: &str, from: &str, offer_id: &str, answer: &Value) -> Value {
    json!({ "action": "announce", "info_hash": info_hash, "peer_id": from, "offer_id": offer_id, "answer": answer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_ids_are_twenty_byte_strings() {
        assert!(is_binary_id("-WW0105-abcdefghijkl"));
        assert!(is_binary_id(&"\u{ff}".repeat(20)));
        assert!(!is_binary_id(&"\u{100}".repeat(20)));
        assert!(!is_binary_id("short"));
    }

    #[test]
    fn announces_with_offers_parse() {
        let request: Request = serde_json::from_str(
            r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb",
                "numwant":5,"uploaded":0,"downloaded":0,"left":null,"event":"started",
                "offers":[{"offer":{"type":"offer","sdp":"v=0"},"offer_id":"cccccccccccccccccccc"}]}"#,
        )
        .unwrap();
        assert_eq!(request.offers.map(|o| o.len()), Some(1));
        assert!(matches!(request.info_hash, Some(InfoHashes::One(_))));
    }

    #[test]
    fn scrapes_take_one_or_many_hashes() {
        let many: Request = serde_json::from_str(r#"{"action":"scrape","info_hash":["a","b"]}"#).unwrap();
        assert!(matches!(many.info_hash, Some(InfoHashes::Many(h)) if h.len() == 2));
    }
}
