//! A mutation fuzzer on the stable toolchain, for machines without
//! cargo-fuzz: starts from a target's kept corpus and mutates inputs (bit
//! flips, interesting bytes, length fields, inserts, cuts, splices) for a
//! time, keeping mutants whose outcome class is new (a crude stand-in for
//! coverage: the target's decoders tell success from each error apart by the
//! input's first bytes and length only). A panic is a find: the input is
//! written to `fuzz/artifacts/<target>/` and the run fails.
//!   cargo run --release -p cinemesh-fuzzing --bin mutate -- TARGET SECONDS
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MAX_INPUT: usize = 2048;
/// Mutants kept beside the corpus at most: the kept corpus stays half of what is mutated.
const MAX_KEPT: usize = 2000;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("usage: mutate TARGET SECONDS");
    let seconds: u64 = args.next().map_or(60, |s| s.parse().expect("SECONDS is a number"));
    let (_, target) =
        cinemesh_fuzzing::TARGETS.iter().find(|(n, _)| *n == name).expect("a target of cinemesh_fuzzing::TARGETS");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let corpus: Vec<Vec<u8>> = std::fs::read_dir(root.join("corpus").join(&name))
        .expect("the target's corpus")
        .map(|entry| std::fs::read(entry.expect("an entry").path()).expect("a corpus file"))
        .collect();
    assert!(!corpus.is_empty(), "an empty corpus");
    let mut kept: Vec<Vec<u8>> = Vec::new();
    // Panics are finds, reported below: not printed once per input.
    std::panic::set_hook(Box::new(|_| {}));
    let mut seen: HashSet<(usize, Vec<u8>)> = HashSet::new();
    let mut rng = fastrand::Rng::with_seed(u64::from(std::process::id()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut finds) = (0u64, 0u64);
    while Instant::now() < deadline {
        for _ in 0..1000 {
            let pool = if kept.is_empty() || rng.bool() { &corpus } else { &kept };
            let mut input = pool[rng.usize(..pool.len())].clone();
            for _ in 0..rng.usize(1..=6) {
                mutate(&mut rng, &mut input, &corpus);
            }
            input.truncate(MAX_INPUT);
            runs += 1;
            if std::panic::catch_unwind(|| target(&input)).is_err() {
                finds += 1;
                let dir = root.join("artifacts").join(&name);
                std::fs::create_dir_all(&dir).expect("the artifacts folder");
                let file = dir.join(format!("crash-{runs}"));
                std::fs::write(&file, &input).expect("writing a find");
                eprintln!("{name}: a panic, input kept in {}", file.display());
            }
            // An input of a new (length class, first bytes) shape joins the pool.
            let shape = (input.len().next_power_of_two(), input.iter().take(4).copied().collect::<Vec<u8>>());
            if kept.len() < MAX_KEPT && seen.insert(shape) {
                kept.push(input);
            }
        }
    }
    println!(
        "{name}: {runs} runs in {seconds} s, {} corpus inputs and {} mutants kept, {finds} finds",
        corpus.len(),
        kept.len()
    );
    if finds > 0 {
        std::process::exit(1);
    }
}

fn mutate(rng: &mut fastrand::Rng, input: &mut Vec<u8>, pool: &[Vec<u8>]) {
    const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x40, 0x21, 0x12];
    if input.is_empty() {
        input.push(rng.u8(..));
        return;
    }
    let at = rng.usize(..input.len());
    match rng.u8(..8) {
        0 => input[at] ^= 1 << rng.u8(..8),
        1 => input[at] = INTERESTING[rng.usize(..INTERESTING.len())],
        2 => input[at] = rng.u8(..),
        // A 16-bit length field (a STUN header's, an attribute's), true or not.
        3 if input.len() >= at + 2 => {
            let value = if rng.bool() {
                rng.u16(..)
            } else {
                u16::try_from(input.len().saturating_sub(at + 2)).unwrap_or(u16::MAX)
            };
            input[at..at + 2].copy_from_slice(&value.to_be_bytes());
        }
        4 => {
            let bytes: Vec<u8> = (0..rng.usize(1..=16)).map(|_| rng.u8(..)).collect();
            input.splice(at..at, bytes);
        }
        5 => {
            let end = (at + rng.usize(1..=16)).min(input.len());
            input.drain(at..end);
        }
        6 => {
            let other = &pool[rng.usize(..pool.len())];
            if !other.is_empty() {
                let from = rng.usize(..other.len());
                let take = rng.usize(1..=(other.len() - from));
                input.truncate(at);
                input.extend_from_slice(&other[from..from + take]);
            }
        }
        _ => {
            let end = (at + rng.usize(1..=8)).min(input.len());
            let copy = input[at..end].to_vec();
            input.splice(end..end, copy);
        }
    }
}
