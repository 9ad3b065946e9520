//! `{app}-winget.tar.gz`: the App's winget manifests (manifest schema 1.10.0) in the layout of
//! microsoft/winget-pkgs, `manifests/{p}/{Publisher}/{App}/{version}/`: the version, installer
//! and default-locale files, installing the Windows zip archives as portable packages.
//! Extracted at the root of a winget-pkgs clone, it is the pull request's content.
//!
//! YAML is written as JSON-quoted scalars (every JSON string is a YAML double-quoted one), so
//! nothing an App's config says can break out of its field.

use std::collections::BTreeMap;
use std::path::Path;

use super::{invalid, InstallerApp, InstallerError};

/// The winget manifest schema version written.
pub(crate) const MANIFEST_VERSION: &str = "1.10.0";

/// The revision of this writer, in its key: bumped whenever the same App would give other
/// bytes.
pub(crate) const WRITER: &str = "winget manifest writer 1 (schema 1.10.0)";

/// winget's architectures and the targets that serve each, best first.
const ARCHES: [(&str, &[&str]); 3] = [
    ("x64", &["x86_64-pc-windows-msvc", "x86_64-pc-windows-gnu"]),
    ("x86", &["i686-pc-windows-msvc", "i686-pc-windows-gnu"]),
    (
        "arm64",
        &["aarch64-pc-windows-msvc", "aarch64-pc-windows-gnullvm"],
    ),
];

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The publisher (the GitHub owner) and package identifier, `Owner.App`.
fn identity(app: &InstallerApp) -> Result<(String, String), InstallerError> {
    let (owner, _) = app.github_repo().ok_or_else(|| {
        invalid(
            "winget publisher",
            &app.download_url,
            "winget manifests name the GitHub owner as publisher: host the release on GitHub (`repository`)",
        )
    })?;
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 32
            && !p
                .chars()
                .any(|c| c == '.' || c.is_whitespace() || "\\/:*?\"<>|".contains(c))
    };
    if !part_ok(owner) || !part_ok(&app.app_name) {
        return Err(invalid(
            "winget package identifier",
            &format!("{owner}.{}", app.app_name),
            "each part must be 1 to 32 characters without dots, spaces or \\/:*?\"<>|",
        ));
    }
    Ok((owner.to_string(), format!("{owner}.{}", app.app_name)))
}

/// The three manifest files by path below `manifests/`.
pub fn winget_manifests(app: &InstallerApp) -> Result<BTreeMap<String, String>, InstallerError> {
    app.validate()?;
    let (publisher, id) = identity(app)?;
    let version = &app.app_version;
    let head = |kind: &str| {
        format!(
            "# yaml-language-server: $schema=https://aka.ms/winget-manifest.{kind}.{MANIFEST_VERSION}.schema.json\nPackageIdentifier: {}\nPackageVersion: {}\n",
            q(&id),
            q(version)
        )
    };
    let tail = |kind: &str| {
        format!(
            "ManifestType: {}\nManifestVersion: {}\n",
            q(kind),
            q(MANIFEST_VERSION)
        )
    };
    let version_file = format!(
        "{}DefaultLocale: \"en-US\"\n{}",
        head("version"),
        tail("version")
    );
    let installer_file = format!(
        "{}{}{}",
        head("installer"),
        installers(app)?,
        tail("installer")
    );
    let description = app
        .description
        .clone()
        .unwrap_or_else(|| app.app_name.clone());
    let mut locale = format!(
        "{}PackageLocale: \"en-US\"\nPublisher: {}\nPackageName: {}\nLicense: {}\nShortDescription: {}\n",
        head("defaultLocale"),
        q(&publisher),
        q(&app.app_name),
        q(app.license.as_deref().unwrap_or("Unknown")),
        q(&description),
    );
    if let Some(home) = &app.homepage {
        locale.push_str(&format!("PackageUrl: {}\n", q(home)));
    }
    locale.push_str(&tail("defaultLocale"));
    let first = app.app_name[..1].to_ascii_lowercase();
    let dir = format!("{first}/{publisher}/{}/{version}", app.app_name);
    Ok(BTreeMap::from([
        (format!("{dir}/{id}.yaml"), version_file),
        (format!("{dir}/{id}.installer.yaml"), installer_file),
        (format!("{dir}/{id}.locale.en-US.yaml"), locale),
    ]))
}

/// The zip installers: each binary a portable command, one installer per architecture with
/// its archive's sha256 (which winget requires).
fn installers(app: &InstallerApp) -> Result<String, InstallerError> {
    let mut text = String::from(
        "InstallerType: \"zip\"\nNestedInstallerType: \"portable\"\nNestedInstallerFiles:\n",
    );
    let found: Vec<_> = ARCHES
        .iter()
        .filter_map(|(arch, targets)| Some((arch, app.best_artifact(targets)?)))
        .collect();
    let Some((_, first)) = found.first() else {
        return Err(app.no_suitable("winget"));
    };
    let prefix = first
        .root_dir
        .as_ref()
        .map(|r| format!("{r}\\"))
        .unwrap_or_default();
    for bin in &app.binaries {
        text.push_str(&format!(
            "- RelativeFilePath: {}\n  PortableCommandAlias: {}\n",
            q(&format!("{prefix}{bin}.exe")),
            q(bin)
        ));
    }
    text.push_str("Installers:\n");
    for (arch, art) in found {
        let sha = art.sha256.as_ref().ok_or_else(|| {
            invalid(
                "winget installer sha256",
                &art.file_name,
                "winget requires every archive's sha256: build the Windows archives first (CI's global job has them)",
            )
        })?;
        text.push_str(&format!(
            "- Architecture: {}\n  InstallerUrl: {}\n  InstallerSha256: {}\n",
            q(arch),
            q(&app.url_of(art)),
            q(&sha.to_ascii_uppercase())
        ));
    }
    Ok(text)
}

/// Writes the manifests as `{app}-winget.tar.gz`, under `manifests/`.
pub fn write_winget(app: &InstallerApp, out: &Path) -> Result<(), InstallerError> {
    let files = winget_manifests(app)?
        .into_iter()
        .map(|(path, text)| (path, (text.into_bytes(), false)))
        .collect();
    super::write_tarball(&files, "manifests", out)
}
