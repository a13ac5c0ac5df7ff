//! TURN over TCP (RFC 8656 section 3.1): for browsers on networks that let no
//! UDP out (offices, some hotels), which reach the relay over a TCP
//! connection to the same port and are relayed over UDP as usual.
//!
//! The TURN stack reads datagrams from one socket, so this listener makes its
//! TCP connections look like one: each connection's byte stream is cut into
//! whole messages (a STUN message's length is in its header; channel data is
//! padded to four bytes over TCP), which come out of `recv_from` with the
//! connection's address, and `send_to` that address writes to it. A stream
//! that is not STUN (or sends a message longer than a TURN client's) is
//! closed and counted; connections (in all and per client address), the
//! time to a first message, idle time and the messages waiting for a slow
//! client are all bounded.
//!
//! A relay made over a connection is not removed when the connection ends
//! (the stack removes relays by their lifetime only: 10 minutes from each
//! allocate or refresh, or what the client asked below an hour): until then
//! it holds its port and its place in the quotas.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::metrics::TurnMetrics;

/// Connections open at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 1024;
/// Connections open at once from one address (a home's browsers behind one
/// NAT: a page opens one per relay over TCP; for IPv6, one /64, which a
/// single client may hold whole), so that one client cannot take them all;
/// past it a new connection is closed at once.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// A connection that sends nothing this long is closed (a browser refreshes
/// its allocation every few minutes and its permissions more often).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A new connection's first message must come within this.
pub const FIRST_MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest message taken: a relayed datagram (a browser keeps them under
/// about 1200 bytes) with its channel header, or a STUN request.
pub const MAX_MESSAGE: usize = 2048;
/// Messages waiting to be written to one client; past this they are dropped,
/// as a congested UDP path would drop them.
const OUTBOX: usize = 256;
/// Messages read from every connection and not yet taken by the TURN stack.
const INBOX: usize = 1024;

type Outboxes = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

pub struct TcpTurnListener {
    local_addr: SocketAddr,
    inbox: tokio::sync::Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    outboxes: Outboxes,
    accepting: tokio::task::JoinHandle<()>,
}

impl TcpTurnListener {
    pub fn new(listener: TcpListener, metrics: TurnMetrics) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (inbox_tx, inbox) = mpsc::channel(INBOX);
        let outboxes: Outboxes = Arc::default();
        let accepting = tokio::spawn(accept(listener, inbox_tx, outboxes.clone(), metrics));
        Ok(Self { local_addr, inbox: tokio::sync::Mutex::new(inbox), outboxes, accepting })
    }
}

impl Drop for TcpTurnListener {
    fn drop(&mut self) {
        self.accepting.abort();
        // Each connection's writer ends with its outbox, and its reader when the writer is gone.
        self.outboxes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

async fn accept(
    listener: TcpListener,
    inbox: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    outboxes: Outboxes,
    metrics: TurnMetrics,
) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_address = PerAddress::default();
    loop {
        let Ok(permit) = open.clone().acquire_owned().await else { return };
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!(error = %e, "accepting a TURN TCP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(address_slot) = per_address.take(from.ip()) else {
            metrics.refuse("tcp_address_full");
            continue; // Dropping the stream closes it.
        };
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(OUTBOX);
        let mine = tx.clone();
        outboxes.lock().unwrap_or_else(|e| e.into_inner()).insert(from, tx);
        let (inbox, outboxes, metrics) = (inbox.clone(), outboxes.clone(), metrics.clone());
        tokio::spawn(async move {
            serve(stream, from, inbox, rx, &metrics).await;
            let mut outboxes = outboxes.lock().unwrap_or_else(|e| e.into_inner());
            // A newer connection from the same address keeps its own.
            if outboxes.get(&from).is_some_and(|tx| tx.same_channel(&mine)) {
                outboxes.remove(&from);
            }
            drop((permit, address_slot));
        });
    }
}

/// Connections open per client address (IPv6: per /64).
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one home's or
/// one host's prefix; its addresses are the client's to pick).
fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// One connection's place in its address's count, given back when dropped.
struct AddressSlot {
    counts: PerAddress,
    address: IpAddr,
}

impl PerAddress {
    fn take(&self, address: IpAddr) -> Option<AddressSlot> {
        let address = client_key(address);
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = counts.entry(address).or_default();
        if *open >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *open += 1;
        Some(AddressSlot { counts: self.clone(), address })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = counts.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Reads whole messages into the inbox and writes the outbox, until either side ends.
async fn serve(
    stream: TcpStream,
    from: SocketAddr,
    inbox: mpsc::Sender<(Vec<u8>, SocketAddr)>,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    metrics: &TurnMetrics,
) {
    let (mut reader, mut writer) = stream.into_split();
    let writing = async move {
        while let Some(message) = outbox.recv().await {
            if writer.write_all(&message).await.is_err() {
                return;
            }
        }
    };
    let reading = async move {
        let mut wait = FIRST_MESSAGE_TIMEOUT;
        loop {
            let read = tokio::time::timeout(wait, read_message(&mut reader)).await;
            wait = IDLE_TIMEOUT;
            match read {
                Ok(Ok(Some(message))) => {
                    if inbox.send((message, from)).await.is_err() {
                        return;
                    }
                }
                Ok(Ok(None)) => {
                    metrics.drop_datagram("not_stun");
                    return;
                }
                // Closed, broken, or idle too long.
                Ok(Err(_)) | Err(_) => return,
            }
        }
    };
    tokio::select! {
        () = writing => {}
        () = reading => {}
    }
}

/// The next whole message on a stream; `None` when the stream is not STUN
/// (or the message is longer than `MAX_MESSAGE`).
async fn read_message(reader: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).await?;
    let Some(total) = message_length(header).filter(|&total| total <= MAX_MESSAGE) else { return Ok(None) };
    let mut message = vec![0u8; total];
    message[..4].copy_from_slice(&header);
    reader.read_exact(&mut message[4..]).await?;
    Ok(Some(message))
}

/// A message's length on a TCP stream from its first four bytes: a STUN
/// header and its attributes, or channel data (channels 0x4000-0x4FFF, RFC
/// 8656) padded to four bytes; `None` for anything else. (Some text looks
/// like channel data of some 20 KB, "GET " among it: `MAX_MESSAGE` turns
/// it away.)
pub fn message_length(header: [u8; 4]) -> Option<usize> {
    let declared = usize::from(u16::from_be_bytes([header[2], header[3]]));
    match header[0] {
        0x00..=0x3F if declared % 4 == 0 => Some(20 + declared),
        0x40..=0x4F => Some(4 + declared.div_ceil(4) * 4),
        _ => None,
    }
}

impl TcpTurnListener {
    /// The next whole message from any connection, with the connection's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let Some((message, from)) = self.inbox.lock().await.recv().await else {
                return Err(std::io::Error::other("the TURN TCP listener stopped").into());
            };
            // `MAX_MESSAGE` is below the stack's buffer (a UDP datagram's size); a longer one is skipped.
            if message.len() <= buf.len() {
                buf[..message.len()].copy_from_slice(&message);
                return Ok((message.len(), from));
            }
        }
    }

    /// Queues `buf` for the connection from `target`. A client gone, or too
    /// slow to keep up, loses the message, as on UDP.
    pub fn send_to(&self, buf: &[u8], target: SocketAddr) -> usize {
        let outbox = self.outboxes.lock().unwrap_or_else(|e| e.into_inner()).get(&target).cloned();
        if let Some(outbox) = outbox {
            let _ = outbox.try_send(buf.to_vec());
        }
        buf.len()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_is_an_ipv4_address_or_an_ipv6_64() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("2001:db8:1:2:ffff::9")), client_key(ip("2001:db8:1:2::1")));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), client_key(ip("2001:db8:1:2::1")));
        assert_eq!(client_key(ip("::ffff:203.0.113.7")), ip("203.0.113.7"), "an IPv4 client on a dual-stack socket");
    }

    #[test]
    fn cuts_stun_and_padded_channel_data() {
        assert_eq!(message_length([0x00, 0x01, 0x00, 0x08]), Some(28), "a binding request with 8 bytes of attributes");
        assert_eq!(message_length([0x00, 0x01, 0x00, 0x07]), None, "STUN attributes are padded to 4 bytes");
        assert_eq!(message_length([0x40, 0x00, 0x00, 0x05]), Some(12), "channel data padded to 4 bytes");
        assert_eq!(message_length([0x4F, 0xFF, 0x00, 0x00]), Some(4));
        assert_eq!(message_length([0x50, 0x00, 0x00, 0x00]), None, "a reserved channel number");
        assert_eq!(message_length(*b"POST"), None);
        assert!(message_length(*b"GET ").is_some_and(|total| total > MAX_MESSAGE), "HTTP is turned away by its length");
        assert_eq!(message_length([0x16, 0x03, 0x01, 0x02]), None, "a TLS hello");
    }

    #[tokio::test]
    async fn reads_whole_messages_split_and_joined_on_the_stream() {
        let binding = {
            let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
            m.extend_from_slice(&[7; 12]);
            m
        };
        let channel = [0x40, 0x01, 0x00, 0x03, 1, 2, 3, 0];
        let mut stream = [binding.clone(), channel.to_vec(), b"POST / HTTP/1.1".to_vec()].concat();
        let mut reader = &stream[..];
        assert_eq!(read_message(&mut reader).await.unwrap(), Some(binding.clone()));
        assert_eq!(read_message(&mut reader).await.unwrap(), Some(channel.to_vec()));
        assert_eq!(read_message(&mut reader).await.unwrap(), None);
        let mut http = &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..];
        assert_eq!(read_message(&mut http).await.unwrap(), None, "HTTP is closed, not waited on");
        stream.truncate(10);
        let mut cut = &stream[..];
        assert!(read_message(&mut cut).await.is_err(), "a stream that ends inside a message");
    }
}
