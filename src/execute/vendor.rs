//! The crate-sources recipe: the registry and git packages Cargo.lock pins, fetched once (a
//! fixed-output step: network allowed, every `.crate` checked against the lockfile's sha256, git
//! packages taken at their locked commit) and stored one object each; then unpacked into a
//! vendor directory cargo reads through source replacement, so builds run offline from the
//! store alone.

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
/// from cargo's download cache, after one `cargo fetch --locked` for any that are missing. Git
/// packages (keyed by their locked commit) come from one `cargo vendor --locked`, each packed as
/// a deterministic `NAME-VERSION.crate` like a registry's (in the returned temp dir).
pub(super) fn fetch(
    ws: &Workspace,
    s: &CrateSources,
) -> Result<(BTreeMap<String, PathBuf>, Option<tempfile::TempDir>), CargoError> {
    let cache = cargo_home().join("registry").join("cache");
    let mut found = BTreeMap::new();
    // First: `cargo vendor` also downloads the registry crates.
    let git_dir = if s.git.is_empty() {
        None
    } else {
        Some(vendor_git(ws, s, &mut found)?)
    };
    found.extend(find_cached(&cache, s));
    if found.len() < s.crates.len() + s.git.len() {
        // The user's own cargo and configuration (registries, mirrors, proxies): what it
        // downloads is checked below, whoever serves it.
        fetch_command(ws, &["fetch", "--locked", "--quiet"])?;
        found.extend(find_cached(&cache, s));
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
    Ok((found, git_dir))
}

/// The Cargo workspace whose Cargo.lock pins `s`: with several, the one whose lockfile reads
/// as `s` (a fetch and `cargo vendor` run there).
pub(super) fn locked_in<'w>(ws: &'w Workspace, s: &CrateSources) -> &'w Workspace {
    let release = s.vendor_cargo.as_deref().unwrap_or("unknown");
    ws.cargo_roots()
        .into_iter()
        .find(|cw| {
            crate::lockfile::crate_sources(&cw.root, release)
                .ok()
                .flatten()
                .is_some_and(|c| c.crates == s.crates && c.git == s.git)
        })
        .unwrap_or(ws)
}

/// Runs the user's cargo in the workspace (a fetch: network and the user's config allowed).
fn fetch_command(ws: &Workspace, args: &[&str]) -> Result<(), CargoError> {
    let out = Command::new(cargo_program())
        .args(args)
        .current_dir(&ws.root)
        .output()
        .map_err(CargoError::Spawn)?;
    if !out.status.success() {
        return Err(CargoError::Fetch {
            reason: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        });
    }
    Ok(())
}

/// `cargo vendor` of the whole lockfile into a temp dir, keeping the git packages: each packed
/// (with the `.cargo-checksum.json` cargo vendor wrote, which cargo checks every file against)
/// as a tar.gz rooted at `NAME-VERSION/`, like a `.crate`.
fn vendor_git(
    ws: &Workspace,
    s: &CrateSources,
    found: &mut BTreeMap<String, PathBuf>,
) -> Result<tempfile::TempDir, CargoError> {
    let tmp = tempfile::tempdir().map_err(CargoError::Spawn)?;
    let vendored = tmp.path().join("vendor");
    let dest = vendored.to_string_lossy().into_owned();
    fetch_command(
        ws,
        &["vendor", "--locked", "--versioned-dirs", "--quiet", &dest],
    )?;
    for id in s.git.keys() {
        let dir = vendored.join(id);
        if !dir.is_dir() {
            return Err(CargoError::Fetch {
                reason: format!("`cargo vendor` made no {id}/ for the git package {id}"),
            });
        }
        let mut files = Vec::new();
        for e in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let e = e.map_err(|e| CargoError::Fetch {
                reason: format!("reading cargo vendor's copy of {id}: {e}"),
            })?;
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(&dir).expect("below the walked dir");
                files.push((rel.to_string_lossy().replace('\\', "/"), e.into_path()));
            }
        }
        let out = tmp.path().join(format!("{id}.crate"));
        dist_recipes::archive::write_source_tarball(id, &files, &out).map_err(|e| {
            CargoError::Fetch {
                reason: format!("packing the git package {id}: {e}"),
            }
        })?;
        found.insert(format!("{id}.crate"), out);
    }
    Ok(tmp)
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
    /// Cargo.lock's git sources (`git+URL?branch=B#COMMIT`).
    pub git: Vec<String>,
}

impl Vendored {
    /// Cargo configuration replacing every registry and git source with the vendor directory.
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
        for (i, source) in self.git.iter().enumerate() {
            // `git+URL?branch=B#COMMIT`: cargo matches a replaced git source by URL and
            // reference, as the manifest wrote them.
            let url = source.strip_prefix("git+").unwrap_or(source);
            let url = url.split('#').next().unwrap_or(url);
            let (url, query) = url.split_once('?').unwrap_or((url, ""));
            text.push_str(&format!(
                "\n[source.cargo-dist-git-{i}]\ngit = {}\n",
                quote(url)
            ));
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                if let Some((k, v)) = pair.split_once('=') {
                    if matches!(k, "branch" | "tag" | "rev") {
                        text.push_str(&format!("{k} = {}\n", quote(v)));
                    }
                }
            }
            text.push_str("replace-with = \"cargo-dist-vendored\"\n");
        }
        text
    }
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// Unpacks the crates of the crate-sources record `rec` into `dir` (shared by every build of
/// the workspace): each from its verified store object, into a temp dir renamed into place, with
/// the `.cargo-checksum.json` cargo checks against Cargo.lock (a git package brings its own).
/// Crates already there from the same object are kept; directories of crates no longer locked
/// are removed.
pub(super) fn unpack(
    store: &Store,
    rec: &RecipeRecord,
    dir: &Path,
) -> Result<Vendored, ExecuteError> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let _lock = lock_sandbox(dir)?;
    let mut registries: Vec<String> = Vec::new();
    let mut git: Vec<String> = Vec::new();
    // NAME-VERSION -> the lockfile's sha256 (registry) or none (git).
    let mut wanted: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (name, value) in &rec.inputs {
        if let Some(id) = name.strip_prefix("crate:") {
            let (source, sha256) = value.rsplit_once(' ').unwrap_or((value, ""));
            if !registries.iter().any(|r| r == source) {
                registries.push(source.to_string());
            }
            wanted.insert(id.to_string(), Some(sha256.to_string()));
        } else if let Some(id) = name.strip_prefix("git:") {
            let source = value.split('#').next().unwrap_or(value);
            if !git.iter().any(|g| g.split('#').next() == Some(source)) {
                git.push(value.clone());
            }
            wanted.insert(id.to_string(), None);
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
        let file = format!("{id}.crate");
        let out = rec
            .outputs
            .iter()
            .find(|o| o.name == file)
            .filter(|o| sha256.as_ref().is_none_or(|s| o.sha256 == *s))
            .ok_or_else(|| ExecuteError::Write {
                artifact: file.clone(),
                message: "the stored crate sources lack it, or hold other bytes than Cargo.lock's; run `cargo dist store verify`".into(),
            })?;
        let marker = out.digest.to_hex();
        if std::fs::read_to_string(dest.join(MARKER)).ok().as_deref() == Some(marker.as_str()) {
            continue;
        }
        let bytes = store.read_verified(&out.digest, out.size)?;
        let tmp = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(dir)
            .map_err(io("creating a temp dir for a crate"))?;
        tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
            .unpack(tmp.path())
            .map_err(io(format!("unpacking {file}")))?;
        let unpacked = tmp.path().join(id);
        if let Some(sha256) = sha256 {
            std::fs::write(unpacked.join(".cargo-checksum.json"), checksum_json(sha256))
                .map_err(io(format!("writing the checksum of {id}")))?;
        }
        // Last: a directory with the marker is complete.
        std::fs::write(unpacked.join(MARKER), &marker)
            .map_err(io(format!("marking {id} unpacked")))?;
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

/// In each vendored crate: the digest of the store object it was unpacked from.
const MARKER: &str = ".cargo-dist-object";

/// What cargo checks of a vendored crate: the package's sha256 against Cargo.lock (no file
/// list: the files came out of the verified `.crate`).
fn checksum_json(sha256: &str) -> String {
    format!("{{\"files\":{{}},\"package\":\"{sha256}\"}}")
}
