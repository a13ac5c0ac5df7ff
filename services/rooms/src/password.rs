//! Room passwords are kept as a salted HMAC-SHA256 and compared in constant
//! time; the password itself is never stored or logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct PasswordHash {
    salt: Vec<u8>,
    digest: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    pub fn new(password: &str) -> Self {
        let salt = cinemesh_common::id::random_id(22).into_bytes();
        let digest = mac(&salt, password).finalize().into_bytes().to_vec();
        Self { salt, digest }
    }

    /// Salt and digest, hex, for storage.
    pub fn to_hex(&self) -> (String, String) {
        (hex::encode(&self.salt), hex::encode(&self.digest))
    }

    /// From `to_hex`'s parts; `None` when they are not hex.
    pub fn from_hex(salt: &str, digest: &str) -> Option<Self> {
        Some(Self { salt: hex::decode(salt).ok()?, digest: hex::decode(digest).ok()? })
    }

    pub fn matches(&self, password: &str) -> bool {
        mac(&self.salt, password).verify_slice(&self.digest).is_ok()
    }
}

fn mac(salt: &[u8], password: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(salt).unwrap_or_else(|_| unreachable!());
    mac.update(password.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_password_matches_and_salts_differ() {
        let hash = PasswordHash::new("popcorn");
        assert!(hash.matches("popcorn"));
        assert!(!hash.matches("Popcorn"));
        assert!(!hash.matches(""));
        assert_ne!(PasswordHash::new("popcorn").digest, hash.digest);
        assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
        let (salt, digest) = hash.to_hex();
        let restored = PasswordHash::from_hex(&salt, &digest).unwrap();
        assert!(restored.matches("popcorn") && !restored.matches("pop"));
        assert!(PasswordHash::from_hex("zz", &digest).is_none());
    }
}
