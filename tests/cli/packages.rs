//! Linux packages (`installers = ["deb", "rpm"]`) end to end: built from a real cargo build,
//! read by the distributions' own tools (dpkg-deb, lintian; rpm -qip, rpm -K), installed with
//! dpkg and rpm into scratch roots and run, and rebuilt bit for bit in another directory with
//! another store.

use std::path::Path;
use std::process::Command;

use crate::support::{copy_workspace, dist_command, host_triple, run_ok, sha256sum_check, Fixture};

const APP: &str = "deb_app";
const HELLO: &str = "hello from a deb";

/// An App with authors, a pre-release version and a two-line description, for the host and for
/// targets a `.deb` does and does not serve.
fn deb_app(targets: &[&str]) -> Fixture {
    let fx = Fixture::new();
    let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{APP}\"\nversion = \"1.2.0-rc.1\"\nedition = \"2021\"\ndescription = \"Says hello\\nfrom a Debian package.\"\nlicense = \"MIT\"\nauthors = [\"Jane Doe <jane@example.com>\"]\nrepository = \"https://github.com/example/deb-app\"\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [{}]\ninstallers = [\"deb\", \"rpm\", \"scoop\", \"winget\", \"aur\"]\n",
            targets.join(", ")
        ),
    )
    .file("src/main.rs", &format!("fn main() {{\n    println!(\"{HELLO}\");\n}}\n"))
    .file("README.md", "# deb_app\n\nSays hello.\n")
    .file("LICENSE", "MIT License\n\nCopyright (c) Jane Doe\n")
    .file(
        "Cargo.lock",
        &format!("version = 4\n\n[[package]]\nname = \"{APP}\"\nversion = \"1.2.0-rc.1\"\n"),
    );
    fx
}

fn field(deb: &Path, name: &str) -> String {
    let out = run_ok(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Debian architecture of the host, as dpkg names it.
fn host_arch() -> String {
    let out = run_ok(Command::new("dpkg").arg("--print-architecture"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn packages_are_planned_for_each_linux_target_only() {
    let fx = deb_app(&[
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-musl",
        "x86_64-pc-windows-msvc",
        "aarch64-apple-darwin",
    ]);
    let plan = fx.json(&["plan", "-o", "json", "--allow-dirty"]);
    // Tools that read manifests with cargo-dist's own schema still read this one.
    let typed: cargo_dist_schema::DistManifest = serde_json::from_value(plan.clone()).unwrap();
    assert!(typed.artifacts.len() > 4);
    let artifacts = plan["artifacts"].as_object().expect("artifacts");
    for ext in [".deb", ".rpm"] {
        let made: Vec<&String> = artifacts.keys().filter(|n| n.ends_with(ext)).collect();
        assert_eq!(
            made,
            [
                &format!("{APP}-aarch64-unknown-linux-musl{ext}"),
                &format!("{APP}-x86_64-unknown-linux-gnu{ext}"),
            ]
        );
    }
    let deb = &artifacts[&format!("{APP}-aarch64-unknown-linux-musl.deb")];
    assert_eq!(deb["kind"], "installer");
    assert_eq!(deb["target_triples"][0], "aarch64-unknown-linux-musl");
    assert_eq!(deb["assets"][0]["path"], format!("usr/bin/{APP}"));
    assert_eq!(deb["description"], "install via deb");
    assert!(artifacts.contains_key(&format!("{APP}-aarch64-unknown-linux-musl.deb.sha256")));
}

#[test]
fn packages_pass_their_tools_install_run_and_reproduce() {
    let host = host_triple();
    let fx = deb_app(&[&host]);
    let target = format!("--target={host}");
    fx.ok(&["build", "--artifacts=local", &target, "--allow-dirty"]);
    let distrib = fx.root().join("target/distrib");
    let names = [format!("{APP}-{host}.deb"), format!("{APP}-{host}.rpm")];
    for name in &names {
        sha256sum_check(&distrib, &format!("{name}.sha256"));
    }
    deb_checks(&host, &distrib.join(&names[0]), fx.dir.path());
    rpm_checks(&host, &distrib.join(&names[1]), fx.dir.path());

    // Another directory, another store: the same bytes.
    let other = fx.dir.path().join("other");
    copy_workspace(fx.root(), &other);
    run_ok(&mut dist_command(
        &other,
        &fx.dir.path().join("store2"),
        &["build", "--artifacts=local", &target, "--allow-dirty"],
    ));
    for name in &names {
        let again = std::fs::read(other.join("target/distrib").join(name)).unwrap();
        let first = std::fs::read(distrib.join(name)).unwrap();
        assert!(again == first, "{name} differs between two builds");
    }
    // `compare` says so too, from the two builds' manifests (which cargo-dist-schema reads).
    let manifests = [&distrib, &other.join("target/distrib")].map(|d| d.join("dist-manifest.json"));
    for m in &manifests {
        let _: cargo_dist_schema::DistManifest =
            serde_json::from_slice(&std::fs::read(m).unwrap()).expect("cargo-dist-schema reads it");
    }
    let verdicts = crate::support::compare_verdicts(&fx, &manifests[0], &manifests[1]);
    for name in &names {
        assert_eq!(
            verdicts.get(name).map(String::as_str),
            Some("reproduced"),
            "{name}: {verdicts:?}"
        );
    }
    // And `explain` names what changes a package's key.
    fx.file("README.md", "# deb_app\n\nSays hello, differently.\n");
    let explained = fx.ok(&["explain", &names[0]]);
    assert!(explained.contains("file README.md changed"), "{explained}");
}

/// `install-libraries` puts the App's C libraries in its packages, in a private directory (a
/// Rust cdylib has no SONAME): `/usr/lib/{name}` in the `.deb`,
/// `%{_libdir}/{name}` in the `.rpm`, the shared one stripped and still exporting its symbols, only the
/// kinds asked for.
#[test]
fn packages_install_the_apps_libraries() {
    let host = host_triple();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"greeter\"\nversion = \"0.3.0\"\nedition = \"2021\"\ndescription = \"Greets, also from C\"\nlicense = \"MIT\"\nauthors = [\"Jane Doe <jane@example.com>\"]\nrepository = \"https://github.com/example/greeter\"\n\n[lib]\ncrate-type = [\"cdylib\", \"staticlib\"]\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\ninstallers = [\"deb\", \"rpm\"]\npackage-libraries = [\"cdylib\", \"cstaticlib\"]\ninstall-libraries = [\"cdylib\"]\n"
        ),
    )
    .file("src/lib.rs", "#[no_mangle]\npub extern \"C\" fn greeter_answer() -> i32 {\n    42\n}\n")
    .file("src/main.rs", "fn main() {\n    println!(\"greetings\");\n}\n")
    .file("LICENSE", "MIT License\n\nCopyright (c) Jane Doe\n")
    .file(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"greeter\"\nversion = \"0.3.0\"\n",
    );
    fx.ok(&[
        "build",
        "--artifacts=local",
        &format!("--target={host}"),
        "--allow-dirty",
    ]);
    let distrib = fx.root().join("target/distrib");
    let deb = distrib.join(format!("greeter-{host}.deb"));
    let contents = run_ok(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let contents = String::from_utf8_lossy(&contents.stdout).into_owned();
    assert!(
        contents
            .lines()
            .any(|l| l.ends_with("./usr/lib/greeter/libgreeter.so")),
        "{contents}"
    );
    assert!(!contents.contains("libgreeter.a"), "{contents}");
    lintian_clean(&deb);
    let root = fx.dir.path().join("dpkg-root");
    for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    run_ok(
        Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args([
                "--force-not-root",
                "--force-depends",
                "--force-script-chrootless",
            ])
            .args(["--log=/dev/null", "-i"])
            .arg(&deb),
    );
    let symbols = run_ok(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(root.join("usr/lib/greeter/libgreeter.so")),
    );
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    assert!(symbols.contains(" T greeter_answer"), "{symbols}");

    let rpm = distrib.join(format!("greeter-{host}.rpm"));
    let files = run_ok(Command::new("rpm").arg("-qlp").arg(&rpm));
    let files = String::from_utf8_lossy(&files.stdout);
    let libdir = if host.starts_with("x86_64") {
        "/usr/lib64/greeter"
    } else {
        "/usr/lib/greeter"
    };
    assert!(
        files
            .lines()
            .any(|l| l == format!("{libdir}/libgreeter.so")),
        "{files}"
    );
    assert!(!files.contains("libgreeter.a"), "{files}");
}

/// dpkg-deb reads Debian's names and the files, lintian finds no error, dpkg installs it.
fn deb_checks(host: &str, deb: &Path, scratch: &Path) {
    // Debian's names: `_` becomes `-`, a pre-release sorts before its release with `~`.
    assert_eq!(field(deb, "Package"), "deb-app");
    assert_eq!(field(deb, "Version"), "1.2.0~rc.1");
    assert_eq!(field(deb, "Architecture"), host_arch());
    assert_eq!(field(deb, "Maintainer"), "Jane Doe <jane@example.com>");
    assert!(field(deb, "Description").starts_with("Says hello\n from a Debian package."));
    if host.ends_with("-linux-gnu") {
        let depends = field(deb, "Depends");
        assert!(depends.starts_with("libc6 (>= 2."), "{depends}");
        assert!(depends.contains("libgcc-s1"), "{depends}");
    }
    let contents = run_ok(Command::new("dpkg-deb").arg("--contents").arg(deb));
    let contents = String::from_utf8_lossy(&contents.stdout).into_owned();
    for path in [
        "./usr/bin/deb_app",
        "./usr/share/doc/deb-app/copyright",
        "./usr/share/doc/deb-app/changelog.gz",
        "./usr/share/doc/deb-app/README.md",
    ] {
        assert!(
            contents.lines().any(|l| l.ends_with(path)),
            "{path} in\n{contents}"
        );
    }
    assert!(
        contents
            .lines()
            .all(|l| l.contains(" root/root ") && l.contains(" 1980-01-01 ")),
        "{contents}"
    );
    lintian_clean(deb);
    installs_and_runs(deb, scratch);
}

/// `rpm -qp` reads its tags, files and requirements, `rpm -K` its digests; rpm installs it
/// into a scratch root and the binary runs.
fn rpm_checks(host: &str, rpm: &Path, scratch: &Path) {
    let query = |args: &[&str]| {
        let out = run_ok(Command::new("rpm").arg("-qp").args(args).arg(rpm));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let arch = host.split('-').next().unwrap();
    assert_eq!(
        query(&[
            "--queryformat",
            "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{BUILDTIME} %{PACKAGER}"
        ]),
        format!("deb_app 1.2.0~rc.1 1 {arch} 315532800 Jane Doe <jane@example.com>")
    );
    let files = query(&["-l"]);
    for path in [
        "/usr/bin/deb_app",
        "/usr/share/doc/deb_app/README.md",
        "/usr/share/licenses/deb_app/LICENSE",
    ] {
        assert!(files.lines().any(|l| l == path), "{path} in\n{files}");
    }
    if host.ends_with("-linux-gnu") && host.starts_with("x86_64") {
        let requires = query(&["--requires"]);
        assert!(
            requires.lines().any(|l| l == "libc.so.6()(64bit)"),
            "{requires}"
        );
        assert!(
            requires
                .lines()
                .any(|l| l.starts_with("libc.so.6(GLIBC_2.")),
            "{requires}"
        );
    }
    let check = run_ok(Command::new("rpm").arg("-K").arg(rpm));
    assert!(String::from_utf8_lossy(&check.stdout).contains("digests OK"));

    let root = scratch.join("rpm-root");
    std::fs::create_dir_all(&root).unwrap();
    let rpm_in_root = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.arg("--root").arg(&root).args(args);
        cmd
    };
    run_ok(&mut rpm_in_root(&["--initdb"]));
    run_ok(rpm_in_root(&["-i", "--nodeps"]).arg(rpm));
    run_ok(&mut rpm_in_root(&["-q", "deb_app"]));
    let out = run_ok(&mut Command::new(root.join("usr/bin/deb_app")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{HELLO}\n"));
}

/// lintian reports no error (warnings such as a missing manual page are the project's to fix).
fn lintian_clean(deb: &Path) {
    let out = Command::new("lintian")
        .args(["--fail-on", "error", "--no-tag-display-limit"])
        .arg(deb)
        .output()
        .expect("lintian is needed by this test (Debian package lintian; .ci/run installs it)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !report.lines().any(|l| l.starts_with("E:")),
        "lintian found errors:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// dpkg installs the package into a scratch root (its dependencies, the host's own libc, are
/// not in that root), lists it as installed, and the installed binary runs.
fn installs_and_runs(deb: &Path, scratch: &Path) {
    let root = scratch.join("dpkg-root");
    for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", root.display()))
            .args([
                "--force-not-root",
                "--force-depends",
                "--force-script-chrootless",
            ])
            .args(["--log=/dev/null"])
            .args(args);
        cmd
    };
    run_ok(dpkg(&["-i"]).arg(deb));
    let status = run_ok(&mut dpkg(&["-s", "deb-app"]));
    assert!(String::from_utf8_lossy(&status.stdout).contains("Status: install ok installed"));
    let out = run_ok(&mut Command::new(root.join("usr/bin/deb_app")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{HELLO}\n"));
}

#[test]
fn scoop_manifest_is_planned_for_windows_archives() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{APP}\"\nversion = \"1.2.0\"\nedition = \"2021\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/deb-app\"\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\"]\ninstallers = [\"scoop\"]\n"
        ),
    )
    .file("src/main.rs", "fn main() {}\n");
    let plan = fx.json(&["plan", "-o", "json", "--allow-dirty"]);
    let scoop = &plan["artifacts"][format!("{APP}.json")];
    assert_eq!(scoop["kind"], "installer", "{plan}");
    assert_eq!(
        scoop["target_triples"],
        serde_json::json!([
            "aarch64-pc-windows-msvc",
            "x86_64-pc-windows-gnu",
            "x86_64-pc-windows-msvc"
        ])
    );
    assert_eq!(
        scoop["install_hint"],
        format!(
            "scoop install https://github.com/example/deb-app/releases/download/v1.2.0/{APP}.json"
        )
    );
    assert_eq!(
        plan["releases"][0]["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a.as_str().unwrap().ends_with(".json"))
            .count(),
        1
    );
}
