//! The Homebrew formula: valid Ruby, and the urls/sha256 of the context.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use dist_recipes::installer::{
    formula_class_name, render_homebrew, InstallerArtifact, InstallerError,
};
use installer_support::*;

fn artifact(target: &str, seed: char) -> InstallerArtifact {
    InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: target.into(),
        file_name: format!("my-app-{target}.tar.xz"),
        sha256: Some(fake_sha(seed)),
        root_dir: Some(format!("my-app-{target}")),
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    }
}

fn ruby_check(text: &str) {
    let ruby = require_tool("ruby");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my-app.rb");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(ruby)
        .arg("-c")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{text}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Syntax OK\n");
}

/// The (url, sha256) pair inside `on_{os} do ... on_{cpu} do ... end`.
fn block(text: &str, os: &str, cpu: &str) -> Option<(String, String)> {
    let os_start = text.find(&format!("  on_{os} do\n"))?;
    let os_body = &text[os_start..];
    let os_end = os_body.find("\n  end\n")?;
    let os_body = &os_body[..os_end];
    let cpu_body = &os_body[os_body.find(&format!("on_{cpu} do\n"))?..];
    let field = |key: &str| {
        let line = cpu_body.lines().find(|l| l.trim_start().starts_with(key))?;
        Some(line.split('"').nth(1)?.to_string())
    };
    Some((field("url ")?, field("sha256 ")?))
}

#[test]
fn formula_covers_every_homebrew_platform_of_the_context() {
    let app = app_with(
        &["my-app", "my-helper"],
        vec![
            artifact("aarch64-apple-darwin", '1'),
            artifact("aarch64-unknown-linux-gnu", '2'),
            artifact("x86_64-apple-darwin", '3'),
            artifact("x86_64-pc-windows-msvc", '4'),
            artifact("x86_64-unknown-linux-gnu", '5'),
            artifact("x86_64-unknown-linux-musl", '6'),
        ],
    );
    let text = render_homebrew(&app, "my-app").unwrap();
    ruby_check(&text);
    assert!(text.starts_with("class MyApp < Formula\n"), "{text}");
    let base = &app.download_url;
    for (os, cpu, target, seed) in [
        ("macos", "arm", "aarch64-apple-darwin", '1'),
        ("macos", "intel", "x86_64-apple-darwin", '3'),
        ("linux", "arm", "aarch64-unknown-linux-gnu", '2'),
        ("linux", "intel", "x86_64-unknown-linux-gnu", '5'),
    ] {
        assert_eq!(
            block(&text, os, cpu),
            Some((format!("{base}/my-app-{target}.tar.xz"), fake_sha(seed))),
            "{os}/{cpu} in\n{text}"
        );
    }
    assert!(
        !text.contains("windows") && !text.contains("musl"),
        "{text}"
    );
    assert!(text.contains("  version \"1.2.0\"\n"));
    assert!(text.contains("  homepage \"https://example.com/my-app\"\n"));
    assert!(text.contains("  license any_of: [\"MIT\", \"Apache-2.0\"]\n"));
    assert!(text.contains(r#"  desc "A test app that says \"hi\" and it's fine""#));
    assert!(text.contains("    bin.install \"my-app\"\n    bin.install \"my-helper\"\n"));
    assert!(text.contains("system bin/\"my-app\", \"--version\""));
    assert_eq!(
        text,
        render_homebrew(&app, "my-app").unwrap(),
        "deterministic"
    );
}

#[test]
fn fallbacks_and_partial_platforms() {
    let app = app_with(
        &["my-app"],
        vec![
            artifact("universal2-apple-darwin", 'a'),
            artifact("x86_64-unknown-linux-musl", 'b'),
        ],
    );
    let text = render_homebrew(&app, "my-app@1.2").unwrap();
    ruby_check(&text);
    assert!(text.starts_with("class MyAppAT12 < Formula\n"));
    let universal = format!("{}/my-app-universal2-apple-darwin.tar.xz", app.download_url);
    assert_eq!(
        block(&text, "macos", "arm"),
        Some((universal.clone(), fake_sha('a')))
    );
    assert_eq!(
        block(&text, "macos", "intel"),
        Some((universal, fake_sha('a')))
    );
    assert_eq!(block(&text, "linux", "arm"), None);
    assert!(block(&text, "linux", "intel")
        .unwrap()
        .0
        .ends_with("musl.tar.xz"));

    let mut no_desc = app.clone();
    no_desc.description = None;
    no_desc.license = Some("(MIT OR Apache-2.0) AND Zlib".into());
    let text = render_homebrew(&no_desc, "my-app").unwrap();
    ruby_check(&text);
    assert!(!text.contains("desc "));
    assert!(text.contains("license \"(MIT OR Apache-2.0) AND Zlib\""));
}

#[test]
fn errors() {
    let windows_only = app_with(&["my-app"], vec![artifact("x86_64-pc-windows-msvc", '1')]);
    assert!(matches!(
        render_homebrew(&windows_only, "my-app"),
        Err(InstallerError::NoSuitableArtifacts {
            installer: "Homebrew",
            ..
        })
    ));
    // An archive not summed yet (built on another runner) is fetched unchecked.
    let mut unsummed = app_with(
        &["my-app"],
        vec![
            artifact("x86_64-apple-darwin", '1'),
            artifact("aarch64-apple-darwin", '2'),
        ],
    );
    unsummed.artifacts[0].sha256 = None;
    let text = render_homebrew(&unsummed, "my-app").unwrap();
    assert_eq!(text.matches("sha256 ").count(), 1, "{text}");
    assert!(text.contains("my-app-x86_64-apple-darwin"), "{text}");
    let ok = app_with(&["my-app"], vec![artifact("x86_64-apple-darwin", '1')]);
    for bad in ["MyApp", "my app", "", "-x", "a\"b"] {
        assert!(render_homebrew(&ok, bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn class_names() {
    for (formula, class) in [
        ("my-app", "MyApp"),
        ("foo", "Foo"),
        ("foo_bar.baz", "FooBarBaz"),
        ("foo@1.2", "FooAT12"),
        ("c++-tool", "CxxTool"),
        ("x2", "X2"),
    ] {
        assert_eq!(formula_class_name(formula), class, "{formula}");
    }
}

#[test]
fn aliases_are_symlinked_by_the_formula() {
    let mut app = app_with(&["my-app"], vec![artifact("x86_64-apple-darwin", '1')]);
    app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["ma".into()])]);
    let text = render_homebrew(&app, "my-app").unwrap();
    ruby_check(&text);
    assert!(
        text.contains("bin.install_symlink bin/\"my-app\" => \"ma\""),
        "{text}"
    );
    // An alias must name one of the binaries, and not be one.
    app.aliases = std::collections::BTreeMap::from([("nope".into(), vec!["ma".into()])]);
    assert!(render_homebrew(&app, "my-app").is_err());
    app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["my-app".into()])]);
    assert!(render_homebrew(&app, "my-app").is_err());
}
