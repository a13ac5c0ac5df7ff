//! The room's bounded wait: a start waits for members who cannot play there
//! yet, and a member whose player runs dry while the room plays holds the
//! room for at most `buffer_wait_ms`; then the room goes on and that member
//! catches up on its own.

use std::collections::HashSet;

use cinemesh_protocol::room::{MemberId, RoomServerMessage};

use super::Room;

/// Buffering reports this soon after the room starts playing (its anchor) are
/// that start itself (everyone seeks and loads), not a member falling behind, ms.
const SETTLE_MS: i64 = 1_500;

/// The room holding for members whose players ran dry.
pub(super) struct Wait {
    pub started_ms: i64,
    pub members: HashSet<MemberId>,
}

impl Room {
    /// What a member's status says of its player: ready, or ran dry (the
    /// room holds for it, unless it is already catching up on its own).
    pub(super) fn judge_buffering(&mut self, member: &str, name: &str, buffering: bool) {
        let now = (self.now_ms)();
        if !buffering {
            self.catching_up.remove(member);
            if let Some(wait) = &mut self.wait {
                wait.members.remove(member);
                if wait.members.is_empty() {
                    self.go_on("Everyone is ready".into());
                }
            }
            return;
        }
        if self.catching_up.contains(member) {
            return;
        }
        if let Some(wait) = &mut self.wait {
            wait.members.insert(member.to_owned());
            return;
        }
        let state = self.clock.state();
        if state.playing && now >= state.anchor_ms + SETTLE_MS {
            if let Some(level) = self.rendition.ran_dry(member, now) {
                self.send_rendition(level);
            }
            self.clock.hold(true, now);
            self.save_state();
            self.wait = Some(Wait { started_ms: now, members: HashSet::from([member.to_owned()]) });
            self.broadcast(&RoomServerMessage::Playback { state: self.clock.state(), by: None });
            self.system(format!("Waiting for {name}"));
        }
    }

    /// Stops waiting and plays on from where the room held.
    pub(super) fn go_on(&mut self, why: String) {
        if self.wait.take().is_none() {
            return;
        }
        self.set_start_lead();
        self.clock.hold(false, (self.now_ms)());
        self.save_state();
        self.broadcast(&RoomServerMessage::Playback { state: self.clock.state(), by: None });
        self.system(why);
    }

    pub(super) fn stop_waiting_if_too_long(&mut self) {
        let now = (self.now_ms)();
        let Some(wait) = &self.wait else { return };
        if now - wait.started_ms < self.buffer_wait_ms {
            return;
        }
        let names = self.names_of(&wait.members);
        self.catching_up.extend(wait.members.iter().cloned());
        self.go_on(format!("Going on; {names} will catch up"));
    }

    /// Members whose last status said their player cannot play where the room is.
    pub(super) fn unready_members(&self) -> HashSet<MemberId> {
        self.health.values().filter(|h| h.buffering).map(|h| h.id.clone()).collect()
    }

    /// The members' names, sorted and joined for a system line.
    pub(super) fn names_of(&self, members: &HashSet<MemberId>) -> String {
        let mut names: Vec<&str> =
            members.iter().filter_map(|id| self.members.get(id).map(|m| m.name.as_str())).collect();
        names.sort_unstable();
        names.join(", ")
    }
}
