//! Rough throughput figures for the store. Run with
//! `cargo bench -p dist-store --bench store_bench`.

use std::collections::BTreeMap;
use std::fs;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use dist_store::{CanonHasher, ContentDigest, OutputRecord, RecipeKey, RecipeRecord, Store};

fn fill(rng: &mut u64, buf: &mut [u8]) {
    // xorshift: cheap incompressible-ish bytes without a dependency.
    for chunk in buf.chunks_mut(8) {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        let b = rng.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let files = hashing(dir.path(), &mut rng);
    let store = Store::open(&dir.path().join("store")).unwrap();
    let keys = records(&store, dir.path(), &mut rng);
    lookups(&store, &keys);
    verify(&store, &files);
}

/// A ~200 MB tree of mixed sizes (4 x 32 MB, 64 x 1 MB, 1000 x 8 KB), hashed warm.
fn hashing(dir: &std::path::Path, rng: &mut u64) -> Vec<PathBuf> {
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut total = 0u64;
    for (count, size) in [(4usize, 32 << 20), (64, 1 << 20), (1000, 8 << 10)] {
        let mut buf = vec![0u8; size];
        for i in 0..count {
            fill(rng, &mut buf);
            let p = tree.join(format!("{size}-{i}"));
            fs::write(&p, &buf).unwrap();
            files.push(p);
            total += size as u64;
        }
    }
    // Warm the page cache, then time hashing.
    for f in &files {
        black_box(ContentDigest::of_file(f).unwrap());
    }
    let t = Instant::now();
    for f in &files {
        black_box(ContentDigest::of_file(f).unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "of_file:            {:>8.2} GB/s  ({} files, {} MB, {:.3} s)",
        total as f64 / secs / 1e9,
        files.len(),
        total >> 20,
        secs
    );
    files
}

/// put_file + record of small objects; returns their keys.
fn records(store: &Store, dir: &std::path::Path, rng: &mut u64) -> Vec<RecipeKey> {
    let small = dir.join("small");
    fs::create_dir(&small).unwrap();
    let n = 2000;
    let mut keys: Vec<RecipeKey> = Vec::with_capacity(n);
    let mut srcs = Vec::with_capacity(n);
    for i in 0..n {
        let mut buf = vec![0u8; 1024 + (i % 16) * 1024];
        fill(rng, &mut buf);
        let p = small.join(format!("s{i}"));
        fs::write(&p, &buf).unwrap();
        srcs.push(p);
    }
    let t = Instant::now();
    for (i, p) in srcs.iter().enumerate() {
        let obj = store.put_file(p).unwrap();
        let mut h = CanonHasher::new("bench", 1);
        h.u64("i", i as u64);
        let key: RecipeKey = h.finish();
        let mut inputs = BTreeMap::new();
        inputs.insert("i".to_owned(), i.to_string());
        store
            .record(&RecipeRecord {
                key,
                kind: "bench".into(),
                label: format!("obj-{i}"),
                inputs,
                outputs: vec![OutputRecord::new("out", &obj)],
                isolation: None,
            })
            .unwrap();
        keys.push(key);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "put_file+record:    {:>8.0} records/s  ({n} objects of 1-16 KB, {:.2} s; fsync-bound)",
        n as f64 / secs,
        secs
    );
    keys
}

/// `is_cached` one key at a time, and `get_cached_many` of them all in one read transaction.
fn lookups(store: &Store, keys: &[RecipeKey]) {
    let n = keys.len();
    let t = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        for k in keys {
            assert!(store.is_cached(k).unwrap());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "is_cached:          {:>8.0} lookups/s",
        (rounds * n) as f64 / secs
    );
    let t = Instant::now();
    for _ in 0..rounds {
        assert_eq!(store.get_cached_many(keys).unwrap().len(), n);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "get_cached_many:    {:>8.0} records/s  (whole records, {n} per call)",
        (rounds * n) as f64 / secs
    );
}

/// Verify over the small objects plus the big tree.
fn verify(store: &Store, files: &[PathBuf]) {
    for f in files.iter().take(4 + 64) {
        store.put_file(f).unwrap();
    }
    let t = Instant::now();
    let report = store.verify().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.is_ok());
    println!(
        "verify:             {:>8.0} MB/s  ({} objects, {} MB, {:.2} s)",
        report.bytes_hashed as f64 / secs / 1e6,
        report.objects_checked,
        report.bytes_hashed >> 20,
        secs
    );
}
