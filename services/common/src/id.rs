//! Random, URL-safe identifiers.

/// Lowercase letters and digits without the look-alikes 0/o and 1/l/i, so an id
/// read aloud or copied by hand survives.
const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A random id of `len` characters from a 31-symbol alphabet (about 4.95 bits
/// each). The first character is always a letter so ids never parse as numbers.
pub fn random_id(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS random source is unavailable only on broken systems; fall back to
        // time-seeded mixing rather than refusing to work.
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i * 7) % 120)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
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
