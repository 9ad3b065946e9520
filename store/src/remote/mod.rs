//! A remote store behind the local one: objects by BLAKE3 at `cas/<hex>`, signed recipe records
//! by key at `ac/<key>`, on whatever storage OpenDAL reaches (WebDAV, a Bazel-style HTTP cache,
//! S3, Redis, the GitHub Actions cache, a directory).
//!
//! # Invariants
//!
//! - Nothing from a remote reaches the local store unverified: a record only when a trusted key
//!   signed it for the key asked about ([`signed`]), an object only when its bytes hash to its
//!   name and have the record's size. A failed check drops that recipe to a local build.
//! - A record is written only after every object it names is on the remote, so a reader never
//!   follows a record to an upload still in flight.
//! - A remote fault (refused connection, timeout, HTTP 500, truncated body), after OpenDAL's
//!   retries with backoff, marks the remote down for the rest of the run: every later call
//!   returns at once, and the build goes on locally. Faults are reported, never raised.
//! - Local store errors are raised as [`StoreError`]s, as everywhere else.

mod backend;
mod maintain;
mod signed;
mod upload;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use ed25519_dalek::SigningKey;
use futures::StreamExt;
use opendal::Operator;

use crate::digest::{ContentDigest, RecipeKey};
use crate::error::StoreError;
use crate::records::RecipeRecord;
use crate::Store;

pub use maintain::{RemoteGcOptions, RemoteGcReport, RemoteVerifyReport};
pub use signed::{generate_key_pair, parse_public_key, parse_signing_key, Untrusted};
pub use upload::{put_s3_object, S3Object};

/// Makes rustls on ring the process's TLS provider (once; later calls change nothing), for
/// HTTP clients of the tool's own that share the remote store's TLS.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Transfers in flight at once.
const PARALLEL: usize = 8;

/// What a remote is and who is trusted on it.
#[derive(Debug, Clone, Default)]
pub struct RemoteConfig {
    /// `s3://bucket/prefix`, `webdav+http(s)://host/path`, `http(s)://host/path`,
    /// `redis://host:port/db`, `file:///dir` or `gha`.
    pub url: String,
    /// The ed25519 secret seed (hex) records are signed with; without it nothing is uploaded.
    pub signing_key: Option<String>,
    /// Public keys (hex) whose records are accepted, besides the signing key's own.
    pub trusted_keys: Vec<String>,
    /// Read, never write (pull-request jobs).
    pub read_only: bool,
    /// The WebDAV/HTTP or Redis password, when the URL holds none (kept out of config files).
    pub password: Option<String>,
    /// `s3://`: the region and endpoint (the caller's `AWS_REGION`, `AWS_ENDPOINT_URL`; the
    /// S3 client reads the credentials itself).
    pub s3_region: Option<String>,
    pub s3_endpoint: Option<String>,
    /// How long one call may take, each of its retries alike (default: 60 s, and 15 s without
    /// a byte moving); a remote that hangs costs this, times the retries, once per run.
    pub timeout: Option<std::time::Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("remote store {url}: {reason}")]
    Config { url: String, reason: String },
    #[error("remote store {url}: no key to trust: set CARGO_DIST_REMOTE_SIGNING_KEY (to read and write) or CARGO_DIST_REMOTE_TRUSTED_KEYS / `remote-trusted-keys` (to read); `cargo dist store keygen` makes a pair")]
    NoKeys { url: String },
    #[error("remote store {url}: {reason}")]
    Unavailable { url: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A connected remote. Calls block; inside, transfers run concurrently on a small runtime.
pub struct Remote {
    op: Operator,
    rt: tokio::runtime::Runtime,
    url: String,
    signer: Option<SigningKey>,
    trusted: BTreeSet<[u8; 32]>,
    read_only: bool,
    /// Why the remote stopped answering, once it has.
    down: Mutex<Option<String>>,
    /// Objects found corrupt or missing on the remote this run: a push rewrites them.
    bad: Mutex<BTreeSet<ContentDigest>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Download,
    Upload,
}

/// Progress of one batch of transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub direction: Direction,
    pub done: u64,
    pub total: u64,
    pub bytes: u64,
}

/// Why a recipe the remote has was built locally instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    Record(Untrusted),
    /// An object failed its check (truncated, corrupted): what was wrong.
    Object {
        digest: ContentDigest,
        reason: String,
    },
    /// A record names an object the remote does not have.
    MissingObject {
        digest: ContentDigest,
    },
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Record(u) => write!(f, "its record is {u}"),
            Rejected::Object { digest, reason } => {
                write!(
                    f,
                    "its object {} failed verification ({reason})",
                    digest.short()
                )
            }
            Rejected::MissingObject { digest } => {
                write!(f, "its object {} is missing on the remote", digest.short())
            }
        }
    }
}

/// What a remote lookup found for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Hit(RecipeRecord),
    Miss,
    Rejected(Rejected),
}

#[derive(Debug, Default)]
pub struct PullReport {
    /// Recipes now in the local store, verified.
    pub hits: BTreeMap<RecipeKey, RecipeRecord>,
    /// Recipes the remote has but that were not used, and why.
    pub rejected: BTreeMap<RecipeKey, Rejected>,
    pub objects: u64,
    pub bytes: u64,
    /// The remote stopped answering (during this call or before it).
    pub unavailable: Option<String>,
}

/// Why a run uploads nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotWritable {
    /// Asked for (`--remote-read-only`): nothing to warn about.
    #[error("the remote is read-only here (--remote-read-only)")]
    ReadOnly,
    #[error("no signing key (CARGO_DIST_REMOTE_SIGNING_KEY) to sign records with")]
    NoSigningKey,
}

#[derive(Debug, Default)]
pub struct PushReport {
    pub records: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Objects the remote already had.
    pub present: u64,
    /// Why nothing was uploaded.
    pub skipped: Option<NotWritable>,
    pub unavailable: Option<String>,
}

fn ac_path(key: &RecipeKey) -> String {
    format!("ac/{}", key.to_hex())
}

fn cas_path(digest: &ContentDigest) -> String {
    format!("cas/{}", digest.to_hex())
}

impl Remote {
    pub fn open(config: &RemoteConfig) -> Result<Remote, RemoteError> {
        let (op, url) = backend::operator(config).map_err(|reason| RemoteError::Config {
            url: config.url.clone(),
            reason,
        })?;
        let bad = |reason: String| RemoteError::Config {
            url: url.clone(),
            reason,
        };
        let signer = match &config.signing_key {
            Some(k) => Some(parse_signing_key(k).map_err(|e| bad(format!("signing key: {e}")))?),
            None => None,
        };
        let mut trusted = BTreeSet::new();
        for k in &config.trusted_keys {
            trusted.insert(
                parse_public_key(k)
                    .map_err(|e| bad(format!("trusted key: {e}")))?
                    .to_bytes(),
            );
        }
        if let Some(s) = &signer {
            trusted.insert(s.verifying_key().to_bytes());
        }
        if trusted.is_empty() {
            return Err(RemoteError::NoKeys { url });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("remote")
            .enable_all()
            .build()
            .map_err(|e| bad(format!("starting the transfer runtime: {e}")))?;
        Ok(Remote {
            op,
            rt,
            url,
            signer,
            trusted,
            read_only: config.read_only,
            down: Mutex::new(None),
            bad: Mutex::new(BTreeSet::new()),
        })
    }

    /// The URL, as shown to users (no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Why the remote stopped answering, if it has.
    pub fn down(&self) -> Option<String> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether this run may upload: not read-only, and a key to sign with.
    pub fn writable(&self) -> Result<(), NotWritable> {
        if self.read_only {
            Err(NotWritable::ReadOnly)
        } else if self.signer.is_none() {
            Err(NotWritable::NoSigningKey)
        } else {
            Ok(())
        }
    }

    fn mark_down(&self, fault: backend::Fault) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.get_or_insert(fault.0);
    }

    fn mark_bad(&self, digest: ContentDigest) {
        self.bad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest);
    }

    fn is_bad(&self, digest: &ContentDigest) -> bool {
        self.bad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(digest)
    }

    /// The records the remote holds for `keys`, signature-checked; objects are not fetched.
    pub fn lookup(&self, keys: &[RecipeKey]) -> BTreeMap<RecipeKey, Found> {
        let mut found: BTreeMap<RecipeKey, Found> =
            keys.iter().map(|k| (*k, Found::Miss)).collect();
        if self.down().is_some() {
            return found;
        }
        let fetched: Vec<(RecipeKey, backend::Got)> = self.rt.block_on(async {
            futures::stream::iter(found.keys().copied())
                .map(|key| {
                    let op = self.op.clone();
                    async move {
                        let r =
                            spawned(async move { backend::get(&op, &ac_path(&key)).await }).await;
                        (key, r)
                    }
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await
        });
        for (key, r) in fetched {
            let f = match r {
                Ok(None) => Found::Miss,
                Ok(Some(bytes)) => match signed::open(&bytes, &key, &self.trusted) {
                    Ok(rec) => Found::Hit(rec),
                    Err(u) => Found::Rejected(Rejected::Record(u)),
                },
                Err(fault) => {
                    self.mark_down(fault);
                    Found::Miss
                }
            };
            found.insert(key, f);
        }
        found
    }
}

/// Runs `fut` on a runtime worker, so transfers (and the hashing after them) use every core.
async fn spawned<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, backend::Fault>> + Send + 'static,
) -> Result<T, backend::Fault> {
    tokio::spawn(fut)
        .await
        .unwrap_or_else(|e| Err(backend::Fault(format!("transfer task failed: {e}"))))
}

/// Why `bytes` are not the object `digest` of `size` bytes, if they are not.
fn object_mismatch(bytes: &[u8], digest: &ContentDigest, size: u64) -> Option<String> {
    let got = ContentDigest::of_bytes(bytes);
    crate::object::mismatch_reason(digest, size, &got, bytes.len() as u64)
}

impl Store {
    /// Fetches from `remote` the records of `keys` this store lacks, and their objects, all
    /// verified, and records them here.
    pub fn pull(
        &self,
        remote: &Remote,
        keys: &[RecipeKey],
        progress: &mut dyn FnMut(&Transfer),
    ) -> Result<PullReport, StoreError> {
        let mut report = PullReport::default();
        let mut hits = BTreeMap::new();
        for (key, found) in remote.lookup(keys) {
            match found {
                Found::Hit(rec) => {
                    hits.insert(key, rec);
                }
                Found::Miss => {}
                Found::Rejected(r) => {
                    report.rejected.insert(key, r);
                }
            }
        }
        // Objects this store does not have yet, each once.
        let mut needed: BTreeMap<ContentDigest, u64> = BTreeMap::new();
        for rec in hits.values() {
            for out in &rec.outputs {
                if !self.layout.has_object(&out.digest, out.size) {
                    needed.insert(out.digest, out.size);
                }
            }
        }
        let (t, failed) = self.fetch_objects(remote, &needed, progress)?;
        report.objects = t.done;
        report.bytes = t.bytes;
        for (key, rec) in hits {
            match rec.outputs.iter().find_map(|o| failed.get(&o.digest)) {
                Some(why) => {
                    report.rejected.insert(key, why.clone());
                }
                // Not fetched because the remote went down: a miss, said once as a fault.
                None if !rec
                    .outputs
                    .iter()
                    .all(|o| self.layout.has_object(&o.digest, o.size)) => {}
                None => {
                    self.record(&rec)?;
                    report.hits.insert(key, rec);
                }
            }
        }
        report.unavailable = remote.down();
        Ok(report)
    }

    /// Downloads the `needed` objects (digest -> size) into this store, each verified: how many
    /// came, and why each that did not was refused.
    fn fetch_objects(
        &self,
        remote: &Remote,
        needed: &BTreeMap<ContentDigest, u64>,
        progress: &mut dyn FnMut(&Transfer),
    ) -> Result<(Transfer, BTreeMap<ContentDigest, Rejected>), StoreError> {
        let mut failed: BTreeMap<ContentDigest, Rejected> = BTreeMap::new();
        let mut t = Transfer {
            direction: Direction::Download,
            done: 0,
            total: needed.len() as u64,
            bytes: 0,
        };
        if !needed.is_empty() && remote.down().is_none() {
            progress(&t);
            let result: Result<(), StoreError> = remote.rt.block_on(async {
                let mut stream = futures::stream::iter(needed.iter().map(|(d, s)| (*d, *s)))
                    .map(|(digest, size)| {
                        let op = remote.op.clone();
                        async move {
                            // Fetch and hash on a worker; a mismatch is a verdict, not a fault.
                            let r = spawned(async move {
                                let got = backend::get(&op, &cas_path(&digest)).await?;
                                Ok(
                                    got.map(|bytes| match object_mismatch(&bytes, &digest, size) {
                                        None => Ok(bytes),
                                        Some(reason) => Err(reason),
                                    }),
                                )
                            })
                            .await;
                            (digest, r)
                        }
                    })
                    .buffer_unordered(PARALLEL);
                while let Some((digest, r)) = stream.next().await {
                    match r {
                        Ok(Some(Ok(bytes))) => {
                            self.put_bytes(&bytes)?;
                            t.done += 1;
                            t.bytes += bytes.len() as u64;
                            progress(&t);
                        }
                        Ok(Some(Err(reason))) => {
                            remote.mark_bad(digest);
                            failed.insert(digest, Rejected::Object { digest, reason });
                        }
                        Ok(None) => {
                            remote.mark_bad(digest);
                            failed.insert(digest, Rejected::MissingObject { digest });
                        }
                        Err(fault) => remote.mark_down(fault),
                    }
                }
                Ok(())
            });
            result?;
        }
        Ok((t, failed))
    }

    /// Uploads `records` and their objects to `remote`: objects first (those it lacks, or has
    /// wrong), then each record, signed, once all its objects are there.
    pub fn push(
        &self,
        remote: &Remote,
        records: &[RecipeRecord],
        progress: &mut dyn FnMut(&Transfer),
    ) -> Result<PushReport, StoreError> {
        let mut report = PushReport::default();
        if let Err(why) = remote.writable() {
            report.skipped = Some(why);
            return Ok(report);
        }
        if records.is_empty() {
            return Ok(report);
        }
        if let Some(down) = remote.down() {
            report.unavailable = Some(down);
            return Ok(report);
        }
        let mut objects: BTreeMap<ContentDigest, u64> = BTreeMap::new();
        for rec in records {
            for out in &rec.outputs {
                objects.insert(out.digest, out.size);
            }
        }
        let ok = self.send_objects(remote, &objects, &mut report, progress);
        let signer = remote.signer.as_ref().expect("writable() checked the key");
        let sealed: Vec<(String, Vec<u8>)> = records
            .iter()
            .filter(|r| r.outputs.iter().all(|o| ok.contains(&o.digest)))
            .map(|r| (ac_path(&r.key), signed::seal(r, signer)))
            .collect();
        if remote.down().is_none() {
            let results: Vec<Result<(), backend::Fault>> = remote.rt.block_on(async {
                futures::stream::iter(sealed)
                    .map(|(path, bytes)| {
                        let op = remote.op.clone();
                        spawned(async move { backend::put(&op, &path, bytes).await })
                    })
                    .buffer_unordered(PARALLEL)
                    .collect()
                    .await
            });
            for r in results {
                match r {
                    Ok(()) => report.records += 1,
                    Err(f) => remote.mark_down(f),
                }
            }
        }
        report.unavailable = remote.down();
        Ok(report)
    }

    /// Uploads the `objects` (digest -> size) the remote lacks or has wrong: the ones that are
    /// there now.
    fn send_objects(
        &self,
        remote: &Remote,
        objects: &BTreeMap<ContentDigest, u64>,
        report: &mut PushReport,
        progress: &mut dyn FnMut(&Transfer),
    ) -> BTreeSet<ContentDigest> {
        let mut t = Transfer {
            direction: Direction::Upload,
            done: 0,
            total: objects.len() as u64,
            bytes: 0,
        };
        progress(&t);
        let mut ok: BTreeSet<ContentDigest> = BTreeSet::new();
        // Per object: Ok(Ok(None)) already there, Ok(Ok(Some(bytes))) sent, Ok(Err(())) the
        // local copy is damaged, Err a remote fault.
        type Sent = Result<Result<Option<u64>, ()>, backend::Fault>;
        let results: Vec<(ContentDigest, Sent)> = remote.rt.block_on(async {
            let mut stream = futures::stream::iter(objects.iter().map(|(d, s)| (*d, *s)))
                .map(|(digest, size)| {
                    let op = remote.op.clone();
                    let path = self.object_path(&digest);
                    let rewrite = remote.is_bad(&digest);
                    async move {
                        let r = spawned(async move {
                            let path_in_cas = cas_path(&digest);
                            if !rewrite && backend::size(&op, &path_in_cas).await? == Some(size) {
                                return Ok(Ok(None));
                            }
                            // Re-checked on the way out: a damaged local object is not
                            // shared.
                            let bytes = match std::fs::read(&path) {
                                Ok(b) if object_mismatch(&b, &digest, size).is_none() => b,
                                _ => return Ok(Err(())),
                            };
                            let n = bytes.len() as u64;
                            backend::put(&op, &path_in_cas, bytes).await?;
                            Ok(Ok(Some(n)))
                        })
                        .await;
                        (digest, r)
                    }
                })
                .buffer_unordered(PARALLEL);
            let mut all = Vec::new();
            while let Some((digest, r)) = stream.next().await {
                if let Ok(Ok(sent)) = &r {
                    t.done += 1;
                    t.bytes += sent.unwrap_or(0);
                    progress(&t);
                }
                all.push((digest, r));
            }
            all
        });
        for (digest, r) in results {
            match r {
                Ok(Ok(None)) => {
                    report.present += 1;
                    ok.insert(digest);
                }
                Ok(Ok(Some(n))) => {
                    report.objects += 1;
                    report.bytes += n;
                    ok.insert(digest);
                }
                // Damaged here: not shared (the local store quarantines it on its next read).
                Ok(Err(())) => {}
                Err(f) => remote.mark_down(f),
            }
        }
        ok
    }
}
