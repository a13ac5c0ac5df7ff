//! Languages of tracks: the tag a source carries (ISO 639-2 as Matroska and
//! MP4 write it, `fre` or `fra`; sometimes already ISO 639-1 or BCP 47) made
//! into a BCP 47 tag for the playlist (`fr`) and a name its speakers read
//! (`Français`). A player shows the name and matches the tag against the
//! browser's preferred languages.

/// A track's language: the BCP 47 tag and the language's own name for itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    pub tag: String,
    pub name: String,
}

/// ISO 639-1, ISO 639-2/T, ISO 639-2/B (where it differs), the autonym.
/// The languages films are most often dubbed or subtitled in; any other
/// well-formed tag passes through under its own code.
const LANGUAGES: &[(&str, &str, &str, &str)] = &[
    ("ar", "ara", "", "العربية"),
    ("bg", "bul", "", "Български"),
    ("bn", "ben", "", "বাংলা"),
    ("ca", "cat", "", "Català"),
    ("cs", "ces", "cze", "Čeština"),
    ("cy", "cym", "wel", "Cymraeg"),
    ("da", "dan", "", "Dansk"),
    ("de", "deu", "ger", "Deutsch"),
    ("el", "ell", "gre", "Ελληνικά"),
    ("en", "eng", "", "English"),
    ("es", "spa", "", "Español"),
    ("et", "est", "", "Eesti"),
    ("eu", "eus", "baq", "Euskara"),
    ("fa", "fas", "per", "فارسی"),
    ("fi", "fin", "", "Suomi"),
    ("fr", "fra", "fre", "Français"),
    ("ga", "gle", "", "Gaeilge"),
    ("gl", "glg", "", "Galego"),
    ("he", "heb", "", "עברית"),
    ("hi", "hin", "", "हिन्दी"),
    ("hr", "hrv", "", "Hrvatski"),
    ("hu", "hun", "", "Magyar"),
    ("id", "ind", "", "Bahasa Indonesia"),
    ("is", "isl", "ice", "Íslenska"),
    ("it", "ita", "", "Italiano"),
    ("ja", "jpn", "", "日本語"),
    ("ko", "kor", "", "한국어"),
    ("lt", "lit", "", "Lietuvių"),
    ("lv", "lav", "", "Latviešu"),
    ("ms", "msa", "may", "Bahasa Melayu"),
    ("nl", "nld", "dut", "Nederlands"),
    ("no", "nor", "", "Norsk"),
    ("nb", "nob", "", "Norsk bokmål"),
    ("nn", "nno", "", "Norsk nynorsk"),
    ("pl", "pol", "", "Polski"),
    ("pt", "por", "", "Português"),
    ("ro", "ron", "rum", "Română"),
    ("ru", "rus", "", "Русский"),
    ("sk", "slk", "slo", "Slovenčina"),
    ("sl", "slv", "", "Slovenščina"),
    ("sr", "srp", "", "Српски"),
    ("sv", "swe", "", "Svenska"),
    ("ta", "tam", "", "தமிழ்"),
    ("te", "tel", "", "తెలుగు"),
    ("th", "tha", "", "ไทย"),
    ("tl", "tgl", "", "Tagalog"),
    ("tr", "tur", "", "Türkçe"),
    ("uk", "ukr", "", "Українська"),
    ("ur", "urd", "", "اردو"),
    ("vi", "vie", "", "Tiếng Việt"),
    ("zh", "zho", "chi", "中文"),
];

/// Region subtags worth naming, for the common split audiences of dubbing.
const REGIONS: &[(&str, &str)] = &[
    ("pt-BR", "Português (Brasil)"),
    ("pt-PT", "Português (Portugal)"),
    ("es-419", "Español (Latinoamérica)"),
    ("es-ES", "Español (España)"),
    ("fr-CA", "Français (Canada)"),
    ("en-US", "English (US)"),
    ("en-GB", "English (UK)"),
    ("zh-Hans", "中文（简体）"),
    ("zh-Hant", "中文（繁體）"),
];

/// Tags that say the language is unknown or that there is none.
const UNKNOWN: &[&str] = &["und", "unk", "mis", "mul", "zxx", "qaa"];

/// The language of a raw tag, or `None` when the tag says nothing (absent,
/// `und`, or not a language tag at all).
pub fn normalize(raw: Option<&str>) -> Option<Language> {
    let raw = raw?.trim();
    if raw.is_empty() || raw.len() > 35 || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let mut parts = raw.split(['-', '_']);
    let primary = parts.next()?.to_ascii_lowercase();
    if UNKNOWN.contains(&primary.as_str()) || !(2..=3).contains(&primary.len()) {
        return None;
    }
    if !primary.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let known =
        LANGUAGES.iter().find(|(one, t, b, _)| primary == *one || primary == *t || (!b.is_empty() && primary == *b));
    let code = known.map_or(primary.clone(), |(one, ..)| (*one).to_owned());
    let subtags: Vec<String> = parts.filter(|p| !p.is_empty()).map(case_subtag).collect();
    let tag = std::iter::once(code).chain(subtags).collect::<Vec<_>>().join("-");
    // What a room accepts as a member's language, or members could not say theirs.
    if !cinemesh_protocol::room::is_language_tag(&tag) {
        return None;
    }
    let name = REGIONS
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(&tag))
        .map(|(_, name)| (*name).to_owned())
        .or_else(|| known.map(|(.., name)| (*name).to_owned()))
        .unwrap_or_else(|| tag.clone());
    Some(Language { tag, name })
}

/// BCP 47's conventional case: regions upper (`BR`), scripts title (`Hans`), the rest lower.
fn case_subtag(subtag: &str) -> String {
    match subtag.len() {
        2 => subtag.to_ascii_uppercase(),
        4 if subtag.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let lower = subtag.to_ascii_lowercase();
            lower[..1].to_ascii_uppercase() + &lower[1..]
        }
        _ => subtag.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_and_name(raw: &str) -> Option<(String, String)> {
        normalize(Some(raw)).map(|l| (l.tag, l.name))
    }

    #[test]
    fn iso_639_2_codes_of_both_kinds_become_bcp_47_with_their_own_name() {
        for raw in ["fre", "fra", "fr", "FRE"] {
            assert_eq!(tag_and_name(raw), Some(("fr".into(), "Français".into())), "{raw}");
        }
        assert_eq!(tag_and_name("ger"), Some(("de".into(), "Deutsch".into())));
        assert_eq!(tag_and_name("eng"), Some(("en".into(), "English".into())));
        assert_eq!(tag_and_name("chi"), Some(("zh".into(), "中文".into())));
    }

    #[test]
    fn regions_and_scripts_are_kept_and_named_where_known() {
        assert_eq!(tag_and_name("pt-br"), Some(("pt-BR".into(), "Português (Brasil)".into())));
        assert_eq!(tag_and_name("por_BR"), Some(("pt-BR".into(), "Português (Brasil)".into())));
        assert_eq!(tag_and_name("zh-hant"), Some(("zh-Hant".into(), "中文（繁體）".into())));
        assert_eq!(tag_and_name("de-AT"), Some(("de-AT".into(), "Deutsch".into())));
    }

    #[test]
    fn unknown_codes_pass_through_and_tags_that_say_nothing_are_none() {
        assert_eq!(tag_and_name("kat"), Some(("kat".into(), "kat".into())));
        for raw in ["und", "", "  ", "zxx", "x", "english language", "toolongcode", "e\u{7}n", "12", "en-abcdefghij"] {
            assert_eq!(normalize(Some(raw)), None, "{raw:?}");
        }
        assert_eq!(normalize(None), None);
    }
}
