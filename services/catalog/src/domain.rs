//! Catalog input, parsed at the edge: once a value has one of these types, the
//! code inside trusts it.

use std::fmt;

/// Length of generated movie ids (about 59 bits of randomness).
pub const MOVIE_ID_LEN: usize = 12;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
pub const MAX_QUERY_CHARS: usize = 200;
pub const DEFAULT_PER_PAGE: i64 = 24;
pub const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    pub code: &'static str,
    pub message: String,
}

impl InvalidInput {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> InvalidInput {
    InvalidInput::new(code, message)
}

/// An integer as JSON Schema counts them: `2177` or `2177.0`. The API's
/// documents say "integer", and a client whose JSON writes whole numbers with a
/// decimal point must not be refused for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonInteger(pub i64);

impl<'de> serde::Deserialize<'de> for JsonInteger {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(d)?;
        if let Some(whole) = number.as_i64() {
            return Ok(Self(whole));
        }
        match number.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(Self(f as i64)),
            _ => Err(serde::de::Error::custom(format!("expected an integer, found {number}"))),
        }
    }
}

/// A movie id: lowercase letters, digits and `_`/`-`, 1..=64 characters.
/// Generated ids are 12 characters; the wider rule accepts ids from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MovieId(String);

impl MovieId {
    pub fn generate() -> Self {
        Self(cinemesh_common::id::random_id(MOVIE_ID_LEN))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if cinemesh_common::id::is_movie_id(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid("invalid_movie_id", format!("{raw:?} is not a movie id")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MovieId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A title: trimmed, 1..=200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("invalid_title", "the title is empty"));
        }
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(invalid("invalid_title", format!("the title is longer than {MAX_TITLE_CHARS} characters")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("invalid_title", "the title contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: trimmed, at most 4000 characters; newlines and tabs allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                "invalid_description",
                format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(invalid("invalid_description", "the description contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A release year between the first films and the near future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year(i64);

impl Year {
    pub fn parse(raw: i64) -> Result<Self, InvalidInput> {
        if (1878..=2200).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(invalid("invalid_year", format!("{raw} is not a plausible release year")))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// What a catalog listing asks for: an optional search text and a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Lower-cased search text, `None` for "everything".
    pub text: Option<String>,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

impl ListQuery {
    pub fn parse(q: Option<&str>, page: Option<i64>, per_page: Option<i64>) -> Result<Self, InvalidInput> {
        let text = q.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = text
            && t.chars().count() > MAX_QUERY_CHARS
        {
            return Err(invalid(
                "invalid_query",
                format!("the search text is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        let page = page.unwrap_or(1);
        if !(1..=1_000_000).contains(&page) {
            return Err(invalid("invalid_page", "page starts at 1"));
        }
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(invalid("invalid_per_page", format!("per_page is between 1 and {MAX_PER_PAGE}")));
        }
        Ok(Self { text: text.map(str::to_lowercase), page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// The SQL LIKE pattern for the search text, with `%`, `_` and `\` escaped
    /// so they match themselves.
    pub fn like_pattern(&self) -> Option<String> {
        self.text.as_ref().map(|t| {
            let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_movie_ids_parse() {
        let id = MovieId::generate();
        assert_eq!(MovieId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn movie_ids_with_path_characters_are_refused() {
        for raw in ["", "../x", "a/b", "A", "a b", "a%2e", &"a".repeat(65)] {
            assert_eq!(MovieId::parse(raw).map_err(|e| e.code), Err("invalid_movie_id"), "{raw}");
        }
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Big Buck Bunny ").map(|t| t.0), Ok("Big Buck Bunny".to_owned()));
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(Title::parse("a\u{7}b").is_err());
    }

    #[test]
    fn descriptions_allow_newlines_but_not_other_controls() {
        assert!(Description::parse("line one\nline two").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Description::parse(&"x".repeat(4001)).is_err());
    }

    #[test]
    fn years_must_be_plausible() {
        assert!(Year::parse(1999).is_ok());
        assert!(Year::parse(12).is_err());
    }

    #[test]
    fn list_query_defaults_and_bounds() {
        let q = ListQuery::parse(None, None, None).unwrap();
        assert_eq!((q.page, q.per_page, q.offset()), (1, DEFAULT_PER_PAGE, 0));
        assert_eq!(ListQuery::parse(None, Some(0), None).map_err(|e| e.code), Err("invalid_page"));
        assert_eq!(ListQuery::parse(None, None, Some(101)).map_err(|e| e.code), Err("invalid_per_page"));
        assert_eq!(ListQuery::parse(Some(&"q".repeat(201)), None, None).map_err(|e| e.code), Err("invalid_query"));
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        let q = ListQuery::parse(Some(" 100%_Real\\ "), None, None).unwrap();
        assert_eq!(q.like_pattern().as_deref(), Some("%100\\%\\_real\\\\%"));
    }

    #[test]
    fn json_integers_may_carry_a_zero_fraction() {
        let parse = |text: &str| serde_json::from_str::<JsonInteger>(text).map(|n| n.0).ok();
        assert_eq!(parse("2177"), Some(2177));
        assert_eq!(parse("2177.0"), Some(2177));
        assert_eq!(parse("-3"), Some(-3));
        assert_eq!(parse("2177.5"), None);
        assert_eq!(parse("1e300"), None);
        assert_eq!(parse("\"12\""), None);
    }
}
