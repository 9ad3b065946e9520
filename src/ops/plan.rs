//! `plan` and `manifest`: the Universe and the selected artifacts with their recipe keys;
//! nothing built, nothing written.

use std::collections::{BTreeMap, BTreeSet};

use dist_store::remote::{Found, Remote};
use dist_store::{RecipeKey, Store};

use super::{existing_store, load, recipe_graph, report_packages, GlobalOpts, Planned};
use crate::announce;
use crate::graph::RecipeGraph;
use crate::manifest::{apply_states, build_manifest, ArtifactState, DistManifest, RecipeInfo};
use crate::plan::{ArtifactMode, Plan, PlanRequest};
use crate::report::{Event, Reporter};
use crate::Error;

/// Recipe facts for the manifest of a plan that builds nothing.
pub fn planned_states(
    plan: &Plan,
    graph: &RecipeGraph,
    store: Option<&Store>,
    remote: Option<&Remote>,
) -> Result<BTreeMap<String, ArtifactState>, Error> {
    let mut states = BTreeMap::new();
    let selected: Vec<(&str, Option<&crate::graph::Node>)> = plan
        .artifacts
        .values()
        .filter(|a| a.selected)
        .map(|a| (a.name.as_str(), graph.artifacts.get(&a.name)))
        .collect();
    // Which of them the store has: one query for all.
    let keys: Vec<RecipeKey> = selected
        .iter()
        .filter_map(|(_, n)| n.map(|n| n.key))
        .collect();
    let cached = match store {
        Some(s) => s.cached_outputs(&keys)?,
        None => BTreeMap::new(),
    };
    // What the remote has of what the local store lacks: one concurrent batch of lookups.
    let mut on_remote = BTreeSet::new();
    if let Some(remote) = remote {
        let missing: Vec<RecipeKey> = keys
            .iter()
            .filter(|k| !cached.contains_key(k))
            .copied()
            .collect();
        on_remote = remote
            .lookup(&missing)
            .into_iter()
            .filter(|(_, f)| matches!(f, Found::Hit(_)))
            .map(|(k, _)| k)
            .collect();
    }
    for (name, node) in selected {
        // Kinds planned but not made here have no recipe.
        let Some(node) = node else {
            states.insert(name.to_string(), ArtifactState::default());
            continue;
        };
        let outputs = cached.get(&node.key);
        let output = outputs.map(|outs| crate::execute::artifact_output(outs, name));
        states.insert(
            name.to_string(),
            ArtifactState {
                recipe: Some(RecipeInfo {
                    key: node.key.to_hex(),
                    cached: outputs.is_some(),
                    blake3: output.map(|o| o.digest.to_hex()),
                    inputs: BTreeMap::new(),
                    isolation: None,
                    remote: on_remote.contains(&node.key),
                }),
                path: None,
                sha256: output.map(|o| o.sha256.clone()),
            },
        );
    }
    Ok(states)
}

/// `manifest`: one announcement (given or guessed). `plan` is this with `--artifacts=all
/// --no-local-paths`, and with no tag it lists every announcement instead of refusing.
pub fn manifest(
    opts: &GlobalOpts,
    every_announcement: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<Planned>, Error> {
    let mut loaded = load(opts)?;
    super::refuse_if_dirty(&loaded, opts, reporter)?;
    let announcements = match (&opts.tag, every_announcement) {
        (None, true) => announce::all_announcements(&loaded.candidates),
        (tag, _) => announce::announce(&loaded.candidates, tag.as_deref()).map(|a| vec![a]),
    };
    let announcements = match announcements {
        Ok(a) => a,
        Err(e) => {
            report_packages(&loaded, None, reporter);
            return Err(e.into());
        }
    };
    let summary_for = match announcements.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    report_packages(&loaded, summary_for, reporter);
    let mode = opts.artifacts.unwrap_or(ArtifactMode::Host);
    let req = PlanRequest {
        mode,
        targets: &opts.targets,
        host: match mode {
            ArtifactMode::Host => Some(loaded.rustc.get()?.host()),
            _ => None,
        },
    };
    let store = existing_store(opts)?;
    let remote = super::remote::connect(opts, &loaded.cfg.global, reporter)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let planned = announcements
        .iter()
        .map(|ann| {
            let plan = crate::plan::plan(&loaded.ws, &loaded.cfg, ann, &req)?;
            // The manifest and release notes need no recipe key: they are written on another
            // core while the keys are computed, and the artifacts' states filled in after.
            let (graph, states, manifest) = std::thread::scope(|s| {
                let unkeyed = s.spawn(|| -> Result<DistManifest, Error> {
                    let mut manifest = build_manifest(&plan, &loaded.cfg.global);
                    crate::changelog::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
                    Ok(manifest)
                });
                let keyed =
                    recipe_graph(&loaded, &plan, store.as_ref(), &mut hasher).and_then(|graph| {
                        let states =
                            planned_states(&plan, &graph, store.as_ref(), remote.as_ref())?;
                        Ok((graph, states))
                    });
                let manifest = unkeyed.join().expect("manifest thread");
                keyed.map(|(g, states)| (g, states, manifest))
            })?;
            let mut manifest = manifest?;
            apply_states(&mut manifest, states);
            Ok(Planned {
                written: None,
                plan,
                graph,
                manifest,
            })
        })
        .collect();
    if let Some(reason) = remote.as_ref().and_then(|r| r.down().map(|d| (r, d))) {
        reporter.report(Event::Warning(crate::execute::unreachable(
            reason.0, &reason.1,
        )));
    }
    planned
}
