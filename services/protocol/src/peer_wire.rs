//! The peer wire protocol: what two viewers (browsers or native peers) say to
//! each other over a WebRTC data channel to move segments. Binary frames:
//!
//! ```text
//! u32 length (big-endian, of what follows) | u8 type | payload
//! ```
//!
//! | type | message   | payload |
//! | ---- | --------- | ------- |
//! | 1    | handshake | u16 version |
//! | 2    | request   | u32 request id, segment id, u32 byte offset |
//! | 3    | data      | u32 request id, u32 offset, bytes (1..=CHUNK_MAX) |
//! | 4    | done      | u32 request id, u32 total length |
//! | 5    | absent    | u32 request id |
//! | 6    | cancel    | u32 request id |
//!
//! A segment id is `u8 rendition length, rendition (UTF-8), u32 sequence`.
//! Several requests may be in flight per connection; ids are the requester's.
//! `services/protocol/test-vectors/peer-wire.json` holds byte-exact examples
//! that the Rust and TypeScript codecs both pass.

/// Version sent in the handshake; a peer with another one is disconnected.
pub const WIRE_VERSION: u16 = 1;
/// Most bytes in one data message.
pub const CHUNK_MAX: usize = 64 * 1024;
/// Longest rendition name.
pub const RENDITION_MAX: usize = 32;
/// Largest frame: a full data chunk and its header.
pub const FRAME_MAX: usize = 4 + 1 + 8 + CHUNK_MAX;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentId {
    pub rendition: String,
    pub sequence: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireMessage {
    Handshake { version: u16 },
    Request { request: u32, segment: SegmentId, offset: u32 },
    Data { request: u32, offset: u32, bytes: Vec<u8> },
    Done { request: u32, total: u32 },
    Absent { request: u32 },
    Cancel { request: u32 },
}

/// Why bytes from a peer were refused. The code is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    Truncated,
    Oversize,
    UnknownType(u8),
    BadLength,
    EmptyChunk,
    BadRendition,
}

impl WireError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::Oversize => "oversize",
            Self::UnknownType(_) => "unknown_type",
            Self::BadLength => "bad_length",
            Self::EmptyChunk => "empty_chunk",
            Self::BadRendition => "bad_rendition",
        }
    }
}

impl WireMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let kind = match self {
            Self::Handshake { version } => {
                body.extend_from_slice(&version.to_be_bytes());
                1
            }
            Self::Request { request, segment, offset } => {
                body.extend_from_slice(&request.to_be_bytes());
                let name = segment.rendition.as_bytes();
                body.push(name.len().min(RENDITION_MAX) as u8);
                body.extend_from_slice(&name[..name.len().min(RENDITION_MAX)]);
                body.extend_from_slice(&segment.sequence.to_be_bytes());
                body.extend_from_slice(&offset.to_be_bytes());
                2
            }
            Self::Data { request, offset, bytes } => {
                body.extend_from_slice(&request.to_be_bytes());
                body.extend_from_slice(&offset.to_be_bytes());
                body.extend_from_slice(bytes);
                3
            }
            Self::Done { request, total } => {
                body.extend_from_slice(&request.to_be_bytes());
                body.extend_from_slice(&total.to_be_bytes());
                4
            }
            Self::Absent { request } => {
                body.extend_from_slice(&request.to_be_bytes());
                5
            }
            Self::Cancel { request } => {
                body.extend_from_slice(&request.to_be_bytes());
                6
            }
        };
        let mut frame = Vec::with_capacity(5 + body.len());
        frame.extend_from_slice(&((body.len() + 1) as u32).to_be_bytes());
        frame.push(kind);
        frame.extend_from_slice(&body);
        frame
    }

    /// Decodes exactly one frame (a data-channel message carries one).
    pub fn decode(frame: &[u8]) -> Result<Self, WireError> {
        if frame.len() > FRAME_MAX {
            return Err(WireError::Oversize);
        }
        let mut reader = Reader { bytes: frame };
        let length = reader.u32()? as usize;
        if length != reader.bytes.len() {
            return Err(if length > reader.bytes.len() { WireError::Truncated } else { WireError::BadLength });
        }
        let kind = reader.u8()?;
        let message = match kind {
            1 => Self::Handshake { version: reader.u16()? },
            2 => {
                let request = reader.u32()?;
                let name_len = reader.u8()? as usize;
                if name_len == 0 || name_len > RENDITION_MAX {
                    return Err(WireError::BadRendition);
                }
                let rendition =
                    String::from_utf8(reader.take(name_len)?.to_vec()).map_err(|_| WireError::BadRendition)?;
                let sequence = reader.u32()?;
                let offset = reader.u32()?;
                Self::Request { request, segment: SegmentId { rendition, sequence }, offset }
            }
            3 => {
                let request = reader.u32()?;
                let offset = reader.u32()?;
                let bytes = reader.rest().to_vec();
                if bytes.is_empty() {
                    return Err(WireError::EmptyChunk);
                }
                return Ok(Self::Data { request, offset, bytes });
            }
            4 => Self::Done { request: reader.u32()?, total: reader.u32()? },
            5 => Self::Absent { request: reader.u32()? },
            6 => Self::Cancel { request: reader.u32()? },
            other => return Err(WireError::UnknownType(other)),
        };
        if !reader.bytes.is_empty() {
            return Err(WireError::BadLength);
        }
        Ok(message)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../test-vectors/peer-wire.json");

    fn message_of(json: &Value) -> WireMessage {
        let u32_of = |key: &str| json[key].as_u64().unwrap() as u32;
        match json["type"].as_str().unwrap() {
            "handshake" => WireMessage::Handshake { version: json["version"].as_u64().unwrap() as u16 },
            "request" => WireMessage::Request {
                request: u32_of("request"),
                segment: SegmentId {
                    rendition: json["rendition"].as_str().unwrap().into(),
                    sequence: u32_of("sequence"),
                },
                offset: u32_of("offset"),
            },
            "data" => WireMessage::Data {
                request: u32_of("request"),
                offset: u32_of("offset"),
                bytes: hex::decode(json["bytes"].as_str().unwrap()).unwrap(),
            },
            "done" => WireMessage::Done { request: u32_of("request"), total: u32_of("total") },
            "absent" => WireMessage::Absent { request: u32_of("request") },
            "cancel" => WireMessage::Cancel { request: u32_of("request") },
            other => panic!("unknown vector type {other}"),
        }
    }

    #[test]
    fn valid_vectors_encode_and_decode_byte_exactly() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        for vector in vectors["valid"].as_array().unwrap() {
            let message = message_of(&vector["message"]);
            let hex = vector["hex"].as_str().unwrap();
            assert_eq!(hex::encode(message.encode()), hex, "{}", vector["name"]);
            assert_eq!(WireMessage::decode(&hex::decode(hex).unwrap()), Ok(message), "{}", vector["name"]);
        }
    }

    #[test]
    fn invalid_vectors_are_refused_with_their_code() {
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        for vector in vectors["invalid"].as_array().unwrap() {
            let bytes = hex::decode(vector["hex"].as_str().unwrap()).unwrap();
            let error = WireMessage::decode(&bytes).expect_err(vector["name"].as_str().unwrap());
            assert_eq!(error.code(), vector["error"].as_str().unwrap(), "{}", vector["name"]);
        }
    }

    #[test]
    fn a_full_chunk_fits_and_one_byte_more_is_oversize() {
        let full = WireMessage::Data { request: 1, offset: 0, bytes: vec![7; CHUNK_MAX] };
        let frame = full.encode();
        assert_eq!(frame.len(), FRAME_MAX);
        assert_eq!(WireMessage::decode(&frame), Ok(full));
        let mut over = WireMessage::Data { request: 1, offset: 0, bytes: vec![7; CHUNK_MAX + 1] }.encode();
        assert_eq!(WireMessage::decode(&over), Err(WireError::Oversize));
        over.truncate(10);
        assert!(WireMessage::decode(&over).is_err());
    }
}
