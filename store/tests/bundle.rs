//! export/import: determinism, round trip, and refusal of hostile bundles.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use dist_store::{ContentDigest, Store, StoreError, BUNDLE_INDEX};

fn populated(root: &Path) -> Store {
    let store = Store::open(root).unwrap();
    let a = store.put_bytes(b"artifact a").unwrap();
    let b = store.put_bytes(&vec![7u8; 100_000]).unwrap();
    store
        .record(&recipe("a", "a.tar.xz", &[("archive", &a), ("big", &b)]))
        .unwrap();
    store
        .record(&recipe("b", "b.zip", &[("archive", &b)]))
        .unwrap();
    store
}

#[test]
fn export_is_deterministic_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let src = populated(&dir.path().join("src"));
    let b1 = dir.path().join("one.tar");
    let b2 = dir.path().join("two.tar");
    let r1 = src.export(&b1, None).unwrap();
    // Timestamps must not leak into the bundle.
    src.touch(&key("a")).unwrap();
    src.set_times(&key("b"), 5, 6).unwrap();
    src.export(&b2, None).unwrap();
    assert_eq!(r1.recipes, 2);
    assert_eq!(r1.objects, 2);
    assert_eq!(r1.bytes, fs::metadata(&b1).unwrap().len());
    assert_eq!(fs::read(&b1).unwrap(), fs::read(&b2).unwrap());

    // First entry is the index; all entries are plain, fixed-metadata files.
    let mut ar = tar::Archive::new(fs::File::open(&b1).unwrap());
    let entries: Vec<_> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.mtime().unwrap(), 0);
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.gid().unwrap(), 0);
            assert_eq!(h.mode().unwrap(), 0o644);
            e.path().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(entries[0], BUNDLE_INDEX);
    assert_eq!(entries.len(), 3);
    assert!(entries[1] < entries[2]);

    let dst = Store::open(&dir.path().join("dst")).unwrap();
    let rep = dst.import(&b1).unwrap();
    assert_eq!(rep.recipes, 2);
    assert_eq!(rep.objects_added, 2);
    assert!(dst.verify().unwrap().is_ok());
    for k in [key("a"), key("b")] {
        assert_eq!(dst.get(&k).unwrap(), src.get(&k).unwrap());
        assert!(dst.is_cached(&k).unwrap());
    }
    // Same content, different store: same bundle bytes.
    let b3 = dir.path().join("three.tar");
    dst.export(&b3, None).unwrap();
    assert_eq!(fs::read(&b1).unwrap(), fs::read(&b3).unwrap());

    // Importing again is idempotent.
    let rep = dst.import(&b1).unwrap();
    assert_eq!(rep.objects_added, 0);
    assert_eq!(rep.objects_present, 2);
    assert_eq!(dst.list().unwrap().len(), 2);
    assert!(dst.verify().unwrap().is_ok());
}

#[test]
fn export_subset_and_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let src = populated(&dir.path().join("src"));
    let bundle = dir.path().join("b.tar");
    let rep = src.export(&bundle, Some(&[key("b")])).unwrap();
    assert_eq!((rep.recipes, rep.objects), (1, 1));
    let err = src.export(&bundle, Some(&[key("zzz")])).unwrap_err();
    assert!(matches!(err, StoreError::UnknownRecipe { .. }), "{err}");
}

#[test]
fn unknown_recipe_message_names_the_real_command() {
    let dir = tempfile::tempdir().unwrap();
    let src = populated(&dir.path().join("src"));
    let err = src
        .export(&dir.path().join("b.tar"), Some(&[key("zzz")]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`cargo dist store ls`"), "{msg}");
    assert!(!msg.contains("store list"), "{msg}");
}

#[test]
fn export_refuses_corrupt_object() {
    let dir = tempfile::tempdir().unwrap();
    let src = populated(&dir.path().join("src"));
    let rec = src.get(&key("a")).unwrap().unwrap();
    flip_byte(&object_path(&src, &rec.outputs[0].digest), 0);
    let bundle = dir.path().join("b.tar");
    let err = src.export(&bundle, None).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(!bundle.exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["src"]);
}

/// Appends an entry with a raw name (bypassing tar's own path checks).
fn raw_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    ty: tar::EntryType,
    data: &[u8],
    link: Option<&str>,
) {
    let mut h = tar::Header::new_ustar();
    let old = h.as_old_mut();
    old.name = [0; 100];
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(data.len() as u64);
    h.set_entry_type(ty);
    h.set_mode(0o644);
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn index_json(format: &str, version: u32, recipes: &[dist_store::RecipeRecord]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "format": format,
        "version": version,
        "recipes": recipes,
    }))
    .unwrap()
}

/// A valid bundle for one recipe with one object, plus `extra` entries.
fn bundle_with(
    extra: impl FnOnce(&mut tar::Builder<Vec<u8>>),
    format: &str,
    version: u32,
) -> Vec<u8> {
    let data = b"object bytes".to_vec();
    let obj = dist_store::ObjectInfo {
        digest: ContentDigest::of_bytes(&data),
        size: data.len() as u64,
        sha256: {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(&data))
        },
    };
    let rec = recipe("imported", "imported", &[("o", &obj)]);
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        BUNDLE_INDEX,
        tar::EntryType::Regular,
        &index_json(format, version, &[rec]),
        None,
    );
    raw_entry(
        &mut b,
        &format!("objects/{}", obj.digest),
        tar::EntryType::Regular,
        &data,
        None,
    );
    extra(&mut b);
    b.into_inner().unwrap()
}

/// Imports `bytes` into a store that already has content and checks that
/// it fails with a Bundle error naming `entry`, leaving the store as it was.
fn assert_rejected(bytes: &[u8], entry: &str, reason_has: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(&dir.path().join("store"));
    let before = snapshot(&store);
    let path = dir.path().join("evil.tar");
    fs::write(&path, bytes).unwrap();
    let err = store.import(&path).unwrap_err();
    match &err {
        StoreError::Bundle {
            bundle,
            entry: e,
            reason,
        } => {
            assert_eq!(bundle, &path);
            assert_eq!(e, entry, "{err}");
            assert!(reason.to_string().contains(reason_has), "{err}");
        }
        other => panic!("expected a Bundle error, got {other}"),
    }
    assert_eq!(snapshot(&store), before, "store changed after {err}");
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn sanity_valid_handmade_bundle_imports() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let path = dir.path().join("ok.tar");
    fs::write(&path, bundle_with(|_| {}, "cargo-dist-store-bundle", 1)).unwrap();
    store.import(&path).unwrap();
    assert!(store.is_cached(&key("imported")).unwrap());
}

#[test]
fn import_rejects_parent_dir_entry() {
    let t = bundle_with(
        |b| raw_entry(b, "../evil", tar::EntryType::Regular, b"x", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, "../evil", "..");
    let t = bundle_with(
        |b| raw_entry(b, "objects/../../x", tar::EntryType::Regular, b"x", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, "objects/../../x", "..");
}

#[test]
fn import_rejects_absolute_entry() {
    let t = bundle_with(
        |b| raw_entry(b, "/etc/evil", tar::EntryType::Regular, b"x", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, "/etc/evil", "absolute");
}

#[test]
fn import_rejects_links_and_dirs() {
    let name = format!("objects/{}", ContentDigest::of_bytes(b"t"));
    let t = bundle_with(
        |b| raw_entry(b, &name, tar::EntryType::Symlink, b"", Some("/etc/passwd")),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, &name, "symbolic link");
    let t = bundle_with(
        |b| raw_entry(b, &name, tar::EntryType::Link, b"", Some(BUNDLE_INDEX)),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, &name, "hard link");
    let t = bundle_with(
        |b| raw_entry(b, "objects/", tar::EntryType::Directory, b"", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, "objects/", "directory");
}

#[test]
fn import_rejects_unexpected_names() {
    let t = bundle_with(
        |b| raw_entry(b, "objects/abc", tar::EntryType::Regular, b"x", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, "objects/abc", "unexpected name");
}

#[test]
fn import_rejects_wrong_digest() {
    let name = format!("objects/{}", ContentDigest::of_bytes(b"what the name says"));
    let t = bundle_with(
        |b| raw_entry(b, &name, tar::EntryType::Regular, b"something else", None),
        "cargo-dist-store-bundle",
        1,
    );
    assert_rejected(&t, &name, "hash to");
}

#[test]
fn import_rejects_unknown_format_and_version() {
    let t = bundle_with(|_| {}, "some-other-format", 1);
    assert_rejected(&t, BUNDLE_INDEX, "format");
    let t = bundle_with(|_| {}, "cargo-dist-store-bundle", 2);
    assert_rejected(&t, BUNDLE_INDEX, "version 2");
}

#[test]
fn import_rejects_truncated_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let src = populated(&dir.path().join("src"));
    let path = dir.path().join("b.tar");
    src.export(&path, None).unwrap();
    let full = fs::read(&path).unwrap();
    // Cut inside the last object's data: 512-byte header + 100_000 bytes
    // (padded) + 1024 bytes of end-of-archive precede the end.
    // Whichever object comes last, cutting 40 kB before the end-of-archive
    // blocks lands inside the 100 kB object's data.
    let big = ContentDigest::of_bytes(&vec![7u8; 100_000]);
    let cut = &full[..full.len() - 1024 - 40_000];
    assert_rejected(cut, &format!("objects/{big}"), "truncated");
    // Cut inside a header.
    let cut = &full[..512 + 300];
    let dir2 = tempfile::tempdir().unwrap();
    let store = populated(&dir2.path().join("s"));
    let before = snapshot(&store);
    let p = dir2.path().join("cut.tar");
    fs::write(&p, cut).unwrap();
    assert!(matches!(
        store.import(&p).unwrap_err(),
        StoreError::Bundle { .. }
    ));
    assert_eq!(snapshot(&store), before);
}

#[test]
fn import_rejects_missing_object_reference() {
    // Index only: the object is neither in the bundle nor in the store.
    let data = b"not shipped";
    let obj = dist_store::ObjectInfo {
        digest: ContentDigest::of_bytes(data),
        size: data.len() as u64,
        sha256: "0".repeat(64),
    };
    let rec = recipe("lost", "lost", &[("o", &obj)]);
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        BUNDLE_INDEX,
        tar::EntryType::Regular,
        &index_json("cargo-dist-store-bundle", 1, &[rec]),
        None,
    );
    assert_rejected(
        &b.into_inner().unwrap(),
        BUNDLE_INDEX,
        "neither the bundle nor the store",
    );
}

#[test]
fn import_accepts_reference_to_object_already_in_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(&dir.path().join("s"));
    let existing = store.get(&key("b")).unwrap().unwrap().outputs[0].clone();
    let mut rec = recipe("new", "new", &[]);
    rec.outputs.push(existing);
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        BUNDLE_INDEX,
        tar::EntryType::Regular,
        &index_json("cargo-dist-store-bundle", 1, std::slice::from_ref(&rec)),
        None,
    );
    let p = dir.path().join("ref.tar");
    fs::write(&p, b.into_inner().unwrap()).unwrap();
    store.import(&p).unwrap();
    assert_eq!(store.get(&rec.key).unwrap(), Some(rec));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

fn info_of(data: &[u8]) -> dist_store::ObjectInfo {
    dist_store::ObjectInfo {
        digest: ContentDigest::of_bytes(data),
        size: data.len() as u64,
        sha256: sha256_hex(data),
    }
}

/// A bundle with the given recipes in its index and the given objects.
fn bundle_of(recipes: &[dist_store::RecipeRecord], objects: &[&[u8]]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    raw_entry(
        &mut b,
        BUNDLE_INDEX,
        tar::EntryType::Regular,
        &index_json("cargo-dist-store-bundle", 1, recipes),
        None,
    );
    for data in objects {
        raw_entry(
            &mut b,
            &format!("objects/{}", ContentDigest::of_bytes(data)),
            tar::EntryType::Regular,
            data,
            None,
        );
    }
    b.into_inner().unwrap()
}

#[test]
fn import_rejects_recipe_without_outputs() {
    let data: &[u8] = b"object bytes";
    let empty = recipe("empty", "empty.tar.xz", &[]);
    let fine = recipe("fine", "fine.tar.xz", &[("o", &info_of(data))]);
    assert_rejected(
        &bundle_of(std::slice::from_ref(&empty), &[]),
        BUNDLE_INDEX,
        "no outputs",
    );
    // Not even alongside a valid recipe.
    assert_rejected(
        &bundle_of(&[fine, empty], &[data]),
        BUNDLE_INDEX,
        "no outputs",
    );
}

#[test]
fn import_rejects_bad_labels() {
    let data: &[u8] = b"object bytes";
    let obj = info_of(data);
    for (label, why) in [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../escape.tar.xz", ".."),
        ("dir/../../escape", ".."),
        ("a/..", ".."),
        ("..", ".."),
        ("dir\\evil.zip", "backslash"),
        ("nul\0byte", "control"),
        ("new\nline", "control"),
        ("esc\x1b[0m", "control"),
    ] {
        let rec = recipe("labelled", label, &[("o", &obj)]);
        assert_rejected(&bundle_of(&[rec], &[data]), BUNDLE_INDEX, why);
    }
    // Relative paths with `/`, and dots that are not `..` components, are fine.
    for label in [
        ".github/workflows/release.yml",
        "app-1.0..2.tar.xz",
        "..hidden",
        "sha256.sum",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rec = recipe("labelled", label, &[("o", &obj)]);
        let p = dir.path().join("ok.tar");
        fs::write(&p, bundle_of(std::slice::from_ref(&rec), &[data])).unwrap();
        store.import(&p).unwrap();
        assert_eq!(store.get(&rec.key).unwrap(), Some(rec));
    }
}

#[test]
fn import_rejects_wrong_sha256_or_size_for_shipped_object() {
    let data: &[u8] = b"object bytes";
    let mut bad = info_of(data);
    bad.sha256 = sha256_hex(b"something else");
    let rec = recipe("liar", "liar.zip", &[("o", &bad)]);
    assert_rejected(&bundle_of(&[rec], &[data]), BUNDLE_INDEX, "sha256");
    let mut bad = info_of(data);
    bad.size += 1;
    let rec = recipe("liar", "liar.zip", &[("o", &bad)]);
    assert_rejected(&bundle_of(&[rec], &[data]), BUNDLE_INDEX, "size");
}

#[test]
fn import_rejects_wrong_sha256_or_size_for_object_already_in_store() {
    // `populated` holds b"artifact a"; the bundle ships no object and points
    // at the stored one with a wrong checksum (or size).
    let data: &[u8] = b"artifact a";
    let mut bad = info_of(data);
    bad.sha256 = sha256_hex(b"a different artifact");
    let rec = recipe("liar", "liar.zip", &[("o", &bad)]);
    assert_rejected(&bundle_of(&[rec], &[]), BUNDLE_INDEX, "sha256");
    let mut bad = info_of(data);
    bad.size -= 1;
    let rec = recipe("liar", "liar.zip", &[("o", &bad)]);
    assert_rejected(&bundle_of(&[rec], &[]), BUNDLE_INDEX, "size");
    // The truthful record is accepted.
    let dir = tempfile::tempdir().unwrap();
    let store = populated(&dir.path().join("s"));
    let rec = recipe("honest", "honest.zip", &[("o", &info_of(data))]);
    let p = dir.path().join("ok.tar");
    fs::write(&p, bundle_of(std::slice::from_ref(&rec), &[])).unwrap();
    store.import(&p).unwrap();
    assert_eq!(store.get(&rec.key).unwrap(), Some(rec));
}

#[test]
fn import_rejects_reference_to_corrupt_object_in_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(&dir.path().join("s"));
    let existing = store.get(&key("b")).unwrap().unwrap().outputs[0].clone();
    flip_byte(&object_path(&store, &existing.digest), 0);
    let before = snapshot(&store);
    let mut rec = recipe("new", "new", &[]);
    rec.outputs.push(existing);
    let p = dir.path().join("ref.tar");
    fs::write(&p, bundle_of(&[rec], &[])).unwrap();
    let err = store.import(&p).unwrap_err();
    assert!(
        matches!(&err, StoreError::Bundle { reason, .. } if reason.to_string().contains("corrupt")),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
}

/// Bundles nobody wrote by hand: a real export with bytes overwritten, cut short or extended at
/// random. Importing one never panics; it is taken whole (the store then verifies) or refused
/// with the store exactly as it was.
mod random_bundles {
    use super::*;
    use proptest::prelude::*;

    fn exported() -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let src = populated(&dir.path().join("src"));
        let path = dir.path().join("b.tar");
        src.export(&path, None).unwrap();
        fs::read(&path).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn a_damaged_bundle_is_taken_whole_or_refused(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..700),
        ) {
            let mut bytes = exported();
            for (at, b) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            if let Some(at) = cut {
                bytes.truncate(at.index(bytes.len()));
            }
            bytes.extend_from_slice(&tail);
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("store")).unwrap();
            let seed = store.put_bytes(b"already here").unwrap();
            store.record(&recipe("seed", "seed.txt", &[("f", &seed)])).unwrap();
            let before = snapshot(&store);
            let path = dir.path().join("damaged.tar");
            fs::write(&path, &bytes).unwrap();
            match store.import(&path) {
                Ok(_) => prop_assert!(store.verify().unwrap().is_ok()),
                Err(_) => {
                    prop_assert_eq!(snapshot(&store), before);
                    prop_assert!(store.verify().unwrap().is_ok());
                }
            }
        }
    }
}
