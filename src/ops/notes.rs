//! Release notes I/O: find and read the announcement's changelog, then let
//! [`crate::changelog`] fill the manifest's `announcement_changelog` / `announcement_github_body`.

use std::path::PathBuf;

use crate::changelog::{release_notes, ChangelogError};
use crate::manifest::DistManifest;
use crate::plan::Plan;
use crate::workspace::{IncludeKind, Workspace};
use crate::Error;

/// The changelog of the announcement: the announced package's (its directory first, then the
/// workspace root, as its auto-includes were found), or for a multi-App announcement the
/// workspace root's `CHANGELOG.md` / `RELEASES.md`.
pub fn changelog_path(ws: &Workspace, plan: &Plan) -> Option<PathBuf> {
    let ann = &plan.announcement;
    let package = ann.package.as_deref().or(match ann.apps.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    });
    if let Some(pkg) = package.and_then(|p| ws.package(p)) {
        return pkg
            .auto_includes
            .iter()
            .find(|a| a.kind == IncludeKind::Changelog)
            .map(|a| ws.root.join(&a.path));
    }
    ["CHANGELOG.md", "RELEASES.md"]
        .iter()
        .map(|n| ws.root.join(n))
        .find(|p| p.is_file())
}

/// Reads the changelog (if any) and fills the release-notes fields of `manifest`.
pub fn fill_release_notes(
    ws: &Workspace,
    plan: &Plan,
    manifest: &mut DistManifest,
) -> Result<(), Error> {
    let text = match changelog_path(ws, plan) {
        Some(path) => {
            Some(
                std::fs::read_to_string(&path).map_err(|source| ChangelogError::Read {
                    path: crate::workspace::relative(&ws.root, &path),
                    source,
                })?,
            )
        }
        None => None,
    };
    let notes = release_notes(plan, text.as_deref());
    manifest.announcement_changelog = notes.changelog;
    manifest.announcement_github_body = notes.github_body;
    Ok(())
}
