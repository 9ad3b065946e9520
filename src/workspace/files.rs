//! Which files of the workspace are sources: the ones `cargo package` would consider, so that a
//! fresh clone, a CI checkout and a developer's tree with editor backups, `.env` files and
//! ignored build output all hash the same set.
//!
//! In a git work tree: tracked files plus the untracked files that `.gitignore`,
//! `.git/info/exclude` and the global excludes (`core.excludesFile`) leave in, as git itself
//! lists them (`git ls-files --cached --others --exclude-standard`; a submodule is listed by its
//! own git). Outside git: every file but hidden ones (cargo's rule there). On top of either, a
//! package's `include` / `exclude` globs ([`PackageGlobs`], matched as gitignore lines by the
//! `ignore` crate, as cargo does), and never: `target/`, the target dir, hidden directories
//! other than `.cargo`, other members' directories (the listing walks stop there).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// The rule that decides which files of the workspace are sources.
#[derive(Debug, Clone)]
pub enum SourceFiles {
    /// What git considers (tracked, or untracked and not ignored).
    Git(Arc<Listed>),
    /// Not in a git work tree, or git could not list it: every file but hidden ones.
    Unversioned(Unversioned),
}

/// git's listing, workspace-relative.
#[derive(Debug, Default)]
pub struct Listed {
    files: HashSet<String>,
    /// Every directory holding a listed file, at any depth ("" the root): a walk need not
    /// enter any other (an ignored `node_modules/` is not read at all).
    dirs: HashSet<String>,
}

/// Why git was not asked, or could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unversioned {
    NoRepository,
    GitFailed(String),
    NothingListed,
}

impl std::fmt::Display for Unversioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unversioned::NoRepository => write!(f, "it is not in a git repository"),
            Unversioned::GitFailed(why) => write!(f, "`git ls-files` failed there: {why}"),
            Unversioned::NothingListed => {
                write!(f, "git lists none of its files (is the directory ignored?)")
            }
        }
    }
}

impl SourceFiles {
    /// Asks git which files of the workspace at `root` are sources, and waits.
    pub fn of(root: &Path) -> SourceFiles {
        Pending::ask(root).finish(root)
    }

    /// Whether a file found under the workspace is a source. `rel` is workspace-relative.
    pub fn considers(&self, rel: &str) -> bool {
        match self {
            SourceFiles::Git(listed) => listed.files.contains(rel),
            SourceFiles::Unversioned(_) => {
                let name = rel.rsplit('/').next().unwrap_or(rel);
                !name.starts_with('.')
            }
        }
    }

    /// Whether a directory (workspace-relative) may hold sources.
    pub fn may_hold(&self, rel: &str) -> bool {
        match self {
            SourceFiles::Git(listed) => listed.dirs.contains(rel),
            SourceFiles::Unversioned(_) => true,
        }
    }

    /// What is used instead of git's view, when git's view is not used.
    pub fn unversioned(&self) -> Option<&Unversioned> {
        match self {
            SourceFiles::Git(_) => None,
            SourceFiles::Unversioned(why) => Some(why),
        }
    }
}

/// git listing a directory's sources, started early (a plan starts it before it reads the
/// manifests that say where the workspace root is) and read when the files are walked.
pub struct Pending {
    dir: PathBuf,
    answer: Result<Child, SourceFiles>,
}

impl Pending {
    /// Starts `git ls-files` in `dir` (the likely workspace root) if it is in a git work tree.
    pub fn ask(dir: &Path) -> Pending {
        let answer = match dir.ancestors().any(|d| d.join(".git").exists()) {
            false => Err(SourceFiles::Unversioned(Unversioned::NoRepository)),
            true => ls_files(dir)
                .spawn()
                .map_err(|e| SourceFiles::Unversioned(Unversioned::GitFailed(e.to_string()))),
        };
        Pending {
            dir: dir.to_path_buf(),
            answer,
        }
    }

    /// The sources of the workspace at `root`: git's answer if it was asked about `root`, else
    /// git asked again.
    pub fn finish(self, root: &Path) -> SourceFiles {
        if self.dir != root {
            if let Ok(mut child) = self.answer {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Pending::ask(root).finish(root);
        }
        let child = match self.answer {
            Ok(child) => child,
            Err(files) => return files,
        };
        let failed = |why: String| SourceFiles::Unversioned(Unversioned::GitFailed(why));
        let listing = match child.wait_with_output() {
            Ok(out) => out,
            Err(e) => return failed(e.to_string()),
        };
        if !listing.status.success() {
            return failed(String::from_utf8_lossy(&listing.stderr).trim().to_string());
        }
        // Only a repository with submodules has directories among git's entries.
        let git_root = root.ancestors().find(|d| d.join(".git").exists());
        let submodules = git_root.is_some_and(|g| g.join(".gitmodules").is_file());
        let mut listed = Listed::default();
        match collect(root, "", submodules, &listing.stdout, &mut listed) {
            Err(why) => failed(why),
            Ok(()) if listed.files.is_empty() => {
                SourceFiles::Unversioned(Unversioned::NothingListed)
            }
            Ok(()) => SourceFiles::Git(Arc::new(listed)),
        }
    }
}

fn ls_files(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        // NUL-separated paths, as they are (never quoted), relative to `dir`. Untracked files
        // under a directory named `target` are never sources (the walks skip those too), and
        // without `/target` in .gitignore git would list every build output.
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--exclude=target/",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Adds git's listing of `root/prefix` to `out` (workspace-relative). With `submodules`, an
/// entry that is a directory is a submodule (a gitlink): its own git lists its files.
fn collect(
    root: &Path,
    prefix: &str,
    submodules: bool,
    listing: &[u8],
    out: &mut Listed,
) -> Result<(), String> {
    for raw in listing.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let Ok(path) = std::str::from_utf8(raw) else {
            // A name that is not UTF-8 cannot be a key input either way: the walk skips it too.
            continue;
        };
        let rel = match prefix.is_empty() {
            true => path.to_string(),
            false => format!("{prefix}/{path}"),
        };
        // Tracked entries are files, symlinks or gitlinks; only a gitlink is a directory.
        if submodules && root.join(&rel).is_dir() {
            let sub = ls_files(&root.join(&rel))
                .output()
                .map_err(|e| e.to_string())?;
            // An uninitialised submodule fails: nothing checked out, nothing to hash.
            if sub.status.success() {
                collect(root, &rel, true, &sub.stdout, out)?;
            }
            continue;
        }
        let mut parent = rel.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            if !out.dirs.insert(up.to_string()) {
                break;
            }
            parent = up;
        }
        out.dirs.insert(String::new());
        out.files.insert(rel);
    }
    Ok(())
}

/// A package's `include` / `exclude` (gitignore-style globs relative to its directory), as
/// cargo applies them: with `include`, only matching files (and the manifest); else every
/// file but those `exclude` matches. The two are mutually exclusive: `include` wins.
#[derive(Debug, Clone)]
pub struct PackageGlobs {
    include: bool,
    matcher: ignore::gitignore::Gitignore,
}

impl PackageGlobs {
    /// `None` when the package sets neither; an invalid glob is an error naming it.
    pub fn new(
        package_dir: &Path,
        include: &[String],
        exclude: &[String],
    ) -> Result<Option<PackageGlobs>, String> {
        let (lines, is_include) = match (include.is_empty(), exclude.is_empty()) {
            (true, true) => return Ok(None),
            (false, _) => (include, true),
            (true, false) => (exclude, false),
        };
        let mut b = ignore::gitignore::GitignoreBuilder::new(package_dir);
        for line in lines {
            b.add_line(None, line)
                .map_err(|e| format!("`{line}`: {e}"))?;
        }
        let matcher = b.build().map_err(|e| e.to_string())?;
        Ok(Some(PackageGlobs {
            include: is_include,
            matcher,
        }))
    }

    /// Whether `rel` (relative to the package directory) is kept.
    pub fn keeps(&self, rel: &str) -> bool {
        if rel == "Cargo.toml" || rel == "Cargo.lock" {
            return true;
        }
        let hit = self
            .matcher
            .matched_path_or_any_parents(Path::new(rel), false)
            .is_ignore();
        hit == self.include
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(include: &[&str], exclude: &[&str]) -> Option<PackageGlobs> {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PackageGlobs::new(Path::new("/p"), &owned(include), &owned(exclude)).unwrap()
    }

    #[test]
    fn exclude_drops_matches_and_include_keeps_only_them() {
        assert!(globs(&[], &[]).is_none());
        let ex = globs(&[], &["/tests/fixtures", "*.bak"]).unwrap();
        assert!(ex.keeps("src/main.rs"));
        assert!(!ex.keeps("tests/fixtures/big.bin"));
        assert!(!ex.keeps("src/old.bak"));
        assert!(ex.keeps("Cargo.toml"));
        let inc = globs(&["src/**", "build.rs"], &["src/main.rs"]).unwrap();
        assert!(
            inc.keeps("src/main.rs"),
            "include wins over exclude, as in cargo"
        );
        assert!(inc.keeps("build.rs"));
        assert!(!inc.keeps("notes.txt"));
        assert!(inc.keeps("Cargo.toml"), "the manifest is always kept");
        let bad = PackageGlobs::new(Path::new("/p"), &[], &["a{b".to_string()]);
        assert!(bad.unwrap_err().contains("a{b"));
    }

    #[test]
    fn outside_git_hidden_files_are_left_out() {
        let rule = SourceFiles::Unversioned(Unversioned::NoRepository);
        assert!(rule.considers("src/main.rs"));
        assert!(!rule.considers(".env"));
        assert!(!rule.considers("src/.main.rs.swp"));
    }
}
