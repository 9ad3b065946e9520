//! Generic (`dist:`) members: a C program with a Makefile, released like a Cargo App. Its
//! build runs in the sandbox, its archive is unpacked and run, its shell installer installs it
//! from a local HTTP server, and its key covers its own files only.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{
    archive_name, commit_all, distrib_files, host_triple, recipe_states, routes_of, run_ok,
    sha256sum_check, untar, Fixture, Server,
};

const APP: &str = "hello-c";

/// A C program in `dir` whose output names the target the build was told of.
fn c_member(fx: &Fixture, dir: &str, version: &str, dist: &str) {
    fx.file(
        &format!("{dir}/dist.toml"),
        &format!(
            "[package]\nname = \"{APP}\"\nversion = \"{version}\"\ndescription = \"A C program\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/hello-c\"\nbinaries = [\"{APP}\"]\nbuild-command = [\"make\"]\nout-dir = \"out\"\n{dist}"
        ),
    )
    .file(
        &format!("{dir}/Makefile"),
        "out/hello-c: main.c\n\tmkdir -p out\n\t$(CC) -O2 -DTARGET='\"$(CARGO_DIST_TARGET)\"' -o out/hello-c main.c\n",
    )
    .file(&format!("{dir}/main.c"), &c_source("hello from C"));
}

fn c_source(greeting: &str) -> String {
    format!("#include <stdio.h>\nint main(void) {{ printf(\"{greeting} for %s\\n\", TARGET); return 0; }}\n")
}

/// A workspace of the C program alone, for the host.
fn generic_only() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "dist-workspace.toml",
        &format!(
            "[workspace]\nmembers = [\"dist:{APP}\"]\n\n[dist]\ntargets = [\"{}\"]\ninstallers = [\"shell\"]\n",
            host_triple()
        ),
    )
    .file("README.md", "# hello-c\n");
    c_member(&fx, APP, "0.3.0", "");
    commit_all(&fx);
    fx
}

/// Unpacks `archive` from target/distrib and runs `bin` from it.
fn run_archived(fx: &Fixture, archive: &str, bin: &str) -> String {
    let unpacked = tempfile::tempdir_in(fx.dir.path()).unwrap();
    untar(
        &fx.root().join("target/distrib").join(archive),
        unpacked.path(),
        &["xJf"],
    );
    run(&unpacked
        .path()
        .join(archive.trim_end_matches(".tar.xz"))
        .join(bin))
}

fn run(program: &Path) -> String {
    let out = run_ok(&mut Command::new(program));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_generic_member_is_built_archived_checksummed_and_installed() {
    let fx = generic_only();
    let host = host_triple();
    let manifest: Value = fx.json(&["build", "-o", "json"]);
    assert_eq!(manifest["releases"][0]["app_name"], APP);
    assert_eq!(manifest["releases"][0]["app_version"], "0.3.0");
    let archive = archive_name(APP, &host);
    let kinds: Vec<(String, String)> = manifest["artifacts"][&archive]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().into(),
                a["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&(APP.into(), "executable".into())),
        "{kinds:?}"
    );

    let distrib = fx.root().join("target/distrib");
    sha256sum_check(&distrib, &format!("{archive}.sha256"));
    let unpacked = fx.dir.path().join("unpacked");
    untar(&distrib.join(&archive), &unpacked, &["xJf"]);
    let inside = unpacked.join(archive.trim_end_matches(".tar.xz"));
    assert_eq!(run(&inside.join(APP)), format!("hello from C for {host}\n"));
    assert!(
        inside.join("README.md").is_file(),
        "the root README is auto-included"
    );

    // The shell installer fetches the archive from a local server and installs the program.
    let server = Server::start(routes_of(distrib_files(fx.root())), 4);
    let install = fx.dir.path().join("install");
    let home = fx.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run_ok(
        Command::new("sh")
            .arg(distrib.join(format!("{APP}-installer.sh")))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("HELLO_C_DOWNLOAD_URL", server.base_url())
            .env("HELLO_C_NO_MODIFY_PATH", "1")
            .env("HELLO_C_INSTALL_DIR", &install),
    );
    assert_eq!(
        run(&install.join("bin").join(APP)),
        format!("hello from C for {host}\n")
    );

    // Built once: a second build finds every recipe in the store.
    let again = fx.json(&["build", "-o", "json"]);
    let rebuilt: Vec<String> = recipe_states(&again)
        .into_iter()
        .filter(|(_, (cached, _))| !cached)
        .map(|(name, _)| name)
        .collect();
    assert!(rebuilt.is_empty(), "rebuilt on a second run: {rebuilt:?}");
    let rows = fx.ok(&["store", "ls"]);
    assert!(
        rows.contains(&format!("{APP}-{host} (build-command)")),
        "{rows}"
    );
}

#[test]
fn a_generic_build_is_keyed_over_its_files_and_reports_what_it_did_not_make() {
    let fx = generic_only();
    let host = host_triple();
    let archive = archive_name(APP, &host);
    let first = recipe_states(&fx.json(&["build", "-o", "json"]));
    // A file outside the member (the root README is an archive member, not a build input)
    // leaves the program's build alone; the archive changes.
    fx.file("README.md", "# hello-c, renamed\n");
    let (_, stderr) = fx.ok_both(&["build", "--allow-dirty"]);
    assert!(
        !stderr.contains(&format!("built {APP}-{host} (build-command)")),
        "{stderr}"
    );
    let second = recipe_states(&fx.json(&["build", "--allow-dirty", "-o", "json"]));
    assert_ne!(second[&archive].1, first[&archive].1);
    // Its own source is an input: the program is rebuilt with the new text.
    fx.file(&format!("{APP}/main.c"), &c_source("hi again"));
    let (_, stderr) = fx.ok_both(&["build", "--allow-dirty"]);
    assert!(
        stderr.contains(&format!("built {APP}-{host} (build-command)")),
        "{stderr}"
    );
    assert_eq!(
        run_archived(&fx, &archive, APP),
        format!("hi again for {host}\n")
    );

    // A binary the command does not make, and a command that fails, are named.
    let dist = std::fs::read_to_string(fx.root().join(APP).join("dist.toml")).unwrap();
    fx.file(
        &format!("{APP}/dist.toml"),
        &dist.replace("out-dir = \"out\"", "out-dir = \"bin\""),
    );
    let e = fx.fails(&["build", "--allow-dirty"], 1);
    assert!(
        e.contains("made no hello-c in hello-c/bin") && e.contains("`out-dir`"),
        "{e}"
    );
    fx.file(
        &format!("{APP}/dist.toml"),
        &dist.replace("[\"make\"]", "[\"make\", \"no-such-goal\"]"),
    );
    let e = fx.fails(&["build", "--allow-dirty"], 1);
    assert!(
        e.contains("`make no-such-goal` of hello-c") && e.contains("no-such-goal"),
        "{e}"
    );
    assert!(
        !fx.root().join(APP).join("out").exists(),
        "the build ran in the member's own dir"
    );
}

#[test]
fn cargo_and_generic_members_release_together_and_build_apart() {
    let fx = Fixture::new();
    let host = host_triple();
    fx.package(".", "rusty", "0.3.0", &["rusty"], "repository = \"https://github.com/example/mix\"\n")
        .file(
            "dist-workspace.toml",
            &format!("[workspace]\nmembers = [\"cargo:.\", \"dist:tools/{APP}\"]\n\n[dist]\ntargets = [\"{host}\"]\ninstallers = [\"shell\"]\n"),
        );
    // The member's own [dist] is its package config.
    c_member(
        &fx,
        &format!("tools/{APP}"),
        "0.3.0",
        "\n[dist]\ninstallers = []\n",
    );
    run_ok(
        Command::new("cargo")
            .args(["generate-lockfile", "-q"])
            .current_dir(fx.root()),
    );
    commit_all(&fx);
    let manifest = fx.json(&["build", "-o", "json"]);
    assert_eq!(manifest["announcement_tag"], "v0.3.0");
    let names: Vec<&String> = manifest["artifacts"].as_object().unwrap().keys().collect();
    assert!(
        names.contains(&&format!("{APP}-{host}.tar.xz")),
        "{names:?}"
    );
    assert!(
        names.contains(&&"rusty-installer.sh".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&&format!("{APP}-installer.sh")),
        "{names:?}"
    );

    // The C source is no input of the cargo build, nor the Rust source of the C build.
    let (c, rust) = (
        format!("built {APP}-{host} (build-command)"),
        format!("built rusty-{host} (cargo build)"),
    );
    fx.file(&format!("tools/{APP}/main.c"), &c_source("changed"));
    let (_, stderr) = fx.ok_both(&["build", "--allow-dirty"]);
    assert!(stderr.contains(&c) && !stderr.contains(&rust), "{stderr}");
    fx.file("src/main.rs", "fn main() { println!(\"changed\"); }\n");
    let (_, stderr) = fx.ok_both(&["build", "--allow-dirty"]);
    assert!(stderr.contains(&rust) && !stderr.contains(&c), "{stderr}");
}

#[test]
fn generic_members_are_read_strictly() {
    let fx = generic_only();
    let dist = std::fs::read_to_string(fx.root().join(APP).join("dist.toml")).unwrap();
    let cases = [
        (
            dist.replace("build-command = [\"make\"]\n", ""),
            "has no `build-command`",
        ),
        (dist.replace("[\"make\"]", "\"make\""), "invalid type"),
        (
            dist.replace("\"0.3.0\"", "\"three\""),
            "`version` in [package] is \"three\"",
        ),
        (
            format!("{dist}cdylibs = [\"x\"]\n"),
            "`cdylibs` in [package]",
        ),
    ];
    for (text, want) in cases {
        fx.file(&format!("{APP}/dist.toml"), &text);
        let e = fx.fails(&["plan"], 1);
        assert!(
            e.contains("hello-c/dist.toml") && e.contains(want),
            "{want}: {e}"
        );
    }
    fx.file(&format!("{APP}/dist.toml"), &dist);
    // Options only cargo builds have are refused, as cargo-dist refuses them.
    let ws = std::fs::read_to_string(fx.root().join("dist-workspace.toml")).unwrap();
    fx.file(
        "dist-workspace.toml",
        &format!("{ws}cargo-auditable = true\n"),
    );
    let e = fx.fails(&["plan"], 1);
    assert!(
        e.contains("package hello-c") && e.contains("`cargo-auditable`"),
        "{e}"
    );
    fx.file("dist-workspace.toml", &ws.replace("dist:hello-c", "go:web"));
    let e = fx.fails(&["plan"], 1);
    assert!(e.contains("\"go:web\"") && e.contains("npm:PATH"), "{e}");
}

/// The generic-c shape: one `[package]` in dist-workspace.toml itself, its `[dist]` the
/// workspace's config.
#[test]
fn a_dist_workspace_file_with_its_own_package_is_one_generic_app() {
    let fx = Fixture::new();
    let host = host_triple();
    c_member(
        &fx,
        ".",
        "1.2.0",
        &format!("\n[dist]\ntargets = [\"{host}\"]\n"),
    );
    std::fs::rename(
        fx.root().join("dist.toml"),
        fx.root().join("dist-workspace.toml"),
    )
    .unwrap();
    commit_all(&fx);
    let manifest = fx.json(&["build", "-o", "json"]);
    assert_eq!(manifest["announcement_tag"], "v1.2.0");
    let archive = archive_name(APP, &host);
    assert_eq!(
        run_archived(&fx, &archive, APP),
        format!("hello from C for {host}\n")
    );
}

/// An npm member as cargo-dist reads one: `package.json` names the package (its scope dropped),
/// version and binaries, and its `dist` script is the build (`npm run dist`, with the real npm).
#[test]
fn an_npm_member_builds_with_its_dist_script() {
    crate::support::servers::need("npm", "npm");
    let fx = Fixture::new();
    let host = host_triple();
    fx.file(
        "dist-workspace.toml",
        &format!("[workspace]\nmembers = [\"npm:say\"]\n\n[dist]\ntargets = [\"{host}\"]\ninstallers = [\"npm\"]\n"),
    )
    .file(
        "say/package.json",
        r#"{"name": "@acme/say-js", "version": "0.5.0", "license": "MIT",
            "repository": "github:acme/say-js", "bin": {"say-js": "index.js"},
            "scripts": {"dist": "node build.js"}}"#,
    )
    .file("say/index.js", "console.log('say-js');\n")
    .file(
        "say/build.js",
        "const fs = require('fs');\nfs.writeFileSync('say-js', '#!/bin/sh\\necho \"say-js for ' + process.env.CARGO_DIST_TARGET + '\"\\n', { mode: 0o755 });\n",
    );
    commit_all(&fx);
    let manifest = fx.json(&["build", "-o", "json"]);
    assert_eq!(manifest["announcement_tag"], "v0.5.0");
    assert_eq!(manifest["releases"][0]["app_name"], "say-js");
    // The package's scope is its npm installer's, as in cargo-dist.
    let hint = &manifest["artifacts"]["say-js-npm-package.tar.gz"]["install_hint"];
    assert_eq!(hint, "npm install @acme/say-js@0.5.0");
    let archive = archive_name("say-js", &host);
    assert_eq!(
        run_archived(&fx, &archive, "say-js"),
        format!("say-js for {host}\n")
    );
    assert!(
        !fx.root().join("say/say-js").exists(),
        "built in the sandbox, not in say/"
    );
}

/// `init` in a workspace of generic members edits the dist file's `[dist]` and nothing else:
/// there is no Cargo.toml to give a `[profile.dist]`.
#[test]
fn init_of_a_generic_workspace_edits_only_its_dist_table() {
    let fx = generic_only();
    let before = std::fs::read_to_string(fx.root().join("dist-workspace.toml")).unwrap();
    fx.ok(&["init", "--yes", "--installer", "shell", "--ci", "github"]);
    let after = std::fs::read_to_string(fx.root().join("dist-workspace.toml")).unwrap();
    assert!(
        after.starts_with("[workspace]\nmembers = [\"dist:hello-c\"]\n"),
        "{after}"
    );
    assert!(
        after.contains("ci = \"github\"") || after.contains("ci = [\"github\"]"),
        "{after}"
    );
    assert!(!after.contains("[profile"), "{after}");
    assert_ne!(before, after);
    assert!(!fx.root().join("Cargo.toml").exists());
    assert!(fx.root().join(".github/workflows/release.yml").is_file());
    let plan = fx.json(&["plan", "-o", "json"]);
    assert_eq!(plan["releases"][0]["app_name"], APP);
}
