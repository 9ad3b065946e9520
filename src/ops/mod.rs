//! One function per command, wiring the stages together. Thin: the logic lives in the stages.

pub mod adopt;
pub mod build;
pub mod compare;
pub mod explain;
pub mod generate;
pub mod init;
pub mod plan;
pub mod remote;
pub mod store;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;

use dist_store::{RecipeKey, Store};

use crate::announce::{self, Announcement, Candidate};
use crate::ci::{self, CiError};
use crate::config::{self, Config};
use crate::graph::{self, Env, RecipeGraph};
use crate::manifest::DistManifest;
use crate::plan::{self as planner, ArtifactMode, Plan, PlanRequest};
use crate::report::{Event, PackageSummary, Reporter};
use crate::sources::SourceHasher;
use crate::toolchain::Rustc;
use crate::workspace::Workspace;
use crate::Error;

/// The global command-line options every command shares.
#[derive(Debug, Clone, Default)]
pub struct GlobalOpts {
    pub manifest_path: Option<PathBuf>,
    pub tag: Option<String>,
    /// `--force-tag`: the Apps take the tag's version (`--tag=timestamp`: a new prerelease).
    pub force_tag: bool,
    pub artifacts: Option<ArtifactMode>,
    pub targets: Vec<String>,
    pub no_local_paths: bool,
    pub allow_dirty: bool,
    pub store: Option<PathBuf>,
    /// `--remote` / `CARGO_DIST_REMOTE`: overrides the `remote-store` key (`off`: none).
    pub remote: Option<String>,
    pub remote_read_only: bool,
}

/// Everything read from disk before planning.
pub struct Loaded {
    pub ws: Workspace,
    pub cfg: Config,
    /// `rustc -vV`, still running while the workspace is planned.
    pub rustc: Rustc,
    pub candidates: Vec<Candidate>,
    /// The tag to announce: `--tag`'s, or the one `--force-tag` made of it.
    pub tag: Option<String>,
    /// Source hashes made while the workspace was loading; plans and builds start from them.
    pub sources: SourceHasher,
    /// `verify`'s rebuild: the release's signers and signed files.
    pub adopted: Option<crate::signing::Adopted>,
}

/// The directory of `--manifest-path`, if one was given with a directory part.
fn manifest_dir(opts: &GlobalOpts) -> Option<&std::path::Path> {
    opts.manifest_path
        .as_deref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
}

pub fn load(opts: &GlobalOpts) -> Result<Loaded, Error> {
    // `rustc -vV` (15-30 ms behind rustup's proxy) starts first and is waited for only where
    // its answer is needed (recipe keys, the host triple): the manifests are read and the
    // sources listed and hashed meanwhile, and a plan made.
    let rustc = Rustc::start(manifest_dir(opts));
    let (ws, warm) =
        Workspace::load_overlapped(opts.manifest_path.as_deref(), |early, answered, cargo| {
            if !cargo {
                return early.map(|e| SourceHasher::warm(e, answered));
            }
            // Beside cargo, rustc is waited for before the warm-up starts: run side by side,
            // the two took turns on the core cargo leaves idle and took time from cargo too.
            // (Its error, if any, is kept for whoever needs the toolchain.)
            let _ = rustc.get();
            // One job: no hashing beside cargo metadata.
            let spare_core = crate::execute::BuildOptions::default_jobs() > 1;
            let warm = early.filter(|_| spare_core);
            warm.map(|e| SourceHasher::warm(e, answered))
        })?;
    let sources = warm.unwrap_or_default().for_workspace(&ws);
    let cfg = config::resolve(&ws)?;
    let mut ws = ws;
    let mut candidates: Vec<Candidate> = ws
        .packages
        .iter()
        .map(|p| Candidate {
            name: p.name.clone(),
            version: p.version.clone(),
            eligibility: announce::package_eligibility(&cfg, p),
        })
        .collect();
    let tag = forced_tag(opts, &mut ws, &mut candidates)?;
    Ok(Loaded {
        ws,
        cfg,
        rustc,
        candidates,
        tag,
        sources,
        adopted: None,
    })
}

/// The tag to announce; with `--force-tag`, the packages it names take its version first.
fn forced_tag(
    opts: &GlobalOpts,
    ws: &mut Workspace,
    candidates: &mut [Candidate],
) -> Result<Option<String>, Error> {
    let tag = opts.tag.as_deref();
    if !opts.force_tag {
        return match tag {
            Some("timestamp") => Err(announce::AnnounceError::TimestampWithoutForce.into()),
            _ => Ok(tag.map(str::to_string)),
        };
    }
    let tag = tag.ok_or(announce::AnnounceError::ForceWithoutTag)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let forced = announce::force_tag(candidates, tag, now)?;
    for c in candidates.iter_mut() {
        if let Some(v) = forced.versions.get(&c.name) {
            c.version = v.clone();
        }
    }
    for p in &mut ws.packages {
        if let Some(v) = forced.versions.get(&p.name) {
            p.version = v.clone();
        }
    }
    Ok(Some(forced.tag))
}

/// The start-of-run summary: config warnings, every package, and why each excluded one is.
pub fn report_packages(loaded: &Loaded, ann: Option<&Announcement>, reporter: &dyn Reporter) {
    for w in &loaded.cfg.warnings {
        reporter.report(Event::Warning(w.to_string()));
    }
    if let Some(why) = loaded.ws.sources.unversioned() {
        reporter.report(Event::Warning(format!(
            "the workspace's sources are every file but hidden ones and target/, as `cargo package` takes them outside git: {why} (in a git work tree they are the files git tracks or does not ignore)"
        )));
    }
    let lines: Vec<PackageSummary> = loaded
        .ws
        .packages
        .iter()
        .zip(&loaded.candidates)
        .map(|(p, c)| {
            let excluded = match (c.eligibility, ann) {
                (Err(e), _) => Some(e.reason()),
                (Ok(()), Some(a)) if !a.apps.contains(&p.name) => {
                    Some(announce::Exclusion::DidntMatchTag.reason())
                }
                (Ok(()), _) => None,
            };
            PackageSummary {
                name: p.name.clone(),
                version: p.version.to_string(),
                binaries: p.binaries.clone(),
                excluded,
            }
        })
        .collect();
    reporter.report(Event::Packages(&lines));
}

/// A planned announcement: the plan, its recipe graph and its manifest.
pub struct Planned {
    pub plan: Plan,
    pub graph: RecipeGraph,
    pub manifest: DistManifest,
    /// The manifest as `dist-manifest.json` holds it, when a build wrote one.
    pub written: Option<String>,
}

/// The store, if one exists: `plan` must not create it.
pub fn existing_store(opts: &GlobalOpts) -> Result<Option<Store>, Error> {
    let root = Store::resolve_root(opts.store.as_deref(), crate::env::store_var)?;
    if root.join("index.sqlite").is_file() {
        Ok(Some(Store::open(&root)?))
    } else {
        Ok(None)
    }
}

/// sha256 of a stored recipe's first output.
pub fn stored_sha256(store: Option<&Store>, key: &RecipeKey) -> Option<String> {
    store?.first_sha256(key).ok()?
}

/// Plans one announcement and computes every recipe key.
pub fn plan_announcement(
    loaded: &Loaded,
    ann: &announce::Announcement,
    req: &PlanRequest,
    store: Option<&Store>,
    hasher: &mut SourceHasher,
) -> Result<(Plan, RecipeGraph), Error> {
    let plan = planner::plan(&loaded.ws, &loaded.cfg, ann, req)?;
    let graph = recipe_graph(loaded, &plan, store, hasher)?;
    Ok((plan, graph))
}

/// Every recipe of `plan`, with its key.
pub fn recipe_graph(
    loaded: &Loaded,
    plan: &Plan,
    store: Option<&Store>,
    hasher: &mut SourceHasher,
) -> Result<RecipeGraph, Error> {
    recipe_graph_knowing(loaded, plan, store, &BTreeMap::new(), hasher)
}

/// [`recipe_graph`], also knowing the sha256 of `more` recipes than the store holds (the
/// user's own files of `build-local-artifacts = false`).
pub fn recipe_graph_knowing(
    loaded: &Loaded,
    plan: &Plan,
    store: Option<&Store>,
    more: &BTreeMap<RecipeKey, String>,
    hasher: &mut SourceHasher,
) -> Result<RecipeGraph, Error> {
    let vars: BTreeMap<String, String> = crate::env::all();
    let known = |k: &RecipeKey| stored_sha256(store, k).or_else(|| more.get(k).cloned());
    let env = Env {
        vars: &vars,
        known_sha256: &known,
        adopted: loaded.adopted.as_ref(),
    };
    Ok(graph::graph(
        &loaded.ws,
        &loaded.cfg,
        loaded.rustc.get()?,
        plan,
        &env,
        hasher,
    )?)
}

/// What `generate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// The file was written (it was missing or differed).
    Wrote(String),
    /// The file already had these bytes.
    UpToDate(String),
}

impl Generated {
    pub fn message(&self) -> String {
        match self {
            Generated::Wrote(p) => format!("wrote {p}\n"),
            Generated::UpToDate(p) => format!("{p} is up to date\n"),
        }
    }
}

/// `plan`, `manifest` and `build` refuse to run while the configured CI workflow is missing or
/// out of date, unless `--allow-dirty` or `allow-dirty` in the config says otherwise. A workflow
/// another tool wrote (a project moving from cargo-dist keeps its `release.yml`) is not refused:
/// a warning says how to switch it.
pub fn refuse_if_dirty(
    loaded: &Loaded,
    opts: &GlobalOpts,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let cfg = &loaded.cfg.global;
    if opts.allow_dirty || cfg.allow_dirty || !ci::wants_github(cfg) {
        return Ok(());
    }
    match ci::check_workflow(&loaded.ws.root, cfg) {
        Err(CiError::Stale {
            path,
            foreign: true,
            ..
        }) => {
            reporter.report(Event::Warning(format!(
                "{path} was not written by this tool (cargo-dist's own workflow?); it is left as it is: run `cargo dist generate` to replace it with this tool's workflow, which caches builds in the store"
            )));
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Renders the workflow, makes it through the store under its recipe key (listed and kept like
/// every artifact) and materialises it, unless the file already has these bytes. With
/// `check_only`, compares only.
pub fn write_workflow(
    ws: &Workspace,
    cfg: &config::GlobalConfig,
    check_only: bool,
    store_root: &std::path::Path,
    reporter: &dyn Reporter,
) -> Result<Generated, Error> {
    if !ci::wants_github(cfg) {
        return Err(CiError::NotConfigured {
            manifest: crate::workspace::relative(&ws.root, &ws.manifest_path),
        }
        .into());
    }
    ci::check_config(cfg)?;
    for (target, host) in ci::cross_builds(cfg) {
        reporter.report(Event::Warning(format!(
            "`github-custom-runners.{target}` builds {target} on {host}: this tool links with the build host's own toolchain and installs no cross linker (cargo-dist would install cargo-zigbuild or cargo-xwin), so that job needs one from `dependencies` or `github-build-setup`; or give the target a runner of its own architecture and OS (`{}`)",
            ci::default_runner(&target)
        )));
    }
    let shown = ci::github_workflow_path(cfg);
    if check_only {
        ci::check_workflow(&ws.root, cfg)?;
        return Ok(Generated::UpToDate(shown));
    }
    let ctx = ci::workflow_for(&ws.root, cfg)?;
    let text = ci::render(&ctx)?;
    let store = Store::open(store_root)?;
    let opts = crate::execute::BuildOptions {
        rebuild: false,
        host: String::new(),
        require_isolation: false,
        jobs: 1,
        adopt: None,
        user_files: None,
    };
    let mut ex = crate::execute::Executor::new(ws, &store, &opts, reporter);
    let node = graph::Node::new(shown.clone(), ci::workflow_recipe(&ctx, &text));
    let (rec, _) = ex.ensure(&RecipeGraph::default(), &node)?;
    let path = ws.root.join(&shown);
    if ci::read_existing(&path, &shown)?.as_deref() == Some(text.as_str()) {
        return Ok(Generated::UpToDate(shown));
    }
    let (dir, name) = shown
        .rsplit_once('/')
        .expect("the workflow lives in a directory");
    let dir = ws.root.join(dir);
    std::fs::create_dir_all(&dir).map_err(|source| CiError::Io {
        action: "create",
        path: crate::workspace::relative(&ws.root, &dir),
        source,
    })?;
    ex.materialize(name, &rec, &dir)?;
    Ok(Generated::Wrote(shown))
}
