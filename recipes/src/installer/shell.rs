//! `{app}-installer.sh`: a POSIX sh installer for Linux, macOS and the Windows POSIX shells.

use minijinja::context;
use serde::Serialize;

use super::{env_prefix, render, InstallPath, InstallerApp, InstallerError};

pub(crate) const TEMPLATE: &str = include_str!("../../templates/installer.sh.j2");

#[derive(Serialize)]
struct ShellArtifact<'a> {
    target: &'a str,
    file_name: &'a str,
    /// Empty when unknown: the script refuses such an artifact.
    sha256: &'a str,
    /// Empty for flat archives.
    root_dir: &'a str,
    /// Space-separated library files to install (names are checked: no spaces); the script
    /// splits it on purpose.
    libraries: String,
}

/// One default install location: `$var` followed by `suffix` (empty or starting with '/').
#[derive(Serialize, Debug, PartialEq, Eq)]
pub(crate) struct InstallCandidate {
    pub var: String,
    pub suffix: String,
}

/// Flattens the install chain into "use `$VAR/suffix` if VAR is set" steps, which every
/// installer language can express the same way.
pub(crate) fn install_candidates(app: &InstallerApp) -> Vec<InstallCandidate> {
    let cand = |var: &str, sub: &str| InstallCandidate {
        var: var.to_string(),
        suffix: if sub.is_empty() {
            String::new()
        } else {
            format!("/{sub}")
        },
    };
    let mut out = Vec::new();
    for path in app.effective_install_paths() {
        match path {
            InstallPath::CargoHome => {
                out.push(cand("CARGO_HOME", "bin"));
                out.push(cand("HOME", ".cargo/bin"));
            }
            InstallPath::HomeSubdir(sub) => out.push(cand("HOME", &sub)),
            InstallPath::EnvSubdir { var, subdir } => out.push(cand(&var, &subdir)),
        }
    }
    out
}

/// Renders `{app}-installer.sh` for every artifact of the App.
pub fn render_shell(app: &InstallerApp) -> Result<String, InstallerError> {
    app.validate()?;
    let arts = app.sorted_artifacts();
    let artifacts: Vec<ShellArtifact> = arts
        .iter()
        .map(|a| ShellArtifact {
            target: &a.target,
            file_name: &a.file_name,
            sha256: a.sha256.as_deref().unwrap_or(""),
            root_dir: a.root_dir.as_deref().unwrap_or(""),
            libraries: a.libraries.join(" "),
        })
        .collect();
    let any_libraries = arts.iter().any(|a| !a.libraries.is_empty());
    let supported: Vec<&str> = arts.iter().map(|a| a.target.as_str()).collect();
    render(
        "installer.sh",
        TEMPLATE,
        context! {
            app_name => &app.app_name,
            app_version => &app.app_version,
            prefix => env_prefix(&app.app_name),
            download_url => app.download_url.trim_end_matches('/'),
            binaries_words => app.binaries.join(" "),
            aliases => &app.aliases,
            success_msg => &app.success_msg,
            supported_targets => supported.join(" "),
            artifacts => artifacts,
            any_libraries => any_libraries,
            install_candidates => install_candidates(app),
        },
    )
}
