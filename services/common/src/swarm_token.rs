//! Swarm tokens: the catalog hands one out with a movie's playback details,
//! and the tracker admits a peer to that movie's swarms only with it. Signed
//! with HMAC-SHA256 under a secret every instance shares, scoped to one movie,
//! and expiring, so tracker capacity is spent only on people who are watching.
//!
//! Format: `{movie}.{expires_unix_secs}.{hex mac}`; movie ids contain no dots.

use crate::signer::Signer;

/// How long a token admits its holder, seconds (a long movie plus pauses).
pub const TOKEN_LIFETIME_SECS: u64 = 6 * 3600;
/// Signs swarm tokens and nothing else.
const PURPOSE: &str = "cinemesh-swarm-v1";

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
#[derive(Clone, Debug)]
pub struct SwarmTokens {
    signer: Signer,
}

impl SwarmTokens {
    pub fn new(signer: Signer) -> Self {
        Self { signer }
    }

    pub fn issue(&self, movie: &str, now_unix_secs: u64) -> (String, u64) {
        let expires = now_unix_secs + TOKEN_LIFETIME_SECS;
        let signature = self.signer.sign(PURPOSE, &[movie, &expires.to_string()]);
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
        if !self.signer.verify(PURPOSE, &[token_movie, &expires.to_string()], signature) {
            return Err(TokenError::Invalid);
        }
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
        let tokens = SwarmTokens::new(Signer::new("secret"));
        let (token, expires) = tokens.issue("movie1", 1000);
        assert_eq!(expires, 1000 + TOKEN_LIFETIME_SECS);
        assert_eq!(tokens.verify(&token, "movie1", 1001), Ok(()));
        assert_eq!(tokens.verify(&token, "movie2", 1001), Err(TokenError::WrongMovie));
        assert_eq!(tokens.verify(&token, "movie1", expires), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let tokens = SwarmTokens::new(Signer::new("secret"));
        let (token, _) = tokens.issue("movie1", 1000);
        let later = token.replacen(&(1000 + TOKEN_LIFETIME_SECS).to_string(), "99999999999", 1);
        assert_eq!(tokens.verify(&later, "movie1", 1001), Err(TokenError::Invalid));
        assert_eq!(SwarmTokens::new(Signer::new("other")).verify(&token, "movie1", 1001), Err(TokenError::Invalid));
        for junk in ["", "a.b", "movie1.1.zz", "movie1.x.00", "a.b.c.d"] {
            assert_eq!(tokens.verify(junk, "movie1", 1001), Err(TokenError::Invalid), "{junk}");
        }
    }
}
