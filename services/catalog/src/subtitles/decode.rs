//! A subtitle file's bytes as text. Files made today are UTF-8 (with or
//! without a byte order mark) or UTF-16 with one; older ones are in the
//! legacy code page of their language, which the file itself does not name.
//! So a file that is not UTF-8 is read in the one its language used on
//! Windows (Latin-1's superset windows-1252 for French, windows-1251 for
//! Russian, Shift_JIS for Japanese...), unless the uploader names another.

use encoding_rs::{Encoding, UTF_8};

use super::SubtitleError;

/// The legacy encoding of subtitle files in a language, by primary subtag.
fn legacy_for(language: Option<&str>) -> &'static Encoding {
    let tag = language.unwrap_or_default().to_ascii_lowercase();
    let primary = tag.split('-').next().unwrap_or_default();
    match primary {
        "ru" | "uk" | "bg" | "sr" | "mk" | "be" => encoding_rs::WINDOWS_1251,
        "pl" | "cs" | "sk" | "hu" | "ro" | "hr" | "sl" | "bs" | "sq" => encoding_rs::WINDOWS_1250,
        "el" => encoding_rs::WINDOWS_1253,
        "tr" | "az" => encoding_rs::WINDOWS_1254,
        "he" | "yi" => encoding_rs::WINDOWS_1255,
        "ar" | "fa" | "ur" => encoding_rs::WINDOWS_1256,
        "lt" | "lv" | "et" => encoding_rs::WINDOWS_1257,
        "vi" => encoding_rs::WINDOWS_1258,
        "th" => encoding_rs::WINDOWS_874,
        "ja" => encoding_rs::SHIFT_JIS,
        "ko" => encoding_rs::EUC_KR,
        "zh" if tag.contains("hant") || tag.ends_with("-tw") || tag.ends_with("-hk") => encoding_rs::BIG5,
        "zh" => encoding_rs::GB18030,
        _ => encoding_rs::WINDOWS_1252,
    }
}

/// The text, and the name of the encoding it was read in.
pub fn decode(
    bytes: &[u8],
    language: Option<&str>,
    named: Option<&str>,
) -> Result<(String, &'static str), SubtitleError> {
    let named = match named.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Some(
            Encoding::for_label(name.as_bytes())
                .ok_or_else(|| SubtitleError::UnknownEncoding(name.chars().take(40).collect()))?,
        ),
        None => None,
    };
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let text = decode_with(encoding, &bytes[bom..])?;
        return Ok((text, encoding.name()));
    }
    if let Some(at) = bytes.iter().position(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) {
        return Err(SubtitleError::NotText(at));
    }
    let encoding = match named {
        Some(encoding) => encoding,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => legacy_for(language),
    };
    Ok((decode_with(encoding, bytes)?, encoding.name()))
}

fn decode_with(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, SubtitleError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or(SubtitleError::Undecodable(encoding.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_read_as_it_is_and_a_bom_says_what_it_is() {
        assert_eq!(decode("Bonjour à tous".as_bytes(), Some("fr"), None).unwrap(), ("Bonjour à tous".into(), "UTF-8"));
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("Hé".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16, None, None).unwrap(), ("Hé".into(), "UTF-16LE"));
    }

    #[test]
    fn legacy_files_are_read_in_their_languages_code_page_or_the_one_named() {
        let latin1 = b"Caf\xe9 cr\xe8me";
        assert_eq!(decode(latin1, Some("fr"), None).unwrap(), ("Café crème".into(), "windows-1252"));
        let cyrillic = b"\xcf\xf0\xe8\xe2\xe5\xf2";
        assert_eq!(decode(cyrillic, Some("ru"), None).unwrap().0, "Привет");
        assert_eq!(decode(cyrillic, Some("fr"), Some("windows-1251")).unwrap().0, "Привет", "a named encoding wins");
        assert_eq!(decode(latin1, None, Some("klingon")).unwrap_err().code(), "unknown_encoding");
        assert_eq!(decode(b"\x82\xa0\xff", Some("ja"), None).unwrap_err().code(), "subtitle_encoding");
    }

    #[test]
    fn control_bytes_mean_binary() {
        assert_eq!(decode(b"text\0more", None, None).unwrap_err(), SubtitleError::NotText(4));
        assert!(decode(b"tab\tand\r\nnewline", None, None).is_ok());
    }
}
