//! Installers end to end: `build --artifacts=all` of a real app, then the shell installer under
//! dash, the npm package under the real npm and the Homebrew formula under ruby, downloading from
//! a local HTTP server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{
    dist_app, host_triple, npm_package_holds_its_assets, routes_of, sha256sum_check, Fixture,
    Server,
};

const APP: &str = "inst-app";
const ENV_PREFIX: &str = "INST_APP";
const HELLO: &str = "hello from inst-app";

/// PATH for the tools under test: system dirs only, so no test HOME or cargo is on it.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const WINDOWS: &str = "x86_64-pc-windows-msvc";

fn dist_body(targets: &[&str]) -> String {
    let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        "targets = [{}]\ninstallers = [\"shell\", \"npm\", \"homebrew\", \"powershell\"]\n",
        targets.join(", ")
    )
}

/// The app with every installer, configured for the host and Windows (the PowerShell installer
/// is planned only with a Windows target), built with `--artifacts=all --target=<host>`: the
/// host archive and every installer.
fn built() -> (Fixture, String, Value) {
    let host = host_triple();
    let fx = dist_app(APP, HELLO, &dist_body(&[&host, WINDOWS]));
    let target = format!("--target={host}");
    let manifest = fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    (fx, host, manifest)
}

fn distrib(fx: &Fixture) -> PathBuf {
    fx.root().join("target/distrib")
}

fn archive_name(host: &str) -> String {
    format!("{APP}-{host}.tar.xz")
}

/// Every file of `dir` by name.
fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// `program` with only PATH (system dirs), HOME and LC_ALL set.
fn clean(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", home)
        .env("LC_ALL", "C");
    cmd
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mkdir(p: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn all_artifacts_build_the_four_installers() {
    // Host only: no Windows target, so no PowerShell installer.
    let host = host_triple();
    let fx = dist_app(APP, HELLO, &dist_body(&[&host]));
    let manifest = fx.json(&["build", "--artifacts=all", "-o", "json"]);
    let names: Vec<String> = manifest["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for name in [
        format!("{APP}-installer.sh"),
        format!("{APP}-npm-package.tar.gz"),
        format!("{APP}.rb"),
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
        assert!(distrib(&fx).join(&name).is_file(), "{name} was not built");
    }
    if !host.contains("windows") {
        assert!(
            !names.contains(&format!("{APP}-installer.ps1")),
            "a PowerShell installer without a Windows target: {names:?}"
        );
    }

    // With a Windows target configured, all four.
    fx.file(
        "Cargo.toml",
        &std::fs::read_to_string(fx.root().join("Cargo.toml"))
            .unwrap()
            .replace(&dist_body(&[&host]), &dist_body(&[&host, WINDOWS])),
    );
    let target = format!("--target={host}");
    let manifest = fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    let dir = distrib(&fx);
    let ps1 = std::fs::read_to_string(dir.join(format!("{APP}-installer.ps1"))).unwrap();
    assert!(
        ps1.contains(&format!("{APP}-{WINDOWS}.zip")),
        "the PowerShell installer does not fetch the Windows zip"
    );
    let archive = archive_name(&host);
    for name in [
        format!("{APP}-installer.sh"),
        format!("{APP}-installer.ps1"),
        format!("{APP}-npm-package.tar.gz"),
        format!("{APP}.rb"),
        archive.clone(),
        format!("{archive}.sha256"),
        "sha256.sum".to_string(),
    ] {
        assert!(dir.join(&name).is_file(), "{name} was not built");
        assert!(
            manifest["artifacts"].get(&name).is_some(),
            "{name} is not in the manifest"
        );
    }
    assert_eq!(
        manifest["artifacts"][format!("{APP}-installer.sh")]["kind"],
        "installer"
    );
    sha256sum_check(&dir, "sha256.sum");
    // The installers embed the archive's checksum.
    let sha = manifest["artifacts"][&archive]["checksums"]["sha256"]
        .as_str()
        .unwrap();
    let shell = std::fs::read_to_string(dir.join(format!("{APP}-installer.sh"))).unwrap();
    assert!(shell.contains(sha), "the shell installer lacks {sha}");
}

#[test]
fn shell_installer_under_dash_installs_the_app_and_refuses_a_tampered_archive() {
    let (fx, host, _manifest) = built();
    let dir = distrib(&fx);
    let archive = archive_name(&host);
    let script = dir.join(format!("{APP}-installer.sh"));
    let run = |server: &Server, name: &str| -> (Output, PathBuf, PathBuf) {
        let home = mkdir(fx.dir.path().join(format!("home-{name}")));
        let install = fx.dir.path().join(format!("install-{name}"));
        let out = clean("dash", &home)
            .arg(&script)
            .env(format!("{ENV_PREFIX}_DOWNLOAD_URL"), server.base_url())
            .env(format!("{ENV_PREFIX}_NO_MODIFY_PATH"), "1")
            .env(format!("{ENV_PREFIX}_INSTALL_DIR"), &install)
            .output()
            .expect("run dash");
        (out, home, install)
    };

    let server = Server::start(routes_of(files_of(&dir)), 8);
    let (out, home, install) = run(&server, "ok");
    assert!(out.status.success(), "installer failed: {}", describe(&out));
    assert!(
        server.requests().contains(&format!("/{archive}")),
        "the installer did not download {archive}: {:?}",
        server.requests()
    );
    let bin = install.join("bin").join(APP);
    let ran = Command::new(&bin).output().expect("run the installed app");
    assert!(ran.status.success(), "{}", describe(&ran));
    assert_eq!(String::from_utf8_lossy(&ran.stdout), format!("{HELLO}\n"));
    assert!(
        !home.join(".profile").exists(),
        "NO_MODIFY_PATH=1 but .profile was written"
    );
    assert!(
        !home.join(".cargo").exists(),
        "installed into the default dir"
    );

    // The same installer against a tampered archive.
    let mut files = files_of(&dir);
    let bytes = files.get_mut(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let server = Server::start(routes_of(files), 8);
    let (out, home, install) = run(&server, "tampered");
    assert!(
        !out.status.success(),
        "installer accepted a tampered archive: {}",
        describe(&out)
    );
    assert!(
        server.requests().contains(&format!("/{archive}")),
        "the tampered archive was never requested: {:?}",
        server.requests()
    );
    assert!(
        !install.join("bin").join(APP).exists(),
        "the tampered binary was installed"
    );
    assert!(!home.join(".cargo").exists());
}

#[test]
fn homebrew_formula_is_valid_ruby_with_the_archive_sha256() {
    let (fx, host, manifest) = built();
    let archive = archive_name(&host);
    let formula = distrib(&fx).join(format!("{APP}.rb"));
    let out = Command::new("ruby")
        .arg("-c")
        .arg(&formula)
        .output()
        .expect("run ruby -c");
    assert!(out.status.success(), "ruby -c: {}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Syntax OK"));

    let text = std::fs::read_to_string(&formula).unwrap();
    let sha = manifest["artifacts"][&archive]["checksums"]["sha256"]
        .as_str()
        .unwrap();
    let shas: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("sha256 \""))
        .map(|s| s.trim_end_matches('"'))
        .collect();
    assert_eq!(shas, vec![sha], "formula sha256 lines:\n{text}");
    let urls: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("url \""))
        .collect();
    assert!(
        urls.iter().any(|u| u.contains(&archive)),
        "no url names {archive}:\n{text}"
    );
    assert!(
        text.contains("class InstApp < Formula"),
        "formula class:\n{text}"
    );
}

#[test]
fn npm_package_installs_and_its_shim_downloads_and_runs_the_app() {
    let (fx, host, manifest) = built();
    let dir = distrib(&fx);
    let archive = archive_name(&host);
    let tarball = dir.join(format!("{APP}-npm-package.tar.gz"));
    npm_package_holds_its_assets(&fx, &tarball, &manifest);
    let prefix = fx.dir.path().join("npm-prefix");
    let home = mkdir(fx.dir.path().join("npm-home"));
    let out = clean("npm", &home)
        .args([
            "install",
            "-g",
            "--offline",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(&tarball)
        .env("npm_config_cache", fx.dir.path().join("npm-cache"))
        .output()
        .expect("run npm");
    assert!(out.status.success(), "npm install: {}", describe(&out));
    let shim = prefix.join("bin").join(APP);
    assert!(shim.exists(), "npm did not install a {APP} shim");

    let server = Server::start(routes_of(files_of(&dir)), 8);
    let out = clean(&shim, &home)
        .env(format!("{ENV_PREFIX}_DOWNLOAD_URL"), server.base_url())
        .output()
        .expect("run the npm shim");
    assert!(out.status.success(), "shim: {}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{HELLO}\n"));
    assert!(
        server.requests().contains(&format!("/{archive}")),
        "{:?}",
        server.requests()
    );
}

/// A workspace-wide `bin-aliases` naming one member's binary (as real projects write it) gives that
/// member's installer the alias and leaves the other member's installer without it.
#[test]
fn workspace_bin_aliases_apply_to_the_app_that_has_the_binary() {
    let host = host_triple();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\ninstallers = [\"shell\"]\nbin-aliases = {{ app-a = [\"aa\"] }}\n"
        ),
    )
    .package("a", "app-a", "0.1.0", &["app-a"], "repository = \"https://github.com/example/x\"")
    .package("b", "app-b", "0.1.0", &["app-b"], "repository = \"https://github.com/example/x\"");
    fx.file(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"app-a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"app-b\"\nversion = \"0.1.0\"\n",
    );
    let target = format!("--target={host}");
    fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    let dir = distrib(&fx);
    let a = std::fs::read_to_string(dir.join("app-a-installer.sh")).unwrap();
    let b = std::fs::read_to_string(dir.join("app-b-installer.sh")).unwrap();
    assert!(a.contains("linked $INSTALL_DIR/aa$exe to app-a$exe"), "{a}");
    assert!(
        !b.contains("aa$exe"),
        "app-b's installer links the alias:\n{b}"
    );
}

/// Hostile names and paths: a binary name with a space and `$(...)` is refused at plan time,
/// naming it; a workspace whose path holds spaces, quotes, `$(...)`, a newline and non-ASCII
/// builds, and its shell installer installs into such a directory under dash, running nothing
/// it should not (no `pwned` file appears anywhere).
#[test]
fn hostile_names_are_refused_and_hostile_paths_carried_safely() {
    let host = host_triple();
    let fx = dist_app(APP, HELLO, &dist_body(&[&host]));
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &manifest.replacen(
            "[workspace]",
            "[[bin]]\nname = \"a b$(touch pwned)\"\npath = \"src/main.rs\"\n\n[workspace]",
            1,
        ),
    );
    let err = fx.fails(&["plan"], 1);
    assert!(
        err.contains("binary \"a b$(touch pwned)\" of package inst-app cannot be shipped"),
        "{err}"
    );
    fx.file("Cargo.toml", &manifest);

    let odd = "dir with space 'q' \"dq\" $(touch pwned) `touch pwned` ünï\nline";
    let root = fx.dir.path().join(odd).join("ws");
    crate::support::copy_workspace(fx.root(), &root);
    let target = format!("--target={host}");
    let mut cmd = crate::support::dist_command(
        &root,
        &fx.dir.path().join(odd).join("store"),
        &["build", "--artifacts=all", &target],
    );
    crate::support::run_ok(&mut cmd);
    let dir = root.join("target/distrib");
    let script = dir.join(format!("{APP}-installer.sh"));
    let home = mkdir(fx.dir.path().join(odd).join("home"));
    let install = fx.dir.path().join(odd).join("install here");
    let server = Server::start(routes_of(files_of(&dir)), 4);
    let out = clean("dash", &home)
        .arg(&script)
        .current_dir(fx.dir.path().join(odd))
        .env(format!("{ENV_PREFIX}_DOWNLOAD_URL"), server.base_url())
        .env(format!("{ENV_PREFIX}_NO_MODIFY_PATH"), "1")
        .env(format!("{ENV_PREFIX}_INSTALL_DIR"), &install)
        .output()
        .expect("run dash");
    assert!(out.status.success(), "{}", describe(&out));
    let ran = Command::new(install.join("bin").join(APP))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), format!("{HELLO}\n"));
    let pwned: Vec<_> = walkdir::WalkDir::new(fx.dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == "pwned")
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(pwned.is_empty(), "something ran: {pwned:?}");
}

/// `min-glibc-version` reaches the shell installer of a real build: a glibc build needing a
/// newer glibc than this host's is refused with both versions named; the value is part of the
/// installer's key, not the archive's; a value that is not a version is an error naming it.
#[test]
fn min_glibc_version_reaches_the_shell_installer() {
    let host = host_triple();
    let keys = |fx: &Fixture| -> BTreeMap<String, String> {
        let plan = fx.json(&["plan", "-o", "json"]);
        plan["artifacts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, a)| (n.clone(), a["recipe"]["key"].as_str().unwrap_or("").into()))
            .collect()
    };
    let body = |need: &str| {
        format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\nmin-glibc-version = {{ \"*\" = \"{need}\" }}\n")
    };
    let fx = dist_app(APP, HELLO, &body("99.0"));
    let before = keys(&fx);
    fx.ok(&["build", "--artifacts=all"]);
    let dir = distrib(&fx);
    let script = dir.join(format!("{APP}-installer.sh"));
    assert!(std::fs::read_to_string(&script)
        .unwrap()
        .contains("ART_MIN_GLIBC='99.0'"));
    let server = Server::start(routes_of(files_of(&dir)), 4);
    let home = mkdir(fx.dir.path().join("home"));
    let out = clean("dash", &home)
        .arg(&script)
        .env(format!("{ENV_PREFIX}_DOWNLOAD_URL"), server.base_url())
        .env(format!("{ENV_PREFIX}_NO_MODIFY_PATH"), "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("the {host} build needs glibc 99.0 or newer")),
        "{said}"
    );
    assert!(!home.join(".cargo").exists());

    let manifest = fx.root().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"99.0\"", "\"2.17\"")).unwrap();
    let after = keys(&fx);
    let archive = format!("{APP}-{host}.tar.xz");
    assert_eq!(after[&archive], before[&archive]);
    let installer = format!("{APP}-installer.sh");
    assert_ne!(after[&installer], before[&installer]);

    std::fs::write(&manifest, text.replace("\"99.0\"", "\"two\"")).unwrap();
    let err = fx.fails(&["plan"], 1);
    assert!(
        err.contains("`min-glibc-version` has the string \"two\" for \"*\"")
            && err.contains("\"2.17\""),
        "{err}"
    );
}

/// `hosting = ["simple", ...]` with `simple-download-url`: the shell installer downloads from
/// that URL (the tag filled in) with no override, as a user runs it, and installs the App; the
/// manifest's `hosting.simple` names it, in cargo-dist's schema; with `github` first, the
/// installers keep GitHub's URL; `simple` without a URL is an error naming the key.
#[test]
fn simple_hosting_serves_the_installers_from_its_url() {
    let host = host_triple();
    let body = |hosting: &str, url: &str| {
        format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\nhosting = {hosting}\n{url}")
    };
    // The server's port must be in the config before the build: reserve one, then serve.
    let port = crate::support::servers::free_port();
    let url = format!("simple-download-url = \"http://127.0.0.1:{port}/{{tag}}/\"\n");
    let fx = dist_app(APP, HELLO, &body("[\"simple\", \"github\"]", &url));
    let out = fx.ok(&["build", "--artifacts=all", "--tag", "v0.1.0", "-o", "json"]);
    let _: cargo_dist_schema::DistManifest = serde_json::from_str(&out).unwrap();
    let manifest: Value = serde_json::from_str(&out).unwrap();
    let hosting = &manifest["releases"][0]["hosting"];
    let want = format!("http://127.0.0.1:{port}/v0.1.0");
    assert_eq!(
        hosting["simple"]["download_url"],
        want.as_str(),
        "{hosting}"
    );
    assert_eq!(hosting["order"], serde_json::json!(["simple", "github"]));
    assert_eq!(hosting["github"]["repo"], "x");

    let files: BTreeMap<String, Vec<u8>> = files_of(&distrib(&fx))
        .into_iter()
        .map(|(name, bytes)| (format!("v0.1.0/{name}"), bytes))
        .collect();
    let server = Server::start_on(port, routes_of(files), 4);
    let home = mkdir(fx.dir.path().join("home"));
    let script = distrib(&fx).join(format!("{APP}-installer.sh"));
    let out = clean("dash", &home)
        .arg(&script)
        .env(format!("{ENV_PREFIX}_NO_MODIFY_PATH"), "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let archive = format!("/v0.1.0/{APP}-{host}.tar.xz");
    assert!(
        server.requests().contains(&archive),
        "{:?}",
        server.requests()
    );
    let ran = Command::new(home.join(".cargo/bin").join(APP))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), format!("{HELLO}\n"));

    let fx = dist_app(APP, HELLO, &body("[\"github\", \"simple\"]", &url));
    fx.ok(&["build", "--artifacts=all", "--tag", "v0.1.0"]);
    let text = std::fs::read_to_string(distrib(&fx).join(format!("{APP}-installer.sh"))).unwrap();
    assert!(text.contains("https://github.com/example/x/releases/download/v0.1.0"));
    assert!(!text.contains(&want));

    let fx = dist_app(APP, HELLO, &body("\"simple\"", ""));
    let err = fx.fails(&["plan"], 1);
    assert!(err.contains("`simple-download-url` is not set"), "{err}");
}
