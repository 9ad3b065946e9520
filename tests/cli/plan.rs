//! `plan` and `manifest`: announcements, artifact selection, file names, config errors, and the
//! promise that neither writes anything.

use serde_json::Value;

use crate::support::{
    artifact_names, dist_app, evil_root_manifest, evil_workspace, filter_keys, release_names,
    summary, Fixture, EVIL_DIST, REPO,
};

const LINUX: &str = "x86_64-unknown-linux-gnu";
const MAC: &str = "aarch64-apple-darwin";
const WINDOWS: &str = "x86_64-pc-windows-msvc";

/// The start-of-run summary of the evil workspace when no single announcement is chosen.
const EVIL_SUMMARY: &str = "\
packages:
  cdylib-only 0.5.0 (no binaries)
  evil-workspace 0.5.0
    [bin] evil-workspace
  many-bin 0.7.6
    [bin] many-bin
    [bin] other-bin
  private-bin 0.5.0 (publish = false)
    [bin] private-bin
  some-lib 0.2.0 (no binaries)
  third-bin 0.5.0
    [bin] third-bin
";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The archive + checksum names of `app` for `targets` with the default formats.
fn local_artifacts(app: &str, targets: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in targets {
        let ext = if t.contains("windows") {
            ".zip"
        } else {
            ".tar.xz"
        };
        out.push(format!("{app}-{t}{ext}"));
        out.push(format!("{app}-{t}{ext}.sha256"));
    }
    out
}

fn asset_paths(artifact: &Value) -> Vec<(String, String)> {
    artifact["assets"]
        .as_array()
        .unwrap_or_else(|| panic!("no assets in {artifact}"))
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Announcements

#[test]
fn plan_without_tag_lists_every_announcement() {
    let fx = evil_workspace();
    let (stdout, stderr) = fx.ok_both(&["plan"]);
    let expected = "\
announcing v0.5.0
  evil-workspace 0.5.0
    evil-workspace-aarch64-apple-darwin.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      evil-workspace (executable)
    evil-workspace-aarch64-apple-darwin.tar.xz.sha256  [KEY missing]
    evil-workspace-installer.sh  [KEY missing]
    evil-workspace-x86_64-pc-windows-msvc.zip  [KEY missing]
      LICENSE (license)
      README.md (readme)
      evil-workspace.exe (executable)
    evil-workspace-x86_64-pc-windows-msvc.zip.sha256  [KEY missing]
    evil-workspace-x86_64-unknown-linux-gnu.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      evil-workspace (executable)
    evil-workspace-x86_64-unknown-linux-gnu.tar.xz.sha256  [KEY missing]
    sha256.sum  [KEY missing]
  third-bin 0.5.0
    sha256.sum  [KEY missing]
    third-bin-aarch64-apple-darwin.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      third-bin (executable)
    third-bin-aarch64-apple-darwin.tar.xz.sha256  [KEY missing]
    third-bin-installer.sh  [KEY missing]
    third-bin-x86_64-pc-windows-msvc.zip  [KEY missing]
      LICENSE (license)
      README.md (readme)
      third-bin.exe (executable)
    third-bin-x86_64-pc-windows-msvc.zip.sha256  [KEY missing]
    third-bin-x86_64-unknown-linux-gnu.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      third-bin (executable)
    third-bin-x86_64-unknown-linux-gnu.tar.xz.sha256  [KEY missing]

announcing v0.7.6
  many-bin 0.7.6
    many-bin-aarch64-apple-darwin.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      many-bin (executable)
      other-bin (executable)
    many-bin-aarch64-apple-darwin.tar.xz.sha256  [KEY missing]
    many-bin-installer.sh  [KEY missing]
    many-bin-x86_64-pc-windows-msvc.zip  [KEY missing]
      LICENSE (license)
      README.md (readme)
      many-bin.exe (executable)
      other-bin.exe (executable)
    many-bin-x86_64-pc-windows-msvc.zip.sha256  [KEY missing]
    many-bin-x86_64-unknown-linux-gnu.tar.xz  [KEY missing]
      LICENSE (license)
      README.md (readme)
      many-bin (executable)
      other-bin (executable)
    many-bin-x86_64-unknown-linux-gnu.tar.xz.sha256  [KEY missing]
    sha256.sum  [KEY missing]
";
    assert_eq!(filter_keys(&stdout), expected);
    assert_eq!(summary(&stderr), EVIL_SUMMARY);
}

/// As cargo-dist 0.34's `plan -o json`: Apps at different versions and no tag give one
/// manifest, a `v1.0.0-FAKEVER` prerelease covering every App at its own version (what a
/// person sees, `plan` without `-o json`, is one manifest per version).
#[test]
fn plan_json_without_tag_covers_every_app_under_a_fake_version() {
    let fx = evil_workspace();
    let m = fx.json(&["plan", "-o", "json"]);
    assert_eq!(m["announcement_tag"], "v1.0.0-FAKEVER", "{m}");
    assert_eq!(m["announcement_title"], "v1.0.0-FAKEVER");
    assert_eq!(m["announcement_is_prerelease"], true);
    assert_eq!(m["announcement_tag_is_implicit"], true);
    assert_eq!(
        release_names(&m),
        ["evil-workspace 0.5.0", "many-bin 0.7.6", "third-bin 0.5.0"]
    );
    // With a tag, the announcement is the tag's.
    let tagged = fx.json(&["plan", "-o", "json", "--tag", "v0.7.6"]);
    assert_eq!(release_names(&tagged), ["many-bin 0.7.6"]);
    assert_eq!(tagged["announcement_tag_is_implicit"], false);
}

#[test]
fn manifest_without_tag_on_incoherent_workspace_lists_options() {
    let fx = evil_workspace();
    let stderr = summary(&fx.fails(&["manifest"], 1));
    assert!(stderr.contains(
        "error: There are too many unrelated apps in your workspace to coherently Announce!"
    ));
    assert!(
        stderr.contains("  --tag=v0.5.0 will Announce: evil-workspace, third-bin\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  --tag=v0.7.6 will Announce: many-bin"),
        "{stderr}"
    );
    // The summary still comes first, unfiltered by any tag.
    assert!(stderr.starts_with(EVIL_SUMMARY), "{stderr}");
}

#[test]
fn singular_tag_selects_one_app_with_all_its_binaries() {
    let fx = evil_workspace();
    let out = fx.cmd(&[
        "manifest",
        "--tag=many-bin-v0.7.6",
        "--artifacts=all",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["announcement_tag"], "many-bin-v0.7.6");
    assert_eq!(v["announcement_title"], "many-bin 0.7.6");
    assert_eq!(release_names(&v), ["many-bin 0.7.6"]);
    let mut want = local_artifacts("many-bin", &[MAC, WINDOWS, LINUX]);
    want.push("many-bin-installer.sh".into());
    want.push("sha256.sum".into());
    assert_eq!(artifact_names(&v), sorted(want));
    assert_eq!(
        asset_paths(&v["artifacts"]["many-bin-x86_64-unknown-linux-gnu.tar.xz"]),
        [
            ("LICENSE".to_string(), "license".to_string()),
            ("README.md".into(), "readme".into()),
            ("many-bin".into(), "executable".into()),
            ("other-bin".into(), "executable".into()),
        ]
    );
    let win = asset_paths(&v["artifacts"]["many-bin-x86_64-pc-windows-msvc.zip"]);
    assert!(
        win.contains(&("many-bin.exe".into(), "executable".into())),
        "{win:?}"
    );
    assert!(
        win.contains(&("other-bin.exe".into(), "executable".into())),
        "{win:?}"
    );

    let stderr = summary(&String::from_utf8(out.stderr).unwrap());
    assert_eq!(
        stderr,
        "\
packages:
  cdylib-only 0.5.0 (no binaries)
  evil-workspace 0.5.0 (didn't match tag)
    [bin] evil-workspace
  many-bin 0.7.6
    [bin] many-bin
    [bin] other-bin
  private-bin 0.5.0 (publish = false)
    [bin] private-bin
  some-lib 0.2.0 (no binaries)
  third-bin 0.5.0 (didn't match tag)
    [bin] third-bin
"
    );
}

#[test]
fn unified_tag_selects_every_app_at_that_version() {
    let fx = evil_workspace();
    let v = fx.json(&["manifest", "--tag=v0.5.0", "-o", "json"]);
    assert_eq!(v["announcement_tag"], "v0.5.0");
    assert_eq!(v["announcement_title"], "v0.5.0");
    assert_eq!(
        release_names(&v),
        ["evil-workspace 0.5.0", "third-bin 0.5.0"]
    );
}

#[test]
fn tag_selecting_no_app_fails_listing_valid_tags() {
    let fx = evil_workspace();
    let stderr = fx.fails(&["manifest", "--tag=v9.9.9"], 1);
    let expected = "\
error: the tag `v9.9.9` selects no App: none is at version 9.9.9

Valid tags for this workspace:
  --tag=v0.5.0 will Announce: evil-workspace, third-bin
  --tag=v0.7.6 will Announce: many-bin
  --tag=evil-workspace-v0.5.0 will Announce: evil-workspace
  --tag=many-bin-v0.7.6 will Announce: many-bin
  --tag=third-bin-v0.5.0 will Announce: third-bin
";
    assert!(stderr.ends_with(expected), "{stderr}");
}

#[test]
fn garbage_tag_fails_listing_valid_tags() {
    let fx = evil_workspace();
    let stderr = fx.fails(&["plan", "--tag=garbage"], 1);
    assert!(
        stderr.contains("error: the tag `garbage` is neither VERSION nor PACKAGE-VERSION"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Valid tags for this workspace:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  --tag=many-bin-v0.7.6 will Announce: many-bin"),
        "{stderr}"
    );
}

#[test]
fn singular_tag_at_wrong_version_names_the_real_one() {
    let fx = evil_workspace();
    let stderr = fx.fails(&["manifest", "--tag=many-bin-v0.1.0"], 1);
    assert!(
        stderr.contains("names package many-bin at version 0.1.0, but it is at version 0.7.6"),
        "{stderr}"
    );
}

#[test]
fn library_tag_gives_a_buildless_announcement() {
    let fx = evil_workspace();
    let v = fx.json(&["manifest", "--tag=some-lib-v0.2.0", "-o", "json"]);
    assert_eq!(v["announcement_tag"], "some-lib-v0.2.0");
    assert_eq!(release_names(&v), ["some-lib 0.2.0"]);
    assert_eq!(v["releases"][0]["artifacts"], serde_json::json!([]));
    assert_eq!(v["artifacts"], serde_json::json!({}));
    assert_eq!(v["upload_files"], serde_json::json!([]));
}

#[test]
fn prerelease_version_is_guessed_as_implicit_prerelease_tag() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n",
    )
    .package("app", "app", "1.0.0-rc.1", &["app"], REPO);
    let v = fx.json(&["manifest", "-o", "json"]);
    assert_eq!(v["announcement_tag"], "v1.0.0-rc.1");
    assert_eq!(v["announcement_tag_is_implicit"], true);
    assert_eq!(v["announcement_is_prerelease"], true);
    assert_eq!(release_names(&v), ["app 1.0.0-rc.1"]);
    let human = fx.ok(&["plan"]);
    assert!(
        human.starts_with("announcing v1.0.0-rc.1 (prerelease)\n"),
        "{human}"
    );
}

// ---------------------------------------------------------------------------------------------
// Artifact selection

#[test]
fn local_artifacts_are_archives_and_their_checksums() {
    let fx = evil_workspace();
    let v = fx.json(&[
        "manifest",
        "--tag=v0.5.0",
        "--artifacts=local",
        "-o",
        "json",
    ]);
    let mut want = local_artifacts("evil-workspace", &[MAC, WINDOWS, LINUX]);
    want.extend(local_artifacts("third-bin", &[MAC, WINDOWS, LINUX]));
    assert_eq!(artifact_names(&v), sorted(want));
    // Each release lists only its selected artifacts.
    assert_eq!(
        v["releases"][0]["artifacts"],
        serde_json::to_value(sorted(local_artifacts(
            "evil-workspace",
            &[MAC, WINDOWS, LINUX]
        )))
        .unwrap()
    );
}

#[test]
fn global_artifacts_are_installers_and_unified_checksum() {
    let fx = evil_workspace();
    let v = fx.json(&[
        "manifest",
        "--tag=v0.5.0",
        "--artifacts=global",
        "-o",
        "json",
    ]);
    assert_eq!(
        artifact_names(&v),
        strs(&[
            "evil-workspace-installer.sh",
            "sha256.sum",
            "third-bin-installer.sh"
        ])
    );
    assert_eq!(v["artifacts"]["sha256.sum"]["kind"], "unified-checksum");
    assert_eq!(
        v["artifacts"]["third-bin-installer.sh"]["install_hint"],
        "curl --proto '=https' --tlsv1.2 -LsSf https://github.com/example/evil/releases/download/v0.5.0/third-bin-installer.sh | sh"
    );
}

#[test]
fn all_artifacts_are_local_plus_global() {
    let fx = evil_workspace();
    let v = fx.json(&["manifest", "--tag=v0.5.0", "--artifacts=all", "-o", "json"]);
    let mut want = local_artifacts("evil-workspace", &[MAC, WINDOWS, LINUX]);
    want.extend(local_artifacts("third-bin", &[MAC, WINDOWS, LINUX]));
    want.extend(strs(&[
        "evil-workspace-installer.sh",
        "sha256.sum",
        "third-bin-installer.sh",
    ]));
    assert_eq!(artifact_names(&v), sorted(want));
    assert_eq!(
        v["upload_files"],
        serde_json::to_value(artifact_names(&v)).unwrap()
    );
}

#[test]
fn local_artifacts_for_one_configured_target() {
    let fx = evil_workspace();
    let v = fx.json(&[
        "manifest",
        "--tag=v0.5.0",
        "--artifacts=local",
        "--target=aarch64-apple-darwin",
        "-o",
        "json",
    ]);
    assert_eq!(
        artifact_names(&v),
        strs(&[
            "evil-workspace-aarch64-apple-darwin.tar.xz",
            "evil-workspace-aarch64-apple-darwin.tar.xz.sha256",
            "third-bin-aarch64-apple-darwin.tar.xz",
            "third-bin-aarch64-apple-darwin.tar.xz.sha256",
        ])
    );
    for (name, a) in v["artifacts"].as_object().unwrap() {
        assert_eq!(a["target_triples"], serde_json::json!([MAC]), "{name}");
    }
}

#[test]
fn unconfigured_target_in_local_mode_fails_naming_it() {
    let fx = evil_workspace();
    let stderr = fx.fails(
        &[
            "manifest",
            "--tag=v0.5.0",
            "--artifacts=local",
            "--target=riscv64gc-unknown-linux-gnu",
        ],
        1,
    );
    assert!(
        stderr.contains(
            "error: --target riscv64gc-unknown-linux-gnu is not a configured target; configured targets: aarch64-apple-darwin, x86_64-pc-windows-msvc, x86_64-unknown-linux-gnu\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--artifacts=host"), "{stderr}");
}

#[test]
fn host_mode_accepts_an_unconfigured_target() {
    let fx = evil_workspace();
    let v = fx.json(&[
        "manifest",
        "--tag=v0.5.0",
        "--target=riscv64gc-unknown-linux-gnu",
        "-o",
        "json",
    ]);
    let riscv = "riscv64gc-unknown-linux-gnu";
    let mut want = local_artifacts("evil-workspace", &[riscv]);
    want.extend(local_artifacts("third-bin", &[riscv]));
    want.extend(strs(&[
        "evil-workspace-installer.sh",
        "sha256.sum",
        "third-bin-installer.sh",
    ]));
    assert_eq!(artifact_names(&v), sorted(want));
    // The installer knows the extra target as well as the configured ones; of Windows, only the
    // GNU (MSYS / Git Bash) platform the MSVC build serves, as cargo-dist lists it.
    assert_eq!(
        v["artifacts"]["third-bin-installer.sh"]["target_triples"],
        serde_json::json!([MAC, riscv, "x86_64-pc-windows-gnu", LINUX])
    );
}

#[test]
fn default_mode_is_host() {
    let fx = evil_workspace();
    let host = rustc_host();
    let v = fx.json(&["manifest", "--tag=many-bin-v0.7.6", "-o", "json"]);
    let names = artifact_names(&v);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with(&format!("many-bin-{host}."))),
        "{names:?}"
    );
    for n in names.iter().filter(|n| n.ends_with(".sha256")) {
        assert!(n.contains(&host), "{n} is not for the host {host}");
    }
    assert!(
        names.contains(&"many-bin-installer.sh".to_string()),
        "{names:?}"
    );
}

fn rustc_host() -> String {
    let out = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("host line")
}

// ---------------------------------------------------------------------------------------------
// File names

#[test]
fn artifact_file_names() {
    let fx = evil_workspace();
    let v = fx.json(&["plan", "--tag=third-bin-v0.5.0", "-o", "json"]);
    assert_eq!(
        artifact_names(&v),
        strs(&[
            "sha256.sum",
            "third-bin-aarch64-apple-darwin.tar.xz",
            "third-bin-aarch64-apple-darwin.tar.xz.sha256",
            "third-bin-installer.sh",
            "third-bin-x86_64-pc-windows-msvc.zip",
            "third-bin-x86_64-pc-windows-msvc.zip.sha256",
            "third-bin-x86_64-unknown-linux-gnu.tar.xz",
            "third-bin-x86_64-unknown-linux-gnu.tar.xz.sha256",
        ])
    );
    assert_eq!(
        v["artifacts"]["third-bin-x86_64-pc-windows-msvc.zip"]["checksum"],
        "third-bin-x86_64-pc-windows-msvc.zip.sha256"
    );
}

#[test]
fn unix_archive_setting_changes_unix_archive_names_only() {
    let fx = evil_workspace();
    fx.file(
        "Cargo.toml",
        &evil_root_manifest(&format!("{EVIL_DIST}unix-archive = \".tar.gz\"\n")),
    );
    let v = fx.json(&["plan", "--tag=third-bin-v0.5.0", "-o", "json"]);
    let names = artifact_names(&v);
    for want in [
        "third-bin-aarch64-apple-darwin.tar.gz",
        "third-bin-aarch64-apple-darwin.tar.gz.sha256",
        "third-bin-x86_64-unknown-linux-gnu.tar.gz",
        "third-bin-x86_64-pc-windows-msvc.zip",
    ] {
        assert!(names.contains(&want.to_string()), "{want} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains(".tar.xz")), "{names:?}");
}

// ---------------------------------------------------------------------------------------------
// JSON compatibility

#[test]
fn plan_json_deserializes_with_cargo_dist_schema() {
    use cargo_dist_schema::{ArtifactKind, DistManifest};
    let fx = evil_workspace();
    let out = fx.ok(&["plan", "--tag=v0.5.0", "-o", "json"]);
    let m: DistManifest = serde_json::from_str(&out).expect("cargo-dist-schema reads it");
    assert_eq!(m.announcement_tag.as_deref(), Some("v0.5.0"));
    assert!(!m.announcement_is_prerelease);
    let apps: Vec<&str> = m.releases.iter().map(|r| r.app_name.as_str()).collect();
    assert_eq!(apps, ["evil-workspace", "third-bin"]);
    for r in &m.releases {
        assert_eq!(r.app_version, "0.5.0");
        assert_eq!(r.artifacts.len(), 8, "{:?}", r.artifacts);
        for a in &r.artifacts {
            assert!(m.artifacts.contains_key(a), "release lists unknown {a}");
        }
    }
    assert_eq!(m.artifacts.len(), 15);
    for (name, a) in &m.artifacts {
        let name = name.as_str();
        let triples: Vec<&str> = a.target_triples.iter().map(|t| t.as_str()).collect();
        let kind_ok = match &a.kind {
            ArtifactKind::ExecutableZip => name.ends_with(".tar.xz") || name.ends_with(".zip"),
            ArtifactKind::Checksum => name.ends_with(".sha256"),
            ArtifactKind::UnifiedChecksum => name == "sha256.sum",
            ArtifactKind::Installer => name.ends_with("-installer.sh"),
            _ => false,
        };
        assert!(kind_ok, "{name} has kind {:?}", a.kind);
        match &a.kind {
            ArtifactKind::ExecutableZip | ArtifactKind::Checksum => {
                assert_eq!(triples.len(), 1, "{name}");
                assert!(name.contains(triples[0]), "{name} vs {triples:?}");
            }
            // Shell installers cover the unix targets and MSYS / Git Bash on Windows.
            ArtifactKind::Installer => {
                assert_eq!(triples, [MAC, "x86_64-pc-windows-gnu", LINUX], "{name}")
            }
            _ => assert!(triples.is_empty(), "{name}: {triples:?}"),
        }
        assert_eq!(a.name.as_ref().map(|n| n.as_str()), Some(name));
        // plan leaves local paths out.
        assert!(a.path.is_none(), "{name}");
    }
    let zip = &m.artifacts["evil-workspace-x86_64-pc-windows-msvc.zip"];
    assert_eq!(
        zip.checksum.as_ref().map(|c| c.as_str()),
        Some("evil-workspace-x86_64-pc-windows-msvc.zip.sha256")
    );
    let exes: Vec<_> = zip
        .assets
        .iter()
        .filter(|a| matches!(a.kind, cargo_dist_schema::AssetKind::Executable(_)))
        .map(|a| (a.name.clone(), a.path.as_ref().map(|p| p.to_string())))
        .collect();
    assert_eq!(
        exes,
        [(
            Some("evil-workspace".to_string()),
            Some("evil-workspace.exe".to_string())
        )]
    );
}

#[test]
fn every_artifact_has_an_uncached_recipe_key_in_a_fresh_store() {
    let fx = evil_workspace();
    let v = fx.json(&["plan", "--tag=v0.5.0", "-o", "json"]);
    let artifacts = v["artifacts"].as_object().unwrap();
    assert!(!artifacts.is_empty());
    for (name, a) in artifacts {
        let key = a["recipe"]["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no recipe.key: {a}"));
        assert_eq!(key.len(), 64, "{name}: {key}");
        assert!(
            key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{name}: {key}"
        );
        assert_eq!(a["recipe"]["cached"], false, "{name}");
    }
    let keys: std::collections::BTreeSet<&str> = artifacts
        .values()
        .map(|a| a["recipe"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys.len(),
        artifacts.len(),
        "every artifact has its own key"
    );
}

#[test]
fn recipe_keys_are_stable_across_runs() {
    let fx = evil_workspace();
    let a = fx.ok(&["plan", "--tag=v0.5.0", "-o", "json"]);
    let b = fx.ok(&["plan", "--tag=v0.5.0", "-o", "json"]);
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------------
// Config errors

#[test]
fn unknown_key_warns_with_the_closest_and_still_plans() {
    let fx = evil_workspace();
    fx.file(
        "Cargo.toml",
        &evil_root_manifest(&format!(
            "{EVIL_DIST}instalers = [\"shell\"]\nsome-future-key = 3\n"
        )),
    );
    let (stdout, stderr) = fx.ok_both(&["plan", "-o", "json"]);
    assert!(
        stderr.contains(
            "warning: unknown key `instalers` in [workspace.metadata.dist] of Cargo.toml is ignored; did you mean `installers`?"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: unknown key `some-future-key` in [workspace.metadata.dist] of Cargo.toml is ignored\n"),
        "{stderr}"
    );
    // Warnings go to stderr only: stdout stays one JSON document.
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v.is_array() || v.is_object());
}

#[test]
fn wrong_type_names_key_file_and_expected_type() {
    let fx = evil_workspace();
    fx.file("Cargo.toml", &evil_root_manifest("targets = \"x\"\n"));
    let stderr = fx.fails(&["plan"], 1);
    assert!(
        stderr.contains(
            "error: `targets` in [workspace.metadata.dist] of Cargo.toml must be an array of strings, found the string \"x\""
        ),
        "{stderr}"
    );
}

#[test]
fn workspace_key_in_a_package_is_ignored_with_a_warning() {
    let fx = evil_workspace();
    fx.package(
        "many-bin",
        "many-bin",
        "0.7.6",
        &["many-bin", "other-bin"],
        &format!("{REPO}\n\n[package.metadata.dist]\ncargo-dist-version = \"0.1.0\""),
    );
    let (_, stderr) = fx.ok_both(&["plan", "--tag=many-bin-v0.7.6"]);
    assert!(
        stderr.contains(
            "warning: `cargo-dist-version` in [package.metadata.dist] of many-bin/Cargo.toml is a workspace-wide setting and is ignored there; set it in the workspace config"
        ),
        "{stderr}"
    );
}

#[test]
fn bad_archive_value_lists_the_allowed_ones() {
    let fx = evil_workspace();
    fx.file(
        "Cargo.toml",
        &evil_root_manifest(&format!("{EVIL_DIST}unix-archive = \".rar\"\n")),
    );
    let stderr = fx.fails(&["plan"], 1);
    assert!(
        stderr.contains(
            "error: `unix-archive` in [workspace.metadata.dist] of Cargo.toml has value \".rar\", expected one of \".tar.xz\", \".tar.gz\", \".tar.zst\", \".tar.zstd\", \".zip\""
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// dist = true / false, include

#[test]
fn dist_true_overrides_publish_false() {
    let fx = evil_workspace();
    fx.package(
        "private-bin",
        "private-bin",
        "0.5.0",
        &["private-bin"],
        &format!("{REPO}\npublish = false\n\n[package.metadata.dist]\ndist = true"),
    );
    let (stdout, stderr) = fx.ok_both(&["manifest", "--tag=v0.5.0", "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        release_names(&v),
        [
            "evil-workspace 0.5.0",
            "private-bin 0.5.0",
            "third-bin 0.5.0"
        ]
    );
    assert!(
        stderr.contains("  private-bin 0.5.0\n    [bin] private-bin\n"),
        "{stderr}"
    );
}

#[test]
fn dist_false_excludes_a_package() {
    let fx = evil_workspace();
    fx.package(
        "third-bin",
        "third-bin",
        "0.5.0",
        &["third-bin"],
        &format!("{REPO}\n\n[package.metadata.dist]\ndist = false"),
    );
    let (stdout, stderr) = fx.ok_both(&["manifest", "--tag=v0.5.0", "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(release_names(&v), ["evil-workspace 0.5.0"]);
    assert!(
        stderr.contains("  third-bin 0.5.0 (dist = false)\n"),
        "{stderr}"
    );
}

#[test]
fn include_adds_a_file_to_every_archive() {
    let fx = evil_workspace();
    fx.package(
        "many-bin",
        "many-bin",
        "0.7.6",
        &["many-bin", "other-bin"],
        &format!("{REPO}\n\n[package.metadata.dist]\ninclude = [\"extra.txt\"]"),
    )
    .file("many-bin/extra.txt", "extra\n");
    let v = fx.json(&["plan", "--tag=many-bin-v0.7.6", "-o", "json"]);
    for t in [MAC, LINUX] {
        let a = &v["artifacts"][format!("many-bin-{t}.tar.xz")];
        let paths = asset_paths(a);
        assert!(
            paths.iter().any(|(p, _)| p == "extra.txt"),
            "{t}: {paths:?}"
        );
    }
    let zip = asset_paths(&v["artifacts"][format!("many-bin-{WINDOWS}.zip")]);
    assert!(zip.iter().any(|(p, _)| p == "extra.txt"), "{zip:?}");
}

#[test]
fn missing_include_is_an_error_naming_the_path() {
    let fx = evil_workspace();
    fx.package(
        "many-bin",
        "many-bin",
        "0.7.6",
        &["many-bin", "other-bin"],
        &format!("{REPO}\n\n[package.metadata.dist]\ninclude = [\"missing.txt\"]"),
    );
    let stderr = fx.fails(&["plan", "--tag=many-bin-v0.7.6"], 1);
    assert!(
        stderr.contains(
            "error: `include` entry many-bin/missing.txt of package many-bin is not a file or directory in the workspace"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// CLI surface

#[test]
fn unknown_flag_is_a_usage_error() {
    let fx = evil_workspace();
    let stderr = fx.fails(&["plan", "--bogus"], 2);
    assert!(stderr.contains("--bogus"), "{stderr}");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let fx = evil_workspace();
    let stderr = fx.fails(&["frobnicate"], 2);
    assert!(stderr.contains("frobnicate"), "{stderr}");
}

#[test]
fn bad_artifacts_value_is_a_usage_error() {
    let fx = evil_workspace();
    fx.fails(&["manifest", "--artifacts=some"], 2);
}

#[test]
fn plan_writes_nothing() {
    let fx = evil_workspace();
    let before = fx.snapshot();
    fx.ok(&["plan"]);
    fx.ok(&["plan", "--tag=v0.5.0", "-o", "json"]);
    fx.ok(&["manifest", "--tag=many-bin-v0.7.6", "--artifacts=all"]);
    let after = fx.snapshot();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the file list changed"
    );
    assert!(before == after, "a file's contents changed");
    assert!(!fx.store().exists(), "plan created the store");
}

#[test]
fn works_without_the_dist_word() {
    let fx = evil_workspace();
    let with = fx.ok(&["plan", "--tag=v0.7.6"]);
    let out = fx.cmd_raw(&["plan", "--tag=v0.7.6"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), with);
    assert!(
        with.starts_with("announcing v0.7.6\n  many-bin 0.7.6\n"),
        "{with}"
    );
}

#[test]
fn manifest_path_runs_from_elsewhere() {
    let fx = evil_workspace();
    let manifest = fx.root().join("Cargo.toml");
    let out = std::process::Command::new(crate::support::BIN)
        .args(["dist", "plan", "--tag=v0.7.6", "--manifest-path"])
        .arg(&manifest)
        .current_dir(fx.dir.path())
        .env("CARGO_DIST_STORE", fx.store())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        fx.ok(&["plan", "--tag=v0.7.6"])
    );
}

// ---------------------------------------------------------------------------------------------
// More tag forms and installers

#[test]
fn slash_tag_form_selects_one_package() {
    let fx = evil_workspace();
    let v = fx.json(&["manifest", "--tag=releases/many-bin/0.7.6", "-o", "json"]);
    assert_eq!(release_names(&v), ["many-bin 0.7.6"]);
    assert_eq!(
        v["releases"][0]["hosting"]["github"]["artifact_download_path"],
        "/example/evil/releases/download/releases/many-bin/0.7.6"
    );
}

#[test]
fn singular_tag_of_an_unpublished_binary_is_a_buildless_release() {
    // As cargo-dist 0.34: named outright, a `publish = false` package is announced with
    // nothing to build; `dist = false` still refuses.
    let fx = evil_workspace();
    let m = fx.json(&["manifest", "--tag=private-bin-v0.5.0", "-o", "json"]);
    assert_eq!(m["announcement_tag"], "private-bin-v0.5.0");
    assert_eq!(m["releases"][0]["app_name"], "private-bin");
    assert!(m["artifacts"].as_object().unwrap().is_empty(), "{m}");
    fx.package(
        "private-bin",
        "private-bin",
        "0.5.0",
        &["private-bin"],
        &format!("{REPO}\npublish = false\n\n[package.metadata.dist]\ndist = false"),
    );
    let stderr = fx.fails(&["manifest", "--tag=private-bin-v0.5.0"], 1);
    assert!(
        stderr.contains("names package private-bin, which is not distributed (dist = false)"),
        "{stderr}"
    );
}

#[test]
fn workspace_without_apps_fails() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"lib-a\"]\nresolver = \"2\"\n",
    )
    .package("lib-a", "lib-a", "1.0.0", &[], REPO);
    let stderr = fx.fails(&["plan"], 1);
    assert!(
        stderr.contains("error: this workspace has no Apps to distribute"),
        "{stderr}"
    );
    assert!(stderr.contains("  lib-a 1.0.0 (no binaries)\n"), "{stderr}");
}

#[test]
fn installer_file_names() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\"]\ninstallers = [\"shell\", \"powershell\", \"npm\", \"homebrew\"]\n",
    )
    .package(
        "app",
        "app",
        "2.0.0",
        &["app"],
        &format!("{REPO}\n\n[package.metadata.dist]\nformula = \"app-formula\""),
    );
    let v = fx.json(&["manifest", "--artifacts=global", "-o", "json"]);
    // No Windows target: a PowerShell installer would have nothing to install, so there is none.
    assert_eq!(
        artifact_names(&v),
        strs(&[
            "app-formula.rb",
            "app-installer.sh",
            "app-npm-package.tar.gz",
            "sha256.sum",
        ])
    );
    let v = fx.json(&[
        "manifest",
        "--artifacts=global",
        "--target=x86_64-unknown-linux-gnu",
        "-o",
        "json",
    ]);
    assert_eq!(
        v["artifacts"]["app-npm-package.tar.gz"]["target_triples"],
        serde_json::json!(["x86_64-unknown-linux-gnu"])
    );
}

#[test]
fn installer_without_repository_is_an_error() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ninstallers = [\"shell\"]\n",
    )
    .package("app", "app", "2.0.0", &["app"], "");
    let stderr = fx.fails(&["plan"], 1);
    assert!(
        stderr.contains("package app needs a download URL for its shell installer, but it has no `repository` in its Cargo.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("app/Cargo.toml"), "{stderr}");
}

/// `msvc-crt-static` (default true, as cargo-dist) is an input of Windows MSVC builds only:
/// turning it off changes the Windows archive's key and leaves the Linux one alone.
#[test]
fn msvc_crt_static_keys_only_windows_msvc_builds() {
    let body = |extra: &str| {
        format!("targets = [\"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\"]\n{extra}")
    };
    let fx = dist_app("crt-app", "hello", &body(""));
    let keys = |fx: &Fixture| -> (String, String) {
        let plan = fx.json(&["plan", "-o", "json"]);
        let key = |name: &str| {
            plan["artifacts"][name]["recipe"]["key"]
                .as_str()
                .unwrap()
                .to_string()
        };
        (
            key("crt-app-x86_64-unknown-linux-gnu.tar.xz"),
            key("crt-app-x86_64-pc-windows-msvc.zip"),
        )
    };
    let (linux_on, windows_on) = keys(&fx);
    let toml = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &toml.replace(&body(""), &body("msvc-crt-static = false\n")),
    );
    let (linux_off, windows_off) = keys(&fx);
    assert_eq!(linux_on, linux_off, "msvc-crt-static changed a Linux build");
    assert_ne!(
        windows_on, windows_off,
        "msvc-crt-static is not an input of the Windows build"
    );
    // And it is acted on: no "not acted on" warning names it.
    let out = fx.cmd(&["plan"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("msvc-crt-static"), "{stderr}");
}

/// `plan` lists and hashes the members it guesses from the root manifest while `cargo metadata`
/// runs; the guess must never show in a key. With one job (nothing hashed beside metadata) and
/// with two, the plan is the same bytes: when the guess is right (glob members, an excluded
/// directory) and when it is wrong (a path dependency cargo makes a member implicitly; a target
/// dir cargo reads from `.cargo/config.toml`). A README that a source names stays an input of
/// that App's build only.
#[test]
fn keys_do_not_depend_on_what_was_hashed_while_cargo_metadata_ran() {
    use crate::support::{dist_command, run_ok};
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"crates/*\", \"./tools/gen/\", \"libs/shared\"]\nexclude = [\"crates/skipped\"]\nresolver = \"2\"\n\n[workspace.package]\n{REPO}\n\n[workspace.metadata.dist]\ncargo-dist-version = \"0.34.0\"\ntargets = [\"{LINUX}\", \"{MAC}\"]\ninstallers = [\"shell\"]\n"
        ),
    )
    .package(
        "crates/app-a",
        "app-a",
        "0.1.0",
        &["app-a"],
        "repository.workspace = true\n\n[dependencies]\nshared = { path = \"../../libs/shared\" }",
    )
    .file(
        "crates/app-a/src/main.rs",
        "const ABOUT: &str = include_str!(\"../README.md\");\nfn main() {\n    println!(\"{ABOUT} {}\", shared::describe());\n}\n",
    )
    .file("crates/app-a/README.md", "# app-a\n")
    .package("crates/app-b", "app-b", "0.1.0", &["app-b"], "repository.workspace = true")
    .file("crates/app-b/README.md", "# app-b\n")
    .package("libs/shared", "shared", "0.1.0", &[], "")
    .package("tools/gen", "gen", "0.1.0", &["gen"], "repository.workspace = true")
    .package("crates/skipped", "skipped", "0.1.0", &["skipped"], "\n[workspace]");
    let run = |jobs: &str, args: &[&str]| -> String {
        let mut cmd = dist_command(fx.root(), &fx.store(), args);
        let out = run_ok(cmd.env("CARGO_DIST_JOBS", jobs));
        String::from_utf8(out.stdout).unwrap()
    };
    let plan = |jobs: &str| run(jobs, &["plan", "-o", "json"]);
    let build_key = |app: &str| -> String {
        let label = format!("{app}-{LINUX} (cargo build)");
        let keys: Vec<String> = ["1", "2"]
            .iter()
            .map(|jobs| {
                let e: Value =
                    serde_json::from_str(&run(jobs, &["explain", &label, "-o", "json"])).unwrap();
                e["key"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(keys[0], keys[1], "{label}: one job and two jobs disagree");
        keys[0].clone()
    };

    let first = plan("1");
    assert_eq!(first, plan("2"), "the plan depends on the number of jobs");
    let names = artifact_names(&serde_json::from_str(&first).unwrap());
    for app in ["app-a", "app-b", "gen"] {
        assert!(
            names.contains(&format!("{app}-{LINUX}.tar.xz")),
            "{app} is not planned: {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.starts_with("skipped")), "{names:?}");

    // app-a's source names its README: editing it changes app-a's build, not app-b's.
    let (a, b) = (build_key("app-a"), build_key("app-b"));
    fx.file("crates/app-a/README.md", "# app-a, edited\n");
    fx.file("crates/app-b/README.md", "# app-b, edited\n");
    assert_ne!(
        build_key("app-a"),
        a,
        "the README app-a includes is not an input"
    );
    assert_eq!(
        build_key("app-b"),
        b,
        "app-b's build reads a README no source names"
    );

    // Wrong guesses: what was listed early is not used. A member cargo adds implicitly (a
    // path dependency inside the workspace) is not in `members`...
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file("Cargo.toml", &root.replace(", \"libs/shared\"]", "]"));
    let implicit = plan("1");
    assert_eq!(implicit, plan("2"), "a missed member leaked into the plan");
    // ...and the target dir is not `target`.
    fx.file(".cargo/config.toml", "[build]\ntarget-dir = \"out\"\n");
    assert_eq!(
        plan("1"),
        plan("2"),
        "a wrong target dir leaked into the plan"
    );
}

/// `rustc -vV` is waited for only where its answer is needed, so a broken rustc must still stop
/// every command that keys recipes or needs the host, with the error naming it.
#[test]
fn a_broken_rustc_stops_plan_manifest_and_build_naming_it() {
    let fx = dist_app(
        "broken-rustc",
        "hi",
        "cargo-dist-version = \"0.34.0\"\ntargets = [\"x86_64-unknown-linux-gnu\"]\n",
    );
    let missing = fx.root().join("no-such-rustc");
    for (args, mode) in [
        (&["plan", "-o", "json"][..], "plan (every target)"),
        (&["manifest", "--artifacts=host"][..], "host mode"),
        (&["manifest", "--artifacts=all"][..], "all artifacts"),
        (&["build"][..], "build"),
    ] {
        let out = crate::support::dist_command(fx.root(), &fx.store(), args)
            .env("RUSTC", &missing)
            .output()
            .expect("run cargo-dist");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {stderr}");
        assert!(
            stderr.contains(&format!("could not run `{} -vV`", missing.display()))
                && stderr.contains("set RUSTC to a working rustc"),
            "{mode}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{mode}: nothing is printed on stdout"
        );
    }
}
