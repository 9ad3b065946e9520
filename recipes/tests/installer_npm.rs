//! The npm package, installed with the real npm and run through its bin shim against a local
//! server.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use dist_recipes::archive::ArchiveFormat;
use dist_recipes::installer::{npm_package_files, write_npm_package, InstallerApp};
use installer_support::*;

struct Fixture {
    dir: tempfile::TempDir,
    app: InstallerApp,
    archive: PathBuf,
}

fn fixture(format: ArchiveFormat) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (artifact, archive) =
        build_archive(dir.path(), &host_target(), &["my-app", "my-helper"], format);
    let app = app_with(&["my-app", "my-helper"], vec![artifact]);
    Fixture { dir, app, archive }
}

/// Writes the package tarball and installs it globally into a fresh prefix, offline.
fn npm_install(fx: &Fixture, name: &str) -> PathBuf {
    let npm = require_tool("npm");
    require_tool("node");
    let tarball = fx.dir.path().join(format!("{name}-npm-package.tar.gz"));
    write_npm_package(&fx.app, "my-app", true, &Default::default(), &tarball).unwrap();
    let prefix = fx.dir.path().join(format!("prefix-{name}"));
    let home = fx.dir.path().join(format!("npm-home-{name}"));
    std::fs::create_dir_all(&home).unwrap();
    let out = clean_command(npm, &home)
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
        .env(
            "npm_config_cache",
            fx.dir.path().join(format!("npm-cache-{name}")),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "npm install: {}", describe(&out));
    prefix
}

fn run_shim(prefix: &Path, bin: &str, server: &Server, args: &[&str]) -> Output {
    clean_command(prefix.join("bin").join(bin), prefix)
        .env("MY_APP_DOWNLOAD_URL", server.base_url())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn installed_package_downloads_verifies_and_runs_the_binary() {
    let fx = fixture(ArchiveFormat::TarXz);
    let prefix = npm_install(&fx, "ok");
    // The base URL redirects, as GitHub release downloads do.
    let mut routes = BTreeMap::new();
    let file = fx
        .archive
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    routes.insert(
        format!("/releases/{file}"),
        Reply::Redirect(format!("/real/{file}")),
    );
    routes.insert(
        format!("/real/{file}"),
        Reply::File(std::fs::read(&fx.archive).unwrap()),
    );
    let server = Server::start(routes, 2);
    let shim = |bin: &str, args: &[&str]| {
        clean_command(prefix.join("bin").join(bin), &prefix)
            .env(
                "MY_APP_DOWNLOAD_URL",
                format!("{}/releases/", server.base_url()),
            )
            .args(args)
            .output()
            .unwrap()
    };

    let out = shim("my-app", &["--version"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "my-app 1.2.0 --version\n"
    );
    assert_eq!(server.request_count(), 2, "one redirect, one download");

    // Later runs, of any binary of the package, reuse the unpacked archive.
    let out = shim("my-helper", &["a b", "c"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "my-helper 1.2.0 a b c\n",
        "{}",
        describe(&out)
    );
    let out = shim("my-app", &["--exit", "7"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "exit code forwarded: {}",
        describe(&out)
    );
    assert_eq!(server.request_count(), 2);
}

/// `install.js` gets the host's archive ahead of time (no install script runs it: the user, a
/// Dockerfile or a CI step does); the commands then run with no server at all.
#[test]
fn install_js_gets_the_binary_ahead_of_the_first_run() {
    let fx = fixture(ArchiveFormat::TarGz);
    let prefix = npm_install(&fx, "ahead");
    let pkg = prefix.join("lib/node_modules/my-app");
    let server = Server::start(serve_dir(fx.archive.parent().unwrap()), 1);
    let out = clean_command(require_tool("node"), &prefix)
        .arg(pkg.join("install.js"))
        .env("MY_APP_DOWNLOAD_URL", server.base_url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("my-app 1.2.0: installed in"),
        "{}",
        describe(&out)
    );
    assert_eq!(server.request_count(), 1);
    drop(server);
    let out = clean_command(prefix.join("bin/my-helper"), &prefix)
        .env("MY_APP_DOWNLOAD_URL", "http://127.0.0.1:9/unreachable")
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "my-helper 1.2.0 x\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn tampered_archive_is_refused() {
    let fx = fixture(ArchiveFormat::TarGz);
    let prefix = npm_install(&fx, "tampered");
    let mut bytes = std::fs::read(&fx.archive).unwrap();
    bytes[10] ^= 0x55;
    std::fs::write(&fx.archive, bytes).unwrap();
    let server = Server::start(serve_dir(fx.archive.parent().unwrap()), 1);
    let out = run_shim(&prefix, "my-app", &server, &["--version"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty());
    let pkg = prefix.join("lib/node_modules/my-app");
    assert!(!pkg.join("dist").exists(), "nothing may be unpacked");
}

#[test]
fn missing_download_reports_the_url() {
    let fx = fixture(ArchiveFormat::TarGz);
    let prefix = npm_install(&fx, "404");
    let server = Server::start(BTreeMap::new(), 1);
    let out = run_shim(&prefix, "my-app", &server, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 404") && stderr.contains("127.0.0.1"),
        "{stderr}"
    );
}

#[test]
fn package_layout_and_determinism() {
    let fx = fixture(ArchiveFormat::TarGz);
    let files = npm_package_files(&fx.app, "@my-org/my-app", true, &Default::default()).unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            ".gitignore",
            "binary-install.js",
            "binary.js",
            "install.js",
            "npm-shrinkwrap.json",
            "package.json",
            "run-my-app.js",
            "run-my-helper.js",
        ]
    );
    assert!(files["run-my-app.js"].1 && files["install.js"].1 && !files["binary.js"].1);
    let pkg: serde_json::Value = serde_json::from_slice(&files["package.json"].0).unwrap();
    assert_eq!(pkg["name"], "@my-org/my-app");
    assert_eq!(pkg["version"], "1.2.0");
    // The shrinkwrap names the package alone: the download style has no dependencies.
    let lock: serde_json::Value = serde_json::from_slice(&files["npm-shrinkwrap.json"].0).unwrap();
    assert_eq!(lock["name"], "@my-org/my-app");
    assert_eq!(lock["packages"].as_object().unwrap().len(), 1, "{lock}");
    assert_eq!(lock["packages"][""]["bin"], pkg["bin"]);
    assert_eq!(pkg["bin"]["my-helper"], "run-my-helper.js");
    assert_eq!(pkg["license"], "MIT OR Apache-2.0");
    assert!(pkg.get("dependencies").is_none());
    // The artifact table is rendered into binary.js.
    let binary = String::from_utf8(files["binary.js"].0.clone()).unwrap();
    let table = &binary[binary.find("const manifest = ").unwrap() + 17..];
    let table = &table[..table.find("};\n").unwrap() + 1];
    let manifest: serde_json::Value = serde_json::from_str(table).unwrap();
    assert_eq!(manifest["env_prefix"], "MY_APP");
    assert_eq!(
        manifest["artifacts"][0]["sha256"],
        fx.app.artifacts[0].sha256.clone().unwrap()
    );

    let a = fx.dir.path().join("a.tar.gz");
    let b = fx.dir.path().join("b.tar.gz");
    write_npm_package(&fx.app, "my-app", true, &Default::default(), &a).unwrap();
    write_npm_package(&fx.app, "my-app", true, &Default::default(), &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&a).unwrap());
    let mut modes = BTreeMap::new();
    for entry in tar::Archive::new(gz).entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        modes.insert(path, entry.header().mode().unwrap());
    }
    assert!(modes.contains_key("package/package.json"), "{modes:?}");
    assert!(modes.keys().all(|p| p.starts_with("package/")), "{modes:?}");
    assert_eq!(modes["package/run-my-app.js"], 0o755);
    assert_eq!(modes["package/binary.js"], 0o644);
    // One command: its entry point is run.js, as in cargo-dist's package.
    let mut one = fixture(ArchiveFormat::TarGz);
    one.app.binaries.truncate(1);
    let files = npm_package_files(&one.app, "my-app", true, &Default::default()).unwrap();
    let pkg: serde_json::Value = serde_json::from_slice(&files["package.json"].0).unwrap();
    assert_eq!(pkg["bin"], serde_json::json!({"my-app": "run.js"}));
    assert!(files.contains_key("run.js") && !files.contains_key("run-my-app.js"));

    for bad in ["My-App", "@scope", "@/x", ".hidden", "a b"] {
        assert!(
            npm_package_files(&fx.app, bad, true, &Default::default()).is_err(),
            "{bad} accepted"
        );
    }
}

#[test]
fn aliases_get_their_own_bin_entries() {
    let mut fx = fixture(ArchiveFormat::TarGz);
    fx.app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["ma".into()])]);
    let files = npm_package_files(&fx.app, "my-app", true, &Default::default()).unwrap();
    let pkg: serde_json::Value = serde_json::from_slice(&files["package.json"].0).unwrap();
    assert_eq!(pkg["bin"]["ma"], "run-ma.js");
    let launcher = String::from_utf8(files["run-ma.js"].0.clone()).unwrap();
    assert!(
        launcher.contains("require('./binary.js').run(\"my-app\")"),
        "{launcher}"
    );
}

/// The `packages` style's main package: one optional dependency per target Node runs on, named
/// by the triple, the launcher's table agreeing with it, and no install-time anything.
#[test]
fn packages_style_main_package_lists_a_package_per_target() {
    let fx = fixture(ArchiveFormat::TarGz);
    let files = dist_recipes::installer::npm_main_package_files(
        &fx.app,
        "@my-org/my-app",
        true,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "bin/my-app.js",
            "bin/my-helper.js",
            "host.js",
            "launch.js",
            "npm-shrinkwrap.json",
            "package.json",
            "platforms.json"
        ]
    );
    let pkg: serde_json::Value = serde_json::from_slice(&files["package.json"].0).unwrap();
    let platforms: serde_json::Value = serde_json::from_slice(&files["platforms.json"].0).unwrap();
    let targets: Vec<&str> = fx.app.artifacts.iter().map(|a| a.target.as_str()).collect();
    assert!(!targets.is_empty());
    for t in &targets {
        let name = format!("@my-org/my-app-{t}");
        assert_eq!(pkg["optionalDependencies"][&name], "1.2.0", "{pkg}");
        assert_eq!(platforms["packages"][t], name.as_str(), "{platforms}");
    }
    assert_eq!(
        pkg["optionalDependencies"].as_object().unwrap().len(),
        targets.len()
    );
    assert!(pkg.get("scripts").is_none() && pkg.get("dependencies").is_none());
    // The shrinkwrap locks each platform package at the release's version, for its platform.
    let lock: serde_json::Value = serde_json::from_slice(&files["npm-shrinkwrap.json"].0).unwrap();
    assert_eq!(lock["lockfileVersion"], 3);
    assert_eq!(
        lock["packages"][""]["optionalDependencies"],
        pkg["optionalDependencies"]
    );
    assert_eq!(lock["packages"][""]["bin"], pkg["bin"]);
    for t in &targets {
        let entry = &lock["packages"][format!("node_modules/@my-org/my-app-{t}")];
        assert_eq!(entry["version"], "1.2.0", "{lock}");
        assert_eq!(entry["optional"], true, "{lock}");
        assert!(
            entry["os"].as_array().is_some_and(|o| o.len() == 1),
            "{lock}"
        );
    }
    let without = dist_recipes::installer::npm_main_package_files(
        &fx.app,
        "@my-org/my-app",
        false,
        &Default::default(),
    )
    .unwrap();
    assert!(!without.contains_key("npm-shrinkwrap.json"));
    let entry = String::from_utf8(files["bin/my-helper.js"].0.clone()).unwrap();
    assert!(
        entry.contains("require('../launch.js')(\"my-helper\")"),
        "{entry}"
    );
}

/// What the manifest lists an npm package holds ([`generated_files`] and the App's files) is
/// what both styles write; the App's files are shipped as given, named in `files`, and may not
/// replace a file the package writes.
#[test]
fn both_styles_hold_the_files_they_list_and_the_apps_own() {
    use dist_recipes::installer::{generated_files, npm_main_package_files, InstallerKind};
    let mut fx = fixture(ArchiveFormat::TarGz);
    fx.app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["ma".into()])]);
    let commands: Vec<String> = ["my-app", "my-helper", "ma"].map(String::from).to_vec();
    let docs = dist_recipes::installer::Docs::from([
        ("README.md".to_string(), b"# my-app\n".to_vec()),
        ("docs/guide.md".to_string(), b"guide\n".to_vec()),
    ]);
    for (kind, shrinkwrap) in [
        (InstallerKind::Npm, true),
        (InstallerKind::Npm, false),
        (InstallerKind::NpmPackages, true),
    ] {
        let files = match kind {
            InstallerKind::Npm => npm_package_files(&fx.app, "my-app", shrinkwrap, &docs),
            _ => npm_main_package_files(&fx.app, "my-app", shrinkwrap, &docs),
        }
        .unwrap();
        let mut listed = generated_files(kind, &commands, shrinkwrap);
        listed.extend(docs.keys().cloned());
        listed.sort();
        assert_eq!(
            files.keys().cloned().collect::<Vec<_>>(),
            listed,
            "{kind:?}"
        );
        assert_eq!(files["docs/guide.md"], (b"guide\n".to_vec(), false));
        let pkg: serde_json::Value = serde_json::from_slice(&files["package.json"].0).unwrap();
        let field: Vec<&str> = pkg["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let entries = match kind {
            InstallerKind::Npm => "run-ma.js",
            _ => "bin",
        };
        assert!(
            field.contains(&"README.md")
                && field.contains(&"docs/guide.md")
                && field.contains(&entries),
            "{field:?}"
        );
    }
    assert!(generated_files(InstallerKind::Shell, &commands, true).is_empty());
    for clash in ["package.json", "binary.js", "run-ma.js", "bin/x"] {
        let docs = dist_recipes::installer::Docs::from([(clash.to_string(), b"x".to_vec())]);
        let err = npm_package_files(&fx.app, "my-app", true, &docs)
            .unwrap_err()
            .to_string();
        assert!(err.contains(clash) && err.contains("include"), "{err}");
    }
}
