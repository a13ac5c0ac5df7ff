//! Who the host removed from a room and barred from coming back: by name
//! (compared as names are within a room) and, unless spared, by client
//! address; for a set time or as long as the room lasts. At most `MAX_BANS`
//! are kept, the oldest dropped first.

use std::net::IpAddr;

use cinemesh_protocol::room::{BanView, MAX_BAN_MINUTES, MAX_BANS};

use crate::Refusal;
use crate::members::DisplayName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub id: String,
    pub name: String,
    pub address: Option<IpAddr>,
    /// Server ms; none: as long as the room lasts.
    pub until_ms: Option<i64>,
}

impl Ban {
    fn holds(&self, now_ms: i64) -> bool {
        self.until_ms.is_none_or(|until| until > now_ms)
    }

    fn bars_name(&self, name: &DisplayName) -> bool {
        DisplayName::parse(&self.name).is_ok_and(|banned| banned.key() == name.key())
    }

    pub fn view(&self) -> BanView {
        BanView {
            id: self.id.clone(),
            name: self.name.clone(),
            until_ms: self.until_ms,
            address: self.address.is_some(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Bans {
    bans: Vec<Ban>,
}

impl Bans {
    pub fn restore(bans: Vec<Ban>) -> Self {
        Self { bans }
    }

    /// Bars `name` (and `address`) for `minutes` (at least one), or for the
    /// room's life; returns the ban, and the oldest one if it had to go.
    pub fn add(
        &mut self,
        name: &DisplayName,
        address: Option<IpAddr>,
        minutes: Option<u32>,
        now_ms: i64,
    ) -> (Ban, Option<Ban>) {
        let until_ms = minutes.filter(|m| *m <= MAX_BAN_MINUTES).map(|m| now_ms + i64::from(m.max(1)) * 60_000);
        let ban = Ban { id: cinemesh_common::id::random_id(10), name: name.as_str().to_owned(), address, until_ms };
        let evicted = (self.bans.len() >= MAX_BANS).then(|| self.bans.remove(0));
        self.bans.push(ban.clone());
        (ban, evicted)
    }

    pub fn lift(&mut self, id: &str) -> Option<Ban> {
        let index = self.bans.iter().position(|b| b.id == id)?;
        Some(self.bans.remove(index))
    }

    /// Refuses a joiner whose name or address is barred.
    pub fn admit(&self, name: Option<&DisplayName>, address: Option<IpAddr>, now_ms: i64) -> Result<(), Refusal> {
        let barred = self
            .bans
            .iter()
            .filter(|b| b.holds(now_ms))
            .any(|b| name.is_some_and(|n| b.bars_name(n)) || (b.address.is_some() && b.address == address));
        if barred {
            return Err(Refusal::new("banned", "the host removed you from this room"));
        }
        Ok(())
    }

    /// Drops the bans whose time is up; returns them.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Ban> {
        let (over, holding) = std::mem::take(&mut self.bans).into_iter().partition(|b| !b.holds(now_ms));
        self.bans = holding;
        over
    }

    pub fn views(&self) -> Vec<BanView> {
        self.bans.iter().map(Ban::view).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DisplayName {
        DisplayName::parse(text).unwrap()
    }

    #[test]
    fn a_ban_bars_the_name_and_the_address_until_it_is_lifted_or_over() {
        let mut bans = Bans::default();
        let home: IpAddr = [192, 0, 2, 1].into();
        let (ban, _) = bans.add(&name("Eve"), Some(home), Some(10), 0);
        assert_eq!(bans.admit(Some(&name("eve")), None, 1).unwrap_err().code, "banned", "names compare as in a room");
        assert!(bans.admit(Some(&name("Mallory")), Some(home), 1).is_err(), "the address too");
        assert!(bans.admit(Some(&name("Bob")), Some([192, 0, 2, 2].into()), 1).is_ok());
        assert!(bans.admit(Some(&name("Eve")), None, 10 * 60_000).is_ok(), "over after ten minutes");
        assert_eq!(bans.expire(10 * 60_000), [ban]);
        let (forever, _) = bans.add(&name("Eve"), None, None, 0);
        assert!(bans.admit(Some(&name("Eve")), None, i64::MAX).is_err(), "as long as the room lasts");
        assert!(bans.admit(Some(&name("X")), Some(home), 1).is_ok(), "the address spared");
        assert_eq!(bans.lift(&forever.id), Some(forever));
        assert!(bans.admit(Some(&name("Eve")), None, 1).is_ok(), "lifted");
    }

    #[test]
    fn the_oldest_ban_goes_first_past_the_cap() {
        let mut bans = Bans::default();
        let (first, _) = bans.add(&name("first"), None, None, 0);
        let mut evicted = Vec::new();
        for n in 0..MAX_BANS {
            evicted.extend(bans.add(&name(&format!("n{n}")), None, None, 0).1);
        }
        assert_eq!(bans.views().len(), MAX_BANS);
        assert_eq!(
            evicted,
            std::slice::from_ref(&first),
            "the evicted ban is handed back, to be forgotten in the store too"
        );
        assert!(bans.lift(&first.id).is_none());
        let (zero, _) = bans.add(&name("z"), None, Some(0), 0);
        assert_eq!(zero.until_ms, Some(60_000), "a timed ban lasts at least a minute");
    }
}
