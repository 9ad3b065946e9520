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
    /// Empty when the target has no updater.
    updater: &'a str,
    updater_sha256: &'a str,
    /// The receipt's library lists for this archive ([`receipt_libraries`]).
    receipt_libraries: String,
    /// `MAJOR.MINOR`, or empty: the oldest glibc the build runs on.
    min_glibc: &'a str,
}

/// One default install location: `$var` followed by `suffix` (empty or starting with '/').
#[derive(Serialize, Debug, PartialEq, Eq)]
pub(crate) struct InstallCandidate {
    pub var: String,
    pub suffix: String,
    /// How the install receipt names the layout: `cargo-home`, `hierarchical` (a `bin`
    /// directory under the prefix) or `flat` (the directory is the prefix).
    pub layout: &'static str,
}

/// Flattens the install chain into "use `$VAR/suffix` if VAR is set" steps, which every
/// installer language can express the same way.
pub(crate) fn install_candidates(app: &InstallerApp) -> Vec<InstallCandidate> {
    let cand = |var: &str, sub: &str, cargo_home: bool| InstallCandidate {
        var: var.to_string(),
        suffix: if sub.is_empty() {
            String::new()
        } else {
            format!("/{sub}")
        },
        layout: match () {
            _ if cargo_home => "cargo-home",
            _ if sub == "bin" || sub.ends_with("/bin") => "hierarchical",
            _ => "flat",
        },
    };
    let mut out = Vec::new();
    for path in app.effective_install_paths() {
        match path {
            InstallPath::CargoHome => {
                out.push(cand("CARGO_HOME", "bin", true));
                out.push(cand("HOME", ".cargo/bin", true));
            }
            InstallPath::HomeSubdir(sub) => out.push(cand("HOME", &sub, false)),
            InstallPath::EnvSubdir { var, subdir } => out.push(cand(&var, &subdir, false)),
        }
    }
    out
}

/// The install receipt's JSON (cargo-dist's fields, sorted) cut where the installer fills in
/// the libraries of the archive it picked ([`receipt_libraries`]), the layout, the prefix and
/// whether PATH was modified: `parts[0] LIBS parts[1] LAYOUT parts[2] PREFIX parts[3]
/// true|false parts[4]`. Every value in it was checked by `validate`, so none needs escaping;
/// the installer refuses a prefix that would.
pub(crate) fn receipt_parts(app: &InstallerApp, r: &super::ReceiptSource) -> [String; 5] {
    let list = app.alias_list();
    let aliases: std::collections::BTreeMap<&str, Vec<&str>> =
        list.iter().fold(Default::default(), |mut m, a| {
            m.entry(a.binary.as_str())
                .or_default()
                .push(a.alias.as_str());
            m
        });
    [
        format!(
            "{{\"binaries\":{},\"binary_aliases\":{},",
            json(&app.binaries),
            json(&aliases),
        ),
        ",\"install_layout\":\"".into(),
        "\",\"install_prefix\":\"".into(),
        "\",\"modify_path\":".into(),
        format!(
            ",\"provider\":{{\"source\":\"cargo-dist\",\"version\":{}}},\"source\":{{\"app_name\":{},\"name\":{},\"owner\":{},\"release_type\":\"github\"}},\"version\":{}}}",
            json(&r.provider_version),
            json(&app.app_name),
            json(&r.repo),
            json(&r.owner),
            json(&app.app_version),
        ),
    ]
}

/// The receipt's `"cdylibs":[...],"cstaticlibs":[...]` for the libraries an archive installs
/// (static ones are `.a`/`.lib`, as cargo names them).
pub(crate) fn receipt_libraries(libraries: &[String]) -> String {
    let (statics, dynamics): (Vec<&String>, Vec<&String>) = libraries
        .iter()
        .partition(|l| l.ends_with(".a") || l.ends_with(".lib"));
    format!(
        "\"cdylibs\":{},\"cstaticlibs\":{}",
        json(&dynamics),
        json(&statics)
    )
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serializes")
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
            updater: a.updater.as_ref().map_or("", |u| u.file_name.as_str()),
            updater_sha256: a
                .updater
                .as_ref()
                .and_then(|u| u.sha256.as_deref())
                .unwrap_or(""),
            receipt_libraries: receipt_libraries(&a.libraries),
            min_glibc: a.min_glibc.as_deref().unwrap_or(""),
        })
        .collect();
    let any_libraries = arts.iter().any(|a| !a.libraries.is_empty());
    let any_min_glibc = arts.iter().any(|a| a.min_glibc.is_some());
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
            aliases => app.alias_list(),
            success_msg => &app.success_msg,
            supported_targets => supported.join(" "),
            artifacts => artifacts,
            any_libraries => any_libraries,
            any_min_glibc => any_min_glibc,
            receipt => app.receipt.as_ref().map(|r| receipt_parts(app, r)),
            install_candidates => install_candidates(app),
        },
    )
}
