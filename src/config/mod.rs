//! Config stage: the dist tables of a workspace -> one resolved config per package.
//!
//! Where config lives (the workspace stage reads the files; this stage only interprets them), in
//! cargo-dist 0.34's order:
//!
//! | layer | from |
//! |---|---|
//! | workspace | `[dist]` of `dist-workspace.toml` (or `dist.toml`) when present; else `[workspace.metadata.dist]` of the root Cargo.toml (`[package.metadata.dist]` in a project without `[workspace]`) |
//! | package | `[package.metadata.dist]` of each member's Cargo.toml; `[dist]` of a generic (`dist:`) member's dist.toml |
//!
//! The boundary: a [`Layer`] is exactly what one table says, checked against [`keys::KEYS`]
//! (unknown keys warn with a did-you-mean, wrong types are errors naming file, table and key);
//! [`PackageConfig`] and [`GlobalConfig`] are what a build uses after layering
//! defaults <- workspace <- package.

pub mod keys;
pub mod types;
pub mod vocab;

#[cfg(test)]
mod random_input;

use std::collections::{BTreeMap, BTreeSet};

use dist_recipes::archive::{ArchiveFormat, ChecksumStyle};
use dist_recipes::installer::InstallPath;
use dist_recipes::target::LibraryKind;
use dist_recipes::vocab::Vocabulary;
use dist_recipes::workflow::AttestPhase;

use serde_json::Value;
pub use vocab::SslComEnvironment;
use vocab::{Checksum, CiBackend, Generated, GithubRelease};

use crate::workspace::Workspace;
use keys::{KeyDef, Merge, Scope};
use types::{describe, string_list, strings, Mismatch};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`{key}` in {table} of {file} must be {expected}, found {found}")]
    WrongType {
        key: String,
        table: String,
        file: String,
        expected: String,
        found: String,
    },
    #[error("`{key}` in {table} of {file} has value {value}, expected {expected}")]
    BadValue {
        key: String,
        table: String,
        file: String,
        value: String,
        expected: String,
    },
    #[error("{message} (in {table} of {file})")]
    BadShape {
        table: String,
        file: String,
        message: String,
    },
}

/// Something in the config that does not stop the run but that the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    /// A key nobody documents: ignored (a newer release tool may know it).
    UnknownKey {
        key: String,
        table: String,
        file: String,
        suggestion: Option<&'static str>,
    },
    /// A workspace-wide key set on a package: ignored there.
    WorkspaceOnly {
        key: String,
        table: String,
        file: String,
    },
    /// `[workspace.metadata.dist]` in Cargo.toml next to a dist-workspace.toml that wins.
    Shadowed {
        file: String,
        table: String,
        by: String,
    },
    /// Documented keys that are set but that nothing here depends on yet.
    NotActedOn { keys: Vec<String> },
    /// `github-attestations-phase = "build-local-artifacts"` with `build-local-artifacts =
    /// false`: the phase's jobs are the user's, so nothing attests the per-target files.
    NothingAttests,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigWarning::UnknownKey {
                key,
                table,
                file,
                suggestion,
            } => {
                write!(f, "unknown key `{key}` in {table} of {file} is ignored")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => Ok(()),
                }
            }
            ConfigWarning::WorkspaceOnly { key, table, file } => write!(
                f,
                "`{key}` in {table} of {file} is a workspace-wide setting and is ignored there; set it in the workspace config"
            ),
            ConfigWarning::Shadowed { file, table, by } => write!(
                f,
                "{table} in {file} is ignored: {by} holds this workspace's dist config"
            ),
            ConfigWarning::NotActedOn { keys } => write!(
                f,
                "accepted, not acted on yet: {} (see the README's config table)",
                keys.join(", ")
            ),
            ConfigWarning::NothingAttests => write!(
                f,
                "github-attestations attests in the build-local-artifacts jobs (github-attestations-phase), which build-local-artifacts = false leaves out: nothing attests the per-target files; set github-attestations-phase = \"host\" to attest every file the release uploads"
            ),
        }
    }
}

/// Installer kinds are typed once, in the recipes crate, with everything that differs
/// between them.
pub use dist_recipes::installer::InstallerKind;

pub use vocab::{Hosting, PrRunMode};

/// One dist table exactly as written, checked: key -> value. `None` of a key = not set here.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub file: String,
    pub table: String,
    /// Workspace-relative directory of `file` (`include` paths are relative to it).
    pub dir: String,
    pub values: BTreeMap<&'static str, Value>,
}

/// Settings that shape the whole release.
#[derive(Debug, Clone, Default)]
pub struct GlobalConfig {
    pub cargo_dist_version: Option<String>,
    pub ci: Vec<CiBackend>,
    /// `hosting`, in the configured order; empty when unset (GitHub then hosts).
    pub hosting: Vec<Hosting>,
    /// `simple-download-url`: the template (`{tag}`) of `hosting = "simple"`'s URL.
    pub simple_download_url: Option<String>,
    /// `rust-toolchain-version`: the toolchain CI's jobs make rustup's default.
    pub rust_toolchain_version: Option<String>,
    pub allow_dirty: bool,
    /// `allow-dirty` naming `msi` (or `true`): `generate` keeps edited `wix/main.wxs` files.
    pub allow_dirty_msi: bool,
    pub pr_run_mode: PrRunMode,
    pub source_tarball: bool,
    /// `recursive-tarball`: the source tarball includes submodules' contents.
    pub recursive_tarball: bool,
    pub tap: Option<String>,
    /// `scoop-bucket` and `winget-fork`: where the `scoop` and `winget` publish jobs push.
    pub scoop_bucket: Option<String>,
    pub winget_fork: Option<String>,
    /// Release tags must start with it (stripped before the tag is parsed).
    pub tag_namespace: Option<String>,
    /// `packages`: exactly these are Apps.
    pub packages: Option<Vec<String>>,
    /// `None` with `checksum = "false"`: no checksum files at all.
    pub checksum: Option<ChecksumStyle>,
    /// `install-updater`: an updater artifact per target.
    pub install_updater: bool,
    /// `omnibor`: an `{artifact}.omnibor` id beside archives, MSI/pkg and the source tarball.
    pub omnibor: bool,
    /// `publish-jobs`: `homebrew`, `npm`, or `./NAME` (a reusable workflow of the repository).
    pub publish_jobs: Vec<String>,
    /// `publish-prereleases`: run the publish jobs for prereleases too.
    pub publish_prereleases: bool,
    /// `dispatch-releases`: release from a manual workflow run with a tag input, not tag pushes.
    pub dispatch_releases: bool,
    /// `release-branch`: every push to this branch releases a timestamped prerelease.
    pub release_branch: Option<String>,
    /// `github-attestations`: the phase that attests and the file globs it attests; `None`
    /// when off.
    pub attestations: Option<(AttestPhase, Vec<String>)>,
    /// `github-custom-job-permissions`: custom job name -> permission -> level.
    pub job_permissions: BTreeMap<String, BTreeMap<String, String>>,
    /// `github-build-setup`: a file of extra build-job steps, relative to `.github/workflows/`.
    pub build_setup: Option<String>,
    /// `force-latest`: mark the Release latest (prereleases too).
    pub force_latest: bool,
    /// `fail-fast`: one failed build job cancels the others.
    pub fail_fast: bool,
    /// `build-local-artifacts = false`: the per-target builds are the user's
    /// `local-artifacts-jobs`; the global build takes their files from `target/distrib/`.
    pub user_local_builds: bool,
    /// `merge-tasks`: the targets that share a runner build in one CI job.
    pub merge_tasks: bool,
    /// `cache-builds`: the CI build jobs cache each target's build sandbox too.
    pub cache_builds: bool,
    /// `remote-store`: the remote store URL (or `gha`).
    pub remote_store: Option<String>,
    /// `remote-trusted-keys`: public keys (hex) whose remote records are accepted.
    pub remote_trusted_keys: Vec<String>,
    /// `windows-sign` or `ssldotcom-windows-sign`: Windows files are signed (Authenticode).
    pub windows_sign: bool,
    /// `ssldotcom-windows-sign`: SSL.com's environment (its timestamp server by default).
    pub ssldotcom_windows_sign: Option<SslComEnvironment>,
    /// `macos-sign`: macOS binaries are signed (hardened runtime).
    pub macos_sign: bool,
    /// `cargo-auditable`: builds run `cargo auditable build`.
    pub cargo_auditable: bool,
    /// `always-use-latest-updater`: the updater built is the newest axoupdater-cli on
    /// crates.io, not the pinned one.
    pub always_use_latest_updater: bool,
    /// `github-releases-repo`: `owner/repo` that hosts the GitHub Releases instead of the
    /// packages' own repository.
    pub github_releases_repo: Option<String>,
    /// `github-releases-submodule-path`: the submodule (in `github-releases-repo`'s repository)
    /// whose recorded commit the release's tag is made at.
    pub github_releases_submodule_path: Option<String>,
    /// `msvc-crt-static`: `*-windows-msvc` builds link the C runtime statically (cargo-dist's
    /// default), so the binaries need no Visual C++ redistributable.
    pub msvc_crt_static: bool,
    /// `create-release`: false when another tool creates the GitHub Release (this one uploads).
    pub create_release: bool,
    /// `github-release`: the job that creates the GitHub Release (`auto` and `host`: the host
    /// job, as a draft the announce job publishes; `announce`: the announce job, published).
    pub github_release: GithubRelease,
    /// `github-action-commits`: action (`actions/checkout`) -> the ref to pin it to.
    pub action_commits: BTreeMap<String, String>,
    /// Custom jobs (`./NAME`) by where they run: `plan`, `local-artifacts`, `global-artifacts`,
    /// `host`, `post-announce`.
    pub custom_jobs: BTreeMap<&'static str, Vec<String>>,
    /// `cargo-dist-url-override`: where CI installs this tool from instead of its releases.
    pub tool_url_override: Option<String>,
    /// `github-custom-runners`: target triple (or `global`) -> where its job runs.
    pub runners: BTreeMap<String, Runner>,
    /// Every target any package builds for (the CI matrix's possible rows).
    pub targets: Vec<String>,
    /// `dependencies` of every package (and the workspace), for the CI build jobs.
    pub system_deps: Vec<SystemDep>,
    /// Some package ships an MSI (`msi` and a Windows target): CI's global job, which builds
    /// MSIs, installs their tools.
    pub any_msi: bool,
}

/// One `github-custom-runners` entry: `"label"`, or `{ runner, host, container }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runner {
    /// The runner label; unset for the default runner of `host` (or of the target).
    pub runner: Option<String>,
    /// The runner's own target triple, when it is not the target's.
    pub host: Option<String>,
    /// The container the job runs in.
    pub container: Option<Container>,
}

/// `container = "image"` or `{ image, host, package-manager }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub image: String,
    /// The container's target triple (what `rustc` there builds natively).
    pub host: Option<String>,
    /// How system packages are installed in it (`apt`, `dnf`, `yum`, `apk`, ...).
    pub package_manager: Option<String>,
}

/// A system package a build needs (`dependencies`), installed by the CI build job of each
/// target it applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SystemDep {
    /// `apt`, `homebrew` or `chocolatey`.
    pub manager: String,
    pub package: String,
    /// `None` for any version (`"*"`).
    pub version: Option<String>,
    /// `None` for every target of the manager's OS.
    pub targets: Option<Vec<String>>,
}

/// What one package is built and shipped with.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageConfig {
    pub dist: Option<bool>,
    pub installers: Vec<InstallerKind>,
    /// `mac-pkg-config.identifier`: a `.pkg` cannot be planned without it.
    pub mac_pkg_identifier: Option<String>,
    pub targets: Vec<String>,
    /// Target triple -> the binaries to ship for it (unset targets ship every binary).
    pub binaries: BTreeMap<String, Vec<String>>,
    /// `min-glibc-version`: target triple (or `*`) -> `"MAJOR.MINOR"`.
    pub min_glibc: BTreeMap<String, String>,
    pub unix_archive: ArchiveFormat,
    pub windows_archive: ArchiveFormat,
    /// Workspace-relative paths.
    pub include: Vec<String>,
    pub auto_includes: bool,
    pub features: Vec<String>,
    pub default_features: bool,
    pub all_features: bool,
    /// Parsed once here (the key table checked every entry).
    pub install_path: Vec<InstallPath>,
    pub npm_package: Option<String>,
    pub npm_scope: Option<String>,
    /// `npm-shrinkwrap`: the npm package ships an `npm-shrinkwrap.json`.
    pub npm_shrinkwrap: bool,
    pub formula: Option<String>,
    /// `install-success-msg` (or its older name `custom-success-msg`).
    pub success_msg: Option<String>,
    /// `display`: listed in the release notes' install section.
    pub display: bool,
    /// `display-name`: the App's name there.
    pub display_name: Option<String>,
    /// `bin-aliases`: binary -> the other names installers give it.
    pub bin_aliases: BTreeMap<String, Vec<String>>,
    /// `extra-artifacts`: commands of the user's and the files each makes.
    pub extra_artifacts: Vec<ExtraArtifacts>,
    /// `cargo-cyclonedx`: a `{package}.cdx.xml` SBOM (planned, not built yet).
    pub cyclonedx: bool,
    /// `package-libraries`: the library kinds put in archives (when the package builds them).
    pub package_libraries: Vec<LibraryKind>,
    /// `install-libraries`: the packaged library kinds installers install.
    pub install_libraries: Vec<LibraryKind>,
}

impl PackageConfig {
    /// The oldest glibc a build for `target` needs, when configured: only `*-linux-gnu*`
    /// targets link glibc.
    pub fn min_glibc(&self, target: &str) -> Option<&str> {
        if !target.contains("-linux-gnu") {
            return None;
        }
        self.min_glibc
            .get(target)
            .or_else(|| self.min_glibc.get("*"))
            .map(String::as_str)
    }

    /// The npm package the npm installer is published as: `npm-package` (else the App's name)
    /// under `npm-scope` when set, e.g. `@scope/app`.
    pub fn npm_package_name(&self, app: &str) -> String {
        let name = self.npm_package.as_deref().unwrap_or(app);
        match &self.npm_scope {
            Some(scope) => format!("{scope}/{name}"),
            None => name.to_string(),
        }
    }

    /// The Homebrew formula's name: `formula`, else the App's name.
    pub fn formula_name(&self, app: &str) -> String {
        self.formula.clone().unwrap_or_else(|| app.to_string())
    }

    /// The package an installer is published as, by the key that names it
    /// ([`InstallerKind::name_key`]): `npm-package` or `formula`.
    pub fn package_name(&self, key: &str, app: &str) -> Option<String> {
        use dist_recipes::config_keys as names;
        match key {
            names::NPM_PACKAGE => Some(self.npm_package_name(app)),
            names::FORMULA => Some(self.formula_name(app)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub global: GlobalConfig,
    /// By package name.
    pub packages: BTreeMap<String, PackageConfig>,
    /// In the order found; `ops` hands them to the reporter.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    pub fn package(&self, name: &str) -> &PackageConfig {
        &self.packages[name]
    }
}

/// Reads and resolves every dist table of the workspace.
pub fn resolve(ws: &Workspace) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    let ws_layer = workspace_layer(ws, &mut warnings)?;
    let mut layers = vec![ws_layer.clone()];
    let mut packages = BTreeMap::new();
    for pkg in &ws.packages {
        // In a workspace-less project without a dist file, the root package's table *is* the
        // workspace table.
        let is_ws_table = ws.dist_file.is_none() && ws.single_package && pkg.dir.is_empty();
        let pkg_layer = match pkg.metadata.get("dist") {
            Some(v) if !is_ws_table => read_layer(
                v,
                match pkg.generic {
                    Some(_) => "[dist]",
                    None => "[package.metadata.dist]",
                },
                &crate::workspace::relative(&ws.root, &pkg.manifest_path),
                &pkg.dir,
                Scope::Any,
                &mut warnings,
            )?,
            _ => Layer::default(),
        };
        let mut pc = package_config(&ws_layer, &pkg_layer);
        if pc.npm_scope.is_none() {
            pc.npm_scope = pkg.npm_scope.clone();
        }
        packages.insert(pkg.name.clone(), pc);
        layers.push(pkg_layer);
    }
    warnings.extend(not_acted_on(&layers));
    let mut global = global_config(&ws_layer);
    let deps: BTreeSet<SystemDep> = layers
        .iter()
        .filter_map(|l| l.values.get("dependencies"))
        .flat_map(system_deps)
        .collect();
    global.system_deps = deps.into_iter().collect();
    let targets: BTreeSet<String> = packages
        .values()
        .flat_map(|p: &PackageConfig| p.targets.iter().cloned())
        .collect();
    global.targets = targets.into_iter().collect();
    global.any_msi = packages.values().any(|p| {
        p.installers.contains(&InstallerKind::Msi)
            && p.targets
                .iter()
                .any(|t| dist_recipes::target::Target(t).is_windows())
    });
    if let Some(listed) = ws.dist_file.as_ref().and_then(|d| d.packages.clone()) {
        global.packages = Some(listed);
    }
    if matches!(
        &global.attestations,
        Some((AttestPhase::BuildLocalArtifacts, _))
    ) && global.user_local_builds
    {
        warnings.push(ConfigWarning::NothingAttests);
    }
    Ok(Config {
        global,
        packages,
        warnings,
    })
}

/// The workspace layer: `[dist]` of the dist file when there is one (a Cargo.toml table beside
/// it is ignored, with a warning), else the root Cargo.toml's table.
fn workspace_layer(
    ws: &Workspace,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Layer, ConfigError> {
    let cargo_table = if ws.single_package {
        "[package.metadata.dist]"
    } else {
        "[workspace.metadata.dist]"
    };
    let in_cargo = ws.workspace_metadata.get("dist");
    let Some(df) = &ws.dist_file else {
        return match in_cargo {
            Some(v) => read_layer(v, cargo_table, "Cargo.toml", "", Scope::Workspace, warnings),
            None => Ok(Layer::default()),
        };
    };
    if in_cargo.is_some() && !ws.single_package {
        warnings.push(ConfigWarning::Shadowed {
            file: "Cargo.toml".into(),
            table: cargo_table.into(),
            by: df.path.clone(),
        });
    }
    match &df.dist {
        Some(v) => read_layer(v, "[dist]", &df.path, "", Scope::Workspace, warnings),
        None => Ok(Layer::default()),
    }
}

/// One warning naming every documented key that is set but not acted on yet, and every
/// value not acted on yet of a key that is (`hosting = "simple"`).
fn not_acted_on(layers: &[Layer]) -> Option<ConfigWarning> {
    let mut keys = BTreeSet::new();
    for (name, value) in layers.iter().flat_map(|l| &l.values) {
        let Some(def) = keys::lookup(name) else {
            continue;
        };
        if !def.acted {
            keys.insert(name.to_string());
            continue;
        }
        let idle = def.ty.not_acted_words();
        for word in string_list(value)
            .iter()
            .filter(|w| idle.contains(&w.as_str()))
        {
            keys.insert(format!("{name} = \"{word}\""));
        }
    }
    (!keys.is_empty()).then(|| ConfigWarning::NotActedOn {
        keys: keys.into_iter().collect(),
    })
}

/// Checks one table against [`keys::KEYS`]: unknown keys and workspace keys on a package warn and
/// are dropped; a wrong type is an error.
pub fn read_layer(
    v: &Value,
    table: &str,
    file: &str,
    dir: &str,
    level: Scope,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Layer, ConfigError> {
    let obj = v.as_object().ok_or_else(|| ConfigError::WrongType {
        key: table.trim_matches(|c| c == '[' || c == ']').into(),
        table: table.into(),
        file: file.into(),
        expected: "a table".into(),
        found: describe(v),
    })?;
    let mut layer = Layer {
        file: file.into(),
        table: table.into(),
        dir: dir.into(),
        values: BTreeMap::new(),
    };
    // serde_json's map is sorted, so warnings and the first error are deterministic.
    for (name, value) in obj {
        let Some(def) = keys::lookup(name) else {
            warnings.push(ConfigWarning::UnknownKey {
                key: name.clone(),
                table: table.into(),
                file: file.into(),
                suggestion: keys::closest(name),
            });
            continue;
        };
        let mut unknown = Vec::new();
        def.ty
            .check(value, &mut unknown)
            .map_err(|m| mismatch(def, m, value, table, file))?;
        for path in unknown {
            warnings.push(ConfigWarning::UnknownKey {
                key: path,
                table: table.into(),
                file: file.into(),
                suggestion: None,
            });
        }
        if def.scope == Scope::Workspace && level == Scope::Any {
            warnings.push(ConfigWarning::WorkspaceOnly {
                key: name.clone(),
                table: table.into(),
                file: file.into(),
            });
            continue;
        }
        layer.values.insert(def.name, value.clone());
    }
    Ok(layer)
}

fn mismatch(def: &KeyDef, m: Mismatch, v: &Value, table: &str, file: &str) -> ConfigError {
    match m {
        Mismatch::Type { expected } => ConfigError::WrongType {
            key: def.name.into(),
            table: table.into(),
            file: file.into(),
            expected,
            found: describe(v),
        },
        Mismatch::Value { value, expected } => ConfigError::BadValue {
            key: def.name.into(),
            table: table.into(),
            file: file.into(),
            value,
            expected,
        },
        Mismatch::Shape(message) => ConfigError::BadShape {
            table: table.into(),
            file: file.into(),
            // A check inside a table names what is inside; the key it is in comes first.
            message: match message.contains(&format!("`{}", def.name)) {
                true => message,
                false => format!("in `{}`: {message}", def.name),
            },
        },
    }
}

/// Typed reads of a key from the layers that apply, first match wins (a package's layer, then
/// the workspace's). The key table already checked every type, so a read cannot fail.
struct Values<'a>(&'a [&'a Layer]);

impl<'a> Values<'a> {
    fn get(&self, k: &KeyDef) -> Option<&'a Value> {
        debug_assert!(k.merge == Merge::Replace, "{}", k.name);
        self.0.iter().find_map(|l| l.values.get(k.name))
    }
    fn flag(&self, k: &KeyDef, default: bool) -> bool {
        self.get(k).and_then(Value::as_bool).unwrap_or(default)
    }
    fn text(&self, k: &KeyDef) -> Option<String> {
        self.get(k).and_then(Value::as_str).map(String::from)
    }
    /// A string or an array of strings.
    fn list(&self, k: &KeyDef) -> Vec<String> {
        self.get(k).map(string_list).unwrap_or_default()
    }
    /// An enumerated key's value, read through the enum its allowed words come from.
    fn word<V: Vocabulary>(&self, k: &KeyDef) -> Option<V> {
        debug_assert_eq!(k.ty.words(), Some(V::words()), "{}", k.name);
        // Parsing checked the word against the same list.
        self.text(k).and_then(|w| V::parse(&w))
    }
    /// An enumerated list key's values (a lone word too), sorted, each once; a boolean is
    /// every value (`allow-dirty = true`) or none.
    fn words<V: Vocabulary + Ord>(&self, k: &KeyDef) -> Vec<V> {
        let mut out = self.words_in_order(k);
        out.sort();
        out.dedup();
        out
    }

    /// [`Self::words`] in the config's order, each once (`hosting`: the first is preferred).
    fn words_in_order<V: Vocabulary + Ord>(&self, k: &KeyDef) -> Vec<V> {
        debug_assert_eq!(k.ty.words(), Some(V::words()), "{}", k.name);
        let out: Vec<V> = match self.get(k) {
            Some(Value::Bool(all)) => V::ALL.iter().copied().filter(|_| *all).collect(),
            other => other
                .map(string_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| V::parse(w))
                .collect(),
        };
        let mut seen = BTreeSet::new();
        out.into_iter().filter(|w| seen.insert(*w)).collect()
    }
    /// A table of strings (or of arrays of strings, as lists).
    fn map<T>(&self, k: &KeyDef, item: impl Fn(&Value) -> Option<T>) -> BTreeMap<String, T> {
        self.get(k)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, v)| Some((name.clone(), item(v)?)))
            .collect()
    }
}

fn text_of(v: &Value) -> Option<String> {
    v.as_str().map(String::from)
}

/// A `github-custom-runners` value, already shape-checked (`keys::check_runners`).
fn runner_of(r: &Value) -> Runner {
    if let Some(label) = text_of(r) {
        return Runner {
            runner: Some(label),
            ..Runner::default()
        };
    }
    let field = |v: &Value, k: &str| v.get(k).and_then(text_of);
    let container = r.get("container").and_then(|c| match text_of(c) {
        Some(image) => Some(Container {
            image,
            host: None,
            package_manager: None,
        }),
        None => Some(Container {
            image: field(c, "image")?,
            host: field(c, "host"),
            package_manager: field(c, "package-manager"),
        }),
    });
    Runner {
        runner: field(r, "runner"),
        host: field(r, "host"),
        container,
    }
}

fn global_config(ws: &Layer) -> GlobalConfig {
    let v = Values(std::slice::from_ref(&ws));
    let dirty: Vec<Generated> = v.words(&keys::ALLOW_DIRTY);
    let pr_run_mode: PrRunMode = v.word(&keys::PR_RUN_MODE).unwrap_or_default();
    // cargo-dist's default: caching pays where builds run often (every push, every PR).
    let frequent = v.text(&keys::RELEASE_BRANCH).is_some() || pr_run_mode == PrRunMode::Upload;
    GlobalConfig {
        cargo_dist_version: v
            .text(&keys::DIST_VERSION)
            .or_else(|| v.text(&keys::CARGO_DIST_VERSION)),
        ci: v.words(&keys::CI),
        hosting: v.words_in_order(&keys::HOSTING),
        simple_download_url: v.text(&keys::SIMPLE_DOWNLOAD_URL),
        rust_toolchain_version: v.text(&keys::RUST_TOOLCHAIN_VERSION),
        // `true`, or the list form naming `ci`.
        allow_dirty: dirty.contains(&Generated::Ci),
        allow_dirty_msi: dirty.contains(&Generated::Msi),
        pr_run_mode,
        source_tarball: v.flag(&keys::SOURCE_TARBALL, true),
        recursive_tarball: v.flag(&keys::RECURSIVE_TARBALL, false),
        tap: v.text(&keys::TAP),
        scoop_bucket: v.text(&keys::SCOOP_BUCKET),
        winget_fork: v.text(&keys::WINGET_FORK),
        tag_namespace: v.text(&keys::TAG_NAMESPACE).filter(|s| !s.is_empty()),
        packages: v.get(&keys::PACKAGES).map(string_list),
        checksum: match v.word(&keys::CHECKSUM) {
            Some(Checksum::Style(style)) => Some(style),
            Some(Checksum::Off) => None,
            None => Some(ChecksumStyle::Sha256),
        },
        install_updater: v.flag(&keys::INSTALL_UPDATER, false),
        omnibor: v.flag(&keys::OMNIBOR, false),
        publish_jobs: v.list(&keys::PUBLISH_JOBS),
        fail_fast: v.flag(&keys::FAIL_FAST, false),
        user_local_builds: !v.flag(&keys::BUILD_LOCAL_ARTIFACTS, true),
        merge_tasks: v.flag(&keys::MERGE_TASKS, false),
        cache_builds: v.flag(&keys::CACHE_BUILDS, frequent),
        remote_store: v.text(&keys::REMOTE_STORE),
        remote_trusted_keys: v.list(&keys::REMOTE_TRUSTED_KEYS),
        windows_sign: v.flag(&keys::WINDOWS_SIGN, false)
            || v.word::<SslComEnvironment>(&keys::SSLDOTCOM_WINDOWS_SIGN)
                .is_some(),
        ssldotcom_windows_sign: v.word(&keys::SSLDOTCOM_WINDOWS_SIGN),
        macos_sign: v.flag(&keys::MACOS_SIGN, false),
        cargo_auditable: v.flag(&keys::CARGO_AUDITABLE, false),
        always_use_latest_updater: v.flag(&keys::ALWAYS_USE_LATEST_UPDATER, false),
        github_releases_repo: v.text(&keys::GITHUB_RELEASES_REPO),
        github_releases_submodule_path: v.text(&keys::GITHUB_RELEASES_SUBMODULE_PATH),
        msvc_crt_static: v.flag(&keys::MSVC_CRT_STATIC, true),
        force_latest: v.flag(&keys::FORCE_LATEST, false),
        build_setup: v.text(&keys::GITHUB_BUILD_SETUP),
        dispatch_releases: v.flag(&keys::DISPATCH_RELEASES, false),
        release_branch: v.text(&keys::RELEASE_BRANCH),
        attestations: v.flag(&keys::GITHUB_ATTESTATIONS, false).then(|| {
            let phase = v.word(&keys::GITHUB_ATTESTATIONS_PHASE).unwrap_or_default();
            let filters = Some(v.list(&keys::GITHUB_ATTESTATIONS_FILTERS))
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| vec!["*".into()]);
            (phase, filters)
        }),
        job_permissions: v.map(&keys::GITHUB_CUSTOM_JOB_PERMISSIONS, |perms| {
            Some(
                perms
                    .as_object()?
                    .iter()
                    .filter_map(|(p, l)| Some((p.clone(), text_of(l)?)))
                    .collect(),
            )
        }),
        create_release: v.flag(&keys::CREATE_RELEASE, true),
        github_release: v.word(&keys::GITHUB_RELEASE).unwrap_or_default(),
        action_commits: v.map(&keys::GITHUB_ACTION_COMMITS, text_of),
        custom_jobs: custom_jobs(&v),
        publish_prereleases: v.flag(&keys::PUBLISH_PRERELEASES, false),
        tool_url_override: v.text(&keys::CARGO_DIST_URL_OVERRIDE),
        runners: v.map(&keys::GITHUB_CUSTOM_RUNNERS, |r| Some(runner_of(r))),
        targets: Vec::new(),
        system_deps: Vec::new(),
        any_msi: false,
    }
}

/// The `*-jobs` keys: where in the workflow each custom job runs -> the jobs.
fn custom_jobs(v: &Values) -> BTreeMap<&'static str, Vec<String>> {
    [
        ("plan", &keys::PLAN_JOBS),
        ("local-artifacts", &keys::LOCAL_ARTIFACTS_JOBS),
        ("local-artifacts", &keys::BUILD_LOCAL_ARTIFACTS_JOBS),
        ("global-artifacts", &keys::GLOBAL_ARTIFACTS_JOBS),
        ("global-artifacts", &keys::BUILD_GLOBAL_ARTIFACTS_JOBS),
        ("host", &keys::HOST_JOBS),
        ("post-announce", &keys::POST_ANNOUNCE_JOBS),
    ]
    .into_iter()
    .fold(BTreeMap::new(), |mut acc, (point, key)| {
        let jobs = v.list(key);
        if !jobs.is_empty() {
            acc.entry(point).or_insert_with(Vec::new).extend(jobs);
        }
        acc
    })
}

/// The installers of a package, as cargo-dist 0.34 turns them on: per layer, a key that
/// configures an installer (`tap`/`formula`: Homebrew; `npm-package`/`npm-scope`/
/// `npm-shrinkwrap`: npm; `mac-pkg-config` with an `identifier` or `install-location`: pkg)
/// turns it on even when that layer's `installers` leaves it out; otherwise a package's own
/// `installers` decides, then the workspace's.
fn installers(ws: &Layer, pkg: &Layer) -> Vec<InstallerKind> {
    let has = |l: &Layer, k: &KeyDef| l.values.contains_key(k.name);
    let configures = |l: &Layer, kind: InstallerKind| match kind {
        InstallerKind::Homebrew => has(l, &keys::TAP) || has(l, &keys::FORMULA),
        InstallerKind::Npm => [&keys::NPM_PACKAGE, &keys::NPM_SCOPE, &keys::NPM_SHRINKWRAP]
            .iter()
            .any(|k| has(l, k)),
        InstallerKind::Pkg => l
            .values
            .get(keys::MAC_PKG_CONFIG.name)
            .and_then(Value::as_object)
            .is_some_and(|t| t.contains_key("identifier") || t.contains_key("install-location")),
        _ => false,
    };
    // Each layer's own `installers` list, parsed once.
    let listed = |l: &Layer| {
        has(l, &keys::INSTALLERS).then(|| Values(&[l]).words::<InstallerKind>(&keys::INSTALLERS))
    };
    let (ws_list, pkg_list) = (listed(ws), listed(pkg));
    // `None`: the layer says nothing (a workspace list leaving a kind out says nothing either).
    let state = |l: &Layer, list: &Option<Vec<InstallerKind>>, workspace: bool, kind| {
        if configures(l, kind) {
            return Some(true);
        }
        let in_list = list.as_ref()?.contains(&kind);
        (in_list || !workspace).then_some(in_list)
    };
    InstallerKind::ALL
        .iter()
        .copied()
        .filter(|&k| {
            state(pkg, &pkg_list, false, k)
                .or(state(ws, &ws_list, true, k))
                .unwrap_or(false)
        })
        .collect()
}

/// `npm` in the `packages` style: a main package and a package per target.
fn npm_style(
    mut kinds: Vec<InstallerKind>,
    style: Option<vocab::NpmInstallerStyle>,
) -> Vec<InstallerKind> {
    let packages = style == Some(vocab::NpmInstallerStyle::Packages);
    if let (true, Some(at)) = (
        packages,
        kinds.iter().position(|&k| k == InstallerKind::Npm),
    ) {
        kinds.splice(
            at..=at,
            [InstallerKind::NpmPackages, InstallerKind::NpmPlatform],
        );
    }
    kinds
}

/// defaults <- workspace <- package.
fn package_config(ws: &Layer, pkg: &Layer) -> PackageConfig {
    let v = Values(&[pkg, ws]);
    let sorted = |mut list: Vec<String>| {
        list.sort();
        list.dedup();
        list
    };
    let lists = |x: &Value| Some(string_list(x));
    PackageConfig {
        dist: v.get(&keys::DIST).and_then(Value::as_bool),
        installers: npm_style(installers(ws, pkg), v.word(&keys::NPM_INSTALLER_STYLE)),
        mac_pkg_identifier: v
            .get(&keys::MAC_PKG_CONFIG)
            .and_then(|t| t.get("identifier"))
            .and_then(Value::as_str)
            .map(String::from),
        targets: sorted(v.list(&keys::TARGETS)),
        binaries: v.map(&keys::BINARIES, lists),
        min_glibc: v.map(&keys::MIN_GLIBC_VERSION, text_of),
        unix_archive: v.word(&keys::UNIX_ARCHIVE).unwrap_or(ArchiveFormat::TarXz),
        windows_archive: v.word(&keys::WINDOWS_ARCHIVE).unwrap_or(ArchiveFormat::Zip),
        include: includes(ws, pkg),
        auto_includes: v.flag(&keys::AUTO_INCLUDES, true),
        features: v.list(&keys::FEATURES),
        default_features: v.flag(&keys::DEFAULT_FEATURES, true),
        all_features: v.flag(&keys::ALL_FEATURES, false),
        install_path: v
            .list(&keys::INSTALL_PATH)
            .iter()
            .filter_map(|p| InstallPath::parse(p).ok())
            .collect(),
        npm_package: v.text(&keys::NPM_PACKAGE),
        npm_scope: v.text(&keys::NPM_SCOPE),
        npm_shrinkwrap: v.flag(&keys::NPM_SHRINKWRAP, true),
        formula: v.text(&keys::FORMULA),
        success_msg: v
            .text(&keys::INSTALL_SUCCESS_MSG)
            .or_else(|| v.text(&keys::CUSTOM_SUCCESS_MSG)),
        display: v.flag(&keys::DISPLAY, true),
        display_name: v.text(&keys::DISPLAY_NAME),
        bin_aliases: v.map(&keys::BIN_ALIASES, lists),
        extra_artifacts: extra_artifacts(ws, pkg),
        cyclonedx: v.flag(&keys::CARGO_CYCLONEDX, false),
        package_libraries: v.words(&keys::PACKAGE_LIBRARIES),
        install_libraries: v.words(&keys::INSTALL_LIBRARIES),
    }
}

/// One `[[extra-artifacts]]` entry: `build` run in `working_dir`, making `artifacts`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExtraArtifacts {
    /// Workspace-relative: `working-dir` below the directory of the file that declares it.
    pub working_dir: String,
    pub build: Vec<String>,
    /// Relative to `working_dir`.
    pub artifacts: Vec<String>,
}

/// The package's entries, or the workspace's (paths relative to the file that declares them).
fn extra_artifacts(ws: &Layer, pkg: &Layer) -> Vec<ExtraArtifacts> {
    let name = keys::EXTRA_ARTIFACTS.name;
    let layer = if pkg.values.contains_key(name) {
        pkg
    } else {
        ws
    };
    let entries = layer.values.get(name).and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .map(|e| {
            let sub = e
                .get("working-dir")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches("./")
                .trim_end_matches('/');
            let working_dir = [layer.dir.as_str(), sub]
                .into_iter()
                .filter(|p| !p.is_empty() && *p != ".")
                .collect::<Vec<_>>()
                .join("/");
            ExtraArtifacts {
                working_dir,
                build: e.get("build").map(string_list).unwrap_or_default(),
                artifacts: e.get("artifacts").map(string_list).unwrap_or_default(),
            }
        })
        .collect()
}

/// The packages of a (checked) `dependencies` table that the build stage needs.
fn system_deps(v: &Value) -> Vec<SystemDep> {
    let mut out = Vec::new();
    let Some(managers) = v.as_object() else {
        return out;
    };
    for (manager, pkgs) in managers {
        for (package, spec) in pkgs.as_object().into_iter().flatten() {
            let version = spec
                .as_str()
                .or_else(|| spec.get("version")?.as_str())
                .filter(|v| *v != "*")
                .map(String::from);
            // `stage` lists when the package is needed; only "build" concerns the build job.
            let stages = spec.get("stage").map(string_list);
            if stages.is_some_and(|s| !s.iter().any(|s| s == "build")) {
                continue;
            }
            out.push(SystemDep {
                manager: manager.clone(),
                package: package.clone(),
                version,
                targets: spec.get("targets").map(string_list),
            });
        }
    }
    out
}

/// `include` extends: the workspace's entries and the package's, each relative to the file that
/// names it, as workspace-relative paths.
fn includes(ws: &Layer, pkg: &Layer) -> Vec<String> {
    let mut out = Vec::new();
    for layer in [ws, pkg] {
        let Some(items) = layer.values.get(keys::INCLUDE.name).and_then(strings) else {
            continue;
        };
        for i in items {
            let i = i.trim_start_matches("./").trim_end_matches('/');
            out.push(if layer.dir.is_empty() {
                i.to_string()
            } else {
                format!("{}/{i}", layer.dir)
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value, level: Scope) -> (Result<Layer, ConfigError>, Vec<ConfigWarning>) {
        let mut w = Vec::new();
        let r = read_layer(
            &v,
            "[workspace.metadata.dist]",
            "Cargo.toml",
            "",
            level,
            &mut w,
        );
        (r, w)
    }

    #[test]
    fn unknown_keys_warn_with_the_closest() {
        let (r, w) = parse(
            json!({"instalers": ["shell"], "some-future-key": 1}),
            Scope::Workspace,
        );
        assert!(r.unwrap().values.is_empty());
        assert_eq!(
            w.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            [
                "unknown key `instalers` in [workspace.metadata.dist] of Cargo.toml is ignored; did you mean `installers`?",
                "unknown key `some-future-key` in [workspace.metadata.dist] of Cargo.toml is ignored",
            ]
        );
    }

    #[test]
    fn wrong_type_names_key_and_expected_type() {
        let e = parse(
            json!({"targets": "x86_64-unknown-linux-gnu"}),
            Scope::Workspace,
        )
        .0
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`targets` in [workspace.metadata.dist] of Cargo.toml must be an array of strings, found the string \"x86_64-unknown-linux-gnu\""
        );
        let e = parse(json!({"install-updater": "no"}), Scope::Workspace)
            .0
            .unwrap_err();
        assert!(e.to_string().contains("must be a boolean"), "{e}");
        let e = parse(
            json!({"github-custom-runners": {"global": 3}}),
            Scope::Workspace,
        )
        .0
        .unwrap_err();
        assert!(
            e.to_string().contains("`github-custom-runners.global`"),
            "{e}"
        );
    }

    #[test]
    fn workspace_keys_on_a_package_warn_and_are_dropped() {
        let (r, w) = parse(
            json!({"cargo-dist-version": "0.1.0", "targets": []}),
            Scope::Any,
        );
        let layer = r.unwrap();
        assert!(!layer.values.contains_key("cargo-dist-version"));
        assert!(layer.values.contains_key("targets"));
        assert!(
            matches!(&w[..], [ConfigWarning::WorkspaceOnly { key, .. }] if key == "cargo-dist-version")
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse(json!({"unix-archive": ".rar"}), Scope::Workspace)
            .0
            .unwrap_err();
        assert!(e.to_string().contains("\".rar\""), "{e}");
        let e = parse(json!({"installers": ["apk"]}), Scope::Workspace)
            .0
            .unwrap_err();
        assert!(e.to_string().contains("\"msi\""), "{e}");
    }

    #[test]
    fn both_ci_forms_parse() {
        for v in [json!("github"), json!(["github"])] {
            let layer = parse(json!({ "ci": v }), Scope::Workspace).0.unwrap();
            assert_eq!(global_config(&layer).ci, [vocab::CiBackend::Github]);
        }
    }
}
