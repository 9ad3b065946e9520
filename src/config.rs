//! Config stage: raw `[workspace.metadata.dist]` / `[package.metadata.dist]` tables -> one resolved
//! config per package.
//!
//! The boundary: [`RawConfig`] is exactly what one table says (every field optional, validated for
//! key names, types and values); [`PackageConfig`] is what a package builds with after layering
//! defaults <- workspace <- package (`include` extends instead of replacing).

use std::collections::BTreeMap;

use dist_recipes::archive::ArchiveFormat;
use serde_json::Value;

use crate::workspace::{Package, Workspace};

/// Where a key may be set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Only `[workspace.metadata.dist]`: it shapes the whole release, not one package.
    Global,
    /// Workspace sets the default, a package may override.
    Any,
}

/// Every key cargo-dist accepts, so unknown keys can be named with the closest valid one.
const KEYS: &[(&str, Scope)] = &[
    ("cargo-dist-version", Scope::Global),
    ("ci", Scope::Global),
    ("allow-dirty", Scope::Global),
    ("pr-run-mode", Scope::Global),
    ("source-tarball", Scope::Global),
    ("tap", Scope::Global),
    ("installers", Scope::Any),
    ("targets", Scope::Any),
    ("unix-archive", Scope::Any),
    ("windows-archive", Scope::Any),
    ("checksum", Scope::Any),
    ("include", Scope::Any),
    ("auto-includes", Scope::Any),
    ("dist", Scope::Any),
    ("features", Scope::Any),
    ("default-features", Scope::Any),
    ("all-features", Scope::Any),
    ("install-path", Scope::Any),
    ("npm-package", Scope::Any),
    ("npm-scope", Scope::Any),
    ("formula", Scope::Any),
];

pub const INSTALLERS: &[&str] = &["shell", "powershell", "npm", "homebrew"];
pub const CI_BACKENDS: &[&str] = &["github"];
const CHECKSUMS: &[&str] = &["sha256"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown key `{key}` in {table} of {file}{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownKey {
        key: String,
        table: String,
        file: String,
        suggestion: Option<String>,
    },
    #[error("`{key}` in {table} of {file} must be {expected}, found {found}")]
    WrongType {
        key: String,
        table: String,
        file: String,
        expected: String,
        found: String,
    },
    #[error("`{key}` in {table} of {file} is a workspace-wide setting: move it to [workspace.metadata.dist] in the root Cargo.toml")]
    GlobalOnly {
        key: String,
        table: String,
        file: String,
    },
    #[error("`{key}` in {table} of {file} has value {value}, expected {expected}")]
    BadValue {
        key: String,
        table: String,
        file: String,
        value: String,
        expected: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Installer {
    Shell,
    Powershell,
    Npm,
    Homebrew,
}

impl Installer {
    pub fn name(self) -> &'static str {
        match self {
            Installer::Shell => "shell",
            Installer::Powershell => "powershell",
            Installer::Npm => "npm",
            Installer::Homebrew => "homebrew",
        }
    }
    fn parse(s: &str) -> Option<Installer> {
        Some(match s {
            "shell" => Installer::Shell,
            "powershell" => Installer::Powershell,
            "npm" => Installer::Npm,
            "homebrew" => Installer::Homebrew,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrRunMode {
    Skip,
    #[default]
    Plan,
    Upload,
}

impl PrRunMode {
    pub fn parse(s: &str) -> Option<PrRunMode> {
        Some(match s {
            "skip" => PrRunMode::Skip,
            "plan" => PrRunMode::Plan,
            "upload" => PrRunMode::Upload,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PrRunMode::Skip => "skip",
            PrRunMode::Plan => "plan",
            PrRunMode::Upload => "upload",
        }
    }
}

/// One dist table exactly as written: `None` = not set here.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub cargo_dist_version: Option<String>,
    pub ci: Option<Vec<String>>,
    pub allow_dirty: Option<bool>,
    pub pr_run_mode: Option<PrRunMode>,
    pub source_tarball: Option<bool>,
    pub tap: Option<String>,
    pub installers: Option<Vec<Installer>>,
    pub targets: Option<Vec<String>>,
    pub unix_archive: Option<ArchiveFormat>,
    pub windows_archive: Option<ArchiveFormat>,
    pub checksum: Option<String>,
    pub include: Option<Vec<String>>,
    pub auto_includes: Option<bool>,
    pub dist: Option<bool>,
    pub features: Option<Vec<String>>,
    pub default_features: Option<bool>,
    pub all_features: Option<bool>,
    pub install_path: Option<Vec<String>>,
    pub npm_package: Option<String>,
    pub npm_scope: Option<String>,
    pub formula: Option<String>,
}

/// Settings that shape the whole release.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    pub cargo_dist_version: Option<String>,
    pub ci: Vec<String>,
    pub allow_dirty: bool,
    pub pr_run_mode: PrRunMode,
    pub source_tarball: bool,
    pub tap: Option<String>,
}

/// What one package is built and shipped with.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageConfig {
    pub dist: Option<bool>,
    pub installers: Vec<Installer>,
    pub targets: Vec<String>,
    pub unix_archive: ArchiveFormat,
    pub windows_archive: ArchiveFormat,
    pub checksum: String,
    /// Workspace-relative paths.
    pub include: Vec<String>,
    pub auto_includes: bool,
    pub features: Vec<String>,
    pub default_features: bool,
    pub all_features: bool,
    pub install_path: Vec<String>,
    pub npm_package: Option<String>,
    pub npm_scope: Option<String>,
    pub formula: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub global: GlobalConfig,
    /// By package name.
    pub packages: BTreeMap<String, PackageConfig>,
}

impl Config {
    pub fn package(&self, name: &str) -> &PackageConfig {
        &self.packages[name]
    }
}

/// Reads and resolves every dist table of the workspace.
pub fn resolve(ws: &Workspace) -> Result<Config, ConfigError> {
    let root_file = "Cargo.toml".to_string();
    let ws_table = if ws.single_package {
        "[package.metadata.dist]"
    } else {
        "[workspace.metadata.dist]"
    };
    let ws_raw = match ws.workspace_metadata.get("dist") {
        Some(v) => RawConfig::parse(v, ws_table, &root_file, Scope::Global)?,
        None => RawConfig::default(),
    };
    let global = GlobalConfig {
        cargo_dist_version: ws_raw.cargo_dist_version.clone(),
        ci: ws_raw.ci.clone().unwrap_or_default(),
        allow_dirty: ws_raw.allow_dirty.unwrap_or(false),
        pr_run_mode: ws_raw.pr_run_mode.unwrap_or_default(),
        source_tarball: ws_raw.source_tarball.unwrap_or(true),
        tap: ws_raw.tap.clone(),
    };
    let mut packages = BTreeMap::new();
    for pkg in &ws.packages {
        // In a workspace-less project the root package's table *is* the workspace table.
        let pkg_raw = match pkg.metadata.get("dist") {
            Some(v) if !(ws.single_package && pkg.dir.is_empty()) => RawConfig::parse(
                v,
                "[package.metadata.dist]",
                &manifest_display(ws, pkg),
                Scope::Any,
            )?,
            _ => RawConfig::default(),
        };
        packages.insert(pkg.name.clone(), layer(&ws_raw, &pkg_raw, pkg));
    }
    Ok(Config { global, packages })
}

fn manifest_display(ws: &Workspace, pkg: &Package) -> String {
    crate::workspace::relative(&ws.root, &pkg.manifest_path)
}

/// defaults <- workspace <- package.
fn layer(ws: &RawConfig, pkg: &RawConfig, package: &Package) -> PackageConfig {
    fn pick<T: Clone>(p: &Option<T>, w: &Option<T>) -> Option<T> {
        p.clone().or_else(|| w.clone())
    }
    // `include` paths are relative to the manifest that names them.
    let join = |dir: &str, items: &Option<Vec<String>>| -> Vec<String> {
        items
            .iter()
            .flatten()
            .map(|i| {
                let i = i.trim_start_matches("./");
                if dir.is_empty() {
                    i.to_string()
                } else {
                    format!("{dir}/{i}")
                }
            })
            .collect()
    };
    let mut include = join("", &ws.include);
    include.extend(join(&package.dir, &pkg.include));
    include.sort();
    include.dedup();
    let mut installers = pick(&pkg.installers, &ws.installers).unwrap_or_default();
    installers.sort();
    installers.dedup();
    let mut targets = pick(&pkg.targets, &ws.targets).unwrap_or_default();
    targets.sort();
    targets.dedup();
    PackageConfig {
        dist: pick(&pkg.dist, &ws.dist),
        installers,
        targets,
        unix_archive: pick(&pkg.unix_archive, &ws.unix_archive).unwrap_or(ArchiveFormat::TarXz),
        windows_archive: pick(&pkg.windows_archive, &ws.windows_archive)
            .unwrap_or(ArchiveFormat::Zip),
        checksum: pick(&pkg.checksum, &ws.checksum).unwrap_or_else(|| "sha256".into()),
        include,
        auto_includes: pick(&pkg.auto_includes, &ws.auto_includes).unwrap_or(true),
        features: pick(&pkg.features, &ws.features).unwrap_or_default(),
        default_features: pick(&pkg.default_features, &ws.default_features).unwrap_or(true),
        all_features: pick(&pkg.all_features, &ws.all_features).unwrap_or(false),
        install_path: pick(&pkg.install_path, &ws.install_path)
            .unwrap_or_else(|| vec!["CARGO_HOME".into()]),
        npm_package: pick(&pkg.npm_package, &ws.npm_package),
        npm_scope: pick(&pkg.npm_scope, &ws.npm_scope),
        formula: pick(&pkg.formula, &ws.formula),
    }
}

/// Reads one table, checking each key's name, scope, type and value.
struct TableReader<'a> {
    table: &'a str,
    file: &'a str,
}

impl TableReader<'_> {
    fn wrong_type(&self, key: &str, expected: &str, v: &Value) -> ConfigError {
        ConfigError::WrongType {
            key: key.into(),
            table: self.table.into(),
            file: self.file.into(),
            expected: expected.into(),
            found: describe(v),
        }
    }
    fn bad_value(&self, key: &str, value: &str, expected: String) -> ConfigError {
        ConfigError::BadValue {
            key: key.into(),
            table: self.table.into(),
            file: self.file.into(),
            value: format!("{value:?}"),
            expected,
        }
    }
    fn string(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong_type(key, "a string", v))
    }
    fn bool(&self, key: &str, v: &Value) -> Result<bool, ConfigError> {
        v.as_bool()
            .ok_or_else(|| self.wrong_type(key, "a boolean", v))
    }
    fn strings(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let err = || self.wrong_type(key, "an array of strings", v);
        v.as_array()
            .ok_or_else(err)?
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(err))
            .collect()
    }
    fn one_of(&self, key: &str, value: String, allowed: &[&str]) -> Result<String, ConfigError> {
        if allowed.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(self.bad_value(key, &value, format!("one of {}", quoted(allowed))))
        }
    }
    fn archive(&self, key: &str, v: &Value) -> Result<ArchiveFormat, ConfigError> {
        let s = self.string(key, v)?;
        ArchiveFormat::parse(&s).ok_or_else(|| {
            self.bad_value(key, &s, quoted(&[".tar.xz", ".tar.gz", ".tar.zst", ".zip"]))
        })
    }
}

impl RawConfig {
    fn parse(v: &Value, table: &str, file: &str, scope: Scope) -> Result<RawConfig, ConfigError> {
        let r = TableReader { table, file };
        let obj = v
            .as_object()
            .ok_or_else(|| r.wrong_type(table, "a table", v))?;
        let mut raw = RawConfig::default();
        // serde_json's map is sorted, so the first error reported is deterministic.
        for (key, v) in obj {
            let Some((_, key_scope)) = KEYS.iter().find(|(k, _)| k == key) else {
                return Err(ConfigError::UnknownKey {
                    key: key.clone(),
                    table: table.into(),
                    file: file.into(),
                    suggestion: closest_key(key),
                });
            };
            if *key_scope == Scope::Global && scope != Scope::Global {
                return Err(ConfigError::GlobalOnly {
                    key: key.clone(),
                    table: table.into(),
                    file: file.into(),
                });
            }
            match key.as_str() {
                "cargo-dist-version" => {
                    let s = r.string(key, v)?;
                    if semver::Version::parse(&s).is_err() {
                        return Err(r.bad_value(key, &s, "a semver version like \"0.1.0\"".into()));
                    }
                    raw.cargo_dist_version = Some(s);
                }
                "ci" => {
                    // cargo-dist accepts both `ci = "github"` and `ci = ["github"]`.
                    let list = match v {
                        Value::String(s) => vec![s.clone()],
                        _ => r.strings(key, v)?,
                    };
                    let list = list
                        .into_iter()
                        .map(|c| r.one_of(key, c, CI_BACKENDS))
                        .collect::<Result<_, _>>()?;
                    raw.ci = Some(list);
                }
                "allow-dirty" => {
                    // `true`, or cargo-dist's list form `["ci"]`.
                    raw.allow_dirty = Some(match v {
                        Value::Bool(b) => *b,
                        Value::Array(_) => {
                            let list = r.strings(key, v)?;
                            for item in &list {
                                r.one_of(key, item.clone(), &["ci", "msi"])?;
                            }
                            list.iter().any(|i| i == "ci")
                        }
                        _ => return Err(r.wrong_type(key, "a boolean or an array of strings", v)),
                    });
                }
                "pr-run-mode" => {
                    let s = r.one_of(key, r.string(key, v)?, &["skip", "plan", "upload"])?;
                    raw.pr_run_mode = PrRunMode::parse(&s);
                }
                "source-tarball" => raw.source_tarball = Some(r.bool(key, v)?),
                "tap" => raw.tap = Some(r.string(key, v)?),
                "installers" => {
                    let list = r.strings(key, v)?;
                    let mut out = Vec::new();
                    for s in list {
                        out.push(Installer::parse(&s).ok_or_else(|| {
                            r.bad_value(key, &s, format!("one of {}", quoted(INSTALLERS)))
                        })?);
                    }
                    raw.installers = Some(out);
                }
                "targets" => {
                    let list = r.strings(key, v)?;
                    for t in &list {
                        if !looks_like_triple(t) {
                            return Err(r.bad_value(
                                key,
                                t,
                                "a Rust target triple like \"x86_64-unknown-linux-gnu\"".into(),
                            ));
                        }
                    }
                    raw.targets = Some(list);
                }
                "unix-archive" => raw.unix_archive = Some(r.archive(key, v)?),
                "windows-archive" => raw.windows_archive = Some(r.archive(key, v)?),
                "checksum" => raw.checksum = Some(r.one_of(key, r.string(key, v)?, CHECKSUMS)?),
                "include" => {
                    let list = r.strings(key, v)?;
                    for p in &list {
                        if p.starts_with('/') || p.split('/').any(|c| c == "..") {
                            return Err(r.bad_value(
                                key,
                                p,
                                "a path inside the package, relative to its Cargo.toml".into(),
                            ));
                        }
                    }
                    raw.include = Some(list);
                }
                "auto-includes" => raw.auto_includes = Some(r.bool(key, v)?),
                "dist" => raw.dist = Some(r.bool(key, v)?),
                "features" => raw.features = Some(r.strings(key, v)?),
                "default-features" => raw.default_features = Some(r.bool(key, v)?),
                "all-features" => raw.all_features = Some(r.bool(key, v)?),
                "install-path" => {
                    let list = match v {
                        Value::String(s) => vec![s.clone()],
                        _ => r.strings(key, v)?,
                    };
                    for p in &list {
                        if let Err(e) = dist_recipes::installer::InstallPath::parse(p) {
                            return Err(r.bad_value(key, p, e.to_string()));
                        }
                    }
                    raw.install_path = Some(list);
                }
                "npm-package" => raw.npm_package = Some(r.string(key, v)?),
                "npm-scope" => {
                    let s = r.string(key, v)?;
                    if !s.starts_with('@') || s.len() < 2 || s.contains('/') {
                        return Err(r.bad_value(key, &s, "an npm scope like \"@my-org\"".into()));
                    }
                    raw.npm_scope = Some(s);
                }
                "formula" => raw.formula = Some(r.string(key, v)?),
                _ => unreachable!("every key in KEYS is handled above"),
            }
        }
        Ok(raw)
    }
}

fn closest_key(key: &str) -> Option<String> {
    KEYS.iter()
        .map(|(k, _)| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

fn looks_like_triple(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value, scope: Scope) -> Result<RawConfig, ConfigError> {
        RawConfig::parse(&v, "[workspace.metadata.dist]", "Cargo.toml", scope)
    }

    #[test]
    fn unknown_key_names_the_closest() {
        let e = parse(json!({"instalers": ["shell"]}), Scope::Global).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown key `instalers` in [workspace.metadata.dist] of Cargo.toml; did you mean `installers`?"
        );
    }

    #[test]
    fn wrong_type_names_key_and_expected_type() {
        let e = parse(
            json!({"targets": "x86_64-unknown-linux-gnu"}),
            Scope::Global,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`targets` in [workspace.metadata.dist] of Cargo.toml must be an array of strings, found the string \"x86_64-unknown-linux-gnu\""
        );
    }

    #[test]
    fn global_only_keys_are_rejected_per_package() {
        let e = parse(json!({"cargo-dist-version": "0.1.0"}), Scope::Any).unwrap_err();
        assert!(matches!(e, ConfigError::GlobalOnly { .. }), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse(json!({"unix-archive": ".rar"}), Scope::Global).unwrap_err();
        assert!(e.to_string().contains("\".rar\""), "{e}");
        let e = parse(json!({"installers": ["msi"]}), Scope::Global).unwrap_err();
        assert!(e.to_string().contains("\"shell\""), "{e}");
    }

    #[test]
    fn both_ci_forms_parse() {
        assert_eq!(
            parse(json!({"ci": "github"}), Scope::Global)
                .unwrap()
                .ci
                .unwrap(),
            ["github"]
        );
        assert_eq!(
            parse(json!({"ci": ["github"]}), Scope::Global)
                .unwrap()
                .ci
                .unwrap(),
            ["github"]
        );
    }
}
