//! The winget manifests: each file valid YAML and valid against winget's own JSON schemas
//! (`schemas/winget/`, manifest 1.10.0, from microsoft/winget-cli), in winget-pkgs' layout.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use dist_recipes::installer::{winget_manifests, write_winget};
use installer_support::*;

#[test]
fn manifests_are_valid_and_laid_out_as_winget_pkgs() {
    let mut app = app_with(
        &["my-app", "helper"],
        vec![
            fake_artifact("aarch64-pc-windows-msvc", 'a'),
            fake_artifact("x86_64-pc-windows-msvc", 'b'),
            fake_artifact("x86_64-unknown-linux-gnu", 'c'),
        ],
    );
    // Quotes and a colon in a description stay inside their YAML scalar.
    app.description = Some("Says \"hi\": twice # not a comment".into());
    let files = winget_manifests(&app).unwrap();
    let dir = "m/owner/my-app/1.2.0";
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            format!("{dir}/owner.my-app.installer.yaml"),
            format!("{dir}/owner.my-app.locale.en-US.yaml"),
            format!("{dir}/owner.my-app.yaml"),
        ]
    );
    for (path, text) in &files {
        let kind = if path.ends_with(".installer.yaml") {
            "installer"
        } else if path.ends_with(".locale.en-US.yaml") {
            "defaultLocale"
        } else {
            "version"
        };
        schema_check(text, &format!("winget/manifest.{kind}.1.10.0.json"), true);
    }
    let installer = &files[&format!("{dir}/owner.my-app.installer.yaml")];
    assert!(installer.contains(&format!(
        "InstallerSha256: \"{}\"",
        fake_sha('b').to_ascii_uppercase()
    )));
    assert!(installer.contains("- Architecture: \"arm64\""));
    assert!(!installer.contains("linux"), "{installer}");
    assert!(
        installer.contains("RelativeFilePath: \"helper.exe\"\n  PortableCommandAlias: \"helper\"")
    );
    let locale = &files[&format!("{dir}/owner.my-app.locale.en-US.yaml")];
    assert!(locale.contains(r#"ShortDescription: "Says \"hi\": twice # not a comment""#));
}

#[test]
fn the_tarball_holds_the_manifests_and_is_reproducible() {
    let app = app_with(
        &["my-app"],
        vec![fake_artifact("x86_64-pc-windows-msvc", 'a')],
    );
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.tar.gz"), dir.path().join("b.tar.gz"));
    write_winget(&app, &a).unwrap();
    write_winget(&app, &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = std::process::Command::new("tar")
        .arg("tzf")
        .arg(&a)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("manifests/m/owner/my-app/1.2.0/owner.my-app.installer.yaml"),
        "{listing}"
    );
}

#[test]
fn winget_needs_checksums_and_a_github_publisher() {
    let mut art = fake_artifact("x86_64-pc-windows-msvc", 'a');
    art.sha256 = None;
    let err = winget_manifests(&app_with(&["my-app"], vec![art])).unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    let mut app = app_with(
        &["my-app"],
        vec![fake_artifact("x86_64-pc-windows-msvc", 'a')],
    );
    app.download_url = "https://downloads.example.com/1.2.0".into();
    let err = winget_manifests(&app).unwrap_err();
    assert!(err.to_string().contains("GitHub"), "{err}");
}
