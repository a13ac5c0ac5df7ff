//! Run ids and host names, and the namespace and link names made from them.
//!
//! Every name the lab creates starts with `nl` and the run id (four lowercase hex digits), so a
//! lab's leftovers can be found by name alone: namespaces `nl3f2a-server`, `nl3f2a-home1`,
//! `nl3f2a-home1-c1`, links `nl3f2a-h1-wan`, `nl3f2a-h1c1`. Link names stay within the kernel's
//! 15 characters for up to 99 homes of 9 clients.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Prefix of every namespace and link of every lab.
pub const PREFIX: &str = "nl";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("run id {0:?} is not four lowercase hex digits (e.g. 3f2a)")]
    RunId(String),
    #[error("host {0:?} is not one of core, server, homeN or homeN-cK (e.g. home2-c1)")]
    Host(String),
}

/// The id of one lab: four lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId([u8; 4]);

impl RunId {
    /// A fresh random id.
    pub fn random() -> Self {
        let n = getrandom::u32().unwrap_or_else(|_| std::process::id());
        let hex = format!("{:04x}", n & 0xffff);
        let mut id = [0u8; 4];
        id.copy_from_slice(hex.as_bytes());
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("0000")
    }

    /// `nl3f2a-`: what every namespace and link of this run starts with.
    pub fn prefix(&self) -> String {
        format!("{PREFIX}{}-", self.as_str())
    }

    /// The namespace of `host` in this run.
    pub fn netns(&self, host: HostName) -> String {
        format!("{}{host}", self.prefix())
    }
}

impl FromStr for RunId {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
            return Err(NameError::RunId(s.to_string()));
        }
        let mut id = [0u8; 4];
        id.copy_from_slice(bytes);
        Ok(Self(id))
    }
}

impl TryFrom<String> for RunId {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.as_str().to_string()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host of the lab as users name it: `core`, `server`, `home3` (a router), `home3-c2` (a client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostName {
    Core,
    Server,
    Router(u8),
    Client(u8, u8),
}

/// The most homes a lab has and the most clients a home has.
pub const MAX_HOMES: u8 = 32;
pub const MAX_CLIENTS: u8 = 8;

impl FromStr for HostName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || NameError::Host(s.to_string());
        let number = |digits: &str, max: u8| -> Result<u8, NameError> {
            if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            digits.parse::<u8>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(err)
        };
        match s {
            "core" => Ok(Self::Core),
            "server" => Ok(Self::Server),
            _ => {
                let rest = s.strip_prefix("home").ok_or_else(err)?;
                match rest.split_once("-c") {
                    None => Ok(Self::Router(number(rest, MAX_HOMES)?)),
                    Some((home, client)) => Ok(Self::Client(number(home, MAX_HOMES)?, number(client, MAX_CLIENTS)?)),
                }
            }
        }
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core => f.write_str("core"),
            Self::Server => f.write_str("server"),
            Self::Router(h) => write!(f, "home{h}"),
            Self::Client(h, c) => write!(f, "home{h}-c{c}"),
        }
    }
}

/// Splits a namespace name made by [`RunId::netns`] back into its run and host; anything else
/// (another tool's namespace) gives `None`.
pub fn parse_netns(name: &str) -> Option<(RunId, HostName)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (id, host) = rest.split_once('-')?;
    Some((id.parse().ok()?, host.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_four_lowercase_hex_digits() {
        assert!("3f2a".parse::<RunId>().is_ok());
        for bad in ["3F2A", "3f2", "3f2ab", "zzzz", "", "3f-a"] {
            assert!(bad.parse::<RunId>().is_err(), "{bad}");
        }
        let id = RunId::random();
        assert_eq!(id.as_str().parse::<RunId>(), Ok(id));
    }

    #[test]
    fn host_names_round_trip() {
        for name in ["core", "server", "home1", "home32", "home3-c2", "home12-c8"] {
            assert_eq!(name.parse::<HostName>().map(|h| h.to_string()).as_deref(), Ok(name));
        }
    }

    #[test]
    fn host_names_out_of_range_or_malformed_are_refused() {
        for bad in ["home0", "home33", "home01", "home1-c0", "home1-c9", "home", "home1-", "router1", "Home1"] {
            assert!(bad.parse::<HostName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn namespace_names_carry_the_run_id_and_parse_back() {
        let id: RunId = "3f2a".parse().unwrap();
        assert_eq!(id.netns(HostName::Client(1, 2)), "nl3f2a-home1-c2");
        assert_eq!(parse_netns("nl3f2a-home1-c2"), Some((id, HostName::Client(1, 2))));
        assert_eq!(parse_netns("nl3f2a-server"), Some((id, HostName::Server)));
        assert_eq!(parse_netns("nlab-server"), None);
        assert_eq!(parse_netns("nl3f2a-other"), None);
        assert_eq!(parse_netns("docker-1"), None);
    }
}
