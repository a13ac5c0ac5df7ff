//! What each member hears and reads. Each member picks their own audio and
//! subtitles; the room keeps one clock for all and only tells everyone who
//! chose what, for the People panel.

use cinemesh_protocol::room::{MAX_LANGUAGE_TAG_LEN, MemberTracks, is_language_tag};

use super::Room;
use crate::Refusal;

impl Room {
    /// What the member hears and reads, for everyone's People panel.
    pub(super) fn tracks(&mut self, member: &str, tracks: MemberTracks) -> Result<(), Refusal> {
        let tags = [&tracks.audio, &tracks.subtitles];
        if tags.into_iter().flatten().any(|tag| !is_language_tag(tag)) {
            return Err(Refusal::new(
                "invalid_tracks",
                format!(
                    "tracks are named by BCP 47 language tags (such as fr or pt-BR) of at most {MAX_LANGUAGE_TAG_LEN} characters"
                ),
            ));
        }
        if let Some(seat) = self.seats.get_mut(member)
            && seat.tracks != tracks
        {
            seat.tracks = tracks;
            self.members_changed(&[member], &[]);
        }
        Ok(())
    }
}
