//! The shell installer, run for real under dash, bash and busybox sh against a local server.

// Tests set up environments of their own (the tool reads its own in src/env.rs).
#![allow(clippy::disallowed_methods)]

mod installer_support;

use std::path::{Path, PathBuf};
use std::process::Output;

use dist_recipes::archive::ArchiveFormat;
use dist_recipes::installer::{
    render_shell, InstallPath, InstallerApp, InstallerArtifact, InstallerError,
};
use installer_support::*;

const SHELLS: [(&str, &[&str]); 3] = [
    ("dash", &["dash"]),
    ("bash", &["bash"]),
    ("busybox", &["busybox", "sh"]),
];

/// A release with a real archive for the host and fake entries for other targets.
struct Fixture {
    dir: tempfile::TempDir,
    app: InstallerApp,
    archive: PathBuf,
}

impl Fixture {
    fn new(binaries: &[&str], format: ArchiveFormat) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let host = host_target();
        let (real, archive) = build_archive(dir.path(), &host, binaries, format);
        let mut artifacts = vec![real];
        for (i, other) in ["aarch64-apple-darwin", "x86_64-pc-windows-msvc"]
            .into_iter()
            .enumerate()
        {
            if other != host {
                artifacts.push(InstallerArtifact {
                    key: dist_store::RecipeKey::from_bytes([0; 32]),
                    target: other.into(),
                    file_name: format!("{APP}-{other}.zip"),
                    sha256: Some(fake_sha(char::from(b'a' + i as u8))),
                    root_dir: None,
                    min_glibc: None,
                    updater: None,
                    libraries: Vec::new(),
                });
            }
        }
        artifacts.sort_by(|a, b| a.target.cmp(&b.target));
        let app = app_with(binaries, artifacts);
        Fixture { dir, app, archive }
    }

    fn served_dir(&self) -> PathBuf {
        self.archive.parent().unwrap().to_path_buf()
    }

    /// Writes the rendered installer and returns its path.
    fn script(&self) -> PathBuf {
        let path = self.dir.path().join(format!("{APP}-installer.sh"));
        std::fs::write(&path, render_shell(&self.app).unwrap()).unwrap();
        path
    }

    fn new_home(&self, name: &str) -> PathBuf {
        let home = self.dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        home
    }
}

fn run_installer(
    shell: &[&str],
    script: &Path,
    home: &Path,
    envs: &[(&str, String)],
    args: &[&str],
) -> Output {
    require_tool(shell[0]);
    let mut cmd = clean_command(shell[0], home);
    cmd.args(&shell[1..]).arg(script).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running the installer")
}

fn url_env(server: &Server) -> (&'static str, String) {
    ("MY_APP_DOWNLOAD_URL", server.base_url())
}

fn assert_runs(bin: &Path, name: &str) {
    let out = std::process::Command::new(bin)
        .arg("hello")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{name} {VERSION} hello\n")
    );
}

#[test]
fn installs_into_cargo_home_and_updates_profile_under_every_shell() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarXz);
    let script = fx.script();
    // Two runs per shell: the second proves the profile edit is idempotent.
    let server = Server::start(serve_dir(&fx.served_dir()), 2 * SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        std::fs::write(home.join(".bashrc"), "# user's bashrc\n").unwrap();
        for _ in 0..2 {
            let out = run_installer(shell, &script, &home, &[url_env(&server)], &[]);
            assert!(out.status.success(), "{name}: {}", describe(&out));
        }
        let bin = home.join(".cargo/bin/my-app");
        assert_runs(&bin, "my-app");
        let line = format!(
            "export PATH='{}':\"$PATH\"",
            home.join(".cargo/bin").display()
        );
        for rc in [".profile", ".bashrc"] {
            let text = std::fs::read_to_string(home.join(rc)).unwrap();
            assert_eq!(
                text.lines().filter(|l| *l == line).count(),
                1,
                "{name}: {rc} should add the PATH line exactly once:\n{text}"
            );
        }
        assert!(
            !home.join(".zshrc").exists(),
            "{name}: .zshrc must not be created"
        );
        // The line really puts the binary on PATH for a login shell.
        let out = clean_command(shell[0], &home)
            .args(&shell[1..])
            .arg("-c")
            .arg(". \"$HOME/.profile\" && my-app from-path")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "my-app 1.2.0 from-path\n",
            "{name}: {}",
            describe(&out)
        );
    }
    assert_eq!(server.request_count(), 2 * SHELLS.len());
}

#[test]
fn no_modify_path_leaves_startup_files_alone() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let script = fx.script();
    let server = Server::start(serve_dir(&fx.served_dir()), SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let envs = [url_env(&server), ("MY_APP_NO_MODIFY_PATH", "1".into())];
        let out = run_installer(shell, &script, &home, &envs, &[]);
        assert!(out.status.success(), "{name}: {}", describe(&out));
        assert_runs(&home.join(".cargo/bin/my-app"), "my-app");
        assert!(!home.join(".profile").exists(), "{name}: .profile written");
    }
}

#[test]
fn install_dir_variable_puts_binaries_in_its_bin_and_installs_every_binary() {
    let mut fx = Fixture::new(&["my-app", "my-helper"], ArchiveFormat::TarXz);
    // `bin-aliases`: `ma` links to my-app.
    fx.app.aliases = std::collections::BTreeMap::from([("my-app".into(), vec!["ma".into()])]);
    let script = fx.script();
    let server = Server::start(serve_dir(&fx.served_dir()), SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let target = fx.dir.path().join(format!("custom dir {name}"));
        let envs = [
            url_env(&server),
            ("MY_APP_INSTALL_DIR", target.display().to_string()),
        ];
        let out = run_installer(shell, &script, &home, &envs, &["--quiet"]);
        assert!(out.status.success(), "{name}: {}", describe(&out));
        assert!(
            out.stderr.is_empty(),
            "{name}: --quiet printed {}",
            describe(&out)
        );
        assert_runs(&target.join("bin/my-app"), "my-app");
        assert_runs(&target.join("bin/my-helper"), "my-helper");
        let alias = target.join("bin/ma");
        assert!(
            std::fs::symlink_metadata(&alias)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{name}: the alias is not a link"
        );
        assert_runs(&alias, "my-app");
        assert!(
            !home.join(".cargo").exists(),
            "{name}: used the default dir"
        );
        let profile = std::fs::read_to_string(home.join(".profile")).unwrap();
        assert!(profile.contains(&format!("'{}'", target.join("bin").display())));
    }
}

#[test]
fn tampered_archive_is_refused_and_nothing_is_installed() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let script = fx.script();
    let mut bytes = std::fs::read(&fx.archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&fx.archive, bytes).unwrap();
    let server = Server::start(serve_dir(&fx.served_dir()), SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let out = run_installer(shell, &script, &home, &[url_env(&server)], &[]);
        assert_eq!(out.status.code(), Some(4), "{name}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
            "{name}: {}",
            describe(&out)
        );
        assert!(!home.join(".cargo").exists(), "{name}: installed something");
        assert!(!home.join(".profile").exists(), "{name}: touched .profile");
    }
}

#[test]
fn missing_download_fails_with_a_message() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let script = fx.script();
    let server = Server::start(Default::default(), SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let out = run_installer(shell, &script, &home, &[url_env(&server)], &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("failed to download http://127.0.0.1"),
            "{name}: {}",
            describe(&out)
        );
        assert!(!home.join(".cargo").exists());
    }
}

#[test]
fn artifact_without_checksum_is_refused_before_downloading() {
    let mut fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    for art in &mut fx.app.artifacts {
        art.sha256 = None;
    }
    let script = fx.script();
    let server = Server::start(serve_dir(&fx.served_dir()), SHELLS.len());
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let out = run_installer(shell, &script, &home, &[url_env(&server)], &[]);
        assert_eq!(out.status.code(), Some(4), "{name}: {}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no sha256"));
        assert!(!home.join(".cargo").exists());
    }
    assert_eq!(server.request_count(), 0);
}

/// The host's glibc version, as the installer reads it (`ldd --version`).
fn host_glibc() -> String {
    let out = std::process::Command::new("ldd")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap();
    last.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// `min-glibc-version`: a glibc build needing a newer glibc than the host's is passed over for
/// the next build the host runs (a musl one), saying why; with none, the installer stops naming
/// both versions and installs nothing; a build the host's glibc satisfies installs as before.
#[test]
fn a_build_for_a_newer_glibc_is_passed_over_for_one_that_runs() {
    let host = host_target();
    assert!(
        host.contains("-linux-gnu"),
        "this test needs a glibc host, not {host}"
    );
    let mut fx = Fixture::new(&["my-app"], ArchiveFormat::TarXz);
    let glibc = host_glibc();
    let set = |fx: &mut Fixture, need: &str| {
        let gnu = fx
            .app
            .artifacts
            .iter_mut()
            .find(|a| a.target == host)
            .unwrap();
        gnu.min_glibc = Some(need.into());
    };
    let server = Server::start(serve_dir(&fx.served_dir()), 4 * SHELLS.len());
    let run = |fx: &Fixture, case: &str, shell: &[&str]| {
        let home = fx.new_home(&format!("home-{case}-{}", shell[0]));
        let out = run_installer(shell, &fx.script(), &home, &[url_env(&server)], &[]);
        (home, out)
    };
    set(&mut fx, &glibc);
    for (name, shell) in SHELLS {
        let (home, out) = run(&fx, "same", shell);
        assert!(out.status.success(), "{name}: {}", describe(&out));
        assert_runs(&home.join(".cargo/bin/my-app"), "my-app");
    }
    set(&mut fx, "99.0");
    for (name, shell) in SHELLS {
        let (home, out) = run(&fx, "newer", shell);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", describe(&out));
        let want = format!("its glibc is {glibc}, and the {host} build needs glibc 99.0 or newer");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&want),
            "{name}: {}",
            describe(&out)
        );
        assert!(!home.join(".cargo").exists(), "{name}: installed something");
    }
    // A static musl build of the same App: the installer takes it instead.
    let gnu = fx
        .app
        .artifacts
        .iter()
        .find(|a| a.target == host)
        .unwrap()
        .clone();
    let musl = host.replace("-linux-gnu", "-linux-musl");
    fx.app.artifacts.push(InstallerArtifact {
        target: musl.clone(),
        min_glibc: None,
        ..gnu
    });
    fx.app.artifacts.sort_by(|a, b| a.target.cmp(&b.target));
    for (name, shell) in SHELLS {
        let (home, out) = run(&fx, "fallback", shell);
        assert!(out.status.success(), "{name}: {}", describe(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("older than the 99.0"), "{name}: {said}");
        assert_runs(&home.join(".cargo/bin/my-app"), "my-app");
    }
}

#[test]
fn no_matching_platform_lists_supported_targets() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let mut app = fx.app.clone();
    app.artifacts = vec![InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: "riscv64gc-unknown-none-elf".into(),
        file_name: "my-app-riscv64gc-unknown-none-elf.tar.gz".into(),
        sha256: Some(fake_sha('c')),
        root_dir: Some("my-app-riscv64gc-unknown-none-elf".into()),
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    }];
    let script = fx.dir.path().join("other-installer.sh");
    std::fs::write(&script, render_shell(&app).unwrap()).unwrap();
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        let out = run_installer(shell, &script, &home, &[], &[]);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("supported targets: riscv64gc-unknown-none-elf"),
            "{name}: {}",
            describe(&out)
        );
    }
}

#[test]
fn flags_help_and_usage_errors() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let script = fx.script();
    for (name, shell) in SHELLS {
        let home = fx.new_home(&format!("home-{name}"));
        for flag in ["--help", "-h"] {
            let out = run_installer(shell, &script, &home, &[], &[flag]);
            assert_eq!(out.status.code(), Some(0), "{name}: {}", describe(&out));
            let help = String::from_utf8_lossy(&out.stdout);
            assert!(help.contains("Usage: my-app-installer.sh"), "{help}");
            assert!(help.contains("MY_APP_NO_MODIFY_PATH"), "{help}");
        }
        let out = run_installer(shell, &script, &home, &[], &["--bogus"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option: --bogus"));
        assert!(!home.join(".cargo").exists());
    }
}

#[test]
fn install_path_chain_falls_back_and_honours_cargo_home() {
    let mut fx = Fixture::new(&["my-app"], ArchiveFormat::Zip);
    fx.app.install_paths = vec![
        InstallPath::EnvSubdir {
            var: "MY_TOOLS".into(),
            subdir: "bin".into(),
        },
        InstallPath::HomeSubdir(".my-app/bin".into()),
    ];
    let chain_script = fx.script();
    let mut cargo_app = fx.app.clone();
    cargo_app.install_paths = vec![];
    let cargo_script = fx.dir.path().join("cargo-installer.sh");
    std::fs::write(&cargo_script, render_shell(&cargo_app).unwrap()).unwrap();

    let server = Server::start(serve_dir(&fx.served_dir()), 3);
    let shell = SHELLS[0].1;
    // MY_TOOLS unset: falls back to ~/.my-app/bin.
    let home = fx.new_home("home-fallback");
    let out = run_installer(shell, &chain_script, &home, &[url_env(&server)], &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_runs(&home.join(".my-app/bin/my-app"), "my-app");

    // MY_TOOLS set: $MY_TOOLS/bin wins.
    let home = fx.new_home("home-env");
    let tools = fx.dir.path().join("tools");
    let envs = [url_env(&server), ("MY_TOOLS", tools.display().to_string())];
    let out = run_installer(shell, &chain_script, &home, &envs, &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_runs(&tools.join("bin/my-app"), "my-app");
    assert!(!home.join(".my-app").exists());

    // Default chain with CARGO_HOME set.
    let home = fx.new_home("home-cargo");
    let cargo_home = fx.dir.path().join("cargo-home");
    let envs = [
        url_env(&server),
        ("CARGO_HOME", cargo_home.display().to_string()),
    ];
    let out = run_installer(shell, &cargo_script, &home, &envs, &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_runs(&cargo_home.join("bin/my-app"), "my-app");
}

#[test]
fn shellcheck_finds_nothing() {
    // A one-binary App too: its loops over the binaries run once. The two-binary one also
    // installs libraries (`install-libraries`) from some archives.
    for (binaries, libraries) in [
        (&["my-app", "my-helper"][..], true),
        (&["my-app"][..], false),
    ] {
        shellcheck_installer(binaries, libraries);
    }
}

fn shellcheck_installer(binaries: &[&str], libraries: bool) {
    let shellcheck = require_tool("shellcheck");
    let mut app = app_with(binaries, vec![]);
    app.aliases = std::collections::BTreeMap::from([(binaries[0].into(), vec!["mya".into()])]);
    // `install-success-msg`, quoted for the shell.
    app.success_msg = Some("All set! Run `my-app --help` and $enjoy".into());
    for (i, target) in [
        "aarch64-apple-darwin",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "x86_64-pc-windows-msvc",
        "x86_64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
    ]
    .into_iter()
    .enumerate()
    {
        let windows = target.contains("windows");
        app.artifacts.push(InstallerArtifact {
            key: dist_store::RecipeKey::from_bytes([0; 32]),
            target: target.into(),
            file_name: format!(
                "my-app-{target}{}",
                if windows { ".zip" } else { ".tar.xz" }
            ),
            sha256: (i != 2).then(|| fake_sha(char::from(b'0' + i as u8))),
            root_dir: (!windows).then(|| format!("my-app-{target}")),
            // The libraries case also checks the host's glibc for the glibc builds.
            min_glibc: (libraries && target.contains("-linux-gnu")).then(|| "2.17".into()),
            // The libraries case also ships updaters (all but one target).
            updater: (libraries && !windows).then(|| dist_recipes::installer::UpdaterFile {
                key: dist_store::RecipeKey::from_bytes([1; 32]),
                file_name: format!("my-app-{target}-update"),
                sha256: Some(fake_sha('9')),
            }),
            libraries: match target {
                "x86_64-unknown-linux-gnu" if libraries => vec!["libmy_app.so".into()],
                "aarch64-apple-darwin" if libraries => {
                    vec!["libmy_app.a".into(), "libmy_app.dylib".into()]
                }
                _ => Vec::new(),
            },
        });
    }
    if libraries {
        app.receipt = Some(dist_recipes::installer::ReceiptSource {
            owner: "owner".into(),
            repo: "my-app".into(),
            provider_version: "0.1.0".into(),
        });
        assert!(render_shell(&app)
            .unwrap()
            .contains("ART_LIBS='libmy_app.a libmy_app.dylib'"));
    }
    app.install_paths = vec![
        InstallPath::EnvSubdir {
            var: "MY_APP_HOME".into(),
            subdir: String::new(),
        },
        InstallPath::CargoHome,
        InstallPath::HomeSubdir(".local/bin".into()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("my-app-installer.sh");
    std::fs::write(&script, render_shell(&app).unwrap()).unwrap();
    let out = std::process::Command::new(shellcheck)
        .args(["-s", "sh", "--severity=style"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
}

#[test]
fn rendering_is_deterministic_and_independent_of_artifact_order() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let first = render_shell(&fx.app).unwrap();
    assert_eq!(first, render_shell(&fx.app).unwrap());
    let mut shuffled = fx.app.clone();
    shuffled.artifacts.reverse();
    assert_eq!(first, render_shell(&shuffled).unwrap());
    assert!(first.starts_with("#!/bin/sh\n"));
}

#[test]
fn hostile_values_are_rejected_before_rendering() {
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarGz);
    let mut app = fx.app.clone();
    app.binaries = vec!["x; rm -rf ~".into()];
    assert!(matches!(
        render_shell(&app),
        Err(InstallerError::InvalidField {
            what: "binary name",
            ..
        })
    ));
    let mut app = fx.app.clone();
    app.artifacts[0].sha256 = Some("ABC".into());
    assert!(matches!(
        render_shell(&app),
        Err(InstallerError::InvalidField { what: "sha256", .. })
    ));
    let mut app = fx.app.clone();
    app.download_url = "https://x/'$(id)'".into();
    assert!(render_shell(&app).is_err());
    let mut app = fx.app.clone();
    let dup = app.artifacts[0].clone();
    app.artifacts.push(dup);
    assert!(matches!(
        render_shell(&app),
        Err(InstallerError::DuplicateTarget { .. })
    ));
    let mut app = fx.app.clone();
    app.artifacts.clear();
    assert!(matches!(
        render_shell(&app),
        Err(InstallerError::NoArtifacts { .. })
    ));
}

#[test]
fn busybox_applets_alone_are_enough() {
    // A minimal image: no curl, no GNU tools, only busybox applets (wget, tar, xz, sha256sum).
    let busybox = require_tool("busybox");
    let fx = Fixture::new(&["my-app"], ArchiveFormat::TarXz);
    let script = fx.script();
    let tools = fx.dir.path().join("busybox-bin");
    std::fs::create_dir_all(&tools).unwrap();
    for applet in [
        "sh",
        "tar",
        "xz",
        "gzip",
        "wget",
        "sha256sum",
        "mktemp",
        "rm",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "uname",
        "grep",
        "cat",
        "unzip",
    ] {
        std::os::unix::fs::symlink(&busybox, tools.join(applet)).unwrap();
    }
    let server = Server::start(serve_dir(&fx.served_dir()), 1);
    let home = fx.new_home("home");
    let out = clean_command(&busybox, &home)
        .env("PATH", &tools)
        .env("MY_APP_DOWNLOAD_URL", server.base_url())
        .arg("sh")
        .arg(&script)
        .arg("--verbose")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("debug: sha256 verified"));
    assert_runs(&home.join(".cargo/bin/my-app"), "my-app");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn the_success_message_is_said_verbatim() {
    let artifact = |target: &str| InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: target.into(),
        file_name: format!("my-app-{target}.zip"),
        sha256: Some(fake_sha('1')),
        root_dir: None,
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    };
    let mut app = app_with(
        &["my-app"],
        vec![
            artifact("x86_64-unknown-linux-gnu"),
            artifact("x86_64-pc-windows-msvc"),
        ],
    );
    app.success_msg = Some("All set! Run `my-app --help` and $enjoy".into());
    let text = render_shell(&app).unwrap();
    assert!(
        text.contains("say 'All set! Run `my-app --help` and $enjoy'"),
        "{text}"
    );
    assert!(!text.contains("is installed\""), "{text}");
    let ps = dist_recipes::installer::render_powershell(&app).unwrap();
    assert!(
        ps.contains("Write-Info 'All set! Run `my-app --help` and $enjoy'"),
        "{ps}"
    );
}

/// Under Git Bash / MSYS2 (`uname -s` says MINGW64_NT) the installer of an App built only for
/// Windows installs its msvc zip, `.exe` included, as cargo-dist's shell installer serves
/// `x86_64-pc-windows-gnu` from an msvc build.
#[test]
fn git_bash_installs_the_windows_archive() {
    let dir = tempfile::tempdir().unwrap();
    let target = "x86_64-pc-windows-msvc";
    let exe = dir.path().join("my-app.exe");
    std::fs::write(&exe, fake_binary_script("my-app")).unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let file_name = format!("{APP}-{target}.zip");
    let entry = dist_recipes::archive::ArchiveEntry {
        path: "my-app.exe".into(),
        source: exe,
        mode: dist_recipes::archive::EntryMode::Executable,
    };
    let zip = served.join(&file_name);
    dist_recipes::archive::write_archive(ArchiveFormat::Zip, "", &[entry], &zip).unwrap();
    let artifact = InstallerArtifact {
        key: dist_store::RecipeKey::from_bytes([0; 32]),
        target: target.into(),
        file_name,
        sha256: Some(dist_recipes::archive::sha256_file(&zip).unwrap()),
        root_dir: None,
        min_glibc: None,
        updater: None,
        libraries: Vec::new(),
    };
    let script = dir.path().join("installer.sh");
    std::fs::write(
        &script,
        render_shell(&app_with(&["my-app"], vec![artifact])).unwrap(),
    )
    .unwrap();
    // A `uname` as Git Bash's, first on PATH.
    let shim = dir.path().join("shim");
    std::fs::create_dir_all(&shim).unwrap();
    let uname = shim.join("uname");
    std::fs::write(
        &uname,
        "#!/bin/sh\ncase \"$1\" in -m) echo x86_64 ;; *) echo MINGW64_NT-10.0-19045 ;; esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&uname, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let server = Server::start(serve_dir(&served), 1);
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = clean_command("sh", &home)
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", shim.display()),
        )
        .env("MY_APP_DOWNLOAD_URL", server.base_url())
        .env("MY_APP_NO_MODIFY_PATH", "1")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_runs(&home.join(".cargo/bin/my-app.exe"), "my-app");
    assert_eq!(server.request_count(), 1);
}
