//! The workspace read from its manifests, without `cargo metadata`: the same packages, targets,
//! path dependencies, features, READMEs and inherited fields cargo reports, on a workspace that
//! uses each rule; and cargo asked whenever the manifests use something the reader leaves to it.

use std::process::Output;

use crate::support::{dist_command, host_triple, Fixture};

/// `cargo dist ARGS` with `CARGO_DIST_METADATA=reader`.
fn run(fx: &Fixture, reader: &str, args: &[&str]) -> Output {
    let mut cmd = dist_command(fx.root(), &fx.store(), args);
    cmd.env("CARGO_DIST_METADATA", reader);
    cmd.output().expect("run cargo-dist")
}

fn stdout_ok(fx: &Fixture, reader: &str, args: &[&str]) -> String {
    ok_both(fx, reader, args).0
}

/// (stdout, stderr) of a run that must succeed.
fn ok_both(fx: &Fixture, reader: &str, args: &[&str]) -> (String, String) {
    let out = run(fx, reader, args);
    assert!(
        out.status.success(),
        "CARGO_DIST_METADATA={reader} cargo dist {}: {:?}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (text(out.stdout), text(out.stderr))
}

/// A workspace using every rule the reader follows: `*` members with `exclude`, path
/// dependencies (plain, through `[workspace.dependencies]`, target-specific, dev-only, and
/// transitive) as implicit members, inherited package fields (the README relative to the root),
/// edition-2015 explicit targets, inferred bins beside declared ones, `autobins = false`, a
/// C library with its own path, a proc-macro, build scripts (found and named), examples, tests,
/// benches, optional dependencies with and without `dep:`, and a README.txt found by default.
fn many_rules() -> Fixture {
    let fx = Fixture::new();
    let host = host_triple();
    fx.file(
        "Cargo.toml",
        &format!(
            r#"[workspace]
members = ["apps/*", "tools/legacy"]
exclude = ["apps/skipped"]
resolver = "2"

[workspace.package]
version = "1.4.0"
license = "MIT OR Apache-2.0"
repository = "https://github.com/example/readers"
readme = "README.md"
edition = "2021"

[workspace.dependencies]
shared = {{ path = "libs/shared" }}
serde = "1"

[workspace.metadata.dist]
cargo-dist-version = "0.34.0"
targets = ["{host}"]
installers = ["shell"]
ci = []
"#
        ),
    )
    .file("README.md", "# readers\n")
    .file("LICENSE", "MIT\n");
    let main = "fn main() {}\n";
    fx.file(
        "apps/alpha/Cargo.toml",
        r#"[package]
name = "alpha"
version.workspace = true
edition.workspace = true
license.workspace = true
repository.workspace = true
readme.workspace = true
description = "the first app"

[dependencies]
shared.workspace = true
serde = { workspace = true, optional = true }
regex = { version = "1", optional = true }

[target.'cfg(unix)'.dependencies]
unixy = { path = "../../libs/unixy" }

[dev-dependencies]
testkit = { path = "../../libs/testkit" }

[features]
fancy = ["dep:regex"]

[package.metadata.notes]
tags = ["a", "b"]
nested = { level = 2, ratio = 0.5 }
"#,
    )
    .file("apps/alpha/src/main.rs", main)
    .file("apps/alpha/src/bin/alpha-extra.rs", main)
    .file("apps/alpha/src/bin/alpha-dir/main.rs", main)
    .file("apps/alpha/src/bin/.hidden.rs", main)
    .file("apps/alpha/build.rs", main)
    .file("apps/alpha/examples/demo.rs", main)
    .file("apps/alpha/tests/it.rs", "")
    .file("apps/alpha/benches/speed/main.rs", main);
    // Edition 2015 (no `edition`): declaring a bin turns discovery off.
    fx.file(
        "apps/beta/Cargo.toml",
        r#"[package]
name = "beta"
version = "0.2.0"
repository = "https://github.com/example/readers"
readme = false

[[bin]]
name = "beta-cli"
path = "src/cli.rs"
"#,
    )
    .file("apps/beta/src/cli.rs", main)
    .file("apps/beta/src/main.rs", main)
    .file("apps/beta/src/bin/ignored.rs", main)
    .file("apps/beta/README.md", "# beta\n");
    // 2021: declared bins without paths are found by name; the rest are still discovered.
    fx.file(
        "apps/gamma/Cargo.toml",
        r#"[package]
name = "gamma"
version = "0.3.0"
edition = "2021"
repository = "https://github.com/example/readers"
build = "gen/build.rs"

[lib]
crate-type = ["cdylib", "rlib"]
path = "src/ffi.rs"

[[bin]]
name = "gamma"

[[example]]
name = "walk"
path = "demos/walk.rs"
"#,
    )
    .file("apps/gamma/src/main.rs", main)
    .file("apps/gamma/src/ffi.rs", "")
    .file("apps/gamma/src/bin/gamma-tool.rs", main)
    .file("apps/gamma/gen/build.rs", main)
    .file("apps/gamma/demos/walk.rs", main)
    .file("apps/gamma/examples/other.rs", main)
    .file("apps/gamma/README.txt", "gamma\n");
    fx.file(
        "apps/skipped/Cargo.toml",
        "[package]\nname = \"skipped\"\nversion = \"0.1.0\"\n",
    )
    .file("apps/skipped/src/main.rs", main);
    fx.file(
        "tools/legacy/Cargo.toml",
        r#"[package]
name = "legacy"
version = "0.9.0"
edition = "2018"
autobins = false
publish = false

[[bin]]
name = "legacy-main"
path = "src/main.rs"
"#,
    )
    .file("tools/legacy/src/main.rs", main)
    .file("tools/legacy/src/bin/off.rs", main);
    let lib = |dir: &str, name: &str, extra: &str| {
        fx.file(
            &format!("{dir}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"
            ),
        )
        .file(&format!("{dir}/src/lib.rs"), "");
    };
    lib(
        "libs/shared",
        "shared",
        "\n[dependencies]\nmacros = { path = \"../macros\" }\n",
    );
    lib("libs/macros", "macros", "\n[lib]\nproc-macro = true\n");
    lib("libs/unixy", "unixy", "");
    lib("libs/testkit", "testkit", "");
    fx
}

#[test]
fn manifests_are_read_as_cargo_reads_them() {
    let fx = many_rules();
    let args = ["plan", "-o", "json", "--allow-dirty"];
    // Read directly (it fails if the reader had to ask cargo), then by cargo: the same plan.
    let direct = stdout_ok(&fx, "manifests", &args);
    assert_eq!(direct, stdout_ok(&fx, "cargo", &args));
    // Field by field, every target path, feature and README included.
    stdout_ok(&fx, "check", &args);

    // The package list goes to stderr, the plan to stdout.
    let (plan, text) = ok_both(&fx, "manifests", &["plan", "--allow-dirty"]);
    let package = |name: &str| -> Vec<String> {
        let mut lines = text
            .lines()
            .skip_while(|l| !l.starts_with(&format!("  {name} ")));
        let mut bins: Vec<String> = Vec::new();
        assert!(lines.next().is_some(), "no package {name} in\n{text}");
        for l in lines.take_while(|l| l.starts_with("    ")) {
            if let Some(b) = l.trim().strip_prefix("[bin] ") {
                bins.push(b.to_string());
            }
        }
        bins
    };
    assert_eq!(package("alpha"), ["alpha", "alpha-dir", "alpha-extra"]);
    assert_eq!(package("beta"), ["beta-cli"]);
    assert_eq!(package("gamma"), ["gamma", "gamma-tool"]);
    assert_eq!(package("legacy"), ["legacy-main"]);
    for lib in ["shared", "macros", "unixy", "testkit"] {
        assert_eq!(package(lib), Vec::<String>::new(), "{lib}");
    }
    assert!(text.contains("  legacy 0.9.0 (publish = false)"), "{text}");
    assert!(!text.contains("skipped"), "{text}");
    // gamma's README is the README.txt cargo finds beside its manifest.
    assert!(
        plan.contains("      README.txt (readme)\n      gamma (executable)"),
        "{plan}"
    );
}

#[test]
fn what_the_reader_leaves_to_cargo_is_asked_of_cargo() {
    for (what, file, body) in [
        (
            "a [patch] section",
            "Cargo.toml.extra",
            "\n[patch.crates-io]\nserde = { path = \"libs/testkit\" }\n",
        ),
        (
            "a cargo config that moves the target dir",
            ".cargo/config.toml",
            "[build]\ntarget-dir = \"elsewhere\"\n",
        ),
        ("a `?` pattern in members", "members", "apps/alph?"),
    ] {
        let fx = many_rules();
        match file {
            "Cargo.toml.extra" => {
                let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
                fx.file("Cargo.toml", &format!("{root}{body}"));
            }
            "members" => {
                let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
                let root = root.replace(
                    "\"tools/legacy\"]",
                    &format!("\"tools/legacy\", \"{body}\"]"),
                );
                fx.file("Cargo.toml", &root);
            }
            _ => {
                fx.file(file, body);
            }
        }
        let args = ["plan", "-o", "json", "--allow-dirty"];
        let out = run(&fx, "manifests", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains("needs `cargo metadata`") && stderr.contains("CARGO_DIST_METADATA"),
            "{what}: {stderr}"
        );
        // By default, cargo answers: the same plan as when it is always asked.
        assert_eq!(
            stdout_ok(&fx, "", &args),
            stdout_ok(&fx, "cargo", &args),
            "{what}"
        );
    }
}

#[test]
fn an_unknown_reader_is_named() {
    let fx = many_rules();
    let out = run(&fx, "sometimes", &["plan", "--allow-dirty"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CARGO_DIST_METADATA is `sometimes`") && stderr.contains("`check`"),
        "{stderr}"
    );
}

/// Cases found by running both readers on hand-made workspaces: `readme = true` inherited
/// (README.md of the root, not of the member), a member named literally under an excluded
/// directory (kept) beside a path dependency there (not a member), an edition-2015 `[[test]]`
/// found by name, a declared lib name and crate types, every field inherited.
#[test]
fn inherited_readme_true_and_exclude_exceptions_read_as_cargo_reads_them() {
    let fx = Fixture::new();
    let main = "fn main() {}\n";
    fx.file(
        "Cargo.toml",
        r#"[workspace]
members = ["a", "nest/*", "nest/keep"]
exclude = ["nest"]

[workspace.package]
publish = false
license = "MIT"
description = "shared"
homepage = "https://example.com"
readme = true
version = "3.1.4-beta.1+build.5"
"#,
    )
    .file(
        "a/Cargo.toml",
        r#"[package]
name = "a"
version.workspace = true
publish.workspace = true
license.workspace = true
description.workspace = true
homepage = { workspace = true }
readme.workspace = true

[lib]
name = "a_core"
path = "src/core.rs"
crate-type = ["rlib", "dylib"]

[[test]]
name = "t1"

[dependencies]
keep = { path = "../nest/keep", optional = true }
drop = { path = "../nest/drop" }
"#,
    )
    .file("a/src/core.rs", "")
    .file("a/src/main.rs", main)
    .file("a/tests/t1.rs", "")
    .file("a/README.md", "# a\n");
    for n in ["keep", "drop"] {
        fx.file(
            &format!("nest/{n}/Cargo.toml"),
            &format!("[package]\nname = \"{n}\"\nversion = \"0.1.0\"\n"),
        )
        .file(&format!("nest/{n}/src/main.rs"), main);
    }
    let args = ["plan", "-o", "json", "--allow-dirty"];
    let direct = stdout_ok(&fx, "manifests", &args);
    assert_eq!(direct, stdout_ok(&fx, "cargo", &args));
    stdout_ok(&fx, "check", &args);
    let (_, packages) = ok_both(&fx, "manifests", &args);
    assert!(packages.contains("  keep 0.1.0\n"), "{packages}");
    assert!(!packages.contains("drop"), "{packages}");
}
