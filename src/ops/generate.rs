//! `generate [--check]`: write (or check) the CI workflow.

use super::{write_workflow, Generated, GlobalOpts};
use crate::config;
use crate::report::{Event, Reporter};
use crate::workspace::Workspace;
use crate::Error;

/// `generate`: writes the workflow (whole, via the store), or with `check` only compares.
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
    write_workflow(&ws, &cfg.global, check_only, &store_root, reporter)
}
