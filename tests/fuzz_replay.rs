//! Stable-Rust regression check for the fuzz targets: every file of the committed seed corpus
//! (`fuzz/corpus/<target>/`) goes through the same target function that cargo-fuzz runs
//! (`fuzz/targets.rs`), followed by a few thousand cheap, deterministic mutations of those
//! files (bit flips, byte changes, truncations, splices). No nightly and no fuzzing time
//! needed; a crash the fuzzer finds is fixed and its input added to the corpus, and this test
//! keeps it fixed.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutated inputs per target.
const MUTATIONS: usize = 10_000;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read corpus file"))
        })
        .collect()
}

/// One random edit of the kinds libFuzzer starts with.
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let edits = 1 + rng.random_range(0..4);
    for _ in 0..edits {
        match rng.random_range(0..8) {
            0 | 1 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] ^= 1 << rng.random_range(0..8);
            }
            2 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] = *[
                    0x00, 0x01, 0x7F, 0x80, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF, b'\'', b';',
                ]
                .get(rng.random_range(0..11))
                .unwrap();
            }
            3 if !v.is_empty() => v.truncate(rng.random_range(0..v.len())),
            4 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v.remove(i);
            }
            5 => {
                let i = rng.random_range(0..=v.len());
                v.insert(i, rng.random());
            }
            6 if !other.is_empty() => {
                // splice: a piece of another corpus file
                let a = rng.random_range(0..other.len());
                let b = rng.random_range(a..=other.len().min(a + 64));
                let i = rng.random_range(0..=v.len());
                v.splice(i..i, other[a..b].iter().copied());
            }
            _ if v.len() >= 2 => {
                // duplicate a piece in place (repeated packets / clauses)
                let a = rng.random_range(0..v.len());
                let b = rng.random_range(a..=v.len().min(a + 32));
                let piece = v[a..b].to_vec();
                v.splice(b..b, piece);
            }
            _ => v.push(rng.random()),
        }
    }
    v
}

#[test]
fn corpus_and_mutations_do_not_crash() {
    for (target, run) in targets::TARGETS {
        let files = corpus(target);
        assert!(
            files.len() >= 5,
            "{target}: only {} seed files in {}",
            files.len(),
            corpus_dir(target).display()
        );
        for (name, data) in &files {
            // A panic names the file that caused it.
            let r = std::panic::catch_unwind(|| run(data));
            assert!(r.is_ok(), "{target}: corpus file {name} crashed");
        }
        let mut rng = StdRng::seed_from_u64(0x5EED_F022 ^ target.len() as u64);
        for i in 0..MUTATIONS {
            let (_, base) = &files[rng.random_range(0..files.len())];
            let (_, other) = &files[rng.random_range(0..files.len())];
            let input = mutate(&mut rng, base, other);
            let r = std::panic::catch_unwind(|| run(&input));
            assert!(
                r.is_ok(),
                "{target}: mutation {i} crashed; input (hex): {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
    }
}
