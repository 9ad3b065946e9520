//! `dist-workspace.toml` (or `dist.toml`): the file recent cargo-dist writes for a workspace's
//! dist config, beside or above the Cargo workspace it names.
//!
//! ```toml
//! [workspace]
//! members = ["cargo:."]     # Cargo workspaces, relative to this file
//!
//! [dist]                    # the workspace dist config
//! installers = ["shell"]
//! ```
//!
//! `dist:DIR` members and a `[package]` table of the file itself are generic packages
//! ([`super::generic`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::generic::GenericMember;
use super::WorkspaceError;

/// The file names looked for, in cargo-dist's order of precedence.
pub const FILE_NAMES: &[&str] = &["dist-workspace.toml", "dist.toml"];

/// A dist workspace file found on disk.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    /// Absolute directories of its `cargo:` members (several are loaded by
    /// [`super::Workspace::load`] as one dist workspace of several Cargo workspaces).
    pub cargo_members: Vec<PathBuf>,
    /// Its `dist:` members (or the file's own `[package]`).
    pub generic_members: Vec<GenericMember>,
    /// Its `[dist]` table.
    pub dist: Option<Value>,
    /// `[workspace] packages`: exactly these packages are Apps.
    pub packages: Option<Vec<String>>,
    /// `[workspace] version`: one version for every package.
    pub version: Option<semver::Version>,
}

/// The dist workspace file as the config stage sees it.
#[derive(Debug, Clone)]
pub struct DistFile {
    /// Relative to the workspace root (the Cargo workspace's, or with several, the dist file's
    /// own directory), e.g. `dist-workspace.toml`.
    pub path: String,
    pub dist: Option<Value>,
    pub packages: Option<Vec<String>>,
}

/// Whether the file lists Cargo workspaces other than one at its own directory (several, or
/// one in a subdirectory): the dist workspace is then rooted at the file's directory.
pub fn roots_elsewhere(f: &Found) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let dir = canon(f.path.parent().unwrap_or(Path::new(".")));
    match f.cargo_members.as_slice() {
        [] => false,
        [one] => canon(one) != dir,
        _ => true,
    }
}

/// Looks in `start` and its ancestors up to the enclosing git work tree's top (only `start`
/// outside git) for a dist workspace file; the nearest directory wins, and in one directory
/// `dist-workspace.toml` wins over `dist.toml`.
pub fn find(start: &Path) -> Result<Option<Found>, WorkspaceError> {
    let in_git = start.ancestors().any(|d| d.join(".git").exists());
    for dir in start.ancestors() {
        for name in FILE_NAMES {
            let path = dir.join(name);
            if path.is_file() {
                if let Some(found) = read(&path)? {
                    return Ok(Some(found));
                }
            }
        }
        if !in_git || dir.join(".git").exists() {
            break;
        }
    }
    Ok(None)
}

/// The directories of the `cargo:PATH` members and the packages of the `dist:PATH` and
/// `npm:PATH` members (relative to `dir`).
fn members(
    members: &[String],
    dir: &Path,
    shown: &str,
) -> Result<(Vec<PathBuf>, Vec<GenericMember>), WorkspaceError> {
    let err = |message: String| WorkspaceError::DistFile {
        path: shown.to_string(),
        message,
    };
    let (mut cargo, mut generic) = (Vec::new(), Vec::new());
    for m in members {
        match m.split_once(':') {
            Some(("cargo", rel)) => cargo.push(dir.join(rel)),
            Some(("dist", rel)) => generic.push(super::generic::read_member(&dir.join(rel))?),
            Some(("npm", rel)) => {
                generic.push(super::generic::read_npm_member(&dir.join(rel))?)
            }
            _ => {
                return Err(err(format!(
                    "member {m:?} is not of the form \"cargo:PATH\", \"dist:PATH\" or \"npm:PATH\" (relative to this file)"
                )))
            }
        }
    }
    Ok((cargo, generic))
}

/// `None` for a `dist.toml` that is not a workspace file (no `[workspace]`, `[dist]` or
/// `[package]`).
fn read(path: &Path) -> Result<Option<Found>, WorkspaceError> {
    let shown = path.display().to_string();
    let doc = super::parse_toml(path)?;
    if ["workspace", "dist", "package"]
        .iter()
        .all(|t| doc.get(t).is_none())
    {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let strings = |key: &str| -> Result<Option<Vec<String>>, WorkspaceError> {
        let Some(v) = doc.get("workspace").and_then(|w| w.get(key)) else {
            return Ok(None);
        };
        v.as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect())
            .map(Some)
            .ok_or_else(|| WorkspaceError::DistFile {
                path: shown.clone(),
                message: format!("`{key}` in [workspace] must be an array of strings"),
            })
    };
    let members = strings("members")?.unwrap_or_else(|| vec!["cargo:.".to_string()]);
    let packages = strings("packages")?;
    let version = match doc.get("workspace").and_then(|w| w.get("version")) {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| semver::Version::parse(s).ok())
                .ok_or_else(|| WorkspaceError::DistFile {
                    path: shown.clone(),
                    message:
                        "`version` in [workspace] must be a semver version string like \"1.2.0\""
                            .into(),
                })?,
        ),
    };
    // A `[package]` here makes the file a generic package's own, as in cargo-dist: its
    // `members` are not read.
    let (cargo_members, generic_members) = match doc.get("package") {
        Some(p) => (
            Vec::new(),
            vec![super::generic::from_table(path, &item_to_json(p), None)?],
        ),
        None => self::members(&members, dir, &shown)?,
    };
    Ok(Some(Found {
        path: path.to_path_buf(),
        cargo_members,
        generic_members,
        dist: doc.get("dist").map(item_to_json),
        packages,
        version,
    }))
}

/// TOML as JSON, the form `cargo metadata` gives Cargo.toml's metadata tables in, so both config
/// files are read by one reader. Dates become strings.
pub fn item_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => value_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), item_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| item_to_json(&toml_edit::Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn value_to_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        T::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_members_and_the_dist_table() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "dist-workspace.toml",
            "[workspace]\nmembers = [\"cargo:.\"]\n\n[dist]\ntargets = [\"x86_64-unknown-linux-gnu\"]\n\n[dist.github-custom-runners]\nglobal = \"ubuntu-24.04\"\n\n[[dist.extra-artifacts]]\nartifacts = [\"a\"]\nbuild = [\"make\"]\n",
        );
        let f = find(d.path()).unwrap().unwrap();
        assert_eq!(f.cargo_members, [d.path().join(".")]);
        assert_eq!(
            f.dist.unwrap(),
            serde_json::json!({
                "targets": ["x86_64-unknown-linux-gnu"],
                "github-custom-runners": {"global": "ubuntu-24.04"},
                "extra-artifacts": [{"artifacts": ["a"], "build": ["make"]}],
            })
        );
    }

    #[test]
    fn other_member_kinds_are_named() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "dist-workspace.toml",
            "[workspace]\nmembers = [\"cargo:.\", \"go:web\"]\n",
        );
        let e = find(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("dist-workspace.toml") && e.contains("\"go:web\""),
            "{e}"
        );
    }

    #[test]
    fn dist_workspace_toml_wins_over_dist_toml() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "dist.toml", "[dist]\nci = \"github\"\n");
        assert!(find(d.path()).unwrap().unwrap().path.ends_with("dist.toml"));
        write(d.path(), "dist-workspace.toml", "[dist]\nci = []\n");
        assert!(find(d.path())
            .unwrap()
            .unwrap()
            .path
            .ends_with("dist-workspace.toml"));
    }
}
