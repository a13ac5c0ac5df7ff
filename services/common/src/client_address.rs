//! Which address a request comes from. Behind a reverse proxy every request
//! arrives from the proxy, so per-address limits would put every user in one
//! bucket; the address the proxy saw is in `X-Forwarded-For`. That header is
//! whatever the client wrote, though, so it is read only when the connection
//! comes from a configured proxy, and then from the right: the last address
//! not itself a trusted proxy is the one that connected to the first proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBlock {
    network: IpAddr,
    prefix: u8,
}

impl AddressBlock {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("{text:?} is not an address or a CIDR block"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(|| format!("{text:?}: bad prefix"))?,
            None => most,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// What one client holds: an IPv4 address, or a whole IPv6 /64 (a home or a
/// phone gets one and picks addresses in it at will). Per-address limits and
/// bans key on this, so a new IPv6 address buys no new budget.
pub fn household(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<AddressBlock>);

impl TrustedProxies {
    pub fn parse(blocks: &[String]) -> Result<Self, String> {
        blocks.iter().map(|b| AddressBlock::parse(b)).collect::<Result<_, _>>().map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(address))
    }

    /// The client's address: the peer's, or through trusted proxies the one they saw.
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
        let hops: Vec<IpAddr> =
            forwarded.flat_map(|v| v.split(',')).filter_map(|hop| hop.trim().parse().ok()).map(canonical).collect();
        Some(hops.into_iter().rev().find(|hop| !self.trusts(*hop)).unwrap_or(peer))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(forwarded) = forwarded {
            req = req.insert_header(("x-forwarded-for", forwarded));
        }
        req.to_http_request()
    }

    #[test]
    fn blocks_contain_their_addresses() {
        let block = AddressBlock::parse("172.16.0.0/12").unwrap();
        assert!(block.contains("172.20.1.2".parse().unwrap()));
        assert!(!block.contains("172.32.0.1".parse().unwrap()));
        assert!(block.contains("::ffff:172.20.1.2".parse().unwrap()), "mapped IPv4");
        assert!(AddressBlock::parse("10.0.0.1").unwrap().contains("10.0.0.1".parse().unwrap()));
        assert!(AddressBlock::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(AddressBlock::parse("0.0.0.0/0").unwrap().contains("192.0.2.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", ""] {
            assert!(AddressBlock::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_ipv6_home_is_one_household() {
        let a = household("2001:db8:1:2::5".parse().unwrap());
        assert_eq!(a, household("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_ne!(a, household("2001:db8:1:3::5".parse().unwrap()));
        assert_eq!(household("::ffff:192.0.2.7".parse().unwrap()).to_string(), "192.0.2.7");
    }

    #[test]
    fn forwarded_addresses_count_only_through_trusted_proxies() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let client = |t: &TrustedProxies, peer, fwd| t.client_address(&request(peer, fwd)).unwrap().to_string();
        assert_eq!(client(&none, "10.0.0.5", Some("192.0.2.7")), "10.0.0.5", "not trusted: the header is ignored");
        assert_eq!(client(&proxy, "192.0.2.9", Some("192.0.2.7")), "192.0.2.9", "the peer is no proxy");
        assert_eq!(client(&proxy, "10.0.0.5", Some("192.0.2.7")), "192.0.2.7");
        assert_eq!(client(&proxy, "10.0.0.5", Some("6.6.6.6, 192.0.2.7, 10.0.0.3")), "192.0.2.7", "a forged head");
        assert_eq!(client(&proxy, "10.0.0.5", None), "10.0.0.5");
        assert_eq!(client(&proxy, "10.0.0.5", Some("junk")), "10.0.0.5");
    }
}
