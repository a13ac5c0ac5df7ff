//! What each member hears and reads, over real WebSockets: a member's audio
//! and subtitle languages reach everyone's roster, a change replaces them, a
//! tag that is not a language is refused with `invalid_tracks` and changes
//! nothing, and the choice outlives a dropped socket's resume. Only the host
//! suggests languages for the room; the suggestion reaches everyone, comes
//! with a joiner's welcome and is kept with the room across a restart.

use cinemesh_protocol::room::{MemberTracks, RoomClientMessage, RoomServerMessage};

use crate::room_client::RoomClient;
use crate::rooms::app_with_room;

fn tracks(audio: Option<&str>, subtitles: Option<&str>) -> RoomClientMessage {
    RoomClientMessage::Tracks { audio: audio.map(Into::into), subtitles: subtitles.map(Into::into) }
}

#[actix_web::test]
async fn each_members_languages_reach_everyone_and_bad_tags_are_refused() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, _) = RoomClient::join(&app, &room, "Ana", None).await;
    let (mut ben, welcome) = RoomClient::join(&app, &room, "Ben", None).await;
    let RoomServerMessage::Welcome { resume_token, .. } = welcome else { panic!("welcome: {welcome:?}") };
    let ben_id = ben.member.clone();

    ben.send(&tracks(Some("en"), Some("fr"))).await;
    let seen =
        ana.until_roster(|r| r.members.get(&ben_id).map(|m| m.tracks.clone()).filter(|t| t.audio.is_some())).await;
    assert_eq!(seen, MemberTracks { audio: Some("en".into()), subtitles: Some("fr".into()) });

    ben.send(&tracks(Some("pt-BR"), None)).await;
    let seen =
        ana.until_roster(|r| r.members.get(&ben_id).map(|m| m.tracks.clone()).filter(|t| t.subtitles.is_none())).await;
    assert_eq!(seen.audio.as_deref(), Some("pt-BR"), "subtitles off");

    for bad in ["<script>", "e", "english language", "en-\u{7}", &"a".repeat(40), "en--fr", "12"] {
        ben.send(&tracks(Some(bad), None)).await;
        assert_eq!(ben.error_code().await, "invalid_tracks", "{bad:?}");
        ben.send(&tracks(None, Some(bad))).await;
        assert_eq!(ben.error_code().await, "invalid_tracks", "{bad:?}");
    }

    // A dropped socket that comes back keeps its choice.
    drop(ben);
    ana.until_roster(|r| r.members.get(&ben_id).filter(|m| !m.online).map(|_| ())).await;
    let (_ben, _) = RoomClient::resume(&app, &room, &resume_token).await;
    let back = ana.until_roster(|r| r.members.get(&ben_id).filter(|m| m.online).cloned()).await;
    assert_eq!(back.tracks.audio.as_deref(), Some("pt-BR"), "{back:?}");
}

fn suggest(audio: Option<&str>, subtitles: Option<&str>) -> RoomClientMessage {
    RoomClientMessage::SuggestTracks { audio: audio.map(Into::into), subtitles: subtitles.map(Into::into) }
}

fn suggested_in(welcome: &RoomServerMessage) -> MemberTracks {
    match welcome {
        RoomServerMessage::Welcome { suggested_tracks, .. } => suggested_tracks.clone(),
        other => panic!("not a welcome: {other:?}"),
    }
}

#[actix_web::test]
async fn the_hosts_suggestion_reaches_everyone_and_joiners_and_survives_a_restart() {
    let (app, room) = app_with_room(None).await;
    let (mut ana, welcome) = RoomClient::join(&app, &room, "Ana", None).await;
    assert_eq!(suggested_in(&welcome), MemberTracks::default(), "no suggestion yet");
    let (mut ben, _) = RoomClient::join(&app, &room, "Ben", None).await;

    ben.send(&suggest(Some("fr"), None)).await;
    assert_eq!(ben.error_code().await, "not_allowed", "only the host suggests");
    ana.send(&suggest(Some("fr"), Some("xx yy"))).await;
    assert_eq!(ana.error_code().await, "invalid_tracks");

    ana.send(&suggest(Some("fr"), Some("en"))).await;
    let wanted = MemberTracks { audio: Some("fr".into()), subtitles: Some("en".into()) };
    for member in [&mut ana, &mut ben] {
        let heard = member.until(|m| match m {
            RoomServerMessage::SuggestedTracks { tracks } => Some(tracks),
            _ => None,
        });
        assert_eq!(heard.await, wanted);
    }
    let (_cy, welcome) = RoomClient::join(&app, &room, "Cy", None).await;
    assert_eq!(suggested_in(&welcome), wanted, "a joiner hears it in its welcome");

    drop((ana, ben, _cy));
    actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
    app.flush_room_writes().await;
    let again = app.restart().await;
    let (_dee, welcome) = RoomClient::join(&again, &room, "Dee", None).await;
    assert_eq!(suggested_in(&welcome), wanted, "kept with the room");
}
