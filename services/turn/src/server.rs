//! Starts STUN (and TURN with `relay`) on one UDP socket, and with `relay`
//! TURN over TCP on the same port, on the webrtc-rs `turn` stack, with this
//! crate's guards around it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, UdpSocket};
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};

use crate::config::{ListenAt, TurnConfig};
use crate::guarded_relay::GuardedRelays;
use crate::listener::{ScreenedListener, Transport};
use crate::metrics::TurnMetrics;
use crate::peer_policy::PeerPolicy;
use crate::rate_cap::RateCap;
use crate::rest_auth::RestAuth;
use crate::tcp_listener::TcpTurnListener;

/// Stands for the host name the browser reached this server at; the web
/// client puts `location.hostname` in its place, so the URLs work through any
/// name, proxy or port mapping that reaches this host.
pub const PAGE_HOST: &str = "{host}";

pub struct EmbeddedTurn {
    server: Arc<Server>,
    local_addr: SocketAddr,
    relay: bool,
    /// TURN over TCP listens too (on `local_addr`'s port).
    tcp: bool,
    url_host: String,
}

impl std::fmt::Debug for EmbeddedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedTurn").field("local_addr", &self.local_addr).field("relay", &self.relay).finish()
    }
}

impl EmbeddedTurn {
    /// Starts listening, unless `config.enabled` is off. `http` is the HTTP
    /// server's bound address (refused as a relay peer); `secret` checks TURN
    /// credentials and is needed with `config.relay`.
    pub async fn start(
        config: &TurnConfig,
        http_bind: &str,
        http: SocketAddr,
        secret: Option<String>,
        metrics: TurnMetrics,
    ) -> anyhow::Result<Option<Self>> {
        if !config.enabled {
            return Ok(None);
        }
        config.validate(http_bind)?;
        let socket = match config.listen_at(http_bind)? {
            ListenAt::Exactly(address) => UdpSocket::bind(address)
                .await
                .with_context(|| format!("binding STUN/TURN to {address} (turn.listen)"))?,
            ListenAt::Preferably(address) => match UdpSocket::bind(address).await {
                Ok(socket) => socket,
                Err(e) => {
                    let socket = UdpSocket::bind(SocketAddr::new(address.ip(), 0))
                        .await
                        .with_context(|| format!("binding STUN/TURN to {}", address.ip()))?;
                    tracing::warn!(
                        wanted = %address, error = %e, listening = %socket.local_addr()?,
                        "STUN/TURN could not take its default port; set turn.listen to choose one"
                    );
                    socket
                }
            },
        };
        let local_addr = socket.local_addr()?;
        if local_addr.ip().is_loopback() && config.public_ip.is_empty() {
            tracing::warn!(
                listening = %local_addr,
                "STUN/TURN listens on loopback: only browsers on this machine reach it; set turn.listen to a reachable address"
            );
        }
        let public_ip = config.public_ip()?;
        let advertised_ip = public_ip.unwrap_or_else(|| host_address(local_addr.ip()));
        let auth = Arc::new(RestAuth::new(
            secret.clone().unwrap_or_default(),
            config.realm.clone(),
            config.allocations_per_user,
            config.allocations_per_address,
            metrics.clone(),
        ));
        let policy = PeerPolicy::new(config.allowed_peer_blocks()?)
            .with_own_ports(vec![local_addr.ip(), advertised_ip, http.ip()], vec![http.port(), local_addr.port()]);
        let relay = config.relay && secret.is_some();
        let (policy, open, ports) = (Arc::new(policy), Arc::new(AtomicUsize::new(0)), config.relay_port_range()?);
        // One set of guards for both transports: the quotas count relays over either.
        let relays = || GuardedRelays {
            bind_ip: local_addr.ip(),
            advertised_ip,
            ports: ports.clone(),
            // Without relaying, every allocation is refused here (STUN still answers).
            max_allocations: if relay { config.max_allocations } else { 0 },
            bytes_per_sec: config.relay_bytes_per_sec,
            policy: policy.clone(),
            metrics: metrics.clone(),
            open: open.clone(),
        };
        let unauthenticated = Arc::new(RateCap::new(crate::listener::UNAUTHENTICATED_PER_SEC));
        let mut conn_configs = vec![ConnConfig {
            conn: Arc::new(ScreenedListener::new(
                Transport::Udp(socket),
                relay,
                unauthenticated.clone(),
                metrics.clone(),
            )),
            relay_addr_generator: Box::new(relays()),
        }];
        if relay {
            match TcpListener::bind(local_addr).await {
                Ok(listener) => conn_configs.push(ConnConfig {
                    conn: Arc::new(ScreenedListener::new(
                        Transport::Tcp(TcpTurnListener::new(listener, metrics.clone())?),
                        relay,
                        unauthenticated.clone(),
                        metrics.clone(),
                    )),
                    relay_addr_generator: Box::new(relays()),
                }),
                Err(e) => tracing::warn!(
                    address = %local_addr, error = %e,
                    "TURN over TCP could not take the STUN/TURN port: browsers that cannot use UDP get no relay"
                ),
            }
        }
        let tcp = conn_configs.len() > 1;
        let server = Arc::new(
            Server::new(ServerConfig {
                conn_configs,
                realm: config.realm.clone(),
                auth_handler: auth.clone(),
                channel_bind_timeout: Duration::from_secs(0),
                alloc_close_notify: None,
            })
            .await
            .context("starting STUN/TURN")?,
        );
        if relay {
            tokio::spawn(read_live_relays(Arc::downgrade(&server), auth));
        }
        let url_host = match public_ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]"),
            Some(ip) => ip.to_string(),
            None => PAGE_HOST.to_owned(),
        };
        tracing::info!(listening = %local_addr, relay, tcp, advertised = %advertised_ip, "STUN/TURN started");
        Ok(Some(Self { server, local_addr, relay, tcp, url_host }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `stun:HOST:PORT` for browsers (HOST is `{host}` unless `public_ip` is set).
    pub fn stun_url(&self) -> String {
        format!("stun:{}:{}", self.url_host, self.local_addr.port())
    }

    /// `turn:HOST:PORT?transport=udp` (and `tcp` when it listens there), when relaying is on.
    pub fn turn_urls(&self) -> Vec<String> {
        let transports: &[&str] = match (self.relay, self.tcp) {
            (false, _) => &[],
            (true, false) => &["udp"],
            (true, true) => &["udp", "tcp"],
        };
        transports.iter().map(|t| format!("turn:{}:{}?transport={t}", self.url_host, self.local_addr.port())).collect()
    }

    pub async fn close(&self) {
        if let Err(e) = self.server.close().await {
            tracing::debug!(error = %e, "closing STUN/TURN");
        }
    }
}

/// Feeds the quotas the relays that exist, until the server closes.
async fn read_live_relays(server: std::sync::Weak<Server>, auth: Arc<RestAuth>) {
    let mut every = tokio::time::interval(crate::rest_auth::LIVE_EVERY);
    loop {
        every.tick().await;
        let Some(server) = server.upgrade() else { return };
        match server.get_allocations_info(None).await {
            Ok(relays) => auth.set_live(relays.into_values().map(|info| (info.username, info.five_tuple.src_addr))),
            Err(_) => return,
        }
    }
}

/// The address relays are reached at when nothing says: the listen address,
/// or (listening everywhere) the one this host sends from by default.
fn host_address(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    // Connecting a UDP socket sends nothing; it only picks the route's source.
    std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).map(|()| socket))
        .and_then(|socket| socket.local_addr())
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |address| address.ip())
}
