//! `target/distrib/`: where a build's artifacts and its dist-manifest.json appear.
//!
//! One build at a time writes it (a lock beside the sandboxes, not among the files CI uploads),
//! so the sweep of hidden temp files only ever removes those of builds that died, and the
//! manifest matches the files beside it. Every file appears whole (temp file + rename).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use dist_store::RecipeRecord;

use super::stamps::Stamps;
use super::{io, work_dir, write_atomic, ExecuteError, Executor};
use crate::graph::RecipeGraph;
use crate::manifest::{ArtifactState, DistManifest};
use crate::workspace::Workspace;

/// `target/distrib/`, locked for this build.
pub struct Distrib {
    dir: PathBuf,
    stamps: Stamps,
    _lock: File,
}

impl Distrib {
    /// Creates and locks the directory, then sweeps what a killed build left.
    pub fn open(ws: &Workspace) -> Result<Distrib, ExecuteError> {
        Distrib::open_at(ws, ws.target_dir.join("distrib"))
    }

    /// [`Distrib::open`] of another directory (`verify` rebuilds into its own).
    pub fn open_at(ws: &Workspace, dir: PathBuf) -> Result<Distrib, ExecuteError> {
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let lock_path = work_dir(ws).join("distrib.lock");
        std::fs::create_dir_all(work_dir(ws))
            .map_err(io(format!("creating {}", lock_path.display())))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|f| f.lock().map(|_| f))
            .map_err(io(format!("locking {}", lock_path.display())))?;
        sweep_temp_files(&dir);
        let stamps_name = match dir.file_name().and_then(|n| n.to_str()) {
            Some("distrib") | None => "distrib-stamps.json".to_string(),
            Some(other) => format!("{other}-stamps.json"),
        };
        let stamps = Stamps::load(work_dir(ws).join(stamps_name));
        Ok(Distrib {
            dir,
            stamps,
            _lock: lock,
        })
    }

    /// Copies the artifact `name` out of the store (verified) into the directory.
    pub fn materialize(
        &self,
        ex: &Executor,
        name: &str,
        rec: &RecipeRecord,
    ) -> Result<PathBuf, ExecuteError> {
        ex.materialize(name, rec, &self.dir)
    }

    /// Every built artifact into the directory, with what the manifest says of it (its path
    /// relative to `root`, unless `None`: `--no-local-paths`). The files are copied (or found
    /// in place: by their stamps, else hashed) on another thread, with a store handle of its
    /// own, while the manifest's recorded inputs are worked out on this one.
    pub fn materialize_all(
        &mut self,
        ex: &Executor,
        graph: &RecipeGraph,
        built: &super::phases::Built,
        root: Option<&Path>,
    ) -> Result<BTreeMap<String, ArtifactState>, ExecuteError> {
        let store_root = ex.store.root().to_path_buf();
        let dir = &self.dir;
        let stamps = &mut self.stamps;
        let (copied, states) = std::thread::scope(|s| {
            let copier = s.spawn(|| -> Result<BTreeMap<&str, PathBuf>, ExecuteError> {
                let store = dist_store::Store::open(&store_root)?;
                let mut copied = BTreeMap::new();
                let now = std::time::SystemTime::now();
                for (name, (rec, _)) in built {
                    let out = super::artifact_output(&rec.outputs, name);
                    let dest = dir.join(name);
                    if !stamps.holds(name, &dest, &out.digest) {
                        store.materialize(out, &dest)?;
                        stamps.stamp(name, &dest, &out.digest, now);
                    }
                    copied.insert(name.as_str(), dest);
                }
                stamps.save();
                Ok(copied)
            });
            let states = ex
                .store
                .reading(|_| Ok(super::states::built(ex, graph, built)));
            (copier.join().expect("the copying thread"), states)
        });
        let mut states = states?;
        for (name, dest) in copied? {
            if let Some(state) = states.get_mut(name) {
                state.path = root.map(|root| crate::workspace::relative(root, &dest));
            }
        }
        Ok(states)
    }

    /// Writes `bytes` to the file `name` in the directory, whole or not at all.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, ExecuteError> {
        let path = self.dir.join(name);
        write_atomic(&path, bytes)?;
        Ok(path)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the text written (what `build -o json` prints).
    pub fn write_manifest(&self, manifest: &DistManifest) -> Result<String, ExecuteError> {
        let text = serde_json::to_string_pretty(manifest).expect("manifest serializes") + "\n";
        write_atomic(&self.dir.join("dist-manifest.json"), text.as_bytes())?;
        Ok(text)
    }
}

/// Removes the hidden `.NAME.*.tmp` files a killed build may have left (artifact files
/// themselves are only ever renamed into place whole).
fn sweep_temp_files(distrib: &Path) {
    let Ok(rd) = std::fs::read_dir(distrib) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
