//! The GitHub Actions release workflow, rendered from `templates/release.yml.j2` with a typed
//! context, as the installers are: the config decides the context (`src/ci.rs` in the tool),
//! the template decides the text, so the same context always gives the same bytes.
//!
//! The workflow's shape:
//!
//! ```text
//! plan ──> build-local-artifacts (one job per target, store cached) ──> build-global-artifacts
//!                                      │ store bundles ─────────────────────┘
//!                                      └──────────────> host (draft release) ──> announce
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::template;

/// The template, embedded: its digest is part of the workflow recipe's key.
pub const TEMPLATE: &str = include_str!("../templates/release.yml.j2");

/// BLAKE3 of [`TEMPLATE`].
pub fn template_digest() -> String {
    blake3::hash(TEMPLATE.as_bytes()).to_hex().to_string()
}

/// The jq program of the host job that makes the published dist-manifest.json: the plan's
/// manifest (first input) with every build job's artifacts (the other inputs) merged in, local
/// paths dropped.
pub const PUBLISH_MANIFEST_JQ: &str =
    ".[0] as $plan | reduce .[1:][] as $m ($plan; .artifacts += ($m.artifacts | map_values(del(.path))))";

/// The GitHub Actions (and actions of other owners) the workflow uses, with the version tag it
/// uses unless `github-action-commits` pins a commit: (name in the template, action, tag).
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("attest", "actions/attest-build-provenance", "v3"),
    ("cache", "actions/cache", "v5"),
    ("checkout", "actions/checkout", "v5"),
    ("download", "actions/download-artifact", "v7"),
    ("github_script", "actions/github-script", "v8"),
    ("upload", "actions/upload-artifact", "v6"),
];

/// Everything the workflow says, decided from the config.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GithubWorkflow {
    /// `pr-run-mode`: `plan` (pull requests run the plan job), `skip` (they run nothing) or
    /// `upload` (they build too).
    pub pr_run_mode: String,
    /// The version of this tool the jobs install (`cargo-dist-version`).
    pub tool_version: String,
    /// `dispatch-releases`: a manual run names the tag instead of a tag push starting it.
    pub dispatch: bool,
    /// `release-branch` (unless `dispatch`): pushes to this branch release a timestamped
    /// prerelease (`--tag=timestamp --force-tag`).
    pub release_branch: Option<String>,
    /// `tag-namespace`: only tags starting with it release; empty for every version tag.
    pub tag_namespace: String,
    /// Where the jobs install this tool from.
    pub install_url: String,
    /// Runner of the plan, global, host, publish and announce jobs (`github-custom-runners.global`).
    pub global_runner: String,
    /// Debian packages the global job installs: the MSI tools when an App ships an MSI (the
    /// global job builds MSIs from the Windows builds in the store).
    pub global_apt: Vec<String>,
    /// `windows-sign`/`ssldotcom-windows-sign`: the Windows build jobs and the global job get
    /// the Windows signing secrets, and osslsigncode.
    pub windows_sign: bool,
    /// `ssldotcom-windows-sign`: those jobs also get cargo-dist's `SSLDOTCOM_*` secrets (SSL.com
    /// eSigner's account, credential and TOTP secret).
    pub ssldotcom_sign: bool,
    /// `macos-sign`: the macOS build jobs get cargo-dist's `CODESIGN_*` secrets.
    pub macos_sign: bool,
    /// Per target: what `github-custom-runners` and `dependencies` say of its build job. The plan
    /// job's matrix program reads it, so only targets with something to say are listed.
    pub targets: BTreeMap<String, TargetJob>,
    /// `fail-fast` of the build matrix.
    pub fail_fast: bool,
    /// `merge-tasks`: one build job per runner (and container), building all its targets.
    pub merge_tasks: bool,
    /// `cache-builds`: each build job also caches its target's build sandbox (cargo's state).
    pub cache_builds: bool,
    /// `remote-store`: the build jobs share artifacts through it instead of cached stores and
    /// store bundles.
    pub remote: Option<RemoteStore>,
    /// `github-attestations`: which job attests, and which files.
    pub attest: Option<Attest>,
    /// `github-build-setup`: steps spliced into each build job, indented as its steps.
    pub build_setup: Option<String>,
    /// `rust-toolchain-version`: every job that runs this tool first makes it rustup's default.
    pub rust_toolchain: Option<String>,
    /// Who makes the GitHub Release.
    pub release_at: ReleaseAt,
    /// `force-latest`: the release is marked latest even when its version is not the highest.
    pub force_latest: bool,
    /// `github-releases-repo`: `owner/repo` holding the release instead of this repository.
    pub releases_repo: Option<String>,
    /// The built-in `build-local-artifacts` jobs run (`build-local-artifacts`, true unless set
    /// false: then the user's `local-artifacts-jobs` build, and the global job downloads their
    /// `artifacts-*` into `target/distrib/`).
    pub build_local: bool,
    /// The jobs the global job (and `global-artifacts-jobs`) waits for.
    pub global_needs: Vec<String>,
    /// Custom jobs the host job waits for (`plan-jobs`, `local-artifacts-jobs`,
    /// `global-artifacts-jobs`).
    pub before_host: Vec<Job>,
    /// Custom jobs after the host job that announce waits for (`host-jobs`).
    pub after_host: Vec<Job>,
    /// `publish-jobs`, after the host job; announce waits for them.
    pub publish: Vec<Job>,
    /// `post-announce-jobs`.
    pub post_announce: Vec<Job>,
    /// Template name -> `owner/action@ref` ([`ACTIONS`], pinned by `github-action-commits`).
    pub actions: BTreeMap<String, String>,
}

/// The remote store the build jobs use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RemoteStore {
    /// `CARGO_DIST_REMOTE`: the URL, or `gha`.
    pub url: String,
    /// Which credentials the jobs pass from secrets: `gha` (the runner's own token, exported
    /// to the steps), `s3` (AWS keys), `password` (CARGO_DIST_REMOTE_PASSWORD), or `none`
    /// (`file://`).
    pub backend: String,
}

/// What the config says of one target's build job.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TargetJob {
    /// Runner label; unset for GitHub's runner of the target's OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// Container image the job runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Commands that install the target's system packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<String>,
}

/// `github-attestations`: the job that attests and the file globs it attests.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attest {
    pub phase: AttestPhase,
    pub filters: Vec<String>,
}

/// `github-attestations-phase`: which job attests the files.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AttestPhase {
    /// Each build job, its target's files.
    #[default]
    BuildLocalArtifacts,
    /// The host job, everything uploaded (before the release is published).
    Host,
    /// The announce job, everything released (once published; cargo-dist 0.30.2's phase).
    Announce,
}

impl crate::vocab::Vocabulary for AttestPhase {
    const ALL: &'static [AttestPhase] = &[
        AttestPhase::BuildLocalArtifacts,
        AttestPhase::Host,
        AttestPhase::Announce,
    ];

    /// The names are serde's too: the template compares them.
    fn spellings(self) -> &'static [&'static str] {
        match self {
            AttestPhase::BuildLocalArtifacts => &["build-local-artifacts"],
            AttestPhase::Host => &["host"],
            AttestPhase::Announce => &["announce"],
        }
    }
}

/// Who makes the GitHub Release (`create-release`, `github-release`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseAt {
    /// The host job creates a draft; announce publishes it.
    Host,
    /// The announce job creates it, published.
    Announce,
    /// Another tool created it: the host job uploads to it.
    Existing,
}

/// A job of the user's or a publish job.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Job {
    /// Job id in the workflow.
    pub name: String,
    pub needs: Vec<String>,
    /// Whether it runs for a prerelease too (publish jobs: `publish-prereleases`).
    pub prereleases: bool,
    #[serde(flatten)]
    pub kind: JobKind,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobKind {
    /// Pushes the formulas to the `tap` repository (secret HOMEBREW_TAP_TOKEN).
    Homebrew { tap: String },
    /// Commits the Scoop manifests to `bucket` (secret SCOOP_BUCKET_TOKEN).
    Scoop { bucket: String },
    /// Pushes the winget manifests to a branch of `fork` (owned by `owner`) and opens a pull
    /// request to microsoft/winget-pkgs (secret WINGET_TOKEN).
    Winget { fork: String, owner: String },
    /// Pushes each AUR package to its AUR repository (secret AUR_SSH_PRIVATE_KEY).
    Aur,
    /// Publishes the npm packages (secret NPM_TOKEN).
    Npm,
    /// Calls the repository's reusable workflow `.github/workflows/{file}.yml` with the plan.
    Reusable {
        file: String,
        /// `github-custom-job-permissions` of the job.
        permissions: BTreeMap<String, String>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("rendering the workflow template: {0:#}")]
pub struct WorkflowError(#[from] minijinja::Error);

impl GithubWorkflow {
    /// The workflow file's text.
    pub fn render(&self) -> Result<String, WorkflowError> {
        // Through a JSON value: its maps sort their keys, so field order never shows.
        let targets = serde_json::to_value(&self.targets)
            .expect("strings and maps serialise")
            .to_string();
        // What follows from the fields (and the tool's own jq program) is derived here, so the
        // context holds only what the config decided.
        let ctx = minijinja::context! {
            targets_json => targets,
            installs => self.targets.values().any(|t| t.install.is_some()),
            containers => self.targets.values().any(|t| t.container.is_some()),
            // Only custom jobs read the plan's manifest as a job output (GitHub caps outputs).
            reusable_jobs => [&self.before_host, &self.after_host, &self.publish, &self.post_announce]
                .iter()
                .flat_map(|jobs| jobs.iter())
                .any(|j| matches!(j.kind, JobKind::Reusable { .. })),
            publish_manifest_jq => PUBLISH_MANIFEST_JQ,
            ..minijinja::Value::from_serialize(self)
        };
        Ok(template::render(
            "release.yml",
            TEMPLATE,
            template::workflow_syntax(),
            ctx,
        )?)
    }
}

/// `ACTIONS` as `owner/action@ref`, each pinned to its commit where `commits` names it.
pub fn actions(commits: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    ACTIONS
        .iter()
        .map(|(name, action, tag)| {
            let at = commits.get(*action).map_or(*tag, String::as_str);
            (name.to_string(), format!("{action}@{at}"))
        })
        .collect()
}
