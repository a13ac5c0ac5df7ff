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

/// The longest movie id.
pub const MAX_MOVIE_ID_LEN: usize = 64;

/// Whether `id` is a movie id: lowercase letters, digits, `_` and `-`, 1 to
/// `MAX_MOVIE_ID_LEN` characters, starting with a letter or digit. Generated
/// ids are narrower; the wider rule accepts ids from elsewhere.
pub fn is_movie_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.len() <= MAX_MOVIE_ID_LEN
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
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

    #[test]
    fn movie_ids_are_lowercase_letters_digits_and_dashes() {
        for good in ["m1", "demo", "a_b-c", &"x".repeat(MAX_MOVIE_ID_LEN)] {
            assert!(is_movie_id(good), "{good:?}");
        }
        for bad in ["", "-x", "_x", "A1", "a b", "../x", &"x".repeat(MAX_MOVIE_ID_LEN + 1), "é"] {
            assert!(!is_movie_id(bad), "{bad:?}");
        }
    }
}
