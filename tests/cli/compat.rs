//! cargo-dist 0.34's planning rules where they are not obvious from the key table, each
//! tested as a rule on several configs rather than as one case: keys that turn installers on,
//! a package's own `installers` list, and the configs cargo-dist refuses.

use crate::support::{commit_all, dist_app, Fixture};

const APP: &str = "compat-app";

/// The App's planned artifact names, for `dist_body` as `[workspace.metadata.dist]` and
/// `package_body` as `[package.metadata.dist]`.
fn planned(dist_body: &str, package_body: &str) -> Vec<String> {
    let fx = app(dist_body, package_body);
    let plan = fx.json(&["plan", "-o", "json"]);
    plan["artifacts"]
        .as_object()
        .expect("artifacts")
        .keys()
        .cloned()
        .collect()
}

fn app(dist_body: &str, package_body: &str) -> Fixture {
    let body =
        format!("targets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\"]\n{dist_body}");
    let fx = dist_app(APP, "hi", &body);
    if !package_body.is_empty() {
        let manifest = fx.root().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        // [package.metadata.dist] belongs to [package], before [workspace].
        let text = text.replacen(
            "\n[workspace]\n",
            &format!("\n[package.metadata.dist]\n{package_body}\n[workspace]\n"),
            1,
        );
        std::fs::write(manifest, text).unwrap();
    }
    commit_all(&fx);
    fx
}

fn has(names: &[String], name: &str) -> bool {
    names.iter().any(|n| n == name)
}

#[test]
fn a_key_configuring_an_installer_turns_it_on_in_its_layer() {
    let formula = format!("{APP}.rb");
    let npm = format!("{APP}-npm-package.tar.gz");
    // The workspace lists only the shell installer; each of these keys adds its installer.
    for (key, made) in [
        ("tap = \"example/homebrew-tap\"", &formula),
        ("formula = \"compat\"", &"compat.rb".to_string()),
        ("npm-scope = \"@example\"", &npm),
        ("npm-package = \"compat-npm\"", &npm),
        ("npm-shrinkwrap = false", &npm),
    ] {
        let names = planned(&format!("installers = [\"shell\"]\n{key}\n"), "");
        assert!(has(&names, made), "{key}: {made} not planned in {names:?}");
        assert!(has(&names, &format!("{APP}-installer.sh")), "{key}");
    }
    // Without such a key, the list alone decides.
    let names = planned("installers = [\"shell\"]\n", "");
    assert!(!has(&names, &formula) && !has(&names, &npm), "{names:?}");

    // A package's own list turns off what it leaves out, the workspace's keys included ...
    let names = planned(
        "installers = [\"shell\"]\ntap = \"example/homebrew-tap\"\n",
        "installers = [\"shell\"]\n",
    );
    assert!(!has(&names, &formula), "{names:?}");
    // ... unless the package configures the installer itself.
    let names = planned(
        "installers = [\"shell\"]\n",
        "installers = [\"shell\"]\nformula = \"compat-app\"\n",
    );
    assert!(has(&names, &formula), "{names:?}");
    // With no list anywhere, a configuring key is still enough.
    assert!(has(
        &planned("", "tap = \"example/homebrew-tap\"\n"),
        &formula
    ));
}

#[test]
fn a_mac_pkg_needs_its_identifier() {
    let pkg = format!("{APP}-aarch64-apple-darwin.pkg");
    let fx = app("installers = [\"pkg\"]\n", "");
    let err = fx.fails(&["plan"], 1);
    assert!(
        err.contains("compat-app") && err.contains("mac-pkg-config") && err.contains("identifier"),
        "{err}"
    );
    // `install-location` alone turns pkg on, and still lacks the identifier.
    let fx = app("mac-pkg-config = { install-location = \"/opt\" }\n", "");
    fx.fails(&["plan"], 1);
    // With it, the pkg is planned (and, as an installer the config turns on, without a list).
    let names = planned(
        "mac-pkg-config = { identifier = \"dev.example.compat\" }\n",
        "",
    );
    assert!(has(&names, &pkg), "{names:?}");
    // A pkg serves macOS only: without a macOS target nothing is asked.
    let fx = dist_app(
        APP,
        "hi",
        "targets = [\"x86_64-unknown-linux-gnu\"]\ninstallers = [\"pkg\"]\n",
    );
    commit_all(&fx);
    fx.ok(&["plan"]);
}

#[test]
fn cargo_home_stands_alone_in_install_path() {
    for list in [
        "[\"~/.compat/bin\", \"CARGO_HOME\"]",
        "[\"CARGO_HOME\", \"$COMPAT_HOME/bin\"]",
    ] {
        let fx = app(
            &format!("installers = [\"shell\"]\ninstall-path = {list}\n"),
            "",
        );
        let err = fx.fails(&["plan"], 1);
        assert!(
            err.contains("Cargo.toml")
                && err.contains("install-path")
                && err.contains("CARGO_HOME"),
            "{err}"
        );
    }
    for ok in [
        "\"CARGO_HOME\"",
        "[\"CARGO_HOME\"]",
        "[\"~/.compat/bin\", \"$COMPAT_HOME/bin\"]",
    ] {
        let names = planned(
            &format!("installers = [\"shell\"]\ninstall-path = {ok}\n"),
            "",
        );
        assert!(has(&names, &format!("{APP}-installer.sh")), "{ok}");
    }
}

#[test]
fn a_windows_only_app_gets_the_shell_installer_for_git_bash() {
    let fx = dist_app(
        APP,
        "hi",
        "targets = [\"x86_64-pc-windows-msvc\"]\ninstallers = [\"shell\", \"powershell\", \"homebrew\"]\n",
    );
    commit_all(&fx);
    let plan = fx.json(&["plan", "-o", "json"]);
    let artifacts = &plan["artifacts"];
    let shell = &artifacts[format!("{APP}-installer.sh")];
    assert_eq!(
        shell["target_triples"],
        serde_json::json!(["x86_64-pc-windows-gnu"])
    );
    assert_eq!(
        artifacts[format!("{APP}-installer.ps1")]["target_triples"],
        serde_json::json!([
            "aarch64-pc-windows-msvc",
            "x86_64-pc-windows-gnu",
            "x86_64-pc-windows-msvc"
        ])
    );
    // cargo-dist also plans a formula with nothing to install; this tool does not (README).
    assert!(artifacts.get(format!("{APP}.rb")).is_none(), "{artifacts}");
}

/// A package with no binaries is an App when `package-libraries` packages a library kind its
/// lib target builds, as in cargo-dist: archived, summed, and installed by the shell installer
/// (here run under dash against a local server).
#[test]
fn a_library_only_package_is_an_app_when_its_libraries_are_packaged() {
    let host = crate::support::host_triple();
    let fx = Fixture::new();
    fx.package(
        "",
        "clib",
        "0.3.0",
        &[],
        &format!("license = \"MIT\"\nrepository = \"https://github.com/example/clib\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\ninstallers = [\"shell\"]\npackage-libraries = [\"cdylib\"]\ninstall-libraries = [\"cdylib\"]\n"),
    )
    .file("Cargo.lock", "version = 4\n\n[[package]]\nname = \"clib\"\nversion = \"0.3.0\"\n");
    commit_all(&fx);
    let target = format!("--target={host}");
    fx.ok(&["build", "--artifacts=all", &target]);
    let dir = fx.root().join("target/distrib");
    crate::support::sha256sum_check(&dir, "sha256.sum");
    let files = crate::support::read_tree(&dir);
    let server = crate::support::Server::start(crate::support::routes_of(files), 2);
    let install = fx.dir.path().join("install");
    let out = std::process::Command::new("dash")
        .arg(dir.join("clib-installer.sh"))
        .env("HOME", fx.dir.path())
        .env("CLIB_DOWNLOAD_URL", server.base_url())
        .env("CLIB_NO_MODIFY_PATH", "1")
        .env("CLIB_INSTALL_DIR", &install)
        .output()
        .expect("dash is needed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Installed beside where binaries go.
    assert!(
        install.join("bin/libclib.so").is_file(),
        "{:?}",
        crate::support::read_tree(&install).keys()
    );

    // Without `package-libraries` it is a library, not an App.
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &manifest.replace(
            "package-libraries = [\"cdylib\"]\ninstall-libraries = [\"cdylib\"]\n",
            "",
        ),
    );
    commit_all(&fx);
    let err = fx.fails(&["plan"], 1);
    assert!(err.contains("no Apps"), "{err}");
}
