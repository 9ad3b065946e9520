//! The AUR package: the PKGBUILD passes `bash -n` and shellcheck, its `package()` run by bash
//! (as makepkg runs it, with `srcdir`, `pkgdir` and `CARCH`) installs the real archive's
//! binaries, and the `.SRCINFO` says what the PKGBUILD says.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use std::process::Command;

use dist_recipes::archive::ArchiveFormat;
use dist_recipes::installer::aur_files;
use installer_support::*;

/// `bash -c SCRIPT` with the PKGBUILD at `$1`, printing what the script echoes.
fn bash(script: &str, pkgbuild: &std::path::Path, envs: &[(&str, &std::path::Path)]) -> String {
    let mut cmd = Command::new(require_tool("bash"));
    cmd.args(["-euc", script, "bash"]).arg(pkgbuild);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pkgbuild_is_clean_bash_and_its_package_function_installs_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_target();
    let (real, archive) = build_archive(
        dir.path(),
        &host,
        &["my-app", "helper"],
        ArchiveFormat::TarXz,
    );
    let mut app = app_with(
        &["my-app", "helper"],
        vec![
            real.clone(),
            fake_artifact("aarch64-unknown-linux-musl", 'a'),
            fake_artifact("x86_64-pc-windows-msvc", 'b'),
        ],
    );
    app.aliases.insert("my-app".into(), vec!["ma".into()]);
    // A quote in the description stays inside its bash word.
    app.description = Some("It's \"fine\" $(touch /tmp/pwned)".into());
    let files = aur_files(&app).unwrap();
    let pkgbuild = dir.path().join("PKGBUILD");
    std::fs::write(&pkgbuild, &files["PKGBUILD"]).unwrap();

    let out = Command::new(require_tool("bash"))
        .arg("-n")
        .arg(&pkgbuild)
        .output()
        .unwrap();
    assert!(out.status.success(), "bash -n: {}", describe(&out));
    // SC2034 (pkgname & co. look unused) and SC2154 (srcdir, pkgdir, CARCH come from makepkg)
    // are what every PKGBUILD trips; SC2016 says a `$` in single quotes does not expand, which
    // is the point of quoting every value that way.
    let out = Command::new(require_tool("shellcheck"))
        .args(["--shell=bash", "--exclude=SC2034,SC2154,SC2016"])
        .arg(&pkgbuild)
        .output()
        .unwrap();
    assert!(out.status.success(), "shellcheck: {}", describe(&out));

    // What makepkg reads.
    let fields = bash(
        r#"source "$1"; echo "$pkgname $pkgver ${arch[*]} $pkgdesc"; echo "${source_x86_64[0]} ${sha256sums_x86_64[0]}""#,
        &pkgbuild,
        &[],
    );
    let mut lines = fields.lines();
    assert_eq!(
        lines.next().unwrap(),
        "my-app-bin 1.2.0 x86_64 aarch64 It's \"fine\" $(touch /tmp/pwned)"
    );
    if host == "x86_64-unknown-linux-gnu" {
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "my-app-1.2.0-x86_64.tar.xz::https://github.com/owner/my-app/releases/download/v1.2.0/my-app-{host}.tar.xz {}",
                real.sha256.as_deref().unwrap()
            )
        );
        // package() as makepkg runs it, on the real archive unpacked into srcdir.
        let srcdir = dir.path().join("src");
        let pkgdir = dir.path().join("pkg");
        std::fs::create_dir_all(&srcdir).unwrap();
        let out = Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(&srcdir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        bash(
            r#"source "$1"; CARCH=x86_64 package"#,
            &pkgbuild,
            &[("srcdir", &srcdir), ("pkgdir", &pkgdir)],
        );
        let out = Command::new(pkgdir.join("usr/bin/my-app"))
            .arg("hi")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "my-app 1.2.0 hi\n");
        assert!(pkgdir.join("usr/bin/helper").is_file());
        assert_eq!(
            std::fs::read_link(pkgdir.join("usr/bin/ma")).unwrap(),
            std::path::Path::new("my-app")
        );
    }
}

#[test]
fn srcinfo_says_what_the_pkgbuild_says() {
    let mut app = app_with(
        &["my-app"],
        vec![
            fake_artifact("x86_64-unknown-linux-gnu", 'a'),
            fake_artifact("aarch64-unknown-linux-gnu", 'b'),
        ],
    );
    app.app_version = "1.2.0-rc.1".into();
    let files = aur_files(&app).unwrap();
    let srcinfo = &files[".SRCINFO"];
    assert!(
        srcinfo.starts_with("pkgbase = my-app-bin\n\tpkgdesc = "),
        "{srcinfo}"
    );
    for line in [
        "\tpkgver = 1.2.0_rc.1\n",
        "\tarch = x86_64\n",
        "\tarch = aarch64\n",
        &format!("\tsha256sums_aarch64 = {}\n", fake_sha('b')),
        "\tsource_x86_64 = my-app-1.2.0-rc.1-x86_64.tar.xz::https://github.com/owner/my-app/releases/download/v1.2.0/my-app-x86_64-unknown-linux-gnu.tar.xz\n",
    ] {
        assert!(srcinfo.contains(line), "{line:?} in\n{srcinfo}");
    }
    assert!(srcinfo.ends_with("\npkgname = my-app-bin\n"));
    // A Linux archive whose sha256 is not known yet is left out; none at all is an error.
    let mut unknown = fake_artifact("x86_64-unknown-linux-gnu", 'a');
    unknown.sha256 = None;
    assert!(aur_files(&app_with(&["my-app"], vec![unknown])).is_err());
}
