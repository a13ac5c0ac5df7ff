//! Room passwords are kept as Argon2id hashes (OWASP's minimum: 19 MiB, two
//! passes), so a leaked database does not give them away cheaply. Hashing and
//! checking cost tens of milliseconds by design: callers run them on the
//! blocking pool (`hash`, `check`), never on a room's task or the runtime.
//!
//! Rooms created before Argon2 keep their salted HMAC-SHA256 until they end.
//! A stored value that cannot be read fails closed: nobody gets in with a
//! password (resume tokens still work).

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
/// Prefix of a stored Argon2id hash: `argon2id:m=..,t=..,p=..:{salt hex}:{hash hex}`.
const ARGON2_PREFIX: &str = "argon2id:";

#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    Argon2id {
        memory_kib: u32,
        passes: u32,
        lanes: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// From rooms created before Argon2: HMAC-SHA256 keyed by the salt.
    LegacyHmac {
        salt: Vec<u8>,
        digest: Vec<u8>,
    },
    /// A stored value that could not be read: matches nothing.
    Unreadable,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes a new password. Slow by design: see `hash`.
    pub fn new(password: &str) -> Self {
        let salt = cinemesh_common::id::random_bytes(SALT_BYTES);
        match argon2(MEMORY_KIB, PASSES, LANES, password, &salt) {
            Some(hash) => Self::Argon2id { memory_kib: MEMORY_KIB, passes: PASSES, lanes: LANES, salt, hash },
            None => Self::Unreadable,
        }
    }

    /// What the `rooms` table keeps: (`password_salt`, `password_digest`).
    pub fn to_stored(&self) -> (Option<String>, String) {
        match self {
            Self::Argon2id { memory_kib, passes, lanes, salt, hash } => (
                None,
                format!(
                    "{ARGON2_PREFIX}m={memory_kib},t={passes},p={lanes}:{}:{}",
                    hex::encode(salt),
                    hex::encode(hash)
                ),
            ),
            Self::LegacyHmac { salt, digest } => (Some(hex::encode(salt)), hex::encode(digest)),
            Self::Unreadable => (None, "unreadable".to_owned()),
        }
    }

    /// From `to_stored`'s parts; anything unreadable fails closed.
    pub fn from_stored(salt: Option<&str>, digest: &str) -> Self {
        let parsed = match digest.strip_prefix(ARGON2_PREFIX) {
            Some(argon) => parse_argon2(argon),
            None => salt.and_then(|salt| {
                Some(Self::LegacyHmac { salt: hex::decode(salt).ok()?, digest: hex::decode(digest).ok()? })
            }),
        };
        parsed.unwrap_or(Self::Unreadable)
    }

    /// Whether `password` is this one, in constant time. Slow: see `check`.
    pub fn matches(&self, password: &str) -> bool {
        match self {
            Self::Argon2id { memory_kib, passes, lanes, salt, hash } => {
                argon2(*memory_kib, *passes, *lanes, password, salt)
                    .is_some_and(|candidate| constant_eq(&candidate, hash))
            }
            Self::LegacyHmac { salt, digest } => {
                let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(salt) else { return false };
                mac.update(password.as_bytes());
                mac.verify_slice(digest).is_ok()
            }
            Self::Unreadable => false,
        }
    }
}

/// Argon2 runs at once, whatever the number of requests: each takes 19 MiB
/// and a core for tens of milliseconds, so the rest queue here.
fn argon2_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get() * 2)))
}

/// Hashes a new password on the blocking pool.
pub async fn hash(password: String) -> PasswordHash {
    let Ok(_slot) = argon2_slots().acquire().await else { return PasswordHash::Unreadable };
    tokio::task::spawn_blocking(move || PasswordHash::new(&password)).await.unwrap_or(PasswordHash::Unreadable)
}

/// Checks a password on the blocking pool.
pub async fn check(expected: std::sync::Arc<PasswordHash>, password: String) -> bool {
    let Ok(_slot) = argon2_slots().acquire().await else { return false };
    tokio::task::spawn_blocking(move || expected.matches(&password)).await.unwrap_or(false)
}

fn argon2(memory_kib: u32, passes: u32, lanes: u32, password: &str, salt: &[u8]) -> Option<Vec<u8>> {
    if !within_bounds(memory_kib, passes, lanes) {
        return None;
    }
    let params = Params::new(memory_kib, passes, lanes, Some(HASH_BYTES)).ok()?;
    let mut out = vec![0u8; HASH_BYTES];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

/// Bounds on stored parameters, so a tampered row cannot make a check take minutes.
fn within_bounds(memory_kib: u32, passes: u32, lanes: u32) -> bool {
    memory_kib <= 256 * 1024 && passes <= 10 && (1..=8).contains(&lanes)
}

fn parse_argon2(stored: &str) -> Option<PasswordHash> {
    let mut parts = stored.split(':');
    let (Some(params), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let mut values = params.split(',').map(|kv| kv.split_once('='));
    let (Some(Some(("m", m))), Some(Some(("t", t))), Some(Some(("p", p))), None) =
        (values.next(), values.next(), values.next(), values.next())
    else {
        return None;
    };
    let (salt, hash) = (hex::decode(salt).ok()?, hex::decode(hash).ok()?);
    if salt.len() < 8 || hash.len() != HASH_BYTES {
        return None;
    }
    let (memory_kib, passes, lanes) = (m.parse().ok()?, t.parse().ok()?, p.parse().ok()?);
    within_bounds(memory_kib, passes, lanes).then_some(PasswordHash::Argon2id { memory_kib, passes, lanes, salt, hash })
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_password_matches_and_salts_differ() {
        let hash = PasswordHash::new("popcorn");
        assert!(matches!(hash, PasswordHash::Argon2id { .. }));
        assert!(hash.matches("popcorn"));
        assert!(!hash.matches("Popcorn"));
        assert!(!hash.matches(""));
        assert_ne!(PasswordHash::new("popcorn"), hash, "salted");
        assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
        let (salt, digest) = hash.to_stored();
        assert_eq!(salt, None);
        assert!(digest.starts_with("argon2id:m=19456,t=2,p=1:"), "{digest}");
        let restored = PasswordHash::from_stored(None, &digest);
        assert!(restored.matches("popcorn") && !restored.matches("pop"));
    }

    #[test]
    fn rooms_from_before_argon2_keep_their_hmac_password() {
        let salt = b"0123456789abcdef0123456789";
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(salt).unwrap();
        mac.update(b"popcorn");
        let digest = hex::encode(mac.finalize().into_bytes());
        let legacy = PasswordHash::from_stored(Some(&hex::encode(salt)), &digest);
        assert!(legacy.matches("popcorn") && !legacy.matches("pop"));
    }

    #[test]
    fn a_stored_password_that_cannot_be_read_lets_nobody_in() {
        let (_, good) = PasswordHash::new("x").to_stored();
        let cases = [
            (Some("zz"), "00".to_owned()),
            (None, "00ff".to_owned()),
            (None, "argon2id:m=19456,t=2:00:00".to_owned()),
            (None, good.replace("m=19456", "m=999999999")),
            (None, good.replace("p=1", "p=x")),
            (None, "unreadable".to_owned()),
        ];
        for (salt, digest) in cases {
            let hash = PasswordHash::from_stored(salt, &digest);
            assert_eq!(hash, PasswordHash::Unreadable, "{digest}");
            assert!(!hash.matches("") && !hash.matches("x"));
        }
        let huge = PasswordHash::from_stored(None, &good.replace("m=19456", "m=999999"));
        assert!(!huge.matches("x"), "parameters past the bounds are never run");
    }
}
