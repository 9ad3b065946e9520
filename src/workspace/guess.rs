//! What can be learnt about a workspace while `cargo metadata` runs: its root and members
//! guessed from the root manifest, their files, their auto-include files and the committed tree.
//! `cargo metadata` takes most of a plan's time on one core; this runs on the other. Nothing
//! guessed is trusted: [`Early`] facts are used only for the root, directories and layout that
//! metadata confirms. When the manifests were read directly there is nothing to guess
//! ([`Guess::exact`]) and nothing to wait for: everything is gathered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::files::{Pending, SourceFiles};
use super::{ask_committed_tree, include_kind, list_files, relative, scan_includes, IncludeKind};

/// The workspace as its root manifest describes it, before cargo says so.
#[derive(Debug, Clone, Default)]
pub struct Guess {
    pub root: PathBuf,
    /// Member directories relative to the root ("" for a root package).
    pub member_dirs: BTreeSet<String>,
    /// The target directory relative to the root (`target` unless `CARGO_TARGET_DIR` says).
    pub target_dir: String,
}

impl Guess {
    /// The layout the manifests were read to: nothing guessed.
    pub(super) fn exact(raw: &super::RawWorkspace) -> Guess {
        let dir = |p: &Path| relative(&raw.root, p.parent().unwrap_or(&raw.root));
        Guess {
            root: raw.root.clone(),
            member_dirs: raw.packages.iter().map(|p| dir(&p.manifest_path)).collect(),
            target_dir: relative(&raw.root, &raw.target_dir),
        }
    }

    /// The workspace whose manifest is in `dir`, or in the nearest ancestor that declares a
    /// `[workspace]` (cargo's search); `None` when `dir` has no `Cargo.toml`.
    pub fn from_dir(dir: &Path) -> Option<Guess> {
        let parse = |d: &Path| -> Option<toml_edit::DocumentMut> {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .ok()?
                .parse()
                .ok()
        };
        let own = parse(dir)?;
        let (root, doc) = if own.contains_key("workspace") {
            (dir.to_path_buf(), own)
        } else {
            dir.ancestors()
                .skip(1)
                .find_map(|d| {
                    parse(d)
                        .filter(|doc| doc.contains_key("workspace"))
                        .map(|doc| (d.to_path_buf(), doc))
                })
                .unwrap_or((dir.to_path_buf(), own))
        };
        let member_dirs = members(&root, &doc);
        let target_dir = match crate::env::cargo_target_dir() {
            Some(t) => relative(&root, &root.join(t)),
            None => "target".to_string(),
        };
        Some(Guess {
            root,
            member_dirs,
            target_dir,
        })
    }
}

/// `[workspace] members` with `*` patterns expanded, less `exclude`, plus a root `[package]`.
/// Path dependencies that cargo makes members implicitly are not guessed: they are read later.
fn members(root: &Path, doc: &toml_edit::DocumentMut) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if doc.get("package").is_some() {
        out.insert(String::new());
    }
    let list = |key: &str| -> Vec<String> {
        doc.get("workspace")
            .and_then(|w| w.get(key))
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(|s| s.trim_start_matches("./").trim_end_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    for pattern in list("members") {
        let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        expand(root, String::new(), &segments, &mut out);
    }
    for ex in list("exclude") {
        out.retain(|m| m != &ex && !m.starts_with(&format!("{ex}/")));
    }
    out
}

fn expand(root: &Path, at: String, segments: &[&str], out: &mut BTreeSet<String>) {
    let join = |name: &str| {
        if at.is_empty() {
            name.to_string()
        } else {
            format!("{at}/{name}")
        }
    };
    let Some((first, rest)) = segments.split_first() else {
        if root.join(&at).join("Cargo.toml").is_file() {
            out.insert(at);
        }
        return;
    };
    if !first.contains('*') {
        // `..` leaves the root: such members are no one's guess.
        if *first != ".." {
            expand(root, join(first), rest, out);
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(root.join(&at)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && wildcard(first, n))
        .collect();
    names.sort();
    for n in names {
        expand(root, join(&n), rest, out);
    }
}

/// `*` matches any run of characters; every other character itself.
pub(super) fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| wildcard(tail, &rest[i..]))
        }
    }
}

/// Facts gathered while `cargo metadata` runs, for the guessed workspace.
#[derive(Debug, Default)]
pub struct Early {
    pub guess: Guess,
    /// Member directory -> its files ([`list_files`]), listed with the guessed members and
    /// target dir: valid only if metadata confirms both.
    pub listings: Arc<BTreeMap<String, BTreeSet<String>>>,
    /// Auto-include files of the root and of each guessed member directory (absolute dirs).
    pub includes: BTreeMap<PathBuf, Vec<(IncludeKind, PathBuf)>>,
    pub git_tree: Option<String>,
    /// Which files are sources (git's view), asked for the guessed root.
    pub sources: Option<SourceFiles>,
}

impl Early {
    /// Lists the guessed members until `stop` is set (metadata answered: what is not listed by
    /// then is listed when needed), then reads off their include files and asks git for the tree.
    pub fn gather(guess: Guess, stop: &AtomicBool, sources: Pending) -> Early {
        let root = &guess.root;
        // git rev-parse answers while the members are walked.
        let tree = ask_committed_tree(root);
        let sources = sources.finish(root);
        let mut listings = BTreeMap::new();
        for dir in &guess.member_dirs {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut files = BTreeSet::new();
            let (members, target) = (&guess.member_dirs, &guess.target_dir);
            if list_files(root, dir, members, target, &sources, &mut files).is_ok() {
                listings.insert(dir.clone(), files);
            }
        }
        let mut includes = BTreeMap::new();
        if !guess.member_dirs.contains("") {
            includes.insert(root.clone(), scan_includes(root, root, &sources));
        }
        // A member's include files are the files right in its directory: read off its listing.
        for (dir, files) in &listings {
            let mut found: Vec<(IncludeKind, PathBuf)> = files
                .iter()
                .filter_map(|rel| {
                    let name = match dir.is_empty() {
                        true => rel.as_str(),
                        false => rel.strip_prefix(dir.as_str())?.strip_prefix('/')?,
                    };
                    let kind = include_kind(name).filter(|_| !name.contains('/'))?;
                    Some((kind, root.join(rel)))
                })
                .collect();
            found.sort();
            includes.insert(root.join(dir), found);
        }
        Early {
            git_tree: tree.finish(),
            listings: Arc::new(listings),
            includes,
            guess,
            sources: Some(sources),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(wildcard("*", "app"));
        assert!(wildcard("app-*", "app-cli"));
        assert!(wildcard("*-cli", "app-cli"));
        assert!(wildcard("a*c*e", "abcde"));
        assert!(!wildcard("app-*", "lib-cli"));
        assert!(!wildcard("app", "app2"));
    }

    #[test]
    fn members_are_expanded_and_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for m in [
            "crates/a",
            "crates/b",
            "crates/skip",
            "tools/x",
            "notacrate",
        ] {
            std::fs::create_dir_all(root.join(m)).unwrap();
            if m != "notacrate" {
                std::fs::write(root.join(m).join("Cargo.toml"), "[package]\n").unwrap();
            }
        }
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"r\"\n[workspace]\nmembers = [\"crates/*\", \"./tools/x/\", \"notacrate\"]\nexclude = [\"crates/skip\"]\n",
        )
        .unwrap();
        let g = Guess::from_dir(root).unwrap();
        let got: Vec<&str> = g.member_dirs.iter().map(String::as_str).collect();
        assert_eq!(got, ["", "crates/a", "crates/b", "tools/x"]);
        // From a member's directory, the root is the ancestor that declares the workspace.
        let from_member = Guess::from_dir(&root.join("crates/a")).unwrap();
        assert_eq!(from_member.root, root);
    }
}
