//! The manifest fields other tools read (release notes, installers, updaters, release-plz,
//! cargo-binstall, cargo-dist-schema consumers), as cargo-dist 0.34 writes them for the same
//! config: checksum links, release display names, the top-level flags and the CI build matrix.

use serde_json::Value;

use crate::support::{commit_all, dist_app};

const WINDOWS: &str = "x86_64-pc-windows-msvc";

#[test]
fn manifest_fields_other_tools_read_follow_the_config() {
    let fx = dist_app(
        "field-app",
        "hi",
        &format!(
            "ci = \"github\"\nallow-dirty = [\"ci\"]\nhosting = \"github\"\ntargets = [\"x86_64-unknown-linux-gnu\", \"x86_64-unknown-linux-musl\", \"aarch64-apple-darwin\", \"{WINDOWS}\"]\ninstallers = [\"npm\", \"msi\"]\nnpm-scope = \"@fields\"\nnpm-package = \"field-cli\"\ndisplay-name = \"Field App\"\nforce-latest = true\ngithub-attestations = true\n\n[workspace.metadata.dist.github-custom-runners]\naarch64-apple-darwin = \"macos-13\"\n"
        ),
    );
    commit_all(&fx);
    let out = fx.ok(&["plan", "-o", "json"]);
    // cargo-dist's own schema reads it.
    let _: cargo_dist_schema::DistManifest = serde_json::from_str(&out).unwrap();
    let m: Value = serde_json::from_str(&out).unwrap();
    let a = &m["artifacts"];
    assert_eq!(a["source.tar.gz"]["checksum"], "source.tar.gz.sha256");
    let msi = format!("field-app-{WINDOWS}.msi");
    assert_eq!(a[&msi]["checksum"], format!("{msi}.sha256"));
    assert_eq!(a[&msi]["description"], "install via msi");
    assert_eq!(
        a[&msi]["assets"],
        serde_json::json!([{"name": "field-app", "path": "field-app.exe", "kind": "executable"}])
    );
    let npm = &a["field-app-npm-package.tar.gz"];
    assert_eq!(npm["install_hint"], "npm install @fields/field-cli@0.1.0");
    assert_eq!(
        npm["description"],
        "Install prebuilt binaries into your npm project"
    );
    let release = &m["releases"][0];
    assert_eq!(release["display_name"], "Field App");
    assert_eq!(release["display"], true);
    assert_eq!(release["hosting"]["order"], serde_json::json!(["github"]));
    assert_eq!(m["force_latest"], true);
    assert_eq!(m["github_attestations"], true);
    // The build matrix: each target's runner and the runner's own triple (a label's, or the
    // default runner's: musl builds on glibc Ubuntu).
    let github = &m["ci"]["github"];
    assert_eq!(github["pr_run_mode"], "plan");
    let rows: Vec<(String, String, String)> = github["artifacts_matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(
                e["dist_args"],
                format!(
                    "--artifacts=local --target={}",
                    e["targets"][0].as_str().unwrap()
                )
            );
            let text = |k: &str| e[k].as_str().unwrap().to_string();
            (
                e["targets"][0].as_str().unwrap().to_string(),
                text("runner"),
                text("host"),
            )
        })
        .collect();
    let row = |t: &str, r: &str, h: &str| (t.to_string(), r.to_string(), h.to_string());
    assert_eq!(
        rows,
        [
            row("aarch64-apple-darwin", "macos-13", "x86_64-apple-darwin"),
            row(WINDOWS, "windows-2022", WINDOWS),
            row(
                "x86_64-unknown-linux-gnu",
                "ubuntu-22.04",
                "x86_64-unknown-linux-gnu"
            ),
            row(
                "x86_64-unknown-linux-musl",
                "ubuntu-22.04",
                "x86_64-unknown-linux-gnu"
            ),
        ]
    );
}

/// Without those keys: not latest, no attestations, the App's own name, no order, and no `ci`
/// without `ci = "github"`.
#[test]
fn manifest_fields_without_their_keys_take_cargo_dists_defaults() {
    let plain = dist_app(
        "plain-app",
        "hi",
        "targets = [\"x86_64-unknown-linux-gnu\"]\n",
    );
    let m: Value = serde_json::from_str(&plain.ok(&["plan", "-o", "json"])).unwrap();
    assert_eq!(m["force_latest"], false);
    assert!(
        m.get("github_attestations").is_none() && m.get("ci").is_none(),
        "{m}"
    );
    assert_eq!(m["releases"][0]["display_name"], "plain-app");
    assert!(m["releases"][0]["hosting"].get("order").is_none(), "{m}");
}

/// An `include` of an auto-included file's name is one archive member listed under both its
/// roles, as cargo-dist 0.34 lists it; the archive holds the included file once.
#[test]
fn an_included_auto_include_is_listed_under_both_kinds_and_archived_once() {
    let host = crate::support::host_triple();
    let fx = dist_app(
        "twice-app",
        "hi",
        &format!("targets = [\"{host}\"]\ninclude = [\"README.md\", \"docs/LICENSE\"]\n"),
    );
    fx.file("docs/LICENSE", "another licence\n");
    commit_all(&fx);
    let m: Value = fx.json(&["build", "-o", "json"]);
    let archive = crate::support::archive_name("twice-app", &host);
    let mut assets: Vec<(String, String)> = m["artifacts"][&archive]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().into(),
                a["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assets.sort();
    let want = [
        ("CHANGELOG.md", "changelog"),
        ("LICENSE", "license"),
        ("LICENSE", "unknown"),
        ("README.md", "readme"),
        ("README.md", "unknown"),
        ("twice-app", "executable"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, k)| (p.to_string(), k.to_string()))
        .collect();
    assert_eq!(assets, want);
    let listing = std::process::Command::new("tar")
        .arg("tJf")
        .arg(fx.root().join("target/distrib").join(&archive))
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert_eq!(listing.matches("/README.md").count(), 1, "{listing}");
    let licence = listing.lines().find(|l| l.ends_with("/LICENSE")).unwrap();
    assert_eq!(listing.matches("/LICENSE").count(), 1, "{listing}");
    let dir = fx.dir.path().join("unpacked");
    crate::support::untar(
        &fx.root().join("target/distrib").join(&archive),
        &dir,
        &["xJf"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(licence)).unwrap(),
        "another licence\n"
    );
}
