//! Concurrency, as shared machines and caches meet it: two builds of one workspace at once on
//! one store and target dir, two workspaces on one store, and `store gc --max-size 1` looping
//! through a build. Each build succeeds with the bytes of a lone build, and `store verify`
//! finds nothing wrong afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::support::{copy_workspace, dist_command, host_app, read_tree, Fixture};

fn spawn(root: &Path, store: &Path, args: &[&str]) -> Child {
    dist_command(root, store, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cargo-dist")
}

fn finished(child: Child, what: &str) -> Output {
    let out = child.wait_with_output().expect("wait for cargo-dist");
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The release files of `root` (the manifest left out: it records paths and cache states).
fn release(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = read_tree(&root.join("target/distrib"));
    files.remove("dist-manifest.json");
    files
}

fn verify(root: &Path, store: &Path) {
    let out = dist_command(root, store, &["store", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "store verify after the runs: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bytes a lone build of `fx` gives, from a store of its own (in a copy of the workspace).
fn lone_build(fx: &Fixture) -> BTreeMap<String, Vec<u8>> {
    let lone = fx.dir.path().join("lone");
    copy_workspace(fx.root(), &lone);
    finished(
        spawn(
            &lone,
            &fx.dir.path().join("lone-store"),
            &["build", "--allow-dirty"],
        ),
        "the lone build",
    );
    release(&lone)
}

#[test]
fn two_builds_of_one_workspace_at_once_share_the_store_and_agree() {
    let (fx, _host) = host_app("conc-app", "hello");
    let store = fx.store();
    let a = spawn(fx.root(), &store, &["build", "--allow-dirty"]);
    let b = spawn(fx.root(), &store, &["build", "--allow-dirty"]);
    finished(a, "the first build");
    finished(b, "the second build");
    assert_eq!(release(fx.root()), lone_build(&fx));
    verify(fx.root(), &store);
}

#[test]
fn two_workspaces_build_on_one_store_at_once() {
    let (one, _) = host_app("conc-one", "one");
    let (two, _) = host_app("conc-two", "two");
    let store = one.dir.path().join("shared-store");
    let a = spawn(one.root(), &store, &["build", "--allow-dirty"]);
    let b = spawn(two.root(), &store, &["build", "--allow-dirty"]);
    finished(a, "workspace one");
    finished(b, "workspace two");
    assert_eq!(release(one.root()), lone_build(&one));
    assert_eq!(release(two.root()), lone_build(&two));
    verify(one.root(), &store);
}

#[test]
fn gc_looping_through_a_build_never_takes_what_it_uses() {
    let (fx, _host) = host_app("gc-app", "hello");
    let store = fx.store();
    // A first build fills the store; the second, with a changed source, runs while gc keeps
    // shrinking the store to nothing but what roots hold.
    finished(
        spawn(fx.root(), &store, &["build", "--allow-dirty"]),
        "the first build",
    );
    fx.file(
        "src/main.rs",
        "fn main() {\n    println!(\"hello again\");\n}\n",
    );
    let build = spawn(fx.root(), &store, &["build", "--allow-dirty"]);
    let mut gcs = 0;
    let mut build = Some(build);
    while let Some(mut child) = build.take() {
        if child.try_wait().unwrap().is_some() {
            finished(child, "the build under gc");
            break;
        }
        let gc = ["store", "gc", "--max-size", "1", "--allow-dirty"];
        let out = dist_command(fx.root(), &store, &gc).output().unwrap();
        assert!(
            out.status.success(),
            "store gc during a build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        gcs += 1;
        build = Some(child);
    }
    assert!(gcs > 0, "gc never ran during the build");
    assert_eq!(release(fx.root()), lone_build(&fx));
    verify(fx.root(), &store);
}

/// Builds `fx` in a mount namespace of its own (`unshare -Urm`, no root needed) with `mount` a
/// tmpfs of `size`: a build, `store verify` and a listing of the store's `tmp/`, then the tmpfs
/// remounted at 512 MiB, a build and `store verify` again; the release files are copied out
/// (the tmpfs goes with the namespace). Returns what the steps said, the first build's stderr
/// and the second build's release files.
fn on_a_small_tmpfs(
    fx: &Fixture,
    mount: &Path,
    size: &str,
    store: &Path,
) -> (String, String, BTreeMap<String, Vec<u8>>) {
    std::fs::create_dir_all(mount).unwrap();
    let script = r#"set -u
mount -t tmpfs -o "size=$SIZE" tmpfs "$MOUNT" || exit 90
"$BIN" dist build --allow-dirty > /dev/null 2> "$LOGS/full.err"; echo "build1=$?"
"$BIN" dist store verify > /dev/null; echo "verify1=$?"
echo "tmp=[$(ls -A "$CARGO_DIST_STORE/tmp" 2>/dev/null)]"
mount -o remount,size=512m "$MOUNT" || exit 91
"$BIN" dist build --allow-dirty > /dev/null 2> "$LOGS/again.err"; echo "build2=$?"
"$BIN" dist store verify > /dev/null; echo "verify2=$?"
cp -r target/distrib "$LOGS/distrib"
"#;
    let out = Command::new("unshare")
        .args(["-Urm", "sh", "-c", script])
        .current_dir(fx.root())
        .env("BIN", crate::support::BIN)
        // Outside the workspace, whose files are all sources here (no git).
        .env("LOGS", fx.dir.path())
        .env("MOUNT", mount)
        .env("SIZE", size)
        .env("CARGO_DIST_STORE", store)
        .env("CARGO_DIST_METADATA", crate::support::READER)
        .output()
        .expect("unshare (util-linux) is needed: .ci/run installs it");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = std::fs::read_to_string(fx.dir.path().join("full.err")).unwrap();
    let mut made = read_tree(&fx.dir.path().join("distrib"));
    made.remove("dist-manifest.json");
    (said, err, made)
}

/// The store on a small tmpfs that fills mid-build: the build fails with an error naming the
/// store's path and saying the disk is full, `store verify` finds no half-written object or row
/// and `tmp/` is empty; with the space back the next build succeeds with a lone build's bytes.
#[test]
fn a_full_store_fails_cleanly_and_the_next_build_succeeds() {
    let (fx, _host) = host_app("full-app", "hello");
    let store = fx.dir.path().join("small-store");
    let (said, err, made) = on_a_small_tmpfs(&fx, &store, "200k", &store);
    assert_eq!(
        said, "build1=1\nverify1=0\ntmp=[]\nbuild2=0\nverify2=0\n",
        "{err}"
    );
    assert!(
        err.contains("the file system holding the store is full")
            && err.contains(&store.display().to_string()),
        "{err}"
    );
    assert_eq!(made, lone_build(&fx));
}

/// The target directory (where cargo compiles, and the build sandboxes live) on a small tmpfs
/// that fills while cargo compiles: the build fails with an error naming that directory and
/// saying it is full, the store verifies with nothing in `tmp/`, and with the space back the
/// next build succeeds with a lone build's bytes.
#[test]
fn a_full_target_dir_fails_cleanly_and_the_next_build_succeeds() {
    let (fx, _host) = host_app("full-target", "hello");
    let target = fx.root().join("target");
    let store = fx.dir.path().join("store-here");
    let (said, err, made) = on_a_small_tmpfs(&fx, &target, "300k", &store);
    assert_eq!(
        said, "build1=1\nverify1=0\ntmp=[]\nbuild2=0\nverify2=0\n",
        "{err}"
    );
    assert!(
        err.contains("is full") && err.contains(&target.display().to_string()),
        "{err}"
    );
    assert_eq!(made, lone_build(&fx));
}
