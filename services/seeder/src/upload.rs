//! Sending segments to one peer: one upload at a time, oldest request first,
//! in chunks small enough for every WebRTC stack (the webrtc crate caps a
//! message at 64 KiB), paced by the seeder's upload budget and by the data
//! channel's buffer, and stopped by a cancel.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cinemesh_common::rate_limit::RateLimiter;
use cinemesh_protocol::peer_wire::WireMessage;
use tokio::sync::Notify;
use webrtc::data_channel::RTCDataChannel;

use crate::held_segments::HeldSegments;
use crate::wire_session::WireSession;

/// Bytes of segment per data message, as browsers send them.
pub const UPLOAD_CHUNK: usize = 32 * 1024;
/// Above this many buffered bytes the uploader waits.
const HIGH_WATER: usize = 1024 * 1024;
const BUFFER_POLL: Duration = Duration::from_millis(5);

/// What the uploader shares with the connection's reader.
#[derive(Default)]
pub struct UploadQueue {
    pub state: Mutex<QueueState>,
    /// Rung when a request is queued.
    pub queued: Notify,
}

#[derive(Default)]
pub struct QueueState {
    pub session: WireSession,
    /// The request being sent, and whether the other side cancelled it.
    current: Option<u32>,
    cancel: bool,
}

impl QueueState {
    /// The other side cancelled `request`: queued ones are gone already; the
    /// one being sent stops at its next chunk.
    pub fn cancel(&mut self, request: u32) {
        if self.current == Some(request) {
            self.cancel = true;
        }
    }

    fn next(&mut self) -> Option<crate::wire_session::UploadJob> {
        let job = self.session.next_upload();
        self.current = job.as_ref().map(|j| j.request);
        self.cancel = false;
        job
    }

    fn cancelled(&self) -> bool {
        self.cancel
    }

    /// Whether an upload is under way.
    pub fn uploading(&self) -> bool {
        self.current.is_some()
    }
}

/// An upload cap in bytes/s, shared by everything that holds a clone (all
/// the movies one seeder seeds); `None` is no cap.
pub type UploadBudget = Option<Arc<Mutex<RateLimiter>>>;

/// A budget of `bytes_per_sec` (0: none), a second's worth of which may go at once.
pub fn upload_budget(bytes_per_sec: u64) -> UploadBudget {
    (bytes_per_sec > 0)
        .then(|| Arc::new(Mutex::new(RateLimiter::new(bytes_per_sec as f64, bytes_per_sec as f64, Instant::now()))))
}

/// Everything the uploads of all peers of a movie share: the held segments,
/// the upload budget, and what was sent.
pub struct Uploads {
    pub held: Arc<HeldSegments>,
    pub budget: UploadBudget,
    pub sent: Mutex<std::collections::HashMap<String, u64>>,
}

impl Uploads {
    pub fn new(held: Arc<HeldSegments>, budget: UploadBudget) -> Self {
        Self { held, budget, sent: Mutex::default() }
    }

    fn wait_for_budget(&self, bytes: usize) -> Duration {
        match &self.budget {
            Some(budget) => budget.lock().map_or(Duration::ZERO, |mut b| b.reserve(bytes as f64, Instant::now())),
            None => Duration::ZERO,
        }
    }

    fn count(&self, rendition: &str, bytes: usize) {
        if let Ok(mut sent) = self.sent.lock() {
            *sent.entry(rendition.to_owned()).or_default() += bytes as u64;
        }
    }

    /// Bytes sent so far, by rendition.
    pub fn sent(&self) -> std::collections::HashMap<String, u64> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Runs until the channel fails: takes queued requests and sends them.
pub async fn run(queue: Arc<UploadQueue>, channel: Arc<RTCDataChannel>, uploads: Arc<Uploads>) {
    loop {
        let job = queue.state.lock().ok().and_then(|mut s| s.next());
        let Some(job) = job else {
            queue.queued.notified().await;
            continue;
        };
        let request = job.request;
        let bytes = match uploads.held.read(&job.segment) {
            Ok(bytes) => bytes,
            Err(reason) => {
                tracing::warn!(%reason, "a held segment could not be read; answered absent");
                if send(&channel, WireMessage::Absent { request }).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let total = bytes.len();
        let mut at = job.offset as usize;
        let mut cancelled = false;
        while at < total {
            if queue.state.lock().map(|s| s.cancelled()).unwrap_or(true) {
                cancelled = true;
                break;
            }
            let end = (at + UPLOAD_CHUNK).min(total);
            let wait = uploads.wait_for_budget(end - at);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            while channel.buffered_amount().await > HIGH_WATER {
                tokio::time::sleep(BUFFER_POLL).await;
            }
            let chunk = WireMessage::Data { request, offset: at as u32, bytes: bytes[at..end].to_vec() };
            if send(&channel, chunk).await.is_err() {
                return;
            }
            uploads.count(&job.segment.rendition, end - at);
            at = end;
        }
        if !cancelled && send(&channel, WireMessage::Done { request, total: total as u32 }).await.is_err() {
            return;
        }
    }
}

pub async fn send(channel: &RTCDataChannel, message: WireMessage) -> Result<(), webrtc::Error> {
    channel.send(&Bytes::from(message.encode())).await.map(|_| ())
}
