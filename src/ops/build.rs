//! `build`: plan, then make every selected artifact through the store, materialise them into
//! `target/distrib/`, and write `target/distrib/dist-manifest.json`.

use std::collections::BTreeMap;

use dist_store::{RecipeRecord, Store, StoreError};

use super::{load, report_packages, GlobalOpts};
use super::{plan_announcement, Planned};
use crate::announce;
use crate::execute::{BuildOptions, Distrib, ExecuteError, Executor};
use crate::graph::RecipeGraph;
use crate::manifest::{apply_states, build_manifest, ArtifactState, RecipeInfo};
use crate::plan::{ArtifactMode, PlanRequest};
use crate::report::{Event, Reporter};
use crate::workspace::relative;
use crate::Error;
use dist_recipes::recipe::{ArchiveRef, Recipe};

/// How `build` runs its recipes.
#[derive(Debug, Clone, Copy, Default)]
pub struct How {
    /// Rebuild cached recipes and fail if the bytes differ.
    pub rebuild: bool,
    /// Fail a cargo build that cannot run fully isolated.
    pub require_isolation: bool,
}

pub fn build(opts: &GlobalOpts, how: How, reporter: &dyn Reporter) -> Result<Planned, Error> {
    // A corrupt object found mid-build was quarantined and its recipes dropped: one more pass
    // rebuilds exactly those.
    match build_once(opts, how, reporter) {
        Err(Error::Execute(ExecuteError::Store(e @ StoreError::Corrupt { .. })))
        | Err(Error::Store(e @ StoreError::Corrupt { .. })) => {
            reporter.report(Event::Warning(e.to_string()));
            build_once(opts, how, reporter)
        }
        other => other,
    }
}

fn build_once(opts: &GlobalOpts, how: How, reporter: &dyn Reporter) -> Result<Planned, Error> {
    // Needed by the first cargo build: asked for (rustup's proxy is slow) beside the loading.
    crate::execute::prefetch_toolchain_dir(
        super::manifest_dir(opts).unwrap_or(std::path::Path::new(".")),
    );
    let mut loaded = load(opts)?;
    super::refuse_if_dirty(&loaded, opts, reporter)?;
    let ann = match announce::announce(&loaded.candidates, opts.tag.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            report_packages(&loaded, None, reporter);
            return Err(e.into());
        }
    };
    report_packages(&loaded, Some(&ann), reporter);
    let req = PlanRequest {
        mode: opts.artifacts.unwrap_or(ArtifactMode::Host),
        targets: &opts.targets,
        host: Some(loaded.rustc.get()?.host()),
    };
    let store = Store::open(&Store::resolve_root(
        opts.store.as_deref(),
        crate::env::store_var,
    )?)?;
    let bopts = BuildOptions {
        rebuild: how.rebuild,
        host: loaded.rustc.get()?.host().to_string(),
        require_isolation: how.require_isolation,
        jobs: BuildOptions::default_jobs(),
    };
    let remote = super::remote::connect(opts, &loaded.cfg.global, reporter)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let mut ex = Executor::new(&loaded.ws, &store, &bopts, reporter).with_remote(remote.as_ref());
    let mut built: BTreeMap<String, (RecipeRecord, bool)> = BTreeMap::new();

    // Planned once. Local artifacts first: global ones (installers, sha256.sum) embed their
    // checksums, so those recipes learn the checksums of the archives built, and their keys,
    // before the global phase.
    let (plan, mut graph) = plan_announcement(&loaded, &ann, &req, Some(&store), &mut hasher)?;
    let mut skipped = Vec::new();
    for local in [true, false] {
        if !local {
            // Installers and sha256.sum embed the checksums of archives other runners built:
            // bring those from the remote first.
            if remote.is_some() {
                let wanted: Vec<(dist_store::RecipeKey, String)> = unsummed(&plan, &graph)
                    .map(|(_, name, r)| (r.key, name.to_string()))
                    .collect();
                let asked: Vec<(dist_store::RecipeKey, &str)> =
                    wanted.iter().map(|(k, n)| (*k, n.as_str())).collect();
                if !asked.is_empty() {
                    ex.prefetch_keys(&asked)?;
                }
            }
            let known = |k: &dist_store::RecipeKey| super::stored_sha256(Some(&store), k);
            if !graph.learn_checksums(&known) {
                graph = super::recipe_graph(&loaded, &plan, Some(&store), &mut hasher)?;
            }
        }
        if !local && req.mode == ArtifactMode::Global {
            require_every_archive(&plan, &graph)?;
        } else if !local {
            report_unsummed(&plan, &graph, reporter);
        }
        let phase = || {
            plan.artifacts
                .values()
                .filter(|a| a.selected && plan.is_local(a) == local)
        };
        // Global artifacts that embed no archive checksum (the source tarball, an MSI) have
        // their final keys already: they run beside the local ones.
        let early = || {
            plan.artifacts
                .values()
                .filter(|a| local && a.selected && !plan.is_local(a))
                .filter_map(|a| graph.artifacts.get(&a.name))
                .filter(|n| !embeds_archive_checksums(&graph, n))
        };
        let roots: Vec<&crate::graph::Node> = phase()
            .filter_map(|a| graph.artifacts.get(&a.name))
            .chain(early())
            .collect();
        ex.prefetch(&graph, roots.iter().copied())?;
        ex.ensure_all(&graph, roots.iter().copied())?;
        for a in phase() {
            match graph.artifacts.get(&a.name).and_then(|n| ex.outcome(n)) {
                Some(r) => {
                    built.insert(a.name.clone(), r.clone());
                }
                None => skipped.push(a.name.clone()),
            }
        }
    }
    report_skipped(&plan, &skipped, reporter);

    let distrib = Distrib::open(&loaded.ws)?;
    let states = materialize(&distrib, &ex, &graph, &built, opts, &loaded)?;
    let mut manifest = build_manifest(&plan);
    apply_states(&mut manifest, states);
    crate::changelog::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
    distrib.write_manifest(&manifest)?;
    // After the artifacts are in place: a slow or failing upload delays nothing a user needs.
    ex.upload()?;
    Ok(Planned {
        plan,
        graph,
        manifest,
    })
}

/// Every built artifact into `target/distrib/`, with what the manifest says of it.
fn materialize(
    distrib: &Distrib,
    ex: &Executor,
    graph: &RecipeGraph,
    built: &BTreeMap<String, (RecipeRecord, bool)>,
    opts: &GlobalOpts,
    loaded: &super::Loaded,
) -> Result<BTreeMap<String, ArtifactState>, Error> {
    let mut states = BTreeMap::new();
    for (name, (rec, cached)) in built {
        let dest = distrib.materialize(ex, name, rec)?;
        let out = crate::execute::artifact_output(&rec.outputs, name);
        let inputs = graph
            .artifacts
            .get(name)
            .map(|n| graph.recorded_inputs(n))
            .unwrap_or_default();
        let isolation = graph
            .artifacts
            .get(name)
            .and_then(|n| ex.isolation_of(graph, n))
            .map(|l| l.as_str().to_string());
        states.insert(
            name.clone(),
            ArtifactState {
                recipe: Some(RecipeInfo {
                    key: rec.key.to_hex(),
                    cached: *cached,
                    blake3: Some(out.digest.to_hex()),
                    inputs,
                    isolation,
                    remote: ex.from_remote(&rec.key),
                }),
                path: (!opts.no_local_paths).then(|| relative(&loaded.ws.root, &dest)),
                sha256: Some(out.sha256.clone()),
            },
        );
    }
    Ok(states)
}

/// Whether `node`'s key changes once this run's archives are built: installers and the unified
/// checksum embed archive checksums, and so does anything made from them.
fn embeds_archive_checksums(graph: &RecipeGraph, node: &crate::graph::Node) -> bool {
    matches!(
        node.recipe,
        Recipe::Installer(_) | Recipe::UnifiedChecksum(_)
    ) || graph
        .deps(node)
        .any(|(_, dep)| embeds_archive_checksums(graph, dep))
}

/// The selected installers and unified checksum with the archives they cover whose checksum is
/// not known yet (built on other runners): (artifact, archive, its reference).
fn unsummed<'a>(
    plan: &'a crate::plan::Plan,
    graph: &'a RecipeGraph,
) -> impl Iterator<Item = (&'a str, &'a str, &'a ArchiveRef)> {
    plan.artifacts
        .values()
        .filter(|a| a.selected && !plan.is_local(a))
        .filter_map(|a| {
            let archives = match &graph.artifacts.get(&a.name)?.recipe {
                Recipe::Installer(i) => &i.archives,
                Recipe::UnifiedChecksum(u) => &u.archives,
                _ => return None,
            };
            Some((a.name.as_str(), archives))
        })
        .flat_map(|(artifact, archives)| {
            archives
                .iter()
                .filter(|(_, r)| r.sha256.is_none())
                .map(move |(name, r)| (artifact, name.as_str(), r))
        })
}

/// A global build (`--artifacts=global`, the CI job) must know the checksum of every archive its
/// installers and `sha256.sum` cover; otherwise it would publish installers that refuse to
/// install. (`host` and `all` with chosen targets build them with what they have.)
fn require_every_archive(plan: &crate::plan::Plan, graph: &RecipeGraph) -> Result<(), Error> {
    match unsummed(plan, graph).next() {
        Some((artifact, archive, r)) => Err(ExecuteError::MissingArchive {
            artifact: artifact.to_string(),
            archive: archive.to_string(),
            target: r.target.clone(),
        }
        .into()),
        None => Ok(()),
    }
}

/// Outside the CI's global job, installers and the unified checksum are made with the archives
/// this store knows: says once which platforms they have no checksum for.
fn report_unsummed(plan: &crate::plan::Plan, graph: &RecipeGraph, reporter: &dyn Reporter) {
    let missing: std::collections::BTreeSet<&str> = unsummed(plan, graph)
        .map(|(_, _, r)| r.target.as_str())
        .collect();
    if !missing.is_empty() {
        reporter.report(Event::Warning(format!(
            "no archive for {} is in the store (each target builds on its own runner), so this build's installers cannot check them (shell and PowerShell refuse them, Homebrew fetches them unchecked) and its checksum file leaves them out; CI's `build --artifacts=global` requires them all",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
}

/// Names, once, each selected artifact this tool plans but cannot make, and why.
fn report_skipped(plan: &crate::plan::Plan, skipped: &[String], reporter: &dyn Reporter) {
    let why = |name: &str| {
        plan.artifacts[name]
            .kind
            .unbuildable()
            .unwrap_or("of a kind this tool cannot make")
    };
    for name in skipped {
        let what = match &plan.artifacts[name].kind {
            crate::plan::ArtifactKind::Checksum { of, .. } => {
                format!("the checksum of {of}, which is {}", why(of))
            }
            _ => why(name).to_string(),
        };
        reporter.report(Event::Warning(format!(
            "not built: {name} ({what}); it stays in the plan and in dist-manifest.json without a file"
        )));
    }
}
