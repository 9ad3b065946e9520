//! Reading an archive back as a list of members, to say which ones differ between two builds.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use tar::EntryType;
use zip::ZipArchive;

use super::{ArchiveError, ArchiveFormat};

/// One member of an archive. Directories are keyed with a trailing '/' and have size 0 and an
/// empty hash; symlinks hash their target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Permission bits only (`& 0o7777`).
    pub mode: u32,
    pub size: u64,
    pub blake3: String,
}

/// Members of an archive: path (without the root dir for tarballs) -> mode, size, blake3 hex.
/// The root dir is returned when every entry of a tarball sits under one directory; otherwise
/// it is `None` and paths are kept whole. Zips are read flat, so always `None` for them.
pub fn read_members(
    format: ArchiveFormat,
    path: &Path,
) -> Result<(Option<String>, BTreeMap<String, Member>), ArchiveError> {
    read_members_with(format, path, None)
}

/// Rewrites the bytes of the members it picks before they are hashed (`compare` hashes
/// programs with their code signatures removed): `Some(bytes)` for a member it rewrote.
pub type MemberFilter<'a> = &'a dyn Fn(&str, &[u8]) -> Option<Vec<u8>>;

/// [`read_members`], each member's bytes passed through `filter` first.
pub fn read_members_filtered(
    format: ArchiveFormat,
    path: &Path,
    filter: MemberFilter,
) -> Result<(Option<String>, BTreeMap<String, Member>), ArchiveError> {
    read_members_with(format, path, Some(filter))
}

/// Reads the members, each through `filter` when there is one (which then holds a member's
/// bytes in memory; without one they stream through the hash).
fn read_members_with(
    format: ArchiveFormat,
    path: &Path,
    filter: Option<MemberFilter>,
) -> Result<(Option<String>, BTreeMap<String, Member>), ArchiveError> {
    let file = File::open(path).map_err(|source| ArchiveError::ReadArchive {
        path: path.to_owned(),
        format: format.extension(),
        source,
    })?;
    let reader = BufReader::new(file);
    let read_err = |source| ArchiveError::ReadArchive {
        path: path.to_owned(),
        format: format.extension(),
        source,
    };
    match format {
        ArchiveFormat::TarGz => {
            read_tar(flate2::read::MultiGzDecoder::new(reader), filter).map_err(read_err)
        }
        ArchiveFormat::TarXz => {
            read_tar(liblzma::read::XzDecoder::new_multi_decoder(reader), filter).map_err(read_err)
        }
        ArchiveFormat::TarZst => {
            let decoder = zstd::stream::read::Decoder::with_buffer(reader).map_err(read_err)?;
            read_tar(decoder, filter).map_err(read_err)
        }
        ArchiveFormat::Zip => read_zip(reader, filter).map_err(|source| ArchiveError::ReadZip {
            path: path.to_owned(),
            source,
        }),
    }
}

/// A member before the root dir is known: full path without trailing '/', and whether it is a dir.
struct RawMember {
    path: String,
    is_dir: bool,
    member: Member,
}

fn read_tar<R: Read>(
    reader: R,
    filter: Option<MemberFilter>,
) -> io::Result<(Option<String>, BTreeMap<String, Member>)> {
    let mut archive = tar::Archive::new(reader);
    let mut raw = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let header = entry.header();
        let mode = header.mode()? & 0o7777;
        let kind = header.entry_type();
        let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        let member = match kind {
            EntryType::Directory => dir_member(mode),
            EntryType::Symlink | EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                Member {
                    mode,
                    size: target.len() as u64,
                    blake3: blake3::hash(&target).to_hex().to_string(),
                }
            }
            _ => hash_contents(mode, &mut entry, &path, filter)?,
        };
        raw.push(RawMember {
            path,
            is_dir: kind == EntryType::Directory,
            member,
        });
    }
    Ok(strip_root(raw))
}

fn read_zip<R: Read + io::Seek>(
    reader: R,
    filter: Option<MemberFilter>,
) -> zip::result::ZipResult<(Option<String>, BTreeMap<String, Member>)> {
    let mut archive = ZipArchive::new(reader)?;
    let mut members = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index)?;
        let mode = file.unix_mode().unwrap_or(0) & 0o7777;
        let path = normalize(&file.name()?);
        if file.is_dir() {
            members.insert(format!("{path}/"), dir_member(mode));
        } else {
            let member = hash_contents(mode, &mut file, &path, filter)?;
            members.insert(path, member);
        }
    }
    Ok((None, members))
}

fn dir_member(mode: u32) -> Member {
    Member {
        mode,
        size: 0,
        blake3: String::new(),
    }
}

fn hash_contents(
    mode: u32,
    reader: &mut impl Read,
    path: &str,
    filter: Option<MemberFilter>,
) -> io::Result<Member> {
    let mut hasher = blake3::Hasher::new();
    let size = match filter {
        None => io::copy(reader, &mut hasher)?,
        Some(filter) => {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes)?;
            let bytes = filter(path, &bytes).unwrap_or(bytes);
            hasher.update(&bytes);
            bytes.len() as u64
        }
    };
    Ok(Member {
        mode,
        size,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// "./a/b/" -> "a/b", so archives from other tools compare with ours.
fn normalize(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    path.trim_end_matches('/').to_owned()
}

/// Finds the single top-level directory all members share, if any, and keys members below it.
fn strip_root(raw: Vec<RawMember>) -> (Option<String>, BTreeMap<String, Member>) {
    let root = raw.first().and_then(|first| {
        let candidate = first.path.split('/').next().unwrap_or_default();
        let all_under = raw.iter().all(|m| {
            (m.path == candidate && m.is_dir)
                || m.path
                    .strip_prefix(candidate)
                    .is_some_and(|rest| rest.starts_with('/'))
        });
        (all_under && !candidate.is_empty()).then(|| candidate.to_owned())
    });
    let mut members = BTreeMap::new();
    for m in raw {
        let path = match &root {
            Some(root) if m.path == *root => continue,
            Some(root) => m.path[root.len() + 1..].to_owned(),
            None => m.path,
        };
        let key = if m.is_dir { format!("{path}/") } else { path };
        // Like extraction, a later entry with the same path wins.
        members.insert(key, m.member);
    }
    (root, members)
}

/// Human-readable lines naming the members that differ, in path order:
/// "only in first: x", "only in second: x", "differs: bin/foo (mode 0755 vs 0644, content)".
pub fn diff_members(a: &BTreeMap<String, Member>, b: &BTreeMap<String, Member>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        match (a.get(path), b.get(path)) {
            (Some(_), None) => lines.push(format!("only in first: {path}")),
            (None, Some(_)) => lines.push(format!("only in second: {path}")),
            (Some(x), Some(y)) if x != y => {
                let mut what = Vec::new();
                if x.mode != y.mode {
                    what.push(format!("mode {:04o} vs {:04o}", x.mode, y.mode));
                }
                if x.size != y.size {
                    what.push(format!("size {} vs {}", x.size, y.size));
                }
                if x.blake3 != y.blake3 {
                    what.push("content".to_owned());
                }
                lines.push(format!("differs: {path} ({})", what.join(", ")));
            }
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(path: &str, is_dir: bool) -> RawMember {
        RawMember {
            path: path.to_owned(),
            is_dir,
            member: dir_member(0o755),
        }
    }

    #[test]
    fn root_found_only_when_shared() {
        let (root, members) = strip_root(vec![raw("app", true), raw("app/bin", false)]);
        assert_eq!(root.as_deref(), Some("app"));
        assert_eq!(members.keys().collect::<Vec<_>>(), ["bin"]);

        let (root, members) = strip_root(vec![raw("app/x", false), raw("other/y", false)]);
        assert_eq!(root, None);
        assert_eq!(members.len(), 2);

        // A lone top-level file is not a root directory.
        let (root, _) = strip_root(vec![raw("README", false)]);
        assert_eq!(root, None);
    }

    #[test]
    fn diff_names_each_kind_of_difference() {
        let m = |mode, size, hash: &str| Member {
            mode,
            size,
            blake3: hash.to_owned(),
        };
        let a = BTreeMap::from([
            ("bin/foo".to_owned(), m(0o755, 3, "aa")),
            ("gone".to_owned(), m(0o644, 1, "bb")),
            ("same".to_owned(), m(0o644, 1, "cc")),
        ]);
        let b = BTreeMap::from([
            ("bin/foo".to_owned(), m(0o644, 4, "ab")),
            ("new".to_owned(), m(0o644, 1, "dd")),
            ("same".to_owned(), m(0o644, 1, "cc")),
        ]);
        assert_eq!(
            diff_members(&a, &b),
            [
                "differs: bin/foo (mode 0755 vs 0644, size 3 vs 4, content)",
                "only in first: gone",
                "only in second: new",
            ]
        );
    }
}
