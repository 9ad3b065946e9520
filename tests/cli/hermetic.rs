//! Hermetic builds with the real kernel features: the cargo build runs in its own network
//! namespace under Landlock, offline against crates vendored from a fixed-output recipe.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The itoa this project itself locks (serde_json depends on it), so its `.crate` is in cargo's
/// download cache wherever this project was built: (version, sha256).
pub(crate) fn locked_itoa() -> (String, String) {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("read this project's Cargo.lock");
    let doc: toml_edit::DocumentMut = lock.parse().expect("Cargo.lock parses");
    let pkg = doc["package"]
        .as_array_of_tables()
        .expect("packages")
        .iter()
        .find(|p| p["name"].as_str() == Some("itoa"))
        .expect("this project locks itoa");
    (
        pkg["version"].as_str().unwrap().to_string(),
        pkg["checksum"].as_str().unwrap().to_string(),
    )
}

/// The user's real toolchain homes: tests move HOME, so they name these explicitly.
fn toolchain_env(cmd: &mut Command) {
    let home = PathBuf::from(std::env::var("HOME").expect("HOME is set"));
    let var = |k: &str, default: PathBuf| std::env::var_os(k).map(PathBuf::from).unwrap_or(default);
    cmd.env("RUSTUP_HOME", var("RUSTUP_HOME", home.join(".rustup")))
        .env("CARGO_HOME", var("CARGO_HOME", home.join(".cargo")));
}

/// A host App depending on the locked itoa, whose build script reports what it could reach:
/// a TCP listener on 127.0.0.1:`port`, `canaries` (absolute paths outside the sandbox) and the
/// real workspace's README.md (the build sees its snapshot only), its own manifest, and
/// OUT_DIR. The binary prints the report, then a number formatted by itoa.
fn probing_app(port: u16, canaries: &[&Path]) -> (Fixture, String) {
    let (fx, host) = host_app("probe", "unused");
    let (version, checksum) = locked_itoa();
    let readme = fx.root().join("README.md");
    let reads: String = canaries
        .iter()
        .copied()
        .chain([readme.as_path()])
        .map(|p| format!("    report.push_str(&format!(\"read {{}}: {{}}\\n\", {p:?}, attempt(std::fs::read_to_string({p:?}).map(|_| ()))));\n"))
        .collect();
    fx.package(
        "",
        "probe",
        "0.1.0",
        &["probe"],
        &format!(
            "description = \"A test app\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/x\"\n\n[dependencies]\nitoa = \"={version}\"\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\n"
        ),
    )
    .file(
        "build.rs",
        &format!(
            r#"use std::fmt::Write as _;

fn attempt<T>(r: std::io::Result<T>) -> String {{
    match r {{
        Ok(_) => "ok".to_string(),
        Err(e) => format!("failed ({{:?}})", e.kind()),
    }}
}}

fn main() {{
    let mut report = String::new();
    let connect = std::net::TcpStream::connect(("127.0.0.1", {port}));
    writeln!(report, "connect 127.0.0.1: {{}}", attempt(connect)).unwrap();
{reads}    writeln!(report, "read own Cargo.toml: {{}}", attempt(std::fs::read_to_string("Cargo.toml"))).unwrap();
    let home = std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default());
    writeln!(report, "token in HOME: {{}}", home.join(".secret-token").exists()).unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("report.txt"), report).unwrap();
}}
"#
        ),
    )
    .file(
        "src/main.rs",
        "fn main() {\n    print!(\"{}\", include_str!(concat!(env!(\"OUT_DIR\"), \"/report.txt\")));\n    println!(\"itoa: {}\", itoa::Buffer::new().format(4096));\n}\n",
    )
    .file(
        "Cargo.lock",
        &format!(
            "version = 4\n\n[[package]]\nname = \"itoa\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{checksum}\"\n\n[[package]]\nname = \"probe\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa\",\n]\n"
        ),
    );
    (fx, host)
}

/// Unpacks `app`'s archive from `root`'s target/distrib and runs its binary.
fn run_shipped(app: &str, root: &Path, scratch: &Path, host: &str) -> String {
    let unpacked = scratch.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    untar(
        &root.join("target/distrib").join(archive_name(app, host)),
        &unpacked,
        &["xJf"],
    );
    let bin = unpacked.join(format!("{app}-{host}")).join(app);
    String::from_utf8(run_ok(&mut Command::new(bin)).stdout).unwrap()
}

/// `cargo dist ARGS` in `root` with `store` on a machine with no network at all (its own user
/// and network namespace) and an empty CARGO_HOME (no registry index, no downloaded crate, no
/// git checkout), which it must leave empty; returns stderr.
fn offline_build(root: &Path, store: &Path, empty_cargo_home: &Path, args: &[&str]) -> String {
    std::fs::create_dir_all(empty_cargo_home).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--net", "--"])
        .arg(BIN)
        .arg("dist")
        .args(args)
        .current_dir(root)
        .env("CARGO_DIST_STORE", store)
        .env_remove("XDG_CACHE_HOME");
    toolchain_env(&mut cmd);
    cmd.env("CARGO_HOME", empty_cargo_home);
    let out = run_ok(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        std::fs::read_dir(empty_cargo_home)
            .unwrap()
            .next()
            .is_none(),
        "the build used CARGO_HOME: {stderr}"
    );
    stderr
}

#[test]
fn a_build_script_reaches_neither_the_network_nor_files_outside_the_sandbox() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let scratch = tempfile::tempdir().unwrap();
    // A HOME of the test's own, with a canary in it; another canary outside the workspace.
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home_canary = home.join(".secret-token");
    std::fs::write(&home_canary, "home canary").unwrap();
    let outside = scratch.path().join("outside-canary.txt");
    std::fs::write(&outside, "outside canary").unwrap();
    let (fx, host) = probing_app(port, &[&home_canary, &outside]);
    let real_readme = fx.root().join("README.md");

    let mut cmd = dist_command(fx.root(), &fx.store(), &["build", "-o", "json"]);
    toolchain_env(&mut cmd);
    cmd.env("HOME", &home);
    let out = run_ok(&mut cmd);
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("isolation"),
        "no isolation warning here: {stderr}"
    );
    let archive = archive_name("probe", &host);
    assert_eq!(
        manifest["artifacts"][&archive]["recipe"]["isolation"], "full",
        "{manifest:#}"
    );

    let report = run_shipped("probe", fx.root(), scratch.path(), &host);
    assert!(
        report.contains("connect 127.0.0.1: failed"),
        "the build script connected: {report}"
    );
    for canary in [&home_canary, &outside, &real_readme] {
        assert!(
            report.contains(&format!(
                "read {}: failed (PermissionDenied)",
                canary.display()
            )),
            "{} was readable: {report}",
            canary.display()
        );
    }
    assert!(report.contains("read own Cargo.toml: ok"), "{report}");
    assert!(
        report.contains("token in HOME: false"),
        "the build ran with the user's HOME: {report}"
    );
    assert!(report.contains("itoa: 4096"), "{report}");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener saw a connection: {other:?}"),
    }
}

#[test]
fn a_fresh_cargo_home_with_no_network_rebuilds_from_the_restored_store_bit_identical() {
    // Port 1: nothing listens there; this test is about where the crates come from.
    let (fx, host) = probing_app(1, &[]);
    let mut first = dist_command(fx.root(), &fx.store(), &["build", "-o", "json"]);
    toolchain_env(&mut first);
    run_ok(&mut first);
    let rows = store_rows(&fx);
    let sources = rows
        .iter()
        .find(|r| r["kind"] == "crate-sources")
        .unwrap_or_else(|| panic!("no crate-sources recipe in the store: {rows:#?}"));
    assert_eq!(
        sources["label"], "crate sources (Cargo.lock)",
        "{sources:#}"
    );
    let bundle = fx.dir.path().join("store.bundle");
    run_ok(dist_command(fx.root(), &fx.store(), &["store", "export"]).arg(&bundle));

    // Machine B: a copy of the workspace, a store holding only the imported bundle, an empty
    // CARGO_HOME (no registry index, no downloaded crate), and no network at all.
    let b = tempfile::tempdir().unwrap();
    let root_b = b.path().join("ws");
    copy_workspace(fx.root(), &root_b);
    let store_b = b.path().join("store");
    run_ok(dist_command(&root_b, &store_b, &["store", "import"]).arg(&bundle));
    // --rebuild builds every recipe again in a fresh sandbox (the crate sources, fixed-output,
    // are re-checked, not fetched) and fails unless the bytes equal the stored ones.
    let stderr = offline_build(
        &root_b,
        &store_b,
        &b.path().join("cargo-home"),
        &["build", "--rebuild", "--require-isolation", "-o", "json"],
    );
    assert!(!stderr.contains("NOT REPRODUCIBLE"), "{stderr}");
    // The crate came out of the imported store, checked against Cargo.lock.
    let (version, checksum) = locked_itoa();
    let vendored = root_b.join(format!("target/dist-work/vendor/itoa-{version}"));
    let marker = std::fs::read_to_string(vendored.join(".cargo-checksum.json"))
        .unwrap_or_else(|e| panic!("itoa was not vendored from the store: {e}\n{stderr}"));
    assert!(marker.contains(&checksum), "{marker}");
    assert!(vendored.join("src/lib.rs").is_file());
    let archive = archive_name("probe", &host);
    let a_bytes = std::fs::read(fx.root().join("target/distrib").join(&archive)).unwrap();
    let b_bytes = std::fs::read(root_b.join("target/distrib").join(&archive)).unwrap();
    assert!(a_bytes == b_bytes, "{archive} differs between the machines");
    let report = run_shipped("probe", &root_b, b.path(), &host);
    assert!(report.contains("itoa: 4096"), "{report}");
}

#[test]
fn a_git_dependency_is_vendored_from_its_locked_commit_and_builds_isolated() {
    let scratch = tempfile::tempdir().unwrap();
    let dep = scratch.path().join("gdep");
    std::fs::create_dir_all(dep.join("src")).unwrap();
    std::fs::write(
        dep.join("Cargo.toml"),
        "[package]\nname = \"gdep\"\nversion = \"0.3.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dep.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "gdep",
        ],
    ] {
        run_ok(Command::new("git").args(args).current_dir(&dep));
    }
    let (fx, host) = host_app("gitdep", "unused");
    fx.package(
        "",
        "gitdep",
        "0.1.0",
        &["gitdep"],
        &format!(
            "description = \"A test app\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/x\"\n\n[dependencies]\ngdep = {{ git = \"file://{}\", branch = \"master\" }}\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\n",
            dep.display()
        ),
    )
    .file(
        "src/main.rs",
        "fn main() {\n    println!(\"answer {}\", gdep::answer());\n}\n",
    );
    run_ok(
        Command::new("git")
            .args(["branch", "-M", "master"])
            .current_dir(&dep),
    );
    std::fs::remove_file(fx.root().join("Cargo.lock")).unwrap();
    run_ok(
        Command::new(real_cargo())
            .args(["generate-lockfile", "--quiet"])
            .current_dir(fx.root()),
    );

    let manifest = fx.json(&["build", "--require-isolation", "-o", "json"]);
    let archive = archive_name("gitdep", &host);
    assert_eq!(
        manifest["artifacts"][&archive]["recipe"]["isolation"], "full",
        "{manifest:#}"
    );
    // The level is not an input: the key says nothing of it.
    let inputs = manifest["artifacts"][&archive]["recipe"]["inputs"].to_string();
    assert!(!inputs.contains("isolation"), "{inputs}");
    let vendored = fx.root().join("target/dist-work/vendor/gdep-0.3.0");
    assert!(
        vendored.join("src/lib.rs").is_file(),
        "gdep was not vendored"
    );
    assert_eq!(
        run_shipped("gitdep", fx.root(), scratch.path(), &host),
        "answer 42\n"
    );

    // The repository gone, cargo's git checkouts out of reach (an empty CARGO_HOME) and no
    // network: the store alone rebuilds it, to the same bytes.
    std::fs::remove_dir_all(&dep).unwrap();
    let before = std::fs::read(fx.root().join("target/distrib").join(&archive)).unwrap();
    offline_build(
        fx.root(),
        &fx.store(),
        &scratch.path().join("cargo-home"),
        &["build", "--rebuild", "--require-isolation"],
    );
    let after = std::fs::read(fx.root().join("target/distrib").join(&archive)).unwrap();
    assert!(before == after, "{archive} changed");
}

#[test]
fn a_build_script_that_needs_the_network_fails_saying_the_build_was_isolated() {
    let (fx, _host) = host_app("fetcher", "unused");
    fx.file(
        "build.rs",
        "fn main() {\n    std::net::TcpStream::connect((\"127.0.0.1\", 1)).expect(\"downloading the model\");\n}\n",
    );
    let stderr = fx.fails(&["build"], 1);
    assert!(stderr.contains("downloading the model"), "{stderr}");
    assert!(
        stderr.contains("the build ran with isolation `full`: no network"),
        "{stderr}"
    );
    assert!(
        !fx.root().join("target/distrib").exists(),
        "a failed build wrote target/distrib"
    );
}

/// A machine where user namespaces are refused: the tool runs in a user namespace of its own
/// whose limit of nested namespaces is 0 (a real kernel refusal, ENOSPC).
fn without_user_namespaces(fx: &Fixture, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--", "sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .arg("dist")
        .args(args)
        .current_dir(fx.root())
        .env("CARGO_DIST_STORE", fx.store())
        .env_remove("XDG_CACHE_HOME");
    cmd.output().expect("run unshare")
}

#[test]
fn without_user_namespaces_the_build_runs_unisolated_says_so_once_or_is_refused() {
    let (fx, host) = host_app("plain", "hi");
    let refused = without_user_namespaces(&fx, &["build", "--require-isolation"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--require-isolation")
            && stderr.contains("the sandbox could not be set up"),
        "{stderr}"
    );
    assert!(
        !fx.root().join("target/distrib").exists(),
        "a refused build wrote target/distrib"
    );

    let out = without_user_namespaces(&fx, &["build", "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("isolation `none`").count(),
        1,
        "one warning with the level: {stderr}"
    );
    assert!(
        stderr.contains("no user and network namespace here"),
        "{stderr}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let archive = archive_name("plain", &host);
    assert_eq!(
        manifest["artifacts"][&archive]["recipe"]["isolation"], "none",
        "{manifest:#}"
    );
    // The same key as a fully isolated build of the same inputs: the level is not an input.
    let isolated = fx.json(&["manifest", "-o", "json"]);
    assert_eq!(
        isolated["artifacts"][&archive]["recipe"]["key"],
        manifest["artifacts"][&archive]["recipe"]["key"]
    );
}
