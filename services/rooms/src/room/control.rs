//! Playback commands from members with control: the room's clock moves for
//! everyone, a start waits for members who cannot play there yet, and the
//! chat says who did what.

use std::collections::HashSet;

use cinemesh_protocol::room::{PlaybackCommand, RoomServerMessage};

use super::Room;
use super::waiting::Wait;
use crate::Refusal;

impl Room {
    pub(super) fn control(
        &mut self,
        member: &str,
        name: &str,
        based_on: u64,
        command: PlaybackCommand,
    ) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        let now = (self.now_ms)();
        let was_at = self.clock.state().position_at(now);
        self.set_start_lead();
        let mut state = self.clock.apply(command, based_on, now)?;
        // Moved elsewhere: every player's buffer starts again from nothing.
        if (state.position_ms - was_at).abs() > 1_000.0
            && let Some(level) = self.rendition.refill(now)
        {
            self.send_rendition(level);
        }
        // A new command decides; nobody is waited for any more.
        self.wait = None;
        self.catching_up.clear();
        if self.stop_countdown_for_command() {
            self.broadcast(&RoomServerMessage::Queue { queue: self.queue.view().clone() });
        }
        // A start waits for members who said they cannot play there yet,
        // so that everyone starts together from the same frame, rather
        // than the ready ones playing on and being pulled back when the
        // others run dry a moment later.
        let unready = if state.playing { self.unready_members() } else { HashSet::new() };
        if !unready.is_empty() {
            state = self.clock.hold(true, now);
        }
        self.save_state();
        self.broadcast(&RoomServerMessage::Playback { state, by: Some(member.to_owned()) });
        self.system(describe_command(name, command));
        if !unready.is_empty() {
            self.system(format!("Waiting for {}", self.names_of(&unready)));
            self.wait = Some(Wait { started_ms: now, members: unready });
        }
        Ok(())
    }
}

fn describe_command(name: &str, command: PlaybackCommand) -> String {
    let at = |ms: f64| {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}:{:02}", secs / 60, secs % 60)
    };
    match command {
        PlaybackCommand::Play { position_ms } => format!("{name} played at {}", at(position_ms)),
        PlaybackCommand::Pause { position_ms } => format!("{name} paused at {}", at(position_ms)),
        PlaybackCommand::Seek { position_ms } => format!("{name} jumped to {}", at(position_ms)),
    }
}
