//! What each file in `target/distrib/` was when a build last wrote or hashed it, so that a warm
//! build need not read it again: the approach of git's index. A file whose inode, size, mode and
//! modification and change times all still match its stamp has not been written since (the
//! change time cannot be set back by a user), so it still has the stamped digest.
//!
//! A stamp is only a cache: a missing or unreadable stamps file means every file is hashed. A
//! file changed within the timestamps' granularity of being stamped would keep its times, so a
//! file is only stamped once its change time is [`SETTLED`] old (git's "racily clean" rule); a
//! build right after the one that wrote it hashes it once more.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use dist_store::ContentDigest;

/// How old a file's change time must be before its stamp is trusted.
const SETTLED: Duration = Duration::from_secs(2);

/// The stamps of one `target/distrib/`, by file name.
#[derive(Debug, Default)]
pub struct Stamps {
    path: PathBuf,
    by_name: BTreeMap<String, Stamp>,
    /// Changed since loaded: only then is the file written again.
    changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Stamp {
    blake3: String,
    meta: Meta,
}

/// The metadata that change whenever a file's bytes do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Meta {
    size: u64,
    ino: u64,
    mode: u32,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Meta {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<Meta> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        m.is_file().then(|| Meta {
            size: m.size(),
            ino: m.ino(),
            mode: m.mode(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Elsewhere there is no change time to trust: every file is hashed.
    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<Meta> {
        None
    }

    fn settled(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        now_ns - self.ctime_ns >= SETTLED.as_nanos() as i128
    }
}

impl Stamps {
    /// The stamps kept at `path` (none if it is missing or unreadable).
    pub fn load(path: PathBuf) -> Stamps {
        let by_name = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Stamps {
            path,
            by_name,
            changed: false,
        }
    }

    /// Whether `dest` (file `name` of the directory) still has the bytes of `digest`.
    pub fn holds(&self, name: &str, dest: &Path, digest: &ContentDigest) -> bool {
        self.by_name.get(name).is_some_and(|s| {
            s.blake3 == digest.to_hex() && Meta::of(dest).is_some_and(|m| m == s.meta)
        })
    }

    /// Records that `dest` (file `name`) now has the bytes of `digest`, if it has settled.
    pub fn stamp(&mut self, name: &str, dest: &Path, digest: &ContentDigest, now: SystemTime) {
        let stamp = Meta::of(dest).filter(|m| m.settled(now)).map(|meta| Stamp {
            blake3: digest.to_hex(),
            meta,
        });
        let changed = match stamp {
            Some(stamp) => self.by_name.insert(name.to_string(), stamp.clone()) != Some(stamp),
            None => self.by_name.remove(name).is_some(),
        };
        self.changed |= changed;
    }

    /// Writes them when changed (temp file + rename; not synced: a lost stamp only costs a
    /// hash). Failing to write them is not an error of the build.
    pub fn save(&self) {
        if !self.changed {
            return;
        }
        let text = serde_json::to_vec(&self.by_name).expect("stamps serialise");
        let tmp = self.path.with_extension("json.tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}
