//! Deterministic archive writers (tar.xz, tar.gz, tar.zst, zip), checksums and source tarballs.
//!
//! Every byte of an archive is a function of the entries' paths, modes and contents only: no
//! timestamps, owners, umask, host OS or entry order from the machine that wrote it leaks in. That
//! is what lets a rebuild on another machine be compared byte for byte (`build --rebuild`,
//! `compare`), and what [`read_members`] / [`diff_members`] explain when it fails.

mod checksum;
mod members;
mod tarball;
mod zipfile;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};

pub use checksum::{checksum_line, sha256_file, ChecksumStyle};
pub use members::{diff_members, read_members, read_members_filtered, Member, MemberFilter};

/// One fixed timestamp for every entry: 1980-01-01T00:00:00Z, the earliest a zip can hold.
pub const FIXED_MTIME: u64 = 315_532_800;

/// gzip/zlib level for `.tar.gz` (and the source tarball): the best deflate can do; release
/// artifacts are written once and downloaded many times.
pub const GZIP_LEVEL: u32 = 9;
/// The gzip header's OS byte: 255 ("unknown"), so the host OS never shows in the bytes.
pub const GZIP_OS: u8 = 255;
/// xz preset for `.tar.xz`: liblzma's default (`xz -6`), CRC64 check, multithreaded in blocks
/// of [`xz_block_size`], the dictionary no larger than a block.
pub const XZ_PRESET: u32 = 6;
/// zstd level for `.tar.zst`: high ratio while still decompressing at full speed; multithreaded
/// in jobs of [`COMPRESS_BLOCK_SIZE`].
pub const ZSTD_LEVEL: i32 = 19;
/// Input per independently compressed zstd job, and the largest xz block. Both encoders split
/// the stream at fixed offsets and compress the pieces in parallel: the bytes depend on these
/// sizes, never on how many threads did the work (a test compresses with 1 and 4 threads and
/// compares). zstd's jobs cannot be smaller: at level 19 a job is at least its 8 MiB window.
pub const COMPRESS_BLOCK_SIZE: u64 = 8 << 20;
/// The smallest xz block: below it the per-block cost outweighs the parallelism.
pub const XZ_MIN_BLOCK_SIZE: u64 = 128 << 10;

/// The xz block size for a tar stream of at most `stream_len` bytes: a quarter of it, so two or
/// four cores share even a small archive, rounded up to 64 KiB, between
/// [`XZ_MIN_BLOCK_SIZE`] and [`COMPRESS_BLOCK_SIZE`]. A function of the archive's contents
/// only. Measured with `xz -T2` on 2 cores: a 430 KB binary in 69 ms instead of 175 ms (4%
/// larger), a 25 MB one in 5.8 s instead of 7.9 s (2% larger) than in one 8 MiB block each.
pub fn xz_block_size(stream_len: u64) -> u64 {
    let granule = 64 << 10;
    stream_len
        .div_ceil(4)
        .next_multiple_of(granule)
        .clamp(XZ_MIN_BLOCK_SIZE, COMPRESS_BLOCK_SIZE)
}

/// Threads for xz and zstd: one per core (at most 8; each xz thread holds about 100 MiB), or
/// what [`set_compress_threads`] said (the tool's `CARGO_DIST_COMPRESS_THREADS`). Not a key
/// input: it cannot change the bytes.
pub fn compress_threads() -> u32 {
    COMPRESS_THREADS
        .get()
        .copied()
        .flatten()
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(8) as u32)
        })
}

static COMPRESS_THREADS: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();

/// Sets [`compress_threads`] for this process (the first call wins; `None`: one per core).
pub fn set_compress_threads(threads: Option<u32>) {
    let _ = COMPRESS_THREADS.set(threads);
}
/// Whether `.tar.zst` frames carry zstd's content checksum (fixed on, so `zstd -t` can verify).
pub const ZSTD_CHECKSUM: bool = true;
/// Deflate level for `.zip` members.
pub const ZIP_DEFLATE_LEVEL: i64 = 9;

/// Mode of directories and executables.
pub const MODE_EXECUTABLE: u32 = 0o755;
/// Mode of every other file.
pub const MODE_REGULAR: u32 = 0o644;

/// Problems writing or reading an archive; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read {path} to put it in an archive: {source}; check that it was built and is readable")]
    ReadSource { path: PathBuf, source: io::Error },
    #[error("{path} is not a regular file, so it cannot be an archive entry; list the files inside it instead")]
    NotAFile { path: PathBuf },
    #[error("{path} changed while it was being archived ({expected} bytes expected, {actual} read); make sure nothing else writes it, then retry")]
    SourceChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("invalid archive entry path {path:?}: {reason}; entry paths are relative, '/'-separated, without '.' or '..'")]
    InvalidEntryPath { path: String, reason: &'static str },
    #[error("invalid archive root directory {root:?}: {reason}; use a single directory name such as \"app-1.0.0\"")]
    InvalidRootDir { root: String, reason: &'static str },
    #[error("archive entry {path:?} is listed twice; each path may appear once")]
    DuplicateEntry { path: String },
    #[error("archive entry {path:?} is a file but other entries are inside it as a directory; rename one of them")]
    FileIsAlsoDir { path: String },
    #[error("cannot write archive {path}: {source}; check free space and that its directory is writable")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot write zip archive {path}: {source}")]
    WriteZip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("cannot read archive {path} as {format}: {source}; it may be truncated or of another format")]
    ReadArchive {
        path: PathBuf,
        format: &'static str,
        source: io::Error,
    },
    #[error("cannot read zip archive {path}: {source}; it may be truncated or not a zip")]
    ReadZip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("cannot read {path} to compute its sha256: {source}")]
    Hash { path: PathBuf, source: io::Error },
}

/// The archive formats a release can ship.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArchiveFormat {
    TarXz,
    TarGz,
    TarZst,
    Zip,
}

/// `unix-archive` / `windows-archive` values: the extension with its leading dot; cargo-dist
/// also takes `.tar.zstd` for `.tar.zst`.
impl crate::vocab::Vocabulary for ArchiveFormat {
    const ALL: &'static [ArchiveFormat] = &[
        ArchiveFormat::TarXz,
        ArchiveFormat::TarGz,
        ArchiveFormat::TarZst,
        ArchiveFormat::Zip,
    ];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            ArchiveFormat::TarXz => &[".tar.xz"],
            ArchiveFormat::TarGz => &[".tar.gz"],
            ArchiveFormat::TarZst => &[".tar.zst", ".tar.zstd"],
            ArchiveFormat::Zip => &[".zip"],
        }
    }
}

impl ArchiveFormat {
    /// File name extension, with its leading dot.
    pub fn extension(self) -> &'static str {
        crate::vocab::Vocabulary::name(self)
    }

    /// Tarballs unpack into one directory; zips unpack flat (what Windows users expect).
    pub fn has_root_dir(self) -> bool {
        self != ArchiveFormat::Zip
    }
}

/// The two modes an archive entry can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryMode {
    /// 0755
    Executable,
    /// 0644
    Regular,
}

impl EntryMode {
    /// The permission bits written for this mode.
    pub fn bits(self) -> u32 {
        match self {
            EntryMode::Executable => MODE_EXECUTABLE,
            EntryMode::Regular => MODE_REGULAR,
        }
    }
}

/// One file to put in an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveEntry {
    /// Relative, '/'-separated path inside the archive (under the root dir for tarballs).
    pub path: String,
    /// The file on disk whose contents become the entry; only its bytes are used.
    pub source: PathBuf,
    pub mode: EntryMode,
}

/// One item of the sorted plan both writers follow.
#[derive(Debug)]
pub(crate) enum PlanItem<'a> {
    /// A directory implied by some entry's path, without trailing slash.
    Dir(String),
    File(&'a ArchiveEntry),
}

#[cfg(test)]
impl PlanItem<'_> {
    fn path(&self) -> &str {
        match self {
            PlanItem::Dir(path) => path,
            PlanItem::File(entry) => &entry.path,
        }
    }
}

/// Checks every path and orders the entries plus their parent directories by byte order.
/// A parent is a prefix of its children, so it always sorts before them.
fn plan(entries: &[ArchiveEntry]) -> Result<Vec<PlanItem<'_>>, ArchiveError> {
    let mut items: BTreeMap<&str, PlanItem<'_>> = BTreeMap::new();
    let mut dirs: BTreeMap<&str, ()> = BTreeMap::new();
    for entry in entries {
        validate_entry_path(&entry.path)?;
        if items.insert(&entry.path, PlanItem::File(entry)).is_some() {
            return Err(ArchiveError::DuplicateEntry {
                path: entry.path.clone(),
            });
        }
        let mut end = 0;
        while let Some(slash) = entry.path[end..].find('/') {
            end += slash;
            dirs.insert(&entry.path[..end], ());
            end += 1;
        }
    }
    for dir in dirs.into_keys() {
        if items.contains_key(dir) {
            return Err(ArchiveError::FileIsAlsoDir {
                path: dir.to_owned(),
            });
        }
        items.insert(dir, PlanItem::Dir(dir.to_owned()));
    }
    Ok(items.into_values().collect())
}

fn validate_entry_path(path: &str) -> Result<(), ArchiveError> {
    let invalid = |reason| ArchiveError::InvalidEntryPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("it is empty"));
    }
    if path.starts_with('/') {
        return Err(invalid("it is absolute"));
    }
    if path.contains('\\') {
        return Err(invalid("it contains a backslash"));
    }
    if path.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    for component in path.split('/') {
        match component {
            "" => {
                return Err(invalid(
                    "it has an empty component (\"//\" or a trailing '/')",
                ))
            }
            "." | ".." => return Err(invalid("it has a '.' or '..' component")),
            _ => {}
        }
    }
    Ok(())
}

fn validate_root_dir(root: &str) -> Result<(), ArchiveError> {
    let invalid = |reason| ArchiveError::InvalidRootDir {
        root: root.to_owned(),
        reason,
    };
    if root.is_empty() {
        return Err(invalid("it is empty"));
    }
    if root.contains(['/', '\\', '\0']) {
        return Err(invalid("it must be one path component"));
    }
    if root == "." || root == ".." {
        return Err(invalid("'.' and '..' are not directory names"));
    }
    Ok(())
}

/// Reads one source file, remembering whether an I/O error came from it rather than from the
/// archive being written (both surface through the same `io::copy`).
pub(crate) struct SourceReader<'a> {
    path: &'a Path,
    inner: io::Take<File>,
    pub(crate) expected: u64,
    pub(crate) read: u64,
    failed: bool,
}

impl<'a> SourceReader<'a> {
    pub(crate) fn open(path: &'a Path) -> Result<Self, ArchiveError> {
        let read_err = |source| ArchiveError::ReadSource {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(ArchiveError::NotAFile {
                path: path.to_owned(),
            });
        }
        // Never read past the size already written into the entry header.
        Ok(SourceReader {
            path,
            inner: file.take(meta.len()),
            expected: meta.len(),
            read: 0,
            failed: false,
        })
    }

    /// Turns an error from copying this source into the archive into the right variant.
    pub(crate) fn classify(&self, err: io::Error, out: &Path) -> ArchiveError {
        if self.failed {
            ArchiveError::ReadSource {
                path: self.path.to_owned(),
                source: err,
            }
        } else {
            ArchiveError::Write {
                path: out.to_owned(),
                source: err,
            }
        }
    }

    /// Fails if the file shrank after its size was taken (the entry would be short).
    pub(crate) fn check_complete(&self) -> Result<(), ArchiveError> {
        if self.read == self.expected {
            Ok(())
        } else {
            Err(ArchiveError::SourceChanged {
                path: self.path.to_owned(),
                expected: self.expected,
                actual: self.read,
            })
        }
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(err) => {
                self.failed = true;
                Err(err)
            }
        }
    }
}

pub(crate) fn write_err(out: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Write {
        path: out.to_owned(),
        source,
    }
}

/// Writes the archive to `out` (the caller passes a temp path). Entries sorted by path (byte
/// order), tarballs under one root directory `root_dir/` (with an explicit dir entry, mode 0755),
/// zips flat (`root_dir` is ignored). Parent directories get explicit entries (mode 0755) in both.
/// On error whatever was written to `out` is removed.
pub fn write_archive(
    format: ArchiveFormat,
    root_dir: &str,
    entries: &[ArchiveEntry],
    out: &Path,
) -> Result<(), ArchiveError> {
    if format.has_root_dir() {
        validate_root_dir(root_dir)?;
    }
    let items = plan(entries)?;
    let file = File::create(out).map_err(write_err(out))?;
    let sink = BufWriter::new(file);
    let result = match format {
        ArchiveFormat::TarGz => tarball::write_tar_gz(sink, root_dir, &items, out),
        ArchiveFormat::TarXz => tarball::write_tar_xz(sink, root_dir, &items, out),
        ArchiveFormat::TarZst => tarball::write_tar_zst(sink, root_dir, &items, out),
        ArchiveFormat::Zip => zipfile::write_zip(sink, &items, out),
    };
    if result.is_err() {
        // Best effort: the original error matters more than a failed cleanup.
        let _ = fs::remove_file(out);
    }
    result
}

/// The source tarball: `source.tar.gz` with every file under root dir `{app}-{version}/`.
/// `files` are (relative path with '/', absolute source path); modes: 0755 if the source file is
/// executable by its owner, else 0644.
pub fn write_source_tarball(
    root_dir: &str,
    files: &[(String, PathBuf)],
    out: &Path,
) -> Result<(), ArchiveError> {
    let entries = files
        .iter()
        .map(|(path, source)| {
            let meta = fs::metadata(source).map_err(|err| ArchiveError::ReadSource {
                path: source.clone(),
                source: err,
            })?;
            Ok(ArchiveEntry {
                path: path.clone(),
                source: source.clone(),
                mode: if owner_executable(&meta) {
                    EntryMode::Executable
                } else {
                    EntryMode::Regular
                },
            })
        })
        .collect::<Result<Vec<_>, ArchiveError>>()?;
    write_archive(ArchiveFormat::TarGz, root_dir, &entries, out)
}

#[cfg(unix)]
fn owner_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

/// Windows has no x-bit; source files there are all regular.
#[cfg(not(unix))]
fn owner_executable(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> ArchiveEntry {
        ArchiveEntry {
            path: path.to_owned(),
            source: PathBuf::from("/nonexistent"),
            mode: EntryMode::Regular,
        }
    }

    #[test]
    fn plan_adds_parents_in_byte_order() {
        let entries = [entry("b/c/d"), entry("a"), entry("b-x"), entry("b/a")];
        let items = plan(&entries).unwrap();
        let paths: Vec<&str> = items.iter().map(PlanItem::path).collect();
        assert_eq!(paths, ["a", "b", "b-x", "b/a", "b/c", "b/c/d"]);
        assert!(matches!(items[1], PlanItem::Dir(_)));
        assert!(matches!(items[4], PlanItem::Dir(_)));
    }

    #[test]
    fn plan_rejects_bad_paths() {
        for bad in ["", "/abs", "a//b", "a/", "./a", "a/../b", "a\\b"] {
            assert!(
                matches!(
                    plan(&[entry(bad)]),
                    Err(ArchiveError::InvalidEntryPath { .. })
                ),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            plan(&[entry("a"), entry("a")]),
            Err(ArchiveError::DuplicateEntry { .. })
        ));
        assert!(matches!(
            plan(&[entry("a"), entry("a/b")]),
            Err(ArchiveError::FileIsAlsoDir { .. })
        ));
    }

    #[test]
    fn root_dir_must_be_one_component() {
        for bad in ["", "a/b", ".", "..", "a\\b"] {
            assert!(validate_root_dir(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_root_dir("app-1.0.0").is_ok());
    }
}
