//! `{app}-installer.ps1`: the Windows installer.

use minijinja::context;

use super::shell::{install_candidates, receipt_libraries, receipt_parts};
use super::{env_prefix, render, InstallerApp, InstallerError};
use crate::target::Target;

pub(crate) const TEMPLATE: &str = include_str!("../../templates/installer.ps1.j2");

/// Renders `{app}-installer.ps1` for the App's Windows artifacts.
pub fn render_powershell(app: &InstallerApp) -> Result<String, InstallerError> {
    app.validate()?;
    let artifacts: Vec<_> = app
        .sorted_artifacts()
        .into_iter()
        .filter(|a| Target(&a.target).is_windows())
        .map(|a| {
            context! {
                target => &a.target,
                file_name => &a.file_name,
                // Empty when unknown: the script refuses such an artifact at install time.
                sha256 => a.sha256.as_deref().unwrap_or(""),
                root_dir => a.root_dir.as_deref().unwrap_or(""),
                libraries => &a.libraries,
                updater => a.updater.as_ref().map_or("", |u| u.file_name.as_str()),
                updater_sha256 => a.updater.as_ref().and_then(|u| u.sha256.as_deref()).unwrap_or(""),
                receipt_libraries => receipt_libraries(&a.libraries),
            }
        })
        .collect();
    if artifacts.is_empty() {
        return Err(app.no_suitable("PowerShell"));
    }
    render(
        "installer.ps1",
        TEMPLATE,
        context! {
            app_name => &app.app_name,
            app_version => &app.app_version,
            prefix => env_prefix(&app.app_name),
            download_url => app.download_url.trim_end_matches('/'),
            binaries => &app.binaries,
            aliases => app.alias_list(),
            success_msg => &app.success_msg,
            binaries_words => app.binaries.join(" "),
            artifacts => artifacts,
            install_candidates => install_candidates(app),
            receipt => app.receipt.as_ref().map(|r| receipt_parts(app, r)),
        },
    )
}
