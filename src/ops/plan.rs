//! `plan` and `manifest`: the Universe and the selected artifacts with their recipe keys;
//! nothing built, nothing written.

use std::collections::BTreeMap;

use dist_store::{RecipeKey, Store};

use super::{load, report_packages, GlobalOpts, Loaded};
use crate::announce;
use crate::graph::{self, Env, RecipeGraph};
use crate::manifest::{build_manifest, ArtifactState, DistManifest, RecipeInfo};
use crate::plan::{self, ArtifactMode, Plan, PlanRequest};
use crate::report::Reporter;
use crate::sources::SourceHasher;
use crate::Error;

pub struct Planned {
    pub plan: Plan,
    pub graph: RecipeGraph,
    pub manifest: DistManifest,
}

/// The store, if one exists: `plan` must not create it.
pub fn existing_store(opts: &GlobalOpts) -> Result<Option<Store>, Error> {
    let root = Store::resolve_root(opts.store.as_deref())?;
    if root.join("index.sqlite").is_file() {
        Ok(Some(Store::open(&root)?))
    } else {
        Ok(None)
    }
}

/// sha256 of a stored recipe's first output.
pub fn stored_sha256(store: Option<&Store>, key: &RecipeKey) -> Option<String> {
    let rec = store?.get(key).ok()??;
    rec.outputs.first().map(|o| o.sha256.clone())
}

/// Plans one announcement and computes every recipe key.
pub fn plan_announcement(
    loaded: &Loaded,
    ann: &announce::Announcement,
    req: &PlanRequest,
    store: Option<&Store>,
    hasher: &mut SourceHasher,
) -> Result<(Plan, RecipeGraph), Error> {
    let plan = plan::plan(&loaded.ws, &loaded.cfg, ann, req)?;
    // vars_os: one non-UTF-8 variable anywhere must not stop a plan; such values cannot be
    // allow-listed inputs anyway.
    let vars: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let known = |k: &RecipeKey| stored_sha256(store, k);
    let env = Env {
        vars: &vars,
        known_sha256: &known,
    };
    let graph = graph::graph(
        &loaded.ws,
        &loaded.cfg,
        &loaded.toolchain,
        &plan,
        &env,
        hasher,
    )?;
    Ok((plan, graph))
}

/// Recipe facts for the manifest of a plan that builds nothing.
pub fn planned_states(
    plan: &Plan,
    graph: &RecipeGraph,
    store: Option<&Store>,
) -> Result<BTreeMap<String, ArtifactState>, Error> {
    let mut states = BTreeMap::new();
    for a in plan.artifacts.values().filter(|a| a.selected) {
        // Kinds planned but not made here have no recipe.
        let Some(node) = graph.artifacts.get(&a.name) else {
            states.insert(a.name.clone(), ArtifactState::default());
            continue;
        };
        let record = match store {
            Some(s) if s.is_cached(&node.key)? => s.get(&node.key)?,
            _ => None,
        };
        let output = record.as_ref().and_then(|r| r.outputs.first());
        states.insert(
            a.name.clone(),
            ArtifactState {
                recipe: Some(RecipeInfo {
                    key: node.key.to_hex(),
                    cached: record.is_some(),
                    blake3: output.map(|o| o.digest.to_hex()),
                    inputs: BTreeMap::new(),
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
    let loaded = load(opts)?;
    super::generate::refuse_if_dirty(&loaded, opts, reporter)?;
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
    let req = PlanRequest {
        mode: opts.artifacts.unwrap_or(ArtifactMode::Host),
        targets: &opts.targets,
        host: loaded.toolchain.host(),
    };
    let store = existing_store(opts)?;
    let mut hasher = SourceHasher::default();
    announcements
        .iter()
        .map(|ann| {
            let (plan, graph) = plan_announcement(&loaded, ann, &req, store.as_ref(), &mut hasher)?;
            let states = planned_states(&plan, &graph, store.as_ref())?;
            let mut manifest = build_manifest(&plan, &states);
            super::notes::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
            Ok(Planned {
                plan,
                graph,
                manifest,
            })
        })
        .collect()
}
