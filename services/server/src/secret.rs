//! A configuration value that must not be shown: tokens, secrets, and URLs
//! that may carry a password. Its `Debug` never prints it, so a `{:?}` of the
//! configuration in a log line or a panic leaks nothing; `cinemesh config`
//! prints it through `redacted`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the code that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// For printing: `<set>` (or empty), and for a URL its password replaced.
    pub fn redacted(&self) -> Secret {
        if self.0.is_empty() {
            return Secret::default();
        }
        match self.0.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
                let authority = match authority.rsplit_once('@') {
                    Some((user_info, host)) => {
                        let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
                        let masked = if user_info.contains(':') { format!("{user}:<hidden>") } else { user.to_owned() };
                        format!("{masked}@{host}")
                    }
                    None => authority.to_owned(),
                };
                let path = path.map(|p| format!("/{}", p.split('?').next().unwrap_or_default())).unwrap_or_default();
                Secret(format!("{scheme}://{authority}{path}"))
            }
            None => Secret("<set>".into()),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(empty)" } else { "Secret(<hidden>)" })
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl AsRef<std::ffi::OsStr> for Secret {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_ref()
    }
}

impl PartialEq<&str> for Secret {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_and_urls_keep_only_their_shape() {
        let token = Secret::from("hunter2");
        assert_eq!(format!("{token:?}"), "Secret(<hidden>)");
        assert_eq!(token.redacted().expose(), "<set>");
        assert_eq!(Secret::default().redacted().expose(), "");
        let url = Secret::from("postgres://cinemesh:pa:ss@db:5432/cinemesh?password=x");
        assert_eq!(url.redacted().expose(), "postgres://cinemesh:<hidden>@db:5432/cinemesh");
        assert_eq!(Secret::from("redis://redis:6379").redacted().expose(), "redis://redis:6379");
        assert_eq!(Secret::from("redis://:pw@redis:6379/0").redacted().expose(), "redis://:<hidden>@redis:6379/0");
    }
}
