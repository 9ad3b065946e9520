//! `{app}-aur.tar.gz`: an Arch User Repository package of the App's Linux archives,
//! `{app}-bin/PKGBUILD` and its `.SRCINFO` (what `makepkg --printsrcinfo` prints), the content of
//! the AUR git repository `{app}-bin`.
//!
//! Every value is single-quoted for bash (`'` written as `'\''`), so nothing an App's config says
//! can run in the PKGBUILD.

use std::collections::BTreeMap;
use std::path::Path;

use super::{InstallerApp, InstallerArtifact, InstallerError};

/// The revision of this writer, in its key: bumped whenever the same App would give other
/// bytes.
pub(crate) const WRITER: &str = "aur PKGBUILD writer 1";

/// Arch's CPU names and the targets that serve each, best first (a static musl build runs on
/// any glibc too).
const ARCHES: [(&str, &[&str]); 3] = [
    (
        "x86_64",
        &["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
    ),
    (
        "aarch64",
        &["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
    ),
    (
        "i686",
        &["i686-unknown-linux-gnu", "i686-unknown-linux-musl"],
    ),
];

/// `s` as one bash word.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The description on one line, as `pkgdesc` is.
fn desc(app: &InstallerApp) -> String {
    let text = app.description.as_deref().unwrap_or(&app.app_name);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An AUR `pkgver`: no `-` (a pre-release's `-` becomes `_`), no `:` or `/`.
fn pkgver(version: &str) -> String {
    version.replace('-', "_")
}

/// One architecture the package serves: its archive and sha256.
struct Arch<'a> {
    name: &'static str,
    art: &'a InstallerArtifact,
    sha256: &'a str,
}

/// The PKGBUILD and .SRCINFO, by file name. An archive whose sha256 is not known yet (a local
/// build without that target's archive) is left out; CI's global job knows them all.
pub fn aur_files(app: &InstallerApp) -> Result<BTreeMap<String, String>, InstallerError> {
    app.validate()?;
    let arches: Vec<Arch> = ARCHES
        .iter()
        .filter_map(|(name, targets)| {
            let art = app.best_artifact(targets)?;
            Some(Arch {
                name,
                art,
                sha256: art.sha256.as_deref()?,
            })
        })
        .collect();
    if arches.is_empty() {
        return Err(app.no_suitable("AUR"));
    }
    Ok(BTreeMap::from([
        ("PKGBUILD".to_string(), pkgbuild(app, &arches)),
        (".SRCINFO".to_string(), srcinfo(app, &arches)),
    ]))
}

/// The archive's local file name: versioned and per architecture, so makepkg's cache never
/// mixes releases.
fn local_name(app: &InstallerApp, arch: &Arch) -> String {
    let ext = arch
        .art
        .file_name
        .split_once(".tar.")
        .map_or("", |(_, e)| e);
    format!(
        "{}-{}-{}.tar.{ext}",
        app.app_name, app.app_version, arch.name
    )
}

fn pkgbuild(app: &InstallerApp, arches: &[Arch]) -> String {
    let name = &app.app_name;
    let mut p = String::new();
    p.push_str(&format!("pkgname={}\n", sq(&format!("{name}-bin"))));
    p.push_str(&format!(
        "pkgver={}\npkgrel=1\n",
        sq(&pkgver(&app.app_version))
    ));
    p.push_str(&format!("pkgdesc={}\n", sq(&desc(app))));
    let arch_list: Vec<String> = arches.iter().map(|a| sq(a.name)).collect();
    p.push_str(&format!("arch=({})\n", arch_list.join(" ")));
    if let Some(home) = &app.homepage {
        p.push_str(&format!("url={}\n", sq(home)));
    }
    p.push_str(&format!(
        "license=({})\nprovides=({})\nconflicts=({})\n",
        sq(app.license.as_deref().unwrap_or("custom")),
        sq(name),
        sq(name)
    ));
    for a in arches {
        let source = format!("{}::{}", local_name(app, a), app.url_of(a.art));
        p.push_str(&format!("source_{}=({})\n", a.name, sq(&source)));
        p.push_str(&format!("sha256sums_{}=({})\n", a.name, sq(a.sha256)));
    }
    p.push_str("\npackage() {\n    local dir\n    case \"$CARCH\" in\n");
    for a in arches {
        let dir = a.art.root_dir.as_deref().unwrap_or(".");
        p.push_str(&format!("        {}) dir={} ;;\n", a.name, sq(dir)));
    }
    p.push_str("    esac\n");
    for bin in &app.binaries {
        p.push_str(&format!(
            "    install -Dm755 \"$srcdir/$dir/\"{} \"$pkgdir/usr/bin/\"{}\n",
            sq(bin),
            sq(bin)
        ));
    }
    for alias in app.alias_list() {
        p.push_str(&format!(
            "    ln -s {} \"$pkgdir/usr/bin/\"{}\n",
            sq(&alias.binary),
            sq(&alias.alias)
        ));
    }
    p.push_str("}\n");
    p
}

/// What `makepkg --printsrcinfo` prints for [`pkgbuild`]'s fields.
fn srcinfo(app: &InstallerApp, arches: &[Arch]) -> String {
    let name = &app.app_name;
    let mut s = format!("pkgbase = {name}-bin\n");
    let mut field = |k: &str, v: &str| s.push_str(&format!("\t{k} = {v}\n"));
    field("pkgdesc", &desc(app));
    field("pkgver", &pkgver(&app.app_version));
    field("pkgrel", "1");
    if let Some(home) = &app.homepage {
        field("url", home);
    }
    for a in arches {
        field("arch", a.name);
    }
    field("license", app.license.as_deref().unwrap_or("custom"));
    field("provides", name);
    field("conflicts", name);
    for a in arches {
        field(
            &format!("source_{}", a.name),
            &format!("{}::{}", local_name(app, a), app.url_of(a.art)),
        );
        field(&format!("sha256sums_{}", a.name), a.sha256);
    }
    s.push_str(&format!("\npkgname = {name}-bin\n"));
    s
}

/// Writes the PKGBUILD and .SRCINFO as `{app}-aur.tar.gz`, under `{app}-bin/`.
pub fn write_aur(app: &InstallerApp, out: &Path) -> Result<(), InstallerError> {
    let files = aur_files(app)?
        .into_iter()
        .map(|(path, text)| (path, (text.into_bytes(), false)))
        .collect();
    super::write_tarball(&files, &format!("{}-bin", app.app_name), out)
}
