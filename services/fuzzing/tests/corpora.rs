//! Replays every input kept in `fuzz/corpus/<target>/` through its target, so
//! what the fuzzer found (and every crash it found, which is kept there once
//! fixed) is checked by the ordinary test run on the stable toolchain.

use std::path::PathBuf;

/// A corpus this small means it was lost or never minimized into the repository.
const FEWEST_INPUTS: usize = 20;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

#[test]
fn every_kept_input_passes_its_target() {
    for (target, check) in cinemesh_fuzzing::TARGETS {
        let dir = corpus_dir(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let input = std::fs::read(&path).expect("a corpus file");
            if let Err(panic) = std::panic::catch_unwind(|| check(&input)) {
                std::panic::resume_unwind(Box::new(format!("{target}: {} fails: {panic:?}", path.display())));
            }
            replayed += 1;
        }
        assert!(replayed >= FEWEST_INPUTS, "{target}: only {replayed} inputs in {}", dir.display());
        println!("{target}: {replayed} inputs replayed");
    }
}

#[test]
fn inputs_each_decoder_accepts_reach_the_invariants() {
    // Corpus files may all be refusals; these are accepted, so each target's assertions run.
    let handshake = [0, 0, 0, 3, 1, 0, 1];
    assert!(cinemesh_protocol::peer_wire::WireMessage::decode(&handshake).is_ok());
    cinemesh_fuzzing::peer_wire(&handshake);

    let path = "movie/720p/seg_00001.ts";
    assert!(cinemesh_segments::MediaPath::parse(path).is_ok());
    cinemesh_fuzzing::media_path(path.as_bytes());

    let mut range = 100u64.to_le_bytes().to_vec();
    range.extend_from_slice(b"bytes=-500");
    assert!(matches!(cinemesh_segments::parse_range("bytes=-500", 100), cinemesh_segments::RangeRequest::Partial(_)));
    cinemesh_fuzzing::range_header(&range);

    // A binding request (type 1, no attributes, the magic cookie, a transaction id).
    let mut binding = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    binding.extend_from_slice(&[7; 12]);
    let mut message = stun::message::Message { raw: binding.clone(), ..Default::default() };
    assert!(message.decode().is_ok());
    cinemesh_fuzzing::stun_message(&binding);

    let chat = r#"{"type":"chat","text":"hello"}"#;
    assert!(serde_json::from_str::<cinemesh_protocol::room::RoomClientMessage>(chat).is_ok());
    cinemesh_fuzzing::room_message(chat.as_bytes());
}
