//! Paced UDP bulk traffic (hidden subcommands `_blast` and `_sink`): a link's rate.
//!
//! UDP, not TCP: on lossy profiles (0.5-2 % loss) a TCP flow stays far below the link rate
//! (Mathis: rate ~ MSS/RTT * 1.22/sqrt(p)), which would measure TCP, not the link. The blaster
//! sends 25 % above the expected rate, the rate limiter drops the excess, and the sink counts what
//! arrives after a warm-up. Rates count whole frames (payload + UDP, IP and Ethernet headers), as
//! HTB does.
//!
//! Behind a NAT the receiving client speaks first: its sink sends "hello" datagrams to the
//! blaster, which sends to wherever the hello came from (the NAT's mapping).

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// UDP payload of a bulk datagram: a 1442-byte frame, under the 1500-byte MTU.
pub const PAYLOAD: usize = 1400;
/// UDP (8) + IPv4 (20) + Ethernet (14) header bytes per datagram.
pub const HEADERS: usize = 42;
const HELLO: &[u8] = b"NLHELLO";
/// Time after the first datagram that the sink leaves out (queues filling, slow start of the pacer).
const WARMUP: Duration = Duration::from_millis(300);
/// The sink stops after this long without a datagram.
const QUIET_END: Duration = Duration::from_millis(600);

/// Tells the orchestrator that the socket is bound (first line of stdout).
pub fn say_ready() {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkReport {
    pub packets: u64,
    /// Frames counted in the measuring window.
    pub window_packets: u64,
    pub window_secs: f64,
    /// Frame rate over the window, Mbit/s.
    pub mbit: f64,
}

/// Receives bulk datagrams on `bind` until they stop; with `hello`, first greets that address
/// (repeatedly, until data flows) so a blaster beyond a NAT can answer.
pub fn sink(bind: SocketAddr, hello: Option<SocketAddr>, max: Duration) -> anyhow::Result<SinkReport> {
    let socket = UdpSocket::bind(bind).with_context(|| format!("binding {bind}"))?;
    let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 8 << 20);
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    say_ready();
    let start = Instant::now();
    let mut buf = vec![0u8; 2048];
    let mut report = SinkReport::default();
    let mut first: Option<Instant> = None;
    let mut last = start;
    let mut window_bytes = 0u64;
    let mut next_hello = start;
    while start.elapsed() < max {
        if let (Some(to), None) = (hello, first)
            && Instant::now() >= next_hello
        {
            let _ = socket.send_to(HELLO, to);
            next_hello += Duration::from_millis(100);
        }
        match socket.recv_from(&mut buf) {
            Ok((n, _)) if n >= 100 => {
                let now = Instant::now();
                let first = *first.get_or_insert(now);
                report.packets += 1;
                last = now;
                if now >= first + WARMUP {
                    report.window_packets += 1;
                    window_bytes += (n + HEADERS) as u64;
                }
            }
            _ => {
                if first.is_some() && last.elapsed() > QUIET_END {
                    break;
                }
            }
        }
    }
    if let Some(first) = first {
        report.window_secs = last.saturating_duration_since(first + WARMUP).as_secs_f64();
        if report.window_secs > 0.0 {
            report.mbit = window_bytes as f64 * 8.0 / report.window_secs / 1e6;
        }
    }
    Ok(report)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastReport {
    pub sent: u64,
    pub secs: f64,
}

/// Where to send: a fixed address, or whoever greets `bind` first.
pub enum BlastTarget {
    To(SocketAddr),
    Greeted(SocketAddr),
}

/// Sends `PAYLOAD`-byte datagrams at `mbit` (frame rate) for `duration`.
pub fn blast(target: BlastTarget, mbit: f64, duration: Duration) -> anyhow::Result<BlastReport> {
    let (socket, to) = match target {
        BlastTarget::To(to) => (UdpSocket::bind(("0.0.0.0", 0))?, to),
        BlastTarget::Greeted(bind) => {
            let socket = UdpSocket::bind(bind).with_context(|| format!("binding {bind}"))?;
            socket.set_read_timeout(Some(Duration::from_secs(10)))?;
            say_ready();
            let mut buf = [0u8; 64];
            let (n, from) = socket.recv_from(&mut buf).context("waiting for a hello")?;
            if &buf[..n] != HELLO {
                bail!("expected a hello from the sink, got {n} other bytes from {from}");
            }
            (socket, from)
        }
    };
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(&socket, 4 << 20);
    let frame_bits = ((PAYLOAD + HEADERS) * 8) as f64;
    let per_sec = mbit * 1e6 / frame_bits;
    let payload = vec![0x5au8; PAYLOAD];
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < duration {
        let due = (start.elapsed().as_secs_f64() * per_sec) as u64;
        while sent < due {
            // A full local queue (ENOBUFS) is one more drop at the rate limiter.
            let _ = socket.send_to(&payload, to);
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(BlastReport { sent, secs: start.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_blast_arrives_at_its_rate_over_loopback() {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let sink = std::thread::spawn(move || sink(addr, None, Duration::from_secs(5)).unwrap());
        std::thread::sleep(Duration::from_millis(100));
        let sent = blast(BlastTarget::To(addr), 20.0, Duration::from_millis(1500)).unwrap();
        let report = sink.join().unwrap();
        assert!(sent.sent > 2000, "{sent:?}");
        assert!((report.mbit - 20.0).abs() < 4.0, "{report:?}");
    }

    #[test]
    fn a_greeted_blaster_answers_the_sinks_hello() {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        let blaster_addr = probe.local_addr().unwrap();
        drop(probe);
        let blaster =
            std::thread::spawn(move || blast(BlastTarget::Greeted(blaster_addr), 5.0, Duration::from_millis(800)));
        std::thread::sleep(Duration::from_millis(100));
        let report = sink("127.0.0.1:0".parse().unwrap(), Some(blaster_addr), Duration::from_secs(5)).unwrap();
        assert!(blaster.join().unwrap().is_ok());
        assert!(report.packets > 100, "{report:?}");
    }
}
