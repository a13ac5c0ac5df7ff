//! HMAC-SHA256 signatures under the one secret every instance shares, for
//! the short capabilities the server hands out (swarm tokens, presence
//! passes). Each kind signs under its own purpose label, so a signature made
//! for one can never pass as another.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of generated secrets, bytes.
const SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct Signer {
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<secret>)")
    }
}

impl Signer {
    /// `secret` as configured; empty means a random secret for this process
    /// (fine for one instance, wrong for several: configure one there).
    pub fn new(secret: &str) -> Self {
        let secret: Vec<u8> =
            if secret.is_empty() { crate::id::random_bytes(SECRET_BYTES) } else { secret.as_bytes().to_vec() };
        Self { secret: secret.into() }
    }

    fn mac(&self, purpose: &str, fields: &[&str]) -> Hmac<Sha256> {
        // Keys of any length are accepted by HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        for field in fields {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") sign differently.
            mac.update(b"|");
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// The signature of `fields` for `purpose`, hex.
    pub fn sign(&self, purpose: &str, fields: &[&str]) -> String {
        hex::encode(self.mac(purpose, fields).finalize().into_bytes())
    }

    /// Whether `signature` (hex) signs `fields` for `purpose`; constant time.
    pub fn verify(&self, purpose: &str, fields: &[&str], signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else { return false };
        self.mac(purpose, fields).verify_slice(&signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_purpose_fields_and_secret() {
        let signer = Signer::new("secret");
        let signature = signer.sign("a", &["x", "y"]);
        assert!(signer.verify("a", &["x", "y"], &signature));
        assert!(!signer.verify("b", &["x", "y"], &signature));
        assert!(!signer.verify("a", &["xy"], &signature));
        assert!(!signer.verify("a", &["x", "y"], "zz"));
        assert!(!Signer::new("other").verify("a", &["x", "y"], &signature));
        assert_eq!(format!("{signer:?}"), "Signer(<secret>)");
    }

    #[test]
    fn empty_secret_means_a_random_one() {
        let (a, b) = (Signer::new(""), Signer::new(""));
        assert!(!b.verify("p", &[], &a.sign("p", &[])));
    }
}
