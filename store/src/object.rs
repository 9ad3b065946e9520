//! Objects: adding bytes to `objects/`, and reading them back verified.

use std::fs::{self, File, Permissions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::digest::ContentDigest;
use crate::error::{IoContext, StoreError};
use crate::layout::{ensure_dir, sync_dir};
use crate::records::{ObjectInfo, OutputRecord};
use crate::Store;

const BUF: usize = 256 * 1024;

/// Mode of object files: nobody should edit them in place.
const OBJECT_MODE: u32 = 0o444;

fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Whether `path` is a regular file of `size` bytes with `mode` (its permission bits, on
/// unix): a copy of the object may already be in place.
fn same_shape(path: &Path, size: u64, mode: u32) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    let mode_ok = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777 == mode
    };
    #[cfg(not(unix))]
    let mode_ok = meta.permissions().readonly() == (mode & 0o222 == 0);
    meta.is_file() && meta.len() == size && mode_ok
}

/// Sets unix permission bits; elsewhere only the read-only flag follows `mode`.
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let mut p = fs::metadata(path)?.permissions();
        p.set_readonly(mode & 0o222 == 0);
        fs::set_permissions(path, p)
    }
}

/// Streams `src` into `dst`, hashing BLAKE3 and SHA-256 on the way.
/// Read errors name `src_path`, write errors `dst_path`.
pub(crate) fn copy_hashing(
    src: &mut impl Read,
    src_path: &Path,
    dst: &mut impl Write,
    dst_path: &Path,
) -> Result<ObjectInfo, StoreError> {
    let mut b3 = blake3::Hasher::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; BUF];
    loop {
        let n = read_retrying(src, &mut buf).at(src_path)?;
        if n == 0 {
            break;
        }
        b3.update(&buf[..n]);
        sha.update(&buf[..n]);
        dst.write_all(&buf[..n]).at(dst_path)?;
    }
    Ok(ObjectInfo {
        digest: ContentDigest::from_bytes(*b3.finalize().as_bytes()),
        size: b3.count(),
        sha256: hex::encode(sha.finalize()),
    })
}

/// Streams at most `size + 1` bytes of `src` into `dst` and returns their
/// BLAKE3 and count (reading one extra byte is how a too-long file shows).
fn copy_blake3(
    src: &mut impl Read,
    src_path: &Path,
    size: u64,
    dst: &mut impl Write,
    dst_path: &Path,
) -> Result<(ContentDigest, u64), StoreError> {
    let mut src = src.take(size.saturating_add(1));
    let mut b3 = blake3::Hasher::new();
    let mut buf = vec![0u8; BUF];
    loop {
        let n = read_retrying(&mut src, &mut buf).at(src_path)?;
        if n == 0 {
            break;
        }
        b3.update(&buf[..n]);
        dst.write_all(&buf[..n]).at(dst_path)?;
    }
    Ok((
        ContentDigest::from_bytes(*b3.finalize().as_bytes()),
        b3.count(),
    ))
}

pub(crate) fn mismatch_reason(
    want: &ContentDigest,
    want_size: u64,
    got: &ContentDigest,
    got_size: u64,
) -> Option<String> {
    if got_size > want_size {
        Some(format!(
            "file is longer than the expected {want_size} bytes"
        ))
    } else if got_size < want_size {
        Some(format!("size is {got_size} bytes, expected {want_size}"))
    } else if got != want {
        Some(format!("contents hash to {got}"))
    } else {
        None
    }
}

impl Store {
    /// Copies `src` into the store, hashing BLAKE3 and SHA-256 while copying.
    pub fn put_file(&self, src: &Path) -> Result<ObjectInfo, StoreError> {
        let mut f = File::open(src).at(src)?;
        self.ingest(&mut f, src)
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> Result<ObjectInfo, StoreError> {
        let mut r = bytes;
        self.ingest(&mut r, Path::new("<bytes>"))
    }

    fn ingest(&self, src: &mut impl Read, src_path: &Path) -> Result<ObjectInfo, StoreError> {
        let tmp_dir = &self.layout.tmp;
        let mut tmp = tempfile::Builder::new()
            .prefix("put-")
            .tempfile_in(tmp_dir)
            .at(tmp_dir)?;
        let tmp_path = tmp.path().to_owned();
        let info = copy_hashing(src, src_path, tmp.as_file_mut(), &tmp_path)?;
        self.install_object(tmp, &info.digest)?;
        Ok(info)
    }

    /// Makes a fully written temp file the object `digest`: fsync, 0444,
    /// rename (replacing any existing copy, which heals a damaged one), fsync
    /// the directory. Returns the object's path.
    pub(crate) fn install_object(
        &self,
        tmp: NamedTempFile,
        digest: &ContentDigest,
    ) -> Result<PathBuf, StoreError> {
        let tmp_path = tmp.path().to_owned();
        tmp.as_file().sync_all().at(&tmp_path)?;
        set_mode(&tmp_path, OBJECT_MODE).at(&tmp_path)?;
        let fan = self.layout.fanout_dir(digest);
        ensure_dir(&fan)?;
        let dest = self.layout.object_path(digest);
        tmp.persist(&dest).map_err(|e| e.error).at(&dest)?;
        sync_dir(&fan)?;
        Ok(dest)
    }

    /// Copies an output's object to `dest` (mode 0644), verifying BLAKE3 and
    /// size while copying. See [`Store::materialize_mode`].
    pub fn materialize(&self, out: &OutputRecord, dest: &Path) -> Result<(), StoreError> {
        self.materialize_mode(out, dest, 0o644)
    }

    /// Copies an output's object to `dest` with the given unix mode (0o755
    /// for executables), unless `dest` already holds exactly these bytes with
    /// that mode (its BLAKE3 is the recorded digest: then the object is not
    /// read and nothing is written or synced). The copy goes to a temp file beside `dest`, is
    /// fsynced and renamed, so `dest` is never partial. A corrupt object is
    /// quarantined and reported as [`StoreError::Corrupt`]; a missing one as
    /// [`StoreError::MissingObject`]. Either way the recipes using it are
    /// dropped from the index.
    pub fn materialize_mode(
        &self,
        out: &OutputRecord,
        dest: &Path,
        mode: u32,
    ) -> Result<(), StoreError> {
        // A warm build finds its copies in place: a copy whose bytes hash to the recorded
        // digest is the output, so neither the object is read nor anything written (`store
        // verify` checks objects; a corrupt one is found when next copied).
        if same_shape(dest, out.size, mode)
            && ContentDigest::of_file(dest).is_ok_and(|(d, n)| d == out.digest && n == out.size)
        {
            return Ok(());
        }
        let obj = self.layout.object_path(&out.digest);
        let mut src = self.open_object(&out.digest, &obj)?;
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(parent)
            .at(parent)?;
        let tmp_path = tmp.path().to_owned();
        let (got, n) = copy_blake3(&mut src, &obj, out.size, tmp.as_file_mut(), &tmp_path)?;
        if let Some(reason) = mismatch_reason(&out.digest, out.size, &got, n) {
            drop(tmp); // removes the temp file
            return Err(self.quarantine(&out.digest, reason));
        }
        tmp.as_file().sync_all().at(&tmp_path)?;
        set_mode(&tmp_path, mode).at(&tmp_path)?;
        tmp.persist(dest).map_err(|e| e.error).at(dest)?;
        sync_dir(parent)
    }

    /// Reads a whole object into memory, verified like `materialize`.
    pub fn read_verified(&self, digest: &ContentDigest, size: u64) -> Result<Vec<u8>, StoreError> {
        let obj = self.layout.object_path(digest);
        let mut src = self.open_object(digest, &obj)?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 30));
        (&mut src)
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .at(&obj)?;
        let got = ContentDigest::of_bytes(&bytes);
        if let Some(reason) = mismatch_reason(digest, size, &got, bytes.len() as u64) {
            return Err(self.quarantine(digest, reason));
        }
        Ok(bytes)
    }

    /// Opens an object; a missing one drops the recipes that needed it.
    pub(crate) fn open_object(
        &self,
        digest: &ContentDigest,
        obj: &Path,
    ) -> Result<File, StoreError> {
        match File::open(obj) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_object(digest)?;
                Err(StoreError::MissingObject {
                    digest: *digest,
                    path: obj.to_owned(),
                })
            }
            Err(e) => Err(e).at(obj),
        }
    }

    /// Moves a corrupt object to quarantine/ and drops the recipes that use
    /// it, returning the error to report. Failures while doing so are folded
    /// into the reason: the corruption is the news.
    pub(crate) fn quarantine(&self, digest: &ContentDigest, mut reason: String) -> StoreError {
        let obj = self.layout.object_path(digest);
        let dest = self.layout.quarantine.join(digest.to_hex());
        match fs::rename(&obj, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => reason.push_str(&format!("; moving it to {} failed: {e}", dest.display())),
        }
        if let Err(e) = self.forget_object(digest) {
            reason.push_str(&format!("; dropping its recipes failed: {e}"));
        }
        StoreError::Corrupt {
            digest: *digest,
            path: obj,
            reason,
        }
    }

    /// Deletes the index rows of every recipe with an output `digest`.
    pub(crate) fn forget_object(&self, digest: &ContentDigest) -> Result<(), StoreError> {
        self.db(self.conn.execute(
            "DELETE FROM recipes WHERE key IN
               (SELECT recipe_key FROM outputs WHERE digest = ?1)",
            params![digest.to_hex()],
        ))?;
        Ok(())
    }
}
