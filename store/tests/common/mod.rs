//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use dist_store::{
    CanonHasher, ContentDigest, ObjectInfo, OutputRecord, RecipeKey, RecipeRecord, Store,
};

pub fn key(name: &str) -> RecipeKey {
    let mut h = CanonHasher::new("dist-store/tests", 1);
    h.str("name", name);
    h.finish()
}

pub fn recipe(name: &str, label: &str, outputs: &[(&str, &ObjectInfo)]) -> RecipeRecord {
    let mut inputs = BTreeMap::new();
    inputs.insert("name".to_owned(), name.to_owned());
    inputs.insert("label".to_owned(), label.to_owned());
    RecipeRecord {
        key: key(name),
        kind: "test".to_owned(),
        label: label.to_owned(),
        inputs,
        outputs: outputs
            .iter()
            .map(|(n, o)| OutputRecord::new(*n, o))
            .collect(),
        isolation: None,
    }
}

/// Puts `bytes` and records a one-output recipe for them.
pub fn add(store: &Store, name: &str, bytes: &[u8]) -> RecipeRecord {
    let obj = store.put_bytes(bytes).unwrap();
    let rec = recipe(name, &format!("{name}.bin"), &[("out", &obj)]);
    store.record(&rec).unwrap();
    rec
}

pub fn object_path(store: &Store, d: &ContentDigest) -> std::path::PathBuf {
    store.object_path(d)
}

/// Overwrites one byte of an object in place (objects are 0444).
pub fn flip_byte(path: &Path, at: u64) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0xff;
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o444)).unwrap();
}

/// Every file under the root (except the SQLite files) with its contents,
/// plus every recipe row: equal snapshots mean an unchanged store.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    files: BTreeMap<String, Vec<u8>>,
    rows: Vec<(dist_store::RecipeSummary, Option<RecipeRecord>)>,
}

pub fn snapshot(store: &Store) -> Snapshot {
    let mut files = BTreeMap::new();
    walk(store.root(), store.root(), &mut files);
    let rows = store
        .list()
        .unwrap()
        .into_iter()
        .map(|s| {
            let r = store.get(&s.key).unwrap();
            (s, r)
        })
        .collect();
    Snapshot { files, rows }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("index.sqlite") {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            walk(root, &p, out);
        } else {
            out.insert(rel, fs::read(&p).unwrap());
        }
    }
}
