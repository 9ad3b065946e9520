//! The package-manager publish jobs (`publish-jobs = ["scoop", "winget", "aur"]`): generated
//! after `host`, actionlint-clean, and their scripts run for real by bash against local git
//! repositories standing in for the bucket, the winget-pkgs fork and the AUR (and a `gh` that
//! records the pull request it is asked for).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ci::{actionlint, needs, text, workflow_yaml};
use crate::support::{dist_app, git, run_ok, Fixture};

const APP: &str = "pub-app";

fn fixture(extra: &str) -> Fixture {
    dist_app(
        APP,
        "hello",
        &format!("ci = \"github\"\ninstallers = [\"shell\", \"scoop\", \"winget\", \"aur\"]\ntargets = [\"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\"]\npublish-jobs = [\"scoop\", \"winget\", \"aur\"]\n{extra}"),
    )
}

/// The `run:` of the step named `step` of `job`.
fn script(fx: &Fixture, job: &str, step: &str) -> String {
    let w = workflow_yaml(fx);
    let steps = w["jobs"][job]["steps"].as_vec().expect("steps");
    let s = steps
        .iter()
        .find(|s| s["name"].as_str() == Some(step))
        .unwrap_or_else(|| panic!("{job} has no step {step:?}"));
    text(&s["run"], "run").to_string()
}

/// A bare repository with one commit, cloned to `work` (as actions/checkout would).
fn repo(dir: &Path, name: &str, work: &Path) -> PathBuf {
    let bare = dir.join(format!("{name}.git"));
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let seed = dir.join(format!("{name}-seed"));
    git(
        dir,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    std::fs::write(seed.join("README.md"), "seed\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    git(&seed, &["push", "-q", "origin", "HEAD:main"]);
    git(
        dir,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    bare
}

/// A `.tar.gz` of `files` (path, content) at `out`.
fn tarball(out: &Path, files: &[(&str, &str)]) {
    let stage = out.with_extension("stage");
    for (path, content) in files {
        let p = stage.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let top: Vec<&str> = files
        .iter()
        .map(|(p, _)| p.split('/').next().unwrap())
        .collect();
    run_ok(
        Command::new("tar")
            .arg("czf")
            .arg(out)
            .arg("-C")
            .arg(&stage)
            .args(&top[..1]),
    );
}

fn bash(script: &str, dir: &Path, envs: &[(&str, String)]) {
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", script]).current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run_ok(&mut cmd);
}

fn show(bare: &Path, rev_path: &str) -> String {
    let out = run_ok(
        Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(["show", rev_path]),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn publish_jobs_need_their_repositories_and_follow_host() {
    let fx = fixture("");
    let err = fx.fails(&["generate"], 1);
    assert!(err.contains("scoop-bucket"), "{err}");
    let fx = fixture("scoop-bucket = \"example/scoop-bucket\"\n");
    let err = fx.fails(&["generate"], 1);
    assert!(err.contains("winget-fork"), "{err}");
    let fx =
        fixture("scoop-bucket = \"example/scoop-bucket\"\nwinget-fork = \"example/winget-pkgs\"\n");
    fx.ok(&["generate"]);
    actionlint(&fx, "package-manager publish jobs");
    let w = workflow_yaml(&fx);
    for job in ["publish-scoop", "publish-winget", "publish-aur"] {
        assert_eq!(needs(&w, job), ["plan", "host"], "{job}");
    }
    let checkout = |job: &str| w["jobs"][job]["steps"][0]["with"].clone();
    assert_eq!(
        text(&checkout("publish-scoop")["repository"], "repo"),
        "example/scoop-bucket"
    );
    assert_eq!(
        text(&checkout("publish-scoop")["token"], "token"),
        "${{ secrets.SCOOP_BUCKET_TOKEN }}"
    );
    assert_eq!(
        text(&checkout("publish-winget")["repository"], "repo"),
        "example/winget-pkgs"
    );
    let announce = needs(&w, "announce");
    assert!(announce.iter().any(|n| n == "publish-aur"), "{announce:?}");
}

/// A workspace with the three publish jobs generated, and a scratch directory.
fn generated() -> (Fixture, PathBuf) {
    let fx =
        fixture("scoop-bucket = \"example/scoop-bucket\"\nwinget-fork = \"example/winget-pkgs\"\n");
    fx.ok(&["generate"]);
    let dir = fx.dir.path().join("publish");
    std::fs::create_dir_all(&dir).unwrap();
    (fx, dir)
}

#[test]
fn the_scoop_job_commits_the_manifests_to_the_bucket() {
    let (fx, dir) = generated();
    // Scoop: the App's manifest (and not dist-manifest.json) committed to bucket/.
    let work = dir.join("bucket");
    let bare = repo(&dir, "bucket", &work);
    std::fs::create_dir_all(work.join("artifacts/x")).unwrap();
    let scoop = "{\"version\": \"0.1.0\", \"architecture\": {}, \"bin\": [\"pub-app.exe\"]}\n";
    std::fs::write(work.join("artifacts/x/pub-app.json"), scoop).unwrap();
    std::fs::write(work.join("artifacts/x/dist-manifest.json"), "{}\n").unwrap();
    let run = script(
        &fx,
        "publish-scoop",
        "Commit the Scoop manifests to the bucket",
    );
    bash(&run, &work, &[tag()]);
    assert_eq!(show(&bare, "main:bucket/pub-app.json"), scoop);
    assert!(!show(&bare, "main:bucket").contains("dist-manifest.json"));
}

#[test]
fn the_winget_job_pushes_a_branch_and_asks_for_the_pull_request() {
    let (fx, dir) = generated();
    // winget: a branch of the fork with the manifests, and the pull request asked of gh.
    let work = dir.join("fork");
    let bare = repo(&dir, "fork", &work);
    let manifest = "manifests/p/example/pub-app/0.1.0/example.pub-app.yaml";
    std::fs::create_dir_all(work.join("artifacts")).unwrap();
    tarball(
        &work.join("artifacts/pub-app-winget.tar.gz"),
        &[(manifest, "PackageIdentifier: \"example.pub-app\"\n")],
    );
    let shims = dir.join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let gh_log = dir.join("gh.log");
    let gh = shims.join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\necho \"$GH_TOKEN $*\" >> '{}'\n",
            gh_log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", shims.display(), std::env::var("PATH").unwrap());
    let run = script(
        &fx,
        "publish-winget",
        "Open a pull request to microsoft/winget-pkgs",
    );
    bash(
        &run,
        &work,
        &[tag(), ("PATH", path), ("GH_TOKEN", "token".into())],
    );
    assert_eq!(
        show(&bare, &format!("release-v0.1.0:{manifest}")),
        "PackageIdentifier: \"example.pub-app\"\n"
    );
    let calls = std::fs::read_to_string(&gh_log).unwrap();
    assert!(
        calls
            .contains("token pr create --repo microsoft/winget-pkgs --head example:release-v0.1.0"),
        "{calls}"
    );
}

#[test]
fn the_aur_job_pushes_each_package() {
    let (fx, dir) = generated();
    // AUR: PKGBUILD and .SRCINFO pushed to the package's repository (an empty one at first).
    let work = dir.join("aur-job");
    std::fs::create_dir_all(work.join("artifacts")).unwrap();
    let aur = dir.join("aur");
    std::fs::create_dir_all(&aur).unwrap();
    let bare = aur.join("pub-app-bin.git");
    git(&aur, &["init", "-q", "--bare", bare.to_str().unwrap()]);
    tarball(
        &work.join("artifacts/pub-app-aur.tar.gz"),
        &[
            ("pub-app-bin/PKGBUILD", "pkgname='pub-app-bin'\n"),
            ("pub-app-bin/.SRCINFO", "pkgbase = pub-app-bin\n"),
        ],
    );
    let run = script(&fx, "publish-aur", "Push the packages to the AUR");
    let url = format!("file://{}", aur.display());
    bash(
        &run,
        &work,
        &[
            tag(),
            ("AUR_URL", url),
            ("AUR_SSH_PRIVATE_KEY", String::new()),
            ("HOME", dir.display().to_string()),
        ],
    );
    assert_eq!(show(&bare, "master:PKGBUILD"), "pkgname='pub-app-bin'\n");
    assert_eq!(show(&bare, "master:.SRCINFO"), "pkgbase = pub-app-bin\n");
}

/// The tag the jobs release, as the workflow passes it.
fn tag() -> (&'static str, String) {
    ("TAG", "v0.1.0".to_string())
}
