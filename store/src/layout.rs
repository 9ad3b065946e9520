//! Where things live under the store root, and how the root is chosen.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::digest::ContentDigest;
use crate::error::{IoContext, StoreError};

pub(crate) const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
pub(crate) const INDEX_FILE: &str = "index.sqlite";

// The signature line is fixed by the Cache Directory Tagging spec; backup
// tools look for exactly these bytes.
const CACHEDIR_TAG_BODY: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by cargo-dist.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
    pub objects: PathBuf,
    pub tmp: PathBuf,
    pub locks: PathBuf,
    pub quarantine: PathBuf,
    pub index: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_owned(),
            objects: root.join("objects"),
            tmp: root.join("tmp"),
            locks: root.join("locks"),
            quarantine: root.join("quarantine"),
            index: root.join(INDEX_FILE),
        }
    }

    /// Creates the directories and the cache tag if missing.
    pub fn create(&self) -> Result<(), StoreError> {
        for dir in [
            &self.root,
            &self.objects,
            &self.tmp,
            &self.locks,
            &self.quarantine,
        ] {
            fs::create_dir_all(dir).at(dir)?;
        }
        let tag = self.root.join(CACHEDIR_TAG);
        if !tag.exists() {
            // Temp + rename so a concurrent open never sees a half tag.
            let mut tmp = tempfile::NamedTempFile::new_in(&self.tmp).at(&self.tmp)?;
            tmp.write_all(CACHEDIR_TAG_BODY.as_bytes()).at(&tag)?;
            tmp.persist(&tag).map_err(|e| e.error).at(&tag)?;
        }
        Ok(())
    }

    pub fn fanout_dir(&self, digest: &ContentDigest) -> PathBuf {
        self.objects.join(&digest.to_hex()[..2])
    }

    /// Whether the object file for `digest` exists with `size` bytes (not hashed).
    pub fn has_object(&self, digest: &ContentDigest, size: u64) -> bool {
        std::fs::metadata(self.object_path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    pub fn object_path(&self, digest: &ContentDigest) -> PathBuf {
        let hex = digest.to_hex();
        self.objects.join(&hex[..2]).join(hex)
    }
}

/// fsync a directory so a rename into it survives power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    // Unix makes a rename durable by syncing the directory; Windows cannot open a directory as
    // a file (and its renames are journaled by NTFS), so there is nothing to do there.
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Makes `dir` (one level below an existing, synced parent) and syncs the
/// parent if it had to be created.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::create_dir(dir) {
        Ok(()) => {
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).at(dir),
    }
}

/// cli, else `CARGO_DIST_STORE`, else `$XDG_CACHE_HOME/cargo-dist/store`,
/// else `$HOME/.cache/cargo-dist/store`. Empty variables count as unset.
pub(crate) fn resolve_root_with(
    cli: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, StoreError> {
    if let Some(p) = cli {
        return Ok(p.to_owned());
    }
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("CARGO_DIST_STORE") {
        return Ok(p);
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(p) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Ok(p.join("cargo-dist").join("store"));
    }
    if let Some(p) = var("HOME") {
        return Ok(p.join(".cache").join("cargo-dist").join("store"));
    }
    Err(StoreError::NoRoot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn resolve(cli: Option<&str>, vars: &[(&str, &str)]) -> Option<PathBuf> {
        let vars: BTreeMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        resolve_root_with(cli.map(Path::new), |k| vars.get(k).cloned()).ok()
    }

    #[test]
    fn root_precedence() {
        let all = [
            ("CARGO_DIST_STORE", "/env"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(resolve(Some("/cli"), &all), Some("/cli".into()));
        assert_eq!(resolve(None, &all), Some("/env".into()));
        assert_eq!(
            resolve(None, &all[1..]),
            Some("/xdg/cargo-dist/store".into())
        );
        assert_eq!(
            resolve(None, &[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")]),
            Some("/h/.cache/cargo-dist/store".into())
        );
        assert_eq!(
            resolve(None, &[("CARGO_DIST_STORE", ""), ("HOME", "/h")]),
            Some("/h/.cache/cargo-dist/store".into())
        );
        assert_eq!(resolve(None, &[]), None);
    }
}
