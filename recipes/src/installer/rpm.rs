//! `{app}-{target}.rpm`: an RPM package of a Linux build, written with the `rpm` crate (no
//! rpmbuild). Bit-reproducible: the build time, every file's mtime and the changelog date are
//! [`FIXED_MTIME`], no build host is recorded, and zstd runs at a fixed level.
//!
//! Its `Requires` are what rpm's own dependency generator (elfdeps) derives from the binaries:
//! each needed soname and each symbol version, `libc.so.6(GLIBC_2.34)(64bit)`, so any RPM
//! distribution resolves them to its own packages.

use std::collections::BTreeSet;
use std::path::Path;

use rpm::{BuildConfig, CompressionWithLevel, Dependency, FileOptions, PackageBuilder};

use super::kind::{package_metadata, PackageInputs, PackageSource};
use super::{package_error, InstallerError, Staged};
use crate::archive::FIXED_MTIME;
use crate::recipe::Package;
use crate::target::Target;

/// The revision of this writer, in every `.rpm` key: bumped whenever the same inputs would
/// give other bytes.
const WRITER: &str = "1";

/// RPM's name for the CPU of a Linux target; `None` where this tool knows none.
pub(super) fn arch(target: &str) -> Option<&'static str> {
    let t = Target(target);
    if !t.is_linux() {
        return None;
    }
    Some(match t.arch() {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        "i686" => "i686",
        "i586" => "i586",
        "armv7" | "thumbv7neon" => "armv7hl",
        "powerpc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64gc" => "riscv64",
        "loongarch64" => "loongarch64",
        _ => return None,
    })
}

/// An RPM version from a semver one: no `-` allowed, a pre-release sorts before its release
/// with `~`.
fn rpm_version(version: &str) -> String {
    version.replacen('-', "~", 1).replace('-', ".")
}

/// What an `.rpm` reads (licence files and the README) and writes (its header tags).
pub(super) fn inputs(src: &PackageSource) -> PackageInputs {
    let metadata = package_metadata(
        WRITER,
        &[
            ("description", src.description),
            ("license", src.license),
            ("url", src.homepage.or(src.repository)),
            ("vcs", src.repository),
            ("packager", src.authors.first().map(String::as_str)),
        ],
    );
    PackageInputs {
        files: src.doc_files(),
        metadata,
    }
}

/// Writes the `.rpm` of `p` to `out` from `dir` (`bin/` and `files/`, as the build stages them).
pub(super) fn write(p: &Package, dir: &Path, out: &Path) -> Result<(), InstallerError> {
    let fail = |reason: String| package_error(p, reason);
    let arch = arch(&p.target).ok_or_else(|| {
        fail(format!(
            "{} has no RPM architecture this tool knows",
            p.target
        ))
    })?;
    let staged = Staged::read(p, dir)?;
    let meta = |k: &str| p.metadata.get(k).map(String::as_str);
    let description = meta("description").unwrap_or("A command-line tool");
    let summary = description.lines().next().unwrap_or(description);
    let version = rpm_version(&p.version);
    let mut b = PackageBuilder::new(
        &p.app,
        &version,
        meta("license").unwrap_or("LicenseRef-unknown"),
        arch,
        summary.trim_end_matches('.'),
    );
    b.using_config(
        BuildConfig::v4()
            .source_date(FIXED_MTIME as u32)
            .compression(CompressionWithLevel::Zstd(19)),
    )
    .release("1")
    .description(format!(
        "{description}\n\nThis package installs {} {}, built for {}.",
        p.binaries.join(", "),
        p.version,
        p.target
    ));
    if let Some(v) = meta("url") {
        b.url(v);
    }
    if let Some(v) = meta("vcs") {
        b.vcs(v);
    }
    if let Some(v) = meta("packager") {
        b.packager(v);
    }
    let packager = meta("packager").unwrap_or("unknown <unknown@localhost>");
    b.add_changelog_entry(
        format!("{packager} - {version}-1"),
        format!("- Release {} of {}.", p.version, p.app),
        FIXED_MTIME as u32,
    );
    let requires = add_payload(&mut b, p, &staged).map_err(fail)?;
    for r in requires {
        b.requires(Dependency::any(r));
    }
    add_docs(&mut b, &p.app, staged).map_err(|e| fail(e.to_string()))?;
    let pkg = b.build().map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    pkg.write(&mut bytes).map_err(|e| fail(e.to_string()))?;
    std::fs::write(out, bytes).map_err(|source| InstallerError::Io {
        path: out.to_owned(),
        source,
    })
}

/// The binaries in `/usr/bin` and the libraries in `%{_libdir}/{app}` (lib64 on 64-bit targets,
/// as Fedora and SUSE lay them out), stripped where ELF; returns what they require.
fn add_payload(
    b: &mut PackageBuilder,
    p: &Package,
    staged: &Staged,
) -> Result<BTreeSet<String>, String> {
    // A private directory, as in the `.deb`: a Rust cdylib has no SONAME.
    let libdir = match p
        .target
        .split('-')
        .next()
        .is_some_and(|cpu| cpu.contains("64"))
    {
        true => format!("/usr/lib64/{}", p.app),
        false => format!("/usr/lib/{}", p.app),
    };
    let bins = staged
        .binaries
        .iter()
        .map(|(f, b)| (f, b, format!("/usr/bin/{f}"), true));
    let libs = staged
        .libraries
        .iter()
        .map(|(f, b)| (f, b, format!("{libdir}/{f}"), f.ends_with(".so")));
    let mut requires = BTreeSet::new();
    for (file, bytes, to, elf) in bins.chain(libs) {
        let shipped = match elf {
            true => {
                requires.extend(elf_requires(bytes).map_err(|e| format!("reading {file}: {e}"))?);
                super::elf::strip(bytes).map_err(|e| format!("stripping {file}: {e}"))?
            }
            false => bytes.clone(),
        };
        let mode = if elf { 0o755 } else { 0o644 };
        b.with_file_contents(shipped, FileOptions::new(to).permissions(mode))
            .map_err(|e| e.to_string())?;
    }
    Ok(requires)
}

/// The README as `%doc` and the licence files as `%license`, in their package directories.
fn add_docs(b: &mut PackageBuilder, app: &str, staged: Staged) -> Result<(), rpm::Error> {
    if let Some((base, bytes)) = staged.readme {
        let doc = format!("/usr/share/doc/{app}");
        b.with_file_contents(
            bytes,
            FileOptions::new(format!("{doc}/{base}"))
                .doc()
                .permissions(0o644),
        )?;
        b.with_dir_entry(FileOptions::dir(doc).permissions(0o755))?;
    }
    if !staged.licenses.is_empty() {
        let licenses = format!("/usr/share/licenses/{app}");
        for (base, bytes) in staged.licenses {
            let to = FileOptions::new(format!("{licenses}/{base}")).license();
            b.with_file_contents(bytes, to.permissions(0o644))?;
        }
        b.with_dir_entry(FileOptions::dir(licenses).permissions(0o755))?;
    }
    Ok(())
}

/// elfdeps' names for what a binary needs: `soname()(64bit)` per library and
/// `soname(version)(64bit)` per symbol version (no suffix for 32-bit files).
fn elf_requires(bytes: &[u8]) -> Result<BTreeSet<String>, String> {
    let elf = super::elf::needs(bytes)?;
    let suffix = if elf.bits64 { "(64bit)" } else { "" };
    let mut out: BTreeSet<String> = elf
        .libraries
        .iter()
        .map(|lib| format!("{lib}(){suffix}"))
        .collect();
    out.extend(
        elf.versions
            .iter()
            .map(|(lib, v)| format!("{lib}({v}){suffix}")),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_and_arches_follow_rpm() {
        assert_eq!(super::rpm_version("1.2.0-rc.1"), "1.2.0~rc.1");
        assert_eq!(super::rpm_version("1.2.0-rc-1+b.2"), "1.2.0~rc.1+b.2");
        assert_eq!(super::arch("x86_64-unknown-linux-musl"), Some("x86_64"));
        assert_eq!(
            super::arch("armv7-unknown-linux-gnueabihf"),
            Some("armv7hl")
        );
        assert_eq!(
            super::arch("powerpc64le-unknown-linux-gnu"),
            Some("ppc64le")
        );
        assert_eq!(super::arch("aarch64-apple-darwin"), None);
    }
}
