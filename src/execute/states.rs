//! What the manifest says of each selected artifact's recipe, assembled here for both commands
//! that write one: `plan` (what the local and remote stores hold; nothing is built) and `build`
//! (what was made or found, with the recorded inputs and isolation). Where the file is comes
//! from `target/distrib/` ([`super::Distrib`]).

use std::collections::{BTreeMap, BTreeSet};

use dist_store::remote::{Found, Remote};
use dist_store::{OutputRecord, RecipeKey, Store};

use super::{ExecuteError, Executor};
use crate::graph::RecipeGraph;
use crate::manifest::{ArtifactState, RecipeInfo};
use crate::plan::Plan;

/// What the manifest says of one artifact's recipe: its key, whether it was cached or is on
/// the remote, its output's digests, and (for a build) its inputs and isolation.
struct Facts<'a> {
    key: &'a RecipeKey,
    cached: bool,
    remote: bool,
    output: Option<&'a OutputRecord>,
    inputs: BTreeMap<String, String>,
    isolation: Option<String>,
}

fn state(f: Facts) -> ArtifactState {
    let Facts {
        key,
        cached,
        remote,
        output,
        inputs,
        isolation,
    } = f;
    ArtifactState {
        recipe: Some(RecipeInfo {
            key: key.to_hex(),
            cached,
            blake3: output.map(|o| o.digest.to_hex()),
            inputs,
            isolation,
            remote,
        }),
        path: None,
        sha256: output.map(|o| o.sha256.clone()),
    }
}

/// For a plan that builds nothing: each selected artifact's key, and whether the local store
/// (one query for all) or else the remote (one concurrent batch of lookups) has it.
pub fn planned(
    plan: &Plan,
    graph: &RecipeGraph,
    store: Option<&Store>,
    remote: Option<&Remote>,
) -> Result<BTreeMap<String, ArtifactState>, ExecuteError> {
    let selected: Vec<(&str, Option<&crate::graph::Node>)> = plan
        .artifacts
        .values()
        .filter(|a| a.selected)
        .map(|a| (a.name.as_str(), graph.artifacts.get(&a.name)))
        .collect();
    let keys: Vec<RecipeKey> = selected
        .iter()
        .filter_map(|(_, n)| n.map(|n| n.key))
        .collect();
    let cached = match store {
        Some(s) => s.cached_outputs(&keys)?,
        None => BTreeMap::new(),
    };
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
    let mut states = BTreeMap::new();
    for (name, node) in selected {
        // Kinds planned but not made here have no recipe.
        let st = match node {
            None => ArtifactState::default(),
            Some(node) => {
                let outputs = cached.get(&node.key);
                state(Facts {
                    key: &node.key,
                    cached: outputs.is_some(),
                    remote: on_remote.contains(&node.key),
                    output: outputs.map(|outs| super::artifact_output(outs, name)),
                    inputs: BTreeMap::new(),
                    isolation: None,
                })
            }
        };
        states.insert(name.to_string(), st);
    }
    Ok(states)
}

/// For a build: each artifact made or found, with the inputs its key was computed from and the
/// isolation of the cargo builds behind it.
pub(crate) fn built(
    ex: &Executor,
    graph: &RecipeGraph,
    built: &super::phases::Built,
) -> BTreeMap<String, ArtifactState> {
    let mut recorded = crate::graph::Recorded::default();
    let mut states = BTreeMap::new();
    for (name, (rec, cached)) in built {
        let node = graph.artifacts.get(name);
        let st = state(Facts {
            key: &rec.key,
            cached: *cached,
            remote: ex.from_remote(&rec.key),
            output: Some(super::artifact_output(&rec.outputs, name)),
            inputs: node
                .map(|n| (*graph.recorded(n, &mut recorded)).clone())
                .unwrap_or_default(),
            isolation: node
                .and_then(|n| ex.isolation_of(graph, n))
                .map(|l| l.as_str().to_string()),
        });
        states.insert(name.clone(), st);
    }
    states
}
