//! Garbage collection: drop old recipes, then the objects nobody needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::time::{Duration, SystemTime};

use rusqlite::params;

use crate::digest::{is_digest_hex, ContentDigest, RecipeKey};
use crate::error::{IoContext, StoreError};
use crate::Store;

/// Objects no recipe references, and tmp/ files, younger than this are left
/// alone: they may belong to a build that has not called `record` yet.
const GRACE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcOptions {
    /// Keep recipes used within this many days of `now`; `None` keeps all.
    pub keep_days: Option<u64>,
    /// Then evict least-recently-used recipes until kept objects fit.
    pub max_size: Option<u64>,
    /// Report what would go, change nothing.
    pub dry_run: bool,
    /// Unix seconds that `keep_days` counts back from.
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedRecipe {
    pub key: RecipeKey,
    pub label: String,
    pub last_used: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    /// Sorted by key.
    pub recipes_removed: Vec<RemovedRecipe>,
    pub recipes_kept: u64,
    pub objects_removed: u64,
    pub bytes_freed: u64,
    /// Bytes of the objects kept recipes reference.
    pub bytes_kept: u64,
    pub tmp_files_removed: u64,
}

impl Store {
    pub fn gc(&self, opts: &GcOptions) -> Result<GcReport, StoreError> {
        let started = SystemTime::now();
        let all = self.list()?;

        // Roots: recently used recipes, most recent first.
        let cutoff = opts
            .keep_days
            .map(|d| opts.now.saturating_sub(d.saturating_mul(86_400) as i64));
        let mut kept: Vec<_> = all
            .iter()
            .filter(|r| cutoff.is_none_or(|c| r.last_used >= c))
            .collect();
        kept.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.key.cmp(&b.key)));

        // Size cap: drop from the least-recently-used end until it fits,
        // counting each shared object once.
        let mut refs: BTreeMap<ContentDigest, (u64, u64)> = BTreeMap::new();
        for r in &kept {
            for o in &r.outputs {
                refs.entry(o.digest).or_insert((0, o.size)).0 += 1;
            }
        }
        let mut total: u64 = refs.values().map(|(_, s)| s).sum();
        if let Some(max) = opts.max_size {
            while total > max {
                let Some(r) = kept.pop() else { break };
                for o in &r.outputs {
                    if let Some(e) = refs.get_mut(&o.digest) {
                        e.0 -= 1;
                        if e.0 == 0 {
                            total -= e.1;
                            refs.remove(&o.digest);
                        }
                    }
                }
            }
        }

        let kept_keys: BTreeSet<RecipeKey> = kept.iter().map(|r| r.key).collect();
        let mut removed: Vec<_> = all.iter().filter(|r| !kept_keys.contains(&r.key)).collect();
        removed.sort_by_key(|r| r.key);
        let dropped_objects: BTreeSet<ContentDigest> = removed
            .iter()
            .flat_map(|r| r.outputs.iter().map(|o| o.digest))
            .filter(|d| !refs.contains_key(d))
            .collect();

        let mut report = GcReport {
            dry_run: opts.dry_run,
            recipes_removed: removed
                .iter()
                .map(|r| RemovedRecipe {
                    key: r.key,
                    label: r.label.clone(),
                    last_used: r.last_used,
                })
                .collect(),
            recipes_kept: kept.len() as u64,
            ..GcReport::default()
        };

        // Rows first: a crash after this leaves only unreferenced objects.
        if !opts.dry_run && !removed.is_empty() {
            let tx = self.write_tx()?;
            for r in &removed {
                self.db(tx.execute(
                    "DELETE FROM recipes WHERE key = ?1",
                    params![r.key.to_hex()],
                ))?;
            }
            self.db(tx.commit())?;
        }

        self.sweep_objects(opts.dry_run, started, &refs, &dropped_objects, &mut report)?;
        self.sweep_tmp(opts.dry_run, started, &mut report)?;
        Ok(report)
    }

    fn sweep_objects(
        &self,
        dry_run: bool,
        started: SystemTime,
        live: &BTreeMap<ContentDigest, (u64, u64)>,
        dropped: &BTreeSet<ContentDigest>,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        let old = started.checked_sub(GRACE).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut fans: Vec<_> = fs::read_dir(&self.layout.objects)
            .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
            .at(&self.layout.objects)?;
        fans.sort_by_key(|e| e.file_name());
        for fan in fans {
            let fan_path = fan.path();
            if !fan.file_type().at(&fan_path)?.is_dir() {
                continue;
            }
            let mut objs: Vec<_> = fs::read_dir(&fan_path)
                .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
                .at(&fan_path)?;
            objs.sort_by_key(|e| e.file_name());
            for obj in objs {
                let path = obj.path();
                let name = obj.file_name().to_string_lossy().into_owned();
                if !is_digest_hex(&name) {
                    continue; // not ours to delete; verify reports it
                }
                let Ok(digest) = ContentDigest::from_hex(&name) else {
                    continue;
                };
                let meta = match fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(_) => continue, // raced with another gc
                };
                if live.contains_key(&digest) {
                    report.bytes_kept += meta.len();
                    continue;
                }
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                // An object a removed recipe used goes unless it was rewritten
                // after gc started (a new build put it again); an orphan only
                // once it is older than the grace period.
                let doomed = if dropped.contains(&digest) {
                    mtime <= started
                } else {
                    mtime < old
                };
                if !doomed {
                    continue;
                }
                if !dry_run {
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e).at(&path),
                    }
                }
                report.objects_removed += 1;
                report.bytes_freed += meta.len();
            }
        }
        Ok(())
    }

    fn sweep_tmp(
        &self,
        dry_run: bool,
        started: SystemTime,
        report: &mut GcReport,
    ) -> Result<(), StoreError> {
        let old = started.checked_sub(GRACE).unwrap_or(SystemTime::UNIX_EPOCH);
        let entries: Vec<_> = fs::read_dir(&self.layout.tmp)
            .and_then(|rd| rd.collect::<Result<Vec<_>, _>>())
            .at(&self.layout.tmp)?;
        for e in entries {
            let path = e.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.modified().unwrap_or(SystemTime::UNIX_EPOCH) >= old {
                continue;
            }
            if !dry_run {
                let r = if meta.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                match r {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e).at(&path),
                }
            }
            report.tmp_files_removed += 1;
        }
        Ok(())
    }
}
