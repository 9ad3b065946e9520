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
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
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

/// `install-updater`: axoupdater's program built from its pinned crates.io release (one build,
/// cached), shipped as `{app}-{target}-update`, installed by the shell installer as
/// `{app}-update` with the receipt it reads.
#[test]
fn updater_is_built_from_the_pinned_crate_and_installed_with_its_receipt() {
    let host = host_triple();
    const UPD: &str = "upd-app";
    let fx = dist_app(
        UPD,
        "hello from upd-app",
        &format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\ninstall-updater = true\n"),
    );
    let target = format!("--target={host}");
    let manifest = fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    let updater = format!("{UPD}-{host}-update");
    let dir = fx.root().join("target/distrib");
    assert!(
        dir.join(&updater).is_file(),
        "no {updater} in target/distrib"
    );
    let recipe = &manifest["artifacts"][&updater]["recipe"];
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
    // The installer knows the updater's sha256.
    let script = std::fs::read_to_string(dir.join(format!("{UPD}-installer.sh"))).unwrap();
    let out = run_ok(Command::new("sha256sum").arg(dir.join(&updater)));
    let sha = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        script.contains(&sha),
        "the installer lacks the updater's sha256"
    );

    // The second build finds everything in the store.
    let again = fx.json(&["build", "--artifacts=all", &target, "-o", "json"]);
    let states = crate::support::recipe_states(&again);
    assert!(states.values().all(|(cached, _)| *cached), "{states:?}");

    // Installed by the shell installer: `upd-app-update --help` runs, and the receipt says
    // where the App is and where its releases are.
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    let server = Server::start(routes_of(files), 4);
    let install = fx.dir.path().join("install");
    let home = fx.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run_ok(
        Command::new("dash")
            .arg(dir.join(format!("{UPD}-installer.sh")))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("UPD_APP_DOWNLOAD_URL", server.base_url())
            .env("UPD_APP_NO_MODIFY_PATH", "1")
            .env("UPD_APP_INSTALL_DIR", &install),
    );
    assert!(server.requests().contains(&format!("/{updater}")));
    let out = run_ok(Command::new(install.join("bin").join(format!("{UPD}-update"))).arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Usage:") && help.contains("--prerelease"),
        "{help}"
    );
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.join(format!(".config/{UPD}/{UPD}-receipt.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        receipt["install_prefix"],
        install.to_str().unwrap(),
        "{receipt}"
    );
    assert_eq!(receipt["install_layout"], "hierarchical");
    assert_eq!(receipt["binaries"], serde_json::json!([UPD]));
    assert_eq!(receipt["modify_path"], false);
    assert_eq!(receipt["version"], "0.1.0");
    assert_eq!(
        receipt["source"],
        serde_json::json!({"app_name": UPD, "name": "x", "owner": "example", "release_type": "github"})
    );
    assert_eq!(receipt["provider"]["source"], "cargo-dist");
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
