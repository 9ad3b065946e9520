//! The exact source files a cargo build can read: the input set hashed into its key and copied
//! into its sandbox.
//!
//! For an App: every file under its package directory and the directories of the path
//! dependencies it reaches, plus the root `Cargo.toml`, `Cargo.lock`, `rust-toolchain(.toml)` and
//! `.cargo/config(.toml)`. Left out: `target/`, `.git/`, other hidden directories, other workspace
//! members' directories (unless a path dependency), and top-level README/LICENSE/CHANGELOG files
//! that no source file names (so a README edit re-archives without recompiling, while a crate
//! that does `include_str!("../README.md")` still gets it).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;

use dist_recipes::recipe::FileInput;
use dist_store::ContentDigest;

use crate::workspace::{Package, Workspace};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("could not read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

const ROOT_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config",
    ".cargo/config.toml",
];

/// Hashes files once per run, whichever recipes share them.
#[derive(Default)]
pub struct SourceHasher {
    cache: BTreeMap<String, FileInput>,
    /// Bytes hashed, for the benchmark.
    pub bytes_hashed: u64,
}

impl SourceHasher {
    /// Takes over what another hasher (another thread's) learnt.
    pub fn absorb(&mut self, other: SourceHasher) {
        self.bytes_hashed += other.bytes_hashed;
        self.cache.extend(other.cache);
    }

    /// The content of a workspace-relative file.
    pub fn file(&mut self, ws: &Workspace, rel: &str) -> Result<FileInput, SourceError> {
        if let Some(f) = self.cache.get(rel) {
            return Ok(*f);
        }
        let abs = ws.root.join(rel);
        let io = |source| SourceError::Io {
            path: abs.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(&abs).map_err(io)?;
        let (digest, size) = ContentDigest::of_file(&abs).map_err(io)?;
        self.bytes_hashed += size;
        let f = FileInput {
            digest,
            executable: meta.permissions().mode() & 0o100 != 0,
        };
        self.cache.insert(rel.to_string(), f);
        Ok(f)
    }

    /// The input set of a cargo build of `pkg`.
    pub fn build_sources(
        &mut self,
        ws: &Workspace,
        pkg: &Package,
    ) -> Result<BTreeMap<String, FileInput>, SourceError> {
        let member_dirs: BTreeSet<&str> = ws.packages.iter().map(|p| p.dir.as_str()).collect();
        let target_dir = crate::workspace::relative(&ws.root, &ws.target_dir);
        let mut files = BTreeSet::new();
        let closure = ws.path_closure(pkg);
        for dir in &closure {
            list_dir(ws, dir, &member_dirs, &target_dir, &mut files)?;
        }
        for f in ROOT_FILES {
            if ws.root.join(f).is_file() {
                files.insert(f.to_string());
            }
        }
        let mut out = BTreeMap::new();
        let mut docs = Vec::new();
        for rel in files {
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
            let top_level_doc =
                is_doc(name) && (parent.is_empty() || closure.iter().any(|d| d == parent));
            if top_level_doc {
                docs.push(rel);
                continue;
            }
            let f = self.file(ws, &rel)?;
            out.insert(rel, f);
        }
        // A doc file stays in only when some Rust source names it (include_str!, #[doc]).
        if !docs.is_empty() {
            let mut mentioned = BTreeSet::new();
            for rel in out.keys().filter(|r| r.ends_with(".rs")) {
                let text = std::fs::read(ws.root.join(rel)).map_err(|source| SourceError::Io {
                    path: rel.clone(),
                    source,
                })?;
                for d in &docs {
                    let name = d.rsplit('/').next().unwrap_or(d);
                    if memmem(&text, name.as_bytes()) {
                        mentioned.insert(d.clone());
                    }
                }
            }
            for d in mentioned {
                let f = self.file(ws, &d)?;
                out.insert(d, f);
            }
        }
        Ok(out)
    }
}

fn is_doc(name: &str) -> bool {
    let u = name.to_ascii_uppercase();
    [
        "README",
        "LICENSE",
        "LICENCE",
        "UNLICENSE",
        "CHANGELOG",
        "RELEASES",
    ]
    .iter()
    .any(|p| u.starts_with(p))
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn list_dir(
    ws: &Workspace,
    dir: &str,
    member_dirs: &BTreeSet<&str>,
    target_dir: &str,
    out: &mut BTreeSet<String>,
) -> Result<(), SourceError> {
    let base = ws.root.join(dir);
    let walker = walkdir::WalkDir::new(&base)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if name == "target" || (name.starts_with('.') && name != ".cargo") {
                return false;
            }
            let rel = crate::workspace::relative(&ws.root, e.path());
            rel != target_dir && !member_dirs.contains(rel.as_str())
        });
    for entry in walker {
        let entry = entry.map_err(|e| SourceError::Io {
            path: base.display().to_string(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() {
            out.insert(crate::workspace::relative(&ws.root, entry.path()));
        }
    }
    Ok(())
}
