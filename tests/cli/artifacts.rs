//! Artifact kinds beyond binaries and archives: packaged C libraries (`package-libraries`,
//! `install-libraries`) loaded and linked by a real C compiler, installed by the real shell
//! installer.

use std::path::Path;
use std::process::Command;

use crate::support::{
    archive_name, dist_app, host_triple, routes_of, run_ok, untar, Fixture, Server,
};

const APP: &str = "lib-app";
/// The lib target's name: cargo turns `-` into `_`.
const LIB: &str = "lib_app";

/// An App whose package also builds a cdylib and a staticlib exporting `lib_app_answer`.
fn lib_app(dist_body: &str) -> Fixture {
    let fx = dist_app(APP, "unused", dist_body);
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    // `[lib]` before `[workspace]`, inside the package's tables.
    let manifest = manifest.replacen(
        "\n[workspace]",
        "\n[lib]\ncrate-type = [\"cdylib\", \"staticlib\", \"rlib\"]\n\n[workspace]",
        1,
    );
    fx.file("Cargo.toml", &manifest)
        .file(
            "src/lib.rs",
            "#[no_mangle]\npub extern \"C\" fn lib_app_answer() -> i32 {\n    42\n}\n",
        )
        .file(
            "src/main.rs",
            "fn main() {\n    println!(\"answer {}\", lib_app::lib_app_answer());\n}\n",
        );
    fx
}

/// Compiles `c` with the system C compiler into `out`, with `extra` arguments after the source.
fn cc(dir: &Path, c: &str, out: &str, extra: &[&str]) -> std::path::PathBuf {
    let src = dir.join(format!("{out}.c"));
    std::fs::write(&src, c).unwrap();
    let exe = dir.join(out);
    run_ok(Command::new("cc").arg("-o").arg(&exe).arg(&src).args(extra));
    exe
}

/// Runs `lib-app`'s shell installer under dash against `dir` served on 127.0.0.1, into
/// `<tmp>/install` with HOME `<tmp>/home` and PATH left alone; returns (server, install, home).
fn install_with_shell(
    fx: &Fixture,
    dir: &Path,
) -> (Server, std::path::PathBuf, std::path::PathBuf) {
    let files = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    let server = Server::start(routes_of(files), 4);
    let install = fx.dir.path().join("install");
    let home = fx.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run_ok(
        Command::new("dash")
            .arg(dir.join(format!("{APP}-installer.sh")))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("LIB_APP_DOWNLOAD_URL", server.base_url())
            .env("LIB_APP_NO_MODIFY_PATH", "1")
            .env("LIB_APP_INSTALL_DIR", &install),
    );
    (server, install, home)
}

const DLOPEN: &str = r#"#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    int (*f)(void) = (int (*)(void))dlsym(h, "lib_app_answer");
    if (!f) { fprintf(stderr, "no symbol\n"); return 3; }
    printf("%d\n", f());
    return 0;
}
"#;

const STATIC: &str = r#"#include <stdio.h>
int lib_app_answer(void);
int main(void) { printf("%d\n", lib_app_answer()); return 0; }
"#;

#[test]
fn packaged_libraries_load_link_and_install() {
    let host = host_triple();
    let fx = lib_app(&format!(
        "targets = [\"{host}\"]\ninstallers = [\"shell\", \"homebrew\"]\npackage-libraries = [\"cdylib\", \"cstaticlib\"]\ninstall-libraries = \"cdylib\"\n"
    ));
    let target = format!("--target={host}");
    let manifest = fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    let dir = fx.root().join("target/distrib");
    let archive = archive_name(APP, &host);

    // The archive holds the binary and both libraries, the static one not executable.
    let unpacked = fx.dir.path().join("unpacked");
    untar(&dir.join(&archive), &unpacked, &["xJf"]);
    let root = unpacked.join(format!("{APP}-{host}"));
    let so = root.join(format!("lib{LIB}.so"));
    let a = root.join(format!("lib{LIB}.a"));
    assert!(
        so.is_file() && a.is_file(),
        "{:?}",
        std::fs::read_dir(&root).unwrap().collect::<Vec<_>>()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&a).unwrap().permissions().mode() & 0o111,
        0
    );
    let listed = &manifest["artifacts"][&archive]["assets"];
    assert!(
        listed.to_string().contains(&format!("lib{LIB}.so")),
        "the manifest does not list the cdylib: {listed}"
    );

    // A C program dlopens the cdylib; another links the staticlib.
    let work = fx.dir.path().join("c");
    std::fs::create_dir_all(&work).unwrap();
    let loader = cc(&work, DLOPEN, "loader", &["-ldl"]);
    let out = run_ok(Command::new(&loader).arg(&so));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
    let linked = cc(
        &work,
        STATIC,
        "linked",
        &[a.to_str().unwrap(), "-lpthread", "-ldl", "-lm"],
    );
    let out = run_ok(&mut Command::new(&linked));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");

    // The shell installer installs the cdylib (not the staticlib) beside the binary.
    let (_server, install, _home) = install_with_shell(&fx, &dir);
    let bin = install.join("bin");
    let out = run_ok(&mut Command::new(bin.join(APP)));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "answer 42\n");
    let out = run_ok(Command::new(&loader).arg(bin.join(format!("lib{LIB}.so"))));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
    assert!(
        !bin.join(format!("lib{LIB}.a")).exists(),
        "the staticlib was installed"
    );

    // The formula installs it too, and stays valid Ruby.
    let formula = std::fs::read_to_string(dir.join(format!("{APP}.rb"))).unwrap();
    assert!(
        formula.contains(&format!("lib.install \"lib{LIB}.so\"")),
        "{formula}"
    );
    run_ok(
        Command::new("ruby")
            .arg("-c")
            .arg(dir.join(format!("{APP}.rb"))),
    );

    // Dropping the staticlib changes the build's key (a new cargo build), and nothing else
    // about the libraries is stale: the archive loses it.
    let body = std::fs::read_to_string(fx.root().join("Cargo.toml"))
        .unwrap()
        .replace("[\"cdylib\", \"cstaticlib\"]", "[\"cdylib\"]");
    fx.file("Cargo.toml", &body);
    let again = fx.json(&["build", &target, "-o", "json"]);
    std::fs::remove_dir_all(&unpacked).unwrap();
    untar(&dir.join(&archive), &unpacked, &["xJf"]);
    assert!(root.join(format!("lib{LIB}.so")).is_file());
    assert!(!root.join(format!("lib{LIB}.a")).exists());
    assert_ne!(
        manifest["artifacts"][&archive]["checksums"],
        again["artifacts"][&archive]["checksums"]
    );
}

/// Installed by the shell installer: the binary, its alias, the cdylib, and
/// `lib-app-update --help` run; the receipt says where the App is and where its releases are.
fn assert_installed_with_updater(fx: &Fixture, dir: &Path, updater: &str) {
    // The installer knows the updater's sha256.
    let script = std::fs::read_to_string(dir.join(format!("{APP}-installer.sh"))).unwrap();
    let out = run_ok(Command::new("sha256sum").arg(dir.join(updater)));
    let sha = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        script.contains(&sha),
        "the installer lacks the updater's sha256"
    );
    let (server, install, home) = install_with_shell(fx, dir);
    assert!(server.requests().contains(&format!("/{updater}")));
    let bin = install.join("bin");
    let out = run_ok(&mut Command::new(bin.join("la")));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "answer 42\n");
    assert!(bin.join(format!("lib{LIB}.so")).is_file());
    let out = run_ok(Command::new(bin.join(format!("{APP}-update"))).arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Usage:") && help.contains("--prerelease"),
        "{help}"
    );
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.join(format!(".config/{APP}/{APP}-receipt.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        receipt["install_prefix"],
        install.to_str().unwrap(),
        "{receipt}"
    );
    assert_eq!(receipt["install_layout"], "hierarchical");
    assert_eq!(receipt["binaries"], serde_json::json!([APP]));
    assert_eq!(
        receipt["binary_aliases"],
        serde_json::json!({ APP: ["la"] })
    );
    assert_eq!(receipt["modify_path"], false);
    assert_eq!(receipt["version"], "0.1.0");
    assert_eq!(
        receipt["source"],
        serde_json::json!({"app_name": APP, "name": "x", "owner": "example", "release_type": "github"})
    );
    assert_eq!(receipt["provider"]["source"], "cargo-dist");
}

/// The SBOM names the package and no directory of this machine, and the archive holds it
/// (beside the cdylib).
fn assert_sbom_shipped(fx: &Fixture, dir: &Path, host: &str, global: &serde_json::Value) {
    let sbom = format!("{APP}.cdx.xml");
    let archive = archive_name(APP, host);
    let sbom_text = std::fs::read_to_string(dir.join(&sbom)).unwrap();
    assert!(
        sbom_text.contains(&format!("<name>{APP}</name>")),
        "{sbom_text}"
    );
    assert!(sbom_text.contains("cargo-cyclonedx"), "{sbom_text}");
    assert!(
        !sbom_text.contains(&fx.dir.path().display().to_string()),
        "the SBOM names the build directory:\n{sbom_text}"
    );
    assert_eq!(global["artifacts"][&sbom]["kind"], "sbom");
    let unpacked = fx.dir.path().join("unpacked");
    untar(&dir.join(&archive), &unpacked, &["xJf"]);
    let inside = unpacked.join(format!("{APP}-{host}"));
    assert_eq!(
        std::fs::read_to_string(inside.join(&sbom)).unwrap(),
        sbom_text
    );
    assert!(inside.join(format!("lib{LIB}.so")).is_file());
}

/// Every artifact kind at once (`install-updater`, `"msi"`, `checksum = "sha512"`, a cdylib,
/// `bin-aliases`, `cargo-auditable`, `cargo-cyclonedx`, `extra-artifacts`), released as CI does
/// (the host's local build, the Windows runner's, then the global build): each is built, cached
/// on the second build, and byte-identical when another directory with another store builds
/// the same inputs. The updater (axoupdater's program from its pinned crates.io release) is
/// installed by the shell installer as `{app}-update` with the receipt it reads, and runs.
#[test]
fn every_artifact_kind_is_built_cached_and_reproducible() {
    let host = host_triple();
    let fx = lib_app(&format!(
        "targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"shell\", \"msi\"]\ninstall-updater = true\nchecksum = \"sha512\"\npackage-libraries = [\"cdylib\"]\ninstall-libraries = [\"cdylib\"]\nbin-aliases = {{ {APP} = [\"la\"] }}\ncargo-auditable = true\ncargo-cyclonedx = true\n\n[[workspace.metadata.dist.extra-artifacts]]\nartifacts = [\"notes.txt\"]\nbuild = [\"sh\", \"-c\", \"cat Cargo.toml > notes.txt\"]\n"
    ));
    fx.ok(&["generate"]);
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[&format!("{LIB}.dll")], None);
    build_msi_release(fx.root(), &fx.store(), &stand_in);
    let dir = fx.root().join("target/distrib");
    let archive = archive_name(APP, &host);
    let updater = format!("{APP}-{host}-update");
    let sbom = format!("{APP}.cdx.xml");
    let msi = format!("{APP}-{WINDOWS}.msi");
    let expected = [
        archive.clone(),
        format!("{archive}.sha512"),
        format!("{APP}-{WINDOWS}.zip"),
        "sha512.sum".to_string(),
        updater.clone(),
        format!("{APP}-{WINDOWS}-update"),
        format!("{APP}-installer.sh"),
        msi.clone(),
        format!("{msi}.sha512"),
        sbom.clone(),
        "notes.txt".to_string(),
    ];
    for name in &expected {
        assert!(dir.join(name).is_file(), "{name} was not built");
    }
    // Every recipe is in the store: the same builds again make nothing.
    let target = format!("--target={host}");
    let local = fx.json(&["build", "--artifacts=local", &target, "-o", "json"]);
    let global = fx.json(&["build", "--artifacts=global", "-o", "json"]);
    for m in [&local, &global] {
        let states = crate::support::recipe_states(m);
        assert!(states.values().all(|(cached, _)| *cached), "{states:?}");
    }
    let recipe = &local["artifacts"][&updater]["recipe"];
    assert_eq!(
        recipe["inputs"]["tool:axoupdater-cli"], "0.10.3",
        "{recipe}"
    );
    assert_eq!(
        recipe["inputs"]["crate-sha256:axoupdater-cli"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    // The checksums verify with the system tools; msiinfo reads the MSI.
    for sums in [
        format!("{archive}.sha512"),
        format!("{msi}.sha512"),
        "sha512.sum".into(),
    ] {
        run_ok(
            Command::new("sha512sum")
                .args(["-c", &sums])
                .current_dir(&dir),
        );
    }
    let files = msi_table(&dir.join(&msi), "File");
    assert!(files
        .iter()
        .any(|r| r.get(2).is_some_and(|n| n.ends_with(&format!("{APP}.exe")))));
    assert_sbom_shipped(&fx, &dir, &host, &global);
    assert_installed_with_updater(&fx, &dir, &updater);

    // Another directory, another store: every artifact has the same bytes.
    let other = fx.dir.path().join("copy");
    crate::support::copy_workspace(fx.root(), &other);
    build_msi_release(&other, &fx.dir.path().join("store2"), &stand_in);
    for name in &expected {
        let a = std::fs::read(dir.join(name)).unwrap();
        let b = std::fs::read(other.join("target/distrib").join(name)).unwrap();
        assert!(a == b, "{name} differs between two clean builds");
    }
}

/// `extra-artifacts`: the command runs in a copy of the workspace (never in it), in its
/// `working-dir`; each declared file is an artifact, cached by the workspace's content.
#[test]
fn extra_artifacts_run_the_command_in_a_copy_and_ship_its_files() {
    let host = host_triple();
    let fx = dist_app(
        "xa-app",
        "hi",
        &format!(
            "targets = [\"{host}\"]\n\n[[workspace.metadata.dist.extra-artifacts]]\nartifacts = [\"out/schema.json\", \"notes.txt\"]\nbuild = [\"sh\", \"gen.sh\"]\nworking-dir = \"tools\"\n"
        ),
    );
    fx.file("tools/schema.in", "{\"v\": 1}\n").file(
        "tools/gen.sh",
        "mkdir -p out\ncp schema.in out/schema.json\nprintf 'made in %s\\n' \"${PWD##*/}\" > notes.txt\ntouch ../touched\n",
    );
    let manifest = fx.json(&["build", "-o", "json"]);
    let dir = fx.root().join("target/distrib");
    assert_eq!(
        std::fs::read_to_string(dir.join("schema.json")).unwrap(),
        "{\"v\": 1}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "made in tools\n"
    );
    assert_eq!(
        manifest["artifacts"]["schema.json"]["kind"],
        "extra-artifact"
    );
    assert!(
        !fx.root().join("touched").exists(),
        "the command ran in the workspace itself"
    );
    let states = crate::support::recipe_states(&manifest);
    assert_eq!(states["schema.json"].1.len(), 64, "{states:?}");

    // Cached while the workspace is unchanged; an edited input makes it run again.
    let again = fx.json(&["build", "-o", "json"]);
    assert!(crate::support::recipe_states(&again)["notes.txt"].0);
    fx.file("tools/schema.in", "{\"v\": 2}\n");
    let edited = fx.json(&["build", "-o", "json"]);
    assert!(!crate::support::recipe_states(&edited)["schema.json"].0);
    assert_eq!(
        std::fs::read_to_string(dir.join("schema.json")).unwrap(),
        "{\"v\": 2}\n"
    );

    // A command that does not make a declared file is an error naming both.
    fx.file(
        "tools/gen.sh",
        "mkdir -p out\ncp schema.in out/schema.json\n",
    );
    let err = fx.fails(&["build"], 1);
    assert!(
        err.contains("sh gen.sh") && err.contains("notes.txt"),
        "{err}"
    );
    // A failing one says so, with its stderr.
    fx.file("tools/gen.sh", "echo broken >&2\nexit 3\n");
    let err = fx.fails(&["build"], 1);
    assert!(err.contains("sh gen.sh") && err.contains("broken"), "{err}");
    // A path leaving the workspace is refused when the config is read.
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &manifest.replace("working-dir = \"tools\"", "working-dir = \"../tools\""),
    );
    let err = fx.fails(&["plan"], 1);
    assert!(
        err.contains("extra-artifacts[0].working-dir") && err.contains(".."),
        "{err}"
    );
}

pub(crate) const WINDOWS: &str = "x86_64-pc-windows-msvc";

/// A stand-in for the Windows runner, whose build cannot run here (no Windows standard library
/// can be installed on this machine): `cargo` and `rustc` shims in `dir` that pass `cargo
/// metadata` and `rustc -vV` to the real tools, say the target's library is installed, and make
/// a placeholder `.exe` for each `--bin` where cargo would (`cargo [auditable] build`: the
/// target dir; `cargo install`: the `--root`), and the files `lib_files` for `--lib`; with
/// `pe`, each binary is a copy of that real Windows program instead of a placeholder.
/// Everything after it (the store, the MSI, the checksums) is the real pipeline.
pub(crate) fn windows_runner_stand_in(
    dir: &Path,
    lib_files: &[&str],
    pe: Option<&Path>,
) -> std::path::PathBuf {
    runner_stand_in(dir, lib_files, pe, ".exe")
}

/// [`windows_runner_stand_in`] for any target: its binaries end in `suffix`.
pub(crate) fn runner_stand_in(
    dir: &Path,
    lib_files: &[&str],
    pe: Option<&Path>,
    suffix: &str,
) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join(format!("stand-in{suffix}"));
    std::fs::create_dir_all(&bin).unwrap();
    // Beside the shim, which the build can read.
    let program = match pe {
        Some(pe) => {
            std::fs::copy(pe, bin.join("program")).unwrap();
            format!("cp '{}' \"$out/$b{suffix}\"", bin.join("program").display())
        }
        None => {
            format!("printf 'MZ placeholder for %s on %s\\n' \"$b\" \"$t\" > \"$out/$b{suffix}\"")
        }
    };
    // The real compiler by absolute path: the shim is first on PATH.
    let sysroot = run_ok(Command::new("rustc").args(["--print", "sysroot"]));
    let real_rustc = format!(
        "{}/bin/rustc",
        String::from_utf8_lossy(&sysroot.stdout).trim()
    );
    let cargo = r#"#!/bin/sh
if [ "$1" = metadata ]; then exec 'REAL_CARGO' "$@"; fi
cmd=$1
t=''
root=''
bins=''
libs=''
prev=''
for a in "$@"; do
  case "$prev" in
    --target) t=$a ;;
    --root) root=$a ;;
    --bin) bins="$bins $a" ;;
  esac
  if [ "$a" = --lib ]; then libs='LIB_FILES'; fi
  prev=$a
done
# A host tool (the pinned rcodesign) installs for real.
if [ "$cmd" = install ] && [ -z "$t" ]; then exec 'REAL_CARGO' "$@"; fi
out="$CARGO_TARGET_DIR/$t/dist"
if [ "$cmd" = install ]; then out="$root/bin"; fi
mkdir -p "$out"
for b in $bins; do PROGRAM; done
for l in $libs; do printf 'MZ placeholder library %s\n' "$l" > "$out/$l"; done
"#
    .replace("REAL_CARGO", &crate::support::real_cargo())
    .replace("LIB_FILES", &lib_files.join(" "))
    .replace("PROGRAM", &program);
    let rustc = format!(
        "#!/bin/sh\nif [ \"$1\" = --print ]; then echo '{}'; exit 0; fi\nexec '{real_rustc}' \"$@\"\n",
        dir.display()
    );
    for (name, text) in [("cargo", cargo), ("rustc", rustc)] {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Everything one machine does for an MSI release of `root` into `store`: the host's local
/// build, the Windows runner's (the stand-in), then the global build that makes the MSI.
fn build_msi_release(root: &Path, store: &Path, stand_in: &Path) {
    build_windows_release(root, store, stand_in, &[]);
}

/// [`build_msi_release`], each build with the variables `env` set; the three builds' stderr.
pub(crate) fn build_windows_release(
    root: &Path,
    store: &Path,
    stand_in: &Path,
    env: &[(String, String)],
) -> Vec<String> {
    let stderr = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let host = host_triple();
    let local = format!("--target={host}");
    let dist = |args: &[&str]| {
        let mut cmd = crate::support::dist_command(root, store, args);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    };
    let host_side = stderr(run_ok(&mut dist(&["build", "--artifacts=local", &local])));
    let mut windows = windows_runner(root, store, stand_in, &[]);
    windows.envs(env.iter().map(|(k, v)| (k, v)));
    let windows_side = stderr(run_ok(&mut windows));
    let global = stderr(run_ok(&mut dist(&["build", "--artifacts=global"])));
    vec![host_side, windows_side, global]
}

/// `build --artifacts=local --target=WINDOWS ARGS` as the Windows runner (the stand-in) runs it.
pub(crate) fn windows_runner(root: &Path, store: &Path, stand_in: &Path, args: &[&str]) -> Command {
    runner(root, store, stand_in, WINDOWS, args)
}

/// `build --artifacts=local --target=TARGET ARGS` as `target`'s runner (a stand-in) runs it.
pub(crate) fn runner(
    root: &Path,
    store: &Path,
    stand_in: &Path,
    target: &str,
    args: &[&str],
) -> Command {
    let target = format!("--target={target}");
    let mut all = vec!["build", "--artifacts=local", target.as_str()];
    all.extend(args);
    let mut windows = crate::support::dist_command(root, store, &all);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::iter::once(stand_in.to_path_buf())
        .chain(std::env::split_paths(&path))
        .collect();
    windows
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("CARGO", stand_in.join("cargo"))
        .env("RUSTC", stand_in.join("rustc"));
    windows
}

/// `msiinfo export MSI TABLE`, as rows of tab-separated fields.
fn msi_table(msi: &Path, table: &str) -> Vec<Vec<String>> {
    let out = run_ok(Command::new("msiinfo").arg("export").arg(msi).arg(table));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Rerunning `generate` changes nothing and `--check` agrees; a hand edit of the WiX source is
/// stale to `--check`.
fn assert_generate_is_idempotent_and_checked(fx: &Fixture, manifest: &str) {
    let wxs = std::fs::read(fx.root().join("wix/main.wxs")).unwrap();
    assert!(fx.ok(&["generate"]).contains("wix/main.wxs is up to date"));
    fx.ok(&["generate", "--check"]);
    assert_eq!(
        std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap(),
        manifest
    );
    assert_eq!(std::fs::read(fx.root().join("wix/main.wxs")).unwrap(), wxs);
    // A hand edit is stale to --check, unless allow-dirty names msi.
    fx.file(
        "wix/main.wxs",
        &String::from_utf8_lossy(&wxs).replace("Level=\"1\"", "Level=\"2\""),
    );
    let err = fx.fails(&["generate", "--check"], 1);
    assert!(err.contains("wix/main.wxs is out of date"), "{err}");
    fx.file("wix/main.wxs", &String::from_utf8_lossy(&wxs));
}

/// `"msi"`: `generate` writes wix/main.wxs and records its GUIDs (kept on rerun, checked by
/// `--check`); the global build makes the MSI with wixl from the Windows build in the store;
/// msiinfo reads its tables; the same inputs in another directory and store give the same bytes.
#[test]
fn msi_is_generated_built_with_wixl_and_reproducible() {
    let host = host_triple();
    const MSI_APP: &str = "msi-app";
    let fx = dist_app(
        MSI_APP,
        "hi",
        &format!(
            "targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"msi\"]\nci = \"github\"\n"
        ),
    );
    let out = fx.ok(&["generate"]);
    assert!(out.contains("wrote wix/main.wxs"), "{out}");
    // CI's global job, which builds MSIs, installs their tools.
    let workflow =
        std::fs::read_to_string(fx.root().join(".github/workflows/release.yml")).unwrap();
    assert!(
        workflow.contains("sudo apt-get install -y faketime msitools wixl"),
        "{workflow}"
    );
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    let upgrade = doc["package"]["metadata"]["wix"]["upgrade-guid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        doc["package"]["metadata"]["wix"]["path-guid"].is_str(),
        "{manifest}"
    );
    assert_generate_is_idempotent_and_checked(&fx, &manifest);

    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], None);
    build_msi_release(fx.root(), &fx.store(), &stand_in);
    let dir = fx.root().join("target/distrib");
    let msi_name = format!("{MSI_APP}-{WINDOWS}.msi");
    let msi = dir.join(&msi_name);
    let props: std::collections::BTreeMap<String, String> = msi_table(&msi, "Property")
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone())))
        .collect();
    assert_eq!(props["ProductName"], MSI_APP);
    assert_eq!(props["ProductVersion"], "0.1.0");
    assert_eq!(
        props["UpgradeCode"].to_uppercase(),
        format!("{{{}}}", upgrade.to_uppercase())
    );
    let files = msi_table(&msi, "File");
    assert!(
        files.iter().any(|r| r
            .get(2)
            .is_some_and(|n| n.ends_with(&format!("{MSI_APP}.exe")))),
        "{files:?}"
    );
    crate::support::sha256sum_check(&dir, &format!("{msi_name}.sha256"));

    // Another directory, another store, the same inputs: the same MSI bytes.
    let other = fx.dir.path().join("copy");
    crate::support::copy_workspace(fx.root(), &other);
    build_msi_release(&other, &fx.dir.path().join("store2"), &stand_in);
    let other_msi = other.join("target/distrib").join(&msi_name);
    let describe = |p: &Path| {
        let info = run_ok(Command::new("msiinfo").arg("suminfo").arg(p));
        format!(
            "{}{:?}",
            String::from_utf8_lossy(&info.stdout),
            msi_table(p, "Property")
        )
    };
    assert!(
        std::fs::read(&msi).unwrap() == std::fs::read(&other_msi).unwrap(),
        "two clean builds gave different MSIs:\n{}\n---\n{}",
        describe(&msi),
        describe(&other_msi)
    );
}
