//! The installer context: install-path parsing, environment variable prefixes, and
//! determinism across every renderer.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use dist_recipes::installer::{
    env_prefix, npm_package_files, render_homebrew, render_powershell, render_shell, InstallPath,
    InstallerArtifact, InstallerError,
};
use installer_support::*;

#[test]
fn install_path_accepted_forms() {
    assert_eq!(
        InstallPath::parse("CARGO_HOME").unwrap(),
        InstallPath::CargoHome
    );
    assert_eq!(
        InstallPath::parse("~/.my-app/bin").unwrap(),
        InstallPath::HomeSubdir(".my-app/bin".into())
    );
    assert_eq!(
        InstallPath::parse("~/bin/").unwrap(),
        InstallPath::HomeSubdir("bin".into())
    );
    assert_eq!(
        InstallPath::parse("$MY_HOME/bin").unwrap(),
        InstallPath::EnvSubdir {
            var: "MY_HOME".into(),
            subdir: "bin".into()
        }
    );
    assert_eq!(
        InstallPath::parse("$XDG_BIN_HOME").unwrap(),
        InstallPath::EnvSubdir {
            var: "XDG_BIN_HOME".into(),
            subdir: String::new()
        }
    );
    assert_eq!(
        InstallPath::parse("$_X/a//b").unwrap(),
        InstallPath::EnvSubdir {
            var: "_X".into(),
            subdir: "a/b".into()
        }
    );
}

#[test]
fn install_path_errors_name_the_value_and_the_forms() {
    for bad in [
        "",
        "cargo_home",
        "/usr/local/bin",
        "~",
        "~/",
        "~user/bin",
        "~/../etc",
        "$",
        "$1X/bin",
        "$MY-HOME/bin",
        "${HOME}/bin",
        "~/a b",
        "$HOME/'x'",
        "relative/bin",
    ] {
        let err = InstallPath::parse(bad).expect_err(bad);
        assert!(
            matches!(err, InstallerError::InvalidInstallPath { .. }),
            "{bad}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        assert!(
            msg.contains("CARGO_HOME") && msg.contains("~/subdir") && msg.contains("$VAR/subdir"),
            "{msg}"
        );
    }
}

#[test]
fn env_prefixes() {
    assert_eq!(env_prefix("my-app"), "MY_APP");
    assert_eq!(env_prefix("tool"), "TOOL");
    assert_eq!(env_prefix("a.b_c-d2"), "A_B_C_D2");
}

#[test]
fn every_renderer_is_deterministic() {
    let app = app_with(
        &["my-app"],
        [
            "aarch64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "x86_64-unknown-linux-gnu",
        ]
        .iter()
        .map(|t| InstallerArtifact {
            key: dist_store::RecipeKey::from_bytes([0; 32]),
            target: t.to_string(),
            file_name: format!("my-app-{t}.tar.gz"),
            sha256: Some(fake_sha('e')),
            root_dir: Some(format!("my-app-{t}")),
            min_glibc: None,
            updater: None,
            libraries: Vec::new(),
        })
        .collect(),
    );
    let mut reversed = app.clone();
    reversed.artifacts.reverse();
    for candidate in [&app, &reversed] {
        assert_eq!(
            render_shell(candidate).unwrap(),
            render_shell(&app).unwrap()
        );
        assert_eq!(
            render_powershell(candidate).unwrap(),
            render_powershell(&app).unwrap()
        );
        assert_eq!(
            render_homebrew(candidate, "my-app").unwrap(),
            render_homebrew(&app, "my-app").unwrap()
        );
        assert_eq!(
            npm_package_files(candidate, "my-app", true, &Default::default()).unwrap(),
            npm_package_files(&app, "my-app", true, &Default::default()).unwrap()
        );
    }
}

#[test]
fn invalid_install_paths_in_a_context_are_refused() {
    let mut app = app_with(
        &["my-app"],
        vec![InstallerArtifact {
            key: dist_store::RecipeKey::from_bytes([0; 32]),
            target: "x86_64-unknown-linux-gnu".into(),
            file_name: "a.tar.gz".into(),
            sha256: None,
            root_dir: None,
            min_glibc: None,
            updater: None,
            libraries: Vec::new(),
        }],
    );
    app.install_paths = vec![InstallPath::HomeSubdir("../x".into())];
    assert!(render_shell(&app).is_err());
    app.install_paths = vec![InstallPath::EnvSubdir {
        var: "A B".into(),
        subdir: String::new(),
    }];
    assert!(render_shell(&app).is_err());
    app.install_paths = vec![];
    let text = render_shell(&app).unwrap();
    assert!(text.contains("INSTALL_DIR=\"$CARGO_HOME/bin\""));
}
