//! Bundles: one deterministic tar file carrying recipes and their objects
//! between stores (e.g. a CI cache), and importing them back safely.
//!
//! Layout: an uncompressed ustar archive whose first entry is
//! `cargo-dist-bundle.json` (`{"format":"cargo-dist-store-bundle","version":1,
//! "recipes":[...sorted by key...]}`), followed by `objects/<hex>` in digest
//! order. Every header has mtime 0, uid/gid 0, mode 0644, so the same store
//! content always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

use crate::digest::{is_digest_hex, ContentDigest, RecipeKey};
use crate::error::{IoContext, StoreError};
use crate::layout::sync_dir;
use crate::object::{copy_hashing, mismatch_reason};
use crate::records::RecipeRecord;
use crate::{now_secs, Store};

pub const BUNDLE_INDEX: &str = "cargo-dist-bundle.json";
pub const BUNDLE_FORMAT: &str = "cargo-dist-store-bundle";
pub const BUNDLE_VERSION: u32 = 1;

/// Refuse index files bigger than this rather than reading them into memory.
const MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Serialize)]
struct IndexOut<'a> {
    format: &'a str,
    version: u32,
    recipes: &'a [RecipeRecord],
}

/// Read first, so an unknown version is reported as such rather than as
/// whatever field it no longer has.
#[derive(Deserialize)]
struct IndexHeader {
    format: String,
    version: u64,
}

#[derive(Deserialize)]
struct IndexIn {
    recipes: Vec<RecipeRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub recipes: usize,
    pub objects: usize,
    /// Size of the bundle file.
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub recipes: usize,
    pub objects_added: usize,
    /// Objects the store already had.
    pub objects_present: usize,
    pub bytes_added: u64,
}

/// Reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn entry_header(path: &str, size: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    Ok(h)
}

enum EntryName {
    Index,
    Object(ContentDigest),
}

/// Accepts only `cargo-dist-bundle.json` and `objects/<64 hex>`.
fn classify(name: &str) -> Result<EntryName, String> {
    let path = Path::new(name);
    if path.is_absolute() || name.starts_with('/') || name.starts_with('\\') {
        return Err("absolute paths are not allowed in a bundle".into());
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) || name.contains("..") {
        return Err("`..` is not allowed in a bundle path".into());
    }
    if name == BUNDLE_INDEX {
        return Ok(EntryName::Index);
    }
    if let Some(hex) = name.strip_prefix("objects/") {
        if is_digest_hex(hex) {
            if let Ok(d) = ContentDigest::from_hex(hex) {
                return Ok(EntryName::Object(d));
            }
        }
    }
    Err(format!(
        "unexpected name; a bundle holds only {BUNDLE_INDEX} and objects/<64 lowercase hex>"
    ))
}

/// Labels become file names under target/distrib: a relative path with
/// `/` separators, no `..`, backslashes or control characters.
fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("is empty");
    }
    if label.starts_with('/') || Path::new(label).is_absolute() {
        return Err("is an absolute path");
    }
    if label.contains('\\') {
        return Err("contains a backslash");
    }
    if label.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if label.split('/').any(|c| c == "..") {
        return Err("contains a `..` component");
    }
    Ok(())
}

struct Staged {
    file: NamedTempFile,
    size: u64,
    sha256: String,
}

impl Store {
    /// Writes the given recipes (all if `None`) and their objects to
    /// `bundle`, via a temp file and rename. Objects are verified as they
    /// are read; a corrupt one is quarantined and the export fails.
    pub fn export(
        &self,
        bundle: &Path,
        keys: Option<&[RecipeKey]>,
    ) -> Result<ExportReport, StoreError> {
        let keys: BTreeSet<RecipeKey> = match keys {
            Some(k) => k.iter().copied().collect(),
            None => self.list()?.into_iter().map(|r| r.key).collect(),
        };
        let mut recipes = Vec::with_capacity(keys.len());
        for key in &keys {
            let rec = self
                .get(key)?
                .ok_or(StoreError::UnknownRecipe { key: *key })?;
            recipes.push(rec);
        }
        let objects: BTreeMap<ContentDigest, u64> = recipes
            .iter()
            .flat_map(|r| r.outputs.iter().map(|o| (o.digest, o.size)))
            .collect();

        let mut index = serde_json::to_vec_pretty(&IndexOut {
            format: BUNDLE_FORMAT,
            version: BUNDLE_VERSION,
            recipes: &recipes,
        })
        .expect("bundle index serializes");
        index.push(b'\n');

        let parent = match bundle.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = bundle
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(parent)
            .at(parent)?;
        let tmp_path = tmp.path().to_owned();
        let mut builder = tar::Builder::new(BufWriter::new(tmp.as_file()));
        let header = entry_header(BUNDLE_INDEX, index.len() as u64).at(&tmp_path)?;
        builder.append(&header, index.as_slice()).at(&tmp_path)?;
        for (digest, size) in &objects {
            let obj = self.layout.object_path(digest);
            let mut file = self.open_object(digest, &obj)?;
            let header = entry_header(&format!("objects/{digest}"), *size).at(&tmp_path)?;
            let mut reader = HashingReader {
                inner: (&mut file).take(*size),
                hasher: blake3::Hasher::new(),
            };
            builder.append(&header, &mut reader).at(&tmp_path)?;
            let got = ContentDigest::from_bytes(*reader.hasher.finalize().as_bytes());
            let hashed = reader.hasher.count();
            drop(reader);
            let mut extra = [0u8; 1];
            let longer = file.read(&mut extra).at(&obj)? > 0;
            let got_size = hashed + u64::from(longer);
            if let Some(reason) = mismatch_reason(digest, *size, &got, got_size) {
                drop(builder);
                drop(tmp);
                return Err(self.quarantine(digest, reason));
            }
        }
        let mut out = builder.into_inner().at(&tmp_path)?;
        out.flush().at(&tmp_path)?;
        drop(out);
        tmp.as_file().sync_all().at(&tmp_path)?;
        let bytes = tmp.as_file().metadata().at(&tmp_path)?.len();
        tmp.persist(bundle).map_err(|e| e.error).at(bundle)?;
        sync_dir(parent)?;
        Ok(ExportReport {
            recipes: recipes.len(),
            objects: objects.len(),
            bytes,
        })
    }

    /// Imports a bundle. Everything is read, hashed and checked in a staging
    /// directory first; only then are objects moved in and rows inserted in
    /// one transaction. On any error the store is left as it was.
    pub fn import(&self, bundle: &Path) -> Result<ImportReport, StoreError> {
        let staging = tempfile::Builder::new()
            .prefix("import-")
            .tempdir_in(&self.layout.tmp)
            .at(&self.layout.tmp)?;
        let (recipes, staged) = self.stage(bundle, staging.path())?;
        for rec in &recipes {
            self.validate(rec, &staged)
                .map_err(|reason| StoreError::Bundle {
                    bundle: bundle.to_owned(),
                    entry: BUNDLE_INDEX.into(),
                    reason: Box::new(reason),
                })?;
        }
        let mut keys = BTreeSet::new();
        if let Some(rec) = recipes.iter().find(|r| !keys.insert(r.key)) {
            return Err(StoreError::Bundle {
                bundle: bundle.to_owned(),
                entry: BUNDLE_INDEX.into(),
                reason: Box::new(Rejection::RecipeTwice(rec.key)),
            });
        }
        self.commit(&recipes, staged)
    }

    /// Reads every entry: the index parsed, each object copied into `staging` and hashed
    /// against its name.
    fn stage(
        &self,
        bundle: &Path,
        staging: &Path,
    ) -> Result<(Vec<RecipeRecord>, BTreeMap<ContentDigest, Staged>), StoreError> {
        let err = |entry: &str, reason: Rejection| StoreError::Bundle {
            bundle: bundle.to_owned(),
            entry: entry.to_owned(),
            reason: Box::new(reason),
        };
        let file = File::open(bundle).at(bundle)?;
        let mut recipes: Option<Vec<RecipeRecord>> = None;
        let mut staged: BTreeMap<ContentDigest, Staged> = BTreeMap::new();
        let mut archive = tar::Archive::new(BufReader::new(file));
        let entries = archive.entries().map_err(|e| {
            err(
                "<archive>",
                Rejection::Unreadable(format!("cannot read tar: {e}")),
            )
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                err(
                    "<archive>",
                    Rejection::Unreadable(format!("malformed or truncated tar: {e}")),
                )
            })?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let (kind, declared) = entry_kind(&name, &entry).map_err(|r| err(&name, r))?;
            match kind {
                EntryName::Index => {
                    if recipes.is_some() {
                        return Err(err(&name, Rejection::Duplicate));
                    }
                    let text = read_index(&mut entry, declared).map_err(|r| err(&name, r))?;
                    recipes =
                        Some(parse_index(&text).map_err(|r| err(&name, Rejection::BadIndex(r)))?);
                }
                EntryName::Object(digest) => {
                    if staged.contains_key(&digest) {
                        return Err(err(&name, Rejection::Duplicate));
                    }
                    let st =
                        self.stage_object(&mut entry, bundle, staging, &digest, declared, &name)?;
                    staged.insert(digest, st);
                }
            }
        }
        let recipes = recipes.ok_or_else(|| err(BUNDLE_INDEX, Rejection::Missing))?;
        Ok((recipes, staged))
    }

    /// One object entry into a temp file, hashed; its size and digest must be what the tar
    /// header and its name say.
    fn stage_object(
        &self,
        entry: &mut impl Read,
        bundle: &Path,
        staging: &Path,
        digest: &ContentDigest,
        declared: u64,
        name: &str,
    ) -> Result<Staged, StoreError> {
        let err = |reason: Rejection| StoreError::Bundle {
            bundle: bundle.to_owned(),
            entry: name.to_owned(),
            reason: Box::new(reason),
        };
        let mut tmp = NamedTempFile::new_in(staging).at(staging)?;
        let tmp_path = tmp.path().to_owned();
        let info =
            copy_hashing(entry, bundle, tmp.as_file_mut(), &tmp_path).map_err(|e| match e {
                StoreError::Io { path, source } if path == bundle => {
                    err(Rejection::Unreadable(format!("cannot read: {source}")))
                }
                other => other,
            })?;
        if info.size != declared {
            return Err(err(Rejection::Truncated {
                got: info.size,
                declared,
            }));
        }
        if info.digest != *digest {
            return Err(err(Rejection::WrongContents(info.digest)));
        }
        Ok(Staged {
            file: tmp,
            size: info.size,
            sha256: info.sha256,
        })
    }

    /// Every output of `rec` must be satisfiable (by the bundle or the store, with the size and
    /// sha256 it records) before anything is touched.
    fn validate(
        &self,
        rec: &RecipeRecord,
        staged: &BTreeMap<ContentDigest, Staged>,
    ) -> Result<(), Rejection> {
        check_label(&rec.label).map_err(|why| Rejection::BadLabel {
            key: rec.key,
            label: rec.label.clone(),
            why,
        })?;
        if rec.outputs.is_empty() {
            return Err(Rejection::NoOutputs(rec.key));
        }
        let mut names = BTreeSet::new();
        for out in &rec.outputs {
            let bad = |problem: OutputProblem| Rejection::Output {
                key: rec.key,
                name: out.name.clone(),
                problem: Box::new(problem),
            };
            if !names.insert(&out.name) {
                return Err(bad(OutputProblem::Twice));
            }
            let (size, sha256, place) = match staged.get(&out.digest) {
                Some(st) => (st.size, st.sha256.clone(), "in the bundle"),
                None => {
                    let info = self
                        .hash_stored(&out.digest)
                        .ok_or_else(|| bad(OutputProblem::Absent(out.digest)))?;
                    if info.digest != out.digest {
                        return Err(bad(OutputProblem::Corrupt(out.digest, info.digest)));
                    }
                    (info.size, info.sha256, "in the store")
                }
            };
            if size != out.size || sha256 != out.sha256 {
                return Err(bad(OutputProblem::Differs {
                    digest: out.digest,
                    place,
                    size,
                    sha256,
                    want_size: out.size,
                    want_sha256: out.sha256.clone(),
                }));
            }
        }
        Ok(())
    }

    /// Hashes a stored object (the recorded sha256 is what gets published); `None` when the
    /// store does not hold it as a regular file.
    fn hash_stored(&self, digest: &ContentDigest) -> Option<crate::records::ObjectInfo> {
        let obj = self.layout.object_path(digest);
        let mut f = match fs::symlink_metadata(&obj) {
            Ok(m) if m.is_file() => File::open(&obj).ok()?,
            _ => return None,
        };
        copy_hashing(&mut f, &obj, &mut io::sink(), Path::new("<sink>")).ok()
    }

    /// Moves the staged objects in, then inserts every row in one transaction; on failure
    /// removes what it moved.
    fn commit(
        &self,
        recipes: &[RecipeRecord],
        staged: BTreeMap<ContentDigest, Staged>,
    ) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport {
            recipes: recipes.len(),
            ..ImportReport::default()
        };
        let mut moved: Vec<PathBuf> = Vec::new();
        let mut new_fans: Vec<PathBuf> = Vec::new();
        let result = (|| {
            for (digest, st) in staged {
                let dest = self.layout.object_path(&digest);
                if fs::symlink_metadata(&dest).is_ok() {
                    report.objects_present += 1;
                    continue;
                }
                let fan = self.layout.fanout_dir(&digest);
                if fs::symlink_metadata(&fan).is_err() {
                    new_fans.push(fan);
                }
                self.install_object(st.file, &digest)?;
                moved.push(dest);
                report.objects_added += 1;
                report.bytes_added += st.size;
            }
            let now = now_secs();
            let tx = self.write_tx()?;
            for rec in recipes {
                self.insert_recipe(&tx, rec, now, now)?;
            }
            self.db(tx.commit())
        })();
        if let Err(e) = result {
            for path in moved {
                let _ = fs::remove_file(path);
            }
            for fan in new_fans {
                let _ = fs::remove_dir(fan);
            }
            return Err(e);
        }
        Ok(report)
    }
}

/// Why an import refused a bundle (the store is then unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// An unsafe or unexpected entry name.
    Name(String),
    /// A link, directory or other non-regular entry.
    NotRegular(&'static str),
    Duplicate,
    TooLarge(u64),
    Unreadable(String),
    Truncated {
        got: u64,
        declared: u64,
    },
    /// An object whose bytes hash to something else than its name.
    WrongContents(ContentDigest),
    BadIndex(String),
    Missing,
    RecipeTwice(RecipeKey),
    BadLabel {
        key: RecipeKey,
        label: String,
        why: &'static str,
    },
    NoOutputs(RecipeKey),
    Output {
        key: RecipeKey,
        name: String,
        problem: Box<OutputProblem>,
    },
}

/// What is wrong with one output a bundle's recipe records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputProblem {
    Twice,
    /// In neither the bundle nor the store.
    Absent(ContentDigest),
    /// The store's copy is corrupt: (its name, what its bytes hash to).
    Corrupt(ContentDigest, ContentDigest),
    Differs {
        digest: ContentDigest,
        place: &'static str,
        size: u64,
        sha256: String,
        want_size: u64,
        want_sha256: String,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Name(why) | Rejection::Unreadable(why) | Rejection::BadIndex(why) => {
                f.write_str(why)
            }
            Rejection::NotRegular(what) => {
                write!(f, "{what}; bundles contain only regular files")
            }
            Rejection::Duplicate => f.write_str("appears twice"),
            Rejection::TooLarge(n) => write!(f, "is {n} bytes, too large"),
            Rejection::Truncated { got, declared } => {
                write!(f, "truncated: {got} of {declared} bytes")
            }
            Rejection::WrongContents(d) => write!(f, "contents hash to {d}, not to its name"),
            Rejection::Missing => f.write_str("is missing"),
            Rejection::RecipeTwice(k) => write!(f, "recipe {k} appears twice"),
            Rejection::BadLabel { key, label, why } => {
                write!(f, "recipe {key} label {label:?} {why}")
            }
            Rejection::NoOutputs(k) => write!(f, "recipe {k} has no outputs"),
            Rejection::Output { key, name, problem } => {
                write!(f, "recipe {key} output `{name}`")?;
                match problem.as_ref() {
                    OutputProblem::Twice => f.write_str(" appears twice"),
                    OutputProblem::Absent(d) => {
                        write!(f, ": object {d} is in neither the bundle nor the store")
                    }
                    OutputProblem::Corrupt(d, got) => write!(
                        f,
                        ": object {d} in the store is corrupt (its bytes hash to {got}); run `cargo dist store verify`"
                    ),
                    OutputProblem::Differs {
                        digest,
                        place,
                        size,
                        sha256,
                        want_size,
                        want_sha256,
                    } => write!(
                        f,
                        ": object {digest} {place} has size {size} and sha256 {sha256}, the recipe says {want_size} and {want_sha256}"
                    ),
                }
            }
        }
    }
}

/// The kind of a tar entry and its declared size: only regular files with a known name.
fn entry_kind<R: Read>(
    name: &str,
    entry: &tar::Entry<'_, R>,
) -> Result<(EntryName, u64), Rejection> {
    let kind = classify(name);
    // Path escapes first: they are the most important thing to say.
    if let Err(reason) = &kind {
        if !reason.starts_with("unexpected") {
            return Err(Rejection::Name(reason.clone()));
        }
    }
    let bad_type = match entry.header().entry_type() {
        tar::EntryType::Regular => None,
        tar::EntryType::Symlink => Some("is a symbolic link"),
        tar::EntryType::Link => Some("is a hard link"),
        tar::EntryType::Directory => Some("is a directory"),
        _ => Some("is not a regular file"),
    };
    if let Some(what) = bad_type {
        return Err(Rejection::NotRegular(what));
    }
    let declared = entry
        .header()
        .size()
        .map_err(|e| Rejection::Unreadable(e.to_string()))?;
    Ok((kind.map_err(Rejection::Name)?, declared))
}

/// The index entry's bytes, at most [`MAX_INDEX_BYTES`].
fn read_index(entry: &mut impl Read, declared: u64) -> Result<Vec<u8>, Rejection> {
    if declared > MAX_INDEX_BYTES {
        return Err(Rejection::TooLarge(declared));
    }
    let mut text = Vec::new();
    entry
        .take(MAX_INDEX_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| Rejection::Unreadable(format!("cannot read: {e}")))?;
    if text.len() as u64 != declared {
        return Err(Rejection::Truncated {
            got: text.len() as u64,
            declared,
        });
    }
    Ok(text)
}

fn parse_index(text: &[u8]) -> Result<Vec<RecipeRecord>, String> {
    let header: IndexHeader =
        serde_json::from_slice(text).map_err(|e| format!("is not a bundle index: {e}"))?;
    if header.format != BUNDLE_FORMAT {
        return Err(format!(
            "has format `{}`, expected `{BUNDLE_FORMAT}`",
            header.format
        ));
    }
    if header.version != u64::from(BUNDLE_VERSION) {
        return Err(format!(
            "has version {}, this cargo-dist reads version {BUNDLE_VERSION}; use a matching cargo-dist",
            header.version
        ));
    }
    let index: IndexIn =
        serde_json::from_slice(text).map_err(|e| format!("has invalid recipes: {e}"))?;
    Ok(index.recipes)
}
