//! A dist workspace listing several Cargo workspaces (`members = ["cargo:alpha", "cargo:beta"]`,
//! no Cargo workspace at its root), or one in a subdirectory: each App is built in its own Cargo
//! workspace (its lockfile, vendored crates, `[profile.dist]` and sandbox), and the release,
//! the workflow and `target/distrib` are the dist workspace's, at the dist file's directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::{host_triple, recipe_states, routes_of, run_ok, untar, Fixture, Server};

/// alpha/: a one-package workspace, no dependencies. beta/: a virtual workspace whose App
/// depends on a path library beside it and on the itoa this project locks, with a
/// `[profile.dist]` of its own.
fn two_workspaces(host: &str) -> Fixture {
    let fx = Fixture::new();
    let (itoa, checksum) = crate::hermetic::locked_itoa();
    fx.file(
        "dist-workspace.toml",
        &format!("[workspace]\nmembers = [\"cargo:alpha\", \"cargo:beta\"]\n\n[dist]\ntargets = [\"{host}\"]\ninstallers = [\"shell\"]\n"),
    )
    .file("LICENSE", "MIT\n")
    .package("alpha", "alpha", "0.2.0", &["alpha"], "repository = \"https://github.com/example/mw\"\n\n[workspace]\n")
    .file("alpha/src/main.rs", "fn main() {\n    println!(\"alpha says hi\");\n}\n")
    .file("alpha/README.md", "# alpha\n")
    .file("alpha/Cargo.lock", "version = 4\n\n[[package]]\nname = \"alpha\"\nversion = \"0.2.0\"\n")
    .file("beta/Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[profile.dist]\ninherits = \"release\"\nopt-level = 1\n")
    .package(
        "beta/crates/beta",
        "beta",
        "0.2.0",
        &["beta"],
        &format!("repository = \"https://github.com/example/mw\"\n\n[dependencies]\nutil = {{ path = \"../util\" }}\nitoa = \"={itoa}\"\n"),
    )
    .file(
        "beta/crates/beta/src/main.rs",
        "fn main() {\n    println!(\"beta: {} {}\", util::word(), itoa::Buffer::new().format(42));\n}\n",
    )
    .package("beta/crates/util", "util", "0.2.0", &[], "publish = false\n")
    .file("beta/crates/util/src/lib.rs", "pub fn word() -> &'static str {\n    \"util\"\n}\n")
    .file(
        "beta/Cargo.lock",
        &format!("version = 4\n\n[[package]]\nname = \"beta\"\nversion = \"0.2.0\"\ndependencies = [\n \"itoa\",\n \"util\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"{itoa}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{checksum}\"\n\n[[package]]\nname = \"util\"\nversion = \"0.2.0\"\n"),
    );
    fx
}

/// Unpacks `app`'s host archive and runs its binary.
fn run_archived(root: &Path, scratch: &Path, app: &str, host: &str) -> String {
    let dest = scratch.join(app);
    untar(
        &root.join(format!("target/distrib/{app}-{host}.tar.xz")),
        &dest,
        &["xJf"],
    );
    let out = run_ok(&mut Command::new(
        dest.join(format!("{app}-{host}")).join(app),
    ));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn several_cargo_workspaces_release_together() {
    let host = host_triple();
    let fx = two_workspaces(&host);
    let plan = fx.json(&["plan", "-o", "json"]);
    assert_eq!(plan["announcement_tag"], "v0.2.0", "{plan}");
    let apps: Vec<&str> = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["app_name"].as_str().unwrap())
        .collect();
    assert_eq!(apps, ["alpha", "beta"], "util has no binary: not an App");

    let built = fx.json(&["build", "--artifacts=all", "-o", "json"]);
    let scratch = fx.dir.path().join("unpacked");
    assert_eq!(
        run_archived(fx.root(), &scratch, "alpha", &host),
        "alpha says hi\n"
    );
    assert_eq!(
        run_archived(fx.root(), &scratch, "beta", &host),
        "beta: util 42\n"
    );
    // Each Cargo workspace builds in its own sandbox against its own vendored crates.
    let work = fx.root().join("target/dist-work");
    assert!(work.join(format!("targets/{host}/0-alpha")).is_dir());
    assert!(work.join(format!("targets/{host}/1-beta")).is_dir());
    assert!(work.join("vendor/1-beta").is_dir() && !work.join("vendor/0-alpha").exists());
    let sums = std::fs::read_to_string(fx.root().join("target/distrib/sha256.sum")).unwrap();
    for app in ["alpha", "beta"] {
        assert!(sums.contains(&format!("{app}-{host}.tar.xz")), "{sums}");
    }

    // beta's shell installer, from a server on 127.0.0.1, installs a binary that runs.
    let distrib = fx.root().join("target/distrib");
    let files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&distrib)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    let server = Server::start(routes_of(files), 4);
    let install = fx.dir.path().join("installed");
    let out = Command::new("dash")
        .arg(distrib.join("beta-installer.sh"))
        .env("HOME", fx.dir.path())
        .env("BETA_DOWNLOAD_URL", server.base_url())
        .env("BETA_NO_MODIFY_PATH", "1")
        .env("BETA_INSTALL_DIR", &install)
        .output()
        .expect("dash runs (apt install dash)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran = run_ok(&mut Command::new(install.join("bin/beta")));
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "beta: util 42\n");

    // An edit in alpha rebuilds alpha's binary only.
    fx.file(
        "alpha/src/main.rs",
        "fn main() {\n    println!(\"alpha says bye\");\n}\n",
    );
    let again = fx.json(&["build", "--artifacts=all", "--allow-dirty", "-o", "json"]);
    let (before, after) = (recipe_states(&built), recipe_states(&again));
    let alpha = format!("alpha-{host}.tar.xz");
    let beta = format!("beta-{host}.tar.xz");
    assert!(
        !after[&alpha].0 && after[&alpha].1 != before[&alpha].1,
        "{again}"
    );
    assert!(
        after[&beta].0 && after[&beta].1 == before[&beta].1,
        "{again}"
    );
    assert_eq!(
        run_archived(fx.root(), &scratch.join("2"), "alpha", &host),
        "alpha says bye\n"
    );
}

#[test]
fn several_cargo_workspaces_are_named_on_a_clash_and_get_their_own_profiles() {
    let host = host_triple();
    let fx = two_workspaces(&host);
    // `init` gives each Cargo workspace a [profile.dist] where it lacks one; the dist file
    // holds the config.
    fx.ok(&["init", "--yes", "--installer", "shell"]);
    let alpha = std::fs::read_to_string(fx.root().join("alpha/Cargo.toml")).unwrap();
    assert!(
        alpha.contains("[profile.dist]\ninherits = \"release\""),
        "{alpha}"
    );
    let beta = std::fs::read_to_string(fx.root().join("beta/Cargo.toml")).unwrap();
    assert!(
        beta.contains("[profile.dist]\ninherits = \"release\"\nopt-level = 1\n"),
        "{beta}"
    );
    let dist = std::fs::read_to_string(fx.root().join("dist-workspace.toml")).unwrap();
    assert!(!dist.contains("[profile"), "{dist}");
    assert!(
        dist.contains("members = [\"cargo:alpha\", \"cargo:beta\"]"),
        "{dist}"
    );

    // The same package name in two members: an error naming both.
    fx.package("alpha/tools", "util", "0.1.0", &[], "");
    fx.file(
        "alpha/Cargo.toml",
        "[package]\nname = \"alpha\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[workspace]\nmembers = [\"tools\"]\n",
    );
    let err = fx.fails(&["plan"], 1);
    assert!(
        err.contains("dist-workspace.toml")
            && err.contains("package `util` is in two members")
            && err.contains("alpha/tools")
            && err.contains("beta/crates/util"),
        "{err}"
    );
}

/// One Cargo workspace in a subdirectory (`members = ["cargo:beta"]`, as ferrules lays it out):
/// the workflow goes to the repository's `.github`, the release to its `target/distrib`, run
/// from the root or from inside the member; the App's keys are those of the member alone.
#[test]
fn one_cargo_workspace_in_a_subdirectory_releases_from_the_root() {
    let host = host_triple();
    let fx = two_workspaces(&host);
    let several = fx.json(&["plan", "-o", "json"]);
    fx.file(
        "dist-workspace.toml",
        &format!("[workspace]\nmembers = [\"cargo:beta\"]\n\n[dist]\ntargets = [\"{host}\"]\ninstallers = [\"shell\"]\nci = \"github\"\n"),
    );
    fx.ok(&["generate"]);
    assert!(fx.root().join(".github/workflows/release.yml").is_file());
    assert!(!fx.root().join("beta/.github").exists());
    fx.ok(&["build"]);
    let planned = fx.json(&["plan", "-o", "json"]);
    let archive = format!("beta-{host}.tar.xz");
    assert_eq!(
        planned["artifacts"][&archive]["recipe"]["key"],
        several["artifacts"][&archive]["recipe"]["key"],
        "the member's build is keyed as in the dist workspace of two"
    );
    assert_eq!(
        run_archived(fx.root(), &fx.dir.path().join("unpacked"), "beta", &host),
        "beta: util 42\n"
    );
    assert!(!fx.root().join("beta/target/distrib").exists());
    // From inside the member (in a git work tree, which bounds the search upwards), the same
    // dist workspace.
    crate::support::commit_all(&fx);
    let mut cmd = crate::support::dist_command(
        &fx.root().join("beta/crates/beta"),
        &fx.store(),
        &["plan", "-o", "json"],
    );
    let inside: serde_json::Value = serde_json::from_slice(&run_ok(&mut cmd).stdout).unwrap();
    assert_eq!(
        inside["artifacts"][&archive]["recipe"]["key"],
        planned["artifacts"][&archive]["recipe"]["key"]
    );
}
