//! `{app}-{target}.deb`: a Debian binary package of a Linux build, written in Rust with no
//! Debian tool: an `ar` archive of `debian-binary`, `control.tar.xz` and `data.tar.xz`.
//!
//! Bit-reproducible: every member and tar entry carries [`FIXED_MTIME`] and root ownership,
//! entries are sorted, and the one dated file (the changelog) is dated by that time too. The
//! package's `Depends` are read from the binaries themselves (their `DT_NEEDED` libraries and
//! the highest `GLIBC_` symbol version they need), as dpkg-shlibdeps would find them for the
//! libraries every Rust binary links.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use md5::{Digest, Md5};

use super::kind::{package_metadata, PackageInputs, PackageSource};
use super::{package_error, InstallerError, Staged};
use crate::archive::FIXED_MTIME;
use crate::recipe::Package;
use crate::target::Target;

/// The revision of this writer, in every `.deb` key: bumped whenever the same inputs would
/// give other bytes.
const WRITER: &str = "2";

/// Debian's name for the CPU of a Linux target; `None` where Debian has no port.
pub(super) fn arch(target: &str) -> Option<&'static str> {
    let t = Target(target);
    if !t.is_linux() {
        return None;
    }
    Some(match t.arch() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" => "i386",
        "armv7" | "thumbv7neon" => "armhf",
        "arm" if target.ends_with("hf") => "armhf",
        "arm" => "armel",
        "powerpc64le" => "ppc64el",
        "s390x" => "s390x",
        "riscv64gc" => "riscv64",
        "loongarch64" => "loong64",
        _ => return None,
    })
}

/// A Debian package name from a crate's: lowercase, `_` as `-` (Policy 5.6.1).
fn package_name(app: &str) -> String {
    app.to_ascii_lowercase().replace('_', "-")
}

/// A Debian version from a semver one: a pre-release sorts before its release with `~`.
fn debian_version(version: &str) -> String {
    version.replacen('-', "~", 1)
}

/// What a `.deb` reads (licence files and the README) and writes (its control fields).
pub(super) fn inputs(src: &PackageSource) -> PackageInputs {
    let authors = src.authors.join(", ");
    let metadata = package_metadata(
        WRITER,
        &[
            ("description", src.description),
            ("license", src.license),
            ("homepage", src.homepage.or(src.repository)),
            ("source", src.repository.or(src.homepage)),
            ("maintainer", src.authors.first().map(String::as_str)),
            ("copyright", Some(authors.as_str())),
        ],
    );
    PackageInputs {
        files: src.doc_files(),
        metadata,
    }
}

/// A file of the package: its path below `/` and its mode and bytes; `None` bytes: a directory.
type Entry = (String, u32, Option<Vec<u8>>);

/// Writes the `.deb` of `p` to `out` from `dir` (`bin/` and `files/`, as the build stages them).
pub(super) fn write(p: &Package, dir: &Path, out: &Path) -> Result<(), InstallerError> {
    let fail = |reason: String| package_error(p, reason);
    let arch = arch(&p.target).ok_or_else(|| {
        fail(format!(
            "{} has no Debian architecture this tool knows",
            p.target
        ))
    })?;
    let name = package_name(&p.app);
    let staged = Staged::read(p, dir)?;
    let doc = format!("usr/share/doc/{name}");
    let mut entries: Vec<Entry> = Vec::new();
    let mut depends = BTreeMap::new();
    for (bin, bytes) in &staged.binaries {
        needs(bytes, &mut depends).map_err(|e| fail(format!("reading {bin}: {e}")))?;
        let stripped =
            super::elf::strip(bytes).map_err(|e| fail(format!("stripping {bin}: {e}")))?;
        entries.push((format!("usr/bin/{bin}"), 0o755, Some(stripped)));
    }
    for (lib, bytes) in &staged.libraries {
        // A private directory: a Rust cdylib has no SONAME, which a public library in
        // /usr/lib must have (Policy 8.1; lintian's sharedobject-in-library-directory-missing-soname).
        let shipped = library(lib, bytes, &mut depends).map_err(fail)?;
        entries.push((format!("usr/lib/{name}/{lib}"), 0o644, Some(shipped)));
    }
    if let Some((base, bytes)) = staged.readme {
        entries.push((format!("{doc}/{base}"), 0o644, Some(bytes)));
    }
    let licenses: Vec<(String, String)> = staged
        .licenses
        .iter()
        .map(|(base, bytes)| (base.clone(), String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    entries.push((
        format!("{doc}/copyright"),
        0o644,
        Some(copyright(p, &licenses)),
    ));
    entries.push((
        format!("{doc}/changelog.gz"),
        0o644,
        Some(changelog(p, &name)?),
    ));
    add_parents(&mut entries);
    entries.sort();
    let installed_kib = entries
        .iter()
        .map(|(_, _, b)| b.as_ref().map_or(4, |b| b.len().div_ceil(1024)))
        .sum::<usize>();
    let control = control(p, &name, arch, installed_kib, &depends);
    let md5sums: String = entries
        .iter()
        .filter_map(|(path, _, b)| Some((path, b.as_ref()?)))
        .map(|(path, b)| format!("{}  {path}\n", hex::encode(Md5::digest(b))))
        .collect();
    let control_tar = tar_xz(&[
        (String::new(), 0o755, None),
        ("control".into(), 0o644, Some(control.into_bytes())),
        ("md5sums".into(), 0o644, Some(md5sums.into_bytes())),
    ])?;
    let data_tar = tar_xz(&entries)?;
    let deb = ar(&[
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.xz", control_tar),
        ("data.tar.xz", data_tar),
    ])?;
    std::fs::write(out, deb).map_err(|source| InstallerError::Io {
        path: out.to_owned(),
        source,
    })
}

/// A library as the package ships it: a shared one stripped like the binaries, its needs
/// added to `depends`; a static one as built.
fn library(
    lib: &str,
    bytes: &[u8],
    depends: &mut BTreeMap<String, Option<String>>,
) -> Result<Vec<u8>, String> {
    if !lib.ends_with(".so") {
        return Ok(bytes.to_vec());
    }
    needs(bytes, depends).map_err(|e| format!("reading {lib}: {e}"))?;
    super::elf::strip(bytes).map_err(|e| format!("stripping {lib}: {e}"))
}

/// Every directory above the files, and the root (`./`), as entries of their own.
fn add_parents(entries: &mut Vec<Entry>) {
    let mut dirs = std::collections::BTreeSet::from([String::new()]);
    for (path, _, _) in entries.iter() {
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_string());
            p = parent;
        }
    }
    entries.extend(dirs.into_iter().map(|d| (d, 0o755, None)));
}

/// The `control` file (Policy 5.3).
fn control(
    p: &Package,
    name: &str,
    arch: &str,
    installed_kib: usize,
    depends: &BTreeMap<String, Option<String>>,
) -> String {
    let meta = |k: &str| p.metadata.get(k).map(String::as_str);
    let summary = meta("description").unwrap_or("a command-line tool");
    // The synopsis is the first line; the extended description, the rest and the binaries.
    let mut lines = summary.lines();
    let synopsis = lines.next().unwrap_or(summary).trim_end_matches('.');
    let rest: String = lines.collect::<Vec<_>>().join("\n");
    let mut c = format!(
        "Package: {name}\nVersion: {}\nArchitecture: {arch}\nMaintainer: {}\nInstalled-Size: {installed_kib}\n",
        debian_version(&p.version),
        meta("maintainer").unwrap_or("unknown <unknown@localhost>"),
    );
    if !depends.is_empty() {
        let list: Vec<String> = depends
            .iter()
            .map(|(pkg, min)| match min {
                Some(v) => format!("{pkg} (>= {v})"),
                None => pkg.clone(),
            })
            .collect();
        c.push_str(&format!("Depends: {}\n", list.join(", ")));
    }
    c.push_str("Section: utils\nPriority: optional\n");
    if let Some(home) = meta("homepage") {
        c.push_str(&format!("Homepage: {home}\n"));
    }
    let bins: Vec<String> = p.binaries.iter().map(|b| format!("`{b}`")).collect();
    c.push_str(&format!("Description: {synopsis}\n"));
    if !rest.trim().is_empty() {
        c.push_str(&indent(&rest));
        c.push_str(" .\n");
    }
    c.push_str(&format!(
        " This package installs {} {}, built for {}.\n",
        bins.join(", "),
        p.version,
        p.target
    ));
    c
}

/// `copyright` in Debian's machine-readable format, with each licence file's text.
fn copyright(p: &Package, licenses: &[(String, String)]) -> Vec<u8> {
    let meta = |k: &str| p.metadata.get(k).map(String::as_str);
    let license = meta("license").unwrap_or("unknown");
    let mut c = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {}\n",
        p.app
    );
    if let Some(source) = meta("source") {
        c.push_str(&format!("Source: {source}\n"));
    }
    c.push_str(&format!(
        "\nFiles: *\nCopyright: {}\nLicense: {license}\n",
        meta("copyright").unwrap_or("the authors")
    ));
    for (file, text) in licenses {
        c.push_str(&format!("Comment: the text of {file} follows.\n"));
        c.push_str(&indent(text));
    }
    c.into_bytes()
}

/// Text as a continuation of a control field: lines indented, empty ones as ` .`.
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| match l.trim_end() {
            "" => " .\n".to_string(),
            l => format!(" {l}\n"),
        })
        .collect()
}

/// `changelog.gz`: one entry for this release, dated [`FIXED_MTIME`] so the bytes do not
/// depend on when they were made.
fn changelog(p: &Package, name: &str) -> Result<Vec<u8>, InstallerError> {
    let maintainer = p
        .metadata
        .get("maintainer")
        .map_or("unknown <unknown@localhost>", String::as_str);
    let text = format!(
        "{name} ({}) unstable; urgency=medium\n\n  * Release {} of {}.\n\n -- {maintainer}  Tue, 01 Jan 1980 00:00:00 +0000\n",
        debian_version(&p.version),
        p.version,
        p.app,
    );
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes())
        .and_then(|_| gz.finish())
        .map_err(|source| InstallerError::Io {
            path: "changelog.gz".into(),
            source,
        })
}

/// The packages the binary needs, by its `DT_NEEDED` libraries, with the lowest libc6 version
/// its `GLIBC_` symbol versions allow. Static binaries need none.
fn needs(bytes: &[u8], out: &mut BTreeMap<String, Option<String>>) -> Result<(), String> {
    let elf = super::elf::needs(bytes)?;
    for lib in &elf.libraries {
        let package = soname_package(lib).ok_or_else(|| {
            format!("it links {lib}, which this tool cannot map to a Debian package")
        })?;
        out.entry(package.to_string()).or_insert(None);
    }
    let glibc = elf
        .versions
        .iter()
        .filter_map(|(_, v)| v.strip_prefix("GLIBC_"))
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .max_by_key(|v| version_key(v));
    if let Some(glibc) = glibc {
        let entry = out.entry("libc6".to_string()).or_insert(None);
        if entry
            .as_ref()
            .is_none_or(|v| version_key(v) < version_key(glibc))
        {
            *entry = Some(glibc.to_string());
        }
    }
    Ok(())
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The Debian package of a shared library every Rust build may link.
fn soname_package(lib: &str) -> Option<&'static str> {
    Some(match lib {
        "libc.so.6" | "libm.so.6" | "libpthread.so.0" | "libdl.so.2" | "librt.so.1"
        | "libutil.so.1" => "libc6",
        l if l.starts_with("ld-linux") => "libc6",
        "libgcc_s.so.1" => "libgcc-s1",
        "libstdc++.so.6" => "libstdc++6",
        "libz.so.1" => "zlib1g",
        "libssl.so.3" | "libcrypto.so.3" => "libssl3",
        _ => return None,
    })
}

/// A `.tar.xz` of `entries` (sorted, paths relative to `./`), owned by root, dated
/// [`FIXED_MTIME`].
fn tar_xz(entries: &[Entry]) -> Result<Vec<u8>, InstallerError> {
    let io = |source| InstallerError::Io {
        path: "data.tar".into(),
        source,
    };
    let mut tar = tar::Builder::new(Vec::new());
    for (path, mode, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").map_err(io)?;
        h.set_groupname("root").map_err(io)?;
        h.set_mtime(FIXED_MTIME);
        let data: &[u8] = bytes.as_deref().unwrap_or_default();
        h.set_entry_type(match bytes {
            Some(_) => tar::EntryType::Regular,
            None => tar::EntryType::Directory,
        });
        h.set_size(data.len() as u64);
        let name = match bytes {
            Some(_) => format!("./{path}"),
            None if path.is_empty() => "./".to_string(),
            None => format!("./{path}/"),
        };
        // dpkg's own form, `./usr/...`, which the tar crate's path setter would normalise away.
        if name.len() < 100 {
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            tar.append(&h, data).map_err(io)?;
        } else {
            tar.append_data(&mut h, name, data).map_err(io)?;
        }
    }
    let raw = tar.into_inner().map_err(io)?;
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&raw).and_then(|_| xz.finish()).map_err(io)
}

/// The outer `ar` archive, in the member order dpkg requires.
fn ar(members: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, InstallerError> {
    let io = |source| InstallerError::Io {
        path: "deb".into(),
        source,
    };
    let mut b = ar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64);
        h.set_mtime(FIXED_MTIME);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mode(0o100644);
        b.append(&h, bytes.as_slice()).map_err(io)?;
    }
    b.into_inner().map_err(io)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_versions_and_arches_follow_debian() {
        assert_eq!(super::package_name("My_App"), "my-app");
        assert_eq!(super::debian_version("1.2.0-beta.1"), "1.2.0~beta.1");
        assert_eq!(super::arch("x86_64-unknown-linux-musl"), Some("amd64"));
        assert_eq!(super::arch("armv7-unknown-linux-gnueabihf"), Some("armhf"));
        assert_eq!(super::arch("arm-unknown-linux-gnueabi"), Some("armel"));
        assert_eq!(super::arch("x86_64-pc-windows-msvc"), None);
        assert_eq!(super::indent("a\n\nb"), " a\n .\n b\n");
    }
}
