//! Execute stage: every selected artifact's recipe is looked up in the store by key; a hit is
//! materialised as is, a miss is built (cargo builds in a sandbox, archives and the rest in a temp
//! dir), stored, then materialised into `target/distrib/`.

mod cargo;
mod crate_build;
mod distrib;
mod extra;
mod generic;
mod msi;
pub mod phases;
mod produce;
mod remote;
mod sbom;
mod schedule;
mod stamps;
pub mod states;
mod vendor;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use dist_store::remote::Remote;
use dist_store::{RecipeKey, RecipeRecord, Store, StoreError};

use crate::graph::{Node, RecipeGraph};
use crate::isolation::Isolation;
use crate::report::{Event, RecipeAction, Reporter};
use crate::workspace::Workspace;

pub use cargo::{prefetch_toolchain_dir, CargoError};
pub use distrib::Distrib;
pub use remote::unreachable;

/// The pinned rcodesign, if it is installed (`compare` uses it, never installs it).
pub fn installed_rcodesign() -> Option<std::path::PathBuf> {
    let version = crate::signing::APPLE_CODESIGN_VERSION;
    let bin = cargo::installed_tool("apple-codesign", version, "rcodesign")?;
    Some(bin.join("rcodesign"))
}

/// The pinned rcodesign (apple-codesign, without its smartcard and cloud features), installed
/// into the tools directory when missing.
pub fn rcodesign() -> Result<std::path::PathBuf, CargoError> {
    let version = crate::signing::APPLE_CODESIGN_VERSION;
    let bin = cargo::cargo_tool_with(
        "apple-codesign",
        version,
        "rcodesign",
        &["--no-default-features"],
    )?;
    Ok(bin.join("rcodesign"))
}

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cargo(#[from] CargoError),
    #[error(transparent)]
    Sign(#[from] crate::signing::SignError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: the file system is full ({source}); nothing half-made was kept or recorded: free space (`cargo dist store gc --max-size 2G`, or `target/`) and build again")]
    Full {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the extra-artifacts command `{command}`: {message}")]
    Extra { command: String, message: String },
    #[error("the build command `{command}` of {package} for {target}: {message}")]
    Generic {
        package: String,
        target: String,
        command: String,
        message: String,
    },
    #[error("writing {artifact}: {message}")]
    Write { artifact: String, message: String },
    #[error("{artifact} needs {archive}, which is not in the store: build it first with `cargo dist build --artifacts=local --target={target}` on a {target} runner, and bring its store here with `cargo dist store export`/`import`")]
    MissingArchive {
        artifact: String,
        archive: String,
        target: String,
    },
    #[error("{artifact} needs {archive}, which is not in {dir}: with `build-local-artifacts = false` the global build takes each target's archive from there, so your `local-artifacts-jobs` must build it for {target} and upload it as an `artifacts-*` artifact (the generated workflow downloads those into {dir} before this build)")]
    MissingUserArchive {
        artifact: String,
        archive: String,
        target: String,
        dir: String,
    },
    #[error(
        "could not read {path} (build-local-artifacts = false: a file of your jobs'): {message}"
    )]
    UserFile { path: String, message: String },
    #[error("NOT REPRODUCIBLE: rebuilding {label} (recipe {key}) gave different bytes than the stored build:\n{}\n  this is a reproducibility bug: something outside the recipe's inputs reaches the build", differences.join("\n"))]
    NotReproducible {
        label: String,
        key: String,
        differences: Vec<String>,
    },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExecuteError {
    let what = what.into();
    move |source| match source.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            ExecuteError::Full { what, source }
        }
        _ => ExecuteError::Io { what, source },
    }
}

pub struct BuildOptions {
    /// Rebuild cached recipes and fail if the bytes differ.
    pub rebuild: bool,
    /// The host target: the only one cargo builds here.
    pub host: String,
    /// Fail a cargo build that cannot run fully isolated instead of running it with less.
    pub require_isolation: bool,
    /// How many recipes may run at once (at most one of them a cargo build): the cores, or
    /// `CARGO_DIST_JOBS`.
    pub jobs: usize,
    /// `verify`'s rebuild: signing recipes take the release's signed files from this directory
    /// ([`crate::signing::Adopted`]) instead of signing.
    pub adopt: Option<std::path::PathBuf>,
    /// `build-local-artifacts = false`, in a global build: the directory the user's jobs' files
    /// were downloaded to (`target/distrib/`), where archives this store lacks are taken from.
    pub user_files: Option<std::path::PathBuf>,
}

impl BuildOptions {
    /// The default for [`BuildOptions::jobs`]: `CARGO_DIST_JOBS` if set to a positive number,
    /// else the cores this process may use.
    pub fn default_jobs() -> usize {
        crate::env::jobs()
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

pub struct Executor<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub opts: &'a BuildOptions,
    pub reporter: &'a dyn Reporter,
    /// Records of recipes made or found during this run, by key.
    done: BTreeMap<RecipeKey, (RecipeRecord, bool)>,
    /// A build ran with less than full isolation (said once per run, by whichever worker saw
    /// it first).
    warned_isolation: AtomicBool,
    /// The remote store behind the local one.
    remote: Option<&'a Remote>,
    /// Recipes this run took from the remote.
    pulled: BTreeSet<RecipeKey>,
    /// Recipes this run built, to upload.
    fresh: Vec<RecipeRecord>,
    /// Kinds of remote trouble already reported: each is said once per run.
    remote_warned: BTreeSet<&'static str>,
    /// Stored recipes this run used, marked used in one transaction ([`Executor::flush_touched`]).
    touched: Vec<RecipeKey>,
}

impl<'a> Executor<'a> {
    pub fn new(
        ws: &'a Workspace,
        store: &'a Store,
        opts: &'a BuildOptions,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Executor {
            ws,
            store,
            opts,
            reporter,
            done: BTreeMap::new(),
            warned_isolation: AtomicBool::new(false),
            remote: None,
            pulled: BTreeSet::new(),
            fresh: Vec::new(),
            remote_warned: BTreeSet::new(),
            touched: Vec::new(),
        }
    }

    /// Looks recipes up in `remote` when the local store lacks them, and uploads what it builds.
    pub fn with_remote(mut self, remote: Option<&'a Remote>) -> Self {
        self.remote = remote;
        self
    }

    /// Whether this run took `key` from the remote store.
    pub fn from_remote(&self, key: &RecipeKey) -> bool {
        self.pulled.contains(key)
    }

    /// Makes sure the recipe of `node` is in the store; returns its record and whether it was
    /// already there.
    pub fn ensure(
        &mut self,
        graph: &RecipeGraph,
        node: &Node,
    ) -> Result<(RecipeRecord, bool), ExecuteError> {
        self.ensure_all(graph, [node])?;
        Ok(self.done[&node.key].clone())
    }

    /// The record of `node` made or found by [`Executor::ensure_all`], and whether it was
    /// already in the store.
    pub fn outcome(&self, node: &Node) -> Option<&(RecipeRecord, bool)> {
        self.done.get(&node.key)
    }

    /// Takes `node` from the store if it is there and may be (not a `--rebuild`, or a
    /// fixed-output recipe): a stored recipe needs none of its inputs (they may live on another
    /// runner, or not have been fetched from the remote at all).
    fn take_stored(&mut self, node: &Node) -> Result<bool, ExecuteError> {
        self.take_all_stored(&[node])?;
        Ok(self.done.contains_key(&node.key))
    }

    /// [`Executor::take_stored`] of every one of `nodes`, with one store transaction: a warm
    /// build finds all its artifacts this way and looks no further.
    fn take_all_stored(&mut self, nodes: &[&Node]) -> Result<(), ExecuteError> {
        let started = Instant::now();
        let keys: Vec<RecipeKey> = nodes
            .iter()
            .filter(|n| !self.done.contains_key(&n.key))
            .filter(|n| !self.opts.rebuild || n.recipe.is_fixed_output())
            .map(|n| n.key)
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let mut found = self.store.get_cached_many(&keys)?;
        for node in nodes {
            if let Some(rec) = found.remove(&node.key) {
                self.touched.push(node.key);
                self.report_cached(node, started);
                self.done.insert(node.key, (rec, true));
            }
        }
        Ok(())
    }

    /// Marks the stored recipes this run used as used now (gc keeps recent ones).
    pub(crate) fn flush_touched(&mut self) -> Result<(), ExecuteError> {
        let keys = std::mem::take(&mut self.touched);
        Ok(self.store.touch_all(&keys)?)
    }

    fn report_cached(&self, node: &Node, started: Instant) {
        let action = if self.pulled.contains(&node.key) {
            RecipeAction::CachedRemote
        } else {
            RecipeAction::Cached
        };
        self.reporter.report(Event::Recipe {
            label: &node.label,
            action,
            elapsed: started.elapsed(),
        });
    }

    /// How the cargo builds behind `node` were isolated: the weakest level any of them (made
    /// in this run or found in the store) recorded.
    pub fn isolation_of(&self, graph: &RecipeGraph, node: &Node) -> Option<Isolation> {
        if matches!(node.recipe, dist_recipes::recipe::Recipe::CargoBuild(_)) {
            // Only cargo builds record a level; a cached one was not loaded in this run.
            let level = match self.done.get(&node.key) {
                Some((rec, _)) => rec.isolation.clone(),
                None => self.store.isolation(&node.key).ok().flatten(),
            };
            return level.and_then(|l| Isolation::parse(&l));
        }
        graph
            .deps(node)
            .filter_map(|(_, dep)| self.isolation_of(graph, dep))
            .min()
    }

    /// Copies the artifact's output into `dir/name` (temp file + rename, so no half-written
    /// file is ever visible there).
    /// `name` is the plan's artifact name, never the record's label: a record may come from an
    /// imported bundle.
    pub fn materialize(
        &self,
        name: &str,
        rec: &RecipeRecord,
        dir: &Path,
    ) -> Result<PathBuf, ExecuteError> {
        let out = artifact_output(&rec.outputs, name);
        let dest = dir.join(name);
        self.store.materialize(out, &dest)?;
        Ok(dest)
    }
}

/// The record of `key` when the store holds it whole (its row and every object).
pub(crate) fn stored_record(
    store: &Store,
    key: &RecipeKey,
) -> Result<Option<RecipeRecord>, ExecuteError> {
    Ok(store.get_cached(key)?)
}

/// The output among a record's `outputs` that is artifact `name`: a recipe with several
/// outputs (an extra-artifacts command) names each by artifact; a shared single-output record
/// (one updater for several Apps) may carry another App's label.
pub fn artifact_output<'r>(
    outputs: &'r [dist_store::OutputRecord],
    name: &str,
) -> &'r dist_store::OutputRecord {
    outputs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or(&outputs[0])
}

/// The bytes of workspace file `rel`, which must still have the content its key was computed
/// from (an edit during the build is refused, not shipped).
pub(crate) fn read_hashed(
    ws: &Workspace,
    rel: &str,
    input: &dist_recipes::recipe::FileInput,
) -> Result<Vec<u8>, ExecuteError> {
    let bytes = std::fs::read(ws.root.join(rel)).map_err(io(format!("reading {rel}")))?;
    if dist_store::ContentDigest::of_bytes(&bytes) != input.digest {
        return Err(CargoError::Changed { path: rel.into() }.into());
    }
    Ok(bytes)
}

/// The sandbox and incremental-state directory of cargo builds for this workspace: outside the
/// key, stable per workspace and target so unchanged dependencies are not recompiled.
pub fn work_dir(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("dist-work")
}

/// [`crate::atomic::write`], with this stage's error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExecuteError> {
    crate::atomic::write(path, bytes).map_err(io(format!("writing {}", path.display())))
}
