//! The determinism contract of the archive writers, checked on real bytes and with the real
//! system tools (`tar`, `xz`, `gzip`, `zstd`, `unzip`, `zipinfo`, `sha256sum`). A missing tool
//! fails the test with its name: CI must install them, never skip.

use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use dist_recipes::archive::{
    checksum_line, diff_members, read_members, sha256_file, write_archive, write_source_tarball,
    ArchiveEntry, ArchiveError, ArchiveFormat, EntryMode, FIXED_MTIME,
};
use dist_recipes::vocab::Vocabulary;

const ROOT: &str = "app-1.0.0";
const TARBALLS: [ArchiveFormat; 3] = [
    ArchiveFormat::TarXz,
    ArchiveFormat::TarGz,
    ArchiveFormat::TarZst,
];

/// (path in archive, contents, executable)
fn files() -> Vec<(&'static str, Vec<u8>, bool)> {
    vec![
        ("bin/app", b"\x7fELF pretend binary\n".repeat(300), true),
        ("README.md", b"# app\n".to_vec(), false),
        ("doc/guide/intro.md", b"hello\n".to_vec(), false),
        ("LICENSE", Vec::new(), false),
        ("bin/helper.sh", b"#!/bin/sh\necho hi\n".to_vec(), true),
    ]
}

/// Writes the fixture files under `dir`, with the on-disk metadata an archive must ignore:
/// `variant` picks the mtime and the permission bits other than the owner x-bit.
fn fixture(dir: &Path, variant: u32) -> Vec<ArchiveEntry> {
    let mtime =
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000 + 86_400 * 400 * variant as u64);
    let mut entries = Vec::new();
    for (path, contents, exec) in files() {
        let source = dir.join("src").join(path.replace('/', "__"));
        fs::create_dir_all(source.parent().unwrap()).unwrap();
        fs::write(&source, &contents).unwrap();
        let mode = match (exec, variant % 2) {
            (true, 0) => 0o755,
            (true, _) => 0o700,
            (false, 0) => 0o644,
            (false, _) => 0o600,
        };
        fs::set_permissions(&source, fs::Permissions::from_mode(mode)).unwrap();
        File::options()
            .write(true)
            .open(&source)
            .unwrap()
            .set_times(FileTimes::new().set_modified(mtime).set_accessed(mtime))
            .unwrap();
        entries.push(ArchiveEntry {
            path: path.to_owned(),
            source,
            mode: if exec {
                EntryMode::Executable
            } else {
                EntryMode::Regular
            },
        });
    }
    if variant % 2 == 1 {
        entries.reverse();
    }
    entries
}

fn write(format: ArchiveFormat, entries: &[ArchiveEntry], dir: &Path) -> PathBuf {
    let out = dir.join(format!("out{}", format.extension()));
    write_archive(format, ROOT, entries, &out).unwrap();
    out
}

/// Runs a system tool, failing loudly when it is not installed or exits non-zero.
fn run(tool: &str, args: &[&str], cwd: &Path) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|err| {
            panic!("system tool `{tool}` is required by this test but could not run ({err}); install it (apt-get install -y tar xz-utils gzip zstd unzip coreutils)")
        });
    assert!(
        output.status.success(),
        "`{tool} {}` failed: {}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Checks an unpacked tree holds exactly the fixture, with exactly the contract's modes.
fn assert_tree(base: &Path) {
    let mut found = BTreeMap::new();
    for entry in walkdir::WalkDir::new(base).min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(base)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        found.insert(rel, (entry.file_type().is_dir(), mode_of(entry.path())));
    }
    let mut expected = BTreeMap::new();
    for (path, contents, exec) in files() {
        assert_eq!(fs::read(base.join(path)).unwrap(), contents, "{path}");
        expected.insert(path.to_owned(), (false, if exec { 0o755 } else { 0o644 }));
    }
    for dir in ["bin", "doc", "doc/guide"] {
        expected.insert(dir.to_owned(), (true, 0o755));
    }
    assert_eq!(found, expected);
}

fn decompress(format: ArchiveFormat, path: &Path) -> Vec<u8> {
    let file = File::open(path).unwrap();
    let mut bytes = Vec::new();
    match format {
        ArchiveFormat::TarGz => flate2::read::GzDecoder::new(file).read_to_end(&mut bytes),
        ArchiveFormat::TarXz => liblzma::read::XzDecoder::new(file).read_to_end(&mut bytes),
        ArchiveFormat::TarZst => zstd::stream::read::Decoder::new(file)
            .unwrap()
            .read_to_end(&mut bytes),
        ArchiveFormat::Zip => panic!("zip is not a compressed tar"),
    }
    .unwrap();
    bytes
}

#[derive(Debug)]
struct RawHeader {
    kind: u8,
    name: String,
    mode: u64,
    uid: u64,
    gid: u64,
    mtime: u64,
    uname: Vec<u8>,
    gname: Vec<u8>,
    magic: Vec<u8>,
    /// devmajor, devminor, atime, ctime and the rest of the GNU fields.
    tail: Vec<u8>,
}

fn octal(field: &[u8]) -> u64 {
    let text = std::str::from_utf8(field).unwrap();
    let digits = text.trim_matches(|c| c == '\0' || c == ' ');
    u64::from_str_radix(digits, 8).unwrap()
}

fn nul_terminated(field: &[u8]) -> Vec<u8> {
    field.iter().copied().take_while(|b| *b != 0).collect()
}

/// Every header block of an uncompressed tar, read by hand so nothing is hidden by a library.
fn raw_headers(tar: &[u8]) -> Vec<RawHeader> {
    let mut headers = Vec::new();
    let mut offset = 0;
    loop {
        let block = &tar[offset..offset + 512];
        if block.iter().all(|b| *b == 0) {
            assert!(
                tar[offset..].iter().all(|b| *b == 0),
                "data after end of archive"
            );
            break;
        }
        let size = octal(&block[124..136]);
        headers.push(RawHeader {
            kind: block[156],
            name: String::from_utf8(nul_terminated(&block[..100])).unwrap(),
            mode: octal(&block[100..108]),
            uid: octal(&block[108..116]),
            gid: octal(&block[116..124]),
            mtime: octal(&block[136..148]),
            uname: nul_terminated(&block[265..297]),
            gname: nul_terminated(&block[297..329]),
            magic: block[257..265].to_vec(),
            tail: block[329..].to_vec(),
        });
        offset += 512 + size.div_ceil(512) as usize * 512;
    }
    headers
}

#[test]
fn format_names_round_trip() {
    for &format in ArchiveFormat::ALL {
        assert_eq!(ArchiveFormat::parse(format.extension()), Some(format));
        // Config files write the dot, as cargo-dist's do.
        assert_eq!(ArchiveFormat::parse(&format.extension()[1..]), None);
    }
    assert_eq!(
        ArchiveFormat::parse(".tar.zstd"),
        Some(ArchiveFormat::TarZst)
    );
    dist_recipes::vocab::check::<ArchiveFormat>().unwrap();
    assert_eq!(ArchiveFormat::TarXz.extension(), ".tar.xz");
    assert_eq!(ArchiveFormat::TarGz.extension(), ".tar.gz");
    assert_eq!(ArchiveFormat::TarZst.extension(), ".tar.zst");
    assert_eq!(ArchiveFormat::Zip.extension(), ".zip");
    assert_eq!(ArchiveFormat::parse("tar.bz2"), None);
    assert_eq!(ArchiveFormat::parse(".tar"), None);
    assert_eq!(ArchiveFormat::parse(""), None);
    assert!(TARBALLS.iter().all(|f| f.has_root_dir()));
    assert!(!ArchiveFormat::Zip.has_root_dir());
}

#[test]
fn same_bytes_whatever_the_source_metadata_and_entry_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let entries_a = fixture(a.path(), 0);
    let entries_b = fixture(b.path(), 1);
    assert_ne!(
        fs::metadata(&entries_a[0].source)
            .unwrap()
            .modified()
            .unwrap(),
        fs::metadata(&entries_b[4].source)
            .unwrap()
            .modified()
            .unwrap()
    );
    for &format in ArchiveFormat::ALL {
        let first = fs::read(write(format, &entries_a, a.path())).unwrap();
        let second = fs::read(write(format, &entries_b, b.path())).unwrap();
        assert!(first == second, "{format:?}: archives differ");
        // And again, into an existing file, later.
        let again = fs::read(write(format, &entries_b, a.path())).unwrap();
        assert!(first == again, "{format:?}: rewrite differs");

        // Sanity: the bytes do depend on the contents and modes.
        let mut changed = entries_b.clone();
        let readme = changed.iter_mut().find(|e| e.path == "README.md").unwrap();
        readme.mode = EntryMode::Executable;
        let other = fs::read(write(format, &changed, b.path())).unwrap();
        assert!(first != other, "{format:?}: mode not recorded");
    }
}

#[test]
fn tar_headers_are_fixed_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 1);
    for format in TARBALLS {
        let tar = decompress(format, &write(format, &entries, dir.path()));
        let headers = raw_headers(&tar);
        let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app-1.0.0/",
                "app-1.0.0/LICENSE",
                "app-1.0.0/README.md",
                "app-1.0.0/bin/",
                "app-1.0.0/bin/app",
                "app-1.0.0/bin/helper.sh",
                "app-1.0.0/doc/",
                "app-1.0.0/doc/guide/",
                "app-1.0.0/doc/guide/intro.md",
            ],
            "{format:?}"
        );
        for h in &headers {
            let dir = h.name.ends_with('/');
            assert_eq!(h.kind, if dir { b'5' } else { b'0' }, "{h:?}");
            let exec = dir || h.name.contains("bin/");
            assert_eq!(h.mode, if exec { 0o755 } else { 0o644 }, "{h:?}");
            assert_eq!((h.uid, h.gid, h.mtime), (0, 0, FIXED_MTIME), "{h:?}");
            assert!(h.uname.is_empty() && h.gname.is_empty(), "{h:?}");
            assert_eq!(h.magic, b"ustar  \0", "{h:?}");
            assert!(h.tail.iter().all(|b| *b == 0), "{h:?}");
        }
    }
}

#[test]
fn compression_headers_are_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 0);

    let gz = fs::read(write(ArchiveFormat::TarGz, &entries, dir.path())).unwrap();
    // magic, deflate, no flags (no file name), mtime 0, XFL 2 (best), OS 255 (unknown)
    assert_eq!(gz[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);

    let xz = fs::read(write(ArchiveFormat::TarXz, &entries, dir.path())).unwrap();
    // magic, then stream flags: check type 0x04 = CRC64
    assert_eq!(xz[..8], [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0x04]);

    let zst = fs::read(write(ArchiveFormat::TarZst, &entries, dir.path())).unwrap();
    assert_eq!(zst[..4], [0x28, 0xb5, 0x2f, 0xfd]);
    assert_ne!(zst[4] & 0b100, 0, "content checksum flag not set");
}

#[test]
fn system_tools_unpack_tarballs_under_one_root() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 1);
    for (format, flag, tester) in [
        (ArchiveFormat::TarXz, "-J", "xz"),
        (ArchiveFormat::TarGz, "-z", "gzip"),
        (ArchiveFormat::TarZst, "--zstd", "zstd"),
    ] {
        let archive = write(format, &entries, dir.path());
        let archive_str = archive.to_str().unwrap();
        run(tester, &["-t", archive_str], dir.path());

        let dest = dir.path().join(format!("unpacked{}", format.extension()));
        fs::create_dir(&dest).unwrap();
        run(
            "tar",
            &[
                flag,
                "-x",
                "-p",
                "-f",
                archive_str,
                "-C",
                dest.to_str().unwrap(),
            ],
            dir.path(),
        );
        let top: Vec<_> = fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(top, [ROOT], "{format:?}: not one root dir");
        assert_eq!(mode_of(&dest.join(ROOT)), 0o755);
        assert_tree(&dest.join(ROOT));

        let listing = run(
            "tar",
            &[
                flag,
                "-t",
                "-v",
                "--numeric-owner",
                "--full-time",
                "-f",
                archive_str,
            ],
            dir.path(),
        );
        assert_eq!(listing.lines().count(), 9, "{listing}");
        for line in listing.lines() {
            assert!(line.contains(" 0/0 "), "{format:?} owner: {line}");
            assert!(
                line.contains(" 1980-01-01 00:00:00 "),
                "{format:?} mtime: {line}"
            );
        }
    }
}

#[test]
fn unzip_unpacks_zip_flat() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 1);
    let archive = write(ArchiveFormat::Zip, &entries, dir.path());
    let archive_str = archive.to_str().unwrap();
    run("unzip", &["-t", archive_str], dir.path());

    let dest = dir.path().join("unzipped");
    run(
        "unzip",
        &["-q", archive_str, "-d", dest.to_str().unwrap()],
        dir.path(),
    );
    assert_tree(&dest);

    let listing = run("zipinfo", &[archive_str], dir.path());
    let members: Vec<&str> = listing.lines().filter(|l| l.contains(" unx ")).collect();
    assert_eq!(members.len(), 8, "{listing}");
    for line in &members {
        assert!(line.contains(" 80-Jan-01 00:00 "), "timestamp: {line}");
        let exec = line.ends_with('/') || line.contains(" bin/");
        let perms = if line.ends_with('/') {
            "drwxr-xr-x"
        } else if exec {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert!(line.starts_with(perms), "mode: {line}");
    }
    let verbose = run("zipinfo", &["-v", archive_str], dir.path());
    assert!(!verbose.contains("extra field modtime"), "{verbose}");
    let extra_lengths: Vec<&str> = verbose
        .lines()
        .filter(|l| l.contains("length of extra field:"))
        .collect();
    assert_eq!(extra_lengths.len(), 8, "{verbose}");
    assert!(
        extra_lengths.iter().all(|l| l.ends_with(" 0 bytes")),
        "{verbose}"
    );
    assert!(
        !verbose.contains("The central-directory extra field contains"),
        "{verbose}"
    );
    assert!(
        verbose.contains("There is no zipfile comment."),
        "{verbose}"
    );
}

fn u16_at(bytes: &[u8], at: usize) -> usize {
    u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

#[test]
fn zip_records_hold_no_extra_fields_or_comments() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 0);
    let zip = fs::read(write(ArchiveFormat::Zip, &entries, dir.path())).unwrap();

    let mut names = Vec::new();
    let mut at = 0;
    while zip[at..at + 4] == *b"PK\x03\x04" {
        assert_eq!(u16_at(&zip, at + 6) & 0x8, 0, "data descriptor used");
        assert_eq!(u16_at(&zip, at + 10), 0, "DOS time not 00:00:00");
        assert_eq!(u16_at(&zip, at + 12), 0x21, "DOS date not 1980-01-01");
        let name_len = u16_at(&zip, at + 26);
        assert_eq!(u16_at(&zip, at + 28), 0, "local extra field present");
        names.push(String::from_utf8(zip[at + 30..at + 30 + name_len].to_vec()).unwrap());
        at += 30 + name_len + u32_at(&zip, at + 18);
    }
    assert_eq!(
        names,
        [
            "LICENSE",
            "README.md",
            "bin/",
            "bin/app",
            "bin/helper.sh",
            "doc/",
            "doc/guide/",
            "doc/guide/intro.md"
        ]
    );
    let mut count = 0;
    while zip[at..at + 4] == *b"PK\x01\x02" {
        assert_eq!(zip[at + 5], 3, "version made by is not unix");
        assert_eq!(u16_at(&zip, at + 12), 0);
        assert_eq!(u16_at(&zip, at + 14), 0x21);
        let (name_len, extra_len, comment_len) = (
            u16_at(&zip, at + 28),
            u16_at(&zip, at + 30),
            u16_at(&zip, at + 32),
        );
        assert_eq!(
            (extra_len, comment_len),
            (0, 0),
            "central extra field or comment"
        );
        let mode = u32_at(&zip, at + 38) >> 16;
        let name = std::str::from_utf8(&zip[at + 46..at + 46 + name_len]).unwrap();
        let expected = match name {
            n if n.ends_with('/') => 0o40755,
            n if n.starts_with("bin/") => 0o100755,
            _ => 0o100644,
        };
        assert_eq!(mode, expected, "{name}");
        at += 46 + name_len;
        count += 1;
    }
    assert_eq!(count, names.len());
    assert_eq!(zip[at..at + 4], *b"PK\x05\x06");
    assert_eq!(u16_at(&zip, at + 20), 0, "archive comment");
    assert_eq!(at + 22, zip.len());
}

#[test]
fn long_paths_use_a_deterministic_gnu_long_name() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let long = format!("share/{}/{}.txt", "d".repeat(90), "f".repeat(120));
    let make = |dir: &Path, mode: u32| {
        let source = dir.join("long");
        fs::write(&source, b"long\n").unwrap();
        fs::set_permissions(&source, fs::Permissions::from_mode(mode)).unwrap();
        vec![ArchiveEntry {
            path: long.clone(),
            source,
            mode: EntryMode::Regular,
        }]
    };
    let (entries_a, entries_b) = (make(a.path(), 0o644), make(b.path(), 0o600));
    for &format in ArchiveFormat::ALL {
        let first = write(format, &entries_a, a.path());
        let second = write(format, &entries_b, b.path());
        assert!(
            fs::read(&first).unwrap() == fs::read(&second).unwrap(),
            "{format:?}"
        );
        let (_, members) = read_members(format, &first).unwrap();
        assert!(
            members.contains_key(&long),
            "{format:?}: {:?}",
            members.keys()
        );
        if format == ArchiveFormat::Zip {
            continue;
        }
        let headers = raw_headers(&decompress(format, &first));
        assert!(headers.iter().all(|h| matches!(h.kind, b'0' | b'5' | b'L')));
        for h in headers.iter().filter(|h| h.kind == b'L') {
            assert_eq!((h.uid, h.gid, h.mtime, h.mode), (0, 0, FIXED_MTIME, 0o644));
            assert_eq!(h.name, "././@LongLink");
        }
        let dest = a.path().join(format!("x{}", format.extension()));
        fs::create_dir(&dest).unwrap();
        run(
            "tar",
            &[
                "-x",
                "-f",
                first.to_str().unwrap(),
                "-C",
                dest.to_str().unwrap(),
            ],
            a.path(),
        );
        assert_eq!(fs::read(dest.join(ROOT).join(&long)).unwrap(), b"long\n");
    }
}

#[test]
fn read_members_and_diff_name_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 0);
    let changed_dir = tempfile::tempdir().unwrap();
    let mut changed = fixture(changed_dir.path(), 0);
    fs::write(
        &changed.iter().find(|e| e.path == "bin/app").unwrap().source,
        b"patched",
    )
    .unwrap();
    changed.retain(|e| e.path != "LICENSE");
    let readme = changed.iter_mut().find(|e| e.path == "README.md").unwrap();
    readme.mode = EntryMode::Executable;

    for &format in ArchiveFormat::ALL {
        let first = write(format, &entries, dir.path());
        let second = write(format, &changed, changed_dir.path());
        let (root, members) = read_members(format, &first).unwrap();
        let expected_root = format.has_root_dir().then(|| ROOT.to_owned());
        assert_eq!(root, expected_root, "{format:?}");
        for (path, contents, exec) in files() {
            let member = &members[path];
            assert_eq!(member.mode, if exec { 0o755 } else { 0o644 }, "{path}");
            assert_eq!(member.size, contents.len() as u64, "{path}");
            assert_eq!(member.blake3, blake3::hash(&contents).to_hex().to_string());
        }
        for dir in ["bin/", "doc/", "doc/guide/"] {
            assert_eq!(members[dir].mode, 0o755, "{format:?} {dir}");
        }
        assert_eq!(members.len(), 8, "{format:?}: {:?}", members.keys());

        let (_, other) = read_members(format, &second).unwrap();
        assert!(diff_members(&members, &members).is_empty());
        assert_eq!(
            diff_members(&members, &other),
            [
                "only in first: LICENSE",
                "differs: README.md (mode 0644 vs 0755)",
                "differs: bin/app (size 6000 vs 7, content)",
            ],
            "{format:?}"
        );
    }
}

#[test]
fn reading_a_broken_archive_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.tar.xz");
    fs::write(&bogus, b"not an archive").unwrap();
    for &format in ArchiveFormat::ALL {
        let err = read_members(format, &bogus).unwrap_err();
        assert!(
            err.to_string().contains("bogus.tar.xz"),
            "{format:?}: {err}"
        );
    }
}

#[test]
fn checksum_lines_pass_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("abc"), b"abc").unwrap();
    let abc = sha256_file(&dir.path().join("abc")).unwrap();
    assert_eq!(
        abc,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(checksum_line(&abc, "abc"), format!("{abc}  abc\n"));

    let entries = fixture(dir.path(), 0);
    let archive = write(ArchiveFormat::TarGz, &entries, dir.path());
    let archive_name = archive.file_name().unwrap().to_str().unwrap().to_owned();
    let odd_name = "odd\\name.zip";
    fs::write(dir.path().join(odd_name), b"zip bytes").unwrap();

    let mut sums = String::new();
    for name in ["abc", archive_name.as_str(), odd_name] {
        let hex = sha256_file(&dir.path().join(name)).unwrap();
        let line = checksum_line(&hex, name);
        // What sha256sum itself prints must be exactly our line.
        assert_eq!(run("sha256sum", &[name], dir.path()), line);
        fs::write(dir.path().join(format!("{name}.sha256")), &line).unwrap();
        run("sha256sum", &["-c", &format!("{name}.sha256")], dir.path());
        sums.push_str(&line);
    }
    fs::write(dir.path().join("sha256.sum"), sums).unwrap();
    run("sha256sum", &["-c", "--strict", "sha256.sum"], dir.path());

    let missing = dir.path().join("missing.zip");
    let err = sha256_file(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.zip"), "{err}");
}

#[test]
fn missing_source_is_named_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = fixture(dir.path(), 0);
    let missing = dir.path().join("never-built-app");
    entries.push(ArchiveEntry {
        path: "bin/zzz".to_owned(),
        source: missing.clone(),
        mode: EntryMode::Executable,
    });
    for &format in ArchiveFormat::ALL {
        let out = dir.path().join(format!("broken{}", format.extension()));
        let err = write_archive(format, ROOT, &entries, &out).unwrap_err();
        assert!(matches!(err, ArchiveError::ReadSource { ref path, .. } if *path == missing));
        assert!(err.to_string().contains("never-built-app"), "{err}");
        assert!(!out.exists(), "{format:?}: partial archive left behind");
    }

    let not_file = vec![ArchiveEntry {
        path: "bin".to_owned(),
        source: dir.path().to_owned(),
        mode: EntryMode::Regular,
    }];
    let out = dir.path().join("dir.zip");
    let err = write_archive(ArchiveFormat::Zip, ROOT, &not_file, &out).unwrap_err();
    assert!(matches!(err, ArchiveError::NotAFile { .. }), "{err}");
    assert!(!out.exists());
}

#[test]
fn bad_paths_and_roots_are_rejected_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 0);
    let out = dir.path().join("x.tar.gz");
    for root in ["", "a/b", ".."] {
        let err = write_archive(ArchiveFormat::TarGz, root, &entries, &out).unwrap_err();
        assert!(matches!(err, ArchiveError::InvalidRootDir { .. }), "{err}");
    }
    let mut bad = entries.clone();
    bad[0].path = "../escape".to_owned();
    let err = write_archive(ArchiveFormat::TarGz, ROOT, &bad, &out).unwrap_err();
    assert!(err.to_string().contains("../escape"), "{err}");
    let mut dup = entries.clone();
    dup.push(entries[0].clone());
    let err = write_archive(ArchiveFormat::Zip, ROOT, &dup, &out).unwrap_err();
    assert!(matches!(err, ArchiveError::DuplicateEntry { .. }), "{err}");
    assert!(!out.exists());
}

#[test]
fn empty_archives_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for &format in ArchiveFormat::ALL {
        let out = write(format, &[], dir.path());
        let (root, members) = read_members(format, &out).unwrap();
        assert!(members.is_empty(), "{format:?}");
        assert_eq!(root.is_some(), format.has_root_dir());
    }
}

#[test]
fn source_tarball_takes_modes_from_the_owner_x_bit() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let make = |dir: &Path, variant: u32| {
        let mut files = Vec::new();
        for (path, contents, exec) in [
            ("Cargo.toml", &b"[package]\n"[..], false),
            ("src/main.rs", b"fn main() {}\n", false),
            ("scripts/release.sh", b"#!/bin/sh\n", true),
        ] {
            let source = dir.join(path);
            fs::create_dir_all(source.parent().unwrap()).unwrap();
            fs::write(&source, contents).unwrap();
            // Only the owner x-bit may matter; group/other bits vary between checkouts.
            let mode = match (exec, variant) {
                (true, 0) => 0o755,
                (true, _) => 0o700,
                (false, 0) => 0o664,
                (false, _) => 0o600,
            };
            fs::set_permissions(&source, fs::Permissions::from_mode(mode)).unwrap();
            files.push((path.to_owned(), source));
        }
        if variant == 1 {
            files.reverse();
        }
        files
    };
    let out_a = a.path().join("source.tar.gz");
    let out_b = b.path().join("source.tar.gz");
    write_source_tarball(ROOT, &make(a.path(), 0), &out_a).unwrap();
    write_source_tarball(ROOT, &make(b.path(), 1), &out_b).unwrap();
    let bytes = fs::read(&out_a).unwrap();
    assert!(bytes == fs::read(&out_b).unwrap(), "source tarballs differ");
    assert_eq!(bytes[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);

    let (root, members) = read_members(ArchiveFormat::TarGz, &out_a).unwrap();
    assert_eq!(root.as_deref(), Some(ROOT));
    let modes: Vec<(&str, u32)> = members.iter().map(|(p, m)| (p.as_str(), m.mode)).collect();
    assert_eq!(
        modes,
        [
            ("Cargo.toml", 0o644),
            ("scripts/", 0o755),
            ("scripts/release.sh", 0o755),
            ("src/", 0o755),
            ("src/main.rs", 0o644),
        ]
    );
    let dest = a.path().join("unpacked");
    fs::create_dir(&dest).unwrap();
    run(
        "tar",
        &[
            "-xzpf",
            out_a.to_str().unwrap(),
            "-C",
            dest.to_str().unwrap(),
        ],
        a.path(),
    );
    assert_eq!(mode_of(&dest.join(ROOT).join("scripts/release.sh")), 0o755);
    assert_eq!(mode_of(&dest.join(ROOT).join("Cargo.toml")), 0o644);

    let err = write_source_tarball(
        ROOT,
        &[("gone.rs".to_owned(), a.path().join("gone.rs"))],
        &a.path().join("s.tar.gz"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("gone.rs"), "{err}");
}
