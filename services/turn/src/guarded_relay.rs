//! The relays TURN opens: UDP sockets in the configured port range, at most
//! `max_allocations` at once, each carrying datagrams only to and from peers
//! the policy allows and at most `relay_bytes_per_sec` each way. The TURN
//! stack's own checks (permissions) come on top of these.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::net::UdpSocket;
use turn::relay::RelayAddressGenerator;
use webrtc_util::Conn;

use crate::metrics::TurnMetrics;
use crate::peer_policy::PeerPolicy;
use crate::rate_cap::RateCap;

/// Ports tried at random in the range before an allocation fails.
const PORT_TRIES: usize = 16;

pub struct GuardedRelays {
    /// Where relay sockets are bound.
    pub bind_ip: IpAddr,
    /// What relay candidates advertise (the public address behind a NAT).
    pub advertised_ip: IpAddr,
    pub ports: RangeInclusive<u16>,
    pub max_allocations: usize,
    pub bytes_per_sec: u64,
    pub policy: Arc<PeerPolicy>,
    pub metrics: TurnMetrics,
    pub open: Arc<AtomicUsize>,
}

#[async_trait]
impl RelayAddressGenerator for GuardedRelays {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    async fn allocate_conn(
        &self,
        _use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        // Counted before the bind, so that requests racing each other cannot pass the cap together.
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max_allocations {
            self.open.fetch_sub(1, Ordering::AcqRel);
            self.metrics.refuse("server_quota");
            return Err(turn::Error::Other("the server holds as many relays as it may".into()));
        }
        self.metrics.relays.inc();
        let opened = OpenRelay { open: self.open.clone(), metrics: self.metrics.clone() };
        let socket = self.bind(requested_port).await?;
        let mut advertised = socket.local_addr()?;
        advertised.set_ip(self.advertised_ip);
        let conn = GuardedRelayConn {
            socket,
            policy: self.policy.clone(),
            to_peer: RateCap::new(self.bytes_per_sec),
            from_peer: RateCap::new(self.bytes_per_sec),
            _opened: opened,
        };
        Ok((Arc::new(conn), advertised))
    }
}

impl GuardedRelays {
    async fn bind(&self, requested_port: u16) -> Result<UdpSocket, turn::Error> {
        if requested_port != 0 {
            if !self.ports.contains(&requested_port) {
                return Err(turn::Error::Other(format!("port {requested_port} is outside the relay range")));
            }
            return Ok(UdpSocket::bind(SocketAddr::new(self.bind_ip, requested_port)).await?);
        }
        let span = u32::from(*self.ports.end()) - u32::from(*self.ports.start()) + 1;
        for _ in 0..PORT_TRIES {
            let offset = u16::try_from(fastrand::u32(0..span)).unwrap_or(0);
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.bind_ip, self.ports.start() + offset)).await {
                return Ok(socket);
            }
        }
        self.metrics.refuse("no_free_port");
        Err(turn::Error::ErrMaxRetriesExceeded)
    }
}

/// One relay, counted from before its bind until its socket is dropped.
struct OpenRelay {
    open: Arc<AtomicUsize>,
    metrics: TurnMetrics,
}

impl Drop for OpenRelay {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.metrics.relays.dec();
    }
}

struct GuardedRelayConn {
    socket: UdpSocket,
    policy: Arc<PeerPolicy>,
    to_peer: RateCap,
    from_peer: RateCap,
    _opened: OpenRelay,
}

#[async_trait]
impl Conn for GuardedRelayConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    /// The next datagram from an allowed peer within the cap; others are dropped here.
    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            let metrics = &self._opened.metrics;
            if !self.policy.allows(from) {
                metrics.drop_relayed("refused_peer");
            } else if !self.from_peer.take(n) {
                metrics.drop_relayed("rate_cap");
            } else {
                metrics.relayed("from_peer", n);
                return Ok((n, from));
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    /// Sends to an allowed peer within the cap; a refused datagram is dropped
    /// as the network would drop it (the sender learns nothing it can probe with).
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        let metrics = &self._opened.metrics;
        if !self.policy.allows(target) {
            metrics.drop_relayed("refused_peer");
            return Ok(buf.len());
        }
        if !self.to_peer.take(buf.len()) {
            metrics.drop_relayed("rate_cap");
            return Ok(buf.len());
        }
        metrics.relayed("to_peer", buf.len());
        Ok(self.socket.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}
