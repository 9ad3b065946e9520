//! Garbage collection: age, size cap, dry run, shared objects.

mod common;

use common::*;
use dist_store::{GcOptions, Store};

const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn keep_days_removes_old_recipes_and_their_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let shared = store.put_bytes(b"shared object").unwrap();
    let old_only = store.put_bytes(b"only the old recipe uses this").unwrap();
    let new_only = store.put_bytes(b"only the new recipe").unwrap();
    let old = recipe("old", "old", &[("a", &shared), ("b", &old_only)]);
    let new = recipe("new", "new", &[("a", &shared), ("b", &new_only)]);
    store.record(&old).unwrap();
    store.record(&new).unwrap();
    let t = now();
    store
        .set_times(&old.key, t - 30 * DAY, t - 30 * DAY)
        .unwrap();

    let report = store
        .gc(&GcOptions {
            keep_days: Some(7),
            max_size: None,
            dry_run: false,
            now: t,
        })
        .unwrap();
    assert_eq!(report.recipes_removed.len(), 1);
    assert_eq!(report.recipes_removed[0].key, old.key);
    assert_eq!(report.recipes_kept, 1);
    assert_eq!(report.objects_removed, 1);
    assert_eq!(report.bytes_freed, old_only.size);
    assert_eq!(report.bytes_kept, shared.size + new_only.size);

    assert_eq!(store.get(&old.key).unwrap(), None);
    assert!(store.is_cached(&new.key).unwrap());
    assert!(object_path(&store, &shared.digest).exists());
    assert!(!object_path(&store, &old_only.digest).exists());
    assert!(store.verify().unwrap().is_ok());

    // Nothing more to do.
    let again = store
        .gc(&GcOptions {
            keep_days: Some(7),
            now: t,
            ..GcOptions::default()
        })
        .unwrap();
    assert_eq!(again.objects_removed, 0);
    assert!(again.recipes_removed.is_empty());
}

#[test]
fn max_size_evicts_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = now();
    let mut recs = Vec::new();
    for (i, name) in ["oldest", "middle", "newest"].iter().enumerate() {
        let rec = add(&store, name, &vec![i as u8; 1000]);
        store
            .set_times(&rec.key, t - 100 + i as i64, t - 100 + i as i64)
            .unwrap();
        recs.push(rec);
    }
    let report = store
        .gc(&GcOptions {
            keep_days: None,
            max_size: Some(2500),
            dry_run: false,
            now: t,
        })
        .unwrap();
    assert_eq!(report.recipes_removed.len(), 1);
    assert_eq!(report.recipes_removed[0].label, "oldest.bin");
    assert_eq!(report.bytes_freed, 1000);
    assert_eq!(report.bytes_kept, 2000);
    assert_eq!(store.get(&recs[0].key).unwrap(), None);
    assert!(store.is_cached(&recs[1].key).unwrap());
    assert!(store.is_cached(&recs[2].key).unwrap());

    // Touching makes a recipe the most recent; it then survives a tighter cap.
    store.touch(&recs[1].key).unwrap();
    let report = store
        .gc(&GcOptions {
            max_size: Some(1000),
            now: t,
            ..GcOptions::default()
        })
        .unwrap();
    assert_eq!(report.recipes_removed[0].key, recs[2].key);
    assert!(store.is_cached(&recs[1].key).unwrap());
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn shared_objects_count_once_against_max_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let obj = store.put_bytes(&[1u8; 1000]).unwrap();
    for name in ["a", "b", "c"] {
        store.record(&recipe(name, name, &[("o", &obj)])).unwrap();
    }
    let report = store
        .gc(&GcOptions {
            max_size: Some(1000),
            now: now(),
            ..GcOptions::default()
        })
        .unwrap();
    assert!(report.recipes_removed.is_empty());
    assert_eq!(report.bytes_kept, 1000);
}

#[test]
fn dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = add(&store, "old", b"old bytes");
    add(&store, "new", b"new bytes");
    let t = now();
    store
        .set_times(&rec.key, t - 90 * DAY, t - 90 * DAY)
        .unwrap();
    let before = snapshot(&store);
    let report = store
        .gc(&GcOptions {
            keep_days: Some(30),
            max_size: Some(0),
            dry_run: true,
            now: t,
        })
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.recipes_removed.len(), 2);
    assert_eq!(report.objects_removed, 2);
    assert_eq!(report.bytes_freed, 18);
    assert_eq!(snapshot(&store), before);
}

#[test]
fn stale_tmp_and_orphans_respect_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // A fresh orphan (a build that has not recorded yet) and a fresh tmp
    // file must survive.
    let orphan = store.put_bytes(b"in-flight build output").unwrap();
    std::fs::write(dir.path().join("tmp/put-inflight"), b"x").unwrap();
    // An old tmp file goes.
    let stale = dir.path().join("tmp/put-stale");
    let f = std::fs::File::create(&stale).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    drop(f);
    let report = store
        .gc(&GcOptions {
            now: now(),
            ..GcOptions::default()
        })
        .unwrap();
    assert_eq!(report.objects_removed, 0);
    assert_eq!(report.tmp_files_removed, 1);
    assert!(object_path(&store, &orphan.digest).exists());
    assert!(dir.path().join("tmp/put-inflight").exists());
    assert!(!stale.exists());
}
