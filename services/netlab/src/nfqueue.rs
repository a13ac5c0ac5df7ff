//! A minimal NFQUEUE client over a netlink socket (the nfnetlink_queue protocol).
//!
//! Why not the `nfq` crate: it keeps its socket private, so a thread cannot wait for "a packet
//! arrived or the next held packet is due" in one `poll`; it could only spin. This speaks the same
//! messages, and only what a delay line needs: bind a queue with metadata-only copies (the packet
//! bytes never cross into userspace), read packet ids, and hand back verdicts, one at a time
//! (drops) or for a whole prefix of the queue at once (`NFQNL_MSG_VERDICT_BATCH`).
//!
//! The socket belongs to the network namespace of the thread that opens it, and queue numbers
//! are per namespace.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::netlink::{NETFILTER, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_META: u8 = 1;
/// Attribute type bits that are flags, not the type.
const NLA_TYPE_MASK: u16 = 0x3fff;

const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;

/// Receive buffer of the socket: room for tens of thousands of waiting packet messages.
const SOCKET_RCVBUF: usize = 16 << 20;

/// What a datagram from the kernel carried.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A queued packet's id.
    Packet(u32),
    /// An acknowledgement (0) or a failed request (a positive errno).
    Ack(i32),
}

/// One bound queue.
pub struct NfQueue {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl NfQueue {
    /// Opens a socket in the caller's namespace and binds queue `queue` with metadata-only copies
    /// and room for `max_len` waiting packets.
    pub fn bind(queue: u16, max_len: u32) -> io::Result<Self> {
        let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, Some(NETFILTER))?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        // Without CAP_NET_ADMIN the forced size fails; the plain one is capped by rmem_max.
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&fd, SOCKET_RCVBUF).is_err() {
            rustix::net::sockopt::set_socket_recv_buffer_size(&fd, SOCKET_RCVBUF)?;
        }
        let mut q = Self { fd, queue, seq: 0, buf: vec![0; 16 * 1024] };
        q.configure(NFQA_CFG_CMD, &[NFQNL_CFG_CMD_BIND, 0, 0, 0])?;
        let mut params = 0u32.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_META);
        q.configure(NFQA_CFG_PARAMS, &params)?;
        q.configure(NFQA_CFG_QUEUE_MAXLEN, &max_len.to_be_bytes())?;
        Ok(q)
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn send(&mut self, msg_type: u16, flags: u16, attr: u16, payload: &[u8]) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let msg = encode((NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.seq, self.queue, attr, payload);
        rustix::net::sendto(&self.fd, &msg, SendFlags::empty(), &SocketAddrNetlink::new(0, 0))?;
        Ok(())
    }

    /// Sends a config attribute and waits for its acknowledgement (set-up only: no packets flow
    /// before the queue's rules exist).
    fn configure(&mut self, attr: u16, payload: &[u8]) -> io::Result<()> {
        self.send(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, attr, payload)?;
        loop {
            let (n, _) = rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty())?;
            let mut result = None;
            parse(&self.buf[..n.min(self.buf.len())], |event| {
                if let Event::Ack(errno) = event {
                    result = Some(errno);
                }
            });
            match result {
                Some(0) => return Ok(()),
                Some(errno) => return Err(io::Error::from_raw_os_error(errno)),
                None => continue,
            }
        }
    }

    /// Reads every message waiting, without blocking, calling `on_packet` with each packet id.
    /// Returns how many failed requests the kernel reported (none expected).
    pub fn drain(&mut self, mut on_packet: impl FnMut(u32)) -> io::Result<u32> {
        let mut errors = 0;
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::DONTWAIT) {
                Ok((n, _)) => parse(&self.buf[..n.min(self.buf.len())], |event| match event {
                    Event::Packet(id) => on_packet(id),
                    Event::Ack(0) => {}
                    Event::Ack(_) => errors += 1,
                }),
                Err(Errno::AGAIN) => return Ok(errors),
                Err(Errno::INTR) => {}
                // The socket overflowed: the kernel dropped packets it could not hand over.
                Err(Errno::NOBUFS) => errors += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Accepts or drops one packet.
    pub fn verdict(&mut self, id: u32, accept: bool) -> io::Result<()> {
        let verdict = if accept { NF_ACCEPT } else { NF_DROP };
        self.send(NFQNL_MSG_VERDICT, NLM_F_REQUEST, NFQA_VERDICT_HDR, &verdict_hdr(verdict, id))
    }

    /// Accepts every packet still queued with an id up to and including `id`.
    pub fn accept_through(&mut self, id: u32) -> io::Result<()> {
        self.send(NFQNL_MSG_VERDICT_BATCH, NLM_F_REQUEST, NFQA_VERDICT_HDR, &verdict_hdr(NF_ACCEPT, id))
    }
}

fn verdict_hdr(verdict: u32, id: u32) -> [u8; 8] {
    let mut hdr = [0u8; 8];
    hdr[..4].copy_from_slice(&verdict.to_be_bytes());
    hdr[4..].copy_from_slice(&id.to_be_bytes());
    hdr
}

/// One netlink message: header, nfgenmsg (family unspecified, version 0, queue number), one
/// attribute.
fn encode(msg_type: u16, flags: u16, seq: u32, queue: u16, attr: u16, payload: &[u8]) -> Vec<u8> {
    let attr_len = 4 + payload.len();
    let total = NLMSG_HDRLEN + NFGENMSG_LEN + align4(attr_len);
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&(total as u32).to_ne_bytes());
    msg.extend_from_slice(&msg_type.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&queue.to_be_bytes());
    msg.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    msg.extend_from_slice(&attr.to_ne_bytes());
    msg.extend_from_slice(payload);
    msg.resize(total, 0);
    msg
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Walks the netlink messages of one datagram.
pub fn parse(datagram: &[u8], mut on: impl FnMut(Event)) {
    let mut at = 0;
    while let (Some(len), Some(kind)) = (u32_at(datagram, at), u16_at(datagram, at + 4)) {
        let len = len as usize;
        if len < NLMSG_HDRLEN || at + len > datagram.len() {
            return;
        }
        let body = &datagram[at + NLMSG_HDRLEN..at + len];
        if kind == NLMSG_ERROR {
            if let Some(code) = u32_at(body, 0) {
                on(Event::Ack((code as i32).saturating_neg()));
            }
        } else if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET
            && let Some(id) = packet_id(body.get(NFGENMSG_LEN..).unwrap_or_default())
        {
            on(Event::Packet(id));
        }
        at += align4(len);
    }
}

/// The packet id from a packet message's attributes.
fn packet_id(mut attrs: &[u8]) -> Option<u32> {
    while let (Some(len), Some(kind)) = (u16_at(attrs, 0), u16_at(attrs, 2)) {
        let len = usize::from(len);
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind & NLA_TYPE_MASK == NFQA_PACKET_HDR {
            return Some(u32::from_be_bytes(attrs.get(4..8)?.try_into().ok()?));
        }
        attrs = attrs.get(align4(len)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet message as the kernel sends it: a mark attribute, then the packet header.
    fn packet_message(id: u32) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&3u16.to_ne_bytes()); // NFQA_MARK
        attrs.extend_from_slice(&7u32.to_be_bytes());
        attrs.extend_from_slice(&11u16.to_ne_bytes());
        attrs.extend_from_slice(&NFQA_PACKET_HDR.to_ne_bytes());
        attrs.extend_from_slice(&id.to_be_bytes());
        attrs.extend_from_slice(&0x0800u16.to_be_bytes());
        attrs.push(2); // hook
        attrs.push(0); // padding
        let len = NLMSG_HDRLEN + NFGENMSG_LEN + attrs.len();
        let mut msg = Vec::new();
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&(NFNL_SUBSYS_QUEUE << 8).to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend_from_slice(&[2, 0, 0, 1]);
        msg.extend_from_slice(&attrs);
        msg
    }

    #[test]
    fn packet_ids_are_read_from_every_message_of_a_datagram() {
        let mut datagram = packet_message(41);
        datagram.extend(packet_message(42));
        let mut seen = Vec::new();
        parse(&datagram, |e| seen.push(e));
        assert_eq!(seen, vec![Event::Packet(41), Event::Packet(42)]);
    }

    #[test]
    fn errors_and_acks_are_reported_as_positive_errnos() {
        let mut msg = Vec::new();
        msg.extend_from_slice(&36u32.to_ne_bytes());
        msg.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend_from_slice(&(-1i32).to_ne_bytes());
        msg.extend_from_slice(&[0; 16]);
        let mut seen = Vec::new();
        parse(&msg, |e| seen.push(e));
        assert_eq!(seen, vec![Event::Ack(1)]);
    }

    #[test]
    fn truncated_datagrams_are_ignored_not_misread() {
        let msg = packet_message(5);
        let mut seen = Vec::new();
        parse(&msg[..msg.len() - 3], |e| seen.push(e));
        assert!(seen.is_empty());
    }

    #[test]
    fn a_verdict_message_is_laid_out_as_the_kernel_expects() {
        let msg = encode((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT, NLM_F_REQUEST, 9, 2, 2, &verdict_hdr(1, 77));
        assert_eq!(msg.len(), 32);
        assert_eq!(u32_at(&msg, 0), Some(32));
        assert_eq!(u16_at(&msg, 4), Some(0x0301));
        assert_eq!(&msg[18..20], &[0, 2]); // queue number, big-endian
        assert_eq!(u16_at(&msg, 20), Some(12)); // attribute length
        assert_eq!(&msg[24..32], &[0, 0, 0, 1, 0, 0, 0, 77]);
    }
}
