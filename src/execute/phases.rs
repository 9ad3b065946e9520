//! The two phases of a build: the local artifacts (archives, checksums, ...) first, then the
//! global ones (installers, `sha256.sum`), whose recipes embed the checksums of the archives
//! and so learn them, and their keys, in between (the plan and recipe graph are made once).
//! With a remote store, the archives other runners built are fetched before that. Global
//! artifacts that embed no checksum (the source tarball, an MSI) run beside the local ones.

use std::collections::BTreeMap;

use dist_recipes::recipe::Recipe;
use dist_store::{RecipeKey, RecipeRecord};

use super::{ExecuteError, Executor};
use crate::graph::{Node, RecipeGraph};
use crate::plan::{ArtifactMode, Plan};
use crate::report::{Event, Reporter};

/// What the phases made: each selected artifact's record and whether it was cached.
pub type Built = BTreeMap<String, (RecipeRecord, bool)>;

/// The sha256 of recipes the store does not hold, by key (the user's own files).
pub type MoreKnown = BTreeMap<RecipeKey, String>;

/// Runs both phases of `plan`; `regraph` makes the graph again, knowing what the store does
/// and the given sha256, in the one case [`RecipeGraph::learn_checksums`] cannot re-key in
/// place.
pub fn run<E: From<ExecuteError>>(
    ex: &mut Executor,
    plan: &Plan,
    graph: &mut RecipeGraph,
    mode: ArtifactMode,
    regraph: &mut dyn FnMut(&MoreKnown) -> Result<RecipeGraph, E>,
) -> Result<Built, E> {
    let mut built = Built::new();
    let mut skipped = Vec::new();
    for local in [true, false] {
        if !local {
            learn_checksums(ex, plan, graph, regraph)?;
            if mode == ArtifactMode::Global {
                require_every_archive(ex, plan, graph)?;
            } else {
                report_unsummed(plan, graph, ex.reporter);
            }
        }
        let phase = || {
            plan.artifacts
                .values()
                .filter(|a| a.selected && plan.is_local(a) == local)
        };
        let early = || {
            plan.artifacts
                .values()
                .filter(|a| local && a.selected && !plan.is_local(a))
                .filter_map(|a| graph.artifacts.get(&a.name))
                .filter(|n| !embeds_archive_checksums(graph, n))
        };
        let users = ex.opts.user_files.is_some();
        let roots: Vec<&Node> = phase()
            .filter_map(|a| graph.artifacts.get(&a.name))
            .chain(early())
            .filter(|n| !(users && needs_a_build(graph, n)))
            .collect();
        ex.prefetch(graph, roots.iter().copied())?;
        ex.ensure_all(graph, roots.iter().copied())?;
        for a in phase() {
            match graph.artifacts.get(&a.name).and_then(|n| ex.outcome(n)) {
                Some(r) => {
                    built.insert(a.name.clone(), r.clone());
                }
                None => skipped.push(a.name.clone()),
            }
        }
    }
    report_skipped(plan, &skipped, graph, ex);
    Ok(built)
}

/// Whether making `node` runs a build of the workspace (an MSI is made from the Windows build).
fn needs_a_build(graph: &RecipeGraph, node: &Node) -> bool {
    matches!(node.recipe, Recipe::CargoBuild(_) | Recipe::GenericBuild(_))
        || graph
            .deps(node)
            .any(|(edge, dep)| edge.required && needs_a_build(graph, dep))
}

/// Between the phases: the checksums of archives other runners built come from the remote
/// store (when there is one); then the installers and `sha256.sum` learn every checksum the
/// store knows.
fn learn_checksums<E: From<ExecuteError>>(
    ex: &mut Executor,
    plan: &Plan,
    graph: &mut RecipeGraph,
    regraph: &mut dyn FnMut(&MoreKnown) -> Result<RecipeGraph, E>,
) -> Result<(), E> {
    if ex.remote.is_some() {
        let wanted: Vec<(RecipeKey, String)> = unsummed(plan, graph)
            .map(|(_, name, _, key)| (key, name.to_string()))
            .collect();
        let asked: Vec<(RecipeKey, &str)> = wanted.iter().map(|(k, n)| (*k, n.as_str())).collect();
        if !asked.is_empty() {
            ex.prefetch_keys(&asked)?;
        }
    }
    let users = users_files(ex, plan, graph)?;
    // One read transaction for the lot: each installer asks about every archive it covers.
    let in_place = ex.store.reading(|store| {
        Ok(graph.learn_checksums(&|k: &RecipeKey| {
            (store.first_sha256(k).ok().flatten()).or_else(|| users.get(k).cloned())
        }))
    });
    if !in_place.map_err(ExecuteError::from)? {
        *graph = regraph(&users)?;
    }
    Ok(())
}

/// `build-local-artifacts = false`, in the global build: the sha256 of each per-target file
/// this store lacks that the user's jobs left in `target/distrib/` under its planned name, by
/// the key it was planned with. Nothing vouches that the file is what that recipe would make,
/// so it is not stored under the key; the installers and `sha256.sum` cover these bytes, and
/// each file taken is said.
fn users_files(ex: &Executor, plan: &Plan, graph: &RecipeGraph) -> Result<MoreKnown, ExecuteError> {
    let Some(dir) = &ex.opts.user_files else {
        return Ok(BTreeMap::new());
    };
    // Only what the installers and the unified checksum cover: archives and updaters.
    let covered: std::collections::BTreeSet<RecipeKey> = graph
        .artifacts
        .values()
        .flat_map(|n| -> Vec<RecipeKey> {
            match &n.recipe {
                Recipe::Installer(i) => i
                    .app
                    .artifacts
                    .iter()
                    .flat_map(|a| std::iter::once(a.key).chain(a.updater.as_ref().map(|u| u.key)))
                    .collect(),
                Recipe::UnifiedChecksum(u) => u.archives.values().map(|r| r.key).collect(),
                _ => Vec::new(),
            }
        })
        .collect();
    let mut found = BTreeMap::new();
    for a in plan.artifacts.values().filter(|a| plan.is_local(a)) {
        let (Some(node), path) = (graph.artifacts.get(&a.name), dir.join(&a.name)) else {
            continue;
        };
        if !covered.contains(&node.key)
            || !path.is_file()
            || ex.store.first_sha256(&node.key)?.is_some()
        {
            continue;
        }
        let sha =
            dist_recipes::archive::sha256_file(&path).map_err(|e| ExecuteError::UserFile {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        ex.reporter.report(Event::Step(format!(
            "took {} from {} (build-local-artifacts = false: made by a job of yours, not by this tool; sha256 {sha})",
            a.name,
            shown(ex, dir)
        )));
        found.insert(node.key, sha);
    }
    Ok(found)
}

/// Whether `node`'s key changes once this run's archives are built: installers and the unified
/// checksum embed archive checksums, and so does anything made from them.
fn embeds_archive_checksums(graph: &RecipeGraph, node: &Node) -> bool {
    matches!(
        node.recipe,
        Recipe::Installer(_) | Recipe::UnifiedChecksum(_)
    ) || graph
        .deps(node)
        .any(|(_, dep)| embeds_archive_checksums(graph, dep))
}

/// The selected installers and unified checksum with the archives they cover whose checksum is
/// not known yet (built on other runners): (artifact, archive, its target, its key).
fn unsummed<'a>(
    plan: &'a Plan,
    graph: &'a RecipeGraph,
) -> impl Iterator<Item = (&'a str, &'a str, &'a str, RecipeKey)> {
    plan.artifacts
        .values()
        .filter(|a| a.selected && !plan.is_local(a))
        .filter_map(|a| Some((a.name.as_str(), &graph.maker(&a.name)?.recipe)))
        .flat_map(|(artifact, recipe)| {
            let archives: Vec<(&str, &str, RecipeKey, bool)> = match recipe {
                // (The `packages` style's npm package names no archive's checksum.)
                Recipe::Installer(i) if i.installer.reads_archives() => i
                    .app
                    .artifacts
                    .iter()
                    .map(|a| {
                        (
                            a.file_name.as_str(),
                            a.target.as_str(),
                            a.key,
                            a.sha256.is_some(),
                        )
                    })
                    .collect(),
                Recipe::UnifiedChecksum(u) => u
                    .archives
                    .iter()
                    .map(|(n, r)| (n.as_str(), r.target.as_str(), r.key, r.sha256.is_some()))
                    .collect(),
                _ => Vec::new(),
            };
            archives
                .into_iter()
                .filter(|(.., known)| !known)
                .map(move |(name, target, key, _)| (artifact, name, target, key))
        })
}

/// A global build (`--artifacts=global`, the CI job) must know the checksum of every archive its
/// installers and `sha256.sum` cover; otherwise it would publish installers that refuse to
/// install. (`host` and `all` with chosen targets build them with what they have.)
fn require_every_archive(
    ex: &Executor,
    plan: &Plan,
    graph: &RecipeGraph,
) -> Result<(), ExecuteError> {
    let Some((artifact, archive, target, _)) = unsummed(plan, graph).next() else {
        return Ok(());
    };
    let (artifact, archive, target) = (artifact.into(), archive.into(), target.into());
    Err(match ex.opts.user_files.as_deref() {
        Some(dir) => ExecuteError::MissingUserArchive {
            artifact,
            archive,
            target,
            dir: shown(ex, dir),
        },
        None => ExecuteError::MissingArchive {
            artifact,
            archive,
            target,
        },
    })
}

/// The directory the user's files are read from: `target/distrib`, as the README names it,
/// or (`verify`'s rebuild) the release's download directory.
fn shown(ex: &Executor, dir: &std::path::Path) -> String {
    match dir == ex.ws.target_dir.join("distrib") {
        true => "target/distrib".into(),
        false => dir.display().to_string(),
    }
}

/// Outside the CI's global job, installers and the unified checksum are made with the archives
/// this store knows: says once which platforms they have no checksum for.
fn report_unsummed(plan: &Plan, graph: &RecipeGraph, reporter: &dyn Reporter) {
    let missing: std::collections::BTreeSet<&str> = unsummed(plan, graph)
        .map(|(_, _, target, _)| target)
        .collect();
    if !missing.is_empty() {
        reporter.report(Event::Warning(format!(
            "no archive for {} is in the store (each target builds on its own runner), so this build's installers cannot check them (shell and PowerShell refuse them, Homebrew fetches them unchecked, Scoop's manifest has no hash for them) and its checksum file leaves them out; CI's `build --artifacts=global` requires them all",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
}

/// Names, once, each selected artifact this tool plans but cannot make, and why.
fn report_skipped(plan: &Plan, skipped: &[String], graph: &RecipeGraph, ex: &Executor) {
    let (reporter, users) = (ex.reporter, ex.opts.user_files.is_some());
    let why = |name: &str| {
        plan.artifacts[name]
            .kind
            .unbuildable()
            .unwrap_or("of a kind this tool cannot make")
    };
    for name in skipped {
        if users
            && graph
                .artifacts
                .get(name)
                .is_some_and(|n| needs_a_build(graph, n))
        {
            reporter.report(Event::Warning(format!(
                "not built: {name} (build-local-artifacts = false: it is made from a target's build, which is your jobs'; make it there and upload it as an `artifacts-*` artifact)"
            )));
            continue;
        }
        let what = match plan.artifacts[name].kind.describes() {
            Some((what, of)) => format!("the {what} of {of}, which is {}", why(of)),
            None => why(name).to_string(),
        };
        reporter.report(Event::Warning(format!(
            "not built: {name} ({what}); it stays in the plan and in dist-manifest.json without a file"
        )));
    }
}
