//! Plan stage: (workspace model, resolved config, announcement, artifact mode, targets) -> the
//! Universe of releases and artifacts, each marked selected or not. Pure: no I/O.
//!
//! Artifact families, each planned by its own function:
//!
//! | family | per | artifacts |
//! |---|---|---|
//! | [`plan_local`] | App x target | `{app}-{target}{.tar.xz,...}` + checksum; `{app}-{target}-update` (`install-updater`); `{app}-{target}.msi` / `.pkg` + checksum |
//! | [`plan_installers`] | App | `{app}-installer.sh`, `{app}-installer.ps1`, `{app}-npm-package.tar.gz`, `{formula}.rb` |
//! | [`plan_shared`] | announcement | `sha256.sum`, `source.tar.gz` + checksum |

use std::collections::{BTreeMap, BTreeSet};

use dist_recipes::archive::{ArchiveFormat, ChecksumStyle};
use dist_recipes::target::{LibraryKind, Target};
use dist_recipes::vocab::Vocabulary;

use crate::announce::Announcement;
use crate::config::{Config, GlobalConfig, Hosting, InstallerKind, PackageConfig};
use crate::workspace::{IncludeKind, Package, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactMode {
    Local,
    Global,
    All,
    Host,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--target {target} is not a configured target; configured targets: {}\n  add it to `targets` in your dist config, or use --artifacts=host to build for an unconfigured target", if configured.is_empty() { "(none)".to_string() } else { configured.join(", ") })]
    UnknownTarget {
        target: String,
        configured: Vec<String>,
    },
    #[error("two artifacts of this announcement would both be named {name} (from {first} and {second}); give them distinct names, e.g. a per-package `formula` or `npm-package` in [package.metadata.dist]")]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
    #[error("`hosting` lists \"simple\" but `simple-download-url` is not set: the installers would not know where to download from\n  set `simple-download-url = \"https://example.com/releases/{{tag}}\"` beside `hosting` in your dist config")]
    SimpleHostingWithoutUrl,
    #[error("package {package} needs a download URL for its {installer} installer, but {why}\n  set `repository = \"https://github.com/OWNER/REPO\"` in {manifest}")]
    NoDownloadUrl {
        package: String,
        installer: &'static str,
        why: String,
        manifest: String,
    },
    #[error("package {package} asks for a macOS .pkg installer (`installers` has \"pkg\", or `mac-pkg-config` sets `install-location`) but `mac-pkg-config` has no `identifier`; cargo-dist 0.34 refuses this too\n  set `mac-pkg-config = {{ identifier = \"com.example.{package}\" }}` in its dist config, or remove \"pkg\" from `installers`")]
    PkgIdentifierMissing { package: String },
    #[error("binary {binary:?} of package {package} cannot be shipped: archives and installers need file names that start with a letter or digit and hold only [A-Za-z0-9._+@-]\n  rename it in {place}")]
    UnsafeBinaryName {
        package: String,
        binary: String,
        place: &'static str,
    },
    #[error("`{target}` of package {package} names {binary}, which is not one of its binaries ({known})\n  fix it in its dist config")]
    UnknownBinary {
        package: String,
        target: String,
        binary: String,
        known: String,
    },
    #[error("package {package} is built by its `build-command`, but {options} only apply to cargo builds; cargo-dist 0.34 refuses this too\n  turn {options} off in your dist config, or give the Cargo packages their own dist workspace")]
    CargoOnlyOptions { package: String, options: String },
    #[error("`github-releases-submodule-path = \"{path}\"`: {why}\n  add the releases repository there (`git submodule add URL {path}`) and commit it, or fix the path in your dist config")]
    Submodule { path: String, why: String },
}

/// The whole Universe of one announcement, with the selected subset marked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub announcement: Announcement,
    pub mode: ArtifactMode,
    pub releases: Vec<Release>,
    /// Every artifact of the Universe, by file name.
    pub artifacts: BTreeMap<String, Artifact>,
    /// `github-releases-submodule-path`: the commit this checkout records for that submodule.
    pub external_repo_commit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub app: String,
    pub version: String,
    /// Workspace-relative package directory.
    pub package_dir: String,
    pub binaries: Vec<String>,
    /// Every target of the Universe for this App.
    pub targets: Vec<String>,
    /// The binaries built and shipped per target (`binaries` narrows the package's).
    pub target_binaries: BTreeMap<String, Vec<String>>,
    /// Names of this release's artifacts (selected or not), sorted.
    pub artifacts: Vec<String>,
    pub github: Option<GithubRepo>,
    /// `hosting = "simple"`: the URL its files are served from (the tag filled in).
    pub simple_url: Option<String>,
    /// Where its installers download its files: the first host of `hosting` that serves them.
    pub download_url: Option<String>,
    /// `display`, `display-name`: how the release notes show it.
    pub display: bool,
    pub display_name: Option<String>,
    /// `tap`: the Homebrew tap (`owner/homebrew-name`) its formula is published to.
    pub tap: Option<String>,
    /// The npm package its npm installer is published as (`@scope/name`).
    pub npm_package: String,
}

impl Release {
    /// The binaries built and shipped for `target` (the package's, unless `binaries` narrows
    /// them).
    pub fn binaries_for(&self, target: &str) -> Vec<String> {
        self.target_binaries
            .get(target)
            .cloned()
            .unwrap_or_else(|| self.binaries.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubRepo {
    pub owner: String,
    pub repo: String,
}

impl GithubRepo {
    /// `https://github.com/OWNER/REPO` (with or without `.git` or a trailing slash).
    pub fn parse(url: &str) -> Option<GithubRepo> {
        let rest = url
            .strip_prefix("https://github.com/")
            .or_else(|| url.strip_prefix("http://github.com/"))?;
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix(".git").unwrap_or(rest);
        let (owner, repo) = rest.split_once('/')?;
        if owner.is_empty() || repo.is_empty() || repo.contains('/') {
            return None;
        }
        Some(GithubRepo {
            owner: owner.into(),
            repo: repo.into(),
        })
    }

    pub fn download_url(&self, tag: &str) -> String {
        format!(
            "https://github.com/{}/{}/releases/download/{tag}",
            self.owner, self.repo
        )
    }
}

/// `hosting = "simple"`'s URL for `tag`; an error when it is listed without
/// `simple-download-url` (cargo-dist would plan installers that download from "").
fn simple_url(cfg: &Config, tag: &str) -> Result<Option<String>, PlanError> {
    if !cfg.global.hosting.contains(&Hosting::Simple) {
        return Ok(None);
    }
    match &cfg.global.simple_download_url {
        Some(url) if !url.trim().is_empty() => Ok(Some(
            url.replace("{tag}", tag).trim_end_matches('/').to_string(),
        )),
        _ => Err(PlanError::SimpleHostingWithoutUrl),
    }
}

/// Where an installer downloads the release's files: the first host of `hosting` that serves
/// them (GitHub when `hosting` is unset).
fn download_url(
    cfg: &Config,
    github: Option<&GithubRepo>,
    simple_url: Option<&str>,
    tag: &str,
) -> Option<String> {
    let github = || github.map(|gh| gh.download_url(tag));
    if cfg.global.hosting.is_empty() {
        return github();
    }
    cfg.global.hosting.iter().find_map(|h| match h {
        Hosting::Simple => simple_url.map(str::to_string),
        Hosting::Github => github(),
    })
}

/// Where the files of `pkg`'s release at `tag` are downloaded from, as its installers download
/// them (`verify`'s default source).
pub fn hosted_url(cfg: &Config, pkg: &Package, tag: &str) -> Result<Option<String>, PlanError> {
    let simple = simple_url(cfg, tag)?;
    Ok(download_url(
        cfg,
        hosting_repo(cfg, pkg).as_ref(),
        simple.as_deref(),
        tag,
    ))
}

/// Where a package's GitHub Release lives: `github-releases-repo` when set, else its own
/// `repository`.
fn hosting_repo(cfg: &Config, pkg: &crate::workspace::Package) -> Option<GithubRepo> {
    match &cfg.global.github_releases_repo {
        Some(owner_repo) => {
            let (owner, repo) = owner_repo.split_once('/')?;
            Some(GithubRepo {
                owner: owner.into(),
                repo: repo.into(),
            })
        }
        None => pkg.repository.as_deref().and_then(GithubRepo::parse),
    }
}

#[derive(Debug, Clone)]
pub struct Artifact {
    pub name: String,
    /// The App it belongs to; `None` for announcement-wide artifacts (`sha256.sum`).
    pub app: Option<String>,
    pub target_triples: Vec<String>,
    pub selected: bool,
    pub kind: ArtifactKind,
}

impl Plan {
    /// Made per target, by that target's runner (CI's local-artifacts jobs), or by the global
    /// phase.
    pub fn is_local(&self, a: &Artifact) -> bool {
        match &a.kind {
            ArtifactKind::Archive { .. } | ArtifactKind::Updater { .. } => true,
            // An MSI is built with wixl by the global job, from the Windows build in the store.
            ArtifactKind::NativeInstaller { installer, .. } => installer.made_per_target(),
            // A checksum or id is made where its subject is.
            ArtifactKind::Checksum { of, .. } | ArtifactKind::Omnibor { of } => {
                self.artifacts.get(of).is_some_and(|s| self.is_local(s))
            }
            ArtifactKind::ExtraArtifact { .. } | ArtifactKind::Sbom => false,
            ArtifactKind::UnifiedChecksum { .. }
            | ArtifactKind::SourceTarball { .. }
            | ArtifactKind::Installer { .. } => false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ArtifactKind {
    Archive {
        target: String,
        format: ArchiveFormat,
        /// `{app}-{target}` for tarballs; zips are flat.
        root_dir: Option<String>,
        contents: Vec<ArchiveItem>,
        /// Name of its checksum artifact (`None` with `checksum = "false"`).
        checksum: Option<String>,
    },
    /// `{artifact}.sha256` (or `.sha512`, ... per the `checksum` style).
    Checksum { of: String, style: ChecksumStyle },
    /// `sha256.sum` (`{style}.sum`) over every archive of the announcement.
    UnifiedChecksum {
        of: Vec<String>,
        style: ChecksumStyle,
    },
    /// `source.tar.gz` of the committed tree, root dir `{app}-{version}/`.
    SourceTarball { root_dir: String },
    /// A fetching installer, made once per App from every archive.
    Installer {
        installer: InstallerKind,
        /// Every archive of the App in the Universe, which the installer can fetch.
        archives: Vec<String>,
        download_url: String,
        /// The files an npm package writes itself, package-relative (empty for other kinds):
        /// with the App's files its archives hold, what the manifest lists it holds.
        files: Vec<String>,
    },
    /// `{app}-{target}-update` (`install-updater`): cargo-dist ships axoupdater renamed.
    Updater { target: String },
    /// A file a user command makes (`extra-artifacts`): `path` below the entry's working dir.
    ExtraArtifact {
        entry: crate::config::ExtraArtifacts,
        path: String,
    },
    /// `{package}.cdx.xml` (`cargo-cyclonedx`).
    Sbom,
    /// `{artifact}.omnibor` (`omnibor`).
    Omnibor { of: String },
    /// A bundling installer made per target: `.msi` (Windows), `.pkg` (macOS).
    NativeInstaller {
        installer: InstallerKind,
        target: String,
    },
}

impl ArtifactKind {
    /// cargo-dist's manifest `kind`.
    pub fn manifest_kind(&self) -> &'static str {
        match self {
            ArtifactKind::Archive { .. } => "executable-zip",
            ArtifactKind::Checksum { .. } => "checksum",
            ArtifactKind::UnifiedChecksum { .. } => "unified-checksum",
            ArtifactKind::SourceTarball { .. } => "source-tarball",
            ArtifactKind::Installer { .. } | ArtifactKind::NativeInstaller { .. } => "installer",
            ArtifactKind::Updater { .. } => "updater",
            ArtifactKind::ExtraArtifact { .. } => "extra-artifact",
            ArtifactKind::Sbom => "sbom",
            ArtifactKind::Omnibor { .. } => "omnibor-artifact-id",
        }
    }

    /// For a file about another artifact (its checksum, its OmniBOR id): what it is, and the
    /// artifact's name. Such a file can be made exactly when its subject can.
    pub fn describes(&self) -> Option<(&'static str, &str)> {
        match self {
            ArtifactKind::Checksum { of, .. } => Some(("checksum", of)),
            ArtifactKind::Omnibor { of } => Some(("OmniBOR id", of)),
            _ => None,
        }
    }

    /// Why this tool cannot make this kind yet, for kinds it plans but does not build.
    pub fn unbuildable(&self) -> Option<&'static str> {
        match self {
            ArtifactKind::NativeInstaller { installer, .. } => Some(installer.unbuildable()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArchiveItem {
    /// Path inside the archive (below the root dir).
    pub path: String,
    pub source: ItemSource,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemSource {
    /// A binary of the App's cargo build (the file name carries `.exe` on Windows).
    Binary { name: String },
    /// A library file of the App's cargo build (`package-libraries`).
    Library { name: String, kind: LibraryKind },
    /// The App's SBOM (`cargo-cyclonedx`), the release artifact of that name.
    Sbom { artifact: String },
    /// A workspace-relative file.
    File {
        path: String,
        kind: Option<IncludeKind>,
    },
}

pub struct PlanRequest<'a> {
    pub mode: ArtifactMode,
    /// `--target` values (empty: every configured target, or the host in host mode).
    pub targets: &'a [String],
    /// The host triple: read in host mode only, so other plans need not wait for `rustc -vV`.
    pub host: Option<&'a str>,
}

/// What the request selects.
struct Selection {
    targets: BTreeSet<String>,
    local: bool,
    global: bool,
    /// Host mode: an installer is made only when it can install something built here.
    host: bool,
}

/// Builds the Universe for one announcement and marks what `req` selects.
pub fn plan(
    ws: &Workspace,
    cfg: &Config,
    ann: &Announcement,
    req: &PlanRequest,
) -> Result<Plan, PlanError> {
    let sel = selection(cfg, ann, req)?;
    let mut artifacts = BTreeMap::new();
    let mut releases = Vec::new();
    let mut all_archives = Vec::new();
    for app in &ann.apps {
        let pkg = ws
            .package(app)
            .expect("announced apps are workspace packages");
        let pc = cfg.package(app);
        if pkg.generic.is_some() {
            cargo_only_options(app, cfg.global.cargo_auditable, pc.cyclonedx)?;
        }
        // Host mode may build outside the configured targets; installers then know those too.
        let mut targets: BTreeSet<String> = pc.targets.iter().cloned().collect();
        if req.mode == ArtifactMode::Host {
            targets.extend(sel.targets.iter().cloned());
        }
        let mut release = Release {
            app: app.clone(),
            version: pkg.version.to_string(),
            package_dir: pkg.dir.clone(),
            binaries: pkg.binaries.clone(),
            target_binaries: BTreeMap::new(),
            targets: targets.into_iter().collect(),
            artifacts: Vec::new(),
            github: hosting_repo(cfg, pkg),
            simple_url: simple_url(cfg, &ann.tag)?,
            download_url: None,
            display: pc.display,
            display_name: pc.display_name.clone(),
            tap: cfg.global.tap.clone(),
            npm_package: pc.npm_package_name(app),
        };
        release.download_url = download_url(
            cfg,
            release.github.as_ref(),
            release.simple_url.as_deref(),
            &ann.tag,
        );
        let archives = plan_local(pkg, pc, &cfg.global, &sel, &mut release, &mut artifacts)?;
        plan_installers(ws, pkg, pc, &sel, &archives, &mut release, &mut artifacts)?;
        release.artifacts.sort();
        all_archives.extend(archives.into_iter().map(|(name, _)| name));
        releases.push(release);
    }
    plan_shared(ws, cfg, &sel, all_archives, &mut releases, &mut artifacts);

    // A build-less (library) announcement still gets a release, with no artifacts.
    if ann.apps.is_empty() {
        if let Some(pkg) = ann.package.as_deref().and_then(|p| ws.package(p)) {
            releases.push(Release {
                app: pkg.name.clone(),
                version: pkg.version.to_string(),
                package_dir: pkg.dir.clone(),
                binaries: Vec::new(),
                target_binaries: BTreeMap::new(),
                targets: Vec::new(),
                artifacts: Vec::new(),
                github: hosting_repo(cfg, pkg),
                simple_url: simple_url(cfg, &ann.tag)?,
                download_url: None,
                display: true,
                display_name: None,
                tap: None,
                npm_package: pkg.name.clone(),
            });
        }
    }
    Ok(Plan {
        announcement: ann.clone(),
        mode: req.mode,
        releases,
        artifacts,
        external_repo_commit: submodule_commit(ws, cfg)?,
    })
}

/// `github-releases-submodule-path`'s commit as this checkout records it (`git submodule
/// status --cached`, as cargo-dist reads it), relative to the workspace root.
fn submodule_commit(ws: &Workspace, cfg: &Config) -> Result<Option<String>, PlanError> {
    let Some(path) = &cfg.global.github_releases_submodule_path else {
        return Ok(None);
    };
    let fail = |why: String| PlanError::Submodule {
        path: path.clone(),
        why,
    };
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&ws.root)
        .args(["submodule", "status", "--cached", "--"])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(format!("git could not be run: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!("git says: {}", said.trim())));
    }
    // One line: a status character, the commit, a space, the path.
    let line = String::from_utf8_lossy(&out.stdout);
    let commit = line
        .trim_start_matches([' ', '-', '+', 'U'])
        .split(' ')
        .next()
        .unwrap_or_default();
    match commit.len() >= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        true => Ok(Some(commit.to_string())),
        false => Err(fail("it is not a git submodule of this repository".into())),
    }
}

fn selection(cfg: &Config, ann: &Announcement, req: &PlanRequest) -> Result<Selection, PlanError> {
    let configured: BTreeSet<String> = ann
        .apps
        .iter()
        .flat_map(|a| cfg.package(a).targets.iter().cloned())
        .collect();
    let targets = match req.mode {
        ArtifactMode::Host if req.targets.is_empty() => {
            BTreeSet::from([req.host.expect("host mode knows the host").to_string()])
        }
        ArtifactMode::Host => req.targets.iter().cloned().collect(),
        _ => {
            if let Some(t) = req.targets.iter().find(|t| !configured.contains(*t)) {
                return Err(PlanError::UnknownTarget {
                    target: t.clone(),
                    configured: configured.into_iter().collect(),
                });
            }
            if req.targets.is_empty() {
                configured
            } else {
                req.targets.iter().cloned().collect()
            }
        }
    };
    use ArtifactMode::*;
    Ok(Selection {
        targets,
        local: matches!(req.mode, Local | All | Host),
        global: matches!(req.mode, Global | All | Host),
        host: req.mode == Host,
    })
}

/// The checksum file of `of` in a `checksum` style (`sha256` -> `{of}.sha256`).
fn checksum_name(of: &str, style: ChecksumStyle) -> String {
    format!("{of}.{}", style.name())
}

/// Per target: the archive and its checksum, the updater, and the bundling installers. Returns
/// the App's archives with their targets.
fn plan_local(
    pkg: &Package,
    pc: &PackageConfig,
    global: &GlobalConfig,
    sel: &Selection,
    release: &mut Release,
    artifacts: &mut BTreeMap<String, Artifact>,
) -> Result<Vec<(String, String)>, PlanError> {
    let app = release.app.clone();
    let darwin = release.targets.iter().any(|t| Target(t).is_darwin());
    if darwin && pc.installers.contains(&InstallerKind::Pkg) && pc.mac_pkg_identifier.is_none() {
        return Err(PlanError::PkgIdentifierMissing {
            package: pkg.name.clone(),
        });
    }
    let mut archives = Vec::new();
    for target in release.targets.clone() {
        let t = Target(&target);
        let make = PerTarget {
            app: &app,
            target: &target,
            selected: sel.local && sel.targets.contains(&target),
            // MSIs are made in the global phase, from this target's build in the store (wixl
            // runs on Linux, not on the Windows runner): selected with the global artifacts
            // when this target is.
            global_selected: sel.global && sel.targets.contains(&target),
            checksum: global.checksum,
        };
        let binaries = target_binaries(pkg, pc, &target)?;
        release
            .target_binaries
            .insert(target.clone(), binaries.clone());
        let format = if t.is_windows() {
            pc.windows_archive
        } else {
            pc.unix_archive
        };
        let stem = format!("{app}-{target}");
        let name = format!("{stem}{}", format.extension());
        let archive_sum = make.checksum_of(&name, make.selected);
        let mut per_target = vec![make.local(
            name.clone(),
            ArtifactKind::Archive {
                target: target.clone(),
                format,
                root_dir: format.has_root_dir().then(|| stem.clone()),
                contents: archive_contents(pkg, pc, t, &binaries),
                checksum: archive_sum.as_ref().map(|a| a.name.clone()),
            },
        )];
        per_target.extend(archive_sum);
        if global.install_updater {
            per_target.push(make.local(
                format!("{stem}-update"),
                ArtifactKind::Updater {
                    target: target.clone(),
                },
            ));
        }
        per_target.extend(make.native_installers(pc));
        if global.omnibor {
            let ids = make.omnibor_ids(&per_target);
            per_target.extend(ids);
        }
        for a in per_target {
            release.artifacts.push(a.name.clone());
            add_artifact(artifacts, a)?;
        }
        archives.push((name, target));
    }
    Ok(archives)
}

/// Makes the artifacts of one App for one target.
struct PerTarget<'a> {
    app: &'a str,
    target: &'a str,
    /// The local artifacts are selected.
    selected: bool,
    /// Its MSIs are (with the global artifacts).
    global_selected: bool,
    checksum: Option<ChecksumStyle>,
}

impl PerTarget<'_> {
    fn artifact(&self, name: String, kind: ArtifactKind, selected: bool) -> Artifact {
        Artifact {
            name,
            app: Some(self.app.to_string()),
            target_triples: vec![self.target.to_string()],
            selected,
            kind,
        }
    }

    fn local(&self, name: String, kind: ArtifactKind) -> Artifact {
        self.artifact(name, kind, self.selected)
    }

    /// The checksum file of `of`, unless `checksum = "false"`.
    fn checksum_of(&self, of: &str, selected: bool) -> Option<Artifact> {
        self.checksum.map(|style| {
            let kind = ArtifactKind::Checksum {
                of: of.to_string(),
                style,
            };
            self.artifact(checksum_name(of, style), kind, selected)
        })
    }

    /// Bundling installers (MSI, pkg) for this target, each with its checksum.
    fn native_installers(&self, pc: &PackageConfig) -> Vec<Artifact> {
        let mut out = Vec::new();
        for &inst in pc.installers.iter().filter(|i| i.is_local()) {
            let Some(file) = inst.local_file_name(self.app, self.target) else {
                continue;
            };
            let chosen = match inst.made_per_target() {
                true => self.selected,
                false => self.global_selected,
            };
            let sum = self.checksum_of(&file, chosen);
            let kind = ArtifactKind::NativeInstaller {
                installer: inst,
                target: self.target.to_string(),
            };
            out.push(self.artifact(file, kind, chosen));
            out.extend(sum);
        }
        out
    }

    /// cargo-dist's OmniBOR ids: beside archives and bundling installers.
    fn omnibor_ids(&self, per_target: &[Artifact]) -> Vec<Artifact> {
        per_target
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ArtifactKind::Archive { .. } | ArtifactKind::NativeInstaller { .. }
                )
            })
            .map(|a| {
                // Selected with its subject (an MSI with the global artifacts).
                let chosen = a.selected;
                let of = a.name.clone();
                // cargo-dist gives an id no target triples of its own.
                Artifact {
                    target_triples: Vec::new(),
                    ..self.artifact(
                        format!("{of}.omnibor"),
                        ArtifactKind::Omnibor { of },
                        chosen,
                    )
                }
            })
            .collect()
    }
}

/// The binaries shipped for `target`: the package's, narrowed by `binaries` when it names the
/// target.
fn target_binaries(
    pkg: &Package,
    pc: &PackageConfig,
    target: &str,
) -> Result<Vec<String>, PlanError> {
    // Refused here, before anything builds: every installer would refuse it later.
    if let Some(bad) = pkg
        .binaries
        .iter()
        .find(|b| !dist_recipes::installer::is_plain_name(b))
    {
        return Err(PlanError::UnsafeBinaryName {
            package: pkg.name.clone(),
            binary: bad.clone(),
            place: match pkg.generic {
                Some(_) => "`binaries` of its dist.toml (and its build)",
                None => "the [[bin]] table of its Cargo.toml",
            },
        });
    }
    // An exact triple wins over `"*"`.
    let Some(listed) = pc.binaries.get(target).or_else(|| pc.binaries.get("*")) else {
        return Ok(pkg.binaries.clone());
    };
    let mut out = Vec::new();
    for b in listed {
        if !pkg.binaries.contains(b) {
            return Err(PlanError::UnknownBinary {
                package: pkg.name.clone(),
                target: format!("binaries.{target}"),
                binary: b.clone(),
                known: pkg.binaries.join(", "),
            });
        }
        out.push(b.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn archive_contents(
    pkg: &Package,
    pc: &PackageConfig,
    t: Target,
    binaries: &[String],
) -> Vec<ArchiveItem> {
    let mut contents: Vec<ArchiveItem> = binaries
        .iter()
        .map(|b| {
            let file = t.exe(b);
            ArchiveItem {
                path: file.clone(),
                source: ItemSource::Binary { name: file },
            }
        })
        .collect();
    for (kind, name) in library_files(pkg, &pc.package_libraries, t) {
        contents.push(ArchiveItem {
            path: name.clone(),
            source: ItemSource::Library { name, kind },
        });
    }
    if pc.cyclonedx {
        let artifact = sbom_name(&pkg.name);
        contents.push(ArchiveItem {
            path: artifact.clone(),
            source: ItemSource::Sbom { artifact },
        });
    }
    if pc.auto_includes {
        for inc in &pkg.auto_includes {
            contents.push(ArchiveItem {
                path: file_name(&inc.path).to_string(),
                source: ItemSource::File {
                    path: inc.path.clone(),
                    kind: Some(inc.kind),
                },
            });
        }
    }
    for inc in &pc.include {
        contents.push(ArchiveItem {
            path: file_name(inc).to_string(),
            source: ItemSource::File {
                path: inc.clone(),
                kind: None,
            },
        });
    }
    contents.sort();
    // Two sources for one archive path: the first wins, so the archive stays well-formed. An
    // `include` of an auto-included file's name is one member in two roles: both are kept, so
    // the manifest lists it under both kinds (`readme` and `unknown`), as cargo-dist 0.34 does;
    // the archive holds it once, the included file (cargo-dist copies includes last).
    contents.dedup_by(|later, kept| later.path == kept.path && !two_roles(later, kept));
    contents
}

/// An auto-include and an `include` (one of each).
fn two_roles(a: &ArchiveItem, b: &ArchiveItem) -> bool {
    match (&a.source, &b.source) {
        (ItemSource::File { kind: ka, .. }, ItemSource::File { kind: kb, .. }) => {
            ka.is_some() != kb.is_some()
        }
        _ => false,
    }
}

/// A generic package's build runs its own command: the options that change how cargo builds
/// cannot reach it.
fn cargo_only_options(package: &str, auditable: bool, cyclonedx: bool) -> Result<(), PlanError> {
    let options: Vec<&str> = [
        ("`cargo-auditable`", auditable),
        ("`cargo-cyclonedx`", cyclonedx),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    match options.is_empty() {
        true => Ok(()),
        false => Err(PlanError::CargoOnlyOptions {
            package: package.to_string(),
            options: options.join(" and "),
        }),
    }
}

/// The SBOM of an App (`cargo-cyclonedx`): `{app}.cdx.xml`.
fn sbom_name(app: &str) -> String {
    format!("{app}.cdx.xml")
}

/// The library files of `kinds` that `pkg`'s lib target builds for `t`, by kind (kinds it does
/// not build are skipped, as cargo-dist does).
pub fn library_files(
    pkg: &Package,
    kinds: &[LibraryKind],
    t: Target,
) -> Vec<(LibraryKind, String)> {
    let Some(lib) = &pkg.lib_name else {
        return Vec::new();
    };
    kinds
        .iter()
        .filter(|k| pkg.c_libraries.contains(k))
        .map(|&k| (k, t.library(k, lib)))
        .collect()
}

/// The `bin-aliases` of an App: like cargo-dist, an alias applies to the Apps that have its
/// binary (a workspace-wide `bin-aliases` naming one member's binary is not an error for the
/// others).
pub fn app_aliases(pkg: &Package, pc: &PackageConfig) -> BTreeMap<String, Vec<String>> {
    pc.bin_aliases
        .iter()
        .filter(|(bin, _)| pkg.binaries.contains(bin))
        .map(|(bin, names)| (bin.clone(), names.clone()))
        .collect()
}

/// Every command an App's installers install: its binaries and their aliases.
fn commands(pkg: &Package, pc: &PackageConfig) -> Vec<String> {
    let aliases = app_aliases(pkg, pc).into_values().flatten();
    pkg.binaries.iter().cloned().chain(aliases).collect()
}

/// The fetching installers of one App.
#[allow(clippy::too_many_arguments)]
fn plan_installers(
    ws: &Workspace,
    pkg: &Package,
    pc: &PackageConfig,
    sel: &Selection,
    archives: &[(String, String)],
    release: &mut Release,
    artifacts: &mut BTreeMap<String, Artifact>,
) -> Result<(), PlanError> {
    let app = &release.app;
    // Every platform the App's builds serve, sorted and deduplicated.
    let platforms: BTreeSet<String> = archives
        .iter()
        .flat_map(|(_, t)| Target(t).platforms())
        .collect();
    for &inst in pc.installers.iter().filter(|i| !i.is_local()) {
        let name = inst
            .file_name(app, pc.formula.as_deref())
            .expect("fetching installers have one file per App");
        let fetchable: Vec<String> = archives
            .iter()
            .filter(|(_, t)| inst.fetches(t))
            .map(|(a, _)| a.clone())
            .collect();
        let target_triples: Vec<String> = platforms
            .iter()
            .filter(|p| inst.serves(p))
            .cloned()
            .collect();
        let download_url = match (&release.download_url, &pkg.repository) {
            (Some(url), _) => url.clone(),
            (None, repo) => {
                return Err(PlanError::NoDownloadUrl {
                    package: app.clone(),
                    installer: inst.name(),
                    why: match repo {
                        Some(r) => format!(
                        "its repository {r:?} is not a GitHub URL (https://github.com/OWNER/REPO)"
                    ),
                        None => "it has no `repository` in its Cargo.toml".into(),
                    },
                    manifest: crate::workspace::relative(&ws.root, &pkg.manifest_path),
                })
            }
        };
        if fetchable.is_empty() {
            // e.g. a PowerShell installer with no Windows target: nothing it could install.
            continue;
        }
        // As cargo-dist's host mode: e.g. no PowerShell installer from a Linux host.
        let selected = sel.global
            && (!sel.host
                || archives
                    .iter()
                    .any(|(_, t)| sel.targets.contains(t) && inst.fetches(t)));
        release.artifacts.push(name.clone());
        add_artifact(
            artifacts,
            Artifact {
                name,
                app: Some(app.clone()),
                target_triples,
                selected,
                kind: ArtifactKind::Installer {
                    installer: inst,
                    archives: fetchable,
                    download_url,
                    files: dist_recipes::installer::generated_files(
                        inst,
                        &commands(pkg, pc),
                        pc.npm_shrinkwrap,
                    ),
                },
            },
        )?;
    }
    Ok(())
}

/// Announcement-wide artifacts, listed under every release so each GitHub Release has them.
fn plan_shared(
    ws: &Workspace,
    cfg: &Config,
    sel: &Selection,
    mut all_archives: Vec<String>,
    releases: &mut [Release],
    artifacts: &mut BTreeMap<String, Artifact>,
) {
    // Every announcement-wide artifact is global, of no App and no target.
    let shared_artifact = |name: String, kind: ArtifactKind| Artifact {
        name,
        app: None,
        target_triples: Vec::new(),
        selected: sel.global,
        kind,
    };
    let mut shared = Vec::new();
    let style = cfg.global.checksum;
    if let (false, Some(style)) = (all_archives.is_empty(), style) {
        all_archives.sort();
        let of = all_archives;
        shared.push(shared_artifact(
            style.unified_name(),
            ArtifactKind::UnifiedChecksum { of, style },
        ));
    }
    let first = releases.first().filter(|_| cfg.global.source_tarball);
    if let (Some(first), true) = (first, ws.git_tree.is_some()) {
        let root_dir = format!("{}-{}", first.app, first.version);
        let of = "source.tar.gz".to_string();
        shared.push(shared_artifact(
            of.clone(),
            ArtifactKind::SourceTarball { root_dir },
        ));
        if let Some(style) = style {
            let kind = ArtifactKind::Checksum {
                of: of.clone(),
                style,
            };
            shared.push(shared_artifact(checksum_name(&of, style), kind));
        }
        if cfg.global.omnibor {
            let name = format!("{of}.omnibor");
            shared.push(shared_artifact(name, ArtifactKind::Omnibor { of }));
        }
    }
    // `extra-artifacts`: one artifact per file a build command makes, named by the file.
    for r in releases.iter() {
        for entry in &cfg.package(&r.app).extra_artifacts {
            for path in &entry.artifacts {
                let name = file_name(path).to_string();
                if !shared.iter().any(|a| a.name == name) {
                    let kind = ArtifactKind::ExtraArtifact {
                        entry: entry.clone(),
                        path: path.clone(),
                    };
                    shared.push(shared_artifact(name, kind));
                }
            }
        }
    }
    for a in shared {
        for r in releases.iter_mut() {
            r.artifacts.push(a.name.clone());
            r.artifacts.sort();
        }
        artifacts.insert(a.name.clone(), a);
    }
    plan_sboms(cfg, sel, releases, artifacts);
}

/// `cargo-cyclonedx`: an SBOM per release (also put in its archives).
fn plan_sboms(
    cfg: &Config,
    sel: &Selection,
    releases: &mut [Release],
    artifacts: &mut BTreeMap<String, Artifact>,
) {
    for r in releases.iter_mut() {
        if cfg.package(&r.app).cyclonedx {
            let name = sbom_name(&r.app);
            r.artifacts.push(name.clone());
            r.artifacts.sort();
            let sbom = Artifact {
                name: name.clone(),
                app: Some(r.app.clone()),
                target_triples: Vec::new(),
                selected: sel.global,
                kind: ArtifactKind::Sbom,
            };
            artifacts.insert(name, sbom);
        }
    }
}

/// Adds `a`, refusing a second artifact of the same name (two Apps sharing a `formula`, ...).
fn add_artifact(artifacts: &mut BTreeMap<String, Artifact>, a: Artifact) -> Result<(), PlanError> {
    if let Some(prev) = artifacts.get(&a.name) {
        return Err(PlanError::DuplicateName {
            name: a.name.clone(),
            first: prev.app.clone().unwrap_or_default(),
            second: a.app.clone().unwrap_or_default(),
        });
    }
    artifacts.insert(a.name.clone(), a);
    Ok(())
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::{announce, eligibility, Candidate};
    use crate::workspace::Package;
    use std::path::PathBuf;

    fn pkg(name: &str, version: &str, bins: &[&str], publish: bool) -> Package {
        Package {
            name: name.into(),
            version: version.parse().unwrap(),
            manifest_path: PathBuf::from(format!("/ws/{name}/Cargo.toml")),
            dir: name.into(),
            binaries: bins.iter().map(|b| b.to_string()).collect(),
            has_lib: bins.is_empty(),
            lib_name: None,
            c_libraries: vec![],
            publish,
            repository: Some("https://github.com/example/evil".into()),
            description: None,
            homepage: None,
            license: None,
            authors: vec![],
            metadata: serde_json::Value::Null,
            auto_includes: vec![],
            path_deps: vec![],
            features: vec![],
            target_paths: vec![],
            globs: None,
            generic: None,
            npm_scope: None,
        }
    }

    /// The concepts guide's workspace, built by hand: planning needs no cargo.
    fn evil() -> (Workspace, Config, Vec<Candidate>) {
        let ws = Workspace {
            root: PathBuf::from("/ws"),
            manifest_path: PathBuf::from("/ws/Cargo.toml"),
            target_dir: PathBuf::from("/ws/target"),
            packages: vec![
                pkg("evil-workspace", "0.5.0", &["evil-workspace"], true),
                pkg("many-bin", "0.7.6", &["many-bin", "other-bin"], true),
                pkg("private-bin", "0.5.0", &["private-bin"], false),
                pkg("some-lib", "0.2.0", &[], true),
                pkg("third-bin", "0.5.0", &["third-bin"], true),
            ],
            workspace_metadata: serde_json::json!({"dist": {
                "targets": ["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"],
                "installers": ["shell", "powershell"],
            }}),
            single_package: false,
            profiles: Default::default(),
            git_tree: None,
            git_root: None,
            dist_file: None,
            sources: crate::workspace::files::SourceFiles::Unversioned(
                crate::workspace::files::Unversioned::NoRepository,
            ),
            cargo_workspaces: Vec::new(),
        };
        let cfg = crate::config::resolve(&ws).unwrap();
        let cands = ws
            .packages
            .iter()
            .map(|p| Candidate {
                name: p.name.clone(),
                version: p.version.clone(),
                eligibility: eligibility(!p.binaries.is_empty(), p.publish, None),
            })
            .collect();
        (ws, cfg, cands)
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.artifacts
            .values()
            .filter(|a| a.selected)
            .map(|a| a.name.as_str())
            .collect()
    }

    #[test]
    fn universe_of_a_singular_announcement() {
        let (ws, cfg, cands) = evil();
        let ann = announce(&cands, Some("many-bin-v0.7.6")).unwrap();
        let req = PlanRequest {
            mode: ArtifactMode::All,
            targets: &[],
            host: Some("x86_64-unknown-linux-gnu"),
        };
        let plan = plan(&ws, &cfg, &ann, &req).unwrap();
        assert_eq!(
            names(&plan),
            [
                "many-bin-installer.ps1",
                "many-bin-installer.sh",
                "many-bin-x86_64-pc-windows-msvc.zip",
                "many-bin-x86_64-pc-windows-msvc.zip.sha256",
                "many-bin-x86_64-unknown-linux-gnu.tar.xz",
                "many-bin-x86_64-unknown-linux-gnu.tar.xz.sha256",
                "sha256.sum",
            ]
        );
        let ArtifactKind::Archive {
            contents, root_dir, ..
        } = &plan.artifacts["many-bin-x86_64-pc-windows-msvc.zip"].kind
        else {
            panic!("not an archive")
        };
        assert_eq!(root_dir, &None, "zips are flat");
        let files: Vec<&str> = contents.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(files, ["many-bin.exe", "other-bin.exe"]);
    }

    #[test]
    fn two_apps_sharing_a_formula_name_are_refused() {
        let (mut ws, _, cands) = evil();
        ws.workspace_metadata = serde_json::json!({"dist": {
            "targets": ["x86_64-unknown-linux-gnu"],
            "installers": ["homebrew"],
            "formula": "shared",
        }});
        let cfg = crate::config::resolve(&ws).unwrap();
        let ann = announce(&cands, Some("v0.5.0")).unwrap();
        let req = PlanRequest {
            mode: ArtifactMode::All,
            targets: &[],
            host: Some("x86_64-unknown-linux-gnu"),
        };
        let err = plan(&ws, &cfg, &ann, &req).unwrap_err();
        assert!(
            matches!(&err, PlanError::DuplicateName { name, .. } if name == "shared.rb"),
            "{err}"
        );
    }

    #[test]
    fn modes_select_subsets_and_targets_are_checked() {
        let (ws, cfg, cands) = evil();
        let ann = announce(&cands, Some("v0.5.0")).unwrap();
        let linux = ["x86_64-unknown-linux-gnu".to_string()];
        let local = plan(
            &ws,
            &cfg,
            &ann,
            &PlanRequest {
                mode: ArtifactMode::Local,
                targets: &linux,
                host: Some("x86_64-unknown-linux-gnu"),
            },
        )
        .unwrap();
        assert!(
            names(&local).iter().all(|n| n.contains("linux")),
            "{:?}",
            names(&local)
        );
        let global = plan(
            &ws,
            &cfg,
            &ann,
            &PlanRequest {
                mode: ArtifactMode::Global,
                targets: &[],
                host: Some("x86_64-unknown-linux-gnu"),
            },
        )
        .unwrap();
        assert!(names(&global).iter().all(|n| !n.contains(".tar.xz")));
        let bad = ["riscv64gc-unknown-linux-gnu".to_string()];
        let err = plan(
            &ws,
            &cfg,
            &ann,
            &PlanRequest {
                mode: ArtifactMode::Local,
                targets: &bad,
                host: Some("x86_64-unknown-linux-gnu"),
            },
        )
        .unwrap_err();
        assert!(matches!(err, PlanError::UnknownTarget { .. }));
        // Host mode may build an unconfigured target.
        let host = plan(
            &ws,
            &cfg,
            &ann,
            &PlanRequest {
                mode: ArtifactMode::Host,
                targets: &[],
                host: Some("aarch64-unknown-linux-gnu"),
            },
        )
        .unwrap();
        assert!(names(&host).contains(&"third-bin-aarch64-unknown-linux-gnu.tar.xz"));
    }

    #[test]
    fn github_urls() {
        let gh = GithubRepo::parse("https://github.com/axo/dist.git").unwrap();
        assert_eq!(gh.owner, "axo");
        assert_eq!(gh.repo, "dist");
        assert_eq!(
            gh.download_url("v1.0.0"),
            "https://github.com/axo/dist/releases/download/v1.0.0"
        );
        assert!(GithubRepo::parse("https://gitlab.com/a/b").is_none());
        assert!(GithubRepo::parse("https://github.com/a").is_none());
    }
}
