//! `build`: plan, then make every selected artifact through the store, materialise them into
//! `target/distrib/`, and write `target/distrib/dist-manifest.json`.

use std::collections::BTreeMap;

use dist_store::{RecipeKey, Store, StoreError};

use super::{load, report_packages, GlobalOpts, Loaded};
use super::{plan_announcement, Planned};
use crate::announce;
use crate::execute::{phases, BuildOptions, Distrib, ExecuteError, Executor};
use crate::graph::RecipeGraph;
use crate::manifest::{apply_states, build_manifest};
use crate::plan::{ArtifactMode, Plan, PlanRequest};
use crate::provenance;
use crate::report::{Event, Reporter};
use crate::Error;

/// How `build` runs its recipes.
#[derive(Debug, Clone, Default)]
pub struct How {
    /// Rebuild cached recipes and fail if the bytes differ.
    pub rebuild: bool,
    /// Fail a cargo build that cannot run fully isolated.
    pub require_isolation: bool,
    /// Where the artifacts and manifest go instead of `target/distrib/` (`verify`'s rebuild).
    pub into: Option<std::path::PathBuf>,
    /// `verify`'s rebuild: sign as the release was signed, taking its signed files.
    pub adopt: Option<crate::signing::Adopted>,
    /// `verify`'s rebuild of a `build-local-artifacts = false` release: the per-target files
    /// are the release's (its download directory), as the global job took them.
    pub user_files: Option<std::path::PathBuf>,
}

pub fn build(opts: &GlobalOpts, how: How, reporter: &dyn Reporter) -> Result<Planned, Error> {
    // A corrupt object found mid-build was quarantined and its recipes dropped: one more pass
    // rebuilds exactly those.
    match build_once(opts, &how, reporter) {
        Err(Error::Execute(ExecuteError::Store(e @ StoreError::Corrupt { .. })))
        | Err(Error::Store(e @ StoreError::Corrupt { .. })) => {
            reporter.report(Event::Warning(e.to_string()));
            build_once(opts, &how, reporter)
        }
        other => other,
    }
}

fn build_once(opts: &GlobalOpts, how: &How, reporter: &dyn Reporter) -> Result<Planned, Error> {
    // Needed by the first cargo build: asked for (rustup's proxy is slow) beside the loading.
    crate::execute::prefetch_toolchain_dir(
        super::manifest_dir(opts).unwrap_or(std::path::Path::new(".")),
    );
    let mut loaded = load(opts)?;
    loaded.adopted = how.adopt.clone();
    // A bad provenance key fails the build before anything is built, not after.
    let (key, key_file) = crate::env::provenance_signing_key();
    let signer = provenance::signing_key(key.as_deref(), key_file.as_deref())?;
    super::refuse_if_dirty(&loaded, opts, reporter)?;
    let ann = match announce::announce(&loaded.candidates, loaded.tag.as_deref()) {
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
        adopt: how.adopt.as_ref().map(|a| a.dir.clone()),
        user_files: match &how.user_files {
            Some(dir) => Some(dir.clone()),
            None => (req.mode == ArtifactMode::Global
                && loaded.cfg.global.user_local_builds
                && how.into.is_none())
            .then(|| loaded.ws.target_dir.join("distrib")),
        },
    };
    let remote = super::remote::connect(opts, &loaded.cfg.global, reporter)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let mut ex = Executor::new(&loaded.ws, &store, &bopts, reporter).with_remote(remote.as_ref());
    // Planned once: the global phase's installers and sha256.sum learn the checksums of the
    // archives the local phase built (see `execute::phases`).
    let (plan, mut graph) = plan_announcement(&loaded, &ann, &req, Some(&store), &mut hasher)?;
    if how.adopt.is_none() {
        report_unsigned(&loaded, &plan, reporter)?;
    }
    let mut regraph =
        |more: &_| super::recipe_graph_knowing(&loaded, &plan, Some(&store), more, &mut hasher);
    let built = phases::run(&mut ex, &plan, &mut graph, req.mode, &mut regraph)?;

    let mut distrib = match &how.into {
        Some(dir) => Distrib::open_at(&loaded.ws, dir.clone())?,
        None => Distrib::open(&loaded.ws)?,
    };
    let root = (!opts.no_local_paths).then_some(loaded.ws.root.as_path());
    let states = distrib.materialize_all(&ex, &graph, &built, root)?;
    let mut manifest = build_manifest(&plan, &loaded.cfg.global);
    apply_states(&mut manifest, states);
    crate::changelog::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
    let written = distrib.write_manifest(&manifest)?;
    // Not for `verify`'s rebuild, which compares the release's own statement.
    if matches!(req.mode, ArtifactMode::Global | ArtifactMode::All) && how.into.is_none() {
        write_provenance(&loaded, &plan, &graph, &mut ex, &distrib, signer.as_ref())?;
    }
    // After the artifacts are in place: a slow or failing upload delays nothing a user needs.
    ex.upload()?;
    Ok(Planned {
        plan,
        graph,
        manifest,
        written: Some(written),
    })
}

/// Signing asked for without a key (a fork's pull request, a developer's machine): the files
/// are unsigned, said once per platform.
fn report_unsigned(loaded: &Loaded, plan: &Plan, reporter: &dyn Reporter) -> Result<(), Error> {
    use crate::signing;
    use dist_recipes::target::Target;
    let targets = || plan.releases.iter().flat_map(|r| &r.targets);
    let vars = crate::env::all();
    let global = &loaded.cfg.global;
    let unsigned = |on: bool, os: fn(&str) -> bool, key: Option<signing::SigningKey>| {
        on && targets().any(|t| os(t)) && key.is_none()
    };
    let ssldotcom = global.ssldotcom_windows_sign;
    let windows_key =
        signing::windows_key(ssldotcom, &vars).map_err(crate::graph::GraphError::from)?;
    if unsigned(global.windows_sign, |t| Target(t).is_windows(), windows_key) {
        let esigner = match ssldotcom {
            Some(_) => format!(", or SSL.com's {}", crate::esigner::USERNAME),
            None => String::new(),
        };
        reporter.report(Event::Warning(format!(
            "Windows files are unsigned: `windows-sign` is on, but no signing key is set ({}, {} or {}{esigner})",
            signing::PKCS12,
            signing::PKCS12_FILE,
            signing::PKCS11_MODULE
        )));
    }
    let apple_key = signing::apple_key(&vars).map_err(crate::graph::GraphError::from)?;
    if unsigned(global.macos_sign, |t| Target(t).is_darwin(), apple_key) {
        reporter.report(Event::Warning(format!(
            "macOS binaries are unsigned: `macos-sign` is on, but {} is not set",
            signing::CODESIGN_CERTIFICATE
        )));
    }
    Ok(())
}

/// What the provenance statement says of the workspace: the sha256 of each config file (every
/// Cargo workspace's manifest and the dist file) and every Cargo workspace's locked packages
/// (the graph's crate sources), as one list.
fn config_and_crates(
    ws: &crate::workspace::Workspace,
    graph: &RecipeGraph,
) -> (
    BTreeMap<String, String>,
    Option<dist_recipes::recipe::CrateSources>,
) {
    let manifests: Vec<String> = ws
        .cargo_roots()
        .iter()
        .map(|cw| crate::workspace::relative(&ws.root, &cw.manifest_path))
        .collect();
    let dist_file = ws.dist_file.as_ref().map(|d| d.path.as_str());
    let mut config = BTreeMap::new();
    for file in manifests.iter().map(String::as_str).chain(dist_file) {
        if let Ok(sum) = dist_recipes::archive::sha256_file(&ws.root.join(file)) {
            config.insert(file.to_string(), sum);
        }
    }
    let crates = graph
        .crate_sources
        .iter()
        .filter_map(|n| match &n.recipe {
            dist_recipes::recipe::Recipe::CrateSources(s) => Some(s.clone()),
            _ => None,
        })
        .reduce(|mut all, more| {
            all.crates.extend(more.crates);
            all.git.extend(more.git);
            all
        });
    (config, crates)
}

/// The release's provenance statement ([`provenance`]), beside the manifest: written where the
/// global phase runs, once every artifact of the announcement is in the store (or the remote
/// store). Each one the store holds is a subject; the others are named in a warning.
fn write_provenance(
    loaded: &Loaded,
    plan: &Plan,
    graph: &RecipeGraph,
    ex: &mut Executor,
    distrib: &Distrib,
    signer: Option<&ed25519_dalek::SigningKey>,
) -> Result<(), Error> {
    let wanted: Vec<(RecipeKey, &str)> = plan
        .artifacts
        .keys()
        .filter_map(|name| graph.artifacts.get(name).map(|n| (n.key, name.as_str())))
        .collect();
    // Other runners' artifacts (checksum files, packages) may be in the remote store only.
    ex.prefetch_keys(&wanted)?;
    let keys: Vec<RecipeKey> = wanted.iter().map(|(k, _)| *k).collect();
    let records = ex.store.get_cached_many(&keys)?;
    let (mut subjects, mut recipe_keys, mut missing) = (Vec::new(), BTreeMap::new(), Vec::new());
    for (key, name) in &wanted {
        recipe_keys.insert(name.to_string(), key.to_hex());
        match records.get(key) {
            Some(rec) => {
                let out = crate::execute::artifact_output(&rec.outputs, name);
                subjects.push(provenance::Subject {
                    name: name.to_string(),
                    digest: BTreeMap::from([
                        ("blake3".to_string(), out.digest.to_hex()),
                        ("sha256".to_string(), out.sha256.clone()),
                    ]),
                });
            }
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        // Files of the user's own jobs are not this tool's to vouch for.
        let why = match ex.opts.user_files {
            Some(_) => "not made by this tool (build-local-artifacts = false: your jobs make the per-target files)",
            None => "not in the store (import the build jobs' store bundles first, or use a remote store)",
        };
        ex.reporter.report(Event::Warning(format!(
            "{} leaves out {}: {why}",
            provenance::FILE_NAME,
            missing.join(", ")
        )));
    }
    if signer.is_none() {
        ex.reporter.report(Event::Warning(format!(
            "{} is unsigned: set {} to sign it (`cargo dist store keygen` makes a key pair)",
            provenance::FILE_NAME,
            provenance::SIGNING_KEY_VAR
        )));
    }
    let ws = &loaded.ws;
    let toolchain = loaded.rustc.get()?;
    let (config, crates) = config_and_crates(ws, graph);
    let repository = plan
        .releases
        .iter()
        .find_map(|r| r.github.as_ref())
        .map(|g| format!("https://github.com/{}/{}", g.owner, g.repo));
    let commit = ws
        .git_root
        .as_deref()
        .and_then(|root| crate::workspace::git_commit(root, None));
    let statement = provenance::statement(provenance::Facts {
        tag: &plan.announcement.tag,
        repository: repository.as_deref(),
        commit: commit.as_deref(),
        config,
        toolchain: &toolchain.fields,
        crates: crates.as_ref(),
        recipe_keys,
        subjects,
    });
    distrib.write_file(
        provenance::FILE_NAME,
        provenance::seal(&statement, signer).as_bytes(),
    )?;
    Ok(())
}
