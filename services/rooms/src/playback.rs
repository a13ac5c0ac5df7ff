//! The room's playback clock. Commands carry the `seq` of the state their
//! sender last saw: a command based on an older state is stale (someone else
//! acted first) and is refused, so two members pressing at once cannot leave
//! the room flapping. A start is scheduled `lead_ms` ahead, so every member
//! has time to hear it and starts at the same server time.

use cinemesh_protocol::room::{PlaybackCommand, PlaybackState};

use crate::Refusal;

/// How far ahead a start is scheduled while the members' round trips are not
/// known, ms: above a typical one-way delay, so members hear of it before it
/// happens, and short enough to feel immediate.
pub const DEFAULT_START_LEAD_MS: i64 = 250;

#[derive(Debug, Clone)]
pub struct PlaybackClock {
    state: PlaybackState,
    duration_ms: f64,
    start_lead_ms: i64,
}

impl PlaybackClock {
    /// Paused at the start of a movie of `duration_ms`.
    pub fn new(duration_ms: f64, now_ms: i64) -> Self {
        Self {
            state: PlaybackState { position_ms: 0.0, playing: false, rate: 1.0, seq: 0, anchor_ms: now_ms },
            duration_ms,
            start_lead_ms: DEFAULT_START_LEAD_MS,
        }
    }

    pub fn with_start_lead(mut self, lead_ms: i64) -> Self {
        self.set_start_lead(lead_ms);
        self
    }

    /// How far ahead the next start is scheduled, ms (see `room::start_lead`).
    pub fn set_start_lead(&mut self, lead_ms: i64) {
        self.start_lead_ms = lead_ms.max(0);
    }

    /// Restores a saved state (after a restart).
    pub fn restore(state: PlaybackState, duration_ms: f64) -> Self {
        Self { state, duration_ms, start_lead_ms: DEFAULT_START_LEAD_MS }
    }

    pub fn state(&self) -> PlaybackState {
        self.state
    }

    /// The position now, never past the end of the movie.
    pub fn position_at(&self, now_ms: i64) -> f64 {
        self.state.position_at(now_ms).min(self.duration_ms)
    }

    /// Applies a command based on state `based_on`; returns the new state.
    pub fn apply(&mut self, command: PlaybackCommand, based_on: u64, now_ms: i64) -> Result<PlaybackState, Refusal> {
        if based_on != self.state.seq {
            return Err(Refusal::new(
                "stale_command",
                format!("the room moved on (state {} is not {based_on}); act on the current state", self.state.seq),
            ));
        }
        let (PlaybackCommand::Play { position_ms }
        | PlaybackCommand::Pause { position_ms }
        | PlaybackCommand::Seek { position_ms }) = command;
        if !position_ms.is_finite() || position_ms < 0.0 || position_ms > self.duration_ms {
            return Err(Refusal::new(
                "invalid_position",
                format!("position must be between 0 and {} ms", self.duration_ms),
            ));
        }
        let playing = match command {
            PlaybackCommand::Play { .. } => true,
            PlaybackCommand::Pause { .. } => false,
            PlaybackCommand::Seek { .. } => self.state.playing,
        };
        let anchor_ms = if playing { now_ms + self.start_lead_ms } else { now_ms };
        self.state = PlaybackState { position_ms, playing, rate: 1.0, seq: self.state.seq + 1, anchor_ms };
        Ok(self.state)
    }

    /// Another movie, paused at its start; a change of state like any other
    /// (commands based on the last movie's states are stale).
    pub fn next_movie(&mut self, duration_ms: f64, now_ms: i64) -> PlaybackState {
        self.duration_ms = duration_ms;
        self.state =
            PlaybackState { position_ms: 0.0, playing: false, rate: 1.0, seq: self.state.seq + 1, anchor_ms: now_ms };
        self.state
    }

    /// Holds the room at its current position while a member catches up
    /// (`waiting`), or starts it again; a change of state like any other.
    pub fn hold(&mut self, waiting: bool, now_ms: i64) -> PlaybackState {
        let position_ms = self.position_at(now_ms);
        let anchor_ms = if waiting { now_ms } else { now_ms + self.start_lead_ms };
        self.state = PlaybackState { position_ms, playing: !waiting, rate: 1.0, seq: self.state.seq + 1, anchor_ms };
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> PlaybackClock {
        PlaybackClock::new(60_000.0, 1_000).with_start_lead(200)
    }

    #[test]
    fn a_start_is_scheduled_and_the_position_advances_from_then() {
        let mut clock = clock();
        let state = clock.apply(PlaybackCommand::Play { position_ms: 5_000.0 }, 0, 2_000).unwrap();
        assert_eq!((state.seq, state.anchor_ms, state.playing), (1, 2_200, true));
        assert_eq!(clock.position_at(2_100), 5_000.0, "held until the scheduled start");
        assert_eq!(clock.position_at(3_200), 6_000.0);
        assert_eq!(clock.position_at(1_000_000), 60_000.0, "never past the end");
    }

    #[test]
    fn another_movie_starts_paused_at_its_start_and_old_commands_are_stale() {
        let mut clock = clock();
        clock.apply(PlaybackCommand::Play { position_ms: 0.0 }, 0, 1_000).unwrap();
        let next = clock.next_movie(10_000.0, 5_000);
        assert_eq!((next.position_ms, next.playing, next.seq), (0.0, false, 2));
        assert_eq!(
            clock.apply(PlaybackCommand::Seek { position_ms: 0.0 }, 1, 5_000).unwrap_err().code,
            "stale_command"
        );
        assert_eq!(
            clock.apply(PlaybackCommand::Seek { position_ms: 20_000.0 }, 2, 5_000).unwrap_err().code,
            "invalid_position",
            "the new movie's length bounds it"
        );
    }

    #[test]
    fn pause_takes_effect_at_once_and_seek_keeps_playing_or_not() {
        let mut clock = clock();
        clock.apply(PlaybackCommand::Play { position_ms: 0.0 }, 0, 1_000).unwrap();
        let paused = clock.apply(PlaybackCommand::Pause { position_ms: 3_000.0 }, 1, 4_200).unwrap();
        assert_eq!((paused.playing, paused.anchor_ms), (false, 4_200));
        assert_eq!(clock.position_at(9_000), 3_000.0);
        let seeked = clock.apply(PlaybackCommand::Seek { position_ms: 30_000.0 }, 2, 9_000).unwrap();
        assert!(!seeked.playing, "a seek while paused stays paused");
        clock.apply(PlaybackCommand::Play { position_ms: 30_000.0 }, 3, 9_000).unwrap();
        assert!(clock.apply(PlaybackCommand::Seek { position_ms: 10.0 }, 4, 10_000).unwrap().playing);
    }

    #[test]
    fn stale_and_echoed_commands_are_refused() {
        let mut clock = clock();
        clock.apply(PlaybackCommand::Play { position_ms: 0.0 }, 0, 1_000).unwrap();
        let err = clock.apply(PlaybackCommand::Pause { position_ms: 500.0 }, 0, 1_500).unwrap_err();
        assert_eq!(err.code, "stale_command");
        assert_eq!(clock.state().seq, 1, "a refused command changes nothing");
    }

    #[test]
    fn positions_outside_the_movie_are_refused() {
        let mut clock = clock();
        for position_ms in [-1.0, 60_001.0, f64::NAN, f64::INFINITY] {
            let err = clock.apply(PlaybackCommand::Seek { position_ms }, 0, 1_000).unwrap_err();
            assert_eq!(err.code, "invalid_position", "{position_ms}");
        }
    }

    #[test]
    fn holding_for_a_member_keeps_the_position_then_goes_on() {
        let mut clock = clock();
        clock.apply(PlaybackCommand::Play { position_ms: 0.0 }, 0, 1_000).unwrap();
        let held = clock.hold(true, 3_200);
        assert_eq!((held.playing, held.position_ms), (false, 2_000.0));
        let resumed = clock.hold(false, 8_000);
        assert_eq!((resumed.playing, resumed.position_ms, resumed.anchor_ms), (true, 2_000.0, 8_200));
        assert_eq!(resumed.seq, 3);
    }
}
