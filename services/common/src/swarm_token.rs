//! Swarm tokens: the catalog hands one out with a movie's playback details,
//! and the tracker admits a peer to that movie's swarms only with it. Signed
//! with HMAC-SHA256 under a secret every instance shares, scoped to one movie,
//! and expiring, so tracker capacity is spent only on people who are watching.
//!
//! Format: `{movie}.{expires_unix_secs}.{hex mac}`; movie ids contain no dots.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a token admits its holder, seconds (a long movie plus pauses).
pub const TOKEN_LIFETIME_SECS: u64 = 6 * 3600;
/// Length of generated secrets, bytes.
const SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token we issued (malformed, or a bad signature).
    Invalid,
    Expired,
    /// Issued for another movie.
    WrongMovie,
}

impl TokenError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid_token",
            Self::Expired => "token_expired",
            Self::WrongMovie => "token_scope",
        }
    }
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub struct SwarmTokens {
    secret: Vec<u8>,
}

impl std::fmt::Debug for SwarmTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwarmTokens(<secret>)")
    }
}

impl SwarmTokens {
    /// `secret` as configured; empty means a random secret for this process
    /// (fine for one instance, wrong for several: configure one there).
    pub fn new(secret: &str) -> Self {
        if secret.is_empty() {
            let mut bytes = vec![0u8; SECRET_BYTES];
            if getrandom::fill(&mut bytes).is_err() {
                bytes = crate::id::random_id(SECRET_BYTES * 2).into_bytes();
            }
            Self { secret: bytes }
        } else {
            Self { secret: secret.as_bytes().to_vec() }
        }
    }

    fn mac(&self, movie: &str, expires: u64) -> Hmac<Sha256> {
        // Keys of any length are accepted by HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(b"cinemesh-swarm-v1|");
        mac.update(movie.as_bytes());
        mac.update(b"|");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    pub fn issue(&self, movie: &str, now_unix_secs: u64) -> (String, u64) {
        let expires = now_unix_secs + TOKEN_LIFETIME_SECS;
        let signature = hex::encode(self.mac(movie, expires).finalize().into_bytes());
        (format!("{movie}.{expires}.{signature}"), expires)
    }

    /// Checks that `token` admits its holder to `movie` at `now_unix_secs`.
    pub fn verify(&self, token: &str, movie: &str, now_unix_secs: u64) -> Result<(), TokenError> {
        let mut parts = token.split('.');
        let (Some(token_movie), Some(expires), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let expires: u64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| TokenError::Invalid)?;
        // Constant-time comparison of the signature.
        self.mac(token_movie, expires).verify_slice(&signature).map_err(|_| TokenError::Invalid)?;
        if token_movie != movie {
            return Err(TokenError::WrongMovie);
        }
        if now_unix_secs >= expires {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

pub fn now_unix_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_for_their_movie_until_they_expire() {
        let tokens = SwarmTokens::new("secret");
        let (token, expires) = tokens.issue("movie1", 1000);
        assert_eq!(expires, 1000 + TOKEN_LIFETIME_SECS);
        assert_eq!(tokens.verify(&token, "movie1", 1001), Ok(()));
        assert_eq!(tokens.verify(&token, "movie2", 1001), Err(TokenError::WrongMovie));
        assert_eq!(tokens.verify(&token, "movie1", expires), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let tokens = SwarmTokens::new("secret");
        let (token, _) = tokens.issue("movie1", 1000);
        let later = token.replacen(&(1000 + TOKEN_LIFETIME_SECS).to_string(), "99999999999", 1);
        assert_eq!(tokens.verify(&later, "movie1", 1001), Err(TokenError::Invalid));
        assert_eq!(SwarmTokens::new("other").verify(&token, "movie1", 1001), Err(TokenError::Invalid));
        for junk in ["", "a.b", "movie1.1.zz", "movie1.x.00", "a.b.c.d"] {
            assert_eq!(tokens.verify(junk, "movie1", 1001), Err(TokenError::Invalid), "{junk}");
        }
    }

    #[test]
    fn empty_secret_means_a_random_one() {
        let (a, b) = (SwarmTokens::new(""), SwarmTokens::new(""));
        let (token, _) = a.issue("m", 0);
        assert_eq!(a.verify(&token, "m", 1), Ok(()));
        assert_eq!(b.verify(&token, "m", 1), Err(TokenError::Invalid));
    }
}
