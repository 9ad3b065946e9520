//! `store path | ls | verify | gc | export | import`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dist_store::remote::{generate_key_pair, Remote, RemoteGcOptions};
use dist_store::{GcOptions, Store};
use serde::Serialize;

use super::GlobalOpts;
use crate::report::{Event, Reporter};
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum StoreCmdError {
    #[error("store {root} failed verification with {count} problem(s):\n{}\n  corrupt objects are quarantined on their next read and rebuilt; `cargo dist store gc` drops dangling rows", problems.join("\n"))]
    VerifyFailed {
        root: String,
        count: usize,
        problems: Vec<String>,
    },
    #[error("--max-size {value:?} is not a size: use bytes or a number with K, M, G (e.g. 500M)")]
    BadSize { value: String },
    #[error("remote store {url} failed verification with {count} problem(s):\n{}\n  a build skips what fails its checks and a writer's next build of it uploads a good copy; `cargo dist store gc --remote` drops records that are not signed records", problems.join("\n"))]
    RemoteVerifyFailed {
        url: String,
        count: usize,
        problems: Vec<String>,
    },
    #[error("no remote store: pass --remote URL, set CARGO_DIST_REMOTE, or set `remote-store` in the dist config")]
    NoRemote,
}

/// The remote `store verify|gc --remote` work on. The workspace's config is read when there is
/// one (its `remote-store` and `remote-trusted-keys`); a URL given outside a workspace is enough.
fn remote(opts: &GlobalOpts, reporter: &dyn Reporter) -> Result<Remote, Error> {
    let global = match super::load(opts) {
        Ok(loaded) => loaded.cfg.global,
        Err(_) if opts.remote.as_deref().is_some_and(|u| !u.is_empty()) => Default::default(),
        Err(e) => return Err(e),
    };
    super::remote::connect_to_maintain(opts, &global, reporter)?
        .ok_or_else(|| StoreCmdError::NoRemote.into())
}

pub fn verify_remote(opts: &GlobalOpts, reporter: &dyn Reporter) -> Result<String, Error> {
    let remote = remote(opts, reporter)?;
    let r = remote.verify()?;
    if !r.problems.is_empty() {
        let problems: Vec<String> = r.problems.iter().map(|p| format!("  {p}")).collect();
        return Err(StoreCmdError::RemoteVerifyFailed {
            url: remote.url().to_string(),
            count: problems.len(),
            problems,
        }
        .into());
    }
    Ok(format!(
        "ok: {} object(s), {} hashed, {} signed record(s) checked on {}\n",
        r.objects,
        human_size(r.bytes),
        r.records,
        remote.url()
    ))
}

pub fn gc_remote(
    opts: &GlobalOpts,
    gc: RemoteGcOptions,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let remote = remote(opts, reporter)?;
    let r = remote.gc(&gc)?;
    let verb = if r.dry_run { "would remove" } else { "removed" };
    Ok(format!(
        "{verb} {} record(s), {} object(s), {} on {}; kept {} record(s), {}\n",
        r.records_removed,
        r.objects_removed,
        human_size(r.bytes_freed),
        remote.url(),
        r.records_kept,
        human_size(r.bytes_kept)
    ))
}

#[derive(Debug, Serialize)]
pub struct KeyPair {
    /// The secret seed: CARGO_DIST_REMOTE_SIGNING_KEY (a CI secret), never committed.
    pub signing_key: String,
    /// For `remote-trusted-keys` (or CARGO_DIST_REMOTE_TRUSTED_KEYS).
    pub public_key: String,
}

pub fn keygen() -> Result<KeyPair, Error> {
    let (signing_key, public_key) =
        generate_key_pair().map_err(|reason| dist_store::remote::RemoteError::Config {
            url: "keygen".into(),
            reason,
        })?;
    Ok(KeyPair {
        signing_key,
        public_key,
    })
}

pub fn render_keygen(k: &KeyPair) -> String {
    format!(
        "signing key (secret: store it as the CI secret CARGO_DIST_REMOTE_SIGNING_KEY; never commit it):\n  {}\npublic key (add it to `remote-trusted-keys` in the dist config):\n  {}\n",
        k.signing_key, k.public_key
    )
}

fn root(opts: &GlobalOpts) -> Result<PathBuf, Error> {
    Ok(Store::resolve_root(
        opts.store.as_deref(),
        crate::env::store_var,
    )?)
}

fn open(opts: &GlobalOpts) -> Result<Store, Error> {
    Ok(Store::open(&root(opts)?)?)
}

pub fn path(opts: &GlobalOpts) -> Result<String, Error> {
    Ok(format!("{}\n", root(opts)?.display()))
}

#[derive(Debug, Serialize)]
pub struct LsRow {
    pub key: String,
    pub kind: String,
    pub label: String,
    pub size: u64,
    pub outputs: Vec<String>,
    pub age_secs: i64,
}

pub fn ls(opts: &GlobalOpts, now: i64) -> Result<Vec<LsRow>, Error> {
    let store = open(opts)?;
    Ok(store
        .list()?
        .into_iter()
        .map(|r| LsRow {
            key: r.key.to_hex(),
            kind: r.kind,
            label: r.label,
            size: r.total_size,
            outputs: r.outputs.iter().map(|o| o.name.clone()).collect(),
            age_secs: (now - r.created_at).max(0),
        })
        .collect())
}

pub fn render_ls(rows: &[LsRow]) -> String {
    let mut out = String::new();
    for r in rows {
        writeln!(
            out,
            "{}  {:<16} {:>10}  {:>8}  {}",
            &r.key[..12],
            r.kind,
            human_size(r.size),
            human_age(r.age_secs),
            r.label
        )
        .unwrap();
    }
    writeln!(out, "{} recipe(s)", rows.len()).unwrap();
    out
}

pub fn verify(opts: &GlobalOpts) -> Result<String, Error> {
    let root = root(opts)?;
    let store = Store::open(&root)?;
    let report = store.verify()?;
    if !report.is_ok() {
        let problems: Vec<String> = report.problems.iter().map(|p| format!("  {p}")).collect();
        return Err(StoreCmdError::VerifyFailed {
            root: root.display().to_string(),
            count: problems.len(),
            problems,
        }
        .into());
    }
    Ok(format!(
        "ok: {} object(s), {} hashed, {} output row(s) checked\n",
        report.objects_checked,
        human_size(report.bytes_hashed),
        report.outputs_checked
    ))
}

pub fn parse_size(s: &str) -> Result<u64, Error> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'B' => 1,
                _ => 0,
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    match num
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
    {
        Some(n) if mult > 0 => Ok(n),
        _ => Err(StoreCmdError::BadSize {
            value: s.to_string(),
        }
        .into()),
    }
}

pub fn gc(
    opts: &GlobalOpts,
    keep_days: Option<u64>,
    max_size: Option<u64>,
    dry_run: bool,
    now: i64,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let store = open(opts)?;
    // Builds hold the store while they run; collecting then could remove what one just made.
    let _hold = match store.try_hold_exclusive()? {
        Some(hold) => hold,
        None => {
            reporter.report(Event::Warning(format!(
                "builds are using the store at {}: waiting for them to finish before collecting",
                store.root().display()
            )));
            store.hold_exclusive()?
        }
    };
    let r = store.gc(&GcOptions {
        keep_days,
        max_size,
        dry_run,
        now,
    })?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut out = String::new();
    for rec in &r.recipes_removed {
        writeln!(out, "{verb} {}  {}", &rec.key.to_hex()[..12], rec.label).unwrap();
    }
    writeln!(
        out,
        "{verb} {} recipe(s), {} object(s), {}; kept {} recipe(s), {}",
        r.recipes_removed.len(),
        r.objects_removed,
        human_size(r.bytes_freed),
        r.recipes_kept,
        human_size(r.bytes_kept)
    )
    .unwrap();
    Ok(out)
}

pub fn export(opts: &GlobalOpts, file: &Path) -> Result<String, Error> {
    let store = open(opts)?;
    let r = store.export(file, None)?;
    Ok(format!(
        "exported {} recipe(s), {} object(s), {} to {}\n",
        r.recipes,
        r.objects,
        human_size(r.bytes),
        file.display()
    ))
}

pub fn import(opts: &GlobalOpts, file: &Path) -> Result<String, Error> {
    let store = open(opts)?;
    let r = store.import(file)?;
    Ok(format!(
        "imported {} recipe(s): {} new object(s) ({}), {} already present\n",
        r.recipes,
        r.objects_added,
        human_size(r.bytes_added),
        r.objects_present
    ))
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_parse() {
        assert_eq!(super::parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(super::parse_size("1024").unwrap(), 1024);
        assert_eq!(super::parse_size("2g").unwrap(), 2 << 30);
        assert!(super::parse_size("lots").is_err());
        assert!(super::parse_size("99999999999999G").is_err());
    }
}
