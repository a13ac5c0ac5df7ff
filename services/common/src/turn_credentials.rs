//! Short-lived TURN credentials in the "TURN REST API" form coturn checks
//! with `use-auth-secret`: the username is `EXPIRY:WHO` (Unix seconds), the
//! password is base64(HMAC-SHA1(shared secret, username)). Each viewer gets
//! its own, so coturn's per-user quota counts viewers, and a page that leaks
//! one leaks a few hours of relay, never a password.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use cinemesh_protocol::ice::IceServer;

/// The `turn:`/`turns:` URLs and the secret shared with the TURN server.
#[derive(Clone)]
pub struct TurnCredentials {
    urls: Vec<String>,
    secret: String,
    ttl_secs: u64,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials").field("urls", &self.urls).field("ttl_secs", &self.ttl_secs).finish()
    }
}

impl TurnCredentials {
    pub fn new(urls: Vec<String>, secret: String, ttl_secs: u64) -> Self {
        Self { urls, secret, ttl_secs }
    }

    /// The TURN entry of `iceServers` for `who`, valid for `ttl_secs` from `now_secs`.
    pub fn ice_server(&self, who: &str, now_secs: u64) -> IceServer {
        let username = format!("{}:{who}", now_secs + self.ttl_secs);
        IceServer {
            urls: self.urls.clone(),
            credential: Some(password(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// The ICE servers a page is handed: the fixed ones (STUN, or TURN with a
/// static password the operator configured) and, with a TURN secret, a TURN
/// entry with credentials made for that viewer. The catalog hands them out
/// with a movie's details, a room with each welcome.
#[derive(Debug, Clone, Default)]
pub struct IceServers {
    fixed: Vec<IceServer>,
    turn: Option<TurnCredentials>,
}

impl IceServers {
    pub fn new(fixed: Vec<IceServer>, turn: Option<TurnCredentials>) -> Self {
        Self { fixed, turn }
    }

    /// The list for `who` (a name for the TURN server's per-user quota and
    /// logs; nothing to guess from it), its credentials valid from `now_secs`.
    pub fn for_viewer(&self, who: &str, now_secs: u64) -> Vec<IceServer> {
        let mut servers = self.fixed.clone();
        servers.extend(self.turn.as_ref().map(|turn| turn.ice_server(who, now_secs)));
        servers
    }
}

/// What coturn computes from its `static-auth-secret` for `username`.
pub fn password(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length: this never fails.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_base64_hmac_sha1_of_the_username() {
        // `printf %s '1700000000:viewer' | openssl dgst -sha1 -hmac s3cret -binary | base64`
        assert_eq!(password("s3cret", "1700000000:viewer"), "t7JM3pVbl1kvt/39mtI2IDEG/WM=");
    }

    #[test]
    fn a_credential_expires_its_lifetime_after_it_was_issued() {
        let turn = TurnCredentials::new(vec!["turn:t.example:3478".into()], "s3cret".into(), 3600);
        let server = turn.ice_server("abc", 1_700_000_000);
        assert_eq!(server.urls, ["turn:t.example:3478"]);
        assert_eq!(server.username.as_deref(), Some("1700003600:abc"));
        assert_eq!(server.credential, Some(password("s3cret", "1700003600:abc")));
        assert!(!format!("{turn:?}").contains("s3cret"), "the secret stays out of logs");
    }

    #[test]
    fn each_viewer_gets_the_fixed_servers_and_its_own_turn_credentials() {
        let stun = IceServer::open(vec!["stun:s.example:3478".into()]);
        let turn = TurnCredentials::new(vec!["turn:t.example:3478".into()], "s3cret".into(), 60);
        let servers = IceServers::new(vec![stun.clone()], Some(turn));
        let ana = servers.for_viewer("ana", 1_000);
        assert_eq!(ana[0], stun);
        assert_eq!(ana[1].username.as_deref(), Some("1060:ana"));
        assert_eq!(servers.for_viewer("ben", 1_000)[1].username.as_deref(), Some("1060:ben"));
        assert_eq!(
            IceServers::new(vec![stun.clone()], None).for_viewer("ana", 1_000),
            [stun],
            "no secret: no TURN entry"
        );
        assert!(!format!("{servers:?}").contains("s3cret"));
    }
}
