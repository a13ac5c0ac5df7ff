//! The delay shaper: one thread per queue (one link direction), living in the namespace whose
//! iptables rules feed that queue. The kernel has no netem, so delay, jitter and loss happen here:
//! the thread holds each packet's verdict until its release time (see [`crate::delay`]).
//!
//! The thread waits in `poll` for either a new packet or the next release time, so an idle link
//! costs nothing and a busy one costs one `recv` per packet and one batch verdict per wake-up.
//! It runs at real-time priority (see [`crate::sched`]) so that builds sharing the machine do
//! not make releases late.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::delay::{DelayLine, Impairment};
use crate::netns;
use crate::nfqueue::NfQueue;
use fastrand::Rng;

/// Packets the kernel keeps waiting for this queue before it drops new ones: 16384 packets is
/// 300 ms at 600 Mbit/s of full-size packets, far more than any profile's links hold.
pub const QUEUE_MAX_LEN: u32 = 16_384;
/// How often an idle shaper looks at its stop flag.
const IDLE_WAKE: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Control {
    params: Mutex<Impairment>,
    stop: AtomicBool,
    passed: AtomicU64,
    dropped: AtomicU64,
    failure: Mutex<Option<String>>,
}

/// A running shaper; dropping it releases what it holds and stops the thread.
pub struct Shaper {
    pub label: String,
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Shaper {
    /// Starts a shaper serving queue `queue` of namespace `ns`; returns once the queue is bound.
    pub fn start(ns: &str, queue: u16, label: String, params: Impairment) -> anyhow::Result<Self> {
        let control = Arc::new(Control { params: Mutex::new(params), ..Control::default() });
        let (ready_tx, ready_rx) = mpsc::channel();
        let ns_owned = ns.to_string();
        let thread_control = control.clone();
        let thread = std::thread::Builder::new()
            .name(label.clone())
            .spawn(move || {
                let bound = netns::enter(&ns_owned).and_then(|()| {
                    crate::sched::timing_critical();
                    NfQueue::bind(queue, QUEUE_MAX_LEN).with_context(|| {
                        format!("binding NFQUEUE {queue} in {ns_owned} (kernel module nfnetlink_queue)")
                    })
                });
                match bound {
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                    Ok(q) => {
                        let _ = ready_tx.send(Ok(()));
                        if let Err(e) = serve(q, &thread_control)
                            && let Ok(mut failure) = thread_control.failure.lock()
                        {
                            *failure = Some(format!("{e:#}"));
                        }
                    }
                }
            })
            .context("starting a shaper thread")?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { label, control, thread: Some(thread) }),
            Ok(Err(e)) => Err(e),
            Err(_) => bail!("shaper {label} died while starting"),
        }
    }

    pub fn set(&self, params: Impairment) {
        if let Ok(mut p) = self.control.params.lock() {
            *p = params;
        }
    }

    pub fn params(&self) -> Impairment {
        self.control.params.lock().map(|p| *p).unwrap_or_default()
    }

    /// Packets released and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.control.passed.load(Ordering::Relaxed), self.control.dropped.load(Ordering::Relaxed))
    }

    /// Why the thread stopped, if it did.
    pub fn failure(&self) -> Option<String> {
        let failure = self.control.failure.lock().ok()?.clone();
        failure.or_else(|| self.thread.as_ref().filter(|t| t.is_finished()).map(|_| "stopped".to_string()))
    }
}

impl Drop for Shaper {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut queue: NfQueue, control: &Control) -> anyhow::Result<()> {
    let initial = *control.params.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut line = DelayLine::new(initial, Rng::new());
    let mut drops = Vec::new();
    while !control.stop.load(Ordering::Relaxed) {
        if let Ok(params) = control.params.lock() {
            line.set(*params);
        }
        let wait = line.next_due().map_or(IDLE_WAKE, |due| due.saturating_duration_since(Instant::now()));
        let timeout = Timespec::try_from(wait.min(IDLE_WAKE)).unwrap_or(Timespec { tv_sec: 0, tv_nsec: 0 });
        let mut fds = [PollFd::from_borrowed_fd(queue.fd(), PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        let now = Instant::now();
        queue.drain(|id| {
            if !line.admit(id, now) {
                drops.push(id);
            }
        })?;
        for id in drops.drain(..) {
            queue.verdict(id, false)?;
            control.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let before = line.held();
        if let Some(id) = line.release(Instant::now()) {
            queue.accept_through(id)?;
            control.passed.fetch_add((before - line.held()) as u64, Ordering::Relaxed);
        }
    }
    if let Some(id) = line.release_all() {
        queue.accept_through(id)?;
    }
    Ok(())
}
