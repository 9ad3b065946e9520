//! The source set follows git, as `cargo package` does: ignored files (by `.gitignore`,
//! `.git/info/exclude` or the global excludes), editor backups and build output change no
//! key; an untracked file git does not ignore does, and `explain` names it. `include` /
//! `exclude` shape it further. Outside git, hidden files are left out and the run says so once.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use crate::support::{archive_name, commit_all, dist_command, git, host_app, run_ok, Fixture};

/// `cargo dist ARGS` with a global git config of the test's own (the user's must not leak in).
fn dist(fx: &Fixture, args: &[&str]) -> Command {
    let mut cmd = dist_command(fx.root(), &fx.store(), args);
    cmd.env("GIT_CONFIG_GLOBAL", fx.dir.path().join("gitconfig"));
    cmd
}

/// The recipe keys of `plan -o json` that depend on the sources alone: archives, their
/// checksums and the source tarball (installers and `sha256.sum` also cover the archives'
/// sha256, known once they are in the store).
fn keys(fx: &Fixture) -> BTreeMap<String, String> {
    let out = run_ok(&mut dist(fx, &["plan", "-o", "json"]));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.as_str() != "sha256.sum" && !name.contains("installer"))
        .filter_map(|(name, a)| Some((name.clone(), a["recipe"]["key"].as_str()?.to_string())))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const OUTSIDE_GIT: &str = "as `cargo package` takes them outside git";

#[test]
fn ignored_files_change_no_key_and_an_untracked_source_does() {
    let (fx, host) = host_app("srcset", "hello from srcset");
    let archive = archive_name("srcset", &host);
    fx.file(".gitignore", "/target\n*.bak\n*~\n/scratch/\n");
    // The global excludes file, as `core.excludesFile` names it.
    let global = fx.dir.path().join("global-ignore");
    std::fs::write(&global, "*.swp\n").unwrap();
    std::fs::write(
        fx.dir.path().join("gitconfig"),
        format!("[core]\n\texcludesFile = {}\n", global.display()),
    )
    .unwrap();
    commit_all(&fx);
    let before = keys(&fx);
    assert!(before.contains_key(&archive), "{before:?}");
    let out = run_ok(&mut dist(&fx, &["build"]));
    assert!(!stderr(&out).contains(OUTSIDE_GIT), "{}", stderr(&out));
    assert_eq!(keys(&fx), before, "a build's own output changed a key");

    // Ignored by each of git's rules: .gitignore (an editor backup of a source, of the
    // LICENSE an archive auto-includes, an ignored directory), .git/info/exclude, the global
    // excludes (a swap file); and what CI keeps outside the checkout is nowhere near it.
    fx.file("src/main.rs.bak", "fn main() {}\n")
        .file("LICENSE~", "an old licence\n")
        .file("README.md~", "an old readme\n")
        .file("scratch/out.log", "log\n")
        .file("notes.local", "mine\n")
        .file("src/.main.rs.swp", "swap\n");
    let exclude = fx.root().join(".git/info/exclude");
    let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
    text.push_str("notes.local\n");
    std::fs::write(&exclude, text).unwrap();
    assert_eq!(keys(&fx), before, "an ignored file changed a key");
    let out = run_ok(&mut dist(&fx, &["build", "-o", "json"]));
    let built: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(built["artifacts"][&archive]["recipe"]["cached"], true);

    // An untracked file git does not ignore is a source: the cargo build's key changes and
    // `explain` names the file.
    fx.file("src/extra.rs", "pub fn extra() {}\n");
    let untracked = keys(&fx);
    assert_ne!(untracked[&archive], before[&archive]);
    let explain = run_ok(&mut dist(&fx, &["explain", &archive, "-o", "json"]));
    let explain: serde_json::Value = serde_json::from_slice(&explain.stdout).unwrap();
    let changes: Vec<String> = explain["consumed"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["changes"].as_array().unwrap())
        .map(|c| c["input"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(changes, ["file:src/extra.rs"], "{explain}");
    // Tracked or not, the same bytes are the same source.
    git(fx.root(), &["add", "src/extra.rs"]);
    assert_eq!(keys(&fx), untracked);
    // A tracked file that .gitignore matches (added with --force) is a source all the same.
    fx.file("src/forced.bak", "kept\n");
    git(fx.root(), &["add", "-f", "src/forced.bak"]);
    assert_ne!(keys(&fx)[&archive], untracked[&archive]);
}

#[test]
fn package_include_and_exclude_shape_the_source_set() {
    let fx = Fixture::new();
    fx.package(
        "",
        "globbed",
        "0.1.0",
        &["globbed"],
        "exclude = [\"fixtures/\", \"*.log\"]\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\"]\n",
    )
    .file(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"globbed\"\nversion = \"0.1.0\"\n",
    );
    commit_all(&fx);
    let archive = archive_name("globbed", "x86_64-unknown-linux-gnu");
    let before = keys(&fx);
    fx.file("fixtures/big.bin", "data\n")
        .file("src/run.log", "log\n");
    assert_eq!(keys(&fx), before, "an excluded file changed a key");
    fx.file("docs/guide.txt", "read me\n");
    assert_ne!(keys(&fx)[&archive], before[&archive]);

    // With `include`, only what it names (and the manifest) is a source: cargo's rule.
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml"))
        .unwrap()
        .replace(
            "exclude = [\"fixtures/\", \"*.log\"]",
            "include = [\"/src\", \"build.rs\"]",
        );
    fx.file("Cargo.toml", &manifest);
    let included = keys(&fx);
    fx.file("notes.txt", "not a source\n")
        .file("docs/more.txt", "nor this\n");
    assert_eq!(
        keys(&fx),
        included,
        "a file outside `include` changed a key"
    );
    fx.file("src/extra.rs", "pub fn extra() {}\n");
    assert_ne!(keys(&fx)[&archive], included[&archive]);
}

#[test]
fn a_bad_glob_is_an_error_naming_the_manifest_and_key() {
    let fx = Fixture::new();
    fx.package(
        "",
        "badglob",
        "0.1.0",
        &["badglob"],
        "exclude = [\"src/{a\"]\n\n[workspace]\n",
    );
    let out = dist(&fx, &["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Cargo.toml") && err.contains("`package.exclude`") && err.contains("src/{a"),
        "{err}"
    );
}

#[test]
fn outside_git_hidden_files_are_left_out_and_the_run_says_so_once() {
    let (fx, host) = host_app("nogit", "hello");
    let archive = archive_name("nogit", &host);
    let out = run_ok(&mut dist(&fx, &["plan"]));
    assert_eq!(
        stderr(&out).matches(OUTSIDE_GIT).count(),
        1,
        "{}",
        stderr(&out)
    );
    let before = keys(&fx);
    fx.file(".env", "SECRET=1\n").file("src/.hidden.rs", "x\n");
    assert_eq!(keys(&fx), before, "a hidden file changed a key outside git");
    fx.file("notes.txt", "a source outside git\n");
    assert_ne!(keys(&fx)[&archive], before[&archive]);
    // A directory git ignores entirely is no git checkout of its sources either.
    let outer = fx.dir.path();
    git(outer, &["init", "-q"]);
    std::fs::write(outer.join(".gitignore"), "/ws/\n").unwrap();
    let out = run_ok(&mut dist(&fx, &["plan"]));
    assert!(
        stderr(&out).contains("git lists none of its files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_submodules_files_are_sources() {
    let (fx, host) = host_app("withsub", "hello");
    let archive = archive_name("withsub", &host);
    // A library repository, checked out as a submodule inside the package.
    let lib = fx.dir.path().join("lib-repo");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("data.txt"), "v1\n").unwrap();
    git(&lib, &["init", "-q"]);
    git(&lib, &["add", "-A"]);
    git(&lib, &["commit", "-q", "-m", "lib"]);
    git(fx.root(), &["init", "-q"]);
    git(
        fx.root(),
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.to_str().unwrap(),
            "vendor/lib",
        ],
    );
    git(fx.root(), &["add", "-A"]);
    git(fx.root(), &["commit", "-q", "-m", "with a submodule"]);
    let before = keys(&fx);
    let out = run_ok(&mut dist(&fx, &["plan"]));
    assert!(!stderr(&out).contains(OUTSIDE_GIT), "{}", stderr(&out));
    // A file the submodule tracks is a source of the package that holds it.
    std::fs::write(fx.root().join("vendor/lib/data.txt"), "v2\n").unwrap();
    assert_ne!(keys(&fx)[&archive], before[&archive]);
}

/// Makes `fx` a repository with a submodule `vendor/lib` (`data.txt`: "v1") that has a
/// submodule of its own, `deps/inner` (`inner.txt`), all checked out; then edits the
/// submodule's checkout (`data.txt`: "edited", not committed).
fn with_nested_submodules(fx: &Fixture) {
    let repo = |name: &str, file: &str, text: &str| {
        let dir = fx.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
        git(&dir, &["init", "-q"]);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", name]);
        dir
    };
    let add = |into: &std::path::Path, from: &std::path::Path, at: &str| {
        let from = from.to_str().unwrap();
        let args = [
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            from,
            at,
        ];
        git(into, &args);
        git(into, &["commit", "-q", "-am", "submodule"]);
    };
    let inner = repo("inner-repo", "inner.txt", "inner v1\n");
    let lib = repo("lib-repo", "data.txt", "v1\n");
    add(&lib, &inner, "deps/inner");
    commit_all(fx);
    add(fx.root(), &lib, "vendor/lib");
    let update = [
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "update",
        "--init",
        "--recursive",
    ];
    git(fx.root(), &update);
    std::fs::write(fx.root().join("vendor/lib/data.txt"), "edited\n").unwrap();
}

/// `build --artifacts=all`, then `source.tar.gz` unpacked: its root directory.
fn built_source_tarball(fx: &Fixture) -> std::path::PathBuf {
    run_ok(&mut dist(fx, &["build", "--artifacts=all"]));
    let dest = fx.dir.path().join("unpacked");
    let _ = std::fs::remove_dir_all(&dest);
    let tarball = fx.root().join("target/distrib/source.tar.gz");
    crate::support::untar(&tarball, &dest, &["-xzf"]);
    dest.join("withsub-0.1.0")
}

/// `recursive-tarball = true`: `source.tar.gz` holds each submodule's files (and its
/// submodules'), at the commit the tree records, not the checkout's edits; without it, none.
/// A submodule that is not checked out is an error saying how to check it out.
#[test]
fn a_recursive_tarball_holds_the_submodules_at_their_commits() {
    let (fx, _host) = host_app("withsub", "hello");
    with_nested_submodules(&fx);
    let plain = built_source_tarball(&fx);
    assert!(plain.join("src/main.rs").is_file());
    assert!(!plain.join("vendor/lib/data.txt").exists());
    let plain_key = keys(&fx)["source.tar.gz"].clone();

    let manifest = fx.root().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}recursive-tarball = true\n")).unwrap();
    git(fx.root(), &["commit", "-q", "-am", "recursive"]);
    let out = run_ok(&mut dist(&fx, &["plan"]));
    assert!(!stderr(&out).contains("not acted on"), "{}", stderr(&out));
    assert_ne!(keys(&fx)["source.tar.gz"], plain_key);
    let full = built_source_tarball(&fx);
    let read = |p: &str| std::fs::read_to_string(full.join(p)).unwrap();
    assert_eq!(read("vendor/lib/data.txt"), "v1\n");
    assert_eq!(read("vendor/lib/deps/inner/inner.txt"), "inner v1\n");
    assert!(full.join("src/main.rs").is_file());

    git(
        fx.root(),
        &["submodule", "deinit", "-q", "-f", "vendor/lib"],
    );
    let store = fx.dir.path().join("fresh-store");
    let out = dist_command(fx.root(), &store, &["build", "--artifacts=all"])
        .env("GIT_CONFIG_GLOBAL", fx.dir.path().join("gitconfig"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("submodule vendor/lib is not checked out")
            && err.contains("git submodule update --init --recursive"),
        "{err}"
    );
}
