//! `wix/main.wxs`: the WiX source of an App's MSI installer, which `generate` writes and the
//! msi recipe builds with wixl (msitools).

use minijinja::context;
use serde::Serialize;

use crate::template::render;

pub(crate) const TEMPLATE: &str = include_str!("../../templates/main.wxs.j2");

/// What the WiX source says about one App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxsApp {
    pub app_name: String,
    pub display_name: String,
    pub manufacturer: String,
    pub description: String,
    pub homepage: Option<String>,
    /// Binary names, without `.exe`.
    pub binaries: Vec<String>,
    /// `[package.metadata.wix] upgrade-guid`: the same for every version of the App, so a new
    /// MSI replaces the old one.
    pub upgrade_guid: String,
    /// `[package.metadata.wix] path-guid`: the PATH component's.
    pub path_guid: String,
}

#[derive(Serialize)]
struct WxsBinary {
    name: String,
    guid: String,
}

/// Renders `wix/main.wxs`. Component GUIDs derive from the upgrade GUID and the binary name:
/// stable across versions, as Windows Installer requires, without storing one per binary.
pub fn render_wxs(app: &WxsApp) -> Result<String, minijinja::Error> {
    let binaries: Vec<WxsBinary> = app
        .binaries
        .iter()
        .map(|b| WxsBinary {
            name: b.clone(),
            guid: derived_guid(&format!("{} binary {b}", app.upgrade_guid)),
        })
        .collect();
    render(
        "main.wxs",
        TEMPLATE,
        minijinja::syntax::SyntaxConfig::default(),
        context! {
            app_name => &app.app_name,
            display_name => &app.display_name,
            manufacturer => &app.manufacturer,
            description => &app.description,
            homepage => &app.homepage,
            binaries => binaries,
            upgrade_guid => &app.upgrade_guid,
            path_guid => &app.path_guid,
        },
    )
}

/// A GUID (UUID version 4 layout, uppercase) derived from `seed`: the same seed always gives
/// the same GUID.
pub fn derived_guid(seed: &str) -> String {
    let hash = blake3::hash(seed.as_bytes());
    let mut b: [u8; 16] = hash.as_bytes()[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether `s` is a GUID as WiX writes them (hex digits in 8-4-4-4-12, either case).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Where an App's WiX source lives: `wix/main.wxs` in its package directory (`dir`,
/// workspace-relative, "" at the root).
pub fn wxs_path(dir: &str) -> String {
    if dir.is_empty() {
        "wix/main.wxs".into()
    } else {
        format!("{dir}/wix/main.wxs")
    }
}

/// The MSI ProductVersion of a semver version: `major.minor.patch` (Windows Installer reads
/// only numeric fields; pre-release and build parts are dropped).
pub fn msi_version(version: &str) -> String {
    let core = version.split(['-', '+']).next().unwrap_or(version);
    core.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_well_formed() {
        let g = derived_guid("x");
        assert_eq!(g, derived_guid("x"));
        assert_ne!(g, derived_guid("y"));
        assert!(is_guid(&g), "{g}");
        assert_eq!(&g[14..15], "4");
        assert!(!is_guid("not-a-guid"));
        assert_eq!(msi_version("1.2.3-beta.1+x"), "1.2.3");
    }

    #[test]
    fn names_are_escaped() {
        let app = WxsApp {
            app_name: "app".into(),
            display_name: "A & B <app>".into(),
            manufacturer: "\"quoted\"".into(),
            description: "d".into(),
            homepage: None,
            binaries: vec!["app".into(), "helper".into()],
            upgrade_guid: derived_guid("u"),
            path_guid: derived_guid("p"),
        };
        let text = render_wxs(&app).unwrap();
        assert!(text.contains("Name=\"A &amp; B &lt;app&gt;\""), "{text}");
        assert!(text.contains("Manufacturer=\"&quot;quoted&quot;\""));
        assert!(text.contains("Source=\"$(var.CargoTargetBinDir)/helper.exe\""));
    }
}
