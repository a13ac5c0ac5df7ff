//! Random, URL-safe identifiers.

/// Lowercase letters and digits without the look-alikes 0/o and 1/l/i, so an id
/// read aloud or copied by hand survives.
const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// `len` bytes from the operating system's random source. Ids, tokens and
/// secrets are capabilities: a guessable one is worse than no server, so a
/// process whose random source fails stops rather than carry on with a weak one.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!(error = %e, "the operating system's random source failed; stopping");
        eprintln!("cinemesh: the operating system's random source failed ({e}); stopping");
        std::process::abort();
    }
    bytes
}

/// A random id of `len` characters from a 31-symbol alphabet (about 4.95 bits
/// each). The first character is always a letter so ids never parse as numbers.
pub fn random_id(len: usize) -> String {
    let bytes = random_bytes(len);
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let symbols = if i == 0 { 23 } else { 31 };
            ALPHABET[(*b as usize) % symbols] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_the_length_and_alphabet_asked_for() {
        let id = random_id(12);
        assert_eq!(id.len(), 12);
        assert!(id.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
        assert!(id.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(12), random_id(12));
    }
}
