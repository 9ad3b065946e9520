//! CI generation: what the GitHub Actions release workflow says, decided from the global config
//! alone (a typed [`GithubWorkflow`] context that `recipes/templates/release.yml.j2` renders), so
//! the same config always gives the same bytes. Pure; `ops::generate` writes and checks the file.

use std::collections::BTreeMap;

use dist_recipes::installer::sh_quote;
use dist_recipes::recipe::{CiWorkflow, Recipe};
use dist_recipes::workflow::{self, GithubWorkflow, Job, JobKind, ReleaseAt, TargetJob};

use dist_recipes::target::Target;
use dist_recipes::vocab::Vocabulary;

use crate::config::vocab::{CiBackend, GithubRelease};
use crate::config::{Container, GlobalConfig};

/// Path of the workflow, relative to the workspace root.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/release.yml";

/// In the header of every workflow this tool writes: tells its own files from another tool's.
pub const GENERATED_MARK: &str = "written by `cargo dist generate`";

/// The workflow file: `release.yml`, or `{tag-namespace}-release.yml` as cargo-dist names it.
pub fn github_workflow_path(cfg: &GlobalConfig) -> String {
    match &cfg.tag_namespace {
        Some(ns) => format!(".github/workflows/{ns}-release.yml"),
        None => GITHUB_WORKFLOW.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error("{path} is out of date with the dist config\n  run `cargo dist generate` to rewrite it (or pass --allow-dirty / set `allow-dirty = [\"ci\"]` to run anyway)\n{diff}")]
    Stale {
        path: String,
        diff: String,
        /// The file on disk is another tool's (no [`GENERATED_MARK`]), e.g. cargo-dist's.
        foreign: bool,
    },
    #[error("{path} does not exist, but `ci = [\"github\"]` is configured\n  run `cargo dist generate` to write it (or pass --allow-dirty / set `allow-dirty = [\"ci\"]` to run anyway)")]
    Missing { path: String },
    #[error("`cargo dist generate` needs a CI backend: add `ci = [\"github\"]` to the dist config (`[dist]` of dist-workspace.toml, or [workspace.metadata.dist] in {manifest}), or run `cargo dist init --ci github`")]
    NotConfigured { manifest: String },
    #[error("`publish-jobs` includes \"{job}\", but no `{key}` is set to push to\n  add `{key} = \"{example}\"` to the dist config")]
    NoPublishRepo {
        job: &'static str,
        key: &'static str,
        example: &'static str,
    },
    #[error("`github-build-setup` file {path} {why}")]
    BuildSetup { path: String, why: String },
    #[error(transparent)]
    Template(#[from] workflow::WorkflowError),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The version of this tool the workflow installs: the configured `cargo-dist-version`, else the
/// running one.
pub fn tool_version(cfg: &GlobalConfig) -> String {
    cfg.cargo_dist_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string())
}

/// Where this tool releases itself: its own `repository` (Cargo.toml), the one place that says
/// so. A fork that releases its own builds changes it there; its users can instead set
/// `cargo-dist-url-override`.
pub const TOOL_REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The base URL the workflow installs this tool from: `cargo-dist-url-override`, else the
/// GitHub release `v{cargo-dist-version}` of [`TOOL_REPOSITORY`].
pub fn install_url(cfg: &GlobalConfig) -> String {
    match &cfg.tool_url_override {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "{}/releases/download/v{}",
            TOOL_REPOSITORY.trim_end_matches('/'),
            tool_version(cfg)
        ),
    }
}

/// What the workflow needs of the config beyond its types.
pub fn check_config(cfg: &GlobalConfig) -> Result<(), CiError> {
    // Each publish job that pushes somewhere, and the key naming where.
    let targets = [
        ("homebrew", "tap", &cfg.tap, "OWNER/homebrew-tap"),
        (
            "scoop",
            "scoop-bucket",
            &cfg.scoop_bucket,
            "OWNER/scoop-bucket",
        ),
        (
            "winget",
            "winget-fork",
            &cfg.winget_fork,
            "OWNER/winget-pkgs",
        ),
    ];
    for (job, key, value, example) in targets {
        if value.is_none() && cfg.publish_jobs.iter().any(|j| j == job) {
            return Err(CiError::NoPublishRepo { job, key, example });
        }
    }
    Ok(())
}

/// Whether `ci = ["github"]` is configured.
pub fn wants_github(cfg: &GlobalConfig) -> bool {
    cfg.ci.contains(&CiBackend::Github)
}

/// A unified diff from `old` (the file on disk, `None` when missing) to `new`, or `None` when they
/// are identical.
pub fn diff(path: &str, old: Option<&str>, new: &str) -> Option<String> {
    if old == Some(new) {
        return None;
    }
    let old_text = old.unwrap_or("");
    let old_name = if old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_string()
    };
    let d = similar::TextDiff::from_lines(old_text, new);
    Some(
        d.unified_diff()
            .context_radius(3)
            .header(&old_name, &format!("b/{path}"))
            .to_string(),
    )
}

/// The workflow's recipe: what its bytes depend on (the template and the context decided from
/// the config), so it is stored and keyed like any artifact; `text` is what producing it writes.
pub fn workflow_recipe(ctx: &GithubWorkflow, text: &str) -> Recipe {
    Recipe::CiWorkflow(CiWorkflow {
        backend: "github".into(),
        pr_run_mode: ctx.pr_run_mode.clone(),
        tool_version: ctx.tool_version.clone(),
        template: workflow::template_digest(),
        context: serde_json::to_string(ctx).expect("the context serialises"),
        text: text.to_string(),
    })
}

/// What the release workflow of the workspace at `root` says: [`workflow_context`] with the
/// steps of its `github-build-setup` file, read from there.
pub fn workflow_for(root: &std::path::Path, cfg: &GlobalConfig) -> Result<GithubWorkflow, CiError> {
    let setup = match &cfg.build_setup {
        Some(rel) => Some(read_build_setup(root, rel)?),
        None => None,
    };
    Ok(workflow_context(cfg, setup.as_deref()))
}

/// The workflow file's text.
pub fn render(ctx: &GithubWorkflow) -> Result<String, CiError> {
    Ok(ctx.render()?)
}

/// The `github-build-setup` steps, indented as steps of a build job. The file holds a YAML list
/// (`- name: ...` items at its left margin).
fn read_build_setup(root: &std::path::Path, rel: &str) -> Result<String, CiError> {
    // Resolved by name (`../x.yml` from .github/workflows is .github/x.yml), inside the root.
    let mut parts: Vec<&str> = vec![".github", "workflows"];
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(CiError::BuildSetup {
                        path: rel.to_string(),
                        why: "is outside the repository".into(),
                    });
                }
            }
            p => parts.push(p),
        }
    }
    let shown = parts.join("/");
    let text = read_existing(&root.join(&shown), &shown)?.ok_or_else(|| CiError::BuildSetup {
        path: shown.clone(),
        why: "does not exist".into(),
    })?;
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    if !first.is_some_and(|l| l.starts_with("- ")) {
        return Err(CiError::BuildSetup {
            path: shown,
            why: "must be a YAML list of steps (`- name: ...` at the left margin)".into(),
        });
    }
    Ok(text
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("      {l}\n")
            }
        })
        .collect())
}

/// The Debian packages the global job installs: the MSI tools when an App ships an MSI,
/// osslsigncode when Windows files are signed (the MSIs and the PowerShell installer are).
fn global_apt(cfg: &GlobalConfig) -> Vec<String> {
    let mut apt: Vec<&str> = Vec::new();
    if cfg.any_msi {
        apt.extend(["faketime", "msitools", "wixl"]);
    }
    if cfg.windows_sign {
        apt.push("osslsigncode");
    }
    apt.into_iter().map(String::from).collect()
}

/// What the workflow says, decided from the config: the template turns it into text.
pub fn workflow_context(cfg: &GlobalConfig, setup: Option<&str>) -> GithubWorkflow {
    let global = cfg
        .runners
        .get("global")
        .and_then(|r| r.runner.as_deref())
        .unwrap_or("ubuntu-22.04");
    let targets = target_jobs(cfg);
    let custom = custom_jobs(cfg);
    GithubWorkflow {
        pr_run_mode: cfg.pr_run_mode.name().into(),
        tool_version: tool_version(cfg),
        dispatch: cfg.dispatch_releases,
        // As in cargo-dist, a manual dispatch wins over a release branch.
        release_branch: cfg
            .release_branch
            .clone()
            .filter(|_| !cfg.dispatch_releases),
        tag_namespace: cfg.tag_namespace.clone().unwrap_or_default(),
        install_url: install_url(cfg),
        global_runner: global.to_string(),
        global_apt: global_apt(cfg),
        windows_sign: cfg.windows_sign,
        ssldotcom_sign: cfg.ssldotcom_windows_sign.is_some(),
        macos_sign: cfg.macos_sign,
        targets,
        fail_fast: cfg.fail_fast,
        merge_tasks: cfg.merge_tasks,
        cache_builds: cfg.cache_builds,
        rust_toolchain: cfg.rust_toolchain_version.clone(),
        remote: cfg.remote_store.as_ref().map(|url| workflow::RemoteStore {
            url: url.clone(),
            backend: match url.split_once("://").map_or(url.as_str(), |(s, _)| s) {
                "gha" => "gha",
                "s3" => "s3",
                "file" => "none",
                _ => "password",
            }
            .into(),
        }),
        attest: cfg
            .attestations
            .as_ref()
            .map(|(phase, filters)| workflow::Attest {
                phase: *phase,
                filters: filters.clone(),
            }),
        build_setup: setup.map(str::to_string),
        release_at: release_at(cfg),
        force_latest: cfg.force_latest,
        releases_repo: cfg.github_releases_repo.clone(),
        build_local: !cfg.user_local_builds,
        global_needs: custom.global_needs,
        before_host: custom.before_host,
        after_host: custom.after_host,
        publish: publish_jobs(cfg),
        post_announce: custom.post_announce,
        actions: workflow::actions(&cfg.action_commits),
    }
}

/// GitHub's runner for building `triple` natively, as cargo-dist 0.34 picks it: Ubuntu 22.04
/// (the oldest glibc GitHub offers) on x86_64 and its ARM image on aarch64, macOS 15 on Apple
/// silicon and its Intel image for x86_64, Windows Server 2022 (its ARM image for aarch64).
pub fn default_runner(triple: &str) -> &'static str {
    let t = Target(triple);
    let arm = t.arch() == "aarch64";
    if t.is_darwin() {
        if arm {
            "macos-15"
        } else {
            "macos-15-intel"
        }
    } else if t.is_windows() {
        if arm {
            "windows-11-arm"
        } else {
            "windows-2022"
        }
    } else if arm && t.is_linux() {
        "ubuntu-22.04-arm"
    } else {
        "ubuntu-22.04"
    }
}

/// Where one target's build job runs, from `github-custom-runners`.
struct BuildHost<'a> {
    /// The runner label.
    runner: String,
    /// The triple the build runs on: the container's `host`, else the runner's `host`, else
    /// the default runner's own (the target's, with glibc for a musl target: Ubuntu).
    triple: String,
    container: Option<&'a Container>,
}

fn build_host<'a>(cfg: &'a GlobalConfig, target: &str) -> BuildHost<'a> {
    let r = cfg.runners.get(target);
    let container = r.and_then(|r| r.container.as_ref());
    let runner_host = r.and_then(|r| r.host.as_deref());
    let triple = container
        .and_then(|c| c.host.as_deref())
        .or(runner_host)
        .map_or_else(
            || target.replace("-linux-musl", "-linux-gnu"),
            str::to_string,
        );
    // A container runs on a Linux runner of its own architecture.
    let runner = match r.and_then(|r| r.runner.clone()) {
        Some(label) => label,
        None => default_runner(runner_host.unwrap_or(&triple)).to_string(),
    };
    BuildHost {
        runner,
        triple,
        container,
    }
}

/// Where `target`'s build job runs, as the manifest's `ci` states it: (runner label, the
/// runner's own triple). As in cargo-dist, that is the runner's `host` when configured, else
/// what the label names (a container's host is not the runner's).
pub fn runner_of(cfg: &GlobalConfig, target: &str) -> (String, String) {
    let host = build_host(cfg, target);
    let configured = cfg.runners.get(target).and_then(|r| r.host.clone());
    let triple = configured
        .or_else(|| label_triple(&host.runner))
        .unwrap_or(host.triple);
    (host.runner, triple)
}

/// The container image `target`'s build job runs in, if any (`github-custom-runners`).
pub fn container_of(cfg: &GlobalConfig, target: &str) -> Option<String> {
    build_host(cfg, target).container.map(|c| c.image.clone())
}

/// The triple of a GitHub-hosted runner label (`ubuntu-*`, `macos-*`, `windows-*`, with `arm`
/// or `intel` where the label says so); `None` for labels that do not say.
fn label_triple(label: &str) -> Option<String> {
    let arm = label.contains("arm");
    let triple = if label.contains("windows") {
        if arm {
            "aarch64-pc-windows-msvc"
        } else {
            "x86_64-pc-windows-msvc"
        }
    } else if label.contains("macos") {
        // Intel Macs: `macos-13` and older, and the `-intel` labels.
        let old = ["macos-11", "macos-12", "macos-13"]
            .iter()
            .any(|v| label.starts_with(v));
        if old || label.contains("intel") {
            "x86_64-apple-darwin"
        } else {
            "aarch64-apple-darwin"
        }
    } else if label.contains("ubuntu") {
        if arm {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        }
    } else {
        return None;
    };
    Some(triple.to_string())
}

/// Each configured target's build job: its runner and container (`github-custom-runners`) and
/// the commands that install its system packages there (`dependencies`).
fn target_jobs(cfg: &GlobalConfig) -> BTreeMap<String, TargetJob> {
    let mut targets: std::collections::BTreeSet<&String> = cfg.targets.iter().collect();
    targets.extend(cfg.runners.keys().filter(|t| *t != "global"));
    targets
        .into_iter()
        .map(|t| {
            let host = build_host(cfg, t);
            let install = install_command(cfg, t, &host);
            let job = TargetJob {
                runner: Some(host.runner),
                container: host.container.map(|c| c.image.clone()),
                install: (!install.is_empty()).then_some(install),
            };
            (t.clone(), job)
        })
        .collect()
}

/// Targets whose configured runner or container is another architecture or OS than the target:
/// (target, build host). This tool builds with the host's own linker, so such a job needs one
/// for the target (cargo-dist installs cargo-zigbuild / cargo-xwin there; this tool does not).
pub fn cross_builds(cfg: &GlobalConfig) -> Vec<(String, String)> {
    let os = |t: Target| (t.is_linux(), t.is_darwin(), t.is_windows());
    cfg.runners
        .keys()
        .filter(|t| *t != "global")
        .filter_map(|t| {
            let host = build_host(cfg, t).triple;
            let (a, b) = (Target(t), Target(&host));
            (a.arch() != b.arch() || os(a) != os(b)).then(|| (t.clone(), host.clone()))
        })
        .collect()
}

/// In a container (root, no sudo): the distribution's package manager, `names(sep)` the
/// packages with versions joined by `sep`; unnamed, whichever the image has.
fn container_install(manager: Option<&str>, names: &dyn Fn(&str) -> String) -> String {
    let apt = format!("apt-get update && apt-get install -y {}", names("="));
    let dnf = format!("dnf install --assumeyes {}", names("-"));
    let yum = format!("yum install -y {}", names("-"));
    let apk = format!("apk add {}", names("="));
    match manager {
        Some("apt") => apt,
        Some("dnf") => dnf,
        Some("yum") => yum,
        Some("apk") => apk,
        _ => format!(
            "if command -v apt-get >/dev/null; then {apt}; elif command -v dnf >/dev/null; then {dnf}; elif command -v yum >/dev/null; then {yum}; elif command -v apk >/dev/null; then {apk}; else echo 'no apt-get, dnf, yum or apk in the container' >&2; exit 1; fi"
        ),
    }
}

/// The commands that install `dependencies` where `target` builds: apt packages on Linux (with
/// the container's package manager in a container), Homebrew on macOS, Chocolatey on Windows,
/// each package where its `targets` (if any) name `target`.
fn install_command(cfg: &GlobalConfig, target: &str, host: &BuildHost) -> String {
    let t = Target(&host.triple);
    let manager = if t.is_linux() || host.container.is_some() {
        "apt"
    } else if t.is_darwin() {
        "homebrew"
    } else if t.is_windows() {
        "chocolatey"
    } else {
        return String::new();
    };
    let mut pkgs: Vec<&crate::config::SystemDep> = cfg
        .system_deps
        .iter()
        .filter(|d| d.manager == manager)
        .filter(|d| {
            d.targets
                .as_ref()
                .is_none_or(|ts| ts.iter().any(|x| x == target))
        })
        .collect();
    // As cargo-dist: a musl target built on a glibc runner links C code with musl-gcc.
    let musl_tools = crate::config::SystemDep {
        manager: "apt".into(),
        package: "musl-tools".into(),
        version: None,
        targets: None,
    };
    if Target(target).is_musl()
        && t.is_linux()
        && !t.is_musl()
        && host.container.is_none()
        && !pkgs.iter().any(|d| d.package == "musl-tools")
    {
        pkgs.push(&musl_tools);
    }
    if pkgs.is_empty() {
        return String::new();
    }
    let word = |s: &str| {
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+:@=-".contains(c))
        {
            s.to_string()
        } else {
            sh_quote(s)
        }
    };
    // `sep` joins name and version the way the package manager spells a pin.
    let names = |sep: &str| -> String {
        pkgs.iter()
            .map(|d| match &d.version {
                Some(v) => word(&format!("{}{sep}{v}", d.package)),
                None => word(&d.package),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match (manager, host.container) {
        ("apt", None) => format!(
            "sudo apt-get update && sudo apt-get install -y {}",
            names("=")
        ),
        ("apt", Some(c)) => container_install(c.package_manager.as_deref(), &names),
        // Homebrew installs the current formula; a version pin is not something it offers.
        ("homebrew", _) => {
            let names: Vec<String> = pkgs.iter().map(|d| word(&d.package)).collect();
            format!("brew install {}", names.join(" "))
        }
        _ => pkgs
            .iter()
            .map(|d| match &d.version {
                Some(v) => format!(
                    "choco install {} --version {} -y",
                    word(&d.package),
                    word(v)
                ),
                None => format!("choco install {} -y", word(&d.package)),
            })
            .collect::<Vec<_>>()
            .join(" && "),
    }
}

/// Who makes the GitHub Release (`create-release`, `github-release`).
fn release_at(cfg: &GlobalConfig) -> ReleaseAt {
    match (cfg.create_release, cfg.github_release) {
        (false, _) => ReleaseAt::Existing,
        (true, GithubRelease::Announce) => ReleaseAt::Announce,
        (true, GithubRelease::Host) => ReleaseAt::Host,
    }
}

/// `homebrew` pushes the formulas to `tap`, `npm` publishes the npm packages, `scoop` commits the
/// Scoop manifests to `scoop-bucket`, `winget` opens a pull request to winget-pkgs from
/// `winget-fork`, `aur` pushes the AUR packages, `./NAME` calls the repository's reusable
/// workflow NAME.yml with the plan; all after `host`, for prereleases only
/// with `publish-prereleases`.
fn publish_jobs(cfg: &GlobalConfig) -> Vec<Job> {
    let needs = ["plan", "host"];
    cfg.publish_jobs
        .iter()
        .map(|entry| {
            let (name, kind) = match entry.as_str() {
                "homebrew" => (
                    "publish-homebrew-formula".to_string(),
                    JobKind::Homebrew {
                        tap: cfg.tap.clone().unwrap_or_default(),
                    },
                ),
                "npm" => ("publish-npm".to_string(), JobKind::Npm),
                "scoop" => (
                    "publish-scoop".to_string(),
                    JobKind::Scoop {
                        bucket: cfg.scoop_bucket.clone().unwrap_or_default(),
                    },
                ),
                "winget" => {
                    let fork = cfg.winget_fork.clone().unwrap_or_default();
                    let owner = fork.split('/').next().unwrap_or_default().to_string();
                    (
                        "publish-winget".to_string(),
                        JobKind::Winget { fork, owner },
                    )
                }
                "aur" => ("publish-aur".to_string(), JobKind::Aur),
                custom => return custom_job(cfg, custom, &needs, cfg.publish_prereleases),
            };
            Job {
                name,
                needs: needs.map(String::from).to_vec(),
                prereleases: cfg.publish_prereleases,
                kind,
            }
        })
        .collect()
}

/// The job that calls the user's workflow `./NAME`.
fn job_name(entry: &str) -> String {
    format!("custom-{}", entry.trim_start_matches("./"))
}

/// A call of the repository's reusable workflow `./NAME` (`.github/workflows/NAME.yml`) with the
/// plan's manifest as its `plan` input.
fn custom_job(cfg: &GlobalConfig, entry: &str, needs: &[&str], prereleases: bool) -> Job {
    let file = entry.trim_start_matches("./");
    Job {
        name: job_name(entry),
        needs: needs.iter().map(|n| n.to_string()).collect(),
        prereleases,
        kind: JobKind::Reusable {
            file: file.to_string(),
            // `github-custom-job-permissions`, by the job's NAME.
            permissions: cfg.job_permissions.get(file).cloned().unwrap_or_default(),
        },
    }
}

/// The custom jobs of `plan-jobs`, `local-artifacts-jobs`, `global-artifacts-jobs` (the host job
/// waits for them), `host-jobs` (announce waits) and `post-announce-jobs`; and what the global
/// job waits for: the plan, the built-in build jobs unless `build-local-artifacts = false`, and
/// the `local-artifacts-jobs`, as in cargo-dist.
#[derive(Default)]
struct CustomJobs {
    before_host: Vec<Job>,
    after_host: Vec<Job>,
    post_announce: Vec<Job>,
    global_needs: Vec<String>,
}

fn custom_jobs(cfg: &GlobalConfig) -> CustomJobs {
    let mut out = CustomJobs::default();
    let local_jobs = cfg.custom_jobs.get("local-artifacts").into_iter().flatten();
    let built_in: &[&str] = match cfg.user_local_builds {
        true => &["plan"],
        false => &["plan", "build-local-artifacts"],
    };
    let mut global_needs: Vec<String> = built_in
        .iter()
        .map(|j| j.to_string())
        .chain(
            local_jobs
                .filter(|j| j.starts_with("./"))
                .map(|j| job_name(j)),
        )
        .collect();
    // An old and a new key naming the same workflow: one job.
    let mut seen = std::collections::BTreeSet::new();
    global_needs.retain(|j| seen.insert(j.clone()));
    let global_refs: Vec<&str> = global_needs.iter().map(String::as_str).collect();
    // In the pipeline's order.
    let points = [
        "plan",
        "local-artifacts",
        "global-artifacts",
        "host",
        "post-announce",
    ];
    for point in points {
        let Some(jobs) = cfg.custom_jobs.get(point) else {
            continue;
        };
        let (needs, into): (&[&str], &mut Vec<Job>) = match point {
            "plan" => (&["plan"], &mut out.before_host),
            "local-artifacts" => (&["plan"], &mut out.before_host),
            "global-artifacts" => (&global_refs, &mut out.before_host),
            "host" => (&["plan", "host"], &mut out.after_host),
            _ => (&["plan", "announce"], &mut out.post_announce),
        };
        // Only `./NAME` entries are jobs of the user's; the built-in names are publish jobs.
        for entry in jobs.iter().filter(|j| j.starts_with("./")) {
            let job = custom_job(cfg, entry, needs, true);
            // An old and a new key naming the same workflow: one job.
            if !into.iter().any(|j| j.name == job.name) {
                into.push(job);
            }
        }
    }
    CustomJobs {
        global_needs,
        ..out
    }
}

/// The file at `path`, or `None` when there is none.
pub fn read_existing(path: &std::path::Path, shown: &str) -> Result<Option<String>, CiError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CiError::Io {
            action: "read",
            path: shown.to_string(),
            source,
        }),
    }
}

/// Compares the workflow on disk with what the config generates: `Err` (Missing / Stale, with a
/// unified diff) when they differ.
pub fn check_workflow(root: &std::path::Path, cfg: &GlobalConfig) -> Result<(), CiError> {
    check_config(cfg)?;
    let expected = render(&workflow_for(root, cfg)?)?;
    let shown = github_workflow_path(cfg);
    let path = root.join(&shown);
    let existing = read_existing(&path, &shown)?;
    match (
        existing.as_deref(),
        diff(&shown, existing.as_deref(), &expected),
    ) {
        (_, None) => Ok(()),
        (None, Some(_)) => Err(CiError::Missing { path: shown }),
        (Some(old), Some(diff)) => Err(CiError::Stale {
            path: shown,
            diff,
            foreign: !old.contains(GENERATED_MARK),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PrRunMode;

    fn github_workflow(cfg: &GlobalConfig) -> String {
        render(&workflow_context(cfg, None)).unwrap()
    }

    fn cfg(mode: PrRunMode, version: Option<&str>) -> GlobalConfig {
        GlobalConfig {
            cargo_dist_version: version.map(str::to_string),
            ci: vec![CiBackend::Github],
            allow_dirty: false,
            pr_run_mode: mode,
            source_tarball: true,
            ..Default::default()
        }
    }

    /// Every branch of the template renders YAML with no template syntax left in it: each
    /// release position, attestation phase, trigger and pr-run-mode, with and without jobs.
    #[test]
    fn every_template_branch_renders_yaml() {
        let modes = [PrRunMode::Plan, PrRunMode::Skip, PrRunMode::Upload];
        let positions = [(true, "auto"), (true, "announce"), (false, "auto")];
        let phases = [None, Some("build-local-artifacts"), Some("host")];
        let mut seen = std::collections::BTreeSet::new();
        for (mode, (create, at), phase, dispatch) in modes
            .iter()
            .flat_map(|m| positions.iter().map(move |p| (m, p)))
            .flat_map(|(m, p)| phases.iter().map(move |a| (m, p, a)))
            .flat_map(|(m, p, a)| [false, true].map(|d| (*m, *p, *a, d)))
        {
            let mut c = cfg(mode, Some("1.2.3"));
            c.create_release = create;
            c.github_release = GithubRelease::parse(at).unwrap();
            let phase_of = |p: &str| workflow::AttestPhase::parse(p).unwrap();
            c.attestations = phase.map(|p| (phase_of(p), vec!["*".to_string()]));
            c.dispatch_releases = dispatch;
            c.force_latest = dispatch;
            // Each remote-store backend's credentials, and none (store bundles).
            c.remote_store = match (phase, dispatch) {
                (Some("host"), _) => Some("gha".into()),
                (Some(_), _) => Some("s3://bucket/dist".into()),
                (None, true) => Some("webdav+https://ci@cache.example.com/dist".into()),
                (None, false) => None,
            };
            if dispatch {
                c.publish_jobs = vec!["homebrew".into(), "npm".into(), "./pub".into()];
                c.tap = Some("o/homebrew-tap".into());
                for point in ["plan", "host", "post-announce"] {
                    c.custom_jobs.insert(point, vec![format!("./{point}-job")]);
                }
                c.job_permissions
                    .insert("pub".into(), [("packages".into(), "write".into())].into());
                // And the other optional branches: another releases repository, cached
                // builds, a container with system packages.
                c.github_releases_repo = Some("o/releases".into());
                c.cache_builds = true;
                c.targets = vec!["x86_64-unknown-linux-musl".into()];
                c.runners.insert(
                    "x86_64-unknown-linux-musl".into(),
                    crate::config::Runner {
                        container: Some(crate::config::Container {
                            image: "debian:bookworm".into(),
                            host: None,
                            package_manager: None,
                        }),
                        ..Default::default()
                    },
                );
                c.system_deps = vec![crate::config::SystemDep {
                    manager: "apt".into(),
                    package: "cmake".into(),
                    version: None,
                    targets: None,
                }];
            }
            let text = github_workflow(&c);
            // (`>>` alone is the shell's append, e.g. `>> "$GITHUB_PATH"`.)
            for leftover in ["<<", "{%", "%}", "<#", "#>"] {
                let stray = text.lines().find(|l| l.contains(leftover));
                assert!(stray.is_none(), "template syntax left: {stray:?}");
            }
            let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
            let jobs = doc["jobs"].as_hash().expect("jobs");
            assert!(jobs.len() >= 5, "{text}");
            seen.insert(text);
        }
        // Every combination says something different.
        assert_eq!(seen.len(), 3 * 3 * 3 * 2);
    }

    #[test]
    fn deterministic_and_follows_the_config() {
        let a = github_workflow(&cfg(PrRunMode::Plan, Some("1.2.3")));
        assert_eq!(a, github_workflow(&cfg(PrRunMode::Plan, Some("1.2.3"))));
        // This tool installs itself from its own release of that version, never from crates.io
        // (where `cargo-dist` is upstream's).
        assert!(a.contains(&format!(
            "CARGO_DIST_URL: \"{TOOL_REPOSITORY}/releases/download/v1.2.3\""
        )));
        assert!(!a.contains("cargo install"));
        let mut overridden = cfg(PrRunMode::Plan, Some("1.2.3"));
        overridden.tool_url_override = Some("https://mirror.example/dist/".into());
        assert!(github_workflow(&overridden)
            .contains("CARGO_DIST_DOWNLOAD_URL: \"https://mirror.example/dist\""));
        assert!(
            a.contains(GENERATED_MARK),
            "the header tells our workflows from others"
        );
        assert!(a.contains("  pull_request:\n"));
        let skip = github_workflow(&cfg(PrRunMode::Skip, None));
        assert!(!skip.contains("pull_request"));
        assert!(skip.contains(&format!("/v{}\"", env!("CARGO_PKG_VERSION"))));
        let upload = github_workflow(&cfg(PrRunMode::Upload, Some("1.2.3")));
        assert!(upload.contains("if: ${{ needs.plan.outputs.has-builds == 'true' }}"));
        // Every `{{` is a GitHub expression `${{`: no template escape leaked into the text.
        for (i, _) in a.match_indices("{{") {
            assert!(i > 0 && &a[i - 1..i] == "$", "a bare `{{{{` at byte {i}");
        }
        // And every placeholder was filled.
        assert!(!a.contains("{tag_glob}") && !a.contains("{install}"));
    }

    /// With `remote-store`, the build jobs share artifacts through it: no cached store, no
    /// bundles; the signing key and backend credentials come from secrets; pull requests only
    /// read; `gha` exports the runner's cache token to the steps.
    #[test]
    fn a_remote_store_replaces_bundles_and_the_store_cache() {
        let bundles = github_workflow(&cfg(PrRunMode::Upload, Some("1.2.3")));
        assert!(
            bundles.contains("cargo dist store export")
                && bundles.contains("name: Cache the store")
        );
        assert!(!bundles.contains("CARGO_DIST_REMOTE"));
        let mut c = cfg(PrRunMode::Plan, Some("1.2.3"));
        c.remote_store = Some("gha".into());
        let gha = github_workflow(&c);
        for gone in [
            "cargo dist store export",
            "cargo dist store import",
            "name: Cache the store",
            "pattern: store-*",
        ] {
            assert!(!gha.contains(gone), "{gone} is still in:\n{gha}");
        }
        // Both build jobs, not the plan job.
        assert_eq!(
            gha.matches("CARGO_DIST_REMOTE: \"gha\"").count(),
            2,
            "{gha}"
        );
        assert_eq!(
            gha.matches(
                "CARGO_DIST_REMOTE_SIGNING_KEY: ${{ secrets.CARGO_DIST_REMOTE_SIGNING_KEY }}"
            )
            .count(),
            2
        );
        assert!(
            gha.contains("CARGO_DIST_REMOTE_READ_ONLY: ${{ github.event_name == 'pull_request' }}")
        );
        assert_eq!(
            gha.matches("uses: actions/github-script@v8").count(),
            2,
            "{gha}"
        );
        assert!(gha.contains("core.exportVariable(name, process.env[name] || '')"));
        // A release without the signing key fails at once, naming the secret.
        assert!(gha.contains("the secret CARGO_DIST_REMOTE_SIGNING_KEY is not"));
        // Pull requests that build (`upload`) only read the remote: their global job gets the
        // local jobs' stores as bundles, and only they do.
        let mut upload = c.clone();
        upload.pr_run_mode = PrRunMode::Upload;
        let upload = github_workflow(&upload);
        for step in [
            "- name: Export the store\n",
            "- name: Import the local builds' stores\n",
        ] {
            let at = upload
                .find(step)
                .unwrap_or_else(|| panic!("{step} missing:\n{upload}"));
            assert!(
                upload[at..]
                    .lines()
                    .nth(1)
                    .unwrap()
                    .contains("if: github.event_name == 'pull_request'"),
                "{step} runs outside pull requests"
            );
        }
        assert_eq!(
            upload
                .matches("if: github.event_name == 'pull_request'")
                .count(),
            4
        );
        c.remote_store = Some("s3://bucket/dist".into());
        let s3 = github_workflow(&c);
        assert!(s3.contains("AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}"));
        assert!(!s3.contains("github-script"));
        c.remote_store = Some("redis://cache.example.com:6379/0".into());
        assert!(github_workflow(&c)
            .contains("CARGO_DIST_REMOTE_PASSWORD: ${{ secrets.CARGO_DIST_REMOTE_PASSWORD }}"));
    }

    #[test]
    fn diff_names_the_file() {
        assert_eq!(diff("x.yml", Some("a\n"), "a\n"), None);
        let d = diff("x.yml", Some("a\nb\n"), "a\nc\n").unwrap();
        assert!(
            d.contains("--- a/x.yml") && d.contains("+++ b/x.yml"),
            "{d}"
        );
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
        let missing = diff("x.yml", None, "a\n").unwrap();
        assert!(missing.contains("--- /dev/null"), "{missing}");
    }
}
