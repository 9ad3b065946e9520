//! The Scoop manifest: valid against Scoop's own JSON schema (`schemas/scoop.schema.json`, from
//! ScoopInstaller/Scoop), with the urls and sha256 of the context's Windows archives.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use dist_recipes::installer::{render_scoop, InstallerError};
use installer_support::*;

#[test]
fn manifest_is_valid_and_names_each_windows_archive() {
    let mut app = app_with(
        &["my-app", "helper"],
        vec![
            fake_artifact("aarch64-pc-windows-msvc", 'a'),
            fake_artifact("x86_64-pc-windows-gnu", 'b'),
            fake_artifact("x86_64-pc-windows-msvc", 'c'),
            fake_artifact("x86_64-unknown-linux-gnu", 'd'),
        ],
    );
    app.aliases.insert("my-app".into(), vec!["ma".into()]);
    let text = render_scoop(&app).unwrap();
    schema_check(&text, "scoop.schema.json", false);
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let base = "https://github.com/owner/my-app/releases/download/v1.2.0";
    // msvc before gnu; no Linux archive.
    assert_eq!(
        m["architecture"]["64bit"]["url"],
        format!("{base}/my-app-x86_64-pc-windows-msvc.zip")
    );
    assert_eq!(m["architecture"]["64bit"]["hash"], fake_sha('c'));
    assert_eq!(m["architecture"]["arm64"]["hash"], fake_sha('a'));
    assert!(m["architecture"].get("32bit").is_none());
    assert_eq!(
        m["bin"],
        serde_json::json!(["my-app.exe", "helper.exe", ["my-app.exe", "ma"]])
    );
    assert_eq!(m["version"], "1.2.0");
    assert_eq!(m["license"], "MIT OR Apache-2.0");
    assert_eq!(m["checkver"]["github"], "https://github.com/owner/my-app");
    assert_eq!(
        m["autoupdate"]["architecture"]["64bit"]["url"],
        "https://github.com/owner/my-app/releases/download/v$version/my-app-x86_64-pc-windows-msvc.zip"
    );
    // The same App, the same bytes.
    assert_eq!(render_scoop(&app).unwrap(), text);
}

#[test]
fn manifest_without_a_checksum_or_github_is_still_valid() {
    let mut art = fake_artifact("x86_64-pc-windows-msvc", 'a');
    art.sha256 = None;
    let mut app = app_with(&["my-app"], vec![art]);
    app.download_url = "https://downloads.example.com/my-app/1.2.0".into();
    let text = render_scoop(&app).unwrap();
    schema_check(&text, "scoop.schema.json", false);
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(m["architecture"]["64bit"].get("hash").is_none());
    assert!(m.get("checkver").is_none() && m.get("autoupdate").is_none());
}

#[test]
fn manifest_needs_a_windows_archive_and_a_homepage() {
    let app = app_with(
        &["my-app"],
        vec![fake_artifact("x86_64-unknown-linux-gnu", 'a')],
    );
    assert!(matches!(
        render_scoop(&app),
        Err(InstallerError::NoSuitableArtifacts { .. })
    ));
    let mut app = app_with(
        &["my-app"],
        vec![fake_artifact("x86_64-pc-windows-msvc", 'a')],
    );
    app.homepage = None;
    let err = render_scoop(&app).unwrap_err().to_string();
    assert!(err.contains("homepage"), "{err}");
}
