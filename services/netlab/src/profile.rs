//! Network profiles: what every home's access link and the server's link look like.
//!
//! Profiles live in a documented TOML file (`bench/netlab/profiles.toml`, built into the binary;
//! `--profiles FILE` or `NETLAB_PROFILES` reads another). See that file for how RTT is split.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The profiles file shipped with the repository.
pub const BUILTIN: &str = include_str!("../../../bench/netlab/profiles.toml");

/// The default queue of a rate limiter, in milliseconds of traffic at its rate.
pub const DEFAULT_BUFFER_MS: f64 = 100.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// One line on what the profile emulates.
    pub description: String,
    /// Homes and their NAT kinds when `--homes` is not given, e.g. "full-cone,port-restricted:2".
    pub homes: String,
    /// Queue of each rate limiter, in milliseconds of traffic at its rate.
    #[serde(default = "default_buffer_ms")]
    pub buffer_ms: f64,
    /// Every home's access link (its router's WAN side).
    pub home: LinkSpec,
    /// The server's link to the internet core.
    pub server: LinkSpec,
}

fn default_buffer_ms() -> f64 {
    DEFAULT_BUFFER_MS
}

/// One access link. RTT, jitter and loss apply to packets crossing it in either direction:
/// each direction gets half the RTT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Round-trip time this link adds, milliseconds; each direction delays by half of it.
    #[serde(default)]
    pub rtt_ms: f64,
    /// The link's RTT varies within ± this, milliseconds: each direction draws uniformly within
    /// ± half of it. At most `rtt_ms`.
    #[serde(default)]
    pub jitter_ms: f64,
    /// Share of packets lost in each direction, percent.
    #[serde(default)]
    pub loss_pct: f64,
    /// Rate from the host towards the core, Mbit/s; absent: not limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_mbit: Option<f64>,
    /// Rate from the core towards the host, Mbit/s; absent: not limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_mbit: Option<f64>,
}

impl LinkSpec {
    pub fn validate(&self, what: &str) -> anyhow::Result<()> {
        let finite = [self.rtt_ms, self.jitter_ms, self.loss_pct].iter().all(|v| v.is_finite() && *v >= 0.0);
        if !finite {
            bail!("{what}: rtt_ms, jitter_ms and loss_pct must be numbers >= 0");
        }
        if self.jitter_ms > self.rtt_ms {
            bail!("{what}: jitter_ms ({}) may not exceed rtt_ms ({})", self.jitter_ms, self.rtt_ms);
        }
        if self.loss_pct > 100.0 {
            bail!("{what}: loss_pct ({}) is over 100", self.loss_pct);
        }
        for (name, rate) in [("up_mbit", self.up_mbit), ("down_mbit", self.down_mbit)] {
            if let Some(rate) = rate
                && !(rate.is_finite() && rate >= 0.01)
            {
                bail!("{what}: {name} ({rate}) must be at least 0.01 Mbit/s");
            }
        }
        Ok(())
    }

    /// Whether this link delays or drops anything (and so needs the NFQUEUE shaper).
    pub fn impairs(&self) -> bool {
        self.rtt_ms > 0.0 || self.jitter_ms > 0.0 || self.loss_pct > 0.0
    }
}

impl Profile {
    pub fn validate(&self, name: &str) -> anyhow::Result<()> {
        self.home.validate(&format!("profile {name}, home"))?;
        self.server.validate(&format!("profile {name}, server"))?;
        if !(self.buffer_ms.is_finite() && self.buffer_ms >= 1.0) {
            bail!("profile {name}: buffer_ms must be at least 1");
        }
        crate::topology::parse_homes(&self.homes).with_context(|| format!("profile {name}: homes"))?;
        Ok(())
    }
}

impl ProfileFile {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: Self = toml::from_str(text)?;
        for (name, profile) in &file.profiles {
            profile.validate(name)?;
        }
        Ok(file)
    }

    /// The file at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            None => Self::parse(BUILTIN).context("the built-in profiles file"),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                Self::parse(&text).with_context(|| format!("profiles file {}", path.display()))
            }
        }
    }

    pub fn get(&self, name: &str) -> anyhow::Result<&Profile> {
        self.profiles.get(name).with_context(|| {
            let names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            format!("no profile {name:?}; there are: {}", names.join(", "))
        })
    }

    /// One profile as a TOML document that parses back as a profiles file.
    pub fn render(&self, name: &str) -> anyhow::Result<String> {
        let one = Self { profiles: BTreeMap::from([(name.to_string(), self.get(name)?.clone())]) };
        Ok(toml::to_string(&one)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_profiles_parse_and_hold_the_documented_values() {
        let file = ProfileFile::load(None).unwrap();
        for name in ["lan", "home-party", "bad-wifi", "mobile"] {
            assert!(file.profiles.contains_key(name), "{name}");
        }
        let party = file.get("home-party").unwrap();
        assert_eq!(party.home.rtt_ms + party.server.rtt_ms, 40.0);
        assert_eq!(party.home.jitter_ms, 5.0);
        assert_eq!(party.home.loss_pct, 0.5);
        assert_eq!((party.home.down_mbit, party.home.up_mbit), (Some(50.0), Some(5.0)));
        let wifi = file.get("bad-wifi").unwrap();
        assert_eq!(
            (wifi.home.rtt_ms + wifi.server.rtt_ms, wifi.home.jitter_ms, wifi.home.loss_pct),
            (150.0, 30.0, 2.0)
        );
        let mobile = file.get("mobile").unwrap();
        assert_eq!(mobile.home.rtt_ms + mobile.server.rtt_ms, 80.0);
        assert_eq!((mobile.home.down_mbit, mobile.home.up_mbit, mobile.home.loss_pct), (Some(10.0), Some(2.0), 1.0));
        let lan = file.get("lan").unwrap();
        assert!(!lan.home.impairs() && !lan.server.impairs());
        assert_eq!((lan.home.up_mbit, lan.server.up_mbit), (None, None));
    }

    #[test]
    fn a_rendered_profile_parses_back_unchanged() {
        let file = ProfileFile::load(None).unwrap();
        let text = file.render("home-party").unwrap();
        let back = ProfileFile::parse(&text).unwrap();
        assert_eq!(back.get("home-party").unwrap(), file.get("home-party").unwrap());
    }

    #[test]
    fn unknown_fields_and_impossible_values_are_refused() {
        let base = "[profiles.x]\ndescription = \"x\"\nhomes = \"symmetric\"\n[profiles.x.server]\n";
        assert!(ProfileFile::parse(&format!("{base}[profiles.x.home]\nrtt_ms = 10\n")).is_ok());
        assert!(ProfileFile::parse(&format!("{base}[profiles.x.home]\nrtt = 10\n")).is_err());
        assert!(ProfileFile::parse(&format!("{base}[profiles.x.home]\nrtt_ms = 10\njitter_ms = 20\n")).is_err());
        assert!(ProfileFile::parse(&format!("{base}[profiles.x.home]\nloss_pct = 101\n")).is_err());
        assert!(ProfileFile::parse(&format!("{base}[profiles.x.home]\nup_mbit = 0\n")).is_err());
        let bad_homes = "[profiles.x]\ndescription = \"x\"\nhomes = \"cone\"\n[profiles.x.server]\n[profiles.x.home]\n";
        assert!(ProfileFile::parse(bad_homes).is_err());
    }

    #[test]
    fn asking_for_a_missing_profile_lists_the_others() {
        let file = ProfileFile::load(None).unwrap();
        let err = file.get("nope").unwrap_err().to_string();
        assert!(err.contains("home-party"), "{err}");
    }
}
