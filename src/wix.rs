//! The MSI installers' WiX sources: `generate` writes `wix/main.wxs` for each App with the `msi`
//! installer and records its GUIDs in `[package.metadata.wix]` (`upgrade-guid`, `path-guid`),
//! as cargo-dist does; reruns keep recorded GUIDs, so every version of an App upgrades the last.

use std::path::Path;

use dist_recipes::installer::{derived_guid, is_guid, render_wxs, InstallerKind, WxsApp};
use dist_recipes::target::Target;

use crate::config::Config;
use crate::plan::GithubRepo;
use crate::workspace::{relative, Package, Workspace};

#[derive(Debug, thiserror::Error)]
pub enum WixError {
    #[error("{path} is out of date with the config (the App's binaries or metadata changed)\n  run `cargo dist generate` to rewrite it, or set `allow-dirty = [\"msi\"]` to keep your edits")]
    Stale { path: String },
    #[error("{path} does not exist, but package {package} has the `msi` installer\n  run `cargo dist generate` to write it")]
    Missing { path: String, package: String },
    #[error("`{key}` in {manifest} is {value:?}, which is not a GUID (like 3F2504E0-4F89-41D3-9A0C-0305E82C3301)\n  fix it, or delete it and run `cargo dist generate` to record a new one")]
    BadGuid {
        manifest: String,
        key: String,
        value: String,
    },
    #[error("`[package.metadata.wix]` of {manifest} has no `{key}`\n  run `cargo dist generate` to record one")]
    Unrecorded { manifest: String, key: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{manifest} is not valid TOML: {message}")]
    Toml { manifest: String, message: String },
    #[error("rendering wix/main.wxs: {0}")]
    Render(String),
}

/// The packages that ship an MSI: Apps with the `msi` installer and a Windows target.
pub fn msi_packages<'w>(ws: &'w Workspace, cfg: &Config) -> Vec<&'w Package> {
    ws.packages
        .iter()
        .filter(|p| crate::announce::package_eligibility(cfg, p).is_ok())
        .filter(|p| {
            let pc = cfg.package(&p.name);
            pc.installers.contains(&InstallerKind::Msi)
                && pc.targets.iter().any(|t| Target(t).is_windows())
        })
        .collect()
}

/// Workspace-relative path of a package's WiX source.
pub fn wxs_path(pkg: &Package) -> String {
    dist_recipes::installer::wxs_path(&pkg.dir)
}

/// A recorded GUID, `None` when the key is absent.
fn recorded(ws: &Workspace, pkg: &Package, key: &str) -> Result<Option<String>, WixError> {
    let Some(v) = pkg.metadata.get("wix").and_then(|w| w.get(key)) else {
        return Ok(None);
    };
    match v.as_str() {
        Some(s) if is_guid(s) => Ok(Some(s.to_string())),
        _ => Err(WixError::BadGuid {
            manifest: relative(&ws.root, &pkg.manifest_path),
            key: format!("package.metadata.wix.{key}"),
            value: v.to_string(),
        }),
    }
}

/// The GUIDs of `pkg`: recorded ones, else new ones derived from its name and repository.
fn guids(ws: &Workspace, pkg: &Package) -> Result<[(String, bool); 2], WixError> {
    let mut out = Vec::new();
    for key in ["upgrade-guid", "path-guid"] {
        out.push(match recorded(ws, pkg, key)? {
            Some(g) => (g, true),
            None => (
                derived_guid(&format!(
                    "{} {} {key}",
                    pkg.name,
                    pkg.repository.as_deref().unwrap_or_default()
                )),
                false,
            ),
        });
    }
    Ok([out[0].clone(), out[1].clone()])
}

/// What `wix/main.wxs` of `pkg` says, with its GUIDs.
pub fn wxs_app(
    ws: &Workspace,
    cfg: &Config,
    pkg: &Package,
) -> Result<(WxsApp, [(String, bool); 2]), WixError> {
    let pc = cfg.package(&pkg.name);
    let ids = guids(ws, pkg)?;
    let repo = pkg.repository.as_deref().and_then(GithubRepo::parse);
    let app = WxsApp {
        app_name: pkg.name.clone(),
        display_name: pc.display_name.clone().unwrap_or_else(|| pkg.name.clone()),
        manufacturer: repo.map(|r| r.owner).unwrap_or_else(|| pkg.name.clone()),
        description: pkg
            .description
            .clone()
            .unwrap_or_else(|| format!("{} installer", pkg.name)),
        homepage: pkg.homepage.clone().or(pkg.repository.clone()),
        binaries: pkg.binaries.clone(),
        upgrade_guid: ids[0].0.clone(),
        path_guid: ids[1].0.clone(),
    };
    Ok((app, ids))
}

/// Writes (or with `check_only` checks) `pkg`'s WiX source and GUIDs; returns the path shown and
/// whether it wrote anything.
pub fn write(
    ws: &Workspace,
    cfg: &Config,
    pkg: &Package,
    check_only: bool,
) -> Result<(String, bool), WixError> {
    let shown = wxs_path(pkg);
    let path = ws.root.join(&shown);
    let (app, ids) = wxs_app(ws, cfg, pkg)?;
    let text = render_wxs(&app).map_err(|e| WixError::Render(e.to_string()))?;
    let manifest = relative(&ws.root, &pkg.manifest_path);
    let existing = std::fs::read_to_string(&path).ok();
    if check_only {
        if let Some((_, key)) = ids
            .iter()
            .zip(["upgrade-guid", "path-guid"])
            .find(|((_, rec), _)| !rec)
        {
            return Err(WixError::Unrecorded {
                manifest,
                key: key.into(),
            });
        }
        return match existing {
            None => Err(WixError::Missing {
                path: shown,
                package: pkg.name.clone(),
            }),
            Some(old) if old != text && !cfg.global.allow_dirty_msi => {
                Err(WixError::Stale { path: shown })
            }
            Some(_) => Ok((shown, false)),
        };
    }
    let mut wrote = false;
    if ids.iter().any(|(_, rec)| !rec) {
        record_guids(&pkg.manifest_path, &manifest, &ids)?;
        wrote = true;
    }
    let keep_edits = existing.is_some() && cfg.global.allow_dirty_msi;
    if existing.as_deref() != Some(text.as_str()) && !keep_edits {
        write_file(&path, &shown, text.as_bytes())?;
        wrote = true;
    }
    Ok((shown, wrote))
}

/// Adds the missing GUIDs to `[package.metadata.wix]`, keeping the rest of the file as it is.
fn record_guids(
    manifest_path: &Path,
    shown: &str,
    ids: &[(String, bool); 2],
) -> Result<(), WixError> {
    let text = std::fs::read_to_string(manifest_path).map_err(|source| WixError::Io {
        action: "reading",
        path: shown.into(),
        source,
    })?;
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| WixError::Toml {
                manifest: shown.into(),
                message: e.to_string(),
            })?;
    let package = doc["package"].or_insert(toml_edit::table());
    let metadata = package["metadata"].or_insert({
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        toml_edit::Item::Table(t)
    });
    let wix = metadata["wix"].or_insert(toml_edit::table());
    for ((guid, rec), key) in ids.iter().zip(["upgrade-guid", "path-guid"]) {
        if !rec {
            wix[key] = toml_edit::value(guid.as_str());
        }
    }
    write_file(manifest_path, shown, doc.to_string().as_bytes())
}

fn write_file(path: &Path, shown: &str, bytes: &[u8]) -> Result<(), WixError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| WixError::Io {
            action: "creating the directory of",
            path: shown.into(),
            source,
        })?;
    }
    crate::atomic::write(path, bytes).map_err(|source| WixError::Io {
        action: "writing",
        path: shown.into(),
        source,
    })
}
