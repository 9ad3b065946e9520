//! `npm-installer-style = "packages"` end to end: a package per target holding its binaries and
//! a main package listing them as optional dependencies, built from a real cargo build,
//! published with the real npm to a registry on 127.0.0.1, installed from it with npm and with
//! pnpm (each with its default settings: no install scripts to allow) and from the local
//! tarballs, and run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::servers::NpmRegistry;
use crate::support::{dist_app, host_triple, npm_package_holds_its_assets, run_ok, Fixture};

const APP: &str = "npm-app";
const SCOPE: &str = "@acme";
const HELLO: &str = "hello from npm-app";
const OTHERS: &[&str] = &["aarch64-apple-darwin", "x86_64-pc-windows-msvc"];
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The App planned for the host and two targets this machine cannot build, built for the host.
fn built() -> (Fixture, PathBuf) {
    let host = host_triple();
    let targets: Vec<String> = [host.as_str()]
        .iter()
        .chain(OTHERS)
        .map(|t| format!("\"{t}\""))
        .collect();
    let fx = dist_app(
        APP,
        HELLO,
        &format!(
            "targets = [{}]\ninstallers = [\"npm\"]\nnpm-installer-style = \"packages\"\nnpm-scope = \"{SCOPE}\"\n",
            targets.join(", ")
        ),
    );
    fx.json(&[
        "build",
        "--artifacts=all",
        &format!("--target={host}"),
        "-o",
        "json",
    ]);
    let distrib = fx.root().join("target/distrib");
    (fx, distrib)
}

/// A JavaScript package manager with a HOME, cache and config of its own, on system PATH.
fn tool(program: &str, home: &Path) -> Command {
    let path = which(program);
    let mut cmd = Command::new(path);
    cmd.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", home)
        .env("npm_config_cache", home.join("npm-cache"))
        .env("npm_config_store_dir", home.join("pnpm-store"))
        .env("NPM_CONFIG_USERCONFIG", home.join(".npmrc"));
    cmd
}

fn which(program: &str) -> PathBuf {
    SYSTEM_PATH
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed (`.ci/run` installs it)"))
}

fn package_json(tarball: &Path) -> Value {
    let out = run_ok(
        Command::new("tar")
            .arg("-xzOf")
            .arg(tarball)
            .arg("package/package.json"),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A fresh project directory with an empty package.json.
fn project(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("package.json"), "{}\n").unwrap();
    dir.to_path_buf()
}

fn runs(bin: &Path) -> Output {
    Command::new(bin)
        .output()
        .expect("run the installed binary")
}

fn says_hello(bin: &Path) {
    let out = runs(bin);
    assert!(out.status.success(), "{}: {out:?}", bin.display());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{HELLO}\n"));
}

#[test]
fn platform_packages_hold_the_binaries_and_the_main_package_lists_them() {
    let host = host_triple();
    let (fx, distrib) = built();
    let main = distrib.join(format!("{APP}-npm-package.tar.gz"));
    let platform = distrib.join(format!("{APP}-{host}-npm-package.tar.gz"));

    let listing = run_ok(Command::new("tar").arg("-tvzf").arg(&platform));
    let listing = String::from_utf8_lossy(&listing.stdout);
    let bin_line = listing
        .lines()
        .find(|l| l.ends_with(&format!("package/bin/{APP}")))
        .unwrap_or_else(|| panic!("no binary in the platform package:\n{listing}"));
    assert!(bin_line.starts_with("-rwxr-xr-x"), "{bin_line}");
    assert!(listing.contains("package/LICENSE"), "{listing}");

    let p = package_json(&platform);
    assert_eq!(p["name"], format!("{SCOPE}/{APP}-{host}"));
    assert_eq!(p["version"], "0.1.0");
    assert_eq!(p["os"], serde_json::json!(["linux"]));
    assert_eq!(p["libc"], serde_json::json!(["glibc"]));
    assert!(p["cpu"].as_array().is_some_and(|c| c.len() == 1), "{p}");

    let m = package_json(&main);
    assert_eq!(m["name"], format!("{SCOPE}/{APP}"));
    let deps = m["optionalDependencies"]
        .as_object()
        .expect("optionalDependencies");
    let mut wanted: Vec<String> = [host.as_str()]
        .iter()
        .chain(OTHERS)
        .map(|t| format!("{SCOPE}/{APP}-{t}"))
        .collect();
    wanted.sort();
    assert_eq!(deps.keys().cloned().collect::<Vec<_>>(), wanted);
    assert!(deps.values().all(|v| v == "0.1.0"), "{m}");
    assert_eq!(m["bin"][APP], format!("bin/{APP}.js"));
    // `npm-shrinkwrap` (on by default): the main package locks each platform package.
    let listing = run_ok(Command::new("tar").arg("-tzf").arg(&main));
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("package/npm-shrinkwrap.json"), "{listing}");
    // Nothing runs at install time, and nothing is fetched at run time.
    for doc in [&p, &m] {
        assert!(
            doc.get("scripts").is_none() && doc.get("dependencies").is_none(),
            "{doc}"
        );
    }

    // The plan and manifest name them with their kind and target.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(distrib.join("dist-manifest.json")).unwrap())
            .unwrap();
    npm_package_holds_its_assets(&fx, &main, &manifest);
    let entry = &manifest["artifacts"][format!("{APP}-{host}-npm-package.tar.gz")];
    assert_eq!(
        entry["target_triples"],
        serde_json::json!([host]),
        "{entry}"
    );
    assert_eq!(entry["assets"][0]["path"], format!("bin/{APP}"), "{entry}");
    assert!(entry["checksum"].is_string(), "{entry}");
    let plan = fx.json(&["plan", "-o", "json"]);
    for t in OTHERS {
        let name = format!("{APP}-{t}-npm-package.tar.gz");
        let planned = &plan["artifacts"][&name];
        assert_eq!(
            planned["target_triples"],
            serde_json::json!([t]),
            "{name}: {planned}"
        );
    }
    let hint = manifest["artifacts"][format!("{APP}-npm-package.tar.gz")]["install_hint"].clone();
    assert_eq!(hint, format!("npm install {SCOPE}/{APP}@0.1.0"));
    drop(fx);
}

#[test]
fn published_packages_install_with_npm_and_pnpm_and_run() {
    let host = host_triple();
    let (fx, distrib) = built();
    let home = fx.root().join("js-home");
    std::fs::create_dir_all(&home).unwrap();
    let registry = NpmRegistry::start();
    let url = registry.url();
    // As the publish job does: the token by name, platform packages before the main one.
    std::fs::write(
        home.join(".npmrc"),
        format!(
            "{}:_authToken=${{NODE_AUTH_TOKEN}}\n",
            url.trim_start_matches("http:")
        ),
    )
    .unwrap();
    let platform = distrib.join(format!("{APP}-{host}-npm-package.tar.gz"));
    let main = distrib.join(format!("{APP}-npm-package.tar.gz"));
    for tarball in [&platform, &main] {
        run_ok(
            tool("npm", &home)
                .args(["publish", "--access", "public", "--registry", &url])
                .arg(tarball)
                .env("NODE_AUTH_TOKEN", NpmRegistry::TOKEN),
        );
    }
    // What the registry serves is the release's bytes.
    let platform_name = format!("{SCOPE}/{APP}-{host}");
    assert_eq!(
        registry.tarball(&platform_name, "0.1.0"),
        Some(std::fs::read(&platform).unwrap())
    );
    assert_eq!(
        registry.tarball(&format!("{SCOPE}/{APP}"), "0.1.0"),
        Some(std::fs::read(&main).unwrap())
    );
    // A second publish of the same version is refused, as registry.npmjs.org refuses it.
    let again = tool("npm", &home)
        .args(["publish", "--registry", &url])
        .arg(&main)
        .env("NODE_AUTH_TOKEN", NpmRegistry::TOKEN)
        .output()
        .unwrap();
    assert!(!again.status.success(), "publishing over 0.1.0 succeeded");

    let spec = format!("{SCOPE}/{APP}@0.1.0");
    let with_npm = project(&fx.root().join("with-npm"));
    run_ok(
        tool("npm", &home)
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--registry",
                &url,
                &spec,
            ])
            .current_dir(&with_npm),
    );
    let installed = with_npm.join("node_modules").join(SCOPE);
    assert!(installed.join(format!("{APP}-{host}/bin/{APP}")).is_file());
    says_hello(&with_npm.join("node_modules/.bin").join(APP));

    let with_pnpm = project(&fx.root().join("with-pnpm"));
    run_ok(
        tool("pnpm", &home)
            .args(["add", "--registry", &url, &spec])
            .current_dir(&with_pnpm),
    );
    says_hello(&with_pnpm.join("node_modules/.bin").join(APP));

    // Without optional dependencies the launcher says which package is missing and why.
    let omitted = project(&fx.root().join("omitted"));
    run_ok(
        tool("npm", &home)
            .args(["install", "--omit=optional", "--no-audit", "--no-fund"])
            .args(["--registry", &url, &spec])
            .current_dir(&omitted),
    );
    let out = runs(&omitted.join("node_modules/.bin").join(APP));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&platform_name) && err.contains("--omit=optional"),
        "{err}"
    );
}

#[test]
fn local_tarballs_install_offline_with_npm() {
    let host = host_triple();
    let (fx, distrib) = built();
    let home = fx.root().join("js-home");
    std::fs::create_dir_all(&home).unwrap();
    let dir = project(&fx.root().join("offline"));
    run_ok(
        tool("npm", &home)
            .args(["install", "--offline", "--no-audit", "--no-fund"])
            // Nothing listens there: every package must come from the tarballs.
            .args(["--registry", "http://127.0.0.1:9/"])
            .arg(distrib.join(format!("{APP}-{host}-npm-package.tar.gz")))
            .arg(distrib.join(format!("{APP}-npm-package.tar.gz")))
            .current_dir(&dir),
    );
    says_hello(&dir.join("node_modules/.bin").join(APP));
}

/// The packages are artifacts like the others: cargo-dist-schema reads the manifest that lists
/// them, two builds in two directories with two stores reproduce them (`compare`), and `explain`
/// names the input that changed a platform package's key.
#[test]
fn npm_packages_reproduce_and_explain() {
    let host = host_triple();
    let (a, distrib) = built();
    let manifest = distrib.join("dist-manifest.json");
    let typed: cargo_dist_schema::DistManifest =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap())
            .expect("cargo-dist-schema reads the manifest");
    let platform = format!("{APP}-{host}-npm-package.tar.gz");
    assert!(typed.artifacts.contains_key(platform.as_str()));

    let (_b, other) = built();
    let verdicts =
        crate::support::compare_verdicts(&a, &manifest, &other.join("dist-manifest.json"));
    for name in [platform.clone(), format!("{APP}-npm-package.tar.gz")] {
        assert_eq!(
            verdicts.get(&name).map(String::as_str),
            Some("reproduced"),
            "{name}: {verdicts:?}"
        );
    }

    a.file("LICENSE", "MIT License\n\nCopyright (c) someone else\n");
    let explained = a.ok(&["explain", &platform]);
    assert!(explained.contains("file LICENSE changed"), "{explained}");
}
