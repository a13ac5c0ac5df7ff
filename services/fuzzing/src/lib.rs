//! One function per decoder that reads bytes from outside the server. Each
//! takes arbitrary bytes, must never panic, and asserts what its decoder
//! promises about the values it lets through. The libFuzzer targets in
//! `fuzz/fuzz_targets` call these; `tests/corpora.rs` replays the kept
//! corpora on the stable toolchain in every test run.

// A target reports a broken promise the only way a fuzzer hears: by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Debug;

use cinemesh_protocol::lobby::LobbyClientMessage;
use cinemesh_protocol::peer_wire::{CHUNK_MAX, FRAME_MAX, RENDITION_MAX, WireMessage};
use cinemesh_protocol::room::RoomClientMessage;
use cinemesh_protocol::tracker::ClientMessage;
use cinemesh_protocol::webtorrent::{self, Carries, Decoded, MAX_OFFERS, MAX_SCRAPE_HASHES};
use cinemesh_segments::{MediaPath, RangeRequest, parse_range};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Checks one input; panics when a decoder breaks its promise.
pub type Target = fn(&[u8]);

/// Every target by the name of its corpus folder.
pub const TARGETS: [(&str, Target); 8] = [
    ("peer_wire", peer_wire),
    ("tracker_message", tracker_message),
    ("room_message", room_message),
    ("lobby_message", lobby_message),
    ("webtorrent_announce", webtorrent_announce),
    ("range_header", range_header),
    ("media_path", media_path),
    ("stun_message", stun_message),
];

/// A data-channel frame from another viewer: what decodes re-encodes to the same bytes.
pub fn peer_wire(data: &[u8]) {
    let Ok(message) = WireMessage::decode(data) else { return };
    assert!(data.len() <= FRAME_MAX);
    match &message {
        WireMessage::Request { segment, .. } => {
            assert!(!segment.rendition.is_empty() && segment.rendition.len() <= RENDITION_MAX)
        }
        WireMessage::Data { bytes, .. } => assert!(!bytes.is_empty() && bytes.len() <= CHUNK_MAX),
        _ => {}
    }
    assert_eq!(message.encode(), data, "{message:?} does not re-encode to its frame");
}

/// A `/tracker` text frame.
pub fn tracker_message(data: &[u8]) {
    json_round_trip::<ClientMessage>(data);
}

/// A room socket's text frame.
pub fn room_message(data: &[u8]) {
    json_round_trip::<RoomClientMessage>(data);
}

/// A lobby socket's text frame.
pub fn lobby_message(data: &[u8]) {
    json_round_trip::<LobbyClientMessage>(data);
}

/// What the server accepts it can write back, and reading that gives the same message:
/// no value the decoder lets through is one the rest of the server cannot represent.
fn json_round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(message) = serde_json::from_str::<T>(text) else { return };
    let written = serde_json::to_string(&message).expect("an accepted message serializes");
    let again: T = serde_json::from_str(&written).expect("a serialized message parses");
    assert_eq!(again, message, "{written} reads back differently");
}

/// An `/announce` text frame: only 20-byte binary ids and bounded lists get through.
pub fn webtorrent_announce(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match webtorrent::decode(text) {
        Err(failure) => {
            assert!(failure["failure reason"].is_string(), "a failure says why: {failure}");
        }
        Ok(Decoded::Scrape { info_hashes }) => {
            assert!(info_hashes.len() <= MAX_SCRAPE_HASHES);
            assert!(info_hashes.iter().all(|h| webtorrent::is_binary_id(h)));
        }
        Ok(Decoded::Announce(announce)) => {
            assert!(webtorrent::is_binary_id(&announce.info_hash) && webtorrent::is_binary_id(&announce.peer_id));
            match announce.carries {
                Carries::Offers { offers, .. } => assert!(offers.len() <= MAX_OFFERS),
                Carries::Answer { to_peer_id, .. } => assert!(webtorrent::is_binary_id(&to_peer_id)),
            }
        }
    }
}

/// A `Range` header against a file size (the first 8 bytes): a partial answer lies inside the file.
pub fn range_header(data: &[u8]) {
    let (size, header) = data.split_at(data.len().min(8));
    let mut size_bytes = [0u8; 8];
    size_bytes[..size.len()].copy_from_slice(size);
    let size = u64::from_le_bytes(size_bytes);
    let Ok(header) = std::str::from_utf8(header) else { return };
    if let RangeRequest::Partial(range) = parse_range(header, size) {
        assert!(range.first <= range.last && range.last < size, "{range:?} outside a file of {size} bytes");
        assert_eq!(range.len(), range.last - range.first + 1);
    }
}

/// A raw request path under `/media/`: what parses stays inside the media folder.
pub fn media_path(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(path) = MediaPath::parse(raw) else { return };
    let components = path.components();
    assert!((1..=3).contains(&components.len()));
    for component in components {
        assert!(component.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric()), "{component:?}");
        assert!(component.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)), "{component:?}");
        assert!(!component.contains(".."), "{component:?}");
    }
    let joined = std::path::Path::new("/media").join(components.join("/"));
    assert!(
        joined.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_))),
        "{joined:?} leaves the folder"
    );
}

/// A datagram to the server's own STUN/TURN listener. The screen lets through
/// only what looks like STUN or channel data; decoding it, and reading every
/// attribute the TURN stack reads, never panics; a decoded STUN message lies
/// within the datagram and its header reads back the same, and decoded
/// channel data lies within the datagram.
pub fn stun_message(data: &[u8]) {
    use stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
    use stun::error_code::ErrorCodeAttribute;
    use stun::integrity::MessageIntegrity;
    use stun::message::{Getter, MESSAGE_HEADER_SIZE, Message};
    use stun::textattrs::TextAttribute;
    use stun::xoraddr::XorMappedAddress;
    use turn::proto::chandata::ChannelData;
    use turn::proto::channum::ChannelNumber;
    use turn::proto::data::Data;
    use turn::proto::lifetime::Lifetime;
    use turn::proto::peeraddr::PeerAddress;
    use turn::proto::reqtrans::RequestedTransport;

    if !cinemesh_turn::listener::looks_like_stun_or_channel_data(data) {
        return;
    }
    if ChannelData::is_channel_data(data) {
        let mut channel = ChannelData { raw: data.to_vec(), ..Default::default() };
        if channel.decode().is_ok() {
            assert!(channel.data.len() + 4 <= data.len(), "channel data past the datagram");
        }
        return;
    }
    let mut message = Message { raw: data.to_vec(), ..Default::default() };
    if message.decode().is_err() {
        return;
    }
    assert!(message.length as usize + MESSAGE_HEADER_SIZE <= data.len(), "a message past the datagram");
    assert_eq!(u16::from_be_bytes([data[0], data[1]]) & 0x3FFF, message.typ.value(), "the type reads back");
    for attr in [ATTR_USERNAME, ATTR_REALM, ATTR_NONCE] {
        let _ = TextAttribute::get_from_as(&message, attr);
    }
    let _ = XorMappedAddress::default().get_from(&message);
    let _ = PeerAddress::default().get_from(&message);
    let _ = RequestedTransport::default().get_from(&message);
    let _ = Lifetime::default().get_from(&message);
    let _ = ChannelNumber::default().get_from(&message);
    let _ = Data::default().get_from(&message);
    let _ = ErrorCodeAttribute::default().get_from(&message);
    let integrity = MessageIntegrity::new_long_term_integrity("1700000000:v".into(), "cinemesh".into(), "p".into());
    let _ = integrity.check(&mut message);
}
