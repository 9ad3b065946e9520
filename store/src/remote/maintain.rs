//! `store verify --remote` and `store gc --remote`: the remote's own upkeep, for backends that
//! can list their entries (WebDAV, S3, a directory).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::backend::{self, Listed};
use super::{object_mismatch, signed, spawned, Remote, RemoteError, PARALLEL};
use crate::digest::{ContentDigest, RecipeKey};

/// Unreferenced objects younger than this stay: an upload writes its objects before its record.
const GRACE_SECS: i64 = 3600;

#[derive(Debug, Default)]
pub struct RemoteVerifyReport {
    pub records: u64,
    pub objects: u64,
    pub bytes: u64,
    /// One line per problem, sorted.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RemoteGcOptions {
    /// Drop records written more than this many days before `now`.
    pub keep_days: Option<u64>,
    /// Then drop the oldest records until the objects the rest use fit.
    pub max_size: Option<u64>,
    pub dry_run: bool,
    /// Unix seconds.
    pub now: i64,
}

#[derive(Debug, Default)]
pub struct RemoteGcReport {
    pub dry_run: bool,
    pub records_removed: u64,
    pub records_kept: u64,
    pub objects_removed: u64,
    pub bytes_freed: u64,
    pub bytes_kept: u64,
}

impl Remote {
    fn listing(&self, dir: &str) -> Result<Vec<Listed>, RemoteError> {
        self.rt
            .block_on(backend::list(&self.op, dir))
            .map_err(|f| RemoteError::Unavailable {
                url: self.url.clone(),
                reason: f.0,
            })
    }

    /// Every entry's bytes under `paths`, fetched concurrently: path -> bytes (None: gone).
    fn fetch_all(
        &self,
        paths: Vec<String>,
    ) -> Result<BTreeMap<String, Option<Vec<u8>>>, RemoteError> {
        let got: Vec<(String, backend::Got)> = self.rt.block_on(async {
            futures::stream::iter(paths)
                .map(|path| {
                    let op = self.op.clone();
                    async move {
                        let p = path.clone();
                        (
                            path,
                            spawned(async move { backend::get(&op, &p).await }).await,
                        )
                    }
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await
        });
        got.into_iter()
            .map(|(p, r)| {
                r.map(|b| (p, b)).map_err(|f| RemoteError::Unavailable {
                    url: self.url.clone(),
                    reason: f.0,
                })
            })
            .collect()
    }

    /// Re-hashes every object, checks every record's signature and that its objects are there.
    pub fn verify(&self) -> Result<RemoteVerifyReport, RemoteError> {
        let mut report = RemoteVerifyReport::default();
        let cas = self.listing("cas/")?;
        let mut sizes: BTreeMap<ContentDigest, u64> = BTreeMap::new();
        let mut wanted = Vec::new();
        for e in &cas {
            let name = e.path.trim_start_matches("cas/");
            match ContentDigest::from_hex(name) {
                Ok(d) => {
                    sizes.insert(d, e.size);
                    wanted.push((e.path.clone(), d, e.size));
                }
                Err(_) => report
                    .problems
                    .push(format!("{}: not named by a BLAKE3 digest", e.path)),
            }
        }
        // Objects in batches, so memory stays at a batch's worth.
        for batch in wanted.chunks(PARALLEL * 4) {
            let bytes = self.fetch_all(batch.iter().map(|(p, _, _)| p.clone()).collect())?;
            for (path, digest, _) in batch {
                report.objects += 1;
                match &bytes[path] {
                    None => report
                        .problems
                        .push(format!("{path}: vanished while verifying")),
                    Some(b) => {
                        report.bytes += b.len() as u64;
                        if let Some(reason) = object_mismatch(b, digest, b.len() as u64) {
                            report.problems.push(format!("{path}: corrupt ({reason})"));
                        }
                    }
                }
            }
        }
        let ac = self.listing("ac/")?;
        let paths: Vec<String> = ac.iter().map(|e| e.path.clone()).collect();
        let records = self.fetch_all(paths)?;
        for (path, bytes) in &records {
            let Some(bytes) = bytes else { continue };
            report.records += 1;
            let key = match RecipeKey::from_hex(path.trim_start_matches("ac/")) {
                Ok(k) => k,
                Err(_) => {
                    report
                        .problems
                        .push(format!("{path}: not named by a recipe key"));
                    continue;
                }
            };
            match signed::open(bytes, &key, &self.trusted) {
                Err(u) => report.problems.push(format!("{path}: {u}")),
                Ok(rec) => {
                    for out in &rec.outputs {
                        match sizes.get(&out.digest) {
                            Some(s) if *s == out.size => {}
                            Some(s) => report.problems.push(format!(
                                "{path}: output {} is {} bytes on the remote, the record says {}",
                                out.name, s, out.size
                            )),
                            None => report.problems.push(format!(
                                "{path}: output {} (object {}) is missing",
                                out.name,
                                out.digest.short()
                            )),
                        }
                    }
                }
            }
        }
        report.problems.sort();
        Ok(report)
    }

    /// Drops records by age, then the oldest until the rest fit `max_size`, then every object
    /// no remaining record names (older than an hour: an upload in flight writes objects first).
    /// Records that are not signed records at all are dropped; records of other signers keep
    /// their objects (another reader may trust them).
    pub fn gc(&self, opts: &RemoteGcOptions) -> Result<RemoteGcReport, RemoteError> {
        let mut report = RemoteGcReport {
            dry_run: opts.dry_run,
            ..Default::default()
        };
        let cas = self.listing("cas/")?;
        let ac = self.listing("ac/")?;
        let bodies = self.fetch_all(ac.iter().map(|e| e.path.clone()).collect())?;
        let object_size: BTreeMap<String, u64> = cas
            .iter()
            .map(|e| (e.path.trim_start_matches("cas/").to_string(), e.size))
            .collect();
        // (modified, path, objects it names); newest last.
        let mut kept: Vec<(i64, String, BTreeSet<String>)> = Vec::new();
        let mut drop: Vec<String> = Vec::new();
        let cutoff = opts
            .keep_days
            .map(|d| opts.now - (d as i64).saturating_mul(86_400));
        for e in &ac {
            let modified = e.modified.unwrap_or(opts.now);
            let objects = match bodies.get(&e.path).and_then(|b| b.as_deref()) {
                Some(b) => match signed::peek(b) {
                    Some(rec) => rec
                        .outputs
                        .iter()
                        .map(|o| o.digest.to_hex())
                        .collect::<BTreeSet<_>>(),
                    None => {
                        drop.push(e.path.clone());
                        continue;
                    }
                },
                None => continue,
            };
            if cutoff.is_some_and(|c| modified < c) {
                drop.push(e.path.clone());
            } else {
                kept.push((modified, e.path.clone(), objects));
            }
        }
        kept.sort();
        let used = |kept: &[(i64, String, BTreeSet<String>)]| -> u64 {
            let names: BTreeSet<&String> = kept.iter().flat_map(|(_, _, o)| o).collect();
            names
                .iter()
                .map(|n| object_size.get(*n).copied().unwrap_or(0))
                .sum()
        };
        if let Some(max) = opts.max_size {
            while !kept.is_empty() && used(&kept) > max {
                let (_, path, _) = kept.remove(0);
                drop.push(path);
            }
        }
        let live: BTreeSet<&String> = kept.iter().flat_map(|(_, _, o)| o).collect();
        let mut doomed_objects = Vec::new();
        for e in &cas {
            let name = e.path.trim_start_matches("cas/").to_string();
            let young = e.modified.is_none_or(|m| opts.now - m < GRACE_SECS);
            if live.contains(&name) || young {
                continue;
            }
            report.bytes_freed += e.size;
            doomed_objects.push(e.path.clone());
        }
        report.records_removed = drop.len() as u64;
        report.records_kept = kept.len() as u64;
        report.objects_removed = doomed_objects.len() as u64;
        report.bytes_kept = used(&kept);
        if !opts.dry_run {
            // Records first: an object goes only once nothing points at it.
            self.delete_all(drop)?;
            self.delete_all(doomed_objects)?;
        }
        Ok(report)
    }

    /// Deletes every path, several at once; the first fault stops the whole.
    fn delete_all(&self, paths: Vec<String>) -> Result<(), RemoteError> {
        let results: Vec<Result<(), backend::Fault>> = self.rt.block_on(async {
            futures::stream::iter(paths)
                .map(|path| {
                    let op = self.op.clone();
                    spawned(async move { backend::delete(&op, &path).await })
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await
        });
        match results.into_iter().find(|r| r.is_err()) {
            Some(Err(f)) => Err(RemoteError::Unavailable {
                url: self.url.clone(),
                reason: f.0,
            }),
            _ => Ok(()),
        }
    }
}
