//! Workspace stage: `cargo metadata` -> a small, owned model of the packages cargo-dist cares about.
//!
//! It runs `cargo metadata` and `git rev-parse` and reads the dist workspace file
//! ([`dist_file`]); the stages after it work on [`Workspace`] without touching the disk (the
//! recipe stage reads and hashes the source files it names).

pub mod dist_file;
pub mod files;
pub mod generic;
pub mod guess;
mod manifests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use dist_recipes::target::LibraryKind;
use semver::Version;
use serde_json::Value;

/// Why the workspace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("could not read the Cargo workspace at {manifest}: {message}\n  fix the manifest so that `cargo metadata` succeeds, or pass --manifest-path")]
    Metadata { manifest: String, message: String },
    #[error("could not read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("CARGO_DIST_METADATA is `{0}`: it may be unset (read the manifests, ask `cargo metadata` when they need it), `cargo` (always ask cargo), `manifests` (never ask cargo) or `check` (both, failing if they disagree)")]
    Reader(String),
    #[error("CARGO_DIST_METADATA=manifests, but the workspace of {0} needs `cargo metadata` to be read (it uses something cargo-dist does not read itself); unset CARGO_DIST_METADATA")]
    NeedsCargo(String),
    #[error("reading the manifests disagrees with `cargo metadata` on {what}:\n  read:  {direct}\n  cargo: {cargo}\n  please report this; CARGO_DIST_METADATA=cargo makes every run ask cargo")]
    Disagree {
        what: String,
        direct: String,
        cargo: String,
    },
    #[error("{path}: {message}")]
    DistFile { path: String, message: String },
    #[error("{manifest}: `package.{key}` has a glob cargo cannot read: {message}")]
    Glob {
        manifest: String,
        key: &'static str,
        message: String,
    },
    #[error("{path} does not list the Cargo workspace at {root} in its [workspace] members\n  add \"cargo:{rel}\" to `members` in {path}")]
    NotAMember {
        path: String,
        root: String,
        rel: String,
    },
}

/// A Cargo workspace as cargo-dist sees it. Paths are absolute here; everything that is hashed or
/// printed is made relative to [`Workspace::root`] first.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub manifest_path: PathBuf,
    pub target_dir: PathBuf,
    /// Sorted by name.
    pub packages: Vec<Package>,
    /// `[workspace.metadata]` (or the root package's `[package.metadata]` in a workspace-less
    /// project), as `cargo metadata` reports it.
    pub workspace_metadata: Value,
    /// True when the root manifest has no `[workspace]` table: the root package's metadata then
    /// also serves as the workspace's.
    pub single_package: bool,
    /// The profiles declared in the root manifest: profile name -> field -> TOML text of the value.
    pub profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// The committed tree of the workspace directory (`git rev-parse HEAD:<dir>`), when the
    /// workspace is committed to git: the source tarball is made from it.
    pub git_tree: Option<String>,
    /// The top of the enclosing git work tree (`git archive` of a tree id must run there).
    pub git_root: Option<PathBuf>,
    /// `dist-workspace.toml` (or `dist.toml`) when one names this Cargo workspace: its `[dist]`
    /// is then the workspace config.
    pub dist_file: Option<dist_file::DistFile>,
    /// Which of its files are sources (git's view, as `cargo package` takes it).
    pub sources: files::SourceFiles,
    /// With a dist file listing several Cargo workspaces, or one in a subdirectory: each, loaded
    /// as it would be alone (its packages' cargo builds run in it: its root, lockfile, profiles
    /// and target dir). This workspace is then rooted at the dist file's directory and holds
    /// all their packages, paths relative to it. Empty otherwise: this workspace is the one
    /// Cargo workspace.
    pub cargo_workspaces: Vec<Workspace>,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub manifest_path: PathBuf,
    /// The package's directory, relative to the workspace root ("" for the root package).
    pub dir: String,
    /// Binary target names, sorted.
    pub binaries: Vec<String>,
    pub has_lib: bool,
    /// The lib target's name (`-` as `_`), when the package has one.
    pub lib_name: Option<String>,
    /// The C-compatible library kinds its lib target builds (`cdylib`, `staticlib`).
    pub c_libraries: Vec<LibraryKind>,
    /// `publish = false` (or an empty registry list) makes this false.
    pub publish: bool,
    pub repository: Option<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
    /// `authors`, as Cargo.toml lists them.
    pub authors: Vec<String>,
    /// `[package.metadata]`.
    pub metadata: Value,
    /// Files cargo-dist puts in every archive of this package unless `auto-includes = false`:
    /// workspace-relative paths of README*, LICENSE*/UNLICENSE*, CHANGELOG*/RELEASES*.
    pub auto_includes: Vec<AutoInclude>,
    /// Workspace-relative directories of path dependencies (direct ones; see [`Workspace::path_closure`]).
    pub path_deps: Vec<String>,
    /// Features the package declares.
    pub features: Vec<String>,
    /// Workspace-relative source roots of all its targets (lib, bins, build script, examples,
    /// tests, benches): a build of another member must find them to load this manifest.
    pub target_paths: Vec<String>,
    /// `package.include` / `package.exclude`, when it sets either.
    pub globs: Option<files::PackageGlobs>,
    /// A generic (`dist:`) member's build; `None` for Cargo packages.
    pub generic: Option<generic::GenericBuildSpec>,
    /// The scope of an npm member's package name: its npm installer's scope unless `npm-scope`
    /// says otherwise, as in cargo-dist.
    pub npm_scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AutoInclude {
    pub kind: IncludeKind,
    /// Workspace-relative path.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncludeKind {
    Readme,
    License,
    Changelog,
}

/// What the workspace model is made from, as either reader gives it: `cargo metadata`, or
/// [`manifests::read`] reading the manifests itself. Absolute paths; lists sorted.
#[derive(Debug, PartialEq)]
pub(super) struct RawWorkspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    /// `[workspace.metadata]` (null when absent).
    pub metadata: Value,
    /// The members, sorted by name.
    pub packages: Vec<RawPackage>,
}

#[derive(Debug, PartialEq)]
pub(super) struct RawPackage {
    pub name: String,
    pub version: Version,
    pub manifest_path: PathBuf,
    /// Binary target names.
    pub bins: Vec<String>,
    /// The lib target's name (`-` as `_`) and crate types.
    pub lib: Option<(String, Vec<LibKind>)>,
    /// Source roots of every target (lib, bins, build script, examples, tests, benches).
    pub target_paths: Vec<PathBuf>,
    pub publish: bool,
    /// Directories of the path dependencies that are not dev-dependencies.
    pub path_deps: Vec<PathBuf>,
    pub features: Vec<String>,
    /// The README cargo names (`readme`, or README.md/.txt/README found beside the manifest).
    pub readme: Option<PathBuf>,
    pub repository: Option<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
    pub authors: Vec<String>,
    pub metadata: Value,
    /// `package.include` and `package.exclude` (inherited ones resolved).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// A lib target's crate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LibKind {
    Lib,
    Rlib,
    Dylib,
    Cdylib,
    Staticlib,
    ProcMacro,
}

impl Workspace {
    /// Runs `cargo metadata --no-deps` (no dependency resolution: fast, and works offline).
    /// A `dist-workspace.toml` found beside the manifest (or above it, within its git work tree)
    /// supplies the workspace config; without `--manifest-path`, its `cargo:` member says which
    /// Cargo workspace to load.
    pub fn load(manifest_path: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        Self::load_overlapped(manifest_path, |_, _, _| ()).map(|(ws, _)| ws)
    }

    /// [`Workspace::load`], running `meanwhile` on this thread with what is known of the
    /// workspace's layout early (if a manifest was found), a flag set once the workspace is
    /// known (work that can wait should stop then) and whether `cargo metadata` runs beside it.
    /// The manifests are read directly when [`manifests::read`] understands them; else (or
    /// with `CARGO_DIST_METADATA=cargo`) cargo is asked, and `meanwhile` runs while it works on
    /// the layout guessed from the root manifest.
    pub fn load_overlapped<T>(
        manifest_path: Option<&Path>,
        meanwhile: impl FnOnce(Option<&guess::Early>, &AtomicBool, bool) -> T,
    ) -> Result<(Workspace, T), WorkspaceError> {
        let cwd = std::env::current_dir().map_err(|source| WorkspaceError::Io {
            path: ".".into(),
            source,
        })?;
        let start = match manifest_path.and_then(|p| p.parent()) {
            Some(d) if !d.as_os_str().is_empty() => cwd.join(d),
            _ => cwd.clone(),
        };
        let found = dist_file::find(&start)?;
        // A dist workspace of generic packages only: there is no Cargo workspace to read.
        if let Some(f) = found
            .as_ref()
            .filter(|f| manifest_path.is_none() && f.cargo_members.is_empty())
        {
            let root = clean(f.path.parent().unwrap_or(&cwd));
            let raw = RawWorkspace {
                target_dir: root.join("target"),
                root,
                metadata: Value::Null,
                packages: Vec::new(),
            };
            let extra = meanwhile(None, &AtomicBool::new(true), false);
            let mut ws = Self::from_raw(raw, None, None, &f.generic_members)?;
            ws.manifest_path = f.path.clone();
            return Ok((ws.with_dist_file(found.expect("found"))?, extra));
        }
        // Cargo workspaces other than the one at the dist file's own directory: the dist
        // workspace is rooted there (its `.github`, its `target/distrib`), each member built in
        // its own directory.
        if let Some(f) = found
            .as_ref()
            .filter(|f| manifest_path.is_none() && dist_file::roots_elsewhere(f))
        {
            let extra = meanwhile(None, &AtomicBool::new(true), false);
            let ws = Self::load_several(f.clone(), &cwd)?;
            return Ok((ws, extra));
        }
        let member_manifest = match (&found, manifest_path) {
            (Some(f), None) => f.cargo_members.first().map(|d| d.join("Cargo.toml")),
            _ => None,
        };
        let manifest_path = manifest_path.or(member_manifest.as_deref());
        // git lists the sources while the manifests are read (in the manifest's directory:
        // the root, unless it is a member's).
        let sources = files::Pending::ask(&match manifest_path.and_then(|p| p.parent()) {
            Some(d) if !d.as_os_str().is_empty() => clean(&cwd.join(d)),
            _ => cwd.clone(),
        });
        let reader = Reader::from_env()?;
        let direct = match reader {
            Reader::Cargo => None,
            _ => manifests::read(&cwd, manifest_path),
        };
        let (mut ws, extra) = match (direct, reader) {
            (Some((raw, doc)), Reader::Direct | Reader::Manifests) => {
                // Nothing runs beside: the warm-up lists and hashes every member.
                let answered = AtomicBool::new(false);
                let early = guess::Early::gather(guess::Guess::exact(&raw), &answered, sources);
                let extra = meanwhile(Some(&early), &answered, false);
                let generic = found.as_ref().map_or(&[][..], |f| &f.generic_members);
                (Self::from_raw(raw, Some(doc), Some(early), generic)?, extra)
            }
            (None, Reader::Manifests) => {
                let manifest = manifest_path.unwrap_or(Path::new("Cargo.toml"));
                return Err(WorkspaceError::NeedsCargo(manifest.display().to_string()));
            }
            (direct, _) => {
                let (raw, early, extra) = Self::ask_cargo(&cwd, manifest_path, sources, meanwhile)?;
                if let Some((direct, _)) = direct {
                    compare(&direct, &raw)?;
                }
                let generic = found.as_ref().map_or(&[][..], |f| &f.generic_members);
                (Self::from_raw(raw, None, early, generic)?, extra)
            }
        };
        if let Some(f) = found {
            ws = ws.with_dist_file(f)?;
        }
        Ok((ws, extra))
    }

    /// A dist workspace of Cargo workspaces other than one at its own directory (and any generic
    /// members), rooted at the dist file's directory: each Cargo workspace is loaded as it would be alone, and its
    /// packages are taken with their paths made relative to that directory.
    fn load_several(f: dist_file::Found, cwd: &Path) -> Result<Workspace, WorkspaceError> {
        let root = clean(f.path.parent().unwrap_or(cwd));
        let members = f
            .cargo_members
            .iter()
            .map(|dir| Workspace::load(Some(&clean(dir).join("Cargo.toml"))))
            .collect::<Result<Vec<_>, _>>()?;
        let raw = RawWorkspace {
            target_dir: root.join("target"),
            root: root.clone(),
            metadata: Value::Null,
            packages: Vec::new(),
        };
        let mut ws = Self::from_raw(raw, None, None, &f.generic_members)?;
        // A Cargo.toml at the root that is not a member says nothing about the members'.
        ws.profiles.clear();
        ws.single_package = false;
        ws.manifest_path = f.path.clone();
        for m in &members {
            let prefix = relative(&root, &m.root);
            for p in &m.packages {
                let p = p.rebased(&prefix);
                if let Some(q) = ws.package(&p.name) {
                    let shown = |dir: &str| {
                        if dir.is_empty() {
                            ".".to_string()
                        } else {
                            dir.to_string()
                        }
                    };
                    return Err(WorkspaceError::DistFile {
                        path: f.path.display().to_string(),
                        message: format!(
                            "package `{}` is in two members (at {} and at {}); rename one of them",
                            p.name,
                            shown(&q.dir),
                            shown(&p.dir),
                        ),
                    });
                }
                ws.packages.push(p);
            }
        }
        ws.packages.sort_by(|a, b| a.name.cmp(&b.name));
        ws.cargo_workspaces = members;
        ws.with_dist_file(f)
    }

    /// The Cargo workspace `package` is built in: one of [`Workspace::cargo_workspaces`], or
    /// this one.
    pub fn cargo_of(&self, package: &str) -> &Workspace {
        self.cargo_member(package).map_or(self, |(_, w)| w)
    }

    /// The member of [`Workspace::cargo_workspaces`] holding `package`, with its place in
    /// `members`; `None` when this workspace is the one Cargo workspace.
    pub fn cargo_member(&self, package: &str) -> Option<(usize, &Workspace)> {
        self.cargo_workspaces
            .iter()
            .enumerate()
            .find(|(_, w)| w.package(package).is_some())
    }

    /// The Cargo workspaces whose packages are built: [`Workspace::cargo_workspaces`], else
    /// this one.
    pub fn cargo_roots(&self) -> Vec<&Workspace> {
        match self.cargo_workspaces.is_empty() {
            true => vec![self],
            false => self.cargo_workspaces.iter().collect(),
        }
    }

    /// The workspace with the dist file `f` attached when it names it.
    fn with_dist_file(mut self, f: dist_file::Found) -> Result<Workspace, WorkspaceError> {
        let version = f.version.clone();
        self.dist_file = attach(&self.root, f, !self.cargo_workspaces.is_empty())?;
        // `[workspace] version` releases every package at one version.
        if let (Some(v), Some(_)) = (version, &self.dist_file) {
            for p in &mut self.packages {
                p.version = v.clone();
            }
        }
        Ok(self)
    }

    /// Runs `cargo metadata --no-deps`, and `meanwhile` beside it on the guessed layout.
    fn ask_cargo<T>(
        cwd: &Path,
        manifest_path: Option<&Path>,
        sources: files::Pending,
        meanwhile: impl FnOnce(Option<&guess::Early>, &AtomicBool, bool) -> T,
    ) -> Result<(RawWorkspace, Option<guess::Early>, T), WorkspaceError> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(p) = manifest_path {
            cmd.manifest_path(p);
        }
        let shown = manifest_path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "Cargo.toml".to_string());
        let guess_dir = match manifest_path.and_then(|p| p.parent()) {
            Some(d) if !d.as_os_str().is_empty() => cwd.join(d),
            _ => cwd.to_path_buf(),
        };
        let answered = AtomicBool::new(false);
        let (meta, early, extra) = std::thread::scope(|s| {
            let metadata = s.spawn(|| {
                let meta = cmd.exec();
                answered.store(true, Ordering::Relaxed);
                meta
            });
            let early = guess::Guess::from_dir(&guess_dir)
                .map(|g| guess::Early::gather(g, &answered, sources));
            let extra = meanwhile(early.as_ref(), &answered, true);
            let meta = metadata.join().expect("cargo metadata thread");
            (meta, early, extra)
        });
        let meta = meta.map_err(|e| WorkspaceError::Metadata {
            manifest: shown,
            message: metadata_error_text(&e),
        })?;
        Ok((Self::raw_from_metadata(meta), early, extra))
    }

    /// What `cargo metadata` said, in the form [`manifests::read`] gives too.
    fn raw_from_metadata(meta: cargo_metadata::Metadata) -> RawWorkspace {
        let members: std::collections::BTreeSet<_> = meta.workspace_members.iter().collect();
        let root: &Path = meta.workspace_root.as_std_path();
        let mut packages: Vec<RawPackage> = meta
            .packages
            .iter()
            .filter(|p| members.contains(&p.id))
            .map(|p| RawPackage::from_metadata(root, p))
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        RawWorkspace {
            root: meta.workspace_root.clone().into(),
            target_dir: clean(meta.target_directory.as_std_path()),
            metadata: meta.workspace_metadata.clone(),
            packages,
        }
    }

    /// The model, from what either reader found. `doc` is the root manifest when the reader
    /// already parsed it.
    fn from_raw(
        raw: RawWorkspace,
        doc: Option<toml_edit::DocumentMut>,
        early: Option<guess::Early>,
        generic: &[generic::GenericMember],
    ) -> Result<Workspace, WorkspaceError> {
        let root = raw.root;
        // What was gathered while metadata ran holds for this root only.
        let early = early.filter(|e| e.guess.root == root).unwrap_or_default();
        let sources = match &early.sources {
            Some(s) => s.clone(),
            None => files::SourceFiles::of(&root),
        };
        let scan = |dir: &Path| match early.includes.get(dir) {
            Some(found) => found.clone(),
            None => scan_includes(&root, dir, &sources),
        };
        let manifest_path = root.join("Cargo.toml");
        // None without a Cargo workspace (generic members only).
        let doc = match doc {
            Some(doc) => Some(doc),
            None if raw.packages.is_empty() && !manifest_path.is_file() => None,
            None => Some(parse_toml(&manifest_path)?),
        };
        let single_package = doc.as_ref().is_some_and(|d| d.get("workspace").is_none());
        let profiles = doc.as_ref().map(read_profiles).unwrap_or_default();

        // The root's files are the fallback of every package: list them once.
        let in_root = scan(&root);
        let mut packages: Vec<Package> = raw
            .packages
            .into_iter()
            .map(|p| Package::from_raw(p, &root, &in_root, &scan))
            .collect::<Result<_, _>>()?;
        for m in generic {
            let pkg = Package::from_generic(m, &root, &in_root, &scan)?;
            if packages.iter().any(|p| p.name == pkg.name) {
                return Err(WorkspaceError::DistFile {
                    path: m.manifest.display().to_string(),
                    message: format!(
                        "package `{}` is named twice in the workspace; rename one of them",
                        pkg.name
                    ),
                });
            }
            packages.push(pkg);
        }
        packages.sort_by(|a, b| a.name.cmp(&b.name));

        let workspace_metadata = if single_package {
            packages
                .iter()
                .find(|p| p.dir.is_empty())
                .map(|p| p.metadata.clone())
                .unwrap_or(Value::Null)
        } else {
            raw.metadata
        };
        Ok(Workspace {
            root: root.clone(),
            manifest_path,
            target_dir: raw.target_dir,
            packages,
            workspace_metadata,
            // `early` is the default (another root) when the guess was wrong.
            git_tree: if early.guess.root == root {
                early.git_tree.clone()
            } else {
                committed_tree(&root)
            },
            git_root: root
                .ancestors()
                .find(|d| d.join(".git").exists())
                .map(Path::to_path_buf),
            single_package,
            profiles,
            dist_file: None,
            sources,
            cargo_workspaces: Vec::new(),
        })
    }

    /// False for a dist workspace of generic members only (its `manifest_path` is the dist file).
    pub fn has_cargo_workspace(&self) -> bool {
        self.manifest_path.ends_with("Cargo.toml") || !self.cargo_workspaces.is_empty()
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        // Loaded packages are sorted by name (a plan looks Apps up thousands of times); a list
        // made some other way may not be, so a miss is confirmed by a scan.
        match self
            .packages
            .binary_search_by(|p| p.name.as_str().cmp(name))
        {
            Ok(i) => Some(&self.packages[i]),
            Err(_) => self.packages.iter().find(|p| p.name == name),
        }
    }

    /// The package's own directory plus the directories of every path dependency it reaches
    /// (transitively through workspace members), sorted and deduplicated.
    pub fn path_closure(&self, pkg: &Package) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![pkg.dir.clone()];
        while let Some(dir) = todo.pop() {
            if !seen.insert(dir.clone()) {
                continue;
            }
            if let Some(p) = self.packages.iter().find(|p| p.dir == dir) {
                todo.extend(p.path_deps.iter().cloned());
            }
        }
        seen.into_iter().collect()
    }
}

impl RawPackage {
    fn from_metadata(root: &Path, p: &cargo_metadata::Package) -> RawPackage {
        use cargo_metadata::TargetKind as K;
        let mut bins = Vec::new();
        let mut lib = None;
        for t in &p.targets {
            let kinds: Vec<LibKind> = t
                .kind
                .iter()
                .filter_map(|k| {
                    Some(match k {
                        K::Lib => LibKind::Lib,
                        K::RLib => LibKind::Rlib,
                        K::DyLib => LibKind::Dylib,
                        K::CDyLib => LibKind::Cdylib,
                        K::StaticLib => LibKind::Staticlib,
                        K::ProcMacro => LibKind::ProcMacro,
                        _ => return None,
                    })
                })
                .collect();
            if t.kind.contains(&K::Bin) {
                bins.push(t.name.clone());
            }
            if !kinds.is_empty() {
                lib = Some((t.name.replace('-', "_"), kinds));
            }
        }
        let pkg_dir = p
            .manifest_path
            .as_std_path()
            .parent()
            .unwrap_or(Path::new(""));
        let (include, exclude) = manifests::globs_of(root, p.manifest_path.as_std_path());
        RawPackage {
            name: p.name.to_string(),
            version: p.version.clone(),
            manifest_path: p.manifest_path.clone().into(),
            bins,
            lib,
            target_paths: p
                .targets
                .iter()
                .map(|t| t.src_path.clone().into())
                .collect(),
            publish: !matches!(&p.publish, Some(regs) if regs.is_empty()),
            path_deps: p
                .dependencies
                .iter()
                .filter(|d| d.kind != cargo_metadata::DependencyKind::Development)
                .filter_map(|d| d.path.as_ref())
                .map(|path| path.clone().into())
                .collect(),
            features: p.features.keys().cloned().collect(),
            readme: p.readme.as_ref().map(|r| normalize(&pkg_dir.join(r))),
            repository: p.repository.clone(),
            description: p.description.clone(),
            homepage: p.homepage.clone(),
            license: p.license.clone(),
            authors: p.authors.clone(),
            metadata: p.metadata.clone(),
            include,
            exclude,
        }
        .sorted()
    }

    /// Lists in one order, whichever reader made them.
    pub(super) fn sorted(mut self) -> RawPackage {
        self.bins.sort();
        self.bins.dedup();
        if let Some((_, kinds)) = &mut self.lib {
            kinds.sort();
            kinds.dedup();
        }
        for list in [&mut self.target_paths, &mut self.path_deps] {
            list.sort();
            list.dedup();
        }
        self.features.sort();
        self
    }
}

impl Package {
    /// A generic member as a package, read like a Cargo package from what its file says.
    fn from_generic(
        m: &generic::GenericMember,
        root: &Path,
        in_root: &[(IncludeKind, PathBuf)],
        scan: &dyn Fn(&Path) -> Vec<(IncludeKind, PathBuf)>,
    ) -> Result<Package, WorkspaceError> {
        let raw = RawPackage {
            name: m.name.clone(),
            version: m.version.clone(),
            manifest_path: m.manifest.clone(),
            bins: m.binaries.clone(),
            lib: None,
            target_paths: Vec::new(),
            publish: true,
            path_deps: Vec::new(),
            features: Vec::new(),
            readme: m.readme.clone(),
            repository: m.repository.clone(),
            description: m.description.clone(),
            homepage: m.homepage.clone(),
            license: m.license.clone(),
            authors: m.authors.clone(),
            // The member's `[dist]` is its package config, as `[package.metadata.dist]` is.
            metadata: m
                .dist
                .as_ref()
                .map_or(Value::Null, |d| serde_json::json!({ "dist": d })),
            include: Vec::new(),
            exclude: Vec::new(),
        }
        .sorted();
        let mut pkg = Package::from_raw(raw, root, in_root, scan)?;
        if pkg.dir.starts_with("..") {
            return Err(WorkspaceError::DistFile {
                path: m.manifest.display().to_string(),
                message: format!(
                    "this generic member is outside the workspace root {}; move it inside, or release it from a dist workspace of its own",
                    root.display()
                ),
            });
        }
        pkg.generic = Some(m.build.clone());
        pkg.npm_scope = m.npm_scope.clone();
        Ok(pkg)
    }

    /// This package of a Cargo workspace at `prefix` (relative), as the dist workspace holding
    /// it sees it: its paths relative to the dist workspace's root.
    fn rebased(&self, prefix: &str) -> Package {
        let join = |rel: &str| join_relative(prefix, rel);
        let mut p = self.clone();
        p.dir = join(&p.dir);
        for i in &mut p.auto_includes {
            i.path = join(&i.path);
        }
        for d in p.path_deps.iter_mut().chain(p.target_paths.iter_mut()) {
            *d = join(d);
        }
        p
    }

    fn from_raw(
        p: RawPackage,
        root: &Path,
        in_root: &[(IncludeKind, PathBuf)],
        scan: &dyn Fn(&Path) -> Vec<(IncludeKind, PathBuf)>,
    ) -> Result<Package, WorkspaceError> {
        let pkg_dir = p.manifest_path.parent().unwrap_or(root).to_path_buf();
        let globs =
            files::PackageGlobs::new(&pkg_dir, &p.include, &p.exclude).map_err(|message| {
                WorkspaceError::Glob {
                    manifest: p.manifest_path.display().to_string(),
                    key: if p.include.is_empty() {
                        "exclude"
                    } else {
                        "include"
                    },
                    message,
                }
            })?;
        let mut has_lib = false;
        let mut c_libraries = Vec::new();
        for k in p.lib.iter().flat_map(|(_, kinds)| kinds) {
            match k {
                LibKind::Cdylib => c_libraries.push(LibraryKind::Cdylib),
                LibKind::Staticlib => {
                    c_libraries.push(LibraryKind::CStaticlib);
                    has_lib = true;
                }
                LibKind::Lib | LibKind::Rlib | LibKind::Dylib | LibKind::ProcMacro => {
                    has_lib = true
                }
            }
        }
        c_libraries.sort();
        c_libraries.dedup();
        let rel_all = |paths: &[PathBuf]| -> Vec<String> {
            let mut out: Vec<String> = paths.iter().map(|d| relative(root, d)).collect();
            out.sort();
            out.dedup();
            out
        };
        Ok(Package {
            auto_includes: find_auto_includes(
                root,
                in_root,
                &pkg_dir,
                scan(&pkg_dir),
                p.readme.as_deref(),
            ),
            dir: relative(root, &pkg_dir),
            name: p.name,
            version: p.version,
            manifest_path: p.manifest_path,
            binaries: p.bins,
            has_lib,
            lib_name: p.lib.map(|(name, _)| name),
            c_libraries,
            publish: p.publish,
            repository: p.repository,
            description: p.description,
            homepage: p.homepage,
            license: p.license,
            authors: p.authors,
            metadata: p.metadata,
            path_deps: rel_all(&p.path_deps),
            features: p.features,
            target_paths: rel_all(&p.target_paths),
            globs,
            generic: None,
            npm_scope: None,
        })
    }
}

/// Who says what the workspace is (`CARGO_DIST_METADATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// The manifests, read directly; cargo when they are beyond [`manifests::read`].
    Direct,
    /// Always `cargo metadata`.
    Cargo,
    /// Never `cargo metadata` (fails if the manifests need it).
    Manifests,
    /// Both, failing if they disagree (the test suite runs this way).
    Check,
}

impl Reader {
    fn from_env() -> Result<Reader, WorkspaceError> {
        match crate::env::metadata_reader().as_deref() {
            None => Ok(Reader::Direct),
            Some("cargo") => Ok(Reader::Cargo),
            Some("check") => Ok(Reader::Check),
            Some("manifests") => Ok(Reader::Manifests),
            Some(other) => Err(WorkspaceError::Reader(other.to_string())),
        }
    }
}

/// Fails naming the first field the two readers disagree on.
fn compare(direct: &RawWorkspace, cargo: &RawWorkspace) -> Result<(), WorkspaceError> {
    if direct == cargo {
        return Ok(());
    }
    let (a, b) = (format!("{direct:#?}"), format!("{cargo:#?}"));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = (0..a.len().max(b.len()))
        .find(|i| a.get(*i) != b.get(*i))
        .unwrap_or(0);
    // The package the line belongs to, if any: the nearest `name:` above it at package depth.
    let package = a[..at.min(a.len())]
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("            name: "));
    let line = |v: &[&str]| {
        let l = v.get(at).map(|l| l.trim()).unwrap_or_default();
        l.trim_end_matches(',').to_string()
    };
    Err(WorkspaceError::Disagree {
        what: match package {
            Some(name) => format!("package {}", name.trim_end_matches(',')),
            None => "the workspace".to_string(),
        },
        direct: line(&a),
        cargo: line(&b),
    })
}

/// The dist file of the Cargo workspace at `root`, if it names it. A file beside the workspace
/// that does not list it is an error (the user meant it for this workspace); one further up that
/// does not is someone else's and is left alone.
fn attach(
    root: &Path,
    f: dist_file::Found,
    several: bool,
) -> Result<Option<dist_file::DistFile>, WorkspaceError> {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let root_c = canon(root);
    let dir = f.path.parent().unwrap_or(Path::new("."));
    // A workspace of generic members only has no Cargo workspace to name.
    // A dist workspace of several Cargo workspaces is rooted at the file's directory.
    let several_here = several && canon(dir) == root_c;
    if f.cargo_members.is_empty()
        || several_here
        || f.cargo_members.iter().any(|m| canon(m) == root_c)
    {
        return Ok(Some(dist_file::DistFile {
            path: relative(&root_c, &canon(&f.path)),
            dist: f.dist,
            packages: f.packages,
        }));
    }
    if canon(dir) == root_c {
        return Err(WorkspaceError::NotAMember {
            path: f.path.display().to_string(),
            root: root.display().to_string(),
            rel: ".".into(),
        });
    }
    Ok(None)
}

/// `rel` (slash-separated, relative to `prefix`) relative to `prefix`'s own base, with `..`
/// taken away where `prefix` allows: `join_relative("a", "../b")` is `b`.
fn join_relative(prefix: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        match (part, parts.last()) {
            ("..", Some(last)) if *last != ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// `path` without `.` components (as cargo prints paths it was given with them).
fn clean(path: &Path) -> PathBuf {
    path.components().collect()
}

/// `path` with `.` and `..` resolved lexically (symlinks are not followed, as cargo does).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A TOML file (a manifest, a dist file), its read and parse errors naming it.
fn parse_toml(path: &Path) -> Result<toml_edit::DocumentMut, WorkspaceError> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    text.parse()
        .map_err(|e: toml_edit::TomlError| WorkspaceError::Toml {
            path: path.display().to_string(),
            message: e.to_string(),
        })
}

/// `path` relative to `root` with '/' separators; paths outside the root keep their `..` steps so
/// they stay machine-independent.
pub fn relative(root: &Path, path: &Path) -> String {
    let mut r = root.components().peekable();
    let mut p = path.components().peekable();
    while let (Some(a), Some(b)) = (r.peek(), p.peek()) {
        if a != b {
            break;
        }
        r.next();
        p.next();
    }
    let mut parts: Vec<String> = r.map(|_| "..".to_string()).collect();
    parts.extend(p.map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

/// The source files under `dir` (workspace-relative) that a build of its package can read:
/// those `sources` considers, not in `target/`, the target dir, hidden directories (but
/// `.cargo`), or other members' directories. Sorted, relative to `root`.
pub(crate) fn list_files(
    root: &Path,
    dir: &str,
    member_dirs: &std::collections::BTreeSet<String>,
    target_dir: &str,
    sources: &files::SourceFiles,
    out: &mut std::collections::BTreeSet<String>,
) -> std::io::Result<()> {
    let walker = walkdir::WalkDir::new(root.join(dir))
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
            let rel = relative(root, e.path());
            rel != target_dir && !member_dirs.contains(rel.as_str()) && sources.may_hold(&rel)
        });
    for entry in walker {
        let entry = entry?;
        if entry.file_type().is_file() {
            let rel = relative(root, entry.path());
            if sources.considers(&rel) {
                out.insert(rel);
            }
        }
    }
    Ok(())
}

/// cargo-dist's auto-include rule: file names starting (case-sensitively) with `README`,
/// `LICENSE` / `UNLICENSE`, or `CHANGELOG` / `RELEASES`.
pub(crate) fn include_kind(file_name: &str) -> Option<IncludeKind> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| file_name.starts_with(p));
    if starts(&["README"]) {
        Some(IncludeKind::Readme)
    } else if starts(&["LICENSE", "UNLICENSE"]) {
        Some(IncludeKind::License)
    } else if starts(&["CHANGELOG", "RELEASES"]) {
        Some(IncludeKind::Changelog)
    } else {
        None
    }
}

/// README/LICENSE/CHANGELOG-like source files directly in `dir`, sorted.
fn scan_includes(
    root: &Path,
    dir: &Path,
    sources: &files::SourceFiles,
) -> Vec<(IncludeKind, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(IncludeKind, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            include_kind(&name).map(|k| (k, e.path()))
        })
        .filter(|(_, path)| sources.considers(&relative(root, path)))
        .collect();
    found.sort();
    found
}

/// Each kind is looked up in the package directory first and, when the package has none of that
/// kind, in the workspace root (so a workspace-wide LICENSE ships with every App).
fn find_auto_includes(
    root: &Path,
    in_root: &[(IncludeKind, PathBuf)],
    pkg_dir: &Path,
    in_pkg: Vec<(IncludeKind, PathBuf)>,
    readme: Option<&Path>,
) -> Vec<AutoInclude> {
    let in_root = if pkg_dir == root { &[][..] } else { in_root };
    let of_kind = |kind: IncludeKind| -> Vec<PathBuf> {
        let pick = |files: &[(IncludeKind, PathBuf)]| -> Vec<PathBuf> {
            files
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| p.clone())
                .collect()
        };
        let found = pick(&in_pkg);
        if found.is_empty() {
            pick(in_root)
        } else {
            found
        }
    };
    let mut out = Vec::new();
    let mut push = |kind, p: &Path| {
        out.push(AutoInclude {
            kind,
            path: relative(root, p),
        })
    };
    // As cargo-dist: one README (Cargo's `readme` first), every license, one changelog.
    match readme.filter(|r| r.is_file()) {
        Some(r) => push(IncludeKind::Readme, r),
        None => {
            if let Some(p) = of_kind(IncludeKind::Readme).first() {
                push(IncludeKind::Readme, p);
            }
        }
    }
    for p in of_kind(IncludeKind::License) {
        push(IncludeKind::License, &p);
    }
    if let Some(p) = of_kind(IncludeKind::Changelog).first() {
        push(IncludeKind::Changelog, p);
    }
    out.sort();
    out
}

fn read_profiles(doc: &toml_edit::DocumentMut) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(profiles) = doc.get("profile").and_then(|p| p.as_table_like()) else {
        return out;
    };
    for (name, item) in profiles.iter() {
        let Some(t) = item.as_table_like() else {
            continue;
        };
        let mut fields = BTreeMap::new();
        flatten_toml("", t, &mut fields);
        out.insert(name.to_string(), fields);
    }
    out
}

/// Flattens nested tables (`[profile.dist.package.foo]`) into dotted keys, values as canonical
/// TOML text (no comments or decoration), so they hash the same however they were formatted.
fn flatten_toml(prefix: &str, t: &dyn toml_edit::TableLike, out: &mut BTreeMap<String, String>) {
    for (k, item) in t.iter() {
        let key = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(sub) = item.as_table_like() {
            flatten_toml(&key, sub, out);
        } else if let Some(v) = item.as_value() {
            let mut v = v.clone();
            v.decor_mut().clear();
            out.insert(key, v.to_string());
        }
    }
}

/// The commit checked out in `git_root` (`git rev-parse HEAD`), or of `rev` when given (a tag:
/// the commit it points at); `None` outside git or when git does not know it.
pub fn git_commit(git_root: &Path, rev: Option<&str>) -> Option<String> {
    let spec = format!("{}^{{commit}}", rev.unwrap_or("HEAD"));
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(git_root)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}

/// `HEAD:<workspace dir>` of the enclosing git repository; `None` outside git or before the
/// workspace's first commit.
fn committed_tree(root: &Path) -> Option<String> {
    ask_committed_tree(root).finish()
}

/// [`committed_tree`], asked of git now and answered by [`PendingTree::finish`].
fn ask_committed_tree(root: &Path) -> PendingTree {
    let Some(git_root) = root.ancestors().find(|d| d.join(".git").exists()) else {
        return PendingTree(None);
    };
    let spec = format!("HEAD:{}", relative(git_root, root));
    let child = std::process::Command::new("git")
        .arg("-C")
        .arg(git_root)
        .args(["rev-parse", "--verify", "--quiet", &spec])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok();
    PendingTree(child)
}

struct PendingTree(Option<std::process::Child>);

impl PendingTree {
    fn finish(self) -> Option<String> {
        let out = self.0?.wait_with_output().ok()?;
        let tree = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !tree.is_empty()).then_some(tree)
    }
}

fn metadata_error_text(e: &cargo_metadata::Error) -> String {
    match e {
        cargo_metadata::Error::CargoMetadata { stderr } => stderr.trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_paths_join_the_dist_root() {
        assert_eq!(join_relative("a", ""), "a");
        assert_eq!(join_relative("a", "crates/x"), "a/crates/x");
        assert_eq!(join_relative("a/b", "../shared"), "a/shared");
        assert_eq!(join_relative("", "x"), "x");
        assert_eq!(join_relative("a", "../../up"), "../up");
    }

    #[test]
    fn relative_paths_are_slash_separated_and_keep_dotdot() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c/d")), "c/d");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), "");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/x")), "../x");
    }

    #[test]
    fn a_disagreement_names_the_package_and_both_values() {
        let pkg = |bins: &[&str]| RawPackage {
            name: "app".into(),
            version: Version::new(1, 0, 0),
            manifest_path: "/w/app/Cargo.toml".into(),
            bins: bins.iter().map(|b| b.to_string()).collect(),
            lib: None,
            target_paths: vec![],
            publish: true,
            path_deps: vec![],
            features: vec![],
            readme: None,
            repository: None,
            description: None,
            homepage: None,
            license: None,
            authors: vec![],
            metadata: Value::Null,
            include: vec![],
            exclude: vec![],
        };
        let ws = |bins: &[&str]| RawWorkspace {
            root: "/w".into(),
            target_dir: "/w/target".into(),
            metadata: Value::Null,
            packages: vec![pkg(bins)],
        };
        assert!(compare(&ws(&["app"]), &ws(&["app"])).is_ok());
        let e = compare(&ws(&["app", "extra"]), &ws(&["app"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("on package \"app\""), "{e}");
        assert!(e.contains("read:  \"extra\""), "{e}");
        assert!(e.contains("CARGO_DIST_METADATA=cargo"), "{e}");
    }

    #[test]
    fn include_kinds_by_prefix() {
        assert_eq!(include_kind("README.md"), Some(IncludeKind::Readme));
        assert_eq!(include_kind("LICENSE-MIT"), Some(IncludeKind::License));
        assert_eq!(include_kind("UNLICENSE"), Some(IncludeKind::License));
        assert_eq!(include_kind("RELEASES.md"), Some(IncludeKind::Changelog));
        assert_eq!(include_kind("Cargo.toml"), None);
        // Case-sensitive, as cargo-dist: a helper script is not a README.
        assert_eq!(include_kind("readme-command-help.py"), None);
    }
}
