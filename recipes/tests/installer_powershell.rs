//! The PowerShell installer. `pwsh` cannot be installed on the Linux CI machines (it is not in
//! Debian and its npm wrapper downloads a binary at install time), so the rendered text is
//! checked instead of run.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use dist_recipes::installer::{render_powershell, InstallPath, InstallerArtifact, InstallerError};
use installer_support::*;

fn app() -> dist_recipes::installer::InstallerApp {
    let mut app = app_with(
        &["my-app", "my-helper"],
        vec![
            InstallerArtifact {
                key: dist_store::RecipeKey::from_bytes([0; 32]),
                target: "aarch64-pc-windows-msvc".into(),
                file_name: "my-app-aarch64-pc-windows-msvc.zip".into(),
                sha256: Some(fake_sha('1')),
                root_dir: None,
                min_glibc: None,
                updater: None,
                libraries: Vec::new(),
            },
            InstallerArtifact {
                key: dist_store::RecipeKey::from_bytes([0; 32]),
                target: "x86_64-pc-windows-msvc".into(),
                file_name: "my-app-x86_64-pc-windows-msvc.tar.gz".into(),
                sha256: Some(fake_sha('2')),
                root_dir: Some("my-app-x86_64-pc-windows-msvc".into()),
                min_glibc: None,
                updater: None,
                libraries: Vec::new(),
            },
            InstallerArtifact {
                key: dist_store::RecipeKey::from_bytes([0; 32]),
                target: "x86_64-unknown-linux-gnu".into(),
                file_name: "my-app-x86_64-unknown-linux-gnu.tar.xz".into(),
                sha256: Some(fake_sha('3')),
                root_dir: Some("my-app-x86_64-unknown-linux-gnu".into()),
                min_glibc: None,
                updater: None,
                libraries: Vec::new(),
            },
        ],
    );
    app.install_paths = vec![
        InstallPath::EnvSubdir {
            var: "MY_TOOLS".into(),
            subdir: "bin".into(),
        },
        InstallPath::CargoHome,
    ];
    app
}

/// Braces, brackets and parentheses balance outside of quoted strings and comments.
fn assert_balanced(text: &str) {
    let mut stack = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => break,
                (None, '{' | '(' | '[') => stack.push((c, n + 1)),
                (None, '}' | ')' | ']') => {
                    let (open, at) = stack
                        .pop()
                        .unwrap_or_else(|| panic!("unopened {c} on line {}", n + 1));
                    let want = match open {
                        '{' => '}',
                        '(' => ')',
                        _ => ']',
                    };
                    assert_eq!(
                        c,
                        want,
                        "{open} from line {at} closed by {c} on line {}",
                        n + 1
                    );
                }
                _ => {}
            }
        }
        assert!(
            quote.is_none(),
            "unterminated string on line {}: {line}",
            n + 1
        );
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn script_embeds_windows_artifacts_and_the_env_contract() {
    let app = app();
    let text = render_powershell(&app).unwrap();
    assert_balanced(&text);
    for (target, file, seed) in [
        (
            "aarch64-pc-windows-msvc",
            "my-app-aarch64-pc-windows-msvc.zip",
            '1',
        ),
        (
            "x86_64-pc-windows-msvc",
            "my-app-x86_64-pc-windows-msvc.tar.gz",
            '2',
        ),
    ] {
        let line = format!(
            "    '{target}' = @{{ File = '{file}'; Sha256 = '{}'; Root = '",
            fake_sha(seed)
        );
        assert!(text.contains(&line), "missing {line}\n{text}");
    }
    assert!(
        !text.contains("linux"),
        "only Windows archives belong in the .ps1"
    );
    assert!(text.contains(&format!("$DefaultDownloadUrl = '{}'", app.download_url)));
    for needle in [
        "$env:MY_APP_DOWNLOAD_URL",
        "$env:MY_APP_INSTALL_DIR",
        "$env:MY_APP_NO_MODIFY_PATH -eq '1'",
        "$env:PROCESSOR_ARCHITECTURE",
        "Get-FileHash -Algorithm SHA256",
        "Expand-Archive",
        "Invoke-WebRequest",
        "[Environment]::SetEnvironmentVariable('Path',",
        "'User')",
        "$Binaries = @('my-app', 'my-helper')",
        "[Environment]::GetEnvironmentVariable('MY_TOOLS')",
        "return $base + '\\bin'",
        "[Environment]::GetEnvironmentVariable('CARGO_HOME')",
        "return $base + '\\.cargo\\bin'",
        "$AppName = 'my-app'",
    ] {
        assert!(text.contains(needle), "missing {needle}\n{text}");
    }
    // The MY_TOOLS candidate comes first, as configured.
    assert!(text.find("'MY_TOOLS'").unwrap() < text.find("'CARGO_HOME'").unwrap());
    assert_eq!(text, render_powershell(&app).unwrap(), "deterministic");
}

#[test]
fn quotes_are_escaped_and_non_windows_releases_are_refused() {
    let mut app = app();
    app.app_version = "1.2.0-it's".into();
    let text = render_powershell(&app).unwrap();
    assert!(text.contains("$AppVersion = '1.2.0-it''s'"));
    assert_balanced(&text);

    app.artifacts.retain(|a| !a.target.contains("windows"));
    assert!(matches!(
        render_powershell(&app),
        Err(InstallerError::NoSuitableArtifacts {
            installer: "PowerShell",
            ..
        })
    ));
}

#[test]
fn aliases_are_copied_beside_their_binary() {
    let mut app = app();
    app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["ma".into()])]);
    let text = dist_recipes::installer::render_powershell(&app).unwrap();
    assert!(
        text.contains("Copy-Item -LiteralPath (Join-Path $installDir 'my-app.exe') -Destination (Join-Path $installDir 'ma.exe') -Force"),
        "{text}"
    );
}

/// `install-libraries` and `install-updater`: the DLL is copied beside the binaries, the updater
/// fetched by sha256 and installed as `{app}-update.exe`, and the receipt written with the
/// layout the install dir came from; the script stays balanced.
#[test]
fn libraries_updater_and_receipt() {
    let mut app = app();
    for a in app
        .artifacts
        .iter_mut()
        .filter(|a| a.target == "x86_64-pc-windows-msvc")
    {
        a.libraries = vec!["my_app.dll".into()];
        a.updater = Some(dist_recipes::installer::UpdaterFile {
            key: dist_store::RecipeKey::from_bytes([1; 32]),
            file_name: "my-app-x86_64-pc-windows-msvc-update".into(),
            sha256: Some(fake_sha('7')),
        });
    }
    app.receipt = Some(dist_recipes::installer::ReceiptSource {
        owner: "owner".into(),
        repo: "my-app".into(),
        provider_version: "0.1.0".into(),
    });
    let text = dist_recipes::installer::render_powershell(&app).unwrap();
    assert_balanced(&text);
    for want in [
        "Libs = @('my_app.dll'); Updater = 'my-app-x86_64-pc-windows-msvc-update'",
        "Copy-Item -LiteralPath (Join-Path $src $lib) -Destination (Join-Path $installDir $lib) -Force",
        "Copy-Item -LiteralPath $updater -Destination (Join-Path $installDir \"$AppName-update.exe\") -Force",
        "Write-Receipt $installDir $script:InstallLayout $artifact.ReceiptLibs",
        "ReceiptLibs = '\"cdylibs\":[\"my_app.dll\"],\"cstaticlibs\":[]'",
        "$script:InstallLayout = 'cargo-home'",
        "\"source\":{\"app_name\":\"my-app\",\"name\":\"my-app\",\"owner\":\"owner\",\"release_type\":\"github\"}",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    // Without updaters, none of it is there.
    let plain = dist_recipes::installer::render_powershell(&self::app()).unwrap();
    assert!(!plain.contains("Write-Receipt"), "{plain}");
}
