//! The exact source files a cargo build can read: the input set hashed into its key and copied
//! into its sandbox.
//!
//! For an App: the source files (git's view, [`crate::workspace::files`]) under its package
//! directory and the directories of the path dependencies it reaches, each filtered by its
//! package's `include` / `exclude`, plus the root `Cargo.toml`, `Cargo.lock`,
//! `rust-toolchain(.toml)` and `.cargo/config(.toml)` (cargo reads them whatever git says); and
//! the workspace skeleton: every member's `Cargo.toml` (cargo loads every member) with empty
//! placeholders at the other members' target roots (so their manifests load; their code is
//! never compiled for this App). Left out: `target/`, `.git/`, other hidden directories, and
//! top-level README/LICENSE/CHANGELOG files that no source file names (so a README edit
//! re-archives without recompiling, while a crate that does `include_str!("../README.md")`
//! still gets it).
//!
//! Manifests enter the build without their `[package.metadata]` / `[workspace.metadata]` tables
//! (cargo ignores them), and a root `dist-workspace.toml` / `dist.toml` is left out like the
//! docs (unless a source names it): dist config edits do not recompile.

use std::collections::{BTreeMap, BTreeSet};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dist_recipes::recipe::{FileInput, WorkspaceSkeleton};
use dist_store::ContentDigest;

use crate::workspace::guess::{Early, Guess};
use crate::workspace::{dist_file, include_kind, Package, Workspace};

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

/// What a cargo build sees: its own files by content, and the workspace skeleton.
#[derive(Debug, Clone)]
pub struct BuildSources {
    pub files: BTreeMap<String, FileInput>,
    pub skeleton: Arc<WorkspaceSkeleton>,
}

/// The bytes a build sees for a workspace file: manifests lose their metadata tables, which
/// cargo never reads, so editing dist config does not change any cargo-build key; and the root
/// manifest of a single package declares `[workspace]`, so cargo looks for no workspace above
/// the sandbox (it would read every `Cargo.toml` up to `/`, none of them an input).
pub fn snapshot_bytes(rel: &str, raw: Vec<u8>) -> Vec<u8> {
    if rel != "Cargo.toml" && !rel.ends_with("/Cargo.toml") {
        return raw;
    }
    // Nothing to remove and nothing to add (most member manifests): no parse.
    let root_declares_workspace = rel != "Cargo.toml"
        || raw
            .split(|b| *b == b'\n')
            .any(|line| line.trim_ascii_start().starts_with(b"[workspace]"));
    if !memmem(&raw, b"metadata") && root_declares_workspace {
        return raw;
    }
    let Ok(mut doc) = String::from_utf8_lossy(&raw).parse::<toml_edit::DocumentMut>() else {
        return raw;
    };
    for table in ["package", "workspace"] {
        if let Some(t) = doc.get_mut(table).and_then(|t| t.as_table_mut()) {
            t.remove("metadata");
            // `[workspace.metadata.dist]` alone declares a workspace: keep the header.
            t.set_implicit(false);
        }
    }
    if rel == "Cargo.toml" && !doc.contains_key("workspace") {
        doc.insert("workspace", toml_edit::table());
    }
    doc.to_string().into_bytes()
}

/// Hashes files once per run, whichever recipes share them.
#[derive(Default)]
pub struct SourceHasher {
    /// Path -> content, indexed by "in snapshot form?" ([`snapshot_bytes`]): what this hasher
    /// hashed since it was last forked.
    cache: [BTreeMap<String, FileInput>; 2],
    /// What it knew when it was forked, shared with the forks (threads) instead of copied.
    shared: Arc<[BTreeMap<String, FileInput>; 2]>,
    skeleton: Option<Arc<WorkspaceSkeleton>>,
    /// Facts about the workspace every build's input set needs, gathered once.
    layout: Option<Arc<Layout>>,
    /// Bytes hashed, for the benchmark.
    pub bytes_hashed: u64,
    /// What [`SourceHasher::warm`] found while `cargo metadata` ran.
    warm: Option<Arc<Warm>>,
    /// In a dist workspace of Cargo workspaces: a hasher per member root (the same relative
    /// path names different files in two of them), kept for the run's later graphs.
    members: BTreeMap<std::path::PathBuf, SourceHasher>,
}

/// The guessed members' file lists and what their Rust sources mention, gathered before the
/// workspace was known; the lists are used only if the guess matches [`Layout`].
#[derive(Debug, Default)]
struct Warm {
    /// The root, members and target dir the listings were made with.
    guess: Guess,
    /// Member directory -> its files, listed with the guessed members and target dir.
    listings: Arc<BTreeMap<String, BTreeSet<String>>>,
    /// Every doc-like file name (README*, LICENSE*, CHANGELOG*, dist files) in those listings.
    doc_names: BTreeSet<String>,
    /// Rust source -> the doc names its bytes contain.
    mentions: BTreeMap<String, Vec<String>>,
}

/// What every App's input set shares: the members' dirs (each App's walk stops at them), the
/// target dir, and which [`ROOT_FILES`] exist.
#[derive(Debug)]
struct Layout {
    member_dirs: BTreeSet<String>,
    target_dir: String,
    root_files: Vec<&'static str>,
    /// Whether the warm-up listed with these member dirs and this target dir (decided once:
    /// comparing 200 member dirs per package was a large plan's biggest string cost).
    warm_listings_valid: bool,
}

/// Files above this size are hashed as a stream instead of read whole.
const READ_WHOLE_LIMIT: u64 = 4 << 20;

impl SourceHasher {
    fn layout(&mut self, ws: &Workspace) -> Arc<Layout> {
        let warm = self.warm.clone();
        self.layout
            .get_or_insert_with(|| {
                let member_dirs: BTreeSet<String> =
                    ws.packages.iter().map(|p| p.dir.clone()).collect();
                let target_dir = crate::workspace::relative(&ws.root, &ws.target_dir);
                let warm_listings_valid = warm.is_some_and(|w| {
                    w.guess.member_dirs == member_dirs && w.guess.target_dir == target_dir
                });
                Arc::new(Layout {
                    member_dirs,
                    target_dir,
                    root_files: ROOT_FILES
                        .iter()
                        .copied()
                        .filter(|f| ws.root.join(f).is_file())
                        .collect(),
                    warm_listings_valid,
                })
            })
            .clone()
    }

    /// Moves what this hasher hashed into the part its forks share.
    pub fn freeze(&mut self) {
        let shared = Arc::make_mut(&mut self.shared);
        for (all, new) in shared.iter_mut().zip(&mut self.cache) {
            all.append(new);
        }
    }

    /// A hasher for another thread that starts from everything this one knew when last frozen.
    pub fn fork(&self) -> SourceHasher {
        SourceHasher {
            cache: Default::default(),
            shared: self.shared.clone(),
            skeleton: self.skeleton.clone(),
            layout: self.layout.clone(),
            bytes_hashed: 0,
            warm: self.warm.clone(),
            members: BTreeMap::new(),
        }
    }

    /// The hasher of the member Cargo workspace at `root` ([`SourceHasher::members`]).
    pub fn member(&mut self, root: &Path) -> &mut SourceHasher {
        self.members.entry(root.to_path_buf()).or_default()
    }

    /// Takes over what another hasher (another thread's) learnt.
    pub fn absorb(&mut self, other: SourceHasher) {
        self.bytes_hashed += other.bytes_hashed;
        for (mine, theirs) in self.cache.iter_mut().zip(other.cache) {
            mine.extend(theirs);
        }
        self.skeleton = self.skeleton.take().or(other.skeleton);
        self.layout = self.layout.take().or(other.layout);
        self.warm = self.warm.take().or(other.warm);
    }

    /// Hashes the guessed members' files while `cargo metadata` runs (on the core it leaves
    /// idle), until `stop` is set: what is done by then is not done again. Unreadable files are
    /// skipped here; the real run reports them.
    pub fn warm(early: &Early, stop: &AtomicBool) -> SourceHasher {
        let mut h = SourceHasher::default();
        let root = &early.guess.root;
        let mut warm = Warm {
            guess: early.guess.clone(),
            listings: early.listings.clone(),
            ..Warm::default()
        };
        warm.doc_names = warm
            .listings
            .values()
            .flatten()
            .map(|rel| rel.rsplit('/').next().unwrap_or(rel))
            .filter(|name| include_kind(name).is_some() || dist_file::FILE_NAMES.contains(name))
            .map(str::to_string)
            .collect();
        let listed = warm.listings.values().flatten().map(String::as_str);
        for rel in listed.chain(ROOT_FILES.iter().copied()) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let search = rel.ends_with(".rs");
            if let Ok((_, Some(bytes))) = h.hash_keeping(root, rel, true, search) {
                let names = warm.doc_names.iter();
                let found = names.filter(|n| memmem(&bytes, n.as_bytes())).cloned();
                warm.mentions.insert(rel.to_string(), found.collect());
            }
        }
        h.warm = Some(Arc::new(warm));
        h
    }

    /// This hasher if it was warmed for `ws`'s root, else a fresh one.
    pub fn for_workspace(self, ws: &Workspace) -> SourceHasher {
        match &self.warm {
            Some(w) if w.guess.root == ws.root => self,
            _ => SourceHasher::default(),
        }
    }

    /// The warm listings, if they were made with the member dirs and target dir of `layout`.
    fn warm_listings(&self, layout: &Layout) -> Option<Arc<Warm>> {
        self.warm.clone().filter(|_| layout.warm_listings_valid)
    }

    /// Every member's manifest and target roots ([`WorkspaceSkeleton`]), computed once.
    pub fn skeleton(&mut self, ws: &Workspace) -> Result<Arc<WorkspaceSkeleton>, SourceError> {
        if let Some(s) = &self.skeleton {
            return Ok(s.clone());
        }
        let mut manifests = BTreeMap::new();
        let mut placeholders = BTreeSet::new();
        for p in ws.packages.iter().filter(|p| p.generic.is_none()) {
            let rel = crate::workspace::relative(&ws.root, &p.manifest_path);
            manifests.insert(rel.clone(), self.build_file(ws, &rel)?);
            placeholders.extend(
                p.target_paths
                    .iter()
                    .filter(|t| !t.starts_with("../"))
                    .cloned(),
            );
        }
        let s = Arc::new(WorkspaceSkeleton::new(manifests, placeholders));
        self.skeleton = Some(s.clone());
        Ok(s)
    }

    /// The content of a workspace-relative file, as it is on disk.
    pub fn file(&mut self, ws: &Workspace, rel: &str) -> Result<FileInput, SourceError> {
        self.hash(ws, rel, false)
    }

    /// The content of a workspace-relative file as a build sees it ([`snapshot_bytes`]).
    pub fn build_file(&mut self, ws: &Workspace, rel: &str) -> Result<FileInput, SourceError> {
        self.hash(ws, rel, true)
    }

    fn hash(
        &mut self,
        ws: &Workspace,
        rel: &str,
        snapshot: bool,
    ) -> Result<FileInput, SourceError> {
        self.hash_keeping(&ws.root, rel, snapshot, false)
            .map(|(f, _)| f)
    }

    /// Hashes `rel` (once per run); with `keep`, also returns the bytes read, when they were
    /// read whole (small files, the ones not already cached).
    fn hash_keeping(
        &mut self,
        root: &Path,
        rel: &str,
        snapshot: bool,
        keep: bool,
    ) -> Result<(FileInput, Option<Vec<u8>>), SourceError> {
        let snapshot = snapshot && rel.ends_with("Cargo.toml");
        let form = usize::from(snapshot);
        if let Some(f) = self.cache[form]
            .get(rel)
            .or_else(|| self.shared[form].get(rel))
        {
            return Ok((*f, None));
        }
        let abs = root.join(rel);
        let io = |source| SourceError::Io {
            path: abs.display().to_string(),
            source,
        };
        // One open: its metadata and its bytes.
        let mut file = std::fs::File::open(&abs).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let (digest, kept) = if snapshot || meta.len() <= READ_WHOLE_LIMIT {
            let mut bytes = crate::read::sized(&mut file, meta.len()).map_err(io)?;
            if snapshot {
                bytes = snapshot_bytes(rel, bytes);
            }
            self.bytes_hashed += bytes.len() as u64;
            (ContentDigest::of_bytes(&bytes), keep.then_some(bytes))
        } else {
            drop(file);
            let (digest, size) = ContentDigest::of_file(&abs).map_err(io)?;
            self.bytes_hashed += size;
            (digest, None)
        };
        let f = FileInput {
            digest,
            executable: crate::platform::is_executable(&meta),
        };
        self.cache[form].insert(rel.to_string(), f);
        Ok((f, kept))
    }

    /// Every source file of the workspace (git's view) but `target/` and hidden directories
    /// (`.cargo` kept), as on disk: what an `extra-artifacts` command or an SBOM sees.
    pub fn workspace_files(
        &mut self,
        ws: &Workspace,
    ) -> Result<BTreeMap<String, FileInput>, SourceError> {
        let target_dir = crate::workspace::relative(&ws.root, &ws.target_dir);
        let mut files = BTreeSet::new();
        list_dir(ws, "", &BTreeSet::new(), &target_dir, &mut files)?;
        files
            .into_iter()
            .map(|rel| Ok((rel.clone(), self.file(ws, &rel)?)))
            .collect()
    }

    /// The listed sources under each of `dirs` (a package's and its path dependencies'), each
    /// filtered by its package's `include` / `exclude`.
    fn listed(
        &self,
        ws: &Workspace,
        layout: &Layout,
        dirs: &[String],
    ) -> Result<BTreeSet<String>, SourceError> {
        let mut files = BTreeSet::new();
        let warm = self.warm_listings(layout);
        for dir in dirs {
            let mut listed = BTreeSet::new();
            let listed = match warm.as_ref().and_then(|w| w.listings.get(dir)) {
                Some(listed) => listed,
                None => {
                    let (members, target) = (&layout.member_dirs, &layout.target_dir);
                    list_dir(ws, dir, members, target, &mut listed)?;
                    &listed
                }
            };
            // The package's own `include` / `exclude`, relative to its directory.
            let globs = ws.packages.iter().find(|p| &p.dir == dir);
            match globs.and_then(|p| p.globs.as_ref()) {
                None => files.extend(listed.iter().cloned()),
                Some(globs) => files.extend(
                    listed
                        .iter()
                        .filter(|rel| {
                            let in_pkg = match dir.is_empty() {
                                true => rel.as_str(),
                                false => &rel[dir.len() + 1..],
                            };
                            globs.keeps(in_pkg)
                        })
                        .cloned(),
                ),
            }
        }
        Ok(files)
    }

    /// The input set of a generic package's build: the listed files of its directory, as on
    /// disk.
    pub fn generic_sources(
        &mut self,
        ws: &Workspace,
        pkg: &Package,
    ) -> Result<BTreeMap<String, FileInput>, SourceError> {
        let layout = self.layout(ws);
        let files = self.listed(ws, &layout, std::slice::from_ref(&pkg.dir))?;
        files
            .into_iter()
            .map(|rel| Ok((rel.clone(), self.file(ws, &rel)?)))
            .collect()
    }

    /// The input set of a cargo build of `pkg`.
    pub fn build_sources(
        &mut self,
        ws: &Workspace,
        pkg: &Package,
    ) -> Result<BuildSources, SourceError> {
        let layout = self.layout(ws);
        let closure = ws.path_closure(pkg);
        let mut files = self.listed(ws, &layout, &closure)?;
        files.extend(layout.root_files.iter().map(|f| f.to_string()));
        let mut out = BuildSources {
            files: BTreeMap::new(),
            skeleton: self.skeleton(ws)?,
        };
        let (docs, sources): (Vec<String>, Vec<String>) = files.into_iter().partition(|rel| {
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            // The dist workspace file is config, like the manifests' metadata tables.
            (include_kind(name).is_some()
                && (parent.is_empty() || closure.iter().any(|d| d == parent)))
                || (parent.is_empty() && dist_file::FILE_NAMES.contains(&name))
        });
        // A doc file stays in only when some Rust source names it (include_str!, #[doc]): the
        // sources are searched with the bytes read to hash them.
        let mut mentioned = BTreeSet::new();
        // What the warm-up found in each source, if it knew every doc name asked about.
        let known = self.warm.clone().filter(|w| {
            docs.iter()
                .all(|d| w.doc_names.contains(d.rsplit('/').next().unwrap_or(d)))
        });
        for rel in sources {
            let search = !docs.is_empty() && rel.ends_with(".rs");
            let found = known.as_ref().and_then(|w| w.mentions.get(&rel));
            let (f, bytes) = self.hash_keeping(&ws.root, &rel, true, search && found.is_none())?;
            if search {
                let base = |d: &'_ String| d.rsplit('/').next().unwrap_or(d).to_string();
                let names: Vec<String> = match found {
                    Some(names) => names.clone(),
                    None => {
                        let text = match bytes {
                            Some(b) => b,
                            None => std::fs::read(ws.root.join(&rel)).map_err(|source| {
                                SourceError::Io {
                                    path: rel.clone(),
                                    source,
                                }
                            })?,
                        };
                        docs.iter()
                            .map(base)
                            .filter(|n| memmem(&text, n.as_bytes()))
                            .collect()
                    }
                };
                for d in &docs {
                    if names.contains(&base(d)) {
                        mentioned.insert(d.clone());
                    }
                }
            }
            out.files.insert(rel, f);
        }
        for d in mentioned {
            let f = self.build_file(ws, &d)?;
            out.files.insert(d, f);
        }
        Ok(out)
    }
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

fn list_dir(
    ws: &Workspace,
    dir: &str,
    member_dirs: &BTreeSet<String>,
    target_dir: &str,
    out: &mut BTreeSet<String>,
) -> Result<(), SourceError> {
    let root = &ws.root;
    crate::workspace::list_files(root, dir, member_dirs, target_dir, &ws.sources, out).map_err(
        |source| SourceError::Io {
            path: root.join(dir).display().to_string(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::snapshot_bytes;

    #[test]
    fn manifests_lose_only_their_metadata() {
        let raw = "[package]\nname = \"a\" # keep\nversion = \"1.0.0\"\n\n[package.metadata.dist]\ninstallers = [\"shell\"]\n\n[workspace.metadata.dist]\nci = [\"github\"]\n\n[dependencies]\n";
        let out = String::from_utf8(snapshot_bytes("Cargo.toml", raw.as_bytes().to_vec())).unwrap();
        assert!(
            !out.contains("metadata") && !out.contains("installers"),
            "{out}"
        );
        assert!(
            out.contains("name = \"a\" # keep") && out.contains("[dependencies]"),
            "{out}"
        );
        let other = b"[package.metadata]\n".to_vec();
        assert_eq!(snapshot_bytes("src/x.toml", other.clone()), other);
    }

    /// The sandbox's root is the workspace root: cargo must not look above it.
    #[test]
    fn a_single_package_root_declares_its_workspace_members_do_not() {
        let single = "[package]\nname = \"a\"\nversion = \"1.0.0\"\n";
        let root = String::from_utf8(snapshot_bytes("Cargo.toml", single.into())).unwrap();
        assert!(root.ends_with("[workspace]\n"), "{root}");
        let member = String::from_utf8(snapshot_bytes("a/Cargo.toml", single.into())).unwrap();
        assert!(!member.contains("[workspace]"), "{member}");
        let declared = "[workspace]\nmembers = [\"a\"]\n";
        let kept = String::from_utf8(snapshot_bytes("Cargo.toml", declared.into())).unwrap();
        assert_eq!(kept.matches("[workspace]").count(), 1, "{kept}");
        // Named only in a comment, `[workspace]` is not a table: one is still added.
        let commented = "# not a [workspace] yet\n[package]\nname = \"a\"\n";
        let root = String::from_utf8(snapshot_bytes("Cargo.toml", commented.into())).unwrap();
        assert!(root.ends_with("[workspace]\n"), "{root}");
        // With nothing to remove or add, the bytes are the file's own.
        let plain = "[package]\nname = \"a\"   # spacing kept\n";
        assert_eq!(
            snapshot_bytes("a/Cargo.toml", plain.into()),
            plain.as_bytes()
        );
    }
}
