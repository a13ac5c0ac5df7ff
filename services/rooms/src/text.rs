//! What people type that others see: display names and chat. Text that
//! looks like something else is the attack here: a name with a right-to-left
//! override, an invisible character, or Cyrillic and Greek letters passing
//! as another member's name. Names are normalized (NFKC), refuse control,
//! invisible and bidirectional-control characters, and are compared by their
//! confusable skeleton (Unicode TR39), so "Ana" and "Αna" (a Greek alpha)
//! are the same name. Chat keeps what was typed (NFC) but refuses controls
//! and bidirectional overrides and drops invisible characters.

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use crate::Refusal;

/// Embeddings, overrides and isolates: they reorder what follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show nothing, or change nothing a reader can see.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{206A}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Joiners and variation selectors: needed inside emoji and some scripts,
/// meaningless in a name.
fn is_joiner_or_selector(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}')
}

/// A display name, normalized; refused with `invalid_name` when it hides or
/// reorders anything.
pub fn clean_name(raw: &str) -> Result<String, Refusal> {
    let normalized: String = raw.nfkc().filter(|c| !is_joiner_or_selector(*c)).collect();
    if normalized.chars().any(|c| c.is_control()) {
        return Err(Refusal::new("invalid_name", "a name cannot contain control characters"));
    }
    if normalized.chars().any(|c| is_bidi_control(c) || is_invisible(c)) {
        return Err(Refusal::new("invalid_name", "a name cannot contain invisible or direction-changing characters"));
    }
    Ok(normalized.trim().to_owned())
}

/// What two names that look alike have in common: no two members (or lobby
/// users) may share one.
pub fn name_key(name: &str) -> String {
    // Before lowercasing, so that a capital I still passes for an l; after,
    // so that lowercase look-alikes fold too.
    let folded = skeleton(name).collect::<String>().to_lowercase();
    skeleton(&folded).collect()
}

/// A chat message as posted: NFC, invisible characters dropped; refused with
/// `invalid_chat` when it has control characters (but line breaks) or
/// direction overrides.
pub fn clean_chat(raw: &str) -> Result<String, Refusal> {
    let text: String = raw.nfc().filter(|c| !is_invisible(*c)).collect();
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Refusal::new("invalid_chat", "a message cannot contain control characters"));
    }
    if text.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err(Refusal::new("invalid_chat", "a message cannot contain direction overrides"));
    }
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_hide_nothing() {
        assert_eq!(clean_name(" Ａｎａ ").unwrap(), "Ana", "full-width letters fold");
        assert_eq!(clean_name("Ana\u{FE0F}").unwrap(), "Ana");
        for hidden in ["An\u{202E}a", "A\u{200B}na", "Ana\u{2066}", "An\u{0007}a", "\u{E0041}Ana", "A\u{00AD}na"] {
            assert_eq!(clean_name(hidden).unwrap_err().code, "invalid_name", "{hidden:?}");
        }
        assert_eq!(clean_name("Zoë 🍿").unwrap(), "Zoë 🍿");
    }

    #[test]
    fn look_alike_names_share_a_key() {
        assert_eq!(name_key("Ana"), name_key("ana"));
        assert_eq!(name_key("Ana"), name_key("\u{0391}na"), "Greek capital alpha");
        assert_eq!(name_key("paypal"), name_key("\u{0440}aypal"), "Cyrillic er");
        assert_eq!(name_key("Il"), name_key("ll"), "a capital I passes for an l");
        assert_ne!(name_key("Ana"), name_key("Ben"));
    }

    #[test]
    fn chat_keeps_what_was_typed_but_no_controls_or_overrides() {
        assert_eq!(clean_chat("ｈｉ there\nsecond line").unwrap(), "ｈｉ there\nsecond line");
        assert_eq!(clean_chat("hi\u{200B}\u{FEFF}!").unwrap(), "hi!");
        assert_eq!(
            clean_chat("\u{0645}\u{200F}\u{0645}").unwrap(),
            "\u{0645}\u{200F}\u{0645}",
            "marks stay in RTL text"
        );
        assert_eq!(clean_chat("gnp.\u{202E}exe").unwrap_err().code, "invalid_chat");
        assert_eq!(clean_chat("beep\u{0007}").unwrap_err().code, "invalid_chat");
    }
}
