//! `{app}.json`: a Scoop manifest (a Windows package manager's app description) installing the
//! App's Windows archives, written as Scoop's schema describes it: per CPU the archive's URL and
//! sha256, the binaries (and `bin-aliases`) it puts on PATH, and for GitHub releases the
//! `checkver`/`autoupdate` that let a bucket follow new releases.

use serde::Serialize;
use std::collections::BTreeMap;

use super::{InstallerApp, InstallerError};

/// The revision of this writer, the part of the key a template digest is for other kinds:
/// bumped whenever the same App would give other bytes.
pub(crate) const WRITER: &str = "scoop manifest writer 1";

/// Scoop's architectures and the targets that serve each, best first.
const ARCHES: [(&str, &[&str]); 3] = [
    (
        "64bit",
        &["x86_64-pc-windows-msvc", "x86_64-pc-windows-gnu"],
    ),
    ("32bit", &["i686-pc-windows-msvc", "i686-pc-windows-gnu"]),
    (
        "arm64",
        &["aarch64-pc-windows-msvc", "aarch64-pc-windows-gnullvm"],
    ),
];

#[derive(Serialize)]
struct Arch {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extract_dir: Option<String>,
}

#[derive(Serialize)]
struct AutoArch {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    extract_dir: Option<String>,
}

/// A struct, not a map, so the keys keep one order.
#[derive(Serialize)]
struct Manifest {
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    homepage: String,
    license: String,
    architecture: BTreeMap<&'static str, Arch>,
    bin: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkver: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autoupdate: Option<serde_json::Value>,
}

/// Renders the manifest of `app`'s Windows archives.
pub fn render_scoop(app: &InstallerApp) -> Result<String, InstallerError> {
    app.validate()?;
    let homepage = app
        .homepage
        .clone()
        .ok_or_else(|| InstallerError::InvalidField {
            what: "Scoop homepage",
            value: String::new(),
            reason: "a Scoop manifest needs one: set `homepage` or `repository` in Cargo.toml",
        })?;
    let mut architecture = BTreeMap::new();
    for (arch, targets) in ARCHES {
        if let Some(art) = app.best_artifact(targets) {
            let (url, hash) = (app.url_of(art), art.sha256.clone());
            let extract_dir = art.root_dir.clone();
            architecture.insert(
                arch,
                Arch {
                    url,
                    hash,
                    extract_dir,
                },
            );
        }
    }
    if architecture.is_empty() {
        return Err(app.no_suitable("Scoop"));
    }
    let mut bin: Vec<serde_json::Value> = app
        .binaries
        .iter()
        .map(|b| format!("{b}.exe").into())
        .collect();
    for a in app.alias_list() {
        bin.push(serde_json::json!([format!("{}.exe", a.binary), a.alias]));
    }
    // A GitHub release: Scoop's checkver follows the repository's releases, and autoupdate
    // finds each archive at the new version's URL.
    let github = app
        .github_repo()
        .map(|(owner, repo)| format!("https://github.com/{owner}/{repo}"));
    let auto: BTreeMap<&str, AutoArch> = architecture
        .iter()
        .map(|(arch, a)| {
            let url = version_url(&a.url, &app.app_version);
            let extract_dir = a.extract_dir.clone();
            (*arch, AutoArch { url, extract_dir })
        })
        .collect();
    let manifest = Manifest {
        version: app.app_version.clone(),
        description: app.description.clone(),
        homepage,
        license: app.license.clone().unwrap_or_else(|| "Unknown".into()),
        architecture,
        bin,
        checkver: github.as_ref().map(|g| serde_json::json!({ "github": g })),
        autoupdate: github
            .as_ref()
            .map(|_| serde_json::json!({ "architecture": auto })),
    };
    let mut text = serde_json::to_string_pretty(&manifest).expect("plain structs serialize");
    text.push('\n');
    Ok(text)
}

/// `url` with the version replaced by Scoop's `$version` variable, for `autoupdate`.
fn version_url(url: &str, version: &str) -> String {
    url.replace(&format!("/v{version}/"), "/v$version/")
        .replace(&format!("/{version}/"), "/$version/")
}
