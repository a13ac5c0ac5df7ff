//! What each member hears and reads. Each member picks their own audio and
//! subtitles; the room keeps one clock for all and only tells everyone who
//! chose what, for the People panel. The host may suggest languages for the
//! room, which members who have not picked their own in it take.

use cinemesh_protocol::room::{MAX_LANGUAGE_TAG_LEN, MemberTracks, Role, RoomServerMessage, is_language_tag};

use super::Room;
use crate::Refusal;

impl Room {
    /// What the member hears and reads, for everyone's People panel.
    pub(super) fn tracks(&mut self, member: &str, tracks: MemberTracks) -> Result<(), Refusal> {
        check_tags(&tracks)?;
        if let Some(seat) = self.seats.get_mut(member)
            && seat.tracks != tracks
        {
            seat.tracks = tracks;
            self.members_changed(&[member], &[]);
        }
        Ok(())
    }

    /// The host's suggestion, kept with the room and sent to everyone.
    pub(super) fn suggest_tracks(&mut self, member: &str, tracks: MemberTracks) -> Result<(), Refusal> {
        if self.members.get(member).is_none_or(|m| m.role != Role::Host) {
            return Err(Refusal::new("not_allowed", "only the host suggests tracks for the room"));
        }
        check_tags(&tracks)?;
        if self.suggested_tracks != tracks {
            self.suggested_tracks = tracks.clone();
            self.save_state();
            self.broadcast(&RoomServerMessage::SuggestedTracks { tracks });
        }
        Ok(())
    }
}

fn check_tags(tracks: &MemberTracks) -> Result<(), Refusal> {
    if [&tracks.audio, &tracks.subtitles].into_iter().flatten().any(|tag| !is_language_tag(tag)) {
        return Err(Refusal::new(
            "invalid_tracks",
            format!(
                "tracks are named by BCP 47 language tags (such as fr or pt-BR) of at most {MAX_LANGUAGE_TAG_LEN} characters"
            ),
        ));
    }
    Ok(())
}
