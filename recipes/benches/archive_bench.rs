//! Compression throughput and output size of each archive format on the same 20 MB of
//! binary-like input, next to the floor: blake3 and sha256 over the same bytes.
//!
//! Run with `cargo bench -p dist-recipes --bench archive_bench`.

// Tests and benches set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dist_recipes::archive::{sha256_file, write_archive, ArchiveEntry, ArchiveFormat, EntryMode};
use dist_recipes::vocab::Vocabulary;

const INPUT_LEN: usize = 20 * 1024 * 1024;

fn main() {
    let dir = tempfile::tempdir().expect("create a temp dir for the bench");
    let (input, origin) = input_bytes();
    let source = dir.path().join("app");
    fs::write(&source, &input).expect("write the bench input");
    let mb = input.len() as f64 / 1_000_000.0;

    println!("input: {mb:.1} MB (20 MiB) from {origin}; MB/s is of input, 1 MB = 10^6 bytes");
    println!(
        "{:<10} {:>10} {:>12} {:>8} {:>10}",
        "format", "MB/s", "out bytes", "ratio", "time"
    );

    let hash_time = best_of(3, || {
        black_box(blake3::hash(black_box(&input)));
    });
    report_floor("blake3", mb, hash_time);
    let sha_time = best_of(1, || {
        black_box(sha256_file(&source).expect("hash the bench input"));
    });
    report_floor("sha256", mb, sha_time);

    let entries = [ArchiveEntry {
        path: "bin/app".to_owned(),
        source: source.clone(),
        mode: EntryMode::Executable,
    }];
    for &format in ArchiveFormat::ALL {
        let out = dir.path().join(format!("app{}", format.extension()));
        // One run each: the slow formats take seconds, and a bench that takes minutes is not run.
        let time = best_of(1, || {
            write_archive(format, "app-1.0.0", &entries, &out).expect("write the bench archive");
        });
        let size = fs::metadata(&out).expect("stat the bench archive").len();
        println!(
            "{:<10} {:>10.1} {:>12} {:>7.1}% {:>9.2}s",
            format.extension(),
            mb / time.as_secs_f64(),
            size,
            100.0 * size as f64 / input.len() as f64,
            time.as_secs_f64()
        );
    }
}

fn report_floor(name: &str, mb: f64, time: Duration) {
    println!(
        "{:<10} {:>10.1} {:>12} {:>8} {:>9.2}s",
        name,
        mb / time.as_secs_f64(),
        "-",
        "-",
        time.as_secs_f64()
    );
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Real machine code compresses like a release binary does, unlike random or repeated bytes:
/// the `cargo` binary running this bench, else this bench's own executable, repeated to 20 MB.
fn input_bytes() -> (Vec<u8>, String) {
    let candidates: Vec<PathBuf> = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::current_exe().ok())
        .collect();
    for path in candidates {
        if let Some(bytes) = repeat_to_len(&path) {
            return (bytes, path.display().to_string());
        }
    }
    panic!(
        "no binary to read bench input from: neither $CARGO nor the bench executable is readable"
    );
}

fn repeat_to_len(path: &Path) -> Option<Vec<u8>> {
    let bytes = fs::read(fs::canonicalize(path).ok()?).ok()?;
    if bytes.is_empty() {
        return None;
    }
    Some(bytes.iter().copied().cycle().take(INPUT_LEN).collect())
}
