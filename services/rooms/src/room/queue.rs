//! The room's queue: members with playback control add catalog movies, take
//! them out, reorder them and play one now; the others may add a few while
//! the queue takes suggestions. At the end of a movie the next
//! one starts for everyone (autoplay), after the countdown if there is one.
//! A change of movie starts the new one as a start after a seek does: the
//! room holds until every player online can play it (or the bounded wait
//! ends), and what the room knew of the last movie's players goes.

use std::collections::HashSet;

use cinemesh_protocol::room::{MemberId, RoomServerMessage};
use cinemesh_protocol::room_queue::{MAX_QUEUE, MAX_SUGGESTIONS, NowPlaying, QueueEntry, WatchedEntry};

use super::{Room, RoomCommand};
use crate::Refusal;
use crate::api::MovieFacts;
use crate::fetch_plan::FetchPlans;
use crate::frame::refusal_message;
use crate::origin_load::OriginLoad;
use crate::room::rendition::RoomRendition;
use crate::room::waiting::Wait;

/// A movie a member queued, while the catalog is asked about it. Answers
/// can come back in any order; movies join the queue in the order they
/// were asked for.
pub(super) struct PendingAdd {
    ticket: u64,
    member: MemberId,
    movie: String,
    /// The catalog's answer, once it came (`Some(None)`: no such movie).
    facts: Option<Option<MovieFacts>>,
}

impl Room {
    /// The movie the room plays now.
    pub(super) fn now_playing(&self) -> NowPlaying {
        NowPlaying {
            movie: self.setup.movie.clone(),
            title: self.setup.title.clone(),
            duration_ms: self.setup.duration_ms,
        }
    }

    /// Looks the movie up in the catalog; the room adds it when the answer comes (`queue_looked_up`).
    pub(super) fn queue_add(&mut self, member: &str, name: &str, movie: String) -> Result<(), Refusal> {
        if self.may_add(member)? {
            let asked = self.pending_adds.iter().filter(|p| p.member == member).count();
            if self.queue.suggested_by(name) + asked >= MAX_SUGGESTIONS {
                return Err(Refusal::new(
                    "too_many_suggestions",
                    format!("at most {MAX_SUGGESTIONS} of your suggestions wait in the queue at once"),
                ));
            }
        }
        if !cinemesh_common::id::is_movie_id(&movie) {
            return Err(Refusal::new("invalid_queue", "movie is a catalog movie's id"));
        }
        if self.queue.view().entries.len() + self.pending_adds.len() >= MAX_QUEUE {
            return Err(Refusal::new("queue_full", format!("a room's queue holds at most {MAX_QUEUE} movies")));
        }
        let (Some(movies), Some(commands)) = (self.movies.clone(), self.own_commands.clone()) else {
            return Err(Refusal::new("queue_unavailable", "this room cannot look movies up"));
        };
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.pending_adds.push_back(PendingAdd {
            ticket,
            member: member.to_owned(),
            movie: movie.clone(),
            facts: None,
        });
        actix_web::rt::spawn(async move {
            let facts = movies.facts(&movie).await;
            if let Some(commands) = commands.upgrade() {
                let _ = commands.send(RoomCommand::LookedUp { ticket, facts }).await;
            }
        });
        Ok(())
    }

    /// The catalog's answer about a queued movie: it and every one asked for before it that was answered join the queue.
    pub(super) fn queue_looked_up(&mut self, ticket: u64, facts: Option<MovieFacts>) {
        if let Some(pending) = self.pending_adds.iter_mut().find(|p| p.ticket == ticket) {
            pending.facts = Some(facts);
        }
        while self.pending_adds.front().is_some_and(|p| p.facts.is_some()) {
            let Some(PendingAdd { member, movie, facts: Some(facts), .. }) = self.pending_adds.pop_front() else {
                break;
            };
            if let Err(refusal) = self.add_looked_up(&member, movie, facts) {
                self.metrics.refused(refusal.code);
                self.send(&member, &refusal_message(refusal));
            }
        }
    }

    fn add_looked_up(&mut self, member: &str, movie: String, facts: Option<MovieFacts>) -> Result<(), Refusal> {
        let Some(MovieFacts { title, duration_ms }) = facts.filter(|_| !self.deleted_movies.contains(&movie)) else {
            return Err(Refusal::new("movie_not_found", format!("no movie with id {movie:?}")));
        };
        // Gone meanwhile: nobody to add it for.
        let Some(name) = self.members.get(member).map(|m| m.name.as_str().to_owned()) else { return Ok(()) };
        // Control, or the queue's suggestions, may have changed meanwhile.
        let suggested = self.may_add(member)?;
        self.queue.add(NowPlaying { movie, title: title.clone(), duration_ms }, &name, suggested)?;
        self.queue_changed();
        self.system(format!("{name} {} {title}", if suggested { "suggested" } else { "queued" }));
        Ok(())
    }

    /// Whether the member may add to the queue: as one with playback
    /// control (false), or as a suggestion while the queue takes them (true).
    fn may_add(&self, member: &str) -> Result<bool, Refusal> {
        match self.members.may_control(member) {
            Ok(()) => Ok(false),
            Err(_) if self.queue.view().suggestions => Ok(true),
            Err(refusal) => Err(refusal),
        }
    }

    pub(super) fn queue_remove(&mut self, member: &str, name: &str, entry: &str) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        let taken = self.queue.take(entry)?;
        self.queue_changed();
        self.system(format!("{name} took {} out of the queue", taken.title));
        Ok(())
    }

    pub(super) fn queue_move(&mut self, member: &str, entry: &str, to: u32, based_on: u64) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        self.queue.move_to(entry, to, based_on)?;
        self.queue_changed();
        Ok(())
    }

    pub(super) fn queue_settings(
        &mut self,
        member: &str,
        autoplay: bool,
        countdown_secs: u32,
        suggestions: Option<bool>,
    ) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        self.queue.set_autoplay(autoplay, countdown_secs, suggestions)?;
        self.countdown_stopped = false;
        self.queue_changed();
        Ok(())
    }

    pub(super) fn cancel_countdown(&mut self, member: &str, name: &str) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        self.queue.cancel_countdown()?;
        self.countdown_stopped = true;
        self.queue_changed();
        self.system(format!("{name} stopped the countdown"));
        Ok(())
    }

    /// Plays an entry now, for everyone.
    pub(super) fn queue_play(&mut self, member: &str, name: &str, entry: &str) -> Result<(), Refusal> {
        self.members.may_control(member)?;
        let entry = self.queue.take(entry)?;
        self.system(format!("{name} started {}", entry.title));
        self.switch_to(entry, Some(member));
        Ok(())
    }

    /// A movie deleted from the catalog leaves the queue, and is not added
    /// again by a lookup answered before it went.
    pub(super) fn movie_gone(&mut self, movie: &str) {
        self.deleted_movies.insert(movie.to_owned());
        if self.queue.drop_movie(movie) {
            self.queue_changed();
        }
    }

    /// Each tick: the end of the movie playing, and of the countdown to the next.
    pub(super) fn next_movie_if_due(&mut self) {
        let now = (self.now_ms)();
        if let Some(entry) = self.queue.countdown_ended(now) {
            self.switch_to(entry, None);
            return;
        }
        let state = self.clock.state();
        if now < state.anchor_ms || !self.at_end(now) {
            return;
        }
        let changed = state.playing || !self.end_recorded;
        if state.playing {
            // The movie ended: the room stays at its end until the next one starts.
            let state = self.clock.hold(true, now);
            self.wait = None;
            self.catching_up.clear();
            self.broadcast(&RoomServerMessage::Playback { state, by: None });
        }
        if !self.end_recorded {
            self.end_recorded = true;
            self.queue.watched(self.watched(now, true));
            self.broadcast(&RoomServerMessage::History { history: self.queue.history() });
            self.system(format!("{} ended", self.setup.title));
        }
        if changed {
            self.save_state();
        }
        // At the end with autoplay, the next one starts: also when one is
        // queued while the room sits there, or after a restart cut the
        // countdown; not once someone stopped the countdown.
        if self.countdown_stopped || self.queue.counting_down() {
            return;
        }
        let countdown_secs = self.queue.view().countdown_secs;
        let Some(next) = self.queue.next_to_play().cloned() else { return };
        if countdown_secs > 0 {
            self.queue.start_countdown(now);
            self.system(format!("Next: {} in {countdown_secs} s", next.title));
            self.queue_changed();
            return;
        }
        match self.queue.take(&next.id) {
            Ok(entry) => self.switch_to(entry, None),
            Err(_) => self.save_state(),
        }
    }

    /// A playback command stops the countdown to the next movie (seeking
    /// back to watch the end again must not be cut short); at the end again,
    /// it starts anew. Whether it ran.
    pub(super) fn stop_countdown_for_command(&mut self) -> bool {
        self.countdown_stopped = false;
        self.queue.stop_countdown()
    }

    /// Whether the room's position is at the end of the movie.
    pub(super) fn at_end(&self, now: i64) -> bool {
        self.clock.position_at(now) >= self.setup.duration_ms
    }

    /// The movie playing, as the history keeps it.
    fn watched(&self, now: i64, finished: bool) -> WatchedEntry {
        WatchedEntry {
            movie: self.setup.movie.clone(),
            title: self.setup.title.clone(),
            started_at_ms: self.started_at_ms,
            ended_at_ms: now,
            watched_ms: self.clock.position_at(now),
            finished,
        }
    }

    /// The room plays `entry` now: everyone loads it, and it starts once the
    /// players online can play it (or after the bounded wait).
    fn switch_to(&mut self, entry: QueueEntry, by: Option<&str>) {
        let now = (self.now_ms)();
        // A movie that ended went to the history then.
        if !self.end_recorded {
            self.queue.watched(self.watched(now, self.at_end(now)));
        }
        self.end_recorded = false;
        self.countdown_stopped = false;
        // Played now during a countdown to another: that one is off.
        self.queue.stop_countdown();
        self.setup.movie = entry.movie;
        self.setup.title = entry.title;
        self.setup.duration_ms = entry.duration_ms;
        self.current_movie.set(&self.setup.movie);
        self.started_at_ms = now;
        self.clock.next_movie(self.setup.duration_ms, now);
        self.forget_last_movie();
        let online: HashSet<MemberId> =
            self.seats.iter().filter(|(_, s)| s.attachment.is_some()).map(|(id, _)| id.clone()).collect();
        let state = self.clock.state();
        if !online.is_empty() {
            self.wait = Some(Wait { started_ms: now, members: online });
        }
        self.save_state();
        self.broadcast(&RoomServerMessage::NowPlaying {
            now_playing: self.now_playing(),
            state,
            by: by.map(str::to_owned),
        });
        self.broadcast(&RoomServerMessage::Queue { queue: self.queue.view().clone() });
        self.broadcast(&RoomServerMessage::History { history: self.queue.history() });
        self.system(format!("Now playing: {}", self.setup.title));
    }

    /// What the room knew of the last movie's players: their buffers, their
    /// sharing and the fetch plan, the rendition, the origin's load.
    fn forget_last_movie(&mut self) {
        self.wait = None;
        self.catching_up.clear();
        self.health.clear();
        self.health_changed = true;
        self.sharers.clear();
        if self.fetch_plan != FetchPlans::default() {
            self.replan();
        }
        self.rendition = RoomRendition::default();
        self.origin = OriginLoad::default();
        self.origin_bytes_per_sec = None;
    }

    fn queue_changed(&mut self) {
        self.save_state();
        self.broadcast(&RoomServerMessage::Queue { queue: self.queue.view().clone() });
    }
}
