//! One function per command, wiring the stages together. Thin: the logic lives in the stages.

pub mod build;
pub mod compare;
pub mod explain;
pub mod generate;
pub mod init;
pub mod notes;
pub mod plan;
pub mod store;

use std::path::PathBuf;

use crate::announce::{self, Announcement, Candidate};
use crate::config::{self, Config};
use crate::plan::ArtifactMode;
use crate::report::{Event, PackageSummary, Reporter};
use crate::toolchain::Toolchain;
use crate::workspace::Workspace;
use crate::Error;

/// The global command-line options every command shares.
#[derive(Debug, Clone, Default)]
pub struct GlobalOpts {
    pub manifest_path: Option<PathBuf>,
    pub tag: Option<String>,
    pub artifacts: Option<ArtifactMode>,
    pub targets: Vec<String>,
    pub no_local_paths: bool,
    pub allow_dirty: bool,
    pub store: Option<PathBuf>,
}

/// Everything read from disk before planning.
pub struct Loaded {
    pub ws: Workspace,
    pub cfg: Config,
    pub toolchain: Toolchain,
    pub candidates: Vec<Candidate>,
}

pub fn load(opts: &GlobalOpts) -> Result<Loaded, Error> {
    // Both spawn a process; run them side by side.
    let manifest_dir = opts
        .manifest_path
        .as_deref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty());
    let rustc = Toolchain::start(manifest_dir);
    let ws = Workspace::load(opts.manifest_path.as_deref())?;
    let cfg = config::resolve(&ws)?;
    let toolchain = rustc.finish()?;
    let candidates = ws
        .packages
        .iter()
        .map(|p| Candidate {
            name: p.name.clone(),
            version: p.version.clone(),
            eligibility: match &cfg.global.packages {
                // `packages` names the Apps outright.
                Some(listed) if !listed.contains(&p.name) => Err(announce::Exclusion::NotListed),
                Some(_) => announce::eligibility(!p.binaries.is_empty(), true, Some(true)),
                None => announce::eligibility(
                    !p.binaries.is_empty(),
                    p.publish,
                    cfg.package(&p.name).dist,
                ),
            },
        })
        .collect();
    Ok(Loaded {
        ws,
        cfg,
        toolchain,
        candidates,
    })
}

/// The start-of-run summary: config warnings, every package, and why each excluded one is.
pub fn report_packages(loaded: &Loaded, ann: Option<&Announcement>, reporter: &dyn Reporter) {
    for w in &loaded.cfg.warnings {
        reporter.report(Event::Warning(w.to_string()));
    }
    let lines: Vec<PackageSummary> = loaded
        .ws
        .packages
        .iter()
        .zip(&loaded.candidates)
        .map(|(p, c)| {
            let excluded = match (c.eligibility, ann) {
                (Err(e), _) => Some(e.reason()),
                (Ok(()), Some(a)) if !a.apps.contains(&p.name) => {
                    Some(announce::Exclusion::DidntMatchTag.reason())
                }
                (Ok(()), _) => None,
            };
            PackageSummary {
                name: p.name.clone(),
                version: p.version.to_string(),
                binaries: p.binaries.clone(),
                excluded,
            }
        })
        .collect();
    reporter.report(Event::Packages(&lines));
}
