//! The crate-sources recipe: the registry crates Cargo.lock pins, fetched once (a fixed-output
//! step: network allowed, every `.crate` checked against the lockfile's sha256) and stored one
//! object each; then unpacked into a vendor directory cargo reads through source replacement,
//! so builds run offline from the store alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dist_recipes::archive::ChecksumStyle;
use dist_recipes::recipe::CrateSources;
use dist_store::{RecipeRecord, Store};

use super::cargo::{cargo_home, cargo_program, lock_sandbox, sandbox_err, CargoError};
use super::{io, ExecuteError};
use crate::workspace::Workspace;

/// The `.crate` of each registry package of `s`, by output name, checked against Cargo.lock:
/// from cargo's download cache, after one `cargo fetch --locked` for any that are missing.
pub(super) fn fetch(
    ws: &Workspace,
    s: &CrateSources,
) -> Result<BTreeMap<String, PathBuf>, CargoError> {
    let cache = cargo_home().join("registry").join("cache");
    let mut found = find_cached(&cache, s);
    if found.len() < s.crates.len() {
        // The user's own cargo and configuration (registries, mirrors, proxies): what it
        // downloads is checked below, whoever serves it.
        let out = Command::new(cargo_program())
            .args(["fetch", "--locked", "--quiet"])
            .current_dir(&ws.root)
            .output()
            .map_err(CargoError::Spawn)?;
        if !out.status.success() {
            return Err(CargoError::Fetch {
                reason: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
            });
        }
        found = find_cached(&cache, s);
    }
    for c in s.crates.values() {
        if !found.contains_key(&c.file_name()) {
            return Err(CargoError::Fetch {
                reason: format!(
                    "after `cargo fetch --locked`, no {} with sha256 {} is in {}",
                    c.file_name(),
                    c.checksum,
                    cache.display()
                ),
            });
        }
    }
    Ok(found)
}

/// The `.crate` files under any registry's cache whose sha256 is the locked one.
fn find_cached(cache: &Path, s: &CrateSources) -> BTreeMap<String, PathBuf> {
    let registries: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    let mut found = BTreeMap::new();
    for c in s.crates.values() {
        let name = c.file_name();
        let hit = registries.iter().map(|r| r.join(&name)).find(|p| {
            std::fs::read(p)
                .is_ok_and(|bytes| ChecksumStyle::Sha256.digest_hex(&bytes) == c.checksum)
        });
        if let Some(path) = hit {
            found.insert(name, path);
        }
    }
    found
}

/// The crate-sources record's first output: what it holds, as JSON (registry crates by
/// `NAME-VERSION` with their sha256, git packages with their locked source).
pub(super) const INDEX: &str = "crate-sources.json";

pub(super) fn index(s: &CrateSources) -> Vec<u8> {
    let crates: BTreeMap<&str, &str> = s
        .crates
        .iter()
        .map(|(id, c)| (id.as_str(), c.checksum.as_str()))
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({
        "crates": crates,
        "git": s.git,
    }))
    .expect("the index serializes");
    text.push('\n');
    text.into_bytes()
}

/// The vendored crates a build reads, and the sources they replace.
pub(super) struct Vendored {
    pub dir: PathBuf,
    /// Cargo.lock's registry sources (`registry+URL`, `sparse+URL`).
    pub registries: Vec<String>,
    /// Git packages (`NAME-VERSION`): not vendored, so the build needs the network.
    pub git: Vec<String>,
}

impl Vendored {
    /// Cargo configuration replacing every registry source with the vendor directory.
    pub fn config(&self) -> String {
        let quote = |s: &str| toml_edit::Value::from(s).to_string();
        let mut text = format!(
            "[source.cargo-dist-vendored]\ndirectory = {}\n",
            quote(&self.dir.to_string_lossy())
        );
        for (i, source) in self.registries.iter().enumerate() {
            if source == CRATES_IO {
                text.push_str("\n[source.crates-io]\n");
            } else {
                let url = source.strip_prefix("registry+").unwrap_or(source);
                text.push_str(&format!(
                    "\n[source.cargo-dist-registry-{i}]\nregistry = {}\n",
                    quote(url)
                ));
            }
            text.push_str("replace-with = \"cargo-dist-vendored\"\n");
        }
        text
    }
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// Unpacks the crates of the crate-sources record `rec` into `dir` (shared by every build of
/// the workspace): each from its verified store object, into a temp dir renamed into place, with
/// the `.cargo-checksum.json` cargo checks against Cargo.lock. Crates already there with the same
/// checksum are kept; directories of crates no longer locked are removed.
pub(super) fn unpack(
    store: &Store,
    rec: &RecipeRecord,
    dir: &Path,
) -> Result<Vendored, ExecuteError> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let _lock = lock_sandbox(dir)?;
    let mut registries = Vec::new();
    let mut git = Vec::new();
    let mut wanted = BTreeMap::new();
    for (name, value) in &rec.inputs {
        if let Some(id) = name.strip_prefix("crate:") {
            let (source, sha256) = value.rsplit_once(' ').unwrap_or((value, ""));
            if !registries.iter().any(|r| r == source) {
                registries.push(source.to_string());
            }
            wanted.insert(id.to_string(), sha256.to_string());
        } else if let Some(id) = name.strip_prefix("git:") {
            git.push(id.to_string());
        }
    }
    for entry in std::fs::read_dir(dir).map_err(sandbox_err(dir))? {
        let entry = entry.map_err(sandbox_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !wanted.contains_key(&name) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    for (id, sha256) in &wanted {
        let dest = dir.join(id);
        let marker = checksum_json(sha256);
        if std::fs::read_to_string(dest.join(".cargo-checksum.json")).ok() == Some(marker.clone()) {
            continue;
        }
        let file = format!("{id}.crate");
        let out = rec
            .outputs
            .iter()
            .find(|o| o.name == file)
            .filter(|o| o.sha256 == *sha256)
            .ok_or_else(|| ExecuteError::Write {
                artifact: file.clone(),
                message: "the stored crate sources lack it, or hold other bytes than Cargo.lock's; run `cargo dist store verify`".into(),
            })?;
        let bytes = store.read_verified(&out.digest, out.size)?;
        let tmp = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(dir)
            .map_err(io("creating a temp dir for a crate"))?;
        tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
            .unpack(tmp.path())
            .map_err(io(format!("unpacking {file}")))?;
        let unpacked = tmp.path().join(id);
        std::fs::write(unpacked.join(".cargo-checksum.json"), &marker)
            .map_err(io(format!("writing the checksum of {id}")))?;
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(sandbox_err(&dest))?;
        }
        std::fs::rename(&unpacked, &dest).map_err(sandbox_err(&dest))?;
    }
    Ok(Vendored {
        dir: dir.to_path_buf(),
        registries,
        git,
    })
}

/// What cargo checks of a vendored crate: the package's sha256 against Cargo.lock (no file
/// list: the files came out of the verified `.crate`).
fn checksum_json(sha256: &str) -> String {
    format!("{{\"files\":{{}},\"package\":\"{sha256}\"}}")
}
