//! Reads a Cargo workspace's manifests the way `cargo metadata --no-deps` does, for the fields
//! the workspace model uses, so a plan need not start cargo (most of a plan's time went to
//! waiting for it). It follows cargo's rules for what real manifests say: `members` with `*`
//! patterns, `exclude`, path dependencies inside the workspace as implicit members,
//! `workspace = true` inheritance, target auto-discovery (with the edition-2015 rule),
//! implicit features of optional dependencies, the default README. Anything else (a cargo
//! config that may move the target dir, `[patch]`, a manifest above the workspace, legacy
//! target paths, a value of a type cargo would reject) makes [`read`] answer `None`: cargo is
//! asked then, and reports whatever is wrong.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use semver::Version;
use toml_edit::{Document, DocumentMut, Item, Table, TableLike, Value};

use super::dist_file::item_to_json;
use super::guess::wildcard;
use super::{clean, normalize, LibKind, RawPackage, RawWorkspace};

/// The top-level tables of a member manifest this reader knows; the root may also have
/// `[workspace]`. (`[patch]` and `[replace]` are left to cargo.)
const KNOWN_TABLES: &[&str] = &[
    "package",
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "target",
    "features",
    "lib",
    "bin",
    "example",
    "test",
    "bench",
    "badges",
    "lints",
    "profile",
];

const DEP_TABLES: &[&str] = &["dependencies", "build-dependencies", "dev-dependencies"];

/// Words in a cargo config file that may move the target dir (or pull in more config).
const CONFIG_MOVERS: &[&str] = &["target-dir", "target_dir", "include"];

/// The workspace of `manifest_path` (else of the `Cargo.toml` in `cwd`) and its parsed root
/// manifest, or `None` when cargo must be asked.
pub(super) fn read(
    cwd: &Path,
    manifest_path: Option<&Path>,
) -> Option<(RawWorkspace, DocumentMut)> {
    let manifest = match manifest_path {
        Some(p) if p.file_name()? == "Cargo.toml" => plain(&cwd.join(p))?,
        Some(_) => return None,
        None => cwd.join("Cargo.toml"),
    };
    let root = manifest.parent()?.to_path_buf();
    let parsed = parse(&manifest)?;
    let doc = parsed.as_table();
    if !doc
        .iter()
        .all(|(k, _)| k == "workspace" || KNOWN_TABLES.contains(&k))
    {
        return None;
    }
    let ws = match doc.get("workspace") {
        Some(w) => Some(w.as_table_like()?),
        None => {
            // Without `[workspace]`, cargo looks for a workspace in every directory above.
            let mut above = root.ancestors().skip(1);
            if above.any(|d| d.join("Cargo.toml").exists()) {
                return None;
            }
            None
        }
    };
    let sub = |key: &str| -> Option<Option<&dyn TableLike>> {
        match ws.and_then(|w| w.get(key)) {
            None => Some(None),
            Some(item) => Some(Some(item.as_table_like()?)),
        }
    };
    let ctx = Ctx {
        root: &root,
        inherit: sub("package")?,
        deps: sub("dependencies")?,
    };
    let strings = |key: &str| -> Option<Vec<&str>> {
        match ws.and_then(|w| w.get(key)) {
            None => Some(Vec::new()),
            Some(item) => item.as_array()?.iter().map(Value::as_str).collect(),
        }
    };
    let members = strings("members")?;
    let exclude = strings("exclude")?;
    let mut packages = ctx.members(doc, &members, &exclude)?;
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let names_unique = packages.windows(2).all(|w| w[0].name != w[1].name);
    if packages.is_empty() || !names_unique {
        return None;
    }
    let raw = RawWorkspace {
        target_dir: target_dir(cwd, &root)?,
        metadata: match ws.and_then(|w| w.get("metadata")) {
            Some(m) if plain_values(m) => item_to_json(m),
            Some(_) => return None,
            None => serde_json::Value::Null,
        },
        root,
        packages,
    };
    Some((raw, parsed.into_mut()))
}

/// What members inherit from the root manifest.
struct Ctx<'a> {
    root: &'a Path,
    /// `[workspace.package]`
    inherit: Option<&'a dyn TableLike>,
    /// `[workspace.dependencies]`
    deps: Option<&'a dyn TableLike>,
}

impl<'a> Ctx<'a> {
    /// Every member: those `members` names (less `exclude`), the root package, and the path
    /// dependencies inside the root they reach, each read once.
    fn members(&self, doc: &Table, members: &[&str], exclude: &[&str]) -> Option<Vec<RawPackage>> {
        let root = self.root;
        let mut todo: Vec<PathBuf> = Vec::new();
        for m in members {
            todo.extend(expand(root, m)?);
        }
        if doc.contains_key("package") {
            todo.push(root.to_path_buf());
        }
        // cargo's `exclude`: a directory under an excluded path is no member, unless it is
        // under a member named literally.
        let excluded = |manifest: &Path| {
            exclude.iter().any(|ex| manifest.starts_with(root.join(ex)))
                && !members.iter().any(|m| manifest.starts_with(root.join(m)))
        };
        let mut seen = BTreeSet::new();
        let mut packages = Vec::new();
        // (directory, reached as a path dependency)
        let mut todo: Vec<(PathBuf, bool)> = todo.into_iter().rev().map(|d| (d, false)).collect();
        while let Some((dir, is_dep)) = todo.pop() {
            let manifest = dir.join("Cargo.toml");
            if seen.contains(&manifest) || (is_dep && !dir.starts_with(root)) || excluded(&manifest)
            {
                continue;
            }
            seen.insert(manifest.clone());
            let (pkg, deps) = if manifest == root.join("Cargo.toml") {
                self.package(&manifest, doc)?
            } else {
                let member = parse(&manifest)?;
                let member = member.as_table();
                if !member.iter().all(|(k, _)| KNOWN_TABLES.contains(&k)) {
                    return None;
                }
                self.package(&manifest, member)?
            };
            packages.push(pkg);
            todo.extend(deps.into_iter().rev().map(|d| (d, true)));
        }
        Some(packages)
    }

    /// The package of `manifest`, and the directories of all its path dependencies (dev ones
    /// too: each can make a member).
    fn package(&self, manifest: &Path, doc: &Table) -> Option<(RawPackage, Vec<PathBuf>)> {
        let dir = manifest.parent()?;
        let pkg = doc.get("package")?.as_table_like()?;
        if pkg.contains_key("workspace") {
            return None;
        }
        // A name cargo would reject is for cargo to report.
        let name = pkg.get("name")?.as_str()?.to_string();
        let name_chars = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || !name.chars().all(name_chars) {
            return None;
        }
        let string = |key: &str| -> Option<Option<String>> {
            match self.field(pkg, key)? {
                None => Some(None),
                Some(v) => Some(Some(v.as_str()?.to_string())),
            }
        };
        let version = Version::parse(self.field(pkg, "version")??.as_str()?).ok()?;
        let edition = match self.field(pkg, "edition")? {
            None => "2015",
            Some(e) => e
                .as_str()
                .filter(|e| ["2015", "2018", "2021", "2024"].contains(e))?,
        };
        let publish = match self.field(pkg, "publish")? {
            None => true,
            Some(p) => match (p.as_bool(), p.as_array()) {
                (Some(b), _) => b,
                (_, Some(registries)) => !registries.is_empty(),
                _ => return None,
            },
        };
        let readme = self.readme(dir, pkg)?;
        let metadata = match pkg.get("metadata") {
            None => serde_json::Value::Null,
            Some(m) if m.is_table_like() && plain_values(m) => item_to_json(m),
            Some(_) => return None,
        };

        let (all_deps, path_deps, optional) = self.dependencies(dir, doc)?;
        let mut features = BTreeSet::new();
        let mut dep_refs = BTreeSet::new();
        if let Some(item) = doc.get("features") {
            for (feature, enables) in item.as_table_like()?.iter() {
                features.insert(feature.to_string());
                for e in enables.as_array()? {
                    if let Some(d) = e.as_str()?.strip_prefix("dep:") {
                        dep_refs.insert(d.to_string());
                    }
                }
            }
        }
        // An optional dependency no feature names as `dep:` is a feature of its own.
        features.extend(optional.into_iter().filter(|d| !dep_refs.contains(d)));

        let targets = targets(dir, doc, pkg, &name, edition == "2015")?;
        let (include, exclude) = self.globs(pkg)?;
        let raw = RawPackage {
            version,
            manifest_path: manifest.to_path_buf(),
            bins: targets.bins,
            lib: targets.lib,
            target_paths: targets.paths,
            publish,
            path_deps,
            features: features.into_iter().collect(),
            readme,
            repository: string("repository")?,
            description: string("description")?,
            homepage: string("homepage")?,
            license: string("license")?,
            authors: self.list(pkg, "authors")?,
            metadata,
            name,
            include,
            exclude,
        };
        Some((raw.sorted(), all_deps))
    }

    /// The README cargo names: `readme`, or README.md/.txt/README beside the manifest.
    fn readme(&self, dir: &Path, pkg: &dyn TableLike) -> Option<Option<PathBuf>> {
        Some(match pkg.get("readme") {
            None => ["README.md", "README.txt", "README"]
                .iter()
                .map(|f| dir.join(f))
                .find(|p| p.is_file()),
            // An inherited README (`true` too) is relative to the workspace root.
            Some(item) if inherits(item) => readme(self.root, self.field(pkg, "readme")??)?,
            Some(item) => readme(dir, item)?,
        })
    }

    /// `include` and `exclude` (lists of globs, each possibly inherited).
    fn globs(&self, pkg: &dyn TableLike) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.list(pkg, "include")?, self.list(pkg, "exclude")?))
    }

    /// A list of strings of `[package]`, possibly inherited; empty when absent.
    fn list(&self, pkg: &dyn TableLike, key: &str) -> Option<Vec<String>> {
        match self.field(pkg, key)? {
            None => Some(Vec::new()),
            Some(v) => v
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect(),
        }
    }

    /// `key` of `[package]`, or of `[workspace.package]` when the package says
    /// `key.workspace = true`. `None`: not understood; `Some(None)`: absent.
    fn field<'b>(&'b self, pkg: &'b dyn TableLike, key: &str) -> Option<Option<&'b Item>> {
        match pkg.get(key) {
            None => Some(None),
            Some(item) if inherits(item) => Some(Some(self.inherit?.get(key)?)),
            Some(item) if item.is_table_like() => None,
            Some(item) => Some(Some(item)),
        }
    }

    /// Every path dependency's directory; those of the non-dev ones; the optional ones' names.
    #[allow(clippy::type_complexity)]
    fn dependencies(
        &self,
        dir: &Path,
        doc: &Table,
    ) -> Option<(Vec<PathBuf>, Vec<PathBuf>, BTreeSet<String>)> {
        let mut tables: Vec<(&str, &dyn TableLike)> = Vec::new();
        fn tables_of<'d>(
            t: &'d dyn TableLike,
            out: &mut Vec<(&str, &'d dyn TableLike)>,
        ) -> Option<()> {
            for kind in DEP_TABLES {
                if let Some(item) = t.get(kind) {
                    out.push((kind, item.as_table_like()?));
                }
            }
            Some(())
        }
        tables_of(doc, &mut tables)?;
        if let Some(target) = doc.get("target") {
            for (_, platform) in target.as_table_like()?.iter() {
                let platform = platform.as_table_like()?;
                if !platform.iter().all(|(k, _)| DEP_TABLES.contains(&k)) {
                    return None;
                }
                tables_of(platform, &mut tables)?;
            }
        }
        let mut all = Vec::new();
        let mut non_dev = Vec::new();
        let mut optional = BTreeSet::new();
        for (kind, table) in tables {
            for (name, dep) in table.iter() {
                let Some(t) = dep.as_table_like() else {
                    dep.as_str()?;
                    continue;
                };
                let path = if t.get("workspace").and_then(Item::as_bool) == Some(true) {
                    if t.contains_key("path") {
                        return None;
                    }
                    // `[workspace.dependencies]` paths are relative to the root.
                    match self.deps?.get(name)? {
                        d if d.is_str() => None,
                        d => dep_path(self.root, d.as_table_like()?)?,
                    }
                } else {
                    dep_path(dir, t)?
                };
                if let Some(o) = t.get("optional") {
                    if o.as_bool()? {
                        if kind == "dev-dependencies" {
                            return None;
                        }
                        optional.insert(name.to_string());
                    }
                }
                if let Some(p) = path {
                    if kind != "dev-dependencies" {
                        non_dev.push(p.clone());
                    }
                    all.push(p);
                }
            }
        }
        Some((all, non_dev, optional))
    }
}

/// A dependency's `path`, relative to `base`: `Some(None)` without one, `None` when it is not a
/// string (cargo reports that).
fn dep_path(base: &Path, dep: &dyn TableLike) -> Option<Option<PathBuf>> {
    match dep.get("path") {
        None => Some(None),
        Some(p) => Some(Some(normalize(&base.join(p.as_str()?)))),
    }
}

/// `package.include` and `package.exclude` of `manifest`, inherited ones from the
/// `[workspace.package]` of `root`'s manifest: what `cargo metadata` does not report. Empty
/// when unreadable (cargo, which read the same files, reports what is wrong with them).
pub(super) fn globs_of(root: &Path, manifest: &Path) -> (Vec<String>, Vec<String>) {
    let root_doc = parse(&root.join("Cargo.toml"));
    let inherit = root_doc
        .as_ref()
        .and_then(|d| d.get("workspace")?.get("package")?.as_table_like());
    let ctx = Ctx {
        root,
        inherit,
        deps: None,
    };
    let member = if manifest == root.join("Cargo.toml") {
        None
    } else {
        parse(manifest)
    };
    let doc = member.as_ref().or(root_doc.as_ref());
    doc.and_then(|d| ctx.globs(d.get("package")?.as_table_like()?))
        .unwrap_or_default()
}

/// `{ workspace = true }` (or `key.workspace = true`).
fn inherits(item: &Item) -> bool {
    item.as_table_like()
        .is_some_and(|t| t.len() == 1 && t.get("workspace").and_then(Item::as_bool) == Some(true))
}

/// A `readme` value: a path relative to `base` (the manifest's directory, or the root's when
/// inherited), `true` (README.md there) or `false` (none).
fn readme(base: &Path, item: &Item) -> Option<Option<PathBuf>> {
    match (item.as_str(), item.as_bool()) {
        (Some(p), _) => Some(Some(normalize(&base.join(p)))),
        (_, Some(true)) => Some(Some(base.join("README.md"))),
        (_, Some(false)) => Some(None),
        _ => None,
    }
}

/// A package's targets as cargo discovers them.
struct Targets {
    bins: Vec<String>,
    lib: Option<(String, Vec<LibKind>)>,
    /// Every target's source root, build script included.
    paths: Vec<PathBuf>,
}

/// A declared `[lib]`: its source root, name and crate types (`None`: for cargo to read).
#[allow(clippy::type_complexity)]
fn declared_lib(
    dir: &Path,
    t: &dyn TableLike,
    package: &str,
) -> Option<(PathBuf, (String, Vec<LibKind>))> {
    if t.contains_key("crate_type") || t.contains_key("proc_macro") {
        return None;
    }
    let inferred = dir.join("src/lib.rs");
    let path = match t.get("path") {
        Some(p) => dir.join(p.as_str()?),
        None if inferred.exists() => inferred,
        None => return None,
    };
    // cargo rejects a hyphen in a declared lib name.
    let lib_name = match t.get("name") {
        Some(n) => n.as_str().filter(|n| !n.contains('-'))?.to_string(),
        None => package.replace('-', "_"),
    };
    let proc_macro = match t.get("proc-macro") {
        Some(p) => p.as_bool()?,
        None => false,
    };
    let kinds = match (t.get("crate-type"), proc_macro) {
        (Some(_), true) => return None,
        (None, true) => vec![LibKind::ProcMacro],
        (None, false) => vec![LibKind::Lib],
        (Some(types), false) => {
            let kinds: Vec<LibKind> = types
                .as_array()?
                .iter()
                .map(|k| lib_kind(k.as_str()?))
                .collect::<Option<_>>()?;
            if kinds.is_empty() {
                return None;
            }
            kinds
        }
    };
    Some((path, (lib_name, kinds)))
}

fn targets(
    dir: &Path,
    doc: &Table,
    pkg: &dyn TableLike,
    name: &str,
    edition_2015: bool,
) -> Option<Targets> {
    let flag = |key: &str| -> Option<Option<bool>> {
        match pkg.get(key) {
            None => Some(None),
            Some(v) => Some(Some(v.as_bool()?)),
        }
    };
    let mut paths = Vec::new();

    let inferred_lib = dir.join("src/lib.rs");
    let lib = match doc.get("lib") {
        Some(item) => {
            let (path, lib) = declared_lib(dir, item.as_table_like()?, name)?;
            paths.push(path);
            Some(lib)
        }
        None if flag("autolib")? != Some(false) && inferred_lib.exists() => {
            paths.push(inferred_lib);
            Some((name.replace('-', "_"), vec![LibKind::Lib]))
        }
        None => None,
    };

    let mut inferred_bins = Vec::new();
    let main = dir.join("src/main.rs");
    if main.exists() {
        inferred_bins.push((name.to_string(), main));
    }
    inferred_bins.extend(infer_dir(&dir.join("src/bin"))?);
    let bins = merge(
        dir,
        doc.get("bin"),
        inferred_bins,
        flag("autobins")?,
        edition_2015,
    )?;
    let mut bin_names: Vec<String> = bins.iter().map(|(n, _)| n.clone()).collect();
    bin_names.sort();
    if bin_names.windows(2).any(|w| w[0] == w[1]) || (lib.is_none() && bins.is_empty()) {
        return None;
    }
    paths.extend(bins.into_iter().map(|(_, p)| p));
    for (key, sub, auto) in [
        ("example", "examples", "autoexamples"),
        ("test", "tests", "autotests"),
        ("bench", "benches", "autobenches"),
    ] {
        let inferred = infer_dir(&dir.join(sub))?;
        let found = merge(dir, doc.get(key), inferred, flag(auto)?, edition_2015)?;
        paths.extend(found.into_iter().map(|(_, p)| p));
    }
    let build = match pkg.get("build") {
        None => Some(dir.join("build.rs")).filter(|b| b.is_file()),
        Some(b) => match (b.as_str(), b.as_bool()) {
            (Some(p), _) => Some(dir.join(p)),
            (_, Some(true)) => Some(dir.join("build.rs")),
            (_, Some(false)) => None,
            _ => return None,
        },
    };
    paths.extend(build);
    Some(Targets {
        bins: bin_names,
        lib,
        paths,
    })
}

fn lib_kind(crate_type: &str) -> Option<LibKind> {
    Some(match crate_type {
        "lib" => LibKind::Lib,
        "rlib" => LibKind::Rlib,
        "dylib" => LibKind::Dylib,
        "cdylib" => LibKind::Cdylib,
        "staticlib" => LibKind::Staticlib,
        "proc-macro" => LibKind::ProcMacro,
        _ => return None,
    })
}

/// Targets of one kind: the declared ones (a missing `path` found among the inferred by name),
/// then the inferred ones no declared target names or points at, unless auto-discovery is off
/// (`autobins = false`, or by default in edition 2015 once any target is declared).
fn merge(
    dir: &Path,
    declared: Option<&Item>,
    inferred: Vec<(String, PathBuf)>,
    auto: Option<bool>,
    edition_2015: bool,
) -> Option<Vec<(String, PathBuf)>> {
    let Some(declared) = declared else {
        return Some(if auto == Some(false) {
            Vec::new()
        } else {
            inferred
        });
    };
    let tables: Vec<&dyn TableLike> = match declared {
        Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn TableLike).collect(),
        Item::Value(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let mut out = Vec::new();
    let mut named_paths = BTreeSet::new();
    for t in tables {
        let name = t.get("name")?.as_str()?.to_string();
        let path = match t.get("path") {
            Some(p) => {
                let p = dir.join(p.as_str()?);
                named_paths.insert(p.clone());
                p
            }
            None => {
                let mut matching = inferred.iter().filter(|(n, _)| *n == name);
                match (matching.next(), matching.next()) {
                    (Some((_, p)), None) => p.clone(),
                    // Legacy paths, or an error: cargo knows.
                    _ => return None,
                }
            }
        };
        out.push((name, path));
    }
    if auto.unwrap_or(!edition_2015) {
        let declared_names: BTreeSet<&String> = out.iter().map(|(n, _)| n).collect();
        let rest: Vec<(String, PathBuf)> = inferred
            .iter()
            .filter(|(n, p)| !declared_names.contains(n) && !named_paths.contains(p))
            .cloned()
            .collect();
        out.extend(rest);
    }
    Some(out)
}

/// cargo's discovery in `src/bin`, `examples`, `tests` or `benches`: each `NAME.rs`, and each
/// `NAME/main.rs`; dot-files skipped.
fn infer_dir(path: &Path) -> Option<Vec<(String, PathBuf)>> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.ok()?;
        let name = e.file_name().into_string().ok()?;
        if name.starts_with('.') {
            continue;
        }
        if e.file_type().ok()?.is_dir() {
            let main = e.path().join("main.rs");
            if main.exists() {
                out.push((name, main));
            }
        } else if let Some(stem) = name.strip_suffix(".rs") {
            out.push((stem.to_string(), e.path()));
        }
    }
    Some(out)
}

/// The directories a `members` entry names: itself, or with `*` patterns expanded (cargo's
/// glob; `?`, `[...]`, `**` and `..` are left to cargo, as is a pattern that matches nothing
/// or a hidden directory, which cargo would try to load).
fn expand(root: &Path, member: &str) -> Option<Vec<PathBuf>> {
    if member.contains(['?', '[', ']', '{', '\\']) || Path::new(member).is_absolute() {
        return None;
    }
    let mut dirs = vec![root.to_path_buf()];
    for seg in member.split('/').filter(|s| !s.is_empty() && *s != ".") {
        if seg == ".." || seg == "**" {
            return None;
        }
        if !seg.contains('*') {
            for d in &mut dirs {
                d.push(seg);
            }
            continue;
        }
        let mut next = Vec::new();
        for d in &dirs {
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            for e in entries {
                let name = e.ok()?.file_name().into_string().ok()?;
                if !wildcard(seg, &name) {
                    continue;
                }
                let path = d.join(&name);
                if !path.is_dir() {
                    continue;
                }
                if name.starts_with('.') {
                    return None;
                }
                next.push(path);
            }
        }
        if next.is_empty() {
            return None;
        }
        dirs = next;
    }
    Some(dirs)
}

/// Where cargo puts its target dir: `CARGO_TARGET_DIR` (relative to the current directory),
/// else `target/` in the root, unless a cargo config file (in the current directory, one
/// above it, or `CARGO_HOME`) may say otherwise.
fn target_dir(cwd: &Path, root: &Path) -> Option<PathBuf> {
    if crate::env::cargo_build_target_dir_set() {
        return None;
    }
    let home = cwd.join(crate::env::cargo_home()?);
    let config_dirs = cwd.ancestors().map(|d| d.join(".cargo")).chain([home]);
    for dir in config_dirs {
        for name in ["config", "config.toml"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                if CONFIG_MOVERS.iter().any(|w| text.contains(w)) {
                    return None;
                }
            }
        }
    }
    match crate::env::cargo_target_dir() {
        None => Some(root.join("target")),
        Some(d) if d.is_empty() => None,
        Some(d) => plain(&cwd.join(d)),
    }
}

/// `path` without `.` components; `None` if it has `..` ones (cargo resolves those lexically in
/// some places and not in others: it is asked).
fn plain(path: &Path) -> Option<PathBuf> {
    if path.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    Some(clean(path))
}

/// Parsed without the span-to-text pass an editable document needs (a third of the parse).
fn parse(manifest: &Path) -> Option<Document<String>> {
    Document::parse(crate::read::string(manifest).ok()?).ok()
}

/// No dates and no infinite or NaN floats: values whose JSON form cargo writes differently.
fn plain_values(item: &Item) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::Datetime(_) => false,
            Value::Float(f) => f.value().is_finite(),
            Value::Array(a) => a.iter().all(value),
            Value::InlineTable(t) => t.iter().all(|(_, v)| value(v)),
            _ => true,
        }
    }
    match item {
        Item::None => true,
        Item::Value(v) => value(v),
        Item::Table(t) => t.iter().all(|(_, i)| plain_values(i)),
        Item::ArrayOfTables(a) => a.iter().all(|t| t.iter().all(|(_, i)| plain_values(i))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_patterns_expand_to_directories_or_are_left_to_cargo() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for dir in [
            "crates/a",
            "crates/ab",
            "crates/b",
            "tools/x",
            "dots/.hidden",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("crates/a-file"), "").unwrap();
        let mut got = expand(root, "crates/a*").unwrap();
        got.sort();
        // Directories only: `a-file` matches the pattern but is a file.
        assert_eq!(got, [root.join("crates/a"), root.join("crates/ab")]);
        assert_eq!(expand(root, "./tools/x/").unwrap(), [root.join("tools/x")]);
        // Named literally, a member is cargo's to find (or to report missing).
        assert_eq!(expand(root, "tools/y").unwrap(), [root.join("tools/y")]);
        // cargo's glob would match a hidden directory, or match nothing and fail: cargo says.
        assert_eq!(expand(root, "dots/*"), None);
        assert_eq!(expand(root, "none/*"), None);
        for other in ["crates/?", "crates/[ab]", "**/x", "../elsewhere", "/abs"] {
            assert_eq!(expand(root, other), None, "{other}");
        }
    }

    #[test]
    fn declared_targets_merge_with_discovered_ones_by_cargos_edition_rule() {
        let dir = Path::new("/p");
        let inferred = vec![
            ("p".to_string(), dir.join("src/main.rs")),
            ("tool".to_string(), dir.join("src/bin/tool.rs")),
            ("other".to_string(), dir.join("src/bin/other.rs")),
        ];
        let doc: Document<String> = Document::parse(
            "[[bin]]\nname = \"tool\"\n\n[[bin]]\nname = \"cli\"\npath = \"src/bin/other.rs\"\n"
                .to_string(),
        )
        .unwrap();
        let declared = doc.as_table().get("bin");
        let names = |found: Vec<(String, PathBuf)>| -> Vec<String> {
            found.into_iter().map(|(n, _)| n).collect()
        };
        // 2015: declaring targets turns discovery off; `tool` is found by name.
        let found = merge(dir, declared, inferred.clone(), None, true).unwrap();
        assert_eq!(found[0], ("tool".to_string(), dir.join("src/bin/tool.rs")));
        assert_eq!(names(found), ["tool", "cli"]);
        // Later editions add the discovered targets no declared one names or points at.
        let found = merge(dir, declared, inferred.clone(), None, false).unwrap();
        assert_eq!(names(found), ["tool", "cli", "p"]);
        // `autobins = false` wins over the edition; `true` over 2015.
        assert_eq!(
            names(merge(dir, declared, inferred.clone(), Some(false), false).unwrap()),
            ["tool", "cli"]
        );
        assert_eq!(
            names(merge(dir, declared, inferred.clone(), Some(true), true).unwrap()),
            ["tool", "cli", "p"]
        );
        // Nothing declared: all discovered, unless discovery is off.
        assert_eq!(
            names(merge(dir, None, inferred.clone(), None, true).unwrap()).len(),
            3
        );
        assert!(merge(dir, None, inferred.clone(), Some(false), false)
            .unwrap()
            .is_empty());
        // A declared target without a path that discovery does not find: cargo's legacy rules.
        let missing: Document<String> =
            Document::parse("[[bin]]\nname = \"ghost\"\n".to_string()).unwrap();
        assert_eq!(
            merge(dir, missing.as_table().get("bin"), inferred, None, false),
            None
        );
    }
}
