//! `generate [--check]`: write (or check) the CI workflow, and the dirty check `plan`, `manifest`
//! and `build` run before doing anything.

use std::path::Path;

use super::{GlobalOpts, Loaded};
use crate::ci::{self, CiError};
use crate::config::{self, GlobalConfig};
use crate::report::{Event, Reporter};
use crate::workspace::Workspace;
use crate::Error;

/// What `generate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// The file was written (it was missing or differed).
    Wrote(String),
    /// The file already had these bytes.
    UpToDate(String),
}

impl Generated {
    pub fn message(&self) -> String {
        match self {
            Generated::Wrote(p) => format!("wrote {p}\n"),
            Generated::UpToDate(p) => format!("{p} is up to date\n"),
        }
    }
}

fn read_existing(path: &Path, shown: &str) -> Result<Option<String>, CiError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CiError::Io {
            action: "read",
            path: shown.to_string(),
            source,
        }),
    }
}

/// Compares the workflow on disk with what the config generates: `Err` (Missing / Stale, with a
/// unified diff) when they differ.
fn check(root: &Path, cfg: &GlobalConfig) -> Result<(), CiError> {
    let expected = ci::github_workflow(cfg);
    let shown = ci::github_workflow_path(cfg);
    let path = root.join(&shown);
    let existing = read_existing(&path, &shown)?;
    match (
        existing.as_deref(),
        ci::diff(&shown, existing.as_deref(), &expected),
    ) {
        (_, None) => Ok(()),
        (None, Some(_)) => Err(CiError::Missing { path: shown }),
        (Some(_), Some(diff)) => Err(CiError::Stale { path: shown, diff }),
    }
}

/// `generate`: writes the workflow (via a temp file and rename), or with `check` only compares.
pub fn generate(
    opts: &GlobalOpts,
    check_only: bool,
    reporter: &dyn Reporter,
) -> Result<Generated, Error> {
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let cfg = config::resolve(&ws)?;
    for w in &cfg.warnings {
        reporter.report(Event::Warning(w.to_string()));
    }
    let store_root = dist_store::Store::resolve_root(opts.store.as_deref())?;
    generate_for(&ws, &cfg.global, check_only, Some(&store_root))
}

/// Renders the workflow and records it in the store under its recipe key (once per key), so it
/// is listed and kept like every other artifact.
fn stored_workflow(cfg: &GlobalConfig, store_root: Option<&Path>) -> Result<String, Error> {
    let text = ci::github_workflow(cfg);
    let Some(root) = store_root else {
        return Ok(text);
    };
    let store = dist_store::Store::open(root)?;
    let recipe = ci::workflow_recipe(cfg, &text);
    let key = recipe.key();
    if store.is_cached(&key)? {
        store.touch(&key)?;
    } else {
        let obj = store.put_bytes(text.as_bytes())?;
        store.record(&dist_store::RecipeRecord {
            key,
            kind: recipe.kind().into(),
            label: ci::github_workflow_path(cfg),
            inputs: recipe.inputs(),
            outputs: vec![dist_store::OutputRecord::new("release.yml", &obj)],
        })?;
    }
    Ok(text)
}

pub fn generate_for(
    ws: &Workspace,
    cfg: &GlobalConfig,
    check_only: bool,
    store_root: Option<&Path>,
) -> Result<Generated, Error> {
    if !ci::wants_github(cfg) {
        return Err(CiError::NotConfigured {
            manifest: crate::workspace::relative(&ws.root, &ws.manifest_path),
        }
        .into());
    }
    let shown = ci::github_workflow_path(cfg);
    if check_only {
        check(&ws.root, cfg)?;
        return Ok(Generated::UpToDate(shown));
    }
    let expected = stored_workflow(cfg, store_root)?;
    let path = ws.root.join(&shown);
    if read_existing(&path, &shown)?.as_deref() == Some(expected.as_str()) {
        return Ok(Generated::UpToDate(shown));
    }
    write_atomic(&path, &shown, expected.as_bytes())?;
    Ok(Generated::Wrote(shown))
}

/// Writes `bytes` to `path` whole ([`crate::atomic::write`]).
pub fn write_atomic(path: &Path, shown: &str, bytes: &[u8]) -> Result<(), CiError> {
    crate::atomic::write(path, bytes).map_err(|source| CiError::Io {
        action: "write",
        path: shown.to_string(),
        source,
    })
}

/// `plan`, `manifest` and `build` refuse to run while the configured CI workflow is missing or
/// out of date, unless `--allow-dirty` or `allow-dirty` in the config says otherwise. A workflow
/// another tool wrote (a project moving from cargo-dist keeps its `release.yml`) is not refused:
/// a warning says how to switch it.
pub fn refuse_if_dirty(
    loaded: &Loaded,
    opts: &GlobalOpts,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let cfg = &loaded.cfg.global;
    if opts.allow_dirty || cfg.allow_dirty || !ci::wants_github(cfg) {
        return Ok(());
    }
    match check(&loaded.ws.root, cfg) {
        Err(CiError::Stale { path, .. })
            if !std::fs::read_to_string(loaded.ws.root.join(&path))
                .unwrap_or_default()
                .contains(ci::GENERATED_MARK) =>
        {
            reporter.report(Event::Warning(format!(
                "{path} was not written by this tool (cargo-dist's own workflow?); it is left as it is: run `cargo dist generate` to replace it with this tool's workflow, which caches builds in the store"
            )));
            Ok(())
        }
        other => Ok(other?),
    }
}
