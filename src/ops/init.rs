//! `init`: add the dist config and the `dist` profile (keeping comments and formatting), then
//! write the CI workflow.
//!
//! The config stays where it already is: `[dist]` of `dist-workspace.toml`, or
//! `[workspace.metadata.dist]` (`[package.metadata.dist]` without a `[workspace]`) of the root
//! Cargo.toml. A project without one gets a `dist-workspace.toml`, as cargo-dist 0.34 writes.
//! `[profile.dist]` always goes into the root Cargo.toml (cargo reads profiles only there).
//!
//! Rerunning is safe: keys already set are kept (or updated when given on the command line),
//! nothing is duplicated, and an unchanged manifest is not rewritten.

use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::GlobalOpts;
use super::{write_workflow, Generated};
use crate::ci;
use crate::config::vocab::CiBackend;
use crate::config::{self, InstallerKind};
use crate::workspace::{relative, Workspace};
use crate::Error;
use dist_recipes::vocab::Vocabulary;

/// The file a project without dist config gets.
pub const DIST_FILE: &str = "dist-workspace.toml";

/// The targets a fresh config builds for.
pub const DEFAULT_TARGETS: &[&str] = &[
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("--{flag} {value:?} is not supported; expected one of {expected}")]
    BadValue {
        flag: &'static str,
        value: String,
        expected: String,
    },
    #[error("{path}: `{key}` is not a table, so `cargo dist init` cannot add the dist config under it\n  fix or remove `{key}` in {path}, then rerun `cargo dist init`")]
    NotATable { path: String, key: String },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
}

/// `init`'s own options (`--target` is the global one).
#[derive(Debug, Clone, Default)]
pub struct InitArgs {
    pub yes: bool,
    pub ci: Vec<String>,
    pub installers: Vec<String>,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The manifest edited, relative to the workspace root.
    pub manifest: String,
    /// The table the config lives in.
    pub table: String,
    pub changed: bool,
    pub cancelled: bool,
    pub generated: Option<Generated>,
}

impl InitReport {
    pub fn message(&self) -> String {
        let mut out = if self.cancelled {
            format!("cancelled: {} left unchanged\n", self.manifest)
        } else if self.changed && self.manifest == "Cargo.toml" {
            format!("added {} and [profile.dist] to Cargo.toml\n", self.table)
        } else if self.changed {
            format!(
                "added {} to {} and [profile.dist] to Cargo.toml\n",
                self.table, self.manifest
            )
        } else {
            format!("{} already has this dist config\n", self.manifest)
        };
        if let Some(g) = &self.generated {
            out.push_str(&g.message());
        }
        out
    }
}

fn check_values(flag: &'static str, values: &[String], allowed: &[&str]) -> Result<(), InitError> {
    for v in values {
        if !allowed.contains(&v.as_str()) {
            return Err(InitError::BadValue {
                flag,
                value: v.clone(),
                expected: allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

fn string_array(items: &[String]) -> Value {
    let mut a = Array::new();
    for i in items {
        a.push(i.as_str());
    }
    Value::Array(a)
}

/// `doc[path...]` as a table, created (implicit, so no empty `[a.b]` header appears) when
/// missing.
fn table_at<'d>(
    doc: &'d mut DocumentMut,
    path: &[&str],
    manifest: &str,
) -> Result<&'d mut Table, InitError> {
    let mut t: &mut Table = doc.as_table_mut();
    for (n, key) in path.iter().enumerate() {
        if !t.contains_key(key) {
            let mut new = Table::new();
            new.set_implicit(n + 1 < path.len());
            t.insert(key, Item::Table(new));
        }
        t = t
            .get_mut(key)
            .and_then(Item::as_table_mut)
            .ok_or_else(|| InitError::NotATable {
                path: manifest.to_string(),
                key: path[..=n].join("."),
            })?;
    }
    Ok(t)
}

/// Where `init` writes the dist config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigHome {
    /// `[dist]` of `dist-workspace.toml` (created with `members = ["cargo:."]` when missing).
    DistFile,
    /// `[workspace.metadata.dist]`, or `[package.metadata.dist]` without a `[workspace]`.
    CargoToml,
}

fn parse(text: &str, shown: &str) -> Result<DocumentMut, InitError> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| InitError::Toml {
            path: shown.to_string(),
            message: e.to_string(),
        })
}

fn finish(doc: &DocumentMut) -> String {
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The edited (or new) `dist-workspace.toml`: pure, so the edit can be shown before it is
/// written.
pub fn edit_dist_file(
    text: Option<&str>,
    shown: &str,
    args: &InitArgs,
    targets: &[String],
) -> Result<String, InitError> {
    let mut doc = match text {
        Some(t) => parse(t, shown)?,
        None => {
            let mut doc = DocumentMut::new();
            let mut members = Table::new();
            members.insert("members", Item::Value(string_array(&["cargo:.".into()])));
            doc.insert("workspace", Item::Table(members));
            doc
        }
    };
    set_dist_keys(&mut doc, &["dist"], shown, args, targets)?;
    Ok(finish(&doc))
}

/// The edited root Cargo.toml: the dist table when the config lives there, and `[profile.dist]`.
/// Returns the text and the table the config is in.
pub fn edit_manifest(
    text: &str,
    manifest: &str,
    home: ConfigHome,
    args: &InitArgs,
    targets: &[String],
) -> Result<(String, String), InitError> {
    let mut doc = parse(text, manifest)?;
    let table_name = if home == ConfigHome::DistFile {
        "[dist]"
    } else if doc.contains_key("workspace") {
        set_dist_keys(
            &mut doc,
            &["workspace", "metadata", "dist"],
            manifest,
            args,
            targets,
        )?;
        "[workspace.metadata.dist]"
    } else {
        set_dist_keys(
            &mut doc,
            &["package", "metadata", "dist"],
            manifest,
            args,
            targets,
        )?;
        "[package.metadata.dist]"
    };
    let profile_fresh = doc.get("profile").and_then(|p| p.get("dist")).is_none();
    let profile = table_at(&mut doc, &["profile", "dist"], manifest)?;
    if profile_fresh {
        profile
            .decor_mut()
            .set_prefix("\n# The profile `cargo dist` builds with\n");
    }
    if !profile.contains_key("inherits") {
        profile.insert("inherits", Item::Value(Value::from("release")));
    }
    if !profile.contains_key("lto") {
        profile.insert("lto", Item::Value(Value::from("thin")));
    }
    Ok((finish(&doc), table_name.to_string()))
}

/// Sets the keys `init` manages in the dist table at `path`: `cargo-dist-version` always; `ci`,
/// `installers` and `targets` when given (or missing); everything else is left as it is.
fn set_dist_keys(
    doc: &mut DocumentMut,
    path: &[&str],
    shown: &str,
    args: &InitArgs,
    targets: &[String],
) -> Result<(), InitError> {
    let fresh = path
        .iter()
        .try_fold(doc.as_item(), |item, key| item.get(key))
        .is_none();
    let dist = table_at(doc, path, shown)?;
    if fresh {
        dist.decor_mut()
            .set_prefix("\n# How `cargo dist` builds and ships this project\n");
    }
    let mut set = |key: &str, v: Value, replace: bool| {
        if replace || !dist.contains_key(key) {
            match dist.get_mut(key).and_then(Item::as_value_mut) {
                // Keep the key's comments and spacing; only the value changes.
                Some(old) => {
                    let decor = old.decor().clone();
                    *old = v;
                    *old.decor_mut() = decor;
                }
                None => {
                    dist.insert(key, Item::Value(v));
                }
            }
        }
    };
    set(
        "cargo-dist-version",
        Value::from(env!("CARGO_PKG_VERSION")),
        true,
    );
    let ci = if args.ci.is_empty() {
        vec!["github".to_string()]
    } else {
        args.ci.clone()
    };
    set("ci", string_array(&ci), !args.ci.is_empty());
    if !args.installers.is_empty() {
        set("installers", string_array(&args.installers), true);
    }
    let default_targets: Vec<String> = DEFAULT_TARGETS.iter().map(|t| t.to_string()).collect();
    let given = !targets.is_empty();
    set(
        "targets",
        string_array(if given { targets } else { &default_targets }),
        given,
    );
    Ok(())
}

fn write_atomic(path: &Path, shown: &str, bytes: &[u8]) -> Result<(), InitError> {
    crate::atomic::write(path, bytes).map_err(|source| InitError::Io {
        action: "write",
        path: shown.to_string(),
        source,
    })
}

/// The dist file `init` edits: the one found, or a new one at the workspace root.
fn dist_file_path(ws: &Workspace) -> (std::path::PathBuf, String) {
    match &ws.dist_file {
        Some(df) => (ws.root.join(&df.path), df.path.clone()),
        None => (ws.root.join(DIST_FILE), DIST_FILE.to_string()),
    }
}

/// The new text of the dist file at `path` (created when missing), or `None` when it already
/// says this.
fn edit_dist_file_on_disk(
    path: &Path,
    shown: &str,
    args: &InitArgs,
    targets: &[String],
) -> Result<Option<Edit>, InitError> {
    let old = match path.is_file() {
        true => Some(
            std::fs::read_to_string(path).map_err(|source| InitError::Io {
                action: "read",
                path: shown.to_string(),
                source,
            })?,
        ),
        false => None,
    };
    let new = edit_dist_file(old.as_deref(), shown, args, targets)?;
    Ok(
        (old.as_deref() != Some(new.as_str()))
            .then(|| (path.to_path_buf(), shown.to_string(), new)),
    )
}

/// A file `init` rewrites: its path, its name as shown, its new text.
type Edit = (PathBuf, String, String);

/// The edits of the Cargo manifests that get a [profile.dist] (the workspace's, or each of a
/// dist workspace's several; none for generic members alone: the dist file is edited apart),
/// with the config table `init` sets and the manifests' names, shown.
fn profile_edits(
    ws: &Workspace,
    home: ConfigHome,
    args: &InitArgs,
    targets: &[String],
) -> Result<(String, Vec<Edit>, String), InitError> {
    let cargo_manifests: Vec<(PathBuf, String)> = match ws.has_cargo_workspace() {
        true => ws
            .cargo_roots()
            .iter()
            .map(|cw| {
                (
                    cw.manifest_path.clone(),
                    relative(&ws.root, &cw.manifest_path),
                )
            })
            .collect(),
        false => Vec::new(),
    };
    let mut table = "[dist]".to_string();
    let mut edits = Vec::new();
    for (path, shown) in &cargo_manifests {
        let text = std::fs::read_to_string(path).map_err(|source| InitError::Io {
            action: "read",
            path: shown.clone(),
            source,
        })?;
        let (new_text, t) = edit_manifest(&text, shown, home, args, targets)?;
        table = t;
        if new_text != text {
            edits.push((path.clone(), shown.clone(), new_text));
        }
    }
    let shown: Vec<&str> = cargo_manifests.iter().map(|(_, s)| s.as_str()).collect();
    Ok((table, edits, shown.join(", ")))
}

/// `init`. `confirm` is asked (with a summary of the change) before writing unless `--yes`;
/// the binary answers it from the terminal.
pub fn init(
    opts: &GlobalOpts,
    args: &InitArgs,
    confirm: &mut dyn FnMut(&str) -> bool,
    reporter: &dyn crate::report::Reporter,
) -> Result<InitReport, Error> {
    check_values("ci", &args.ci, &CiBackend::words())?;
    check_values("installer", &args.installers, &InstallerKind::words())?;
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let in_cargo = ws.workspace_metadata.get("dist").is_some();
    let home = if ws.dist_file.is_some() || !in_cargo {
        ConfigHome::DistFile
    } else {
        ConfigHome::CargoToml
    };
    let (table, manifest_edits, manifests) = profile_edits(&ws, home, args, &opts.targets)?;
    let dist_file = (home == ConfigHome::DistFile).then(|| dist_file_path(&ws));
    let dist_edit = match &dist_file {
        Some((path, shown)) => edit_dist_file_on_disk(path, shown, args, &opts.targets)?,
        None => None,
    };
    let changed = !manifest_edits.is_empty() || dist_edit.is_some();
    let config_file = dist_file
        .as_ref()
        .map_or(manifests.clone(), |(_, s)| s.clone());
    let mut report = InitReport {
        manifest: config_file.clone(),
        table: table.clone(),
        changed,
        cancelled: false,
        generated: None,
    };
    if changed {
        if !args.yes {
            let shown_text = dist_edit
                .as_ref()
                .or(manifest_edits.first())
                .map_or("", |(_, _, t)| t.as_str());
            let question = format!(
                "cargo dist init will set {table} in {config_file} and [profile.dist] in {manifests}:\n{}\nwrite it and generate the CI workflow?",
                summary(shown_text, &table)
            );
            if !confirm(&question) {
                report.cancelled = true;
                report.changed = false;
                return Ok(report);
            }
        }
        // The config first: a Cargo.toml with [profile.dist] alone is harmless if the second
        // write fails.
        if let Some((path, shown, new)) = &dist_edit {
            write_atomic(path, shown, new.as_bytes())?;
        }
        for (path, shown, new) in &manifest_edits {
            write_atomic(path, shown, new.as_bytes())?;
        }
    }
    // The config just written decides the workflow.
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let cfg = config::resolve(&ws)?;
    if ci::wants_github(&cfg.global) {
        let store_root =
            dist_store::Store::resolve_root(opts.store.as_deref(), crate::env::store_var)?;
        report.generated = Some(write_workflow(
            &ws,
            &cfg.global,
            false,
            &store_root,
            reporter,
        )?);
    }
    Ok(report)
}

/// The lines of the dist table in the edited manifest, indented.
fn summary(text: &str, table: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == table;
        }
        if inside && !t.is_empty() && !t.starts_with('#') {
            out.push_str("  ");
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_is_idempotent() {
        let text = "# my package\n[package]\nname = \"x\" # the name\nversion = \"0.1.0\"\n\n[dependencies]\n# none yet\n";
        let args = InitArgs::default();
        let (once, table) =
            edit_manifest(text, "Cargo.toml", ConfigHome::CargoToml, &args, &[]).unwrap();
        assert_eq!(table, "[package.metadata.dist]");
        assert!(once.starts_with("# my package\n[package]\nname = \"x\" # the name\n"));
        assert!(once.contains("# none yet\n"));
        assert!(once.contains("[package.metadata.dist]\n"), "{once}");
        assert!(!once.contains("[package.metadata]\n"), "{once}");
        assert!(once.contains("ci = [\"github\"]"));
        assert!(once.contains("[profile.dist]\ninherits = \"release\"\nlto = \"thin\"\n"));
        let (twice, _) =
            edit_manifest(&once, "Cargo.toml", ConfigHome::CargoToml, &args, &[]).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn workspace_table_and_updates() {
        let text = "[workspace]\nmembers = [\"a\"]\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\"] # just linux\n";
        let args = InitArgs {
            installers: vec!["shell".into()],
            ..Default::default()
        };
        let (out, table) =
            edit_manifest(text, "Cargo.toml", ConfigHome::CargoToml, &args, &[]).unwrap();
        assert_eq!(table, "[workspace.metadata.dist]");
        assert!(
            out.contains("targets = [\"x86_64-unknown-linux-gnu\"] # just linux\n"),
            "{out}"
        );
        assert!(out.contains("installers = [\"shell\"]"));
        let t = vec!["aarch64-apple-darwin".to_string()];
        let (out, _) = edit_manifest(&out, "Cargo.toml", ConfigHome::CargoToml, &args, &t).unwrap();
        assert!(
            out.contains("targets = [\"aarch64-apple-darwin\"] # just linux\n"),
            "{out}"
        );
        assert_eq!(out.matches("[workspace.metadata.dist]").count(), 1);
    }

    #[test]
    fn a_fresh_dist_file_and_an_edited_one() {
        let args = InitArgs {
            installers: vec!["shell".into()],
            ..Default::default()
        };
        let new = edit_dist_file(None, DIST_FILE, &args, &[]).unwrap();
        assert!(
            new.starts_with("[workspace]\nmembers = [\"cargo:.\"]\n"),
            "{new}"
        );
        assert!(new.contains("\n[dist]\n"), "{new}");
        assert!(new.contains("installers = [\"shell\"]"), "{new}");
        let mine = "[workspace]\nmembers = [\"cargo:.\"]\n\n# Config for 'dist'\n[dist]\n# keep me\ninstall-updater = false\ntargets = [\"x86_64-unknown-linux-gnu\"]\n\n[dist.github-custom-runners]\nglobal = \"ubuntu-24.04\"\n";
        let out = edit_dist_file(Some(mine), DIST_FILE, &args, &[]).unwrap();
        assert!(
            out.contains("# Config for 'dist'\n[dist]\n# keep me\ninstall-updater = false\n"),
            "{out}"
        );
        assert!(
            out.contains("[dist.github-custom-runners]\nglobal = \"ubuntu-24.04\"\n"),
            "{out}"
        );
        assert_eq!(
            edit_dist_file(Some(&out), DIST_FILE, &args, &[]).unwrap(),
            out
        );
        // The Cargo.toml side gets the profile only.
        let (cargo, table) = edit_manifest(
            "[package]\nname = \"x\"\n",
            "Cargo.toml",
            ConfigHome::DistFile,
            &args,
            &[],
        )
        .unwrap();
        assert_eq!(table, "[dist]");
        assert!(!cargo.contains("metadata"), "{cargo}");
        assert!(cargo.contains("[profile.dist]"), "{cargo}");
    }
}
