//! Workspace stage: `cargo metadata` -> a small, owned model of the packages cargo-dist cares about.
//!
//! It runs `cargo metadata` and `git rev-parse` and reads the dist workspace file
//! ([`dist_file`]); the stages after it work on [`Workspace`] without touching the disk (the
//! recipe stage reads and hashes the source files it names).

pub mod dist_file;
pub mod guess;

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
    #[error("{path}: {message}")]
    DistFile { path: String, message: String },
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

impl Workspace {
    /// Runs `cargo metadata --no-deps` (no dependency resolution: fast, and works offline).
    /// A `dist-workspace.toml` found beside the manifest (or above it, within its git work tree)
    /// supplies the workspace config; without `--manifest-path`, its `cargo:` member says which
    /// Cargo workspace to load.
    pub fn load(manifest_path: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        Self::load_overlapped(manifest_path, |_, _| ()).map(|(ws, _)| ws)
    }

    /// [`Workspace::load`], running `meanwhile` on this thread once `cargo metadata` is started,
    /// with what was learnt of the guessed workspace (if one was found) and a flag set once
    /// metadata has answered (work that can wait should stop then).
    pub fn load_overlapped<T>(
        manifest_path: Option<&Path>,
        meanwhile: impl FnOnce(Option<&guess::Early>, &AtomicBool) -> T,
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
        let member_manifest = match (&found, manifest_path) {
            (Some(f), None) => f.cargo_members.first().map(|d| d.join("Cargo.toml")),
            _ => None,
        };
        let manifest_path = manifest_path.or(member_manifest.as_deref());
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
            _ => cwd.clone(),
        };
        let answered = AtomicBool::new(false);
        let (meta, early, extra) = std::thread::scope(|s| {
            let metadata = s.spawn(|| {
                let meta = cmd.exec();
                answered.store(true, Ordering::Relaxed);
                meta
            });
            let early =
                guess::Guess::from_dir(&guess_dir).map(|g| guess::Early::gather(g, &answered));
            let extra = meanwhile(early.as_ref(), &answered);
            let meta = metadata.join().expect("cargo metadata thread");
            (meta, early, extra)
        });
        let meta = meta.map_err(|e| WorkspaceError::Metadata {
            manifest: shown,
            message: metadata_error_text(&e),
        })?;
        let mut ws = Self::from_metadata(meta, early)?;
        if let Some(f) = found {
            let version = f.version.clone();
            ws.dist_file = attach(&ws.root, f)?;
            // `[workspace] version` releases every package at one version.
            if let (Some(v), Some(_)) = (version, &ws.dist_file) {
                for p in &mut ws.packages {
                    p.version = v.clone();
                }
            }
        }
        Ok((ws, extra))
    }

    fn from_metadata(
        meta: cargo_metadata::Metadata,
        early: Option<guess::Early>,
    ) -> Result<Workspace, WorkspaceError> {
        let root: PathBuf = meta.workspace_root.clone().into();
        // What was gathered while metadata ran holds for this root only.
        let early = early.filter(|e| e.guess.root == root).unwrap_or_default();
        let scan = |dir: &Path| match early.includes.get(dir) {
            Some(found) => found.clone(),
            None => scan_includes(dir),
        };
        let manifest_path = root.join("Cargo.toml");
        let text =
            std::fs::read_to_string(&manifest_path).map_err(|source| WorkspaceError::Io {
                path: manifest_path.display().to_string(),
                source,
            })?;
        let doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| WorkspaceError::Toml {
                    path: manifest_path.display().to_string(),
                    message: e.to_string(),
                })?;
        let single_package = doc.get("workspace").is_none();
        let profiles = read_profiles(&doc);

        let members: std::collections::BTreeSet<_> = meta.workspace_members.iter().collect();
        // The root's files are the fallback of every package: list them once.
        let in_root = scan(&root);
        let mut packages = Vec::new();
        for p in &meta.packages {
            if !members.contains(&p.id) {
                continue;
            }
            packages.push(Package::from_metadata(p, &root, &in_root, &scan));
        }
        packages.sort_by(|a, b| a.name.cmp(&b.name));

        let workspace_metadata = if single_package {
            packages
                .iter()
                .find(|p| p.dir.is_empty())
                .map(|p| p.metadata.clone())
                .unwrap_or(Value::Null)
        } else {
            meta.workspace_metadata.clone()
        };
        Ok(Workspace {
            root: root.clone(),
            manifest_path,
            target_dir: meta.target_directory.clone().into(),
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
        })
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

impl Package {
    fn from_metadata(
        p: &cargo_metadata::Package,
        root: &Path,
        in_root: &[(IncludeKind, PathBuf)],
        scan: &dyn Fn(&Path) -> Vec<(IncludeKind, PathBuf)>,
    ) -> Package {
        let manifest_path: PathBuf = p.manifest_path.clone().into();
        let pkg_dir = manifest_path.parent().unwrap_or(root).to_path_buf();
        let dir = relative(root, &pkg_dir);
        let mut binaries = Vec::new();
        let mut has_lib = false;
        let mut lib_name = None;
        let mut c_libraries = Vec::new();
        for t in &p.targets {
            for k in &t.kind {
                match k {
                    cargo_metadata::TargetKind::Bin => binaries.push(t.name.clone()),
                    cargo_metadata::TargetKind::CDyLib => {
                        c_libraries.push(LibraryKind::Cdylib);
                        lib_name = Some(t.name.replace('-', "_"));
                    }
                    cargo_metadata::TargetKind::StaticLib => {
                        c_libraries.push(LibraryKind::CStaticlib);
                        lib_name = Some(t.name.replace('-', "_"));
                        has_lib = true;
                    }
                    cargo_metadata::TargetKind::Lib
                    | cargo_metadata::TargetKind::RLib
                    | cargo_metadata::TargetKind::DyLib
                    | cargo_metadata::TargetKind::ProcMacro => {
                        has_lib = true;
                        lib_name = Some(t.name.replace('-', "_"));
                    }
                    _ => {}
                }
            }
        }
        c_libraries.sort();
        c_libraries.dedup();
        binaries.sort();
        binaries.dedup();
        let publish = !matches!(&p.publish, Some(regs) if regs.is_empty());
        let mut path_deps: Vec<String> = p
            .dependencies
            .iter()
            .filter(|d| d.kind != cargo_metadata::DependencyKind::Development)
            .filter_map(|d| d.path.as_ref())
            .map(|path| relative(root, path.as_std_path()))
            .collect();
        path_deps.sort();
        path_deps.dedup();
        let mut target_paths: Vec<String> = p
            .targets
            .iter()
            .map(|t| relative(root, t.src_path.as_std_path()))
            .collect();
        target_paths.sort();
        target_paths.dedup();
        let mut features: Vec<String> = p.features.keys().cloned().collect();
        features.sort();
        let readme = p.readme.as_ref().map(|r| pkg_dir.join(r.as_std_path()));
        Package {
            name: p.name.to_string(),
            version: p.version.clone(),
            auto_includes: find_auto_includes(
                root,
                in_root,
                &pkg_dir,
                scan(&pkg_dir),
                readme.as_deref(),
            ),
            manifest_path,
            dir,
            binaries,
            has_lib,
            lib_name,
            c_libraries,
            publish,
            repository: p.repository.clone(),
            description: p.description.clone(),
            homepage: p.homepage.clone(),
            license: p.license.clone(),
            metadata: p.metadata.clone(),
            path_deps,
            features,
            target_paths,
        }
    }
}

/// The dist file of the Cargo workspace at `root`, if it names it. A file beside the workspace
/// that does not list it is an error (the user meant it for this workspace); one further up that
/// does not is someone else's and is left alone.
fn attach(root: &Path, f: dist_file::Found) -> Result<Option<dist_file::DistFile>, WorkspaceError> {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let root_c = canon(root);
    let dir = f.path.parent().unwrap_or(Path::new("."));
    if f.cargo_members.iter().any(|m| canon(m) == root_c) {
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

/// The files under `dir` (workspace-relative) that a build of its package can read: not in
/// `target/`, the target dir, hidden directories (but `.cargo`), or other members' directories.
/// Sorted, relative to `root`.
pub(crate) fn list_files(
    root: &Path,
    dir: &str,
    member_dirs: &std::collections::BTreeSet<String>,
    target_dir: &str,
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
            rel != target_dir && !member_dirs.contains(rel.as_str())
        });
    for entry in walker {
        let entry = entry?;
        if entry.file_type().is_file() {
            out.insert(relative(root, entry.path()));
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

/// README/LICENSE/CHANGELOG-like files directly in `dir`, sorted.
fn scan_includes(dir: &Path) -> Vec<(IncludeKind, PathBuf)> {
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

/// `HEAD:<workspace dir>` of the enclosing git repository; `None` outside git or before the
/// workspace's first commit.
fn committed_tree(root: &Path) -> Option<String> {
    let git_root = root.ancestors().find(|d| d.join(".git").exists())?;
    let spec = format!("HEAD:{}", relative(git_root, root));
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(git_root)
        .args(["rev-parse", "--verify", "--quiet", &spec])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let tree = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !tree.is_empty()).then_some(tree)
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
    fn relative_paths_are_slash_separated_and_keep_dotdot() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c/d")), "c/d");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), "");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/x")), "../x");
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
