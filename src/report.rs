//! Events the library emits and the human renderings of its results. The binary owns the one
//! reporter that writes them to stderr; the library never prints.

use std::fmt::Write as _;

use crate::manifest::DistManifest;

/// One line of the start-of-run summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    pub name: String,
    pub version: String,
    pub binaries: Vec<String>,
    /// Why it is not part of this run ("no binaries", "publish = false", ...).
    pub excluded: Option<&'static str>,
}

#[derive(Debug)]
pub enum Event<'a> {
    /// Every package of the workspace and whether it is announced.
    Packages(&'a [PackageSummary]),
    /// Something worth knowing that is not an error.
    Warning(String),
    /// What a long command is doing now (`verify`'s steps).
    Step(String),
    /// Progress of a batch of remote-store transfers.
    Transfer(dist_store::remote::Transfer),
    /// A recipe's progress.
    Recipe {
        label: &'a str,
        action: RecipeAction,
        elapsed: std::time::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipeAction {
    /// Found in the store: nothing to run.
    Cached,
    /// Found in the remote store, fetched and verified: nothing to run.
    CachedRemote,
    Building,
    /// Building an archive: the compressor is running.
    Compressing,
    Done,
    /// `--rebuild`: the fresh build matched the stored bytes.
    Reproduced,
}

impl RecipeAction {
    pub fn word(self) -> &'static str {
        match self {
            RecipeAction::Cached => "cached",
            RecipeAction::CachedRemote => "cached (remote)",
            RecipeAction::Building => "building",
            RecipeAction::Compressing => "compressing",
            RecipeAction::Done => "built",
            RecipeAction::Reproduced => "reproduced",
        }
    }
}

pub trait Reporter: Sync {
    fn report(&self, event: Event<'_>);
}

/// Discards everything (library use, tests).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: Event<'_>) {}
}

pub fn render_packages(packages: &[PackageSummary]) -> String {
    let mut out = String::new();
    for p in packages {
        match p.excluded {
            None => writeln!(out, "  {} {}", p.name, p.version),
            Some(why) => writeln!(out, "  {} {} ({why})", p.name, p.version),
        }
        .unwrap();
        for b in &p.binaries {
            writeln!(out, "    [bin] {b}").unwrap();
        }
    }
    out
}

/// The human form of a manifest: announcement, releases, artifacts and their contents.
pub fn render_manifest(m: &DistManifest) -> String {
    let mut out = String::new();
    let pre = if m.announcement_is_prerelease {
        " (prerelease)"
    } else {
        ""
    };
    writeln!(out, "announcing {}{pre}", m.announcement_tag).unwrap();
    for r in &m.releases {
        writeln!(out, "  {} {}", r.app_name, r.app_version).unwrap();
        if r.artifacts.is_empty() {
            writeln!(out, "    (no artifacts)").unwrap();
        }
        for name in &r.artifacts {
            let Some(a) = m.artifacts.get(name) else {
                continue;
            };
            let recipe = a
                .recipe
                .as_ref()
                .map(|r| {
                    let state = match (r.cached, &r.blake3) {
                        (_, _) if r.remote => "cached (remote)",
                        (true, _) => "cached",
                        (false, Some(_)) => "built",
                        (false, None) => "missing",
                    };
                    format!("  [{} {state}]", &r.key[..12.min(r.key.len())])
                })
                .unwrap_or_default();
            let path = a
                .path
                .as_ref()
                .map(|p| format!("  -> {p}"))
                .unwrap_or_default();
            writeln!(out, "    {name}{recipe}{path}").unwrap();
            for asset in &a.assets {
                let p = asset.path.as_deref().unwrap_or_default();
                writeln!(out, "      {p} ({})", asset.kind).unwrap();
            }
        }
    }
    out
}
