//! UDP echo probes (hidden subcommands `_echo` and `_probe`): RTT and one-way loss.
//!
//! The prober sends numbered probes at a fixed pace; the echo counts what it received per
//! session and sends each probe back. At the end the prober asks the echo for its count: probes
//! lost on the way out = sent - echo's count; lost on the way back = echo's count - replies.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"NLPB";
const PROBE: u8 = 1;
const QUERY: u8 = 2;
const PROBE_REPLY: u8 = 3;
const QUERY_REPLY: u8 = 4;
const HEADER: usize = 33;
/// How long the prober waits for late replies after its last probe.
const GRACE: Duration = Duration::from_millis(1500);
const QUERY_TRIES: u32 = 30;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Packet {
    kind: u8,
    session: u64,
    seq: u32,
    sent_ns: u64,
    count: u64,
}

impl Packet {
    fn encode(&self, size: usize) -> Vec<u8> {
        let mut b = Vec::with_capacity(size.max(HEADER));
        b.extend_from_slice(MAGIC);
        b.push(self.kind);
        b.extend_from_slice(&self.session.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.sent_ns.to_be_bytes());
        b.extend_from_slice(&self.count.to_be_bytes());
        b.resize(size.max(HEADER), 0);
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < HEADER || &b[..4] != MAGIC {
            return None;
        }
        let u64_at = |at: usize| b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_be_bytes);
        Some(Self {
            kind: b[4],
            session: u64_at(5)?,
            seq: u32::from_be_bytes(b.get(13..17)?.try_into().ok()?),
            sent_ns: u64_at(17)?,
            count: u64_at(25)?,
        })
    }
}

/// Echoes probes back to their sender for `lifetime`.
pub fn echo(bind: SocketAddr, lifetime: Duration) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(bind).with_context(|| format!("binding {bind}"))?;
    let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 4 << 20);
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    crate::bulk::say_ready();
    let deadline = Instant::now() + lifetime;
    let mut counts: HashMap<u64, u64> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    while Instant::now() < deadline {
        let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
        let Some(mut packet) = Packet::decode(&buf[..n]) else { continue };
        let count = counts.entry(packet.session).or_default();
        match packet.kind {
            PROBE => {
                *count += 1;
                packet.kind = PROBE_REPLY;
            }
            QUERY => packet.kind = QUERY_REPLY,
            _ => continue,
        }
        packet.count = *count;
        let _ = socket.send_to(&packet.encode(n), from);
    }
    Ok(())
}

/// What a probe run saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub sent: u64,
    /// Probes the echo received; `None` if it never answered the count query.
    pub echoed: Option<u64>,
    /// Replies received.
    pub received: u64,
    pub rtt_median_ms: Option<f64>,
    pub rtt_p95_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
}

impl ProbeReport {
    /// Share lost on the way to the echo, percent.
    pub fn up_loss_pct(&self) -> Option<f64> {
        let echoed = self.echoed?;
        (self.sent > 0).then(|| 100.0 * (self.sent.saturating_sub(echoed)) as f64 / self.sent as f64)
    }

    /// Share of the echo's replies lost on the way back, percent.
    pub fn down_loss_pct(&self) -> Option<f64> {
        let echoed = self.echoed?;
        (echoed > 0).then(|| 100.0 * (echoed.saturating_sub(self.received)) as f64 / echoed as f64)
    }
}

/// Sends `count` probes of `size` bytes every `interval` to `target`; RTT statistics leave out
/// the first `skip` (neighbour discovery and cold caches).
pub fn probe(
    target: SocketAddr,
    count: u32,
    interval: Duration,
    size: usize,
    skip: u32,
) -> anyhow::Result<ProbeReport> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).context("binding a probe socket")?;
    socket.connect(target).with_context(|| format!("connecting to {target}"))?;
    let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 4 << 20);
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let session = getrandom::u64().unwrap_or(u64::from(std::process::id()));
    let start = Instant::now();
    let receiver = socket.try_clone()?;
    let collect = std::thread::spawn(move || {
        let mut rtts: HashMap<u32, f64> = HashMap::new();
        let mut buf = vec![0u8; 2048];
        let last_send = start + interval * count;
        while Instant::now() < last_send + GRACE {
            let Ok(n) = receiver.recv(&mut buf) else { continue };
            if let Some(p) = Packet::decode(&buf[..n]).filter(|p| p.kind == PROBE_REPLY && p.session == session) {
                let now_ns = start.elapsed().as_nanos() as u64;
                rtts.entry(p.seq).or_insert(now_ns.saturating_sub(p.sent_ns) as f64 / 1e6);
            }
        }
        rtts
    });
    for seq in 0..count {
        let due = start + interval * seq;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent_ns = start.elapsed().as_nanos() as u64;
        let _ = socket.send(&Packet { kind: PROBE, session, seq, sent_ns, count: 0 }.encode(size));
    }
    let rtts = collect.join().map_err(|_| anyhow::anyhow!("the probe receiver panicked"))?;
    let echoed = query(&socket, session);
    let mut kept: Vec<f64> = rtts.iter().filter(|(seq, _)| **seq >= skip).map(|(_, rtt)| *rtt).collect();
    kept.sort_by(f64::total_cmp);
    Ok(ProbeReport {
        sent: u64::from(count),
        echoed,
        received: rtts.len() as u64,
        rtt_median_ms: percentile(&kept, 0.5),
        rtt_p95_ms: percentile(&kept, 0.95),
        rtt_max_ms: kept.last().copied(),
    })
}

/// Asks the echo how many probes of `session` it received.
fn query(socket: &UdpSocket, session: u64) -> Option<u64> {
    let mut buf = vec![0u8; 2048];
    for _ in 0..QUERY_TRIES {
        let _ = socket.send(&Packet { kind: QUERY, session, seq: 0, sent_ns: 0, count: 0 }.encode(HEADER));
        let until = Instant::now() + Duration::from_millis(150);
        while Instant::now() < until {
            let Ok(n) = socket.recv(&mut buf) else { continue };
            if let Some(p) = Packet::decode(&buf[..n]).filter(|p| p.kind == QUERY_REPLY && p.session == session) {
                return Some(p.count);
            }
        }
    }
    None
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_pad_to_size() {
        let p = Packet { kind: PROBE, session: 7, seq: 9, sent_ns: 123, count: 4 };
        let bytes = p.encode(100);
        assert_eq!(bytes.len(), 100);
        assert_eq!(Packet::decode(&bytes), Some(p));
        assert_eq!(Packet::decode(&bytes[..20]), None);
        assert_eq!(Packet::decode(b"not a probe packet at all, no magic here"), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn losses_each_way_come_from_the_echo_count() {
        let r = ProbeReport { sent: 1000, echoed: Some(990), received: 980, ..ProbeReport::default() };
        assert_eq!(r.up_loss_pct(), Some(1.0));
        assert!((r.down_loss_pct().unwrap() - 100.0 * 10.0 / 990.0).abs() < 1e-9);
    }

    #[test]
    fn echo_and_probe_talk_over_loopback() {
        let port = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = std::thread::spawn(move || echo(addr, Duration::from_secs(4)));
        std::thread::sleep(Duration::from_millis(100));
        let report = probe(addr, 50, Duration::from_millis(2), 64, 2).unwrap();
        assert_eq!((report.sent, report.echoed, report.received), (50, Some(50), 50));
        assert!(report.rtt_median_ms.unwrap() < 50.0);
        drop(server);
    }
}
