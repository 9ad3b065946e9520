//! The installer kinds cargo-dist offers, and everything that differs between them: names,
//! which platforms and archives each serves, its template, its install hint.

use std::collections::BTreeMap;

use crate::target::Target;
use crate::vocab::Vocabulary;

/// What the workspace knows about an App's package, for the bundling kinds that read its files
/// or write its metadata ([`InstallerKind::package_inputs`]).
#[derive(Debug, Clone, Default)]
pub struct PackageSource<'a> {
    /// The package's directory, workspace-relative ("" at the root).
    pub dir: &'a str,
    pub description: Option<&'a str>,
    pub license: Option<&'a str>,
    pub homepage: Option<&'a str>,
    pub repository: Option<&'a str>,
    pub authors: &'a [String],
    /// Workspace-relative licence files (`LICENSE*`, `UNLICENSE*`) and README, as auto-includes
    /// find them.
    pub license_files: Vec<&'a str>,
    pub readme: Option<&'a str>,
    /// The npm package it is published as (`npm-scope`/`npm-package`).
    pub npm_package: Option<&'a str>,
}

impl PackageSource<'_> {
    /// The licence files and the README: what a Linux package ships in its doc directories.
    pub(crate) fn doc_files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.license_files.iter().map(|f| f.to_string()).collect();
        files.extend(self.readme.map(str::to_string));
        files
    }
}

/// A kind's metadata: its writer's revision and each of `fields` that is set and not blank.
pub(crate) fn package_metadata(
    writer: &str,
    fields: &[(&str, Option<&str>)],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([("writer".to_string(), writer.to_string())]);
    for (k, v) in fields {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// A bundling kind's inputs beyond the build: the workspace files it reads (all required) and
/// the metadata it writes.
#[derive(Debug, Clone, Default)]
pub struct PackageInputs {
    pub files: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstallerKind {
    Shell,
    Powershell,
    Npm,
    Homebrew,
    Msi,
    Pkg,
    Deb,
    Rpm,
    Scoop,
    Winget,
    Aur,
    /// `npm` with `npm-installer-style = "packages"`: the main package, listing the platform
    /// packages as optional dependencies. Not a word of `installers` (so not in `ALL`).
    NpmPackages,
    /// `npm` with `npm-installer-style = "packages"`: one target's binaries, as an npm package.
    NpmPlatform,
}

/// The names `installers` uses. The two kinds `npm` becomes in the `packages` style are
/// spelt for outputs, but no config file names them.
impl Vocabulary for InstallerKind {
    const ALL: &'static [InstallerKind] = &[
        InstallerKind::Shell,
        InstallerKind::Powershell,
        InstallerKind::Npm,
        InstallerKind::Homebrew,
        InstallerKind::Msi,
        InstallerKind::Pkg,
        InstallerKind::Deb,
        InstallerKind::Rpm,
        InstallerKind::Scoop,
        InstallerKind::Winget,
        InstallerKind::Aur,
    ];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            InstallerKind::Shell => &["shell"],
            InstallerKind::Powershell => &["powershell"],
            InstallerKind::Npm => &["npm"],
            InstallerKind::Homebrew => &["homebrew"],
            InstallerKind::Msi => &["msi"],
            InstallerKind::Pkg => &["pkg"],
            InstallerKind::Deb => &["deb"],
            InstallerKind::Rpm => &["rpm"],
            InstallerKind::Scoop => &["scoop"],
            InstallerKind::Winget => &["winget"],
            InstallerKind::Aur => &["aur"],
            InstallerKind::NpmPackages => &["npm-packages"],
            InstallerKind::NpmPlatform => &["npm-platform"],
        }
    }
}

impl InstallerKind {
    /// Made per target beside the archives (a bundling installer), rather than once per App from
    /// every archive (a fetching one).
    pub fn is_local(self) -> bool {
        matches!(
            self,
            InstallerKind::Msi
                | InstallerKind::Pkg
                | InstallerKind::Deb
                | InstallerKind::Rpm
                | InstallerKind::NpmPlatform
        )
    }

    /// The file of a fetching installer; `name` is the npm package or formula name where the
    /// kind has one (else the App's). A bundling installer's file is per target:
    /// [`InstallerKind::local_file_name`].
    pub fn file_name(self, app: &str, name: Option<&str>) -> Option<String> {
        Some(match self {
            InstallerKind::Shell => format!("{app}-installer.sh"),
            InstallerKind::Powershell => format!("{app}-installer.ps1"),
            InstallerKind::Npm | InstallerKind::NpmPackages => format!("{app}-npm-package.tar.gz"),
            InstallerKind::Homebrew => format!("{}.rb", name.unwrap_or(app)),
            InstallerKind::Scoop => format!("{app}.json"),
            InstallerKind::Winget => format!("{app}-winget.tar.gz"),
            InstallerKind::Aur => format!("{app}-aur.tar.gz"),
            InstallerKind::Msi
            | InstallerKind::Pkg
            | InstallerKind::Deb
            | InstallerKind::Rpm
            | InstallerKind::NpmPlatform => return None,
        })
    }

    /// `{app}-{target}.msi` for Windows targets, `.pkg` for macOS ones, `.deb` and `.rpm` for
    /// Linux ones, `{app}-{target}-npm-package.tar.gz` for every target Node runs on.
    pub fn local_file_name(self, app: &str, target: &str) -> Option<String> {
        let t = Target(target);
        match self {
            InstallerKind::Msi if t.is_windows() => Some(format!("{app}-{target}.msi")),
            InstallerKind::Pkg if t.is_darwin() => Some(format!("{app}-{target}.pkg")),
            InstallerKind::Deb if super::deb::arch(target).is_some() => {
                Some(format!("{app}-{target}.deb"))
            }
            InstallerKind::Rpm if super::rpm::arch(target).is_some() => {
                Some(format!("{app}-{target}.rpm"))
            }
            InstallerKind::NpmPlatform if super::npm::has_platform_package(target) => {
                Some(format!("{app}-{target}-npm-package.tar.gz"))
            }
            _ => None,
        }
    }

    /// Whether this tool makes this bundling kind (a `.pkg` needs macOS's pkgbuild).
    pub fn makes_package(self) -> bool {
        matches!(
            self,
            InstallerKind::Msi
                | InstallerKind::Deb
                | InstallerKind::Rpm
                | InstallerKind::NpmPlatform
        )
    }

    /// Whether the target's own runner makes it (like an archive), rather than the global job
    /// from the build in the store (an MSI: wixl runs on Linux, not on the Windows runner).
    pub fn made_per_target(self) -> bool {
        !matches!(self, InstallerKind::Msi)
    }

    /// The version a bundling kind writes: an MSI's ProductVersion is `major.minor.patch`.
    pub fn package_version(self, version: &str) -> String {
        match self {
            InstallerKind::Msi => super::msi_version(version),
            _ => version.to_string(),
        }
    }

    /// What a bundling kind reads from the workspace and writes about the package.
    pub fn package_inputs(self, src: &PackageSource) -> PackageInputs {
        match self {
            InstallerKind::Msi => PackageInputs {
                files: vec![super::wxs_path(src.dir)],
                metadata: BTreeMap::new(),
            },
            InstallerKind::Deb => super::deb::inputs(src),
            InstallerKind::Rpm => super::rpm::inputs(src),
            InstallerKind::NpmPlatform => super::npm::platform_inputs(src),
            _ => PackageInputs::default(),
        }
    }

    /// Whether a fetching installer's bytes depend on the archives' (their sha256 and the
    /// updaters'): not the `packages` style's main package, which names only the platform
    /// packages, so its key depends on the sources alone and it is made without waiting.
    pub fn reads_archives(self) -> bool {
        self != InstallerKind::NpmPackages
    }

    /// Whether a bundling kind installs the build's `install-libraries` beside its binaries.
    pub fn installs_libraries(self) -> bool {
        matches!(self, InstallerKind::Deb | InstallerKind::Rpm)
    }

    /// The external tool a bundling kind runs, whose version its key covers.
    pub fn tool(self) -> Option<&'static str> {
        match self {
            InstallerKind::Msi => Some("wixl"),
            _ => None,
        }
    }

    /// The manifest's description of a bundling installer.
    pub fn package_description(self) -> String {
        match self {
            InstallerKind::NpmPlatform => {
                "this platform's binaries, an optional dependency of the npm package".into()
            }
            _ => format!("install via {}", self.name()),
        }
    }

    /// Where a bundling kind puts binary `bin` of its `target` build, as its manifest assets
    /// name it.
    pub fn installed_path(self, bin: &str, target: &str) -> String {
        match self {
            InstallerKind::Msi => format!("{bin}.exe"),
            InstallerKind::NpmPlatform => format!("bin/{}", Target(target).exe(bin)),
            _ => format!("usr/bin/{bin}"),
        }
    }

    /// Why a bundling kind's recipe could not be made, for `build` to name.
    pub fn unbuildable(self) -> &'static str {
        match self {
            InstallerKind::Msi => "an MSI installer whose wix/main.wxs does not exist: run `cargo dist generate` to write it",
            InstallerKind::Pkg => {
                "a macOS .pkg installer (needs pkgbuild on macOS; not built by this tool yet)"
            }
            // Their inputs are the licence files and README the plan found: gone meanwhile.
            _ => "a package whose licence or README files went missing: run the build again",
        }
    }

    /// The config key naming this kind's package, where it has one.
    pub fn name_key(self) -> Option<&'static str> {
        match self {
            InstallerKind::Npm | InstallerKind::NpmPackages => {
                Some(crate::config_keys::NPM_PACKAGE)
            }
            InstallerKind::Homebrew => Some(crate::config_keys::FORMULA),
            _ => None,
        }
    }

    /// Whether its manifest `target_triples` list `platform` (one of the platforms the App's
    /// builds serve, [`Target::platforms`]), as cargo-dist lists them.
    pub fn serves(self, platform: &str) -> bool {
        let t = Target(platform);
        match self {
            // Shell runs in MSYS / Git Bash on Windows, so the GNU platforms count; Homebrew's
            // formula lists the same set.
            InstallerKind::Shell | InstallerKind::Homebrew => !t.is_windows_msvc(),
            InstallerKind::Powershell | InstallerKind::Scoop | InstallerKind::Winget => {
                t.is_windows()
            }
            InstallerKind::Npm | InstallerKind::NpmPackages => true,
            InstallerKind::Aur => t.is_linux(),
            InstallerKind::Msi
            | InstallerKind::Pkg
            | InstallerKind::Deb
            | InstallerKind::Rpm
            | InstallerKind::NpmPlatform => false,
        }
    }

    /// Whether it can fetch and unpack the archive built for `target`.
    pub fn fetches(self, target: &str) -> bool {
        let t = Target(target);
        match self {
            // Under Git Bash / MSYS2 the shell installer installs the Windows archive, as
            // cargo-dist's serves `x86_64-pc-windows-gnu` from an msvc build.
            InstallerKind::Shell => true,
            InstallerKind::Powershell | InstallerKind::Scoop | InstallerKind::Winget => {
                t.is_windows()
            }
            // A formula of a Windows-only App would have nothing to install: cargo-dist plans
            // one, this tool does not.
            InstallerKind::Homebrew => t.is_darwin() || t.is_linux(),
            // The main package of the `packages` style names the platform packages of these.
            InstallerKind::Npm | InstallerKind::NpmPackages => true,
            InstallerKind::Aur => t.is_linux(),
            InstallerKind::Msi
            | InstallerKind::Pkg
            | InstallerKind::Deb
            | InstallerKind::Rpm
            | InstallerKind::NpmPlatform => false,
        }
    }

    /// BLAKE3 of the template files it renders: part of its recipe key, so editing a template
    /// cannot reuse stored bytes. `None` for kinds this tool does not render.
    pub fn template_digest(self) -> Option<String> {
        let texts: &[&str] = match self {
            InstallerKind::Shell => &[super::shell::TEMPLATE],
            InstallerKind::Powershell => &[super::powershell::TEMPLATE],
            InstallerKind::Homebrew => &[super::homebrew::TEMPLATE],
            InstallerKind::Npm => super::npm::DOWNLOAD_TEMPLATES,
            InstallerKind::NpmPackages => super::npm::PACKAGES_TEMPLATES,
            InstallerKind::Scoop => &[super::scoop::WRITER],
            InstallerKind::Winget => &[super::winget::WRITER],
            InstallerKind::Aur => &[super::aur::WRITER],
            InstallerKind::Msi
            | InstallerKind::Pkg
            | InstallerKind::Deb
            | InstallerKind::Rpm
            | InstallerKind::NpmPlatform => return None,
        };
        // One text stays hashed as it was (older keys unchanged); several are framed by length.
        let mut h = blake3::Hasher::new();
        match texts {
            [one] => h.update(one.as_bytes()),
            many => many.iter().fold(&mut h, |h, t| {
                h.update(&(t.len() as u64).to_le_bytes())
                    .update(t.as_bytes())
            }),
        };
        Some(h.finalize().to_hex().to_string())
    }

    /// The manifest's `install_hint` and `description` for the installer `file` under `base`.
    pub fn install_hint(
        self,
        base: &str,
        file: &str,
        app: &str,
        version: &str,
    ) -> (String, String) {
        match self {
            InstallerKind::Shell => (
                format!("curl --proto '=https' --tlsv1.2 -LsSf {base}/{file} | sh"),
                "Install prebuilt binaries via shell script".into(),
            ),
            InstallerKind::Powershell => (
                format!("powershell -ExecutionPolicy Bypass -c \"irm {base}/{file} | iex\""),
                "Install prebuilt binaries via powershell script".into(),
            ),
            InstallerKind::Npm | InstallerKind::NpmPackages => (
                format!("npm install {base}/{file}"),
                format!("Install prebuilt binaries of {app} {version} into your npm project"),
            ),
            InstallerKind::Homebrew => (
                format!("brew install {base}/{file}"),
                "Install prebuilt binaries via Homebrew".into(),
            ),
            InstallerKind::Scoop => (
                format!("scoop install {base}/{file}"),
                "Install prebuilt binaries via Scoop".into(),
            ),
            InstallerKind::Aur => (
                format!("yay -S {app}-bin"),
                "Install prebuilt binaries from the AUR package (the PKGBUILD and .SRCINFO of its repository)".into(),
            ),
            InstallerKind::Winget => (
                format!("winget install {app}"),
                "winget manifests of the Windows archives, for a pull request to winget-pkgs".into(),
            ),
            InstallerKind::Msi
            | InstallerKind::Pkg
            | InstallerKind::Deb
            | InstallerKind::Rpm
            | InstallerKind::NpmPlatform => (
                format!("download {base}/{file} and run it"),
                "Install prebuilt binaries with a native installer".into(),
            ),
        }
    }

    /// The language of its install hint, for release notes' code blocks.
    pub fn hint_language(self) -> &'static str {
        match self {
            InstallerKind::Powershell | InstallerKind::Scoop | InstallerKind::Winget => {
                "powershell"
            }
            _ => "sh",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InstallerKind;
    use crate::vocab::{check, Vocabulary};

    #[test]
    fn names_round_trip_and_templates_differ() {
        check::<InstallerKind>().unwrap();
        for &k in InstallerKind::ALL {
            assert_eq!(k.template_digest().is_none(), k.is_local(), "{}", k.name());
        }
        let digests: std::collections::BTreeSet<String> = InstallerKind::ALL
            .iter()
            .filter_map(|k| k.template_digest())
            .collect();
        assert_eq!(digests.len(), 7);
        assert_eq!(
            InstallerKind::Homebrew
                .file_name("app", Some("app-cli"))
                .as_deref(),
            Some("app-cli.rb")
        );
        assert_eq!(
            InstallerKind::Msi
                .local_file_name("app", "x86_64-pc-windows-gnu")
                .as_deref(),
            Some("app-x86_64-pc-windows-gnu.msi")
        );
        assert_eq!(
            InstallerKind::Msi.local_file_name("app", "x86_64-apple-darwin"),
            None
        );
    }
}
