//! dist-manifest.json: cargo-dist's published schema (its field names and types), plus one field
//! of ours per artifact, `recipe`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::GlobalConfig;
use crate::plan::{ArtifactKind, ItemSource, Plan};
use crate::workspace::IncludeKind;
use dist_recipes::target::LibraryKind;
use dist_recipes::vocab::Vocabulary;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistManifest {
    pub dist_version: String,
    pub announcement_tag: String,
    #[serde(default)]
    pub announcement_tag_is_implicit: bool,
    #[serde(default)]
    pub announcement_is_prerelease: bool,
    pub announcement_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_changelog: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement_github_body: Option<String>,
    #[serde(default)]
    pub releases: Vec<ManifestRelease>,
    #[serde(default)]
    pub artifacts: BTreeMap<String, ManifestArtifact>,
    #[serde(default)]
    pub publish_prereleases: bool,
    /// `force-latest`: the release is marked latest even when it is a prerelease.
    #[serde(default)]
    pub force_latest: bool,
    /// `github-attestations`: present (true) when the workflow attests the artifacts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub github_attestations: bool,
    /// The CI's build matrix (`ci = "github"`), as cargo-dist states it for other tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiInfo>,
    /// cargo-dist's consumers index these unconditionally, so they are always present.
    #[serde(default)]
    pub linkage: Vec<serde_json::Value>,
    #[serde(default)]
    pub upload_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestRelease {
    pub app_name: String,
    pub app_version: String,
    /// `display-name`, else the App's name: what release notes and installers call it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `display`: whether release notes list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<bool>,
    #[serde(default)]
    pub artifacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Hosting::is_empty")]
    pub hosting: Hosting,
}

/// `ci` of cargo-dist's manifest: the GitHub build matrix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CiInfo {
    pub github: GithubCi,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GithubCi {
    pub artifacts_matrix: ArtifactsMatrix,
    pub pr_run_mode: String,
    /// `github-releases-submodule-path`: the commit the release's tag is made at in
    /// `github-releases-repo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_repo_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArtifactsMatrix {
    pub include: Vec<MatrixEntry>,
}

/// One build job: where it runs, how it installs this tool, what it builds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MatrixEntry {
    pub runner: String,
    pub host: String,
    pub install_dist: RunStep,
    pub dist_args: String,
    pub targets: Vec<String>,
    pub cache_provider: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunStep {
    pub shell: String,
    pub run: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Hosting {
    /// The configured `hosting`, in its order (cargo-dist writes it when the key is set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GithubHosting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simple: Option<SimpleHosting>,
}

impl Hosting {
    fn is_empty(&self) -> bool {
        self.github.is_none() && self.simple.is_none()
    }
}

/// `hosting = "simple"`: files on a static server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimpleHosting {
    pub download_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GithubHosting {
    pub artifact_base_url: String,
    pub artifact_download_path: String,
    pub owner: String,
    pub repo: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestArtifact {
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_triples: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<Asset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// This project's addition: the artifact's recipe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<RecipeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Asset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecipeInfo {
    pub key: String,
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// The canonical inputs the key was computed from; lets `compare` name what differs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    /// How the cargo builds it came from were isolated, the weakest of them: `full` (no
    /// network, filesystem limited to the declared inputs), `network-only` or `none`. Not part
    /// of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// From the remote store: `build` took it from there (fetched and verified), `plan` found it
    /// there (signature checked) while the local store lacks it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remote: bool,
}

/// Per-artifact facts known only after keys are computed or artifacts built.
#[derive(Debug, Clone, Default)]
pub struct ArtifactState {
    pub recipe: Option<RecipeInfo>,
    /// `target/distrib/...`, relative to the workspace root (omitted with --no-local-paths).
    pub path: Option<String>,
    pub sha256: Option<String>,
}

/// Renders the selected part of `plan` as a manifest, with no artifact state yet (see
/// [`apply_states`]).
pub fn build_manifest(plan: &Plan, cfg: &GlobalConfig) -> DistManifest {
    let ann = &plan.announcement;
    let releases: Vec<ManifestRelease> = plan
        .releases
        .iter()
        .map(|r| release(plan, cfg, r))
        .collect();
    let mut artifacts: BTreeMap<String, ManifestArtifact> = plan
        .artifacts
        .values()
        .filter(|a| a.selected)
        .map(|a| (a.name.clone(), artifact(plan, a)))
        .collect();
    // Whatever has a checksum file names it (archives, MSIs, the source tarball).
    for a in plan.artifacts.values().filter(|a| a.selected) {
        if let ArtifactKind::Checksum { of, .. } = &a.kind {
            if let Some(m) = artifacts.get_mut(of) {
                m.checksum = Some(a.name.clone());
            }
        }
    }
    let title = match (&ann.package, releases.as_slice()) {
        (_, [only]) => format!("{} {}", only.app_name, only.app_version),
        _ => ann.tag.clone(),
    };
    DistManifest {
        dist_version: env!("CARGO_PKG_VERSION").into(),
        announcement_tag: ann.tag.clone(),
        announcement_tag_is_implicit: ann.tag_is_implicit,
        announcement_is_prerelease: ann.prerelease,
        announcement_title: title,
        announcement_changelog: None,
        announcement_github_body: None,
        releases,
        upload_files: artifacts.keys().cloned().collect(),
        artifacts,
        publish_prereleases: cfg.publish_prereleases,
        force_latest: cfg.force_latest,
        github_attestations: cfg.attestations.is_some(),
        ci: crate::ci::wants_github(cfg).then(|| ci_info(plan, cfg)),
        linkage: Vec::new(),
    }
}

/// The build matrix: a job per target of the announcement, on the runner the workflow picks;
/// with `merge-tasks`, a job per runner (and container) building all of its targets
/// (cargo-dist's order: by runner, then host, then container).
fn ci_info(plan: &Plan, cfg: &GlobalConfig) -> CiInfo {
    let targets: std::collections::BTreeSet<&String> =
        plan.releases.iter().flat_map(|r| &r.targets).collect();
    let url = crate::ci::install_url(cfg);
    type Job = (String, String, Option<String>);
    let mut jobs: Vec<(Job, Vec<String>)> = Vec::new();
    for target in targets {
        let (runner, host) = crate::ci::runner_of(cfg, target);
        let job = (runner, host, crate::ci::container_of(cfg, target));
        match jobs.iter_mut().find(|(j, _)| cfg.merge_tasks && *j == job) {
            Some((_, targets)) => targets.push(target.clone()),
            None => jobs.push((job, vec![target.clone()])),
        }
    }
    if cfg.merge_tasks {
        jobs.sort();
    }
    let include = jobs
        .into_iter()
        .map(|((runner, host, _), targets)| {
            let install_dist = match host.contains("windows") {
                true => RunStep {
                    shell: "pwsh".into(),
                    run: format!("irm {url}/cargo-dist-installer.ps1 | iex"),
                },
                false => RunStep {
                    shell: "sh".into(),
                    run: format!(
                        "curl --proto '=https' --tlsv1.2 -LsSf {url}/cargo-dist-installer.sh | sh"
                    ),
                },
            };
            let mut dist_args = "--artifacts=local".to_string();
            for t in &targets {
                dist_args.push_str(&format!(" --target={t}"));
            }
            MatrixEntry {
                runner,
                host,
                install_dist,
                dist_args,
                targets,
                cache_provider: "github".into(),
            }
        })
        .collect();
    CiInfo {
        github: GithubCi {
            artifacts_matrix: ArtifactsMatrix { include },
            pr_run_mode: cfg.pr_run_mode.name().into(),
            external_repo_commit: plan.external_repo_commit.clone(),
        },
    }
}

/// A release with its selected artifacts and where GitHub hosts them.
fn release(plan: &Plan, cfg: &GlobalConfig, r: &crate::plan::Release) -> ManifestRelease {
    let selected = |name: &str| plan.artifacts.get(name).is_some_and(|a| a.selected);
    ManifestRelease {
        app_name: r.app.clone(),
        app_version: r.version.clone(),
        display_name: Some(r.display_name.clone().unwrap_or_else(|| r.app.clone())),
        display: Some(r.display),
        artifacts: r
            .artifacts
            .iter()
            .filter(|a| selected(a))
            .cloned()
            .collect(),
        hosting: Hosting {
            order: cfg.hosting.iter().map(|h| h.name().to_string()).collect(),
            github: r.github.as_ref().map(|gh| GithubHosting {
                artifact_base_url: "https://github.com".into(),
                artifact_download_path: format!(
                    "/{}/{}/releases/download/{}",
                    gh.owner, gh.repo, plan.announcement.tag
                ),
                owner: gh.owner.clone(),
                repo: gh.repo.clone(),
            }),
            simple: r
                .simple_url
                .clone()
                .map(|download_url| SimpleHosting { download_url }),
        },
    }
}

/// Fills in what building (or finding) each artifact told us. A plan builds the manifest
/// while its keys are computed and applies the states after.
pub fn apply_states(manifest: &mut DistManifest, states: BTreeMap<String, ArtifactState>) {
    for (name, state) in states {
        let Some(m) = manifest.artifacts.get_mut(&name) else {
            continue;
        };
        let ArtifactState {
            path,
            recipe,
            sha256,
        } = state;
        m.path = path;
        m.recipe = recipe;
        if let Some(sha) = sha256 {
            m.checksums.insert("sha256".into(), sha);
        }
    }
}

/// One artifact: its kind's fields.
fn artifact(plan: &Plan, a: &crate::plan::Artifact) -> ManifestArtifact {
    let mut m = ManifestArtifact {
        name: a.name.clone(),
        kind: a.kind.manifest_kind().into(),
        target_triples: a.target_triples.clone(),
        path: None,
        assets: Vec::new(),
        install_hint: None,
        description: None,
        checksum: None,
        checksums: BTreeMap::new(),
        recipe: None,
    };
    match &a.kind {
        ArtifactKind::Archive {
            contents, checksum, ..
        } => {
            m.checksum = checksum.clone();
            m.assets = contents.iter().map(asset).collect();
        }
        ArtifactKind::Installer {
            installer,
            download_url,
            archives,
            files,
        } => {
            let (hint, desc) = install_hint(*installer, a, download_url, plan);
            m.install_hint = Some(hint);
            m.description = Some(desc);
            m.assets = package_assets(plan, archives, files);
        }
        // As cargo-dist describes an MSI: its binaries, installed.
        ArtifactKind::NativeInstaller { installer, target } if installer.makes_package() => {
            m.description = Some(installer.package_description());
            let release = plan
                .releases
                .iter()
                .find(|r| Some(&r.app) == a.app.as_ref());
            let binaries = release.and_then(|r| r.target_binaries.get(target));
            m.assets = binaries
                .into_iter()
                .flatten()
                .map(|b| Asset {
                    name: Some(b.clone()),
                    path: Some(installer.installed_path(b, target)),
                    kind: "executable".into(),
                })
                .collect();
        }
        ArtifactKind::Checksum { .. }
        | ArtifactKind::UnifiedChecksum { .. }
        | ArtifactKind::SourceTarball { .. }
        | ArtifactKind::Updater { .. }
        | ArtifactKind::ExtraArtifact { .. }
        | ArtifactKind::Sbom
        | ArtifactKind::Omnibor { .. }
        | ArtifactKind::NativeInstaller { .. } => {}
    }
    m
}

/// What an npm package holds, as cargo-dist lists it: the files it writes, then the App's files
/// its archives hold (README, licences, changelog, `include`s). Nothing for other installers.
fn package_assets(plan: &Plan, archives: &[String], files: &[String]) -> Vec<Asset> {
    if files.is_empty() {
        return Vec::new();
    }
    let written = files.iter().map(|path| Asset {
        name: Some(path.rsplit('/').next().unwrap_or(path).to_string()),
        path: Some(path.clone()),
        kind: "unknown".into(),
    });
    let first = archives.first().and_then(|n| plan.artifacts.get(n));
    let app_files = match first.map(|a| &a.kind) {
        Some(ArtifactKind::Archive { contents, .. }) => contents
            .iter()
            .filter(|i| matches!(i.source, ItemSource::File { .. }))
            .map(asset)
            .collect(),
        _ => Vec::new(),
    };
    written.chain(app_files).collect()
}

/// An archive member as cargo-dist's schema names it.
fn asset(item: &crate::plan::ArchiveItem) -> Asset {
    let kind = match &item.source {
        ItemSource::Binary { .. } => "executable",
        ItemSource::Library {
            kind: LibraryKind::Cdylib,
            ..
        } => "c_dynamic_library",
        ItemSource::Library {
            kind: LibraryKind::CStaticlib,
            ..
        } => "c_static_library",
        ItemSource::Sbom { .. } => "unknown",
        ItemSource::File { kind, .. } => match kind {
            Some(IncludeKind::Readme) => "readme",
            Some(IncludeKind::License) => "license",
            Some(IncludeKind::Changelog) => "changelog",
            None => "unknown",
        },
    };
    let name = match &item.source {
        ItemSource::Binary { name } => name.trim_end_matches(".exe").to_string(),
        ItemSource::Library { name, .. } => name.clone(),
        ItemSource::Sbom { artifact } => artifact.clone(),
        ItemSource::File { .. } => item.path.clone(),
    };
    Asset {
        name: Some(name),
        path: Some(item.path.clone()),
        kind: kind.into(),
    }
}

pub(crate) fn install_hint(
    installer: crate::config::InstallerKind,
    a: &crate::plan::Artifact,
    base: &str,
    plan: &Plan,
) -> (String, String) {
    let app = a.app.as_deref().unwrap_or_default();
    let release = plan.releases.iter().find(|r| r.app == app);
    let version = release.map(|r| r.version.as_str()).unwrap_or_default();
    let (hint, desc) = installer.install_hint(base, &a.name, app, version);
    // A formula published to a tap installs by its tap's name, as cargo-dist writes it:
    // `owner/homebrew-tap` is `owner/tap`.
    let tap = release.and_then(|r| r.tap.as_deref());
    match (installer, tap.and_then(|t| t.split_once('/'))) {
        // Installed from the registry the npm publish job publishes to, as cargo-dist writes it.
        (crate::config::InstallerKind::Npm | crate::config::InstallerKind::NpmPackages, _) => {
            match release {
                Some(r) => (
                    format!("npm install {}@{version}", r.npm_package),
                    "Install prebuilt binaries into your npm project".into(),
                ),
                None => (hint, desc),
            }
        }
        (crate::config::InstallerKind::Homebrew, Some((owner, repo))) => {
            let repo = repo.strip_prefix("homebrew-").unwrap_or(repo);
            let formula = a.name.strip_suffix(".rb").unwrap_or(&a.name);
            (format!("brew install {owner}/{repo}/{formula}"), desc)
        }
        _ => (hint, desc),
    }
}
