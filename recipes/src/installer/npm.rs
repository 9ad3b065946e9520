//! The npm package: `package.json`, a launcher that fetches the archive on first run, and the
//! artifact table it checks downloads against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{env_prefix, InstallerApp, InstallerError};

pub(crate) const RUN_JS: &str = include_str!("../../templates/npm/run.js");

/// `package.json`; a struct rather than a map so key order is fixed.
#[derive(Serialize)]
struct PackageJson<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<&'a str>,
    bin: BTreeMap<&'a str, String>,
    files: [&'static str; 3],
    engines: BTreeMap<&'static str, &'static str>,
}

/// `artifacts.json`, read by `run.js`.
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

/// The package's files: relative path -> (contents, executable).
pub fn npm_package_files(
    app: &InstallerApp,
    package_name: &str,
) -> Result<BTreeMap<String, (Vec<u8>, bool)>, InstallerError> {
    app.validate()?;
    check_package_name(package_name)?;
    let mut files = BTreeMap::new();

    let aliases = app.alias_list();
    let bin = app
        .binaries
        .iter()
        .chain(aliases.iter().map(|a| &a.alias))
        .map(|b| (b.as_str(), format!("bin/{b}.js")))
        .collect();
    let package = PackageJson {
        name: package_name,
        version: &app.app_version,
        description: app.description.as_deref(),
        license: app.license.as_deref(),
        homepage: app.homepage.as_deref(),
        bin,
        files: ["artifacts.json", "bin", "run.js"],
        engines: BTreeMap::from([("node", ">=14.18")]),
    };
    files.insert("package.json".into(), (json_pretty(&package), false));

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
    files.insert("artifacts.json".into(), (json_pretty(&manifest), false));
    files.insert("run.js".into(), (RUN_JS.as_bytes().to_vec(), false));

    // One tiny entry point per binary (and per alias, running its binary): npm's shims do not
    // tell a shared script which name it was invoked as on every platform.
    let aliases = app.alias_list();
    let entries = app
        .binaries
        .iter()
        .map(|b| (b, b))
        .chain(aliases.iter().map(|a| (&a.alias, &a.binary)));
    for (entry, runs) in entries {
        let name = serde_json::to_string(runs).expect("strings serialize");
        let launcher =
            format!("#!/usr/bin/env node\n'use strict';\nrequire('../run.js')({name});\n");
        files.insert(format!("bin/{entry}.js"), (launcher.into_bytes(), true));
    }
    Ok(files)
}

/// Writes the package as the tarball npm expects (`{app}-npm-package.tar.gz`, everything under
/// `package/`) to `out`.
pub fn write_npm_package(
    app: &InstallerApp,
    package_name: &str,
    out: &Path,
) -> Result<(), InstallerError> {
    let files = npm_package_files(app, package_name)?;
    super::write_tarball(&files, "package", out)
}
