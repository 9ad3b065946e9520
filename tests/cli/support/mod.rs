//! Fixture builder shared by every test module: a throwaway workspace in `<tmp>/ws` and a store
//! in `<tmp>/store`, both inside one TempDir so nothing leaks into the user's cache.

#![allow(dead_code)]

pub mod proxy;
#[path = "../../../recipes/tests/installer_support/server.rs"]
mod server;
pub mod servers;
pub use server::{routes_of, Server};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-dist");

/// Every run reads the workspace both ways, from the manifests and from `cargo metadata`, and
/// fails if they disagree: each test's workspace is a case of the manifest reader.
pub const READER: &str = "check";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    /// `<dir>/ws`.
    ws: PathBuf,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("cargo-dist-cli-")
            .tempdir()
            .expect("create tempdir");
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).expect("create ws dir");
        Fixture { dir, ws }
    }

    /// The workspace root (`<tmp>/ws`): commands run here.
    pub fn root(&self) -> &Path {
        &self.ws
    }

    /// The store directory the commands use (`<tmp>/store`); not created by the fixture.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Writes `rel` (relative to the workspace root), creating parent directories.
    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        let path = self.root().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// A package in `dir` ("" or "." for the root): its Cargo.toml (`[package]` name, version,
    /// edition 2021, then `extra_toml`) and tiny real sources printing the name and version.
    pub fn package(
        &self,
        dir: &str,
        name: &str,
        version: &str,
        bins: &[&str],
        extra_toml: &str,
    ) -> &Self {
        let dir = dir.trim_matches('/');
        let at = |rel: &str| {
            if dir.is_empty() || dir == "." {
                rel.to_string()
            } else {
                format!("{dir}/{rel}")
            }
        };
        self.file(
            &at("Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n{extra_toml}\n"
            ),
        );
        let print_main = |what: &str| {
            format!(
                "fn main() {{\n    println!(\"{what} {{}}\", env!(\"CARGO_PKG_VERSION\"));\n}}\n"
            )
        };
        match bins {
            [] => {
                self.file(
                    &at("src/lib.rs"),
                    &format!(
                        "pub fn describe() -> String {{\n    format!(\"{name} {{}}\", env!(\"CARGO_PKG_VERSION\"))\n}}\n"
                    ),
                );
            }
            [_one] => {
                self.file(&at("src/main.rs"), &print_main(name));
            }
            many => {
                for b in many {
                    self.file(&at(&format!("src/bin/{b}.rs")), &print_main(b));
                }
            }
        }
        self
    }

    /// Runs `cargo-dist dist ARGS` in the workspace root.
    pub fn cmd(&self, args: &[&str]) -> Output {
        let mut all = vec!["dist"];
        all.extend_from_slice(args);
        self.cmd_raw(&all)
    }

    /// Runs `cargo-dist ARGS` (no `dist` word inserted) in the workspace root.
    pub fn cmd_raw(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(self.root())
            .env("CARGO_DIST_STORE", self.store())
            .env("CARGO_DIST_METADATA", READER)
            .env_remove("XDG_CACHE_HOME")
            .output()
            .expect("run cargo-dist")
    }

    /// Asserts exit 0 and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "`cargo dist {}` failed with {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
        );
        String::from_utf8(out.stdout).expect("stdout is utf-8")
    }

    /// Like [`Fixture::ok`], returning (stdout, stderr).
    pub fn ok_both(&self, args: &[&str]) -> (String, String) {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "`cargo dist {}` failed with {:?}\n--- stderr ---\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr),
        );
        (
            String::from_utf8(out.stdout).expect("stdout is utf-8"),
            String::from_utf8(out.stderr).expect("stderr is utf-8"),
        )
    }

    /// `ok` then parse stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{out}"))
    }

    /// Asserts the exit code and returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.cmd(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "`cargo dist {}`: expected exit {code}\n--- stderr ---\n{stderr}\n--- stdout ---\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
        );
        stderr
    }

    /// Every file under the workspace root (relative path -> contents).
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("read dir")
                .map(|e| e.expect("dir entry").path())
                .collect();
            entries.sort();
            for p in entries {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if p.is_dir() {
                    out.insert(format!("{rel}/"), Vec::new());
                    walk(base, &p, out);
                } else {
                    out.insert(rel, std::fs::read(&p).expect("read file"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.root(), self.root(), &mut out);
        out
    }
}

/// The `[workspace.metadata.dist]` body of the evil workspace.
pub const EVIL_DIST: &str = r#"targets = ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"]
installers = ["shell"]
"#;

pub const REPO: &str = "repository = \"https://github.com/example/evil\"";

/// The evil workspace's root Cargo.toml with `dist_body` as its `[workspace.metadata.dist]`.
pub fn evil_root_manifest(dist_body: &str) -> String {
    format!(
        r#"[workspace]
members = ["evil-workspace", "many-bin", "third-bin", "some-lib", "cdylib-only", "private-bin"]
resolver = "2"

[workspace.metadata.dist]
{dist_body}"#
    )
}

/// The workspace of cargo-dist's concepts guide: two version groups, a multi-binary App, a
/// library, a cdylib and an unpublished binary.
pub fn evil_workspace() -> Fixture {
    let fx = Fixture::new();
    fx.file("Cargo.toml", &evil_root_manifest(EVIL_DIST))
        .file("README.md", "# evil workspace\n")
        .file("LICENSE", "MIT License\n")
        .package(
            "evil-workspace",
            "evil-workspace",
            "0.5.0",
            &["evil-workspace"],
            REPO,
        )
        .package(
            "many-bin",
            "many-bin",
            "0.7.6",
            &["many-bin", "other-bin"],
            REPO,
        )
        .package("third-bin", "third-bin", "0.5.0", &["third-bin"], REPO)
        .package("some-lib", "some-lib", "0.2.0", &[], REPO)
        .package(
            "cdylib-only",
            "cdylib-only",
            "0.5.0",
            &[],
            &format!("{REPO}\n\n[lib]\ncrate-type = [\"cdylib\"]"),
        )
        .package(
            "private-bin",
            "private-bin",
            "0.5.0",
            &["private-bin"],
            &format!("{REPO}\npublish = false"),
        );
    fx
}

/// `stderr` without the line that says a workspace outside git is hashed by cargo's rule there
/// (the fixtures are not git repositories): the run summary the tests compare.
pub fn summary(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("warning: the workspace's sources are every file"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Replaces the 12-hex recipe-key prefixes of the human rendering (`[1e4bc51b548b missing]`)
/// with `KEY`.
pub fn filter_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let hex_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            .count();
        if hex_len == 12 && rest[12..].starts_with(' ') {
            out.push_str("KEY");
            rest = &rest[12..];
        }
    }
    out.push_str(rest);
    out
}

/// The artifact names of a manifest, sorted.
pub fn artifact_names(manifest: &serde_json::Value) -> Vec<String> {
    manifest["artifacts"]
        .as_object()
        .expect("artifacts is an object")
        .keys()
        .cloned()
        .collect()
}

/// Names of the releases of a manifest as `app version`.
pub fn release_names(manifest: &serde_json::Value) -> Vec<String> {
    manifest["releases"]
        .as_array()
        .expect("releases is an array")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["app_name"].as_str().unwrap(),
                r["app_version"].as_str().unwrap()
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Helpers of the build, store and installers tests: real builds of a one-binary app.

/// The host target triple, parsed from `rustc -vV`.
pub fn host_triple() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8(out.stdout)
        .expect("rustc -vV is utf-8")
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV prints a host line")
        .to_string()
}

/// A target triple that is not `host`, to configure a target this machine cannot build.
pub fn foreign_target(host: &str) -> &'static str {
    if host == "aarch64-apple-darwin" {
        "x86_64-pc-windows-msvc"
    } else {
        "aarch64-apple-darwin"
    }
}

/// The src/main.rs of [`dist_app`]: prints `greeting` and a newline.
pub fn app_main(greeting: &str) -> String {
    format!("fn main() {{\n    println!(\"{greeting}\");\n}}\n")
}

/// A one-binary workspace `name` 0.1.0 (no dependencies, its own Cargo.lock, a repository, and
/// README.md, LICENSE, CHANGELOG.md) whose binary prints `greeting`; `dist_body` is its
/// `[workspace.metadata.dist]`.
pub fn dist_app(name: &str, greeting: &str, dist_body: &str) -> Fixture {
    let fx = Fixture::new();
    fx.package(
        "",
        name,
        "0.1.0",
        &[name],
        &format!(
            "description = \"A test app\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/x\"\n\n[workspace]\n\n[workspace.metadata.dist]\n{dist_body}"
        ),
    )
    .file("src/main.rs", &app_main(greeting))
    .file("README.md", &format!("# {name}\n\nA test app.\n"))
    .file("LICENSE", "MIT License\n\nCopyright (c) the authors\n")
    .file("CHANGELOG.md", "# Changelog\n\n## 0.1.0\n\n- first\n")
    .file(
        "Cargo.lock",
        &format!(
            "# This file is automatically @generated by Cargo.\n# It is not intended for editing.\nversion = 4\n\n[[package]]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
        ),
    );
    fx
}

/// `cargo-dist dist ARGS` run in `root` with the store `store`, for tests that need other
/// directories or extra environment than [`Fixture::cmd`] gives.
pub fn dist_command(root: &Path, store: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("dist")
        .args(args)
        .current_dir(root)
        .env("CARGO_DIST_STORE", store)
        .env("CARGO_DIST_METADATA", READER)
        .env_remove("XDG_CACHE_HOME");
    cmd
}

/// Runs git in `dir` with a fixed identity and default branch, asserting success.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes the fixture a git repository with everything committed.
pub fn commit_all(fx: &Fixture) {
    git(fx.root(), &["init", "-q"]);
    git(fx.root(), &["add", "-A"]);
    git(fx.root(), &["commit", "-q", "-m", "fixture"]);
}

/// Runs `cmd`, asserts exit 0, returns its output.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn command");
    assert!(
        out.status.success(),
        "{cmd:?} failed with {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
    );
    out
}

/// Every file under `dir`, by relative path (directories as `path/` with no contents).
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let e = e.expect("walk dir");
        let rel = e
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if e.file_type().is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
        } else {
            out.insert(rel, std::fs::read(e.path()).expect("read file"));
        }
    }
    out
}

/// Copies the workspace at `from` to `to`, leaving out `target/`.
pub fn copy_workspace(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != "target")
    {
        let e = e.expect("walk workspace");
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("create dir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy file");
        }
    }
}

/// The cargo the tests really build with: `CARGO` (set by `cargo test`), else `cargo` on PATH.
pub fn real_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A fake `cargo` in `<dir>/fake-bin/`: `cargo metadata` (which cargo-dist needs to read the
/// workspace) goes to the real cargo; anything else (a build) writes its arguments to the
/// returned marker file and fails. Returns (script, marker).
pub fn fake_cargo(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).expect("create fake-bin");
    let marker = dir.join("fake-cargo-ran");
    let script = bin.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = metadata ]; then exec '{}' \"$@\"; fi\necho \"$@\" >> '{}'\nexit 101\n",
            real_cargo(),
            marker.display()
        ),
    )
    .expect("write fake cargo");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod fake cargo");
    (script, marker)
}

/// `cargo-dist dist build -o json` in `root` with `store`, where any cargo other than
/// `cargo metadata` fails the test: for builds that must come wholly from the store. `scratch`
/// holds the fake cargo. Returns the build's manifest.
pub fn build_without_cargo(scratch: &Path, root: &Path, store: &Path) -> serde_json::Value {
    let out = run_without_cargo(
        scratch,
        &mut dist_command(root, store, &["build", "-o", "json"]),
    );
    serde_json::from_slice(&out.stdout).expect("build prints its manifest")
}

/// Runs `cmd` (a build) with the fake cargo of [`fake_cargo`], made in `scratch`: asserts it
/// succeeds and ran no cargo but `cargo metadata`.
pub fn run_without_cargo(scratch: &Path, cmd: &mut Command) -> Output {
    let (fake, marker) = fake_cargo(scratch);
    use_fake_cargo(cmd, &fake);
    let out = run_ok(cmd);
    assert!(
        !marker.exists(),
        "the build ran cargo: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    out
}

/// Points `cmd` at the fake cargo of [`fake_cargo`]: first on PATH and as `CARGO`.
pub fn use_fake_cargo(cmd: &mut Command, script: &Path) {
    let bin = script.parent().unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap())
        .env("CARGO", script);
}

/// The `-o json` manifest of a build: artifact name -> (recipe.cached, recipe.blake3).
pub fn recipe_states(manifest: &serde_json::Value) -> BTreeMap<String, (bool, String)> {
    manifest["artifacts"]
        .as_object()
        .expect("artifacts is an object")
        .iter()
        .map(|(name, a)| {
            let r = &a["recipe"];
            (
                name.clone(),
                (
                    r["cached"]
                        .as_bool()
                        .unwrap_or_else(|| panic!("{name} has no recipe.cached: {a}")),
                    r["blake3"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

/// `store ls -o json` rows.
pub fn store_rows(fx: &Fixture) -> Vec<serde_json::Value> {
    fx.json(&["store", "ls", "-o", "json"])
        .as_array()
        .expect("store ls -o json is an array")
        .clone()
}

/// Unpacks `archive` into `dest` with the system tar and `flags` (e.g. `xJf`).
pub fn untar(archive: &Path, dest: &Path, flags: &[&str]) {
    std::fs::create_dir_all(dest).expect("create unpack dir");
    run_ok(
        Command::new("tar")
            .args(flags)
            .arg(archive)
            .arg("-C")
            .arg(dest),
    );
}

/// The files `build` wrote to `root`'s `target/distrib/`, by name (a release to serve).
pub fn distrib_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(root.join("target/distrib"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Runs `sha256sum -c FILE` in `dir`, asserting it passes.
pub fn sha256sum_check(dir: &Path, file: &str) -> String {
    let out = run_ok(
        Command::new("sha256sum")
            .arg("-c")
            .arg(file)
            .current_dir(dir),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An App configured for the host target only, so it builds here; returns it and the host.
pub fn host_app(name: &str, greeting: &str) -> (Fixture, String) {
    let host = host_triple();
    let fx = dist_app(name, greeting, &format!("targets = [\"{host}\"]\n"));
    (fx, host)
}

/// The name of `app`'s default (tar.xz) archive for `target`.
pub fn archive_name(app: &str, target: &str) -> String {
    format!("{app}-{target}.tar.xz")
}

/// This repository's own release files, as `cargo dist build` of it makes them: the archive of
/// the host target, its checksum and the shell installer, copied out of `target/distrib/`.
pub struct ToolRelease {
    /// The build's manifest.
    pub manifest: serde_json::Value,
    /// A directory holding only the release files.
    pub dir: PathBuf,
}

/// The tool's release, built once per test run (a dist-profile build of this repository:
/// minutes cold) and shared by every test that installs the tool. Its store lives in
/// `target/test-tool-store`, so a rerun with unchanged sources is cached.
pub fn tool_release() -> &'static ToolRelease {
    static RELEASE: std::sync::OnceLock<ToolRelease> = std::sync::OnceLock::new();
    RELEASE.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let store = repo.join("target/test-tool-store");
        let out = run_ok(&mut dist_command(repo, &store, &["build", "-o", "json"]));
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let archive = format!("cargo-dist-{}.tar.xz", host_triple());
        // Kept for the whole run: tests read from it after this returns.
        let dir = tempfile::Builder::new()
            .prefix("cargo-dist-tool-release-")
            .tempdir()
            .unwrap()
            .keep();
        for name in [
            archive.clone(),
            format!("{archive}.sha256"),
            "cargo-dist-installer.sh".to_string(),
        ] {
            assert!(
                manifest["artifacts"].get(&name).is_some(),
                "{name} not built: {manifest}"
            );
            std::fs::copy(repo.join("target/distrib").join(&name), dir.join(&name)).unwrap();
        }
        ToolRelease { manifest, dir }
    })
}

/// `compare A B -o json` in `fx`: each artifact's verdict, by name.
pub fn compare_verdicts(fx: &Fixture, a: &Path, b: &Path) -> BTreeMap<String, String> {
    let report = fx.json(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        "json",
    ]);
    report["artifacts"]
        .as_array()
        .expect("compare -o json lists artifacts")
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (field("name"), field("verdict"))
        })
        .collect()
}

/// Checks that the npm package `tarball` holds exactly what the manifest's `assets` of its
/// artifact list (paths below `package/`), the App's README, licence and changelog among them
/// with the workspace's bytes, as cargo-dist's npm package ships them.
pub fn npm_package_holds_its_assets(fx: &Fixture, tarball: &Path, manifest: &serde_json::Value) {
    let name = tarball.file_name().unwrap().to_string_lossy().into_owned();
    let listing = run_ok(Command::new("tar").arg("-tzf").arg(tarball));
    let mut held: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(|l| l.strip_prefix("package/").unwrap_or(l).to_string())
        .collect();
    held.sort();
    let assets = manifest["artifacts"][&name]["assets"]
        .as_array()
        .unwrap_or_else(|| panic!("no assets for {name}: {manifest}"));
    let mut listed: Vec<String> = assets
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    listed.dedup();
    assert_eq!(held, listed, "{name}");
    for (file, kind) in [
        ("README.md", "readme"),
        ("LICENSE", "license"),
        ("CHANGELOG.md", "changelog"),
    ] {
        assert!(
            assets
                .iter()
                .any(|a| a["path"] == file && a["kind"] == kind),
            "{name}: no {kind} {file} in {assets:?}"
        );
        let inside = run_ok(
            Command::new("tar")
                .arg("-xzOf")
                .arg(tarball)
                .arg(format!("package/{file}")),
        );
        assert_eq!(inside.stdout, std::fs::read(fx.root().join(file)).unwrap());
    }
}

/// The sha256 of the file at `path`, by the system's `sha256sum`.
pub fn sha256_hex(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
