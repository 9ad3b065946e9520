//! CI generation: the GitHub Actions release workflow, rendered from the global config alone, so
//! the same config always gives the same bytes. Pure; `ops::generate` writes and checks the file.
//!
//! The workflow's shape:
//!
//! ```text
//! plan ──> build-local-artifacts (one job per target, store cached) ──> build-global-artifacts
//!                                      │ store bundles ─────────────────────┘
//!                                      └──────────────> host (draft release) ──> announce
//! ```

use dist_recipes::installer::sh_quote;
use dist_recipes::recipe::{CiWorkflow, Recipe};

use crate::config::{GlobalConfig, PrRunMode};

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
    #[error("`publish-jobs` includes \"homebrew\", which pushes the formulas to a tap, but no `tap` is set\n  add `tap = \"OWNER/homebrew-tap\"` to the dist config")]
    NoTap,
    #[error("`github-build-setup` file {path} {why}")]
    BuildSetup { path: String, why: String },
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
    if cfg.publish_jobs.iter().any(|j| j == "homebrew") && cfg.tap.is_none() {
        return Err(CiError::NoTap);
    }
    Ok(())
}

/// Whether `ci = ["github"]` is configured.
pub fn wants_github(cfg: &GlobalConfig) -> bool {
    cfg.ci.iter().any(|c| c == "github")
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

/// The `if:` of the build jobs: pull requests build only with `pr-run-mode = "upload"`.
fn build_condition(mode: PrRunMode) -> &'static str {
    match mode {
        PrRunMode::Upload => "needs.plan.outputs.has-builds == 'true'",
        PrRunMode::Skip | PrRunMode::Plan => {
            "needs.plan.outputs.publishing == 'true' && needs.plan.outputs.has-builds == 'true'"
        }
    }
}

/// The workflow's recipe: what its bytes depend on, so it is stored and keyed like any artifact.
pub fn workflow_recipe(cfg: &GlobalConfig, text: &str) -> Recipe {
    Recipe::CiWorkflow(CiWorkflow {
        backend: "github".into(),
        pr_run_mode: cfg.pr_run_mode.name().into(),
        tool_version: tool_version(cfg),
        // Rendering is cheap and the template lives in code: keying by the text itself means a
        // changed template can never be served from an old store entry.
        text: text.to_string(),
    })
}

/// The jq program of the host job that makes the published dist-manifest.json: the plan's
/// manifest (first input) with every build job's artifacts (the other inputs) merged in, local
/// paths dropped. Public so the pipeline test runs exactly this.
pub const PUBLISH_MANIFEST_JQ: &str =
    ".[0] as $plan | reduce .[1:][] as $m ($plan; .artifacts += ($m.artifacts | map_values(del(.path))))";

/// The release workflow of the workspace at `root`: [`github_workflow_with`] the steps of its
/// `github-build-setup` file, read from there.
pub fn workflow_for(root: &std::path::Path, cfg: &GlobalConfig) -> Result<String, CiError> {
    let setup = match &cfg.build_setup {
        Some(rel) => Some(read_build_setup(root, rel)?),
        None => None,
    };
    Ok(github_workflow_with(cfg, setup.as_deref()))
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

/// The release workflow for GitHub Actions, without `github-build-setup` steps.
pub fn github_workflow(cfg: &GlobalConfig) -> String {
    github_workflow_with(cfg, None)
}

/// The release workflow with `setup` (already indented steps) in each build job.
pub fn github_workflow_with(cfg: &GlobalConfig, setup: Option<&str>) -> String {
    let global = cfg
        .runners
        .get("global")
        .map_or("ubuntu-latest", String::as_str);
    let runners = Runners {
        global: &yaml_plain(global),
        per_target: &per_target_json(cfg),
        install_step: !cfg.system_deps.is_empty(),
    };
    let publish = publish_jobs(cfg, runners.global);
    let text = render_github_workflow(cfg, &install_url(cfg), &runners, &publish, setup);
    pin_actions(text, &cfg.action_commits)
}

/// Where jobs run and what they install first.
struct Runners<'a> {
    /// The runner of the plan, global, host and announce jobs (`github-custom-runners.global`).
    global: &'a str,
    /// `{target: {runner, install}}` for the plan job's matrix, as JSON quoted for the shell.
    per_target: &'a str,
    /// Whether build jobs run an install step (`dependencies` is set).
    install_step: bool,
}

/// A runner label as a YAML plain scalar, quoted when it needs to be.
fn yaml_plain(label: &str) -> String {
    if label
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        label.to_string()
    } else {
        format!("'{}'", label.replace('\'', "''"))
    }
}

/// Each configured target's runner (`github-custom-runners`) and system-package install command
/// (`dependencies`), as a single-quoted shell word holding JSON.
fn per_target_json(cfg: &GlobalConfig) -> String {
    let mut map = serde_json::Map::new();
    let mut targets: std::collections::BTreeSet<&String> = cfg.targets.iter().collect();
    targets.extend(cfg.runners.keys().filter(|t| *t != "global"));
    for t in targets {
        let mut entry = serde_json::Map::new();
        if let Some(r) = cfg.runners.get(t) {
            entry.insert("runner".into(), r.clone().into());
        }
        let install = install_command(cfg, t);
        if !install.is_empty() {
            entry.insert("install".into(), install.into());
        }
        if !entry.is_empty() {
            map.insert(t.clone(), entry.into());
        }
    }
    sh_quote(&serde_json::Value::Object(map).to_string())
}

/// The commands that install `dependencies` on the runner of `target`: apt on Linux, Homebrew
/// on macOS, Chocolatey on Windows, each package where its `targets` (if any) name `target`.
fn install_command(cfg: &GlobalConfig, target: &str) -> String {
    let t = dist_recipes::target::Target(target);
    let manager = if t.is_linux() {
        "apt"
    } else if t.is_darwin() {
        "homebrew"
    } else if t.is_windows() {
        "chocolatey"
    } else {
        return String::new();
    };
    let pkgs: Vec<&crate::config::SystemDep> = cfg
        .system_deps
        .iter()
        .filter(|d| d.manager == manager)
        .filter(|d| {
            d.targets
                .as_ref()
                .is_none_or(|ts| ts.iter().any(|x| x == target))
        })
        .collect();
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
    match manager {
        "apt" => {
            let names: Vec<String> = pkgs
                .iter()
                .map(|d| match &d.version {
                    Some(v) => word(&format!("{}={v}", d.package)),
                    None => word(&d.package),
                })
                .collect();
            format!(
                "sudo apt-get update && sudo apt-get install -y {}",
                names.join(" ")
            )
        }
        // Homebrew installs the current formula; a version pin is not something it offers.
        "homebrew" => {
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

/// The workflow text from exactly the inputs its recipe records.
fn render_github_workflow(
    cfg: &GlobalConfig,
    install_url: &str,
    runners: &Runners,
    publish: &Jobs,
    setup: Option<&str>,
) -> String {
    let mode = cfg.pr_run_mode;
    let namespace = cfg.tag_namespace.as_deref();
    // With a tag-namespace only tags starting with it release (YAML single quotes doubled).
    let tag_glob = format!(
        "{}**[0-9]+.[0-9]+.[0-9]+*",
        namespace.unwrap_or_default().replace('\'', "''")
    );
    // `dispatch-releases`: a manual run names the tag (created at that commit when missing).
    let trigger = if cfg.dispatch_releases {
        "  workflow_dispatch:\n    inputs:\n      tag:\n        description: \"The tag to release, e.g. v1.2.3 (created at this commit when missing)\"\n        required: true\n        type: string\n".to_string()
    } else {
        format!("  push:\n    tags:\n      - '{tag_glob}'\n")
    };
    let pull_request = match mode {
        PrRunMode::Skip => "",
        PrRunMode::Plan | PrRunMode::Upload => "  pull_request:\n",
    };
    let build_if = build_condition(mode);
    let custom = custom_jobs(cfg);
    let release_at = ReleaseAt::of(cfg);
    [
        workflow_header(mode.name(), pull_request, &trigger, install_url),
        plan_job(runners.global, runners.per_target, cfg.dispatch_releases),
        build_local_job(
            build_if,
            runners.install_step,
            cfg.fail_fast,
            attest_in(cfg, "build-local-artifacts"),
            setup.unwrap_or_default(),
        ),
        build_global_job(build_if, runners.global),
        custom.before_host.jobs.clone(),
        host_job(
            runners.global,
            release_at,
            cfg.force_latest,
            &custom.before_host.names,
            attest_in(cfg, "host"),
        ),
        custom.after_host.jobs.clone(),
        publish.jobs.clone(),
        announce_job(
            runners.global,
            release_at,
            cfg.force_latest,
            &[publish.names.clone(), custom.after_host.names.clone()].concat(),
        ),
        custom.post_announce.jobs.clone(),
    ]
    .concat()
}

/// The header, triggers and shared environment.
fn workflow_header(mode: &str, pull_request: &str, trigger: &str, install_url: &str) -> String {
    format!(
        r#"# The release workflow of this workspace, written by `cargo dist generate` from its dist config
# (pr-run-mode = "{mode}"). Do not edit it by hand: change the config and rerun
# `cargo dist generate`; `cargo dist generate --check` fails when this file is out of date.
#
# On a pushed version tag (v1.2.3, my-app-v1.2.3, my-app/1.2.3, ...):
#   plan                    works out what the tag announces and which targets to build
#   build-local-artifacts   one job per target: archives and checksums, through a cached store
#   build-global-artifacts  installers and sha256.sum, from the local jobs' store bundles
#   host                    creates a draft GitHub Release and uploads every artifact
#   announce                publishes the release
name: Release

permissions:
  contents: write

on:
{trigger}{pull_request}
defaults:
  run:
    shell: bash

env:
  # The content-addressed build store, kept inside the workspace so actions/cache can save it.
  CARGO_DIST_STORE: ${{{{ github.workspace }}}}/.dist-store
  # Where the jobs install this tool from: the release of `cargo-dist-version` holding its own
  # installers and archives (or `cargo-dist-url-override`). The installers verify each archive's
  # sha256 and fetch archives from the same place.
  CARGO_DIST_URL: "{install_url}"
  CARGO_DIST_DOWNLOAD_URL: "{install_url}"

jobs:
"#
    )
}

/// `plan`: what the tag announces, and one build job per target.
fn plan_job(global: &str, per_target: &str, dispatch: bool) -> String {
    let tag_expr = if dispatch {
        "github.event_name == 'workflow_dispatch' && inputs.tag || ''"
    } else {
        "github.ref_type == 'tag' && github.ref_name || ''"
    };
    let install = INSTALL_STEP;
    let checkout = CHECKOUT_STEP;
    let tag_args = TAG_ARGS;
    format!(
        r#"  plan:
    runs-on: {global}
    outputs:
      tag: ${{{{ steps.plan.outputs.tag }}}}
      publishing: ${{{{ steps.plan.outputs.publishing }}}}
      has-builds: ${{{{ steps.plan.outputs.has-builds }}}}
      matrix: ${{{{ steps.plan.outputs.matrix }}}}
      prerelease: ${{{{ steps.plan.outputs.prerelease }}}}
      val: ${{{{ steps.plan.outputs.manifest }}}}
    steps:
{checkout}
{install}
      - name: Plan the release
        id: plan
        env:
          TAG: ${{{{ {tag_expr} }}}}
        run: |
{tag_args}
          cargo dist plan "${{args[@]}}" -o json > plan-dist-manifest.json
          if [ -n "$TAG" ]; then publishing=true; else publishing=false; fi
          # One build job per target of the local artifacts, with its runner and the recipe
          # keys of its artifacts (the store cache is keyed by them).
          # Runners and system-package installs per target come from the dist config
          # (`github-custom-runners`, `dependencies`); otherwise GitHub's runner for the OS.
          jq -c --argjson ci {per_target} '
            (if type == "array" then . else [.] end) as $all
            | [$all[].artifacts[]
               | select((.kind == "executable-zip" or .kind == "checksum") and .recipe != null
                        and (.target_triples | length) > 0)]
              as $local
            | [$local[] | .target_triples[0]] | unique
            | map(. as $t | {{
                target: $t,
                runner: ($ci[$t].runner // (if $t == "x86_64-apple-darwin" then "macos-13"
                         elif ($t | test("apple")) then "macos-latest"
                         elif ($t | test("windows")) then "windows-latest"
                         else "ubuntu-latest" end)),
                install: ($ci[$t].install // ""),
                keys: ([$local[] | select(.target_triples[0] == $t) | .recipe.key]
                       | sort | join(" "))
              }})
            | {{include: .}}' plan-dist-manifest.json > matrix.json
          if [ "$(jq '.include | length' matrix.json)" -gt 0 ]; then builds=true; else builds=false; fi
          {{
            echo "tag=$TAG"
            echo "publishing=$publishing"
            echo "has-builds=$builds"
            echo "matrix=$(cat matrix.json)"
            echo "prerelease=$(jq -r '[.] | flatten | .[0].announcement_is_prerelease' plan-dist-manifest.json)"
            echo "manifest=$(jq -c . plan-dist-manifest.json)"
          }} >> "$GITHUB_OUTPUT"
      - uses: actions/upload-artifact@v6
        with:
          name: plan-dist-manifest
          path: plan-dist-manifest.json

"#
    )
}

/// `build-local-artifacts`: one job per target, through a cached store.
fn build_local_job(
    build_if: &str,
    install_step: bool,
    fail_fast: bool,
    attest: Option<&[String]>,
    setup: &str,
) -> String {
    let (permissions, attest_step) = attestation("target/distrib", attest, "read");
    // `dependencies`: the matrix row says what this target's runner installs.
    let deps = if install_step {
        "      - name: Install system dependencies\n        if: matrix.install != ''\n        run: ${{ matrix.install }}\n"
    } else {
        ""
    };
    let install = INSTALL_STEP;
    let checkout = CHECKOUT_STEP;
    let tag_args = TAG_ARGS;
    format!(
        r#"  build-local-artifacts:
    name: build-local-artifacts (${{{{ matrix.target }}}})
    needs: plan
    if: ${{{{ {build_if} }}}}
    strategy:
      fail-fast: {fail_fast}
      matrix: ${{{{ fromJson(needs.plan.outputs.matrix) }}}}
    runs-on: ${{{{ matrix.runner }}}}
{permissions}    env:
      TAG: ${{{{ needs.plan.outputs.tag }}}}
      TARGET: ${{{{ matrix.target }}}}
    steps:
{checkout}
{install}
{deps}{setup}      - name: Add the Rust target
        run: rustup target add "$TARGET"
      - name: Write the recipe keys of this target
        env:
          KEYS: ${{{{ matrix.keys }}}}
        run: printf '%s\n' "$KEYS" > .dist-keys
      - name: Cache the store
        uses: actions/cache@v5
        with:
          path: .dist-store
          key: dist-store-${{{{ matrix.target }}}}-${{{{ hashFiles('.dist-keys') }}}}
          restore-keys: |
            dist-store-${{{{ matrix.target }}}}-
      - name: Build the local artifacts
        run: |
{tag_args}
          cargo dist build "${{args[@]}}" --artifacts=local --target="$TARGET" -o json > dist-build.json
{attest_step}      - name: Export the store
        run: cargo dist store export "dist-store-$TARGET.bundle"
      - uses: actions/upload-artifact@v6
        with:
          name: artifacts-build-local-${{{{ matrix.target }}}}
          path: target/distrib/
      - uses: actions/upload-artifact@v6
        with:
          name: store-${{{{ matrix.target }}}}
          path: dist-store-${{{{ matrix.target }}}}.bundle

"#
    )
}

/// `build-global-artifacts`: installers and checksums from the local jobs' store bundles.
fn build_global_job(build_if: &str, global: &str) -> String {
    let install = INSTALL_STEP;
    let checkout = CHECKOUT_STEP;
    let tag_args = TAG_ARGS;
    format!(
        r#"  build-global-artifacts:
    needs: [plan, build-local-artifacts]
    if: ${{{{ {build_if} }}}}
    runs-on: {global}
    env:
      TAG: ${{{{ needs.plan.outputs.tag }}}}
    steps:
{checkout}
{install}
      - uses: actions/download-artifact@v7
        with:
          pattern: store-*
          path: dist-stores
          merge-multiple: true
      - name: Import the local builds' stores
        run: |
          for bundle in dist-stores/*.bundle; do
            cargo dist store import "$bundle"
          done
      - name: Build the global artifacts
        run: |
{tag_args}
          cargo dist build "${{args[@]}}" --artifacts=global -o json > dist-build.json
      - uses: actions/upload-artifact@v6
        with:
          name: artifacts-build-global
          path: target/distrib/

"#
    )
}

/// Who makes the GitHub Release (`create-release`, `github-release`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReleaseAt {
    /// The host job creates a draft; announce publishes it.
    Host,
    /// The announce job creates it, published.
    Announce,
    /// Another tool created it: the host job uploads to it.
    Existing,
}

impl ReleaseAt {
    fn of(cfg: &GlobalConfig) -> ReleaseAt {
        match (cfg.create_release, cfg.github_release.as_str()) {
            (false, _) => ReleaseAt::Existing,
            (true, "announce") => ReleaseAt::Announce,
            (true, _) => ReleaseAt::Host,
        }
    }
}

/// The title, notes and prerelease flag of the release, then `gh release create` (draft or not)
/// of everything in `dir`.
fn create_release_script(meta: &str, draft: bool, latest: bool) -> String {
    let draft = if draft { " --draft" } else { "" };
    let latest = if latest { " --latest" } else { "" };
    format!(
        r#"          title=$(jq -r '.announcement_title' plan-dist-manifest.json)
          jq -r '.announcement_github_body // ""' plan-dist-manifest.json > {meta}notes.md
          args=()
          if [ "$(jq -r '.announcement_is_prerelease' plan-dist-manifest.json)" = "true" ]; then
            args+=(--prerelease)
          fi
          # --target: a dispatched release's tag is created at the commit this run built.
          gh release create "$TAG"{draft}{latest} --target "$GITHUB_SHA" "${{args[@]}}" --title "$title" --notes-file {meta}notes.md upload/*"#
    )
}

/// `host`: the GitHub Release's files gathered (and attested), then the release made, uploaded
/// to or handed to `announce`, by [`ReleaseAt`].
fn host_job(
    global: &str,
    release_at: ReleaseAt,
    force_latest: bool,
    custom: &[String],
    attest: Option<&[String]>,
) -> String {
    let (permissions, attest_step) = attestation("upload", attest, "write");
    let publish_jq = PUBLISH_MANIFEST_JQ;
    let mut needs = vec!["plan", "build-local-artifacts", "build-global-artifacts"];
    needs.extend(custom.iter().map(String::as_str));
    let needs = needs.join(", ");
    let (step, release, handoff) = match release_at {
        ReleaseAt::Host => (
            "Create the draft GitHub Release",
            create_release_script("", true, force_latest),
            "",
        ),
        // `create-release = false`: another tool made the release; upload to it.
        ReleaseAt::Existing => (
            "Upload to the existing GitHub Release",
            r#"          gh release upload "$TAG" --clobber upload/*"#.to_string(),
            "",
        ),
        // `github-release = "announce"`: hand the files to the announce job.
        ReleaseAt::Announce => (
            "Prepare the release",
            "          cp plan-dist-manifest.json upload-meta/".to_string(),
            "      - uses: actions/upload-artifact@v6\n        with:\n          name: release\n          path: |\n            upload\n            upload-meta\n",
        ),
    };
    format!(
        r#"  host:
    needs: [{needs}]
    if: ${{{{ needs.plan.outputs.publishing == 'true' }}}}
    runs-on: {global}
{permissions}    env:
      GH_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
      GH_REPO: ${{{{ github.repository }}}}
      TAG: ${{{{ needs.plan.outputs.tag }}}}
    steps:
      - uses: actions/download-artifact@v7
        with:
          name: plan-dist-manifest
          path: .
      - uses: actions/download-artifact@v7
        with:
          pattern: artifacts-*
          path: artifacts
      - name: Gather the release files
        run: |
          mkdir -p upload upload-meta
          find artifacts -type f ! -name dist-manifest.json -exec cp {{}} upload/ \;
{attest_step}      - name: {step}
        run: |
          # The published manifest: the plan's, with each job's built artifacts (keys and
          # digests) merged in, so `cargo dist compare` can check a local build against it.
          find artifacts -name dist-manifest.json | sort > built-manifests.txt
          # $plan and $m are jq's variables, not the shell's.
          # shellcheck disable=SC2016
          xargs jq -s '{publish_jq}' \
            plan-dist-manifest.json < built-manifests.txt > upload/dist-manifest.json
{release}
{handoff}
"#
    )
}

/// `announce`: publishes the release.
fn announce_job(
    global: &str,
    release_at: ReleaseAt,
    force_latest: bool,
    publish: &[String],
) -> String {
    // After the publish jobs, each of which may have been skipped (a prerelease) but not failed.
    let mut needs = vec!["plan".to_string(), "host".to_string()];
    needs.extend(publish.iter().cloned());
    let mut cond = "needs.plan.outputs.publishing == 'true'".to_string();
    if !publish.is_empty() {
        cond = format!("always() && {cond} && needs.host.result == 'success'");
        for job in publish {
            cond.push_str(&format!(
                " && (needs.{job}.result == 'success' || needs.{job}.result == 'skipped')"
            ));
        }
    }
    let needs = needs.join(", ");
    let steps = match release_at {
        ReleaseAt::Host => format!(
            "      - name: Publish the GitHub Release\n        run: gh release edit \"$TAG\" --draft=false{}\n",
            if force_latest { " --latest" } else { "" }
        ),
        ReleaseAt::Existing => "      - name: Leave the release to its tool\n        run: echo \"create-release is false, so the tool that created the release publishes it\"\n".to_string(),
        ReleaseAt::Announce => format!(
            "      - uses: actions/download-artifact@v7\n        with:\n          name: release\n          path: .\n      - name: Create the GitHub Release\n        run: |\n          cp upload-meta/plan-dist-manifest.json .\n{}\n",
            create_release_script("upload-meta/", false, force_latest)
        ),
    };
    format!(
        r#"  announce:
    needs: [{needs}]
    if: ${{{{ {cond} }}}}
    runs-on: {global}
    env:
      GH_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
      GH_REPO: ${{{{ github.repository }}}}
      TAG: ${{{{ needs.plan.outputs.tag }}}}
    steps:
{steps}"#
    )
}

/// Jobs rendered together (publish jobs, custom jobs at one point) and their names.
#[derive(Default)]
struct Jobs {
    jobs: String,
    names: Vec<String>,
}

/// `homebrew` pushes the formulas to `tap`, `npm` publishes the npm packages, `./NAME` calls the
/// repository's reusable workflow NAME.yml with the plan; all after `host`, for prereleases only
/// with `publish-prereleases`.
fn publish_jobs(cfg: &GlobalConfig, global: &str) -> Jobs {
    let mut cond = "needs.plan.outputs.publishing == 'true'".to_string();
    if !cfg.publish_prereleases {
        cond.push_str(" && needs.plan.outputs.prerelease != 'true'");
    }
    let mut out = Jobs::default();
    for job in &cfg.publish_jobs {
        let (name, text) = match job.as_str() {
            "homebrew" => {
                let tap = cfg.tap.as_deref().unwrap_or_default();
                (
                    "publish-homebrew-formula".to_string(),
                    homebrew_job(&cond, global, tap),
                )
            }
            "npm" => ("publish-npm".to_string(), npm_job(&cond, global)),
            custom => custom_job(cfg, custom, &["plan", "host"], &cond),
        };
        out.jobs.push_str(&text);
        out.names.push(name);
    }
    out
}

/// The attestation globs when `github-attestations` attests in `phase`.
fn attest_in<'a>(cfg: &'a GlobalConfig, phase: &str) -> Option<&'a [String]> {
    match &cfg.attestations {
        Some((p, filters)) if p == phase => Some(filters),
        _ => None,
    }
}

/// The job permissions and the step that attest the files under `dir` matching `filters`
/// (`github-attestations`); `contents` is what the job otherwise needs of the repository.
fn attestation(dir: &str, filters: Option<&[String]>, contents: &str) -> (String, String) {
    let Some(filters) = filters else {
        return (String::new(), String::new());
    };
    let permissions = format!(
        "    permissions:\n      contents: {contents}\n      id-token: write\n      attestations: write\n"
    );
    let paths: String = filters
        .iter()
        .map(|f| format!("            {dir}/{f}\n"))
        .collect();
    let step = format!(
        "      - name: Attest the artifacts\n        uses: actions/attest-build-provenance@v3\n        with:\n          subject-path: |\n{paths}"
    );
    (permissions, step)
}

/// A call of the repository's reusable workflow `./NAME` (`.github/workflows/NAME.yml`) with the
/// plan's manifest as its `plan` input: (job name, job text).
fn custom_job(cfg: &GlobalConfig, entry: &str, needs: &[&str], cond: &str) -> (String, String) {
    let file = entry.trim_start_matches("./");
    let name = format!("custom-{file}");
    let needs = needs.join(", ");
    // `github-custom-job-permissions`, by the job's NAME.
    let permissions: String = match cfg.job_permissions.get(file) {
        Some(perms) => std::iter::once("    permissions:\n".to_string())
            .chain(perms.iter().map(|(p, l)| format!("      {p}: {l}\n")))
            .collect(),
        None => String::new(),
    };
    let text = format!(
        "  {name}:\n    needs: [{needs}]\n    if: ${{{{ {cond} }}}}\n{permissions}    uses: ./.github/workflows/{file}.yml\n    with:\n      plan: ${{{{ needs.plan.outputs.val }}}}\n    secrets: inherit\n\n"
    );
    (name, text)
}

/// The custom jobs of `plan-jobs`, `local-artifacts-jobs`, `global-artifacts-jobs` (the host job
/// waits for them), `host-jobs` (announce waits) and `post-announce-jobs`.
struct CustomJobs {
    before_host: Jobs,
    after_host: Jobs,
    post_announce: Jobs,
}

fn custom_jobs(cfg: &GlobalConfig) -> CustomJobs {
    let cond = "needs.plan.outputs.publishing == 'true'";
    let mut out = CustomJobs {
        before_host: Jobs::default(),
        after_host: Jobs::default(),
        post_announce: Jobs::default(),
    };
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
        let (needs, into): (&[&str], &mut Jobs) = match point {
            "plan" => (&["plan"], &mut out.before_host),
            "local-artifacts" => (&["plan"], &mut out.before_host),
            "global-artifacts" => (&["plan", "build-local-artifacts"], &mut out.before_host),
            "host" => (&["plan", "host"], &mut out.after_host),
            _ => (&["plan", "announce"], &mut out.post_announce),
        };
        // Only `./NAME` entries are jobs of the user's; the built-in names are publish jobs.
        for job in jobs.iter().filter(|j| j.starts_with("./")) {
            let (name, text) = custom_job(cfg, job, needs, cond);
            // An old and a new key naming the same workflow: one job.
            if !into.names.contains(&name) {
                into.jobs.push_str(&text);
                into.names.push(name);
            }
        }
    }
    out
}

/// `github-action-commits`: every `uses: ACTION@REF` of a listed action pinned to its ref.
fn pin_actions(text: String, commits: &std::collections::BTreeMap<String, String>) -> String {
    if commits.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let pinned = commits.iter().find_map(|(action, sha)| {
            let at = line.find(&format!("uses: {action}@"))?;
            let keep = &line[..at + "uses: ".len() + action.len() + 1];
            Some(format!("{keep}{sha}\n"))
        });
        out.push_str(pinned.as_deref().unwrap_or(line));
    }
    out
}

/// Pushes every formula of the release to the `tap` repository (secret HOMEBREW_TAP_TOKEN).
fn homebrew_job(cond: &str, global: &str, tap: &str) -> String {
    format!(
        r#"  publish-homebrew-formula:
    needs: [plan, host]
    if: ${{{{ {cond} }}}}
    runs-on: {global}
    env:
      TAG: ${{{{ needs.plan.outputs.tag }}}}
    steps:
      - uses: actions/checkout@v5
        with:
          repository: "{tap}"
          token: ${{{{ secrets.HOMEBREW_TAP_TOKEN }}}}
      - uses: actions/download-artifact@v7
        with:
          pattern: artifacts-*
          path: artifacts
          merge-multiple: true
      - name: Commit the formulas to the tap
        run: |
          mkdir -p Formula
          find artifacts -name '*.rb' -exec cp {{}} Formula/ \;
          git config user.name "cargo-dist"
          git config user.email "cargo-dist@users.noreply.github.com"
          git add Formula
          git diff --cached --quiet || git commit -m "Release $TAG"
          git push

"#
    )
}

/// Publishes every npm package of the release (secret NPM_TOKEN).
fn npm_job(cond: &str, global: &str) -> String {
    format!(
        r#"  publish-npm:
    needs: [plan, host]
    if: ${{{{ {cond} }}}}
    runs-on: {global}
    steps:
      - uses: actions/download-artifact@v7
        with:
          pattern: artifacts-*
          path: artifacts
          merge-multiple: true
      - uses: actions/setup-node@v5
        with:
          node-version: "20"
          registry-url: "https://registry.npmjs.org"
      - name: Publish the npm packages
        env:
          NODE_AUTH_TOKEN: ${{{{ secrets.NPM_TOKEN }}}}
        run: |
          for pkg in artifacts/*-npm-package.tar.gz; do
            npm publish --access public "$pkg"
          done

"#
    )
}

/// Checks the repository out, submodules included (the committed tree is the release's source).
const CHECKOUT_STEP: &str = r#"      - uses: actions/checkout@v5
        with:
          submodules: recursive"#;

/// Installs this tool from its own release with its own installers (shell, or PowerShell on
/// Windows), which check the archive's sha256. Public so the pipeline test runs exactly this.
pub const INSTALL_STEP: &str = r#"      - name: Install cargo-dist
        run: |
          if [ "$RUNNER_OS" = "Windows" ]; then
            powershell -ExecutionPolicy Bypass -c "irm '$CARGO_DIST_URL/cargo-dist-installer.ps1' | iex"
          else
            curl --tlsv1.2 -LsSf "$CARGO_DIST_URL/cargo-dist-installer.sh" | sh
          fi"#;

/// Sets `args` to `--tag=$TAG` when the run is for a tag.
const TAG_ARGS: &str = r#"          args=()
          if [ -n "$TAG" ]; then args+=("--tag=$TAG"); fi"#;

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
    let expected = workflow_for(root, cfg)?;
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

    fn cfg(mode: PrRunMode, version: Option<&str>) -> GlobalConfig {
        GlobalConfig {
            cargo_dist_version: version.map(str::to_string),
            ci: vec!["github".into()],
            allow_dirty: false,
            pr_run_mode: mode,
            source_tarball: true,
            ..Default::default()
        }
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
