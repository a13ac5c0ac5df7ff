//! The web client's copy of the wire types, generated from these Rust types
//! (ts-rs) into `web/src/protocol/`. A test fails when the committed files
//! are stale; `CINEMESH_UPDATE_BINDINGS=1 cargo test -p cinemesh-protocol`
//! rewrites them.

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ts_rs::TS;

    use crate::SegmentRanges;
    use crate::ice::{IcePair, IceServer};
    use crate::lobby::{LobbyClientMessage, LobbyServerMessage, UserView};
    use crate::room::{
        AudioFetchPlan, BanView, ChatKind, ChatMessage, ControlPolicy, MemberHealth, MemberTracks, MemberView,
        OriginFetch, PlaybackCommand, PlaybackState, Reaction, Role, RoomClientMessage, RoomServerMessage, StreamKind,
    };
    use crate::room_queue::{Countdown, NowPlaying, QueueEntry, QueueView, WatchedEntry};
    use crate::tracker::{ClientMessage, Holder, ReportReason, ServerMessage, Signal, SwarmKey};

    fn rendered() -> Vec<(String, String)> {
        fn one<T: TS + 'static>() -> (String, String) {
            // Counters are u64 in Rust and plain numbers in JSON and JavaScript.
            let config = ts_rs::Config::new().with_large_int("number");
            let text = T::export_to_string(&config).unwrap_or_else(|e| panic!("rendering {}: {e}", T::name(&config)));
            (format!("{}.ts", T::name(&config)), text)
        }
        vec![
            one::<ClientMessage>(),
            one::<ServerMessage>(),
            one::<Signal>(),
            one::<ReportReason>(),
            one::<IcePair>(),
            one::<IceServer>(),
            one::<Holder>(),
            one::<SwarmKey>(),
            one::<SegmentRanges>(),
            one::<RoomClientMessage>(),
            one::<RoomServerMessage>(),
            one::<PlaybackState>(),
            one::<PlaybackCommand>(),
            one::<ControlPolicy>(),
            one::<Role>(),
            one::<MemberView>(),
            one::<MemberTracks>(),
            one::<AudioFetchPlan>(),
            one::<QueueEntry>(),
            one::<QueueView>(),
            one::<Countdown>(),
            one::<NowPlaying>(),
            one::<WatchedEntry>(),
            one::<MemberHealth>(),
            one::<OriginFetch>(),
            one::<StreamKind>(),
            one::<Reaction>(),
            one::<BanView>(),
            one::<ChatMessage>(),
            one::<ChatKind>(),
            one::<LobbyClientMessage>(),
            one::<LobbyServerMessage>(),
            one::<UserView>(),
            ("limits.ts".to_owned(), limits()),
        ]
    }

    /// The limits the page keeps to before the server would refuse.
    fn limits() -> String {
        use crate::room::{MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_ORIGIN_FETCHES, MAX_SIGNAL_BYTES, MAX_VIDEO_SENDERS};
        use crate::tracker::MAX_LANES;
        let mut text = String::from("// Generated from services/protocol/src/{room,tracker}.rs. Do not edit.\n\n");
        for (name, value) in [
            ("MAX_NAME_CHARS", MAX_NAME_CHARS),
            ("MAX_CHAT_CHARS", MAX_CHAT_CHARS),
            ("MAX_SIGNAL_BYTES", MAX_SIGNAL_BYTES),
            ("MAX_VIDEO_SENDERS", MAX_VIDEO_SENDERS),
            ("MAX_ORIGIN_FETCHES", MAX_ORIGIN_FETCHES),
            ("MAX_LANES", usize::from(MAX_LANES)),
        ] {
            text.push_str(&format!("export const {name} = {value};\n"));
        }
        text
    }

    #[test]
    fn web_bindings_match_the_rust_types() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/src/protocol");
        let update = std::env::var_os("CINEMESH_UPDATE_BINDINGS").is_some();
        for (file, text) in rendered() {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "web/src/protocol/{file} is stale: run CINEMESH_UPDATE_BINDINGS=1 cargo test -p cinemesh-protocol"
            );
        }
    }
}
