//! `init`: add the dist config and the `dist` profile to the root Cargo.toml (keeping its
//! comments and formatting), then write the CI workflow.
//!
//! Rerunning is safe: keys already set are kept (or updated when given on the command line),
//! nothing is duplicated, and an unchanged manifest is not rewritten.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::generate::{generate_for, Generated};
use super::GlobalOpts;
use crate::ci;
use crate::config::{self, INSTALLERS};
use crate::workspace::{relative, Workspace};
use crate::Error;

/// The targets a fresh config builds for.
pub const DEFAULT_TARGETS: &[&str] = &[
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
];

use crate::config::CI_BACKENDS;

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
        } else if self.changed {
            format!(
                "added {} and [profile.dist] to {}\n",
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

/// The edited manifest text: pure, so the edit can be shown before it is written.
pub fn edit_manifest(
    text: &str,
    manifest: &str,
    args: &InitArgs,
    targets: &[String],
) -> Result<(String, String), InitError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| InitError::Toml {
            path: manifest.to_string(),
            message: e.to_string(),
        })?;
    let (path, table_name): (&[&str], &str) = if doc.contains_key("workspace") {
        (
            &["workspace", "metadata", "dist"],
            "[workspace.metadata.dist]",
        )
    } else {
        (&["package", "metadata", "dist"], "[package.metadata.dist]")
    };
    let fresh = doc
        .get(path[0])
        .and_then(|t| t.get(path[1]))
        .and_then(|t| t.get(path[2]))
        .is_none();
    let dist = table_at(&mut doc, path, manifest)?;
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
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok((out, table_name.to_string()))
}

fn write_atomic(path: &Path, shown: &str, bytes: &[u8]) -> Result<(), InitError> {
    crate::atomic::write(path, bytes).map_err(|source| InitError::Io {
        action: "write",
        path: shown.to_string(),
        source,
    })
}

/// `init`. `confirm` is asked (with a summary of the change) before writing unless `--yes`;
/// the binary answers it from the terminal.
pub fn init(
    opts: &GlobalOpts,
    args: &InitArgs,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<InitReport, Error> {
    check_values("ci", &args.ci, CI_BACKENDS)?;
    check_values("installer", &args.installers, INSTALLERS)?;
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let manifest = relative(&ws.root, &ws.manifest_path);
    let text = std::fs::read_to_string(&ws.manifest_path).map_err(|source| InitError::Io {
        action: "read",
        path: manifest.clone(),
        source,
    })?;
    let (new_text, table) = edit_manifest(&text, &manifest, args, &opts.targets)?;
    let changed = new_text != text;
    let mut report = InitReport {
        manifest: manifest.clone(),
        table: table.clone(),
        changed,
        cancelled: false,
        generated: None,
    };
    if changed {
        if !args.yes {
            let question = format!(
                "cargo dist init will set {table} and [profile.dist] in {manifest}:\n{}\nwrite it and generate the CI workflow?",
                summary(&new_text, &table)
            );
            if !confirm(&question) {
                report.cancelled = true;
                report.changed = false;
                return Ok(report);
            }
        }
        write_atomic(&ws.manifest_path, &manifest, new_text.as_bytes())?;
    }
    // The config just written decides the workflow.
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let cfg = config::resolve(&ws)?;
    if ci::wants_github(&cfg.global) {
        let store_root = dist_store::Store::resolve_root(opts.store.as_deref())?;
        report.generated = Some(generate_for(&ws, &cfg.global, false, Some(&store_root))?);
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
        let (once, table) = edit_manifest(text, "Cargo.toml", &args, &[]).unwrap();
        assert_eq!(table, "[package.metadata.dist]");
        assert!(once.starts_with("# my package\n[package]\nname = \"x\" # the name\n"));
        assert!(once.contains("# none yet\n"));
        assert!(once.contains("[package.metadata.dist]\n"), "{once}");
        assert!(!once.contains("[package.metadata]\n"), "{once}");
        assert!(once.contains("ci = [\"github\"]"));
        assert!(once.contains("[profile.dist]\ninherits = \"release\"\nlto = \"thin\"\n"));
        let (twice, _) = edit_manifest(&once, "Cargo.toml", &args, &[]).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn workspace_table_and_updates() {
        let text = "[workspace]\nmembers = [\"a\"]\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\"] # just linux\n";
        let args = InitArgs {
            installers: vec!["shell".into()],
            ..Default::default()
        };
        let (out, table) = edit_manifest(text, "Cargo.toml", &args, &[]).unwrap();
        assert_eq!(table, "[workspace.metadata.dist]");
        assert!(
            out.contains("targets = [\"x86_64-unknown-linux-gnu\"] # just linux\n"),
            "{out}"
        );
        assert!(out.contains("installers = [\"shell\"]"));
        let t = vec!["aarch64-apple-darwin".to_string()];
        let (out, _) = edit_manifest(&out, "Cargo.toml", &args, &t).unwrap();
        assert!(
            out.contains("targets = [\"aarch64-apple-darwin\"] # just linux\n"),
            "{out}"
        );
        assert_eq!(out.matches("[workspace.metadata.dist]").count(), 1);
    }
}
