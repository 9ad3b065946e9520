//! Installers rendered from a typed context: shell, PowerShell, npm package, Homebrew formula.
//!
//! Every renderer validates the context first, so that nothing a user controls (names, targets,
//! file names) can break out of the quoting of the language it is embedded in, and renders
//! deterministically: the same [`InstallerApp`] always gives the same bytes.

mod aur;
mod deb;
mod elf;
mod homebrew;
mod kind;
mod msi;
mod npm;
mod powershell;
mod rpm;
mod scoop;
mod shell;
mod winget;

use std::collections::BTreeMap;
use std::path::PathBuf;

use dist_store::RecipeKey;

use crate::vocab::Vocabulary;

pub use crate::template::sh_quote;
pub use aur::{aur_files, write_aur};
pub use homebrew::{formula_class_name, render_homebrew};
pub use kind::{InstallerKind, PackageInputs, PackageSource};
pub use msi::{derived_guid, is_guid, msi_version, render_wxs, wxs_path, WxsApp};
pub use npm::{
    generated_files, npm_main_package_files, npm_package_files, write_npm_package, Docs,
};
pub use powershell::render_powershell;
pub use scoop::render_scoop;
pub use shell::render_shell;
pub use winget::{winget_manifests, write_winget};

/// Everything an installer needs to know about one App of a release. It is also what the
/// installer's recipe covers (with the installer kind and template): every field is a key input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallerApp {
    /// Package name, e.g. `my-app`; also the prefix of the installer's environment variables.
    pub app_name: String,
    /// Version being released, e.g. `1.2.0`.
    pub app_version: String,
    /// Names of the binaries in each archive, without `.exe`.
    pub binaries: Vec<String>,
    /// `bin-aliases`: binary -> its other names, in the config's order.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// What the installer says when done (`install-success-msg`); its default otherwise.
    pub success_msg: Option<String>,
    /// Base URL holding the artifact files, e.g.
    /// `https://github.com/o/r/releases/download/v1.2.0`.
    pub download_url: String,
    /// Where to install, first applicable wins; empty means `[CargoHome]`.
    pub install_paths: Vec<InstallPath>,
    /// Every archive of the App across the whole release, sorted by target.
    pub artifacts: Vec<InstallerArtifact>,
    /// Set when the App ships updaters: installers then write the receipt the updater reads.
    pub receipt: Option<ReceiptSource>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
}

/// `alias` installed as a link to (or copy of) the App's binary `binary`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct BinAlias {
    pub alias: String,
    pub binary: String,
}

/// One downloadable archive of the App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallerArtifact {
    /// Rust target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub target: String,
    /// File name under [`InstallerApp::download_url`].
    pub file_name: String,
    /// The archive's recipe: the installer's key covers it.
    pub key: RecipeKey,
    /// Lowercase hex sha256 once the archive is built (on this runner or another); installers
    /// refuse to install an artifact without one.
    pub sha256: Option<String>,
    /// Directory every entry of the archive lives under (tarballs), `None` for flat zips.
    pub root_dir: Option<String>,
    /// Library files of the archive to install (`install-libraries`), sorted.
    pub libraries: Vec<String>,
    /// The updater built for this target (`install-updater`), installed as `{app}-update`.
    pub updater: Option<UpdaterFile>,
    /// `min-glibc-version`: the oldest glibc (`"2.17"`) the build runs on; the shell installer
    /// checks the host's.
    pub min_glibc: Option<String>,
}

/// A downloadable updater program: its file under the download URL and its sha256 (installers
/// refuse an updater whose sha256 is unknown, as they refuse archives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdaterFile {
    pub file_name: String,
    pub key: RecipeKey,
    pub sha256: Option<String>,
}

/// What the install receipt says about where updates come from (the updater reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptSource {
    /// GitHub owner and repository of the releases.
    pub owner: String,
    pub repo: String,
    /// This tool's version, recorded as the provider.
    pub provider_version: String,
}

/// One candidate install location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallPath {
    /// `$CARGO_HOME/bin`, or `$HOME/.cargo/bin` when `CARGO_HOME` is unset.
    CargoHome,
    /// `$HOME/<subdir>`, written `~/<subdir>`.
    HomeSubdir(String),
    /// `$VAR/<subdir>` (or `$VAR` when `subdir` is empty); skipped when `VAR` is unset.
    EnvSubdir { var: String, subdir: String },
}

/// Renders one of the installer templates (Jinja's own syntax) with `ctx`.
fn render(
    name: &'static str,
    source: &'static str,
    ctx: minijinja::Value,
) -> Result<String, InstallerError> {
    // Jinja's own delimiters: the installers' languages never write `{{`.
    let syntax = minijinja::syntax::SyntaxConfig::default();
    crate::template::render(name, source, syntax, ctx)
        .map_err(|source| InstallerError::Template { name, source })
}

#[derive(Debug, thiserror::Error)]
pub enum InstallerError {
    #[error(
        "invalid install-path {value:?}: expected \"CARGO_HOME\", \"~/subdir\", \"$VAR\" or \"$VAR/subdir\""
    )]
    InvalidInstallPath { value: String },
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidField {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{app}: no artifacts to install")]
    NoArtifacts { app: String },
    #[error("{app}: no artifact usable by the {installer} installer (targets: {targets})")]
    NoSuitableArtifacts {
        app: String,
        installer: &'static str,
        targets: String,
    },
    #[error("{app}: more than one artifact for target {target}")]
    DuplicateTarget { app: String, target: String },
    #[error("rendering template {name}: {source:#}")]
    Template {
        name: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error("{0} installers are not made by this tool yet")]
    NotMade(&'static str),
    #[error("{app}: cannot make its {kind} package: {reason}")]
    Package {
        kind: &'static str,
        app: String,
        reason: String,
    },
}

/// Writes the fetching installer `i` says to `out` (its package name is the npm package or
/// Homebrew formula, where it has one). Each kind is dispatched here, in one place.
pub fn write_installer(
    i: &crate::recipe::Installer,
    docs: &npm::Docs,
    out: &std::path::Path,
) -> Result<(), InstallerError> {
    let (kind, app) = (i.installer, &i.app);
    let name = i.package_name.as_deref().unwrap_or(&app.app_name);
    let text = match kind {
        InstallerKind::Shell => render_shell(app)?,
        InstallerKind::Powershell => render_powershell(app)?,
        InstallerKind::Homebrew => render_homebrew(app, name)?,
        InstallerKind::Scoop => render_scoop(app)?,
        InstallerKind::Npm => return write_npm_package(app, name, i.shrinkwrap, docs, out),
        InstallerKind::NpmPackages => {
            let files = npm_main_package_files(app, name, i.shrinkwrap, docs)?;
            return write_tarball(&files, "package", out);
        }
        InstallerKind::Winget => return write_winget(app, out),
        InstallerKind::Aur => return write_aur(app, out),
        InstallerKind::Msi
        | InstallerKind::Pkg
        | InstallerKind::Deb
        | InstallerKind::Rpm
        | InstallerKind::NpmPlatform => return Err(InstallerError::NotMade(kind.name())),
    };
    std::fs::write(out, text).map_err(|source| InstallerError::Io {
        path: out.to_owned(),
        source,
    })
}

/// Writes `files` (path -> bytes and whether executable) as a deterministic `.tar.gz` under
/// `root_dir` (an npm package's `package/`, winget's `manifests/`).
pub(crate) fn write_tarball(
    files: &BTreeMap<String, (Vec<u8>, bool)>,
    root_dir: &str,
    out: &std::path::Path,
) -> Result<(), InstallerError> {
    use crate::archive::{write_archive, ArchiveEntry, ArchiveFormat, EntryMode};
    let staging = tempfile::tempdir().map_err(|source| InstallerError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut entries = Vec::with_capacity(files.len());
    for (rel, (bytes, executable)) in files {
        let path = staging.path().join(rel);
        let io_err = |source| InstallerError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        std::fs::write(&path, bytes).map_err(io_err)?;
        entries.push(ArchiveEntry {
            path: rel.clone(),
            source: path,
            mode: if *executable {
                EntryMode::Executable
            } else {
                EntryMode::Regular
            },
        });
    }
    write_archive(ArchiveFormat::TarGz, root_dir, &entries, out)?;
    Ok(())
}

/// What the build staged for a bundling installer (see [`write_package`]): each binary's and
/// library's bytes, and the workspace files its kind reads, the README apart from the licence files (by base
/// name).
pub(crate) struct Staged {
    pub binaries: Vec<(String, Vec<u8>)>,
    pub libraries: Vec<(String, Vec<u8>)>,
    pub readme: Option<(String, Vec<u8>)>,
    pub licenses: Vec<(String, Vec<u8>)>,
}

impl Staged {
    pub(crate) fn read(
        p: &crate::recipe::Package,
        dir: &std::path::Path,
    ) -> Result<Staged, InstallerError> {
        let read = |path: std::path::PathBuf| {
            std::fs::read(&path).map_err(|source| InstallerError::Io { path, source })
        };
        let mut staged = Staged {
            binaries: Vec::new(),
            libraries: Vec::new(),
            readme: None,
            licenses: Vec::new(),
        };
        for bin in &p.binaries {
            staged
                .binaries
                .push((bin.clone(), read(dir.join("bin").join(bin))?));
        }
        for lib in &p.libraries {
            staged
                .libraries
                .push((lib.clone(), read(dir.join("lib").join(lib))?));
        }
        for path in p.files.keys() {
            let bytes = read(dir.join("files").join(path))?;
            let base = path.rsplit('/').next().unwrap_or(path).to_string();
            if base.to_ascii_uppercase().starts_with("README") {
                staged.readme = Some((base, bytes));
            } else {
                staged.licenses.push((base, bytes));
            }
        }
        Ok(staged)
    }
}

/// A bundling installer `p` that could not be made, and why.
pub(crate) fn package_error(p: &crate::recipe::Package, reason: String) -> InstallerError {
    InstallerError::Package {
        kind: p.installer.name(),
        app: p.app.clone(),
        reason,
    }
}

/// Writes the bundling installer `p` to `out`, from `dir`'s `bin/` (the build's binaries) and
/// `files/` (the workspace files its kind reads, by workspace-relative path). Each kind made
/// without a tool of its own is dispatched here.
pub fn write_package(
    p: &crate::recipe::Package,
    dir: &std::path::Path,
    out: &std::path::Path,
) -> Result<(), InstallerError> {
    match p.installer {
        InstallerKind::Deb => deb::write(p, dir, out),
        InstallerKind::Rpm => rpm::write(p, dir, out),
        InstallerKind::NpmPlatform => npm::write_platform(p, dir, out),
        other => Err(InstallerError::NotMade(other.name())),
    }
}

impl std::fmt::Display for InstallPath {
    /// The config form it was parsed from (normalised), so parse and display round-trip.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallPath::CargoHome => f.write_str("CARGO_HOME"),
            InstallPath::HomeSubdir(sub) => write!(f, "~/{sub}"),
            InstallPath::EnvSubdir { var, subdir } if subdir.is_empty() => write!(f, "${var}"),
            InstallPath::EnvSubdir { var, subdir } => write!(f, "${var}/{subdir}"),
        }
    }
}

impl InstallPath {
    /// Parses the `install-path` config forms: `CARGO_HOME`, `~/sub/dir`, `$VAR` or `$VAR/sub/dir`.
    pub fn parse(s: &str) -> Result<InstallPath, InstallerError> {
        let bad = || InstallerError::InvalidInstallPath {
            value: s.to_string(),
        };
        if s == "CARGO_HOME" {
            return Ok(InstallPath::CargoHome);
        }
        if let Some(rest) = s.strip_prefix("~/") {
            let subdir = normalize_subdir(rest).ok_or_else(bad)?;
            if subdir.is_empty() {
                return Err(bad());
            }
            return Ok(InstallPath::HomeSubdir(subdir));
        }
        if let Some(rest) = s.strip_prefix('$') {
            let (var, subdir) = rest.split_once('/').unwrap_or((rest, ""));
            if !is_env_var_name(var) {
                return Err(bad());
            }
            let subdir = normalize_subdir(subdir).ok_or_else(bad)?;
            return Ok(InstallPath::EnvSubdir {
                var: var.to_string(),
                subdir,
            });
        }
        Err(bad())
    }
}

/// Drops empty and trailing components; `None` when a component could escape the base dir or
/// carries characters the installers' quoting does not promise to survive.
fn normalize_subdir(s: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in s.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." || !part.chars().all(is_path_char) {
            return None;
        }
        parts.push(part);
    }
    Some(parts.join("/"))
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@')
}

fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prefix of the installer's environment variables: `my-app` -> `MY_APP`.
pub fn env_prefix(app_name: &str) -> String {
    app_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn check_install_path(path: &InstallPath) -> Result<(), InstallerError> {
    match path {
        InstallPath::CargoHome => Ok(()),
        InstallPath::HomeSubdir(sub) => check_subdir(sub, false),
        InstallPath::EnvSubdir { var, subdir } => {
            if !is_env_var_name(var) {
                return Err(invalid(
                    "environment variable",
                    var,
                    "must match [A-Za-z_][A-Za-z0-9_]*",
                ));
            }
            check_subdir(subdir, true)
        }
    }
}

impl InstallerApp {
    /// Every (alias, binary) pair, sorted by alias.
    pub fn alias_list(&self) -> Vec<BinAlias> {
        let mut list: Vec<BinAlias> = self
            .aliases
            .iter()
            .flat_map(|(binary, names)| {
                names.iter().map(|alias| BinAlias {
                    alias: alias.clone(),
                    binary: binary.clone(),
                })
            })
            .collect();
        list.sort();
        list
    }

    /// The install chain with the documented default applied.
    pub(crate) fn effective_install_paths(&self) -> Vec<InstallPath> {
        if self.install_paths.is_empty() {
            vec![InstallPath::CargoHome]
        } else {
            self.install_paths.clone()
        }
    }

    /// Checks every field that ends up inside generated code.
    pub(crate) fn validate(&self) -> Result<(), InstallerError> {
        check_name("app name", &self.app_name)?;
        check_text("app version", &self.app_version)?;
        if self.app_version.is_empty() || self.app_version.contains(char::is_whitespace) {
            return Err(invalid(
                "app version",
                &self.app_version,
                "must be non-empty without whitespace",
            ));
        }
        // A library-only App (`package-libraries`) installs its libraries.
        if self.binaries.is_empty() && self.artifacts.iter().all(|a| a.libraries.is_empty()) {
            return Err(invalid(
                "binaries",
                "",
                "an installer needs at least one binary or installed library",
            ));
        }
        for bin in &self.binaries {
            check_name("binary name", bin)?;
        }
        if let Some(msg) = &self.success_msg {
            check_text("install-success-msg", msg)?;
        }
        for a in &self.alias_list() {
            check_name("alias", &a.alias)?;
            if !self.binaries.contains(&a.binary) {
                return Err(invalid(
                    "alias",
                    &a.alias,
                    "names a binary the App does not have",
                ));
            }
            if self.binaries.contains(&a.alias) {
                return Err(invalid("alias", &a.alias, "is the name of a binary"));
            }
        }
        check_url("download url", &self.download_url)?;
        if let Some(r) = &self.receipt {
            check_name("GitHub owner", &r.owner)?;
            check_name("GitHub repository", &r.repo)?;
            check_name("provider version", &r.provider_version)?;
        }
        if let Some(home) = &self.homepage {
            check_url("homepage", home)?;
        }
        for (what, value) in [
            ("description", &self.description),
            ("license", &self.license),
        ] {
            if let Some(v) = value {
                check_text(what, v)?;
            }
        }
        for path in &self.install_paths {
            check_install_path(path)?;
        }
        self.validate_artifacts()
    }

    /// Checks each artifact's names and checksums; one per target.
    fn validate_artifacts(&self) -> Result<(), InstallerError> {
        if self.artifacts.is_empty() {
            return Err(InstallerError::NoArtifacts {
                app: self.app_name.clone(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for art in &self.artifacts {
            check_name("target", &art.target)?;
            check_name("artifact file name", &art.file_name)?;
            if let Some(root) = &art.root_dir {
                check_name("archive root dir", root)?;
            }
            for lib in &art.libraries {
                check_name("library file name", lib)?;
            }
            if let Some(u) = &art.updater {
                check_name("updater file name", &u.file_name)?;
                if let Some(sum) = &u.sha256 {
                    check_sha256(sum)?;
                }
            }
            if let Some(sum) = &art.sha256 {
                check_sha256(sum)?;
            }
            if !seen.insert(art.target.as_str()) {
                return Err(InstallerError::DuplicateTarget {
                    app: self.app_name.clone(),
                    target: art.target.clone(),
                });
            }
        }
        Ok(())
    }

    /// The error for an installer that can install none of this App's archives.
    pub(crate) fn no_suitable(&self, installer: &'static str) -> InstallerError {
        InstallerError::NoSuitableArtifacts {
            app: self.app_name.clone(),
            installer,
            targets: self
                .sorted_artifacts()
                .iter()
                .map(|a| a.target.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Artifacts sorted by target, so output never depends on the caller's ordering.
    pub(crate) fn sorted_artifacts(&self) -> Vec<&InstallerArtifact> {
        let mut arts: Vec<&InstallerArtifact> = self.artifacts.iter().collect();
        arts.sort_by(|a, b| a.target.cmp(&b.target));
        arts
    }

    /// The archive of the first of `targets` (best first) the App has one for.
    pub(crate) fn best_artifact(&self, targets: &[&str]) -> Option<&InstallerArtifact> {
        targets
            .iter()
            .find_map(|t| self.artifacts.iter().find(|a| a.target == *t))
    }

    /// Where `art` is downloaded from.
    pub(crate) fn url_of(&self, art: &InstallerArtifact) -> String {
        format!(
            "{}/{}",
            self.download_url.trim_end_matches('/'),
            art.file_name
        )
    }

    /// `(owner, repo)` when the release is a GitHub release
    /// (`https://github.com/OWNER/REPO/releases/download/TAG`).
    pub(crate) fn github_repo(&self) -> Option<(&str, &str)> {
        let (repo, _) = self
            .download_url
            .strip_prefix("https://github.com/")?
            .split_once("/releases/download/")?;
        repo.split_once('/')
            .filter(|(owner, name)| !owner.is_empty() && !name.is_empty())
    }
}

pub(crate) fn invalid(what: &'static str, value: &str, reason: &'static str) -> InstallerError {
    InstallerError::InvalidField {
        what,
        value: value.to_string(),
        reason,
    }
}

/// Names, targets and file names appear unquoted in `case` patterns, URLs and file paths.
fn check_sha256(sum: &str) -> Result<(), InstallerError> {
    if sum.len() != 64 || !sum.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(invalid("sha256", sum, "must be 64 lowercase hex digits"));
    }
    Ok(())
}

/// Whether `value` can be a file name in every installer and archive as it is: it starts
/// with a letter or digit and holds only `[A-Za-z0-9._+@-]` (no quoting to get wrong).
pub fn is_plain_name(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value.chars().all(is_path_char)
}

fn check_name(what: &'static str, value: &str) -> Result<(), InstallerError> {
    if is_plain_name(value) {
        Ok(())
    } else {
        Err(invalid(
            what,
            value,
            "must start with a letter or digit and contain only [A-Za-z0-9._+@-]",
        ))
    }
}

fn check_subdir(sub: &str, may_be_empty: bool) -> Result<(), InstallerError> {
    match normalize_subdir(sub) {
        Some(n) if n == sub && (may_be_empty || !n.is_empty()) => Ok(()),
        _ => Err(invalid(
            "install subdir",
            sub,
            "must be a relative path of [A-Za-z0-9._+@-] components without '.' or '..'",
        )),
    }
}

/// Free text is quoted by every renderer; control characters are refused because no renderer
/// can show them faithfully in a one-line string.
fn check_text(what: &'static str, value: &str) -> Result<(), InstallerError> {
    if value.chars().any(char::is_control) {
        Err(invalid(what, value, "must not contain control characters"))
    } else {
        Ok(())
    }
}

fn check_url(what: &'static str, value: &str) -> Result<(), InstallerError> {
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    if !scheme_ok
        || value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '\\'))
    {
        return Err(invalid(
            what,
            value,
            "must be an http(s) URL without whitespace, quotes or backslashes",
        ));
    }
    Ok(())
}
