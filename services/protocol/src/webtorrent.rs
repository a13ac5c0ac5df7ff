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

/// A client message that passed every check: what `/announce` acts on.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Announce(Announce),
    Scrape { info_hashes: Vec<String> },
}

#[derive(Debug, PartialEq)]
pub struct Announce {
    pub info_hash: String,
    pub peer_id: String,
    pub event: Option<String>,
    pub carries: Carries,
}

/// What an announce brings besides the peer's presence.
#[derive(Debug, PartialEq)]
pub enum Carries {
    /// Offers for other peers of the swarm (possibly none); `complete` when `left == 0`, a seeder.
    Offers { complete: bool, offers: Vec<(String, Value)> },
    /// The answer to another peer's offer.
    Answer { to_peer_id: String, offer_id: String, answer: Value },
}

/// Parses and checks one client message; `Err` is the failure to send back.
pub fn decode(text: &str) -> Result<Decoded, Value> {
    let request: Request = serde_json::from_str(text).map_err(|_| failure("announce", "invalid JSON message"))?;
    match request.action.as_str() {
        "announce" => decode_announce(request).map(Decoded::Announce),
        "scrape" => {
            let info_hashes = match request.info_hash {
                Some(InfoHashes::One(hash)) => vec![hash],
                Some(InfoHashes::Many(hashes)) => hashes,
                None => return Err(failure("scrape", "info_hash is required")),
            };
            if info_hashes.len() > MAX_SCRAPE_HASHES || !info_hashes.iter().all(|h| is_binary_id(h)) {
                return Err(failure("scrape", "invalid info_hash"));
            }
            Ok(Decoded::Scrape { info_hashes })
        }
        other => Err(failure(other, "unknown action")),
    }
}

fn decode_announce(request: Request) -> Result<Announce, Value> {
    let info_hash = match request.info_hash {
        Some(InfoHashes::One(hash)) if is_binary_id(&hash) => hash,
        _ => return Err(failure("announce", "invalid info_hash")),
    };
    let peer_id = request.peer_id.filter(|p| is_binary_id(p)).ok_or_else(|| failure("announce", "invalid peer_id"))?;
    let carries = if let Some(answer) = request.answer {
        let to_peer_id = request
            .to_peer_id
            .filter(|p| is_binary_id(p))
            .ok_or_else(|| failure("announce", "invalid to_peer_id (required with answer)"))?;
        let offer_id = request.offer_id.ok_or_else(|| failure("announce", "offer_id is required with answer"))?;
        Carries::Answer { to_peer_id, offer_id, answer }
    } else {
        let offers = request.offers.unwrap_or_default();
        if offers.len() > MAX_OFFERS {
            return Err(failure("announce", &format!("too many offers: at most {MAX_OFFERS}")));
        }
        Carries::Offers {
            complete: request.left.as_ref().and_then(Value::as_f64) == Some(0.0),
            offers: offers.into_iter().map(|o| (o.offer_id, o.offer)).collect(),
        }
    };
    Ok(Announce { info_hash, peer_id, event: request.event, carries })
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
    fn decoding_checks_what_parsing_lets_through() {
        let id = "aaaaaaaaaaaaaaaaaaaa";
        let answer =
            format!(r#"{{"action":"announce","info_hash":"{id}","peer_id":"{id}","answer":{{}},"offer_id":"x"}}"#);
        assert_eq!(decode(&answer).unwrap_err()["failure reason"], "invalid to_peer_id (required with answer)");
        let offers: Vec<String> = (0..=MAX_OFFERS).map(|i| format!(r#"{{"offer":{{}},"offer_id":"{i}"}}"#)).collect();
        let flood =
            format!(r#"{{"action":"announce","info_hash":"{id}","peer_id":"{id}","offers":[{}]}}"#, offers.join(","));
        assert_eq!(decode(&flood).unwrap_err()["failure reason"], "too many offers: at most 10");
        let seeder = format!(r#"{{"action":"announce","info_hash":"{id}","peer_id":"{id}","left":0}}"#);
        let Ok(Decoded::Announce(announce)) = decode(&seeder) else { panic!("a seeder's announce decodes") };
        assert_eq!(announce.carries, Carries::Offers { complete: true, offers: vec![] });
        assert_eq!(
            decode(r#"{"action":"scrape","info_hash":["short"]}"#).unwrap_err()["failure reason"],
            "invalid info_hash"
        );
        assert_eq!(decode(r#"{"action":"x"}"#).unwrap_err()["action"], "x");
    }

    #[test]
    fn scrapes_take_one_or_many_hashes() {
        let many: Request = serde_json::from_str(r#"{"action":"scrape","info_hash":["a","b"]}"#).unwrap();
        assert!(matches!(many.info_hash, Some(InfoHashes::Many(h)) if h.len() == 2));
    }
}
