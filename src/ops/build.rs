//! `build`: plan, then make every selected artifact through the store, materialise them into
//! `target/distrib/`, and write `target/distrib/dist-manifest.json`.

use std::collections::BTreeMap;

use dist_store::{RecipeRecord, Store, StoreError};

use super::plan::{plan_announcement, Planned};
use super::{load, report_packages, GlobalOpts};
use crate::announce;
use crate::execute::{BuildOptions, ExecuteError, Executor};
use crate::manifest::{build_manifest, ArtifactState, RecipeInfo};
use crate::plan::{ArtifactMode, PlanRequest};
use crate::report::{Event, Reporter};
use crate::sources::SourceHasher;
use crate::workspace::relative;
use crate::Error;

pub fn build(opts: &GlobalOpts, rebuild: bool, reporter: &dyn Reporter) -> Result<Planned, Error> {
    // A corrupt object found mid-build was quarantined and its recipes dropped: one more pass
    // rebuilds exactly those.
    match build_once(opts, rebuild, reporter) {
        Err(Error::Execute(ExecuteError::Store(e @ StoreError::Corrupt { .. })))
        | Err(Error::Store(e @ StoreError::Corrupt { .. })) => {
            reporter.report(Event::Warning(e.to_string()));
            build_once(opts, rebuild, reporter)
        }
        other => other,
    }
}

fn build_once(opts: &GlobalOpts, rebuild: bool, reporter: &dyn Reporter) -> Result<Planned, Error> {
    let loaded = load(opts)?;
    super::generate::refuse_if_dirty(&loaded, opts)?;
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
        host: loaded.toolchain.host(),
    };
    let store = Store::open(&Store::resolve_root(opts.store.as_deref())?)?;
    let bopts = BuildOptions {
        rebuild,
        host: loaded.toolchain.host().to_string(),
    };
    let mut hasher = SourceHasher::default();
    let mut ex = Executor::new(&loaded.ws, &store, &bopts, reporter);
    let mut built: BTreeMap<String, (RecipeRecord, bool)> = BTreeMap::new();

    // Local artifacts first: global ones (installers, sha256.sum) embed their checksums, so their
    // keys are computed again once the archives are known.
    let mut planned = None;
    for local in [true, false] {
        let (plan, graph) = plan_announcement(&loaded, &ann, &req, Some(&store), &mut hasher)?;
        for a in plan
            .artifacts
            .values()
            .filter(|a| a.selected && a.is_local() == local)
        {
            let r = ex.ensure(&plan, &graph, &graph.artifacts[&a.name])?;
            built.insert(a.name.clone(), r);
        }
        planned = Some((plan, graph));
    }
    let (plan, graph) = planned.expect("both phases ran");

    let distrib = loaded.ws.target_dir.join("distrib");
    std::fs::create_dir_all(&distrib).map_err(crate::execute::io(format!(
        "creating {}",
        distrib.display()
    )))?;
    let mut states = BTreeMap::new();
    for (name, (rec, cached)) in &built {
        let dest = ex.materialize(rec, &distrib)?;
        let out = &rec.outputs[0];
        states.insert(
            name.clone(),
            ArtifactState {
                recipe: Some(RecipeInfo {
                    key: rec.key.to_hex(),
                    cached: *cached,
                    blake3: Some(out.digest.to_hex()),
                    inputs: super::compare::recorded_inputs(&store, rec),
                }),
                path: (!opts.no_local_paths).then(|| relative(&loaded.ws.root, &dest)),
                sha256: Some(out.sha256.clone()),
            },
        );
    }
    let mut manifest = build_manifest(&plan, &states);
    super::notes::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serializes") + "\n";
    crate::execute::write_atomic(&distrib.join("dist-manifest.json"), text.as_bytes())?;
    Ok(Planned {
        plan,
        graph,
        manifest,
    })
}
