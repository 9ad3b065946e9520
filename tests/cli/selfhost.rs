//! The tool releases itself: `cargo dist build` of this very repository makes its own archive
//! and installer; served from 127.0.0.1, the generated workflow's install step (run exactly as
//! written) installs a `cargo-dist` that plans the example workspace.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use yaml_rust2::YamlLoader;

use crate::support::{host_triple, routes_of, run_ok, tool_release, Server};

/// PATH for the install step: system dirs only, so the installed tool is the one found after.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `run:` of the install step of the repository's own workflow, as committed.
fn install_script(repo: &Path) -> String {
    let text = std::fs::read_to_string(repo.join(".github/workflows/release.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let steps = docs[0]["jobs"]["plan"]["steps"]
        .as_vec()
        .expect("the plan job has steps");
    steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Install cargo-dist"))
        .and_then(|s| s["run"].as_str())
        .expect("the plan job installs cargo-dist with a run step")
        .to_string()
}

#[test]
fn the_tool_builds_releases_and_installs_itself() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let host = host_triple();
    let scratch = tempfile::tempdir().unwrap();
    // The repository's own config and workflow, as committed (the dirty check is on).
    let release = tool_release();
    let archive = format!("cargo-dist-{host}.tar.xz");
    let files: BTreeMap<String, Vec<u8>> = ["cargo-dist-installer.sh", archive.as_str()]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(release.dir.join(n)).unwrap()))
        .collect();
    let server = Server::start(routes_of(files), 4);
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let cargo_home = home.join(".cargo");
    let out = Command::new("bash")
        .arg("-c")
        .arg(install_script(repo))
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", &home)
        .env("CARGO_HOME", &cargo_home)
        .env("RUNNER_OS", "Linux")
        .env("CARGO_DIST_URL", server.base_url())
        .env("CARGO_DIST_DOWNLOAD_URL", server.base_url())
        .env("CARGO_DIST_NO_MODIFY_PATH", "1")
        .env("GITHUB_ENV", scratch.path().join("github-env"))
        .output()
        .expect("bash runs the install step");
    assert!(
        out.status.success(),
        "the install step failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.requests(),
        [
            "/cargo-dist-installer.sh".to_string(),
            format!("/{archive}")
        ],
        "the install step fetched something else"
    );
    // The later steps' store: outside the checkout, where actions/cache finds it.
    let exported = std::fs::read_to_string(scratch.path().join("github-env")).unwrap();
    assert_eq!(
        exported,
        format!(
            "CARGO_DIST_STORE={}/.cache/cargo-dist/store\n",
            home.display()
        )
    );

    // The installed tool is this one: it plans the example workspace.
    let installed = cargo_home.join("bin/cargo-dist");
    let plan = run_ok(
        Command::new(&installed)
            .args(["dist", "plan", "-o", "json", "--manifest-path"])
            .arg(repo.join("examples/hello-world/Cargo.toml"))
            .env("CARGO_DIST_STORE", scratch.path().join("plan-store")),
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["releases"][0]["app_name"], "hello-world", "{plan}");
    assert!(
        plan["artifacts"]["hello-world-x86_64-unknown-linux-gnu.tar.xz"]["recipe"]["key"]
            .is_string()
    );
}
