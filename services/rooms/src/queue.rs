//! A room's queue of movies and its history, as data: entries added,
//! removed, moved and taken, the settings of autoplay, the countdown to the
//! next movie, and what the room watched. The room (`room/queue.rs`) decides
//! who may change it and when a movie ends; this only keeps it consistent.
//! Moves name the version they saw: two members dragging at once cannot
//! leave the order flapping, as with playback commands.

use std::collections::VecDeque;

use cinemesh_protocol::room_queue::{
    Countdown, MAX_COUNTDOWN_SECS, MAX_HISTORY, MAX_QUEUE, NowPlaying, QueueEntry, QueueView, WatchedEntry,
};
use serde::{Deserialize, Serialize};

use crate::Refusal;

/// The queue and the movie playing, as the store keeps them (the countdown is not kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredQueue {
    /// The title of the movie playing (its id and length are the room's own columns).
    #[serde(default)]
    pub title: String,
    /// When it started, server ms.
    #[serde(default)]
    pub started_at_ms: i64,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub entries: Vec<QueueEntry>,
    #[serde(default = "yes")]
    pub autoplay: bool,
    #[serde(default)]
    pub countdown_secs: u32,
    #[serde(default)]
    pub suggestions: bool,
    /// The number the next entry's id takes.
    #[serde(default)]
    pub next_entry: u64,
}

fn yes() -> bool {
    true
}

impl Default for StoredQueue {
    fn default() -> Self {
        let view = QueueView::default();
        Self {
            title: String::new(),
            started_at_ms: 0,
            version: view.version,
            entries: view.entries,
            autoplay: view.autoplay,
            countdown_secs: view.countdown_secs,
            suggestions: view.suggestions,
            next_entry: 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RoomQueue {
    view: QueueView,
    next_entry: u64,
    history: VecDeque<WatchedEntry>,
}

impl RoomQueue {
    pub fn restore(stored: &StoredQueue, history: Vec<WatchedEntry>) -> Self {
        let mut entries = stored.entries.clone();
        entries.truncate(MAX_QUEUE);
        let mut history: VecDeque<WatchedEntry> = history.into();
        while history.len() > MAX_HISTORY {
            history.pop_front();
        }
        Self {
            view: QueueView {
                version: stored.version,
                entries,
                autoplay: stored.autoplay,
                countdown_secs: stored.countdown_secs.min(MAX_COUNTDOWN_SECS),
                suggestions: stored.suggestions,
                countdown: None,
            },
            next_entry: stored.next_entry,
            history,
        }
    }

    /// What the store keeps, with the movie playing's title and start.
    pub fn stored(&self, now_playing: &NowPlaying, started_at_ms: i64) -> StoredQueue {
        StoredQueue {
            title: now_playing.title.clone(),
            started_at_ms,
            version: self.view.version,
            entries: self.view.entries.clone(),
            autoplay: self.view.autoplay,
            countdown_secs: self.view.countdown_secs,
            suggestions: self.view.suggestions,
            next_entry: self.next_entry,
        }
    }

    pub fn view(&self) -> &QueueView {
        &self.view
    }

    /// What the room watched, oldest first.
    pub fn history(&self) -> Vec<WatchedEntry> {
        self.history.iter().cloned().collect()
    }

    /// Adds a movie at the end; `suggested`: by a member without playback control.
    pub fn add(&mut self, movie: NowPlaying, added_by: &str, suggested: bool) -> Result<(), Refusal> {
        if self.view.entries.len() >= MAX_QUEUE {
            return Err(Refusal::new("queue_full", format!("a room's queue holds at most {MAX_QUEUE} movies")));
        }
        self.next_entry += 1;
        let entry = QueueEntry {
            id: format!("q{}", self.next_entry),
            movie: movie.movie,
            title: movie.title,
            duration_ms: movie.duration_ms,
            added_by: added_by.to_owned(),
            suggested,
        };
        self.view.entries.push(entry);
        self.changed();
        Ok(())
    }

    /// The suggestions of the member named `name` in the queue.
    pub fn suggested_by(&self, name: &str) -> usize {
        self.view.entries.iter().filter(|e| e.suggested && e.added_by == name).count()
    }

    /// Takes an entry out (to drop it, or to play it now).
    pub fn take(&mut self, entry: &str) -> Result<QueueEntry, Refusal> {
        let index = self.index_of(entry)?;
        let taken = self.view.entries.remove(index);
        if self.view.countdown.as_ref().is_some_and(|c| c.entry == taken.id) {
            self.view.countdown = None;
        }
        self.changed();
        Ok(taken)
    }

    /// Moves an entry to index `to`, if the queue is still at `based_on`.
    pub fn move_to(&mut self, entry: &str, to: u32, based_on: u64) -> Result<(), Refusal> {
        if based_on != self.view.version {
            return Err(Refusal::new(
                "stale_queue",
                format!("the queue changed (version {} is not {based_on}); move it as it is now", self.view.version),
            ));
        }
        let from = self.index_of(entry)?;
        let to = to as usize;
        if to >= self.view.entries.len() {
            return Err(Refusal::new(
                "invalid_queue",
                format!("to is an index of the queue: 0 to {}", self.view.entries.len() - 1),
            ));
        }
        let moved = self.view.entries.remove(from);
        self.view.entries.insert(to, moved);
        self.changed();
        Ok(())
    }

    /// Autoplay and its countdown; whether others may suggest (none: as it was).
    pub fn set_autoplay(
        &mut self,
        autoplay: bool,
        countdown_secs: u32,
        suggestions: Option<bool>,
    ) -> Result<(), Refusal> {
        if countdown_secs > MAX_COUNTDOWN_SECS {
            return Err(Refusal::new("invalid_queue", format!("countdown_secs is 0 to {MAX_COUNTDOWN_SECS}")));
        }
        self.view.autoplay = autoplay;
        self.view.countdown_secs = countdown_secs;
        if let Some(suggestions) = suggestions {
            self.view.suggestions = suggestions;
        }
        if !autoplay {
            self.view.countdown = None;
        }
        self.changed();
        Ok(())
    }

    /// The entry that plays next, if autoplay is on.
    pub fn next_to_play(&self) -> Option<&QueueEntry> {
        self.view.entries.first().filter(|_| self.view.autoplay)
    }

    /// Counts down to the next entry from `now_ms`; the entry, if there is one.
    pub fn start_countdown(&mut self, now_ms: i64) -> Option<String> {
        let entry = self.next_to_play()?.id.clone();
        let ends_at_ms = now_ms + i64::from(self.view.countdown_secs) * 1000;
        self.view.countdown = Some(Countdown { entry: entry.clone(), ends_at_ms });
        self.changed();
        Some(entry)
    }

    pub fn counting_down(&self) -> bool {
        self.view.countdown.is_some()
    }

    pub fn cancel_countdown(&mut self) -> Result<(), Refusal> {
        if !self.stop_countdown() {
            return Err(Refusal::new("no_countdown", "no movie is counting down"));
        }
        Ok(())
    }

    /// Stops the countdown, if one runs; whether one did.
    pub fn stop_countdown(&mut self) -> bool {
        let stopped = self.view.countdown.take().is_some();
        if stopped {
            self.changed();
        }
        stopped
    }

    /// The entry whose countdown ended by `now_ms`, taken out of the queue.
    pub fn countdown_ended(&mut self, now_ms: i64) -> Option<QueueEntry> {
        let countdown = self.view.countdown.as_ref().filter(|c| now_ms >= c.ends_at_ms)?;
        let entry = countdown.entry.clone();
        self.view.countdown = None;
        self.take(&entry).ok()
    }

    /// Drops every entry of a movie that is gone from the catalog; whether any was.
    pub fn drop_movie(&mut self, movie: &str) -> bool {
        let before = self.view.entries.len();
        self.view.entries.retain(|e| e.movie != movie);
        if self.view.countdown.as_ref().is_some_and(|c| !self.view.entries.iter().any(|e| e.id == c.entry)) {
            self.view.countdown = None;
        }
        let dropped = self.view.entries.len() != before;
        if dropped {
            self.changed();
        }
        dropped
    }

    /// A movie the room left, for the history (the oldest go past `MAX_HISTORY`).
    pub fn watched(&mut self, entry: WatchedEntry) {
        self.history.push_back(entry);
        while self.history.len() > MAX_HISTORY {
            self.history.pop_front();
        }
    }

    fn index_of(&self, entry: &str) -> Result<usize, Refusal> {
        self.view
            .entries
            .iter()
            .position(|e| e.id == entry)
            .ok_or_else(|| Refusal::new("unknown_entry", "no such entry in the queue"))
    }

    fn changed(&mut self) {
        self.view.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie(id: &str) -> NowPlaying {
        NowPlaying { movie: id.into(), title: format!("Title of {id}"), duration_ms: 60_000.0 }
    }

    fn ids(queue: &RoomQueue) -> Vec<String> {
        queue.view().entries.iter().map(|e| e.movie.clone()).collect()
    }

    #[test]
    fn entries_are_added_moved_and_taken_and_each_change_is_a_version() {
        let mut queue = RoomQueue::default();
        for id in ["a", "b", "c"] {
            queue.add(movie(id), "Ana", false).unwrap();
        }
        assert_eq!(ids(&queue), ["a", "b", "c"]);
        assert_eq!(queue.view().version, 3);
        let c = queue.view().entries[2].id.clone();
        queue.move_to(&c, 0, 3).unwrap();
        assert_eq!(ids(&queue), ["c", "a", "b"]);
        let stale = queue.move_to(&c, 2, 3).unwrap_err();
        assert_eq!(stale.code, "stale_queue", "someone moved it first");
        assert_eq!(queue.move_to(&c, 3, 4).unwrap_err().code, "invalid_queue");
        assert_eq!(queue.move_to("q99", 0, 4).unwrap_err().code, "unknown_entry");
        assert_eq!(queue.take(&c).unwrap().movie, "c");
        assert_eq!(ids(&queue), ["a", "b"]);
        // The same movie twice is two entries.
        queue.add(movie("a"), "Ben", true).unwrap();
        queue.add(movie("b"), "Ben", false).unwrap();
        let entries = &queue.view().entries;
        assert_ne!(entries[0].id, entries[2].id);
        assert_eq!(entries[2].added_by, "Ben");
        assert_eq!(queue.suggested_by("Ben"), 1, "what Ben added while he had control is no suggestion");
    }

    #[test]
    fn the_queue_is_bounded_and_so_is_the_history() {
        let mut queue = RoomQueue::default();
        for i in 0..MAX_QUEUE {
            queue.add(movie(&format!("m{i}")), "Ana", false).unwrap();
        }
        assert_eq!(queue.view().entries.len(), MAX_QUEUE);
        assert_eq!(queue.add(movie("one-more"), "Ana", false).unwrap_err().code, "queue_full");
        for i in 0..MAX_HISTORY + 5 {
            let watched = WatchedEntry {
                movie: format!("m{i}"),
                title: String::new(),
                started_at_ms: 0,
                ended_at_ms: 0,
                watched_ms: 0.0,
                finished: true,
            };
            queue.watched(watched);
        }
        let history = queue.history();
        assert_eq!(history.len(), MAX_HISTORY);
        assert_eq!(history[0].movie, "m5", "the oldest go");
    }

    #[test]
    fn a_countdown_names_the_next_entry_and_ends_with_it_taken() {
        let mut queue = RoomQueue::default();
        assert_eq!(queue.start_countdown(0), None, "nothing to count down to");
        queue.add(movie("a"), "Ana", false).unwrap();
        queue.set_autoplay(true, 10, None).unwrap();
        assert_eq!(queue.set_autoplay(true, MAX_COUNTDOWN_SECS + 1, None).unwrap_err().code, "invalid_queue");
        let entry = queue.start_countdown(1_000).unwrap();
        assert_eq!(queue.view().countdown, Some(Countdown { entry: entry.clone(), ends_at_ms: 11_000 }));
        assert!(queue.countdown_ended(10_999).is_none());
        assert_eq!(queue.countdown_ended(11_000).map(|e| e.id), Some(entry));
        assert!(queue.view().entries.is_empty() && !queue.counting_down());

        queue.add(movie("b"), "Ana", false).unwrap();
        queue.start_countdown(0).unwrap();
        queue.cancel_countdown().unwrap();
        assert_eq!(queue.cancel_countdown().unwrap_err().code, "no_countdown");
        assert_eq!(queue.countdown_ended(60_000), None, "cancelled: nothing starts");
        queue.set_autoplay(false, 10, None).unwrap();
        assert_eq!(queue.next_to_play(), None, "autoplay off");
    }

    #[test]
    fn a_movie_gone_from_the_catalog_leaves_the_queue_and_its_countdown() {
        let mut queue = RoomQueue::default();
        queue.add(movie("gone"), "Ana", false).unwrap();
        queue.add(movie("kept"), "Ana", false).unwrap();
        queue.add(movie("gone"), "Ana", false).unwrap();
        queue.start_countdown(0).unwrap();
        assert!(queue.drop_movie("gone"));
        assert_eq!(ids(&queue), ["kept"]);
        assert!(!queue.counting_down());
        assert!(!queue.drop_movie("gone"), "nothing more to drop");
    }

    #[test]
    fn the_store_keeps_everything_but_the_countdown() {
        let mut queue = RoomQueue::default();
        queue.add(movie("a"), "Ana", false).unwrap();
        queue.set_autoplay(false, 5, Some(true)).unwrap();
        queue.start_countdown(0);
        let stored = queue.stored(&movie("now"), 42);
        let json = serde_json::to_string(&stored).unwrap();
        let back: StoredQueue = serde_json::from_str(&json).unwrap();
        assert_eq!(back, stored);
        assert_eq!((back.title.as_str(), back.started_at_ms), ("Title of now", 42));
        let restored = RoomQueue::restore(&back, vec![]);
        assert_eq!(restored.view().entries, queue.view().entries);
        assert_eq!(
            (restored.view().autoplay, restored.view().countdown_secs, restored.view().suggestions),
            (false, 5, true)
        );
        // A room stored before queues existed reads as an empty one, autoplay on.
        let old: StoredQueue = serde_json::from_str("{}").unwrap();
        assert_eq!(old, StoredQueue::default());
        assert!(RoomQueue::restore(&old, vec![]).view().autoplay);
        let mut again = RoomQueue::restore(&back, vec![]);
        again.add(movie("b"), "Ben", false).unwrap();
        assert_ne!(again.view().entries[1].id, again.view().entries[0].id, "ids go on after a restore");
    }
}
