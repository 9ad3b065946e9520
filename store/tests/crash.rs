//! kill -9 a writer at random moments; the store must always verify.

// Tests and benches set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dist_store::Store;

const ROOT_VAR: &str = "DIST_STORE_CRASH_WRITER_ROOT";

/// Not a test on its own: when the env var is set, this is the child
/// process the crash test spawns and kills. It writes forever.
#[test]
fn crash_writer_child() {
    let Some(root) = std::env::var_os(ROOT_VAR) else {
        return;
    };
    let root = PathBuf::from(root);
    let store = Store::open(&root).unwrap();
    let src = root.join("..").join(format!("src-{}", std::process::id()));
    let mut rng = fastrand::Rng::new();
    for i in 0u64.. {
        let len = rng.usize(0..256 * 1024);
        let mut data = vec![0u8; len];
        rng.fill(&mut data);
        let obj = if i % 2 == 0 {
            store.put_bytes(&data).unwrap()
        } else {
            std::fs::write(&src, &data).unwrap();
            store.put_file(&src).unwrap()
        };
        // Some recipes share an object, some replace an existing key.
        let shared = store.put_bytes(&[(i % 7) as u8; 1000]).unwrap();
        let name = format!("r{}", rng.u64(0..1_000_000));
        let rec = common::recipe(&name, &name, &[("main", &obj), ("shared", &shared)]);
        store.record(&rec).unwrap();
    }
}

#[test]
fn kill_9_leaves_a_verifiable_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    drop(Store::open(&root).unwrap());
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for round in 0..15 {
        let mut child = Command::new(&exe)
            .args(["crash_writer_child", "--exact", "--test-threads=1"])
            .env(ROOT_VAR, &root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let the first child get going so later rounds kill mid-write, not
        // mid-startup.
        let wait = if round == 0 { 300 } else { rng.u64(5..50) };
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL on unix
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "writer exited by itself after {:?}: {status}",
            start.elapsed()
        );

        let store = Store::open(&root).unwrap();
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "round {round}: {:#?}", report.problems);
        for s in store.list().unwrap() {
            assert!(store.is_cached(&s.key).unwrap(), "round {round}: {}", s.key);
        }
    }
    let store = Store::open(&root).unwrap();
    assert!(
        !store.list().unwrap().is_empty(),
        "the writer never recorded anything; the test did not exercise crashes"
    );
}
