//! `generate [--check]`: write (or check) the files the config implies: the CI workflow, and
//! each MSI-shipping App's `wix/main.wxs` (with its GUIDs recorded in its Cargo.toml).

use super::{write_workflow, Generated, GlobalOpts};
use crate::report::{Event, Reporter};
use crate::workspace::Workspace;
use crate::{ci, config, wix, Error};

/// `generate`: writes the workflow (whole, via the store) and the WiX sources, or with `check`
/// only compares.
pub fn generate(
    opts: &GlobalOpts,
    check_only: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<Generated>, Error> {
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let cfg = config::resolve(&ws)?;
    for w in &cfg.warnings {
        reporter.report(Event::Warning(w.to_string()));
    }
    let msi = wix::msi_packages(&ws, &cfg);
    let mut out = Vec::new();
    // With neither, `write_workflow` says what to configure.
    if ci::wants_github(&cfg.global) || msi.is_empty() {
        let store_root =
            dist_store::Store::resolve_root(opts.store.as_deref(), crate::env::store_var)?;
        out.push(write_workflow(
            &ws,
            &cfg.global,
            check_only,
            &store_root,
            reporter,
        )?);
    }
    for pkg in msi {
        let (shown, wrote) = wix::write(&ws, &cfg, pkg, check_only)?;
        out.push(if wrote {
            Generated::Wrote(shown)
        } else {
            Generated::UpToDate(shown)
        });
    }
    Ok(out)
}
