//! The peer wire protocol on one data channel, without I/O: bytes in, what
//! to do out. It checks everything a peer sends (size, type, version, order,
//! lengths) and refuses with a stable code; the connection is closed on any
//! violation, never a panic. The other side's requests are queued for the
//! uploader, a bounded number at a time; `cancel` drops a queued one or stops
//! the one under way. Our own requests collect their data chunks, in order
//! and never past the catalog's size, until `done`.

use std::collections::{HashMap, VecDeque};

use cinemesh_protocol::peer_wire::{FRAME_MAX, SegmentId, WIRE_VERSION, WireMessage};

/// Requests queued from one peer; more are answered `absent`, as browsers do.
pub const MAX_QUEUED_UPLOADS: usize = 16;

/// Why a peer was disconnected. `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// One segment to send, from `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadJob {
    pub request: u32,
    pub segment: SegmentId,
    pub offset: u32,
}

/// What to do after a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Nothing,
    Reply(WireMessage),
    /// A queued or running upload was cancelled.
    Cancelled(u32),
    /// One of our requests arrived whole (its length is the catalog's; the
    /// caller checks its hash).
    Downloaded(SegmentId, Vec<u8>),
    /// The other side does not have what we asked for.
    Unavailable(SegmentId),
    Close(Violation),
}

#[derive(Debug)]
struct Download {
    segment: SegmentId,
    expected: usize,
    bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct WireSession {
    handshaken: bool,
    queue: VecDeque<UploadJob>,
    downloads: HashMap<u32, Download>,
    next_request: u32,
}

impl WireSession {
    /// What the other side sent; `size_of` gives a held segment's length.
    pub fn receive(&mut self, bytes: &[u8], size_of: impl Fn(&SegmentId) -> Option<usize>) -> Step {
        if bytes.len() > FRAME_MAX {
            return Step::Close(Violation::new("oversize", format!("a frame is at most {FRAME_MAX} bytes")));
        }
        let message = match WireMessage::decode(bytes) {
            Ok(message) => message,
            Err(e) => return Step::Close(Violation::new(e.code(), format!("undecodable frame: {e:?}"))),
        };
        if !self.handshaken {
            return match message {
                WireMessage::Handshake { version } if version == WIRE_VERSION => {
                    self.handshaken = true;
                    Step::Nothing
                }
                WireMessage::Handshake { version } => Step::Close(Violation::new(
                    "wrong_version",
                    format!("wire version {version} is not spoken here (this peer speaks {WIRE_VERSION})"),
                )),
                _ => Step::Close(Violation::new("handshake_required", "the first message must be the handshake")),
            };
        }
        match message {
            WireMessage::Handshake { .. } => Step::Close(Violation::new("repeated_handshake", "handshake sent twice")),
            WireMessage::Request { request, segment, offset } => match size_of(&segment) {
                None => Step::Reply(WireMessage::Absent { request }),
                Some(size) if offset as usize > size => Step::Close(Violation::new(
                    "bad_offset",
                    format!("offset {offset} is past the segment's {size} bytes"),
                )),
                Some(_) if self.queue.len() >= MAX_QUEUED_UPLOADS => Step::Reply(WireMessage::Absent { request }),
                Some(_) => {
                    self.queue.push_back(UploadJob { request, segment, offset });
                    Step::Nothing
                }
            },
            WireMessage::Cancel { request } => {
                self.queue.retain(|job| job.request != request);
                Step::Cancelled(request)
            }
            WireMessage::Data { request, offset, bytes } => {
                let Some(download) = self.downloads.get_mut(&request) else {
                    return unexpected(request);
                };
                if offset as usize != download.bytes.len() {
                    return Step::Close(Violation::new(
                        "out_of_order",
                        format!("data at {offset} for request {request}, expected {}", download.bytes.len()),
                    ));
                }
                if download.bytes.len() + bytes.len() > download.expected {
                    return Step::Close(Violation::new(
                        "too_long",
                        format!("more than the catalog's {} bytes for request {request}", download.expected),
                    ));
                }
                download.bytes.extend_from_slice(&bytes);
                Step::Nothing
            }
            WireMessage::Done { request, total } => {
                let Some(download) = self.downloads.remove(&request) else {
                    return unexpected(request);
                };
                if total as usize != download.expected || download.bytes.len() != download.expected {
                    return Step::Close(Violation::new(
                        "wrong_length",
                        format!(
                            "request {request} ended at {} bytes (said {total}), the catalog says {}",
                            download.bytes.len(),
                            download.expected
                        ),
                    ));
                }
                Step::Downloaded(download.segment, download.bytes)
            }
            WireMessage::Absent { request } => match self.downloads.remove(&request) {
                Some(download) => Step::Unavailable(download.segment),
                None => unexpected(request),
            },
        }
    }

    /// Asks for `segment`, which the catalog says has `expected` bytes.
    pub fn request(&mut self, segment: SegmentId, expected: usize) -> WireMessage {
        self.next_request = self.next_request.wrapping_add(1);
        let request = self.next_request;
        self.downloads.insert(request, Download { segment: segment.clone(), expected, bytes: Vec::new() });
        WireMessage::Request { request, segment, offset: 0 }
    }

    /// Our requests not answered yet.
    pub fn downloads_in_flight(&self) -> usize {
        self.downloads.len()
    }

    /// The next upload to carry out, oldest first.
    pub fn next_upload(&mut self) -> Option<UploadJob> {
        self.queue.pop_front()
    }
}

fn unexpected(request: u32) -> Step {
    Step::Close(Violation::new("unexpected_answer", format!("no request {request} was made")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(sequence: u32) -> SegmentId {
        SegmentId { rendition: "360p".into(), sequence }
    }

    /// Holds segments 0..10 of 360p, 1000 bytes each.
    fn holds(id: &SegmentId) -> Option<usize> {
        (id.rendition == "360p" && id.sequence < 10).then_some(1000)
    }

    fn greeted() -> WireSession {
        let mut session = WireSession::default();
        assert_eq!(session.receive(&WireMessage::Handshake { version: WIRE_VERSION }.encode(), holds), Step::Nothing);
        session
    }

    fn closed_with(step: Step) -> &'static str {
        match step {
            Step::Close(violation) => violation.code,
            other => panic!("expected a close, got {other:?}"),
        }
    }

    #[test]
    fn requests_are_queued_absent_ones_answered_and_cancels_drop_them() {
        let mut session = greeted();
        let request =
            |request, sequence| WireMessage::Request { request, segment: segment(sequence), offset: 0 }.encode();
        assert_eq!(session.receive(&request(1, 3), holds), Step::Nothing);
        assert_eq!(session.receive(&request(2, 99), holds), Step::Reply(WireMessage::Absent { request: 2 }));
        assert_eq!(session.receive(&request(3, 4), holds), Step::Nothing);
        assert_eq!(session.receive(&WireMessage::Cancel { request: 3 }.encode(), holds), Step::Cancelled(3));
        assert_eq!(session.next_upload(), Some(UploadJob { request: 1, segment: segment(3), offset: 0 }));
        assert_eq!(session.next_upload(), None, "the cancelled one is gone");
    }

    #[test]
    fn a_full_queue_answers_absent() {
        let mut session = greeted();
        for request in 0..MAX_QUEUED_UPLOADS as u32 {
            let message = WireMessage::Request { request, segment: segment(request % 10), offset: 0 };
            assert_eq!(session.receive(&message.encode(), holds), Step::Nothing);
        }
        let one_more = WireMessage::Request { request: 99, segment: segment(0), offset: 0 }.encode();
        assert_eq!(session.receive(&one_more, holds), Step::Reply(WireMessage::Absent { request: 99 }));
    }

    #[test]
    fn bad_input_closes_with_a_reason_and_never_panics() {
        // Before the handshake.
        let request = WireMessage::Request { request: 1, segment: segment(0), offset: 0 }.encode();
        assert_eq!(closed_with(WireSession::default().receive(&request, holds)), "handshake_required");
        let wrong = WireMessage::Handshake { version: WIRE_VERSION + 1 }.encode();
        assert_eq!(closed_with(WireSession::default().receive(&wrong, holds)), "wrong_version");
        // After it.
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0; FRAME_MAX + 1], "oversize"),
            (vec![0, 0, 0, 1, 42], "unknown_type"),
            (vec![0, 0], "truncated"),
            (WireMessage::Handshake { version: WIRE_VERSION }.encode(), "repeated_handshake"),
            (WireMessage::Data { request: 7, offset: 0, bytes: vec![1] }.encode(), "unexpected_answer"),
            (WireMessage::Done { request: 7, total: 1 }.encode(), "unexpected_answer"),
            (WireMessage::Absent { request: 7 }.encode(), "unexpected_answer"),
            (WireMessage::Request { request: 1, segment: segment(0), offset: 5000 }.encode(), "bad_offset"),
        ];
        for (bytes, code) in cases {
            assert_eq!(closed_with(greeted().receive(&bytes, holds)), code, "{bytes:?}");
        }
        // Arbitrary bytes of every length up to a few hundred: a refusal or a message, never a panic.
        let mut state = 0x2545_f491_u32;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = greeted().receive(&bytes, holds);
        }
    }

    #[test]
    fn a_download_is_collected_in_order_and_checked_against_the_catalogs_length() {
        let mut session = greeted();
        let WireMessage::Request { request, .. } = session.request(segment(5), 6) else { unreachable!() };
        let data = |offset, bytes: &[u8]| WireMessage::Data { request, offset, bytes: bytes.to_vec() }.encode();
        assert_eq!(session.receive(&data(0, b"abc"), holds), Step::Nothing);
        assert_eq!(session.receive(&data(3, b"def"), holds), Step::Nothing);
        assert_eq!(session.downloads_in_flight(), 1);
        let done = WireMessage::Done { request, total: 6 }.encode();
        assert_eq!(session.receive(&done, holds), Step::Downloaded(segment(5), b"abcdef".to_vec()));
        assert_eq!(session.downloads_in_flight(), 0);

        let WireMessage::Request { request, .. } = session.request(segment(6), 6) else { unreachable!() };
        assert_eq!(session.receive(&WireMessage::Absent { request }.encode(), holds), Step::Unavailable(segment(6)));
    }

    #[test]
    fn a_download_that_does_not_add_up_closes_the_connection() {
        let cases: Vec<(Vec<WireMessage>, &str)> = vec![
            (vec![WireMessage::Data { request: 1, offset: 3, bytes: b"x".to_vec() }], "out_of_order"),
            (vec![WireMessage::Data { request: 1, offset: 0, bytes: b"1234567".to_vec() }], "too_long"),
            (
                vec![
                    WireMessage::Data { request: 1, offset: 0, bytes: b"123".to_vec() },
                    WireMessage::Done { request: 1, total: 3 },
                ],
                "wrong_length",
            ),
            (
                vec![
                    WireMessage::Data { request: 1, offset: 0, bytes: b"123".to_vec() },
                    WireMessage::Done { request: 1, total: 6 },
                ],
                "wrong_length",
            ),
        ];
        for (messages, code) in cases {
            let mut session = greeted();
            session.request(segment(5), 6);
            let mut last = Step::Nothing;
            for message in messages {
                last = session.receive(&message.encode(), holds);
            }
            assert_eq!(closed_with(last), code);
        }
    }
}
