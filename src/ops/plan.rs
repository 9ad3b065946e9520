//! `plan` and `manifest`: the Universe and the selected artifacts with their recipe keys;
//! nothing built, nothing written.

use super::{existing_store, load, recipe_graph, report_packages, GlobalOpts, Planned};
use crate::announce;
use crate::manifest::{apply_states, build_manifest, DistManifest};
use crate::plan::{ArtifactMode, PlanRequest};
use crate::report::{Event, Reporter};
use crate::Error;

/// What is announced without `--tag` when the Apps are at different versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untagged {
    /// `manifest`: refused (name a tag).
    Refuse,
    /// `plan`: one announcement per version.
    EachVersion,
    /// `plan -o json`: one `v1.0.0-FAKEVER` prerelease of every App, as cargo-dist.
    EveryApp,
}

/// `manifest`: one announcement (given or guessed). `plan` is this with `--artifacts=all
/// --no-local-paths`, and with no tag it announces as `untagged` says instead of refusing.
pub fn manifest(
    opts: &GlobalOpts,
    untagged: Untagged,
    reporter: &dyn Reporter,
) -> Result<Vec<Planned>, Error> {
    let mut loaded = load(opts)?;
    super::refuse_if_dirty(&loaded, opts, reporter)?;
    let announcements = match (&loaded.tag, untagged) {
        (None, Untagged::EachVersion) => announce::all_announcements(&loaded.candidates),
        (None, Untagged::EveryApp) => announce::every_app(&loaded.candidates).map(|a| vec![a]),
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
    let mode = opts.artifacts.unwrap_or(ArtifactMode::Host);
    let req = PlanRequest {
        mode,
        targets: &opts.targets,
        host: match mode {
            ArtifactMode::Host => Some(loaded.rustc.get()?.host()),
            _ => None,
        },
    };
    let store = existing_store(opts)?;
    let remote = super::remote::connect(opts, &loaded.cfg.global, reporter)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let planned = announcements
        .iter()
        .map(|ann| {
            let plan = crate::plan::plan(&loaded.ws, &loaded.cfg, ann, &req)?;
            // The manifest and release notes need no recipe key: they are written on another
            // core while the keys are computed, and the artifacts' states filled in after.
            let (graph, states, manifest) = std::thread::scope(|s| {
                let unkeyed = s.spawn(|| -> Result<DistManifest, Error> {
                    let mut manifest = build_manifest(&plan, &loaded.cfg.global);
                    crate::changelog::fill_release_notes(&loaded.ws, &plan, &mut manifest)?;
                    Ok(manifest)
                });
                let keyed =
                    recipe_graph(&loaded, &plan, store.as_ref(), &mut hasher).and_then(|graph| {
                        let states = crate::execute::states::planned(
                            &plan,
                            &graph,
                            store.as_ref(),
                            remote.as_ref(),
                        )?;
                        Ok((graph, states))
                    });
                let manifest = unkeyed.join().expect("manifest thread");
                keyed.map(|(g, states)| (g, states, manifest))
            })?;
            let mut manifest = manifest?;
            apply_states(&mut manifest, states);
            Ok(Planned {
                written: None,
                plan,
                graph,
                manifest,
            })
        })
        .collect();
    if let Some(reason) = remote.as_ref().and_then(|r| r.down().map(|d| (r, d))) {
        reporter.report(Event::Warning(crate::execute::unreachable(
            reason.0, &reason.1,
        )));
    }
    planned
}
