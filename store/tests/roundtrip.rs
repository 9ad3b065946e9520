//! put/record/get/is_cached/materialize, corruption handling, verify, locks.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Barrier};

use common::*;
use dist_store::{ContentDigest, Problem, Store, StoreError};

/// Processes that open a fresh store at the same moment (two builds started together) each
/// wait for the other's first setup instead of failing with "database is locked", which SQLite
/// answers at once there without using the busy timeout (about 1 round in 4 failed before).
#[test]
fn many_opening_a_fresh_store_at_once_all_succeed() {
    for _ in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let root = Arc::new(dir.path().join("store"));
        let start = Arc::new(Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (root, start) = (root.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&root).map(|_| ())
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
        assert!(Store::open(&root).unwrap().verify().unwrap().is_ok());
    }
}

#[test]
fn open_creates_layout_and_cachedir_tag() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    assert_eq!(store.root(), root);
    for d in ["objects", "tmp", "locks", "quarantine"] {
        assert!(root.join(d).is_dir(), "{d}");
    }
    let tag = fs::read_to_string(root.join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    assert!(root.join("index.sqlite").is_file());
    drop(store);
    // Reopening runs no migration twice.
    let store = Store::open(&root).unwrap();
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn put_record_get_materialize_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s")).unwrap();

    let src = dir.path().join("input.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    fs::write(&src, &data).unwrap();
    let obj = store.put_file(&src).unwrap();
    assert_eq!(obj.digest, ContentDigest::of_bytes(&data));
    assert_eq!(obj.size, data.len() as u64);
    assert_eq!(obj.sha256.len(), 64);
    use sha2::Digest as _;
    assert_eq!(obj.sha256, hex::encode(sha2::Sha256::digest(&data)));

    let path = object_path(&store, &obj.digest);
    let hex = obj.digest.to_hex();
    assert!(path.ends_with(format!("objects/{}/{}", &hex[..2], hex)));
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o444
    );

    let small = store.put_bytes(b"checksum text\n").unwrap();
    let rec = recipe(
        "app",
        "app.tar.xz",
        &[("archive", &obj), ("sha256", &small)],
    );
    assert!(!store.is_cached(&rec.key).unwrap());
    assert_eq!(store.get(&rec.key).unwrap(), None);
    store.record(&rec).unwrap();
    assert_eq!(store.get(&rec.key).unwrap().as_ref(), Some(&rec));
    assert!(store.is_cached(&rec.key).unwrap());

    // Recording again replaces, it does not duplicate.
    store.record(&rec).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);

    let dest = dir.path().join("out/app.bin");
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    store.materialize(&rec.outputs[0], &dest).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), data);
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // Materialising over an existing file replaces it.
    store.materialize(&rec.outputs[1], &dest).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"checksum text\n");
    let exe = dir.path().join("out/app");
    store
        .materialize_mode(&rec.outputs[0], &exe, 0o755)
        .unwrap();
    assert_eq!(
        fs::metadata(&exe).unwrap().permissions().mode() & 0o777,
        0o755
    );
    // No temp files left beside the destinations.
    let mut names: Vec<_> = fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "app.bin"]);

    assert_eq!(
        store.read_verified(&small.digest, small.size).unwrap(),
        b"checksum text\n"
    );
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn record_refuses_missing_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = dist_store::ObjectInfo {
        digest: ContentDigest::of_bytes(b"never stored"),
        size: 12,
        sha256: "0".repeat(64),
    };
    let rec = recipe("ghost", "ghost", &[("out", &fake)]);
    let err = store.record(&rec).unwrap_err();
    assert!(matches!(err, StoreError::MissingObject { .. }), "{err}");
    assert_eq!(store.get(&rec.key).unwrap(), None);
}

#[test]
fn record_refuses_recipe_without_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = recipe("empty", "empty", &[]);
    let err = store.record(&rec).unwrap_err();
    match &err {
        StoreError::BadRow { key, reason } => {
            assert_eq!(key, &rec.key.to_hex());
            assert!(reason.contains("no outputs"), "{err}");
        }
        other => panic!("expected BadRow, got {other}"),
    }
    assert_eq!(store.get(&rec.key).unwrap(), None);
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn corrupt_object_is_quarantined_not_materialized() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s")).unwrap();
    let rec = add(&store, "a", b"hello world, this is an artifact");
    // A second recipe sharing the object is dropped too; an unrelated one stays.
    let obj = store
        .put_bytes(b"hello world, this is an artifact")
        .unwrap();
    let twin = recipe("twin", "twin", &[("o", &obj)]);
    store.record(&twin).unwrap();
    let other = add(&store, "b", b"unrelated");

    let out = &rec.outputs[0];
    let path = object_path(&store, &out.digest);
    flip_byte(&path, 3);

    let report = store.verify().unwrap();
    assert!(!report.is_ok());
    assert!(matches!(
        report.problems.as_slice(),
        [Problem::CorruptObject { .. }]
    ));

    let dest = dir.path().join("artifact");
    let err = store.materialize(out, &dest).unwrap_err();
    match &err {
        StoreError::Corrupt {
            digest, path: p, ..
        } => {
            assert_eq!(digest, &out.digest);
            assert_eq!(p, &path);
        }
        e => panic!("expected Corrupt, got {e}"),
    }
    assert!(err.to_string().contains("cargo dist store verify"));
    assert!(!dest.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp left");
    assert!(!path.exists());
    assert!(store
        .root()
        .join("quarantine")
        .join(out.digest.to_hex())
        .exists());
    assert!(!store.is_cached(&rec.key).unwrap());
    assert_eq!(store.get(&rec.key).unwrap(), None);
    assert_eq!(store.get(&twin.key).unwrap(), None);
    assert!(store.is_cached(&other.key).unwrap());
    assert!(store.verify().unwrap().is_ok());

    // Building it again heals the store.
    let again = add(&store, "a", b"hello world, this is an artifact");
    assert!(store.is_cached(&again.key).unwrap());
    store.materialize(&again.outputs[0], &dest).unwrap();
}

#[test]
fn read_verified_catches_truncation_and_extension() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = add(&store, "a", b"0123456789");
    let out = &rec.outputs[0];
    // Wrong expected size (as if the file had been extended or truncated).
    let err = store.read_verified(&out.digest, 5).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(!store.is_cached(&rec.key).unwrap());

    let rec = add(&store, "b", b"abcdefghij");
    let path = object_path(&store, &rec.outputs[0].digest);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&path, b"abcde").unwrap();
    // is_cached notices the size without hashing.
    assert!(!store.is_cached(&rec.key).unwrap());
    let err = store
        .read_verified(&rec.outputs[0].digest, rec.outputs[0].size)
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn missing_object_is_reported_and_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = add(&store, "a", b"bytes");
    fs::remove_file(object_path(&store, &rec.outputs[0].digest)).unwrap();
    assert!(!store.is_cached(&rec.key).unwrap());
    let report = store.verify().unwrap();
    assert!(matches!(
        report.problems.as_slice(),
        [Problem::MissingObject { .. }]
    ));
    let err = store
        .materialize(&rec.outputs[0], &dir.path().join("x"))
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingObject { .. }), "{err}");
    assert_eq!(store.get(&rec.key).unwrap(), None);
}

#[test]
fn verify_reports_dangling_rows_and_stray_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    add(&store, "a", b"aaa");
    add(&store, "b", b"bbb");
    let clean = store.verify().unwrap();
    assert!(clean.is_ok(), "{:?}", clean.problems);
    assert_eq!(clean.objects_checked, 2);
    assert_eq!(clean.outputs_checked, 2);

    // A row pointing at an object that was never stored.
    let conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute(
        "UPDATE outputs SET digest = ?1 WHERE recipe_key = ?2",
        [ContentDigest::of_bytes(b"nope").to_hex(), key("a").to_hex()],
    )
    .unwrap();
    drop(conn);
    fs::write(dir.path().join("objects/stray.txt"), b"x").unwrap();
    // tmp/ leftovers are not problems.
    fs::write(dir.path().join("tmp/put-leftover"), b"partial").unwrap();
    let report = store.verify().unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::StrayFile { .. })));
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::MissingObject { .. })));
    // The object "a" used to point at is now unreferenced but valid: not a problem.
    for p in &report.problems {
        assert!(!p.to_string().is_empty());
    }
}

#[test]
fn list_touch_and_last_recipe_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let o1 = store.put_bytes(b"one").unwrap();
    let o2 = store.put_bytes(b"two").unwrap();
    let old = recipe("v1", "app.tar.xz", &[("a", &o1)]);
    let new = recipe("v2", "app.tar.xz", &[("a", &o2)]);
    let other = recipe("z", "aaa.zip", &[("a", &o1), ("b", &o2)]);
    store.record(&old).unwrap();
    store.record(&new).unwrap();
    store.record(&other).unwrap();
    store.set_times(&old.key, 1000, 1000).unwrap();
    store.set_times(&new.key, 2000, 2000).unwrap();

    let list = store.list().unwrap();
    let labels: Vec<_> = list.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["aaa.zip", "app.tar.xz", "app.tar.xz"]);
    assert!(list[1].key < list[2].key);
    assert_eq!(list[0].total_size, 6);
    assert_eq!(list[0].outputs.len(), 2);

    let last = store.last_recipe_labelled("app.tar.xz", None).unwrap();
    assert_eq!(last.unwrap().key, new.key);
    let prev = store
        .last_recipe_labelled("app.tar.xz", Some(&new.key))
        .unwrap();
    assert_eq!(prev.unwrap().key, old.key);
    assert_eq!(store.last_recipe_labelled("nope", None).unwrap(), None);

    store.touch(&old.key).unwrap();
    let s = store
        .list()
        .unwrap()
        .into_iter()
        .find(|s| s.key == old.key)
        .unwrap();
    assert!(s.last_used > 1_600_000_000);
    assert_eq!(s.created_at, 1000);
}

#[test]
fn racing_builders_build_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    drop(Store::open(&root).unwrap());
    let k = key("shared");
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root).unwrap();
                barrier.wait();
                let _lock = store.lock(&k).unwrap();
                if store.is_cached(&k).unwrap() {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                add(&store, "shared", b"built exactly once");
                true
            })
        })
        .collect();
    let built: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(built.iter().filter(|b| **b).count(), 1, "{built:?}");
    let store = Store::open(&root).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    let report = store.verify().unwrap();
    assert!(report.is_ok());
    assert_eq!(report.objects_checked, 1);
}

#[test]
fn try_lock_sees_holder_and_release() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(dir.path()).unwrap();
    let b = Store::open(dir.path()).unwrap();
    let k = key("x");
    let held = a.lock(&k).unwrap();
    assert!(held.path().ends_with(format!("locks/{}.lock", k.to_hex())));
    assert!(b.try_lock(&k).unwrap().is_none());
    assert!(b.try_lock(&key("y")).unwrap().is_some());
    drop(held);
    assert!(b.try_lock(&k).unwrap().is_some());
}
