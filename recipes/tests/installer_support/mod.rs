//! Shared fixtures for the installer tests: real archives, a tiny HTTP server on 127.0.0.1 and
//! helpers to run real tools with a clean environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod server;
#[allow(unused_imports)] // not every installer test serves files
pub use server::{serve_dir, Reply, Server};

use dist_recipes::archive::{sha256_file, write_archive, ArchiveEntry, ArchiveFormat, EntryMode};
use dist_recipes::installer::{InstallPath, InstallerApp, InstallerArtifact};

pub const APP: &str = "my-app";
pub const VERSION: &str = "1.2.0";

/// PATH for the tools under test: system dirs only, so no test HOME is ever already on it.
pub const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Panics (never skips) when a tool the test needs is missing.
pub fn require_tool(name: &str) -> PathBuf {
    for dir in SYSTEM_PATH.split(':') {
        let candidate = Path::new(dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "this test needs `{name}` on PATH ({SYSTEM_PATH}); install it (see .ci/run: apt-get install -y shellcheck busybox ruby nodejs npm dash)"
    );
}

/// The host target triple, from `rustc -vV`.
pub fn host_target() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("running rustc -vV");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV prints a host line")
        .to_string()
}

/// What the fake binary prints: its name and version, then its arguments.
pub fn fake_binary_script(bin: &str) -> String {
    // `--exit N` lets tests check that launchers forward exit codes.
    format!(
        "#!/bin/sh\necho \"{bin} {VERSION} $*\"\nif [ \"${{1:-}}\" = --exit ]; then exit \"$2\"; fi\nexit 0\n"
    )
}

/// Builds a real archive for `target` holding one fake executable per binary, and returns the
/// artifact describing it (with its sha256) plus the archive's path.
pub fn build_archive(
    dir: &Path,
    target: &str,
    binaries: &[&str],
    format: ArchiveFormat,
) -> (InstallerArtifact, PathBuf) {
    let staging = dir.join(format!("staging-{target}"));
    std::fs::create_dir_all(&staging).unwrap();
    let mut entries = Vec::new();
    for bin in binaries {
        let src = staging.join(bin);
        std::fs::write(&src, fake_binary_script(bin)).unwrap();
        entries.push(ArchiveEntry {
            path: bin.to_string(),
            source: src,
            mode: EntryMode::Executable,
        });
    }
    let root = format!("{APP}-{target}");
    let file_name = format!("{root}{}", format.extension());
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let out = served.join(&file_name);
    write_archive(format, &root, &entries, &out).unwrap();
    let sha = sha256_file(&out).unwrap();
    let artifact = InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: target.to_string(),
        file_name,
        sha256: Some(sha),
        root_dir: format.has_root_dir().then_some(root),
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    };
    (artifact, out)
}

pub fn app_with(binaries: &[&str], artifacts: Vec<InstallerArtifact>) -> InstallerApp {
    InstallerApp {
        app_name: APP.into(),
        app_version: VERSION.into(),
        binaries: binaries.iter().map(|b| b.to_string()).collect(),
        aliases: std::collections::BTreeMap::new(),
        success_msg: None,
        download_url: "https://github.com/owner/my-app/releases/download/v1.2.0".into(),
        install_paths: vec![InstallPath::CargoHome],
        artifacts,
        receipt: None,
        description: Some("A test app that says \"hi\" and it's fine".into()),
        homepage: Some("https://example.com/my-app".into()),
        license: Some("MIT OR Apache-2.0".into()),
    }
}

/// A sha256 of the right shape for artifacts that are never downloaded.
pub fn fake_sha(seed: char) -> String {
    std::iter::repeat_n(seed, 64).collect()
}

/// A command with an empty environment but PATH and HOME, so proxies, the developer's
/// CARGO_HOME and the like never leak in.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", home)
        .env("LC_ALL", "C");
    cmd
}

pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An archive of `my-app` for `target` that is never downloaded: a flat `.zip` for Windows, a
/// `.tar.xz` with its root directory elsewhere, with a made-up sha256 from `seed`.
pub fn fake_artifact(target: &str, seed: char) -> InstallerArtifact {
    let windows = target.contains("-windows-");
    InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: target.into(),
        file_name: format!("{APP}-{target}{}", if windows { ".zip" } else { ".tar.xz" }),
        sha256: Some(fake_sha(seed)),
        root_dir: (!windows).then(|| format!("{APP}-{target}")),
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    }
}

/// Validates `text` against the JSON schema `tests/schemas/{schema}` with the system Python's
/// jsonschema, reading `text` as JSON or (`yaml`) as YAML with PyYAML.
pub fn schema_check(text: &str, schema: &str, yaml: bool) {
    let python = require_tool("python3");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifest");
    std::fs::write(&file, text).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(schema);
    let load = if yaml { "yaml.safe_load" } else { "json.load" };
    let out = Command::new(python)
        .arg("-c")
        .arg(format!(
            "import json, sys, yaml, jsonschema\njsonschema.validate({load}(open(sys.argv[1])), json.load(open(sys.argv[2])))"
        ))
        .arg(&file)
        .arg(&schema)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "not valid against {} (Python's jsonschema and PyYAML are needed: .ci/run installs them):\n{}\n{text}",
        schema.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
