//! A STUN/TURN listening socket (UDP, or TCP: `tcp_listener.rs`) as the TURN
//! stack reads it. Dropped and
//! counted here, before any parsing:
//! - datagrams that are neither a STUN message nor TURN channel data;
//! - with relaying off, everything but binding requests (STUN only);
//! - with relaying on, TURN requests without credentials past
//!   `UNAUTHENTICATED_PER_SEC`: the stack answers each with a nonce it keeps
//!   until the nonce comes back, so what strangers send must stay bounded.
//!
//! Errors a UDP socket reports for an earlier send (an ICMP "port
//! unreachable" from a gone client) do not end the server: the stack stops
//! reading at the first error it gets.

use std::any::Any;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::net::UdpSocket;
use webrtc_util::Conn;

use crate::metrics::TurnMetrics;
use crate::rate_cap::RateCap;
use crate::tcp_listener::TcpTurnListener;

/// TURN requests without credentials taken per second (a browser sends one
/// per relay it opens), across all clients and both transports.
pub const UNAUTHENTICATED_PER_SEC: u64 = 50;

/// STUN's MESSAGE-INTEGRITY attribute.
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;

/// STUN's first two bits are 0 and it carries the magic cookie; TURN channel
/// numbers are 0x4000-0x7FFF, followed by a length the datagram holds.
pub fn looks_like_stun_or_channel_data(datagram: &[u8]) -> bool {
    match datagram {
        [first, ..] if first & 0xC0 == 0 => stun::message::is_message(datagram),
        [first, _, high, low, data @ ..] if first & 0xC0 == 0x40 => {
            usize::from(u16::from_be_bytes([*high, *low])) <= data.len()
        }
        _ => false,
    }
}

/// What a datagram asks for, as `/metrics` counts it.
fn request_kind(datagram: &[u8]) -> &'static str {
    match datagram {
        [first, ..] if first & 0xC0 == 0x40 => "channel_data",
        // The method's low bits (RFC 8489 section 5), class bits masked out.
        [a, b, ..] => match (u16::from(*a) << 8 | u16::from(*b)) & 0x3EEF {
            0x001 => "binding",
            0x003 => "allocate",
            0x004 => "refresh",
            0x006 => "send",
            0x008 => "create_permission",
            0x009 => "channel_bind",
            _ => "other",
        },
        _ => "other",
    }
}

/// Whether a STUN message (checked by `looks_like_stun_or_channel_data`) carries MESSAGE-INTEGRITY.
fn has_integrity(message: &[u8]) -> bool {
    let declared = usize::from(u16::from_be_bytes([message[2], message[3]]));
    let end = (20 + declared).min(message.len());
    let mut at = 20;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([message[at], message[at + 1]]);
        if kind == ATTR_MESSAGE_INTEGRITY {
            return true;
        }
        let length = usize::from(u16::from_be_bytes([message[at + 2], message[at + 3]]));
        at += 4 + length.div_ceil(4) * 4;
    }
    false
}

/// Where requests arrive.
pub enum Transport {
    Udp(UdpSocket),
    Tcp(TcpTurnListener),
}

impl Transport {
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        match self {
            Self::Udp(socket) => loop {
                match socket.recv_from(buf).await {
                    Ok(received) => return Ok(received),
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset | ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            },
            Self::Tcp(listener) => listener.recv_from(buf).await,
        }
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        match self {
            Self::Udp(socket) => match socket.send_to(buf, target).await {
                Ok(n) => Ok(n),
                // A client that went away: the answer is lost, as on the network.
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset) => {
                    Ok(buf.len())
                }
                Err(e) => Err(e.into()),
            },
            Self::Tcp(listener) => Ok(listener.send_to(buf, target)),
        }
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        match self {
            Self::Udp(socket) => Ok(socket.local_addr()?),
            Self::Tcp(listener) => Ok(listener.local_addr()),
        }
    }
}

pub struct ScreenedListener {
    transport: Transport,
    /// Relaying on: TURN requests go through (unauthenticated ones capped).
    relay: bool,
    /// Shared by the UDP and TCP listeners: the cap is for the server.
    unauthenticated: Arc<RateCap>,
    metrics: TurnMetrics,
}

impl ScreenedListener {
    /// `unauthenticated`: the cap on TURN requests without credentials
    /// (`UNAUTHENTICATED_PER_SEC`), one for all the server's listeners.
    pub(crate) fn new(transport: Transport, relay: bool, unauthenticated: Arc<RateCap>, metrics: TurnMetrics) -> Self {
        Self { transport, relay, unauthenticated, metrics }
    }

    /// Why `datagram` is dropped, if it is.
    fn refusal(&self, datagram: &[u8], kind: &'static str) -> Option<&'static str> {
        if !looks_like_stun_or_channel_data(datagram) {
            return Some("not_stun");
        }
        match (self.relay, kind) {
            (_, "binding") => None,
            (false, _) => Some("relay_off"),
            (true, "channel_data" | "send") => None,
            (true, _) if has_integrity(datagram) || self.unauthenticated.take(1) => None,
            (true, _) => Some("unauthenticated_rate"),
        }
    }
}

#[async_trait]
impl Conn for ScreenedListener {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(std::io::Error::other("the listener serves every client").into())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.transport.recv_from(buf).await?;
            let kind = request_kind(&buf[..n]);
            match self.refusal(&buf[..n], kind) {
                None => {
                    self.metrics.request(kind);
                    return Ok((n, from));
                }
                Some(reason) => self.metrics.drop_datagram(reason),
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(std::io::Error::other("the listener sends to a named client").into())
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        self.transport.send_to(buf, target).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        self.transport.local_addr()
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// The TURN stack closes the listener's connection with each relay it
    /// closes; the socket is shared by every client, so only dropping it
    /// (when the server stops) closes it.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_what_is_neither_stun_nor_channel_data() {
        // A binding request: type 0x0001, length 0, the magic cookie, a transaction id.
        let mut binding = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        binding.extend_from_slice(&[7; 12]);
        assert!(looks_like_stun_or_channel_data(&binding));
        assert!(looks_like_stun_or_channel_data(&[0x40, 0x00, 0x00, 0x01, 0xFF]), "channel 0x4000");
        assert!(!looks_like_stun_or_channel_data(&[]));
        assert!(!looks_like_stun_or_channel_data(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!looks_like_stun_or_channel_data(&[0x80, 0x60, 0, 0]), "RTP");
        assert!(!looks_like_stun_or_channel_data(&binding[..19]), "a truncated header");
        assert!(
            !looks_like_stun_or_channel_data(&[0x40, 0x00, 0xFF, 0xFF, 1, 2]),
            "channel data longer than the datagram"
        );
        assert!(!has_integrity(&binding));
        let mut signed = binding.clone();
        signed[3] = 32; // USERNAME "a" (padded to 4), then MESSAGE-INTEGRITY (20 bytes)
        signed.extend_from_slice(&[0x00, 0x06, 0x00, 0x01, b'a', 0, 0, 0, 0x00, 0x08, 0x00, 0x14]);
        signed.extend_from_slice(&[0; 20]);
        assert!(has_integrity(&signed));
        signed[3] = 8; // a length that stops before the integrity attribute
        assert!(!has_integrity(&signed));
        let mut no_cookie = binding.clone();
        no_cookie[4] = 0;
        assert!(!looks_like_stun_or_channel_data(&no_cookie));
    }
}
