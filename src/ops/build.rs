//! `build`: plan, then make every selected artifact through the store, materialise them into
//! `target/distrib/`, and write `target/distrib/dist-manifest.json`.

use dist_store::{Store, StoreError};

use super::{load, report_packages, GlobalOpts};
use super::{plan_announcement, Planned};
use crate::announce;
use crate::execute::{phases, BuildOptions, Distrib, ExecuteError, Executor};
use crate::manifest::{apply_states, build_manifest};
use crate::plan::{ArtifactMode, PlanRequest};
use crate::report::{Event, Reporter};
use crate::Error;

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
    // Held to the end of the build: a `store gc` meanwhile waits instead of removing what this
    // build has made and is about to read.
    let _hold = store.hold_shared()?;
    let bopts = BuildOptions {
        rebuild: how.rebuild,
        host: loaded.rustc.get()?.host().to_string(),
        require_isolation: how.require_isolation,
        jobs: BuildOptions::default_jobs(),
    };
    let remote = super::remote::connect(opts, &loaded.cfg.global, reporter)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let mut ex = Executor::new(&loaded.ws, &store, &bopts, reporter).with_remote(remote.as_ref());
    // Planned once: the global phase's installers and sha256.sum learn the checksums of the
    // archives the local phase built (see `execute::phases`).
    let (plan, mut graph) = plan_announcement(&loaded, &ann, &req, Some(&store), &mut hasher)?;
    let mut regraph = || super::recipe_graph(&loaded, &plan, Some(&store), &mut hasher);
    let built = phases::run(&mut ex, &plan, &mut graph, req.mode, &mut regraph)?;

    let mut distrib = Distrib::open(&loaded.ws)?;
    let root = (!opts.no_local_paths).then_some(loaded.ws.root.as_path());
    let states = distrib.materialize_all(&ex, &graph, &built, root)?;
    let mut manifest = build_manifest(&plan, &loaded.cfg.global);
    apply_states(&mut manifest, states);
    crate::changelog::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
    let written = distrib.write_manifest(&manifest)?;
    // After the artifacts are in place: a slow or failing upload delays nothing a user needs.
    ex.upload()?;
    Ok(Planned {
        plan,
        graph,
        manifest,
        written: Some(written),
    })
}
