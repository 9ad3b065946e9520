//! The npm packages, in two styles (`npm-installer-style`):
//!
//! - `download` (the default): one package with a launcher that fetches the archive built for
//!   the host on first run and checks it against the artifact table it ships; its files are
//!   named as cargo-dist's npm package's (`binary.js`, `binary-install.js`, `install.js`,
//!   `run.js`, `.gitignore`), though none runs as an install script.
//! - `packages`: one package per target holding that build's binaries, limited to its platform
//!   by `os`/`cpu`/`libc`, and a main package listing them as `optionalDependencies` with a
//!   launcher that runs the one installed, as esbuild and Biome ship; no install scripts, so
//!   pnpm 10's default settings install it too.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::kind::{package_metadata, InstallerKind, PackageInputs, PackageSource};
use super::{env_prefix, package_error, InstallerApp, InstallerError};
use crate::recipe::Package;
use crate::target::Target;

/// What both styles' launchers share (the host's targets, running a binary).
const HOST_JS: &str = include_str!("../../templates/npm/host.js");
const LAUNCH_JS: &str = include_str!("../../templates/npm/launch.js");
/// The `download` style: `binary.js` (the artifact table is rendered into it) and the rest of
/// `binary-install.js`, which begins with `host.js` (less its exports).
const BINARY_JS: &str = include_str!("../../templates/npm/binary.js");
const BINARY_INSTALL_JS: &str = include_str!("../../templates/npm/binary-install.js");
/// `install.js`, `.gitignore` and the entry point of each command (`{RUNS}`: the binary).
const INSTALL_JS: &str = "#!/usr/bin/env node\n'use strict';\nrequire('./binary.js').install();\n";
const GITIGNORE: &str = "/node_modules\n/dist\n";
const ENTRY_JS: &str = "#!/usr/bin/env node\n'use strict';\nrequire('./binary.js').run({RUNS});\n";

/// Everything the `download` style renders, for its recipe key.
pub(crate) const DOWNLOAD_TEMPLATES: &[&str] = &[
    HOST_JS,
    BINARY_JS,
    BINARY_INSTALL_JS,
    INSTALL_JS,
    GITIGNORE,
    ENTRY_JS,
];
/// Everything the `packages` style's main package renders, for its recipe key.
pub(crate) const PACKAGES_TEMPLATES: &[&str] = &[HOST_JS, LAUNCH_JS, PLATFORM_WRITER];
/// The revision of the platform packages' writer, in their keys and the main package's (both
/// must agree on the platform packages' names and fields).
const PLATFORM_WRITER: &str = "npm-platform 1";

/// `package.json`; a struct rather than a map so key order is fixed.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct PackageJson<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    bin: BTreeMap<String, String>,
    files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    os: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cpu: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    libc: Vec<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    optional_dependencies: BTreeMap<String, &'a str>,
    /// Yarn PnP: unpack the binaries rather than read them from a zip.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    prefer_unplugged: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    engines: BTreeMap<&'static str, &'static str>,
}

/// npm's `os`, `cpu` and `libc` of a target's builds; `None` for a target Node does not run
/// on. Only glibc builds name a libc: musl builds are static and run on any Linux.
fn platform(target: &str) -> Option<(Vec<&'static str>, Vec<&'static str>, Vec<&'static str>)> {
    let t = Target(target);
    let os = if t.is_linux() {
        "linux"
    } else if t.is_darwin() {
        "darwin"
    } else if t.is_windows() {
        "win32"
    } else if target.ends_with("-freebsd") {
        "freebsd"
    } else {
        return None;
    };
    let cpu = match t.arch() {
        "x86_64" => vec!["x64"],
        "aarch64" => vec!["arm64"],
        "i686" | "i586" => vec!["ia32"],
        "armv7" | "arm" | "thumbv7neon" => vec!["arm"],
        "riscv64gc" => vec!["riscv64"],
        "powerpc64le" => vec!["ppc64"],
        "s390x" => vec!["s390x"],
        "loongarch64" => vec!["loong64"],
        "universal2" => vec!["arm64", "x64"],
        _ => return None,
    };
    let libc = match t.is_linux() && !t.is_musl() {
        true => vec!["glibc"],
        false => Vec::new(),
    };
    Some((vec![os], cpu, libc))
}

/// The fields of a platform package that decide where npm installs it.
fn platform_fields<'a>(name: &'a str, version: &'a str, target: &str) -> PackageJson<'a> {
    let (os, cpu, libc) = platform(target).unwrap_or_default();
    PackageJson {
        name,
        version,
        os,
        cpu,
        libc,
        ..PackageJson::default()
    }
}

/// `npm-shrinkwrap.json` (`npm-shrinkwrap`, on by default as in cargo-dist): the lockfile npm
/// honours in a published package, naming the package itself and, in the `packages` style,
/// each platform package at its exact version with the platform it installs on (optional, so
/// npm skips the others). No `resolved`/`integrity`: the registry the user installs from
/// serves them.
fn lockfile(root: &PackageJson, locked: &[(String, PackageJson)]) -> Vec<u8> {
    use serde_json::{json, Map, Value};
    let mut packages = Map::new();
    let mut top = Map::new();
    top.insert("name".into(), json!(root.name));
    top.insert("version".into(), json!(root.version));
    if let Some(license) = root.license {
        top.insert("license".into(), json!(license));
    }
    if !root.bin.is_empty() {
        top.insert("bin".into(), json!(root.bin));
    }
    if !root.optional_dependencies.is_empty() {
        top.insert(
            "optionalDependencies".into(),
            json!(root.optional_dependencies),
        );
    }
    top.insert("engines".into(), json!(root.engines));
    packages.insert(String::new(), Value::Object(top));
    for (name, p) in locked {
        let mut entry = Map::new();
        entry.insert("version".into(), json!(p.version));
        entry.insert("optional".into(), json!(true));
        for (field, values) in [("os", &p.os), ("cpu", &p.cpu), ("libc", &p.libc)] {
            if !values.is_empty() {
                entry.insert(field.into(), json!(values));
            }
        }
        packages.insert(format!("node_modules/{name}"), Value::Object(entry));
    }
    json_pretty(&json!({
        "lockfileVersion": 3,
        "name": root.name,
        "packages": packages,
        "requires": true,
        "version": root.version,
    }))
}

/// The platform package of `target`: the main package's name and the triple, e.g.
/// `@scope/app-x86_64-unknown-linux-gnu`.
pub(crate) fn platform_package_name(main: &str, target: &str) -> String {
    format!("{main}-{target}")
}

/// Whether the `packages` style makes a platform package for `target`.
pub(crate) fn has_platform_package(target: &str) -> bool {
    platform(target).is_some()
}

/// The artifact table rendered into `binary.js`.
#[derive(Serialize)]
struct Manifest<'a> {
    app_name: &'a str,
    app_version: &'a str,
    env_prefix: String,
    download_url: &'a str,
    binaries: &'a [String],
    artifacts: Vec<ManifestArtifact<'a>>,
}

#[derive(Serialize)]
struct ManifestArtifact<'a> {
    target: &'a str,
    file_name: &'a str,
    sha256: Option<&'a str>,
    root_dir: Option<&'a str>,
}

/// npm's naming rules: lowercase URL-safe characters, optionally under one `@scope/`.
fn check_package_name(name: &str) -> Result<(), InstallerError> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['.', '_'])
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
            })
    };
    let ok = name.len() <= 214
        && match name.strip_prefix('@') {
            Some(scoped) => scoped
                .split_once('/')
                .is_some_and(|(scope, pkg)| part_ok(scope) && part_ok(pkg)),
            None => part_ok(name),
        };
    if ok {
        Ok(())
    } else {
        Err(InstallerError::InvalidField {
            what: "npm package name",
            value: name.to_string(),
            reason:
                "must be `name` or `@scope/name` in lowercase [a-z0-9-._~], at most 214 characters",
        })
    }
}

fn json_pretty<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain structs always serialize");
    bytes.push(b'\n');
    bytes
}

/// The App's own files an npm package ships (README, licences, changelog, `include`s, as its
/// archives hold them): package-relative path -> contents.
pub type Docs = BTreeMap<String, Vec<u8>>;

/// The files each npm package writes itself besides its commands' entry points and
/// `npm-shrinkwrap.json`: the `download` style's, the `packages` style main package's.
const DOWNLOAD_FILES: [&str; 5] = [
    ".gitignore",
    "binary-install.js",
    "binary.js",
    "install.js",
    "package.json",
];
const MAIN_FILES: [&str; 4] = ["host.js", "launch.js", "package.json", "platforms.json"];

/// The entry point of `command` in a package of `kind` installing `commands`: the `download`
/// style's `run.js` when it installs one command (as cargo-dist's), `run-{command}.js` for
/// each of several (npm's shims do not tell a shared script which name ran it on every
/// platform); the `packages` style's `bin/{command}.js`.
fn entry_path(kind: InstallerKind, commands: usize, command: &str) -> String {
    match (kind, commands) {
        (InstallerKind::Npm, 1) => "run.js".into(),
        (InstallerKind::Npm, _) => format!("run-{command}.js"),
        _ => format!("bin/{command}.js"),
    }
}

/// The files an npm package of `kind` writes itself (not the App's docs), package-relative
/// and sorted, for every command (binary or alias) it installs: what the manifest lists.
pub fn generated_files(kind: InstallerKind, commands: &[String], shrinkwrap: bool) -> Vec<String> {
    let own: &[&str] = match kind {
        InstallerKind::Npm => &DOWNLOAD_FILES,
        InstallerKind::NpmPackages => &MAIN_FILES,
        _ => return Vec::new(),
    };
    let mut files: Vec<String> = own.iter().map(|f| f.to_string()).collect();
    files.extend(commands.iter().map(|c| entry_path(kind, commands.len(), c)));
    if shrinkwrap {
        files.push("npm-shrinkwrap.json".into());
    }
    files.sort();
    files
}

/// `files` of `package.json`: what the package writes (`entries`: its commands' entry points,
/// or their directory), then the App's files.
fn listed(own: &[&str], entries: &[String], docs: &Docs) -> Vec<String> {
    let mut listed: Vec<String> = own
        .iter()
        .filter(|f| **f != "package.json")
        .map(|f| f.to_string())
        .chain(entries.iter().cloned())
        .collect();
    listed.sort();
    listed.extend(docs.keys().cloned());
    listed
}

/// Adds the App's files to a package's own, refusing a name the package writes itself (an
/// `include` of `package.json` would replace the package's).
fn add_docs(
    app: &InstallerApp,
    files: &mut BTreeMap<String, (Vec<u8>, bool)>,
    docs: &Docs,
) -> Result<(), InstallerError> {
    for (path, bytes) in docs {
        if files.contains_key(path) || path == "bin" || path.starts_with("bin/") {
            return Err(InstallerError::Package {
                kind: "npm",
                app: app.app_name.clone(),
                reason: format!(
                    "its archives ship `{path}`, a file the npm package writes itself; rename the file or leave it out of `include`"
                ),
            });
        }
        files.insert(path.clone(), (bytes.clone(), false));
    }
    Ok(())
}

/// The package's files: relative path -> (contents, executable).
pub fn npm_package_files(
    app: &InstallerApp,
    package_name: &str,
    shrinkwrap: bool,
    docs: &Docs,
) -> Result<BTreeMap<String, (Vec<u8>, bool)>, InstallerError> {
    app.validate()?;
    check_package_name(package_name)?;
    let mut files = BTreeMap::new();

    let package = PackageJson {
        name: package_name,
        version: &app.app_version,
        description: app.description.as_deref(),
        license: app.license.as_deref(),
        homepage: app.homepage.as_deref(),
        bin: bin_entries(app, InstallerKind::Npm),
        files: listed(&DOWNLOAD_FILES, &entry_files(app, InstallerKind::Npm), docs),
        engines: BTreeMap::from([("node", ">=14.18")]),
        ..PackageJson::default()
    };
    files.insert("package.json".into(), (json_pretty(&package), false));
    if shrinkwrap {
        files.insert(
            "npm-shrinkwrap.json".into(),
            (lockfile(&package, &[]), false),
        );
    }
    let manifest = Manifest {
        app_name: &app.app_name,
        app_version: &app.app_version,
        env_prefix: env_prefix(&app.app_name),
        download_url: app.download_url.trim_end_matches('/'),
        binaries: &app.binaries,
        artifacts: app
            .sorted_artifacts()
            .into_iter()
            .map(|a| ManifestArtifact {
                target: &a.target,
                file_name: &a.file_name,
                sha256: a.sha256.as_deref(),
                root_dir: a.root_dir.as_deref(),
            })
            .collect(),
    };
    let table = String::from_utf8(json_pretty(&manifest)).expect("JSON is UTF-8");
    let binary = BINARY_JS.replace("__MANIFEST__", table.trim_end());
    files.insert("binary.js".into(), (binary.into_bytes(), false));
    files.insert(
        "binary-install.js".into(),
        (binary_install_js().into_bytes(), false),
    );
    files.insert("install.js".into(), (INSTALL_JS.as_bytes().to_vec(), true));
    files.insert(".gitignore".into(), (GITIGNORE.as_bytes().to_vec(), false));
    entry_points(app, InstallerKind::Npm, &mut files);
    add_docs(app, &mut files, docs)?;
    Ok(files)
}

/// `binary-install.js`: `host.js` (the host's targets, running a binary) without its exports,
/// then the download code, which exports both.
fn binary_install_js() -> String {
    const EXPORTS: &str = "module.exports = { hostTargets, exec };";
    let host = HOST_JS.trim_end();
    let host = host
        .strip_suffix(EXPORTS)
        .expect("host.js ends with its exports");
    format!("{host}{BINARY_INSTALL_JS}")
}

/// Each command the package installs (every binary, and every alias) with the binary it runs.
fn commands(app: &InstallerApp) -> Vec<(String, String)> {
    let aliases = app.alias_list();
    app.binaries
        .iter()
        .map(|b| (b.clone(), b.clone()))
        .chain(aliases.into_iter().map(|a| (a.alias, a.binary)))
        .collect()
}

/// `bin` of `package.json`: each command -> its entry point.
fn bin_entries(app: &InstallerApp, kind: InstallerKind) -> BTreeMap<String, String> {
    let commands = commands(app);
    let n = commands.len();
    commands
        .into_iter()
        .map(|(c, _)| {
            let path = entry_path(kind, n, &c);
            (c, path)
        })
        .collect()
}

/// What `files` of `package.json` lists for the entry points: each (`download`), or `bin`.
fn entry_files(app: &InstallerApp, kind: InstallerKind) -> Vec<String> {
    match kind {
        InstallerKind::Npm => bin_entries(app, kind).into_values().collect(),
        _ => vec!["bin".into()],
    }
}

/// One tiny entry point per command, running the binary it names ([`entry_path`]).
fn entry_points(
    app: &InstallerApp,
    kind: InstallerKind,
    files: &mut BTreeMap<String, (Vec<u8>, bool)>,
) {
    let commands = commands(app);
    let n = commands.len();
    for (entry, runs) in commands {
        let name = serde_json::to_string(&runs).expect("strings serialize");
        let script = match kind {
            InstallerKind::Npm => ENTRY_JS.replace("{RUNS}", &name),
            _ => format!("#!/usr/bin/env node\n'use strict';\nrequire('../launch.js')({name});\n"),
        };
        files.insert(entry_path(kind, n, &entry), (script.into_bytes(), true));
    }
}

/// `platforms.json` of the main package, read by `launch.js`.
#[derive(Serialize)]
struct Platforms<'a> {
    app_name: &'a str,
    app_version: &'a str,
    /// Target triple -> its platform package.
    packages: BTreeMap<&'a str, String>,
}

/// The main package of the `packages` style: relative path -> (contents, executable).
pub fn npm_main_package_files(
    app: &InstallerApp,
    package_name: &str,
    shrinkwrap: bool,
    docs: &Docs,
) -> Result<BTreeMap<String, (Vec<u8>, bool)>, InstallerError> {
    app.validate()?;
    check_package_name(package_name)?;
    let packages: BTreeMap<&str, String> = app
        .sorted_artifacts()
        .into_iter()
        .filter(|a| has_platform_package(&a.target))
        .map(|a| {
            (
                a.target.as_str(),
                platform_package_name(package_name, &a.target),
            )
        })
        .collect();
    if packages.is_empty() {
        return Err(app.no_suitable("npm"));
    }
    for name in packages.values() {
        check_package_name(name)?;
    }
    let package = PackageJson {
        name: package_name,
        version: &app.app_version,
        description: app.description.as_deref(),
        license: app.license.as_deref(),
        homepage: app.homepage.as_deref(),
        bin: bin_entries(app, InstallerKind::NpmPackages),
        files: listed(
            &MAIN_FILES,
            &entry_files(app, InstallerKind::NpmPackages),
            docs,
        ),
        optional_dependencies: packages
            .values()
            .map(|p| (p.clone(), app.app_version.as_str()))
            .collect(),
        engines: BTreeMap::from([("node", ">=14.18")]),
        ..PackageJson::default()
    };
    let platforms = Platforms {
        app_name: &app.app_name,
        app_version: &app.app_version,
        packages,
    };
    let mut files = BTreeMap::new();
    files.insert("package.json".into(), (json_pretty(&package), false));
    if shrinkwrap {
        let locked: Vec<(String, PackageJson)> = platforms
            .packages
            .iter()
            .map(|(target, name)| {
                (
                    name.clone(),
                    platform_fields(name, &app.app_version, target),
                )
            })
            .collect();
        files.insert(
            "npm-shrinkwrap.json".into(),
            (lockfile(&package, &locked), false),
        );
    }
    files.insert("platforms.json".into(), (json_pretty(&platforms), false));
    files.insert("launch.js".into(), (LAUNCH_JS.as_bytes().to_vec(), false));
    files.insert("host.js".into(), (HOST_JS.as_bytes().to_vec(), false));
    entry_points(app, InstallerKind::NpmPackages, &mut files);
    add_docs(app, &mut files, docs)?;
    Ok(files)
}

/// What a platform package reads (the licence files, which npm ships in every package) and
/// writes (its `package.json` fields; `name` is the main package's).
pub(super) fn platform_inputs(src: &PackageSource) -> PackageInputs {
    PackageInputs {
        files: src.license_files.iter().map(|f| f.to_string()).collect(),
        metadata: package_metadata(
            PLATFORM_WRITER,
            &[
                ("name", src.npm_package),
                ("license", src.license),
                ("homepage", src.homepage.or(src.repository)),
                ("repository", src.repository),
            ],
        ),
    }
}

/// Writes the platform package of `p` (its target's binaries under `bin/`, executable, and the
/// licence files) to `out`, archiving the files as the build staged them in `dir` (`bin/`,
/// `files/`): the binaries are not read into memory and written out again.
pub(super) fn write_platform(p: &Package, dir: &Path, out: &Path) -> Result<(), InstallerError> {
    use crate::archive::{write_archive, ArchiveEntry, ArchiveFormat, EntryMode};
    let (os, cpu, libc) = platform(&p.target)
        .ok_or_else(|| package_error(p, format!("npm has no platform for {}", p.target)))?;
    let meta = |k: &str| p.metadata.get(k).map(String::as_str);
    let main = meta("name").unwrap_or(&p.app);
    let name = platform_package_name(main, &p.target);
    check_package_name(&name)?;
    let entry =
        |path: String, source: std::path::PathBuf, mode| ArchiveEntry { path, source, mode };
    let mut entries: Vec<ArchiveEntry> = p
        .binaries
        .iter()
        .map(|bin| {
            entry(
                format!("bin/{bin}"),
                dir.join("bin").join(bin),
                EntryMode::Executable,
            )
        })
        .collect();
    // The licence files (all the kind reads), at the package's root by base name.
    for path in p.files.keys() {
        let base = path.rsplit('/').next().unwrap_or(path).to_string();
        entries.push(entry(
            base,
            dir.join("files").join(path),
            EntryMode::Regular,
        ));
    }
    let mut files_listed = vec!["bin"];
    if !p.files.is_empty() {
        // npm ships licence files whatever `files` says; listed for clarity.
        files_listed.push("LICEN[CS]E*");
    }
    let description = format!("The {} build of {main}", p.target);
    let package = PackageJson {
        name: &name,
        version: &p.version,
        description: Some(&description),
        license: meta("license"),
        homepage: meta("homepage"),
        repository: meta("repository"),
        files: files_listed.into_iter().map(String::from).collect(),
        os,
        cpu,
        libc,
        prefer_unplugged: true,
        ..PackageJson::default()
    };
    let json = dir.join("package.json");
    std::fs::write(&json, json_pretty(&package)).map_err(|source| InstallerError::Io {
        path: json.clone(),
        source,
    })?;
    entries.push(entry("package.json".into(), json, EntryMode::Regular));
    write_archive(ArchiveFormat::TarGz, "package", &entries, out)?;
    Ok(())
}

/// Writes the package as the tarball npm expects (`{app}-npm-package.tar.gz`, everything under
/// `package/`) to `out`.
pub fn write_npm_package(
    app: &InstallerApp,
    package_name: &str,
    shrinkwrap: bool,
    docs: &Docs,
    out: &Path,
) -> Result<(), InstallerError> {
    let files = npm_package_files(app, package_name, shrinkwrap, docs)?;
    super::write_tarball(&files, "package", out)
}
