//! The release workflow played locally: plan, build-local and build-global jobs, each in its
//! own fresh clone with its own store, passing the store between jobs with `store export` /
//! `store import` (the stand-in for the workflow's cache and artifact steps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    dist_app, dist_command, fake_cargo, git, host_triple, run_ok, use_fake_cargo, Fixture,
};

const TAG: &str = "v0.1.0";
const WINDOWS: &str = crate::artifacts::WINDOWS;

/// A job: a fresh clone of the repository at `<tmp>/<name>/repo` and its own empty store.
struct Job {
    repo: PathBuf,
    store: PathBuf,
}

impl Job {
    fn new(fx: &Fixture, name: &str) -> Job {
        let base = fx.dir.path().join(name);
        std::fs::create_dir_all(&base).unwrap();
        git(&base, &["clone", "-q", fx.root().to_str().unwrap(), "repo"]);
        Job {
            repo: base.join("repo"),
            store: base.join("store"),
        }
    }

    fn dist(&self, args: &[&str]) -> Command {
        dist_command(&self.repo, &self.store, args)
    }

    fn json(&self, args: &[&str], no_cargo: Option<&Path>) -> serde_json::Value {
        let mut cmd = self.dist(args);
        if let Some(fake) = no_cargo {
            use_fake_cargo(&mut cmd, fake);
        }
        serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("json manifest")
    }

    fn export(&self, bundle: &Path) {
        run_ok(&mut self.dist(&["store", "export", bundle.to_str().unwrap()]));
    }

    fn import(&self, bundle: &Path) {
        run_ok(&mut self.dist(&["store", "import", bundle.to_str().unwrap()]));
    }

    /// `build --artifacts=MODE` of the tag (for `target` when given), as CI's job runs it.
    fn build(
        &self,
        mode: &str,
        target: Option<&str>,
        no_cargo: Option<&Path>,
    ) -> serde_json::Value {
        let mode = format!("--artifacts={mode}");
        let target = target.map(|t| format!("--target={t}"));
        let mut args = vec!["build", "--tag", TAG, &mode, "-o", "json"];
        args.extend(target.as_deref());
        self.json(&args, no_cargo)
    }

    fn manifest_path(&self) -> PathBuf {
        self.repo.join("target/distrib/dist-manifest.json")
    }
}

/// artifact name -> (cached, blake3)
fn states(m: &serde_json::Value) -> BTreeMap<String, (bool, String)> {
    m["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                (
                    a["recipe"]["cached"].as_bool().unwrap(),
                    a["recipe"]["blake3"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn workflow_jobs_reproduce_a_local_build_and_hit_the_cache_on_rerun() {
    let host = host_triple();
    let fx = dist_app(
        "piper",
        "hello from the pipeline",
        &format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\n"),
    );
    git(fx.root(), &["init", "-q"]);
    git(fx.root(), &["add", "-A"]);
    git(fx.root(), &["commit", "-qm", "release"]);
    let bundles = fx.dir.path().join("bundles");
    std::fs::create_dir_all(&bundles).unwrap();
    let local_bundle = bundles.join("local.tar");
    let global_bundle = bundles.join("global.tar");

    // Run 1. plan: every artifact planned, nothing cached.
    let plan = Job::new(&fx, "plan");
    let planned = plan.json(&["plan", "--tag", TAG, "-o", "json"], None);
    assert!(states_keys(&planned).len() >= 5, "{planned}");

    // build-local: archives and checksums for the host target, then its store is saved.
    let local = Job::new(&fx, "local-1");
    let l1 = local.build("local", Some(&host), None);
    local.export(&local_bundle);
    // build-global: restores the local job's store, then installers, sha256.sum, source.tar.gz.
    let global = Job::new(&fx, "global-1");
    global.import(&local_bundle);
    let g1 = global.build("global", None, None);
    global.export(&global_bundle);
    assert!(states(&g1).contains_key("piper-installer.sh"), "{g1}");
    assert!(states(&g1).contains_key("source.tar.gz"), "{g1}");

    // The plan's keys are the keys the jobs built (global keys embed the archives' checksums,
    // which the plan job could not know; the local ones it knew).
    for (name, a) in l1["artifacts"].as_object().unwrap() {
        assert_eq!(
            a["recipe"]["key"], planned["artifacts"][name]["recipe"]["key"],
            "{name}"
        );
    }

    // Run 2, fresh clones, stores restored from the cache: every artifact is a hit and no
    // cargo runs.
    let (fake, marker) = fake_cargo(fx.dir.path());
    let local2 = Job::new(&fx, "local-2");
    local2.import(&local_bundle);
    let l2 = local2.build("local", Some(&host), Some(&fake));
    let global2 = Job::new(&fx, "global-2");
    global2.import(&global_bundle);
    let g2 = global2.build("global", None, Some(&fake));
    assert!(!marker.exists(), "the cached pipeline ran cargo");
    for (first, second) in [(&l1, &l2), (&g1, &g2)] {
        for (name, (cached, digest)) in states(second) {
            assert!(cached, "{name} was rebuilt on the cached rerun");
            assert_eq!(digest, states(first)[&name].1, "{name}");
        }
    }

    // A plain local build of the same commit, elsewhere, from scratch: the same bytes, and
    // `compare` agrees with each job's manifest.
    let plain = Job::new(&fx, "plain");
    let p = plain.build("all", Some(&host), None);
    for job in [&l1, &g1] {
        for (name, (_, digest)) in states(job) {
            assert_eq!(
                digest,
                states(&p)[&name].1,
                "{name} differs from a plain local build"
            );
        }
    }
    assert_published_and_job_manifests_reproduce(&fx, &planned, [&local, &global], &plain, &p);
}

fn states_keys(m: &serde_json::Value) -> Vec<String> {
    m["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// The host job publishes the plan's manifest with each job's built artifacts merged in (the
/// workflow's own jq program): it compares as reproduced with a plain local build, artifact by
/// artifact, as does each job's own manifest.
fn assert_published_and_job_manifests_reproduce(
    fx: &Fixture,
    planned: &serde_json::Value,
    jobs: [&Job; 2],
    plain: &Job,
    p: &serde_json::Value,
) {
    let plain_manifest = plain.manifest_path();
    let plan_json = fx.dir.path().join("plan-dist-manifest.json");
    std::fs::write(&plan_json, serde_json::to_vec(planned).unwrap()).unwrap();
    let published = Command::new("jq")
        .arg("-s")
        .arg(dist_recipes::workflow::PUBLISH_MANIFEST_JQ)
        .arg(&plan_json)
        .arg(jobs[0].manifest_path())
        .arg(jobs[1].manifest_path())
        .output()
        .expect("jq runs (the workflow's host job uses it; .ci/run installs it)");
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let published_path = fx.dir.path().join("published-dist-manifest.json");
    std::fs::write(&published_path, &published.stdout).unwrap();
    let out = plain
        .dist(&[
            "compare",
            plain_manifest.to_str().unwrap(),
            published_path.to_str().unwrap(),
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let cmp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{cmp:#}");
    for row in cmp["artifacts"].as_array().unwrap() {
        assert_eq!(row["verdict"], "reproduced", "{row:#}");
    }
    assert_eq!(
        cmp["artifacts"].as_array().unwrap().len(),
        states(p).len(),
        "the published manifest lists every artifact"
    );
    for job in jobs {
        let job_manifest = job.manifest_path();
        let out = plain
            .dist(&[
                "compare",
                job_manifest.to_str().unwrap(),
                plain_manifest.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "compare failed:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("reproduced"), "{text}");
        assert!(text.contains(" 0 NOT REPRODUCIBLE"), "{text}");
    }
}

/// A job of the user's: its own `cargo build` and `tar` of the binary, laid out as the plan
/// names the archive (`piper-{host}/piper`); the archive's bytes.
fn users_archive(fx: &Fixture, host: &str) -> Vec<u8> {
    let user = Job::new(fx, "my-build");
    run_ok(
        Command::new("cargo")
            .args(["build", "--release", "--quiet"])
            .current_dir(&user.repo),
    );
    let root = user.repo.join(format!("piper-{host}"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(user.repo.join("target/release/piper"), root.join("piper")).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-cJf")
            .arg("archive.tar.xz")
            .arg(format!("piper-{host}"))
            .current_dir(&user.repo),
    );
    std::fs::read(user.repo.join("archive.tar.xz")).unwrap()
}

/// `build-local-artifacts = false`: the per-target archive is made by a job of the user's (here
/// `cargo build` and `tar`, no cargo-dist), and the global job, with an empty store, takes it
/// from `target/distrib/` by its planned name, says so, and makes the installer and
/// `sha256.sum` over those bytes; the installer installs it from a server on 127.0.0.1.
/// Without the file, the global build names it and the jobs that must make it.
#[test]
fn build_local_artifacts_false_takes_the_users_archives() {
    use crate::support::{routes_of, sha256_hex, sha256sum_check, Server};
    let host = host_triple();
    let fx = dist_app(
        "piper",
        "hello from your own job",
        &format!(
            "targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"shell\", \"powershell\", \"msi\"]\nbuild-local-artifacts = false\nlocal-artifacts-jobs = [\"./my-build\"]\n"
        ),
    );
    fx.ok(&["generate"]); // wix/main.wxs, which the MSI's plan reads
    git(fx.root(), &["init", "-q"]);
    git(fx.root(), &["add", "-A"]);
    git(fx.root(), &["commit", "-qm", "release"]);
    let archive = format!("piper-{host}.tar.xz");
    // A Windows build of the user's, not checked by anything here but its bytes.
    let zip = format!("piper-{WINDOWS}.zip");

    // The global job before the user's jobs uploaded anything.
    let early = Job::new(&fx, "global-early");
    let out = early
        .dist(&["build", "--tag", TAG, "--artifacts=global"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        (stderr.contains(&archive) || stderr.contains(&zip))
            && stderr.contains("target/distrib")
            && stderr.contains("local-artifacts-jobs"),
        "{stderr}"
    );

    let bytes = users_archive(&fx, &host);

    // The global job: the user's archive downloaded into target/distrib, an empty store.
    let global = Job::new(&fx, "global");
    let distrib = global.repo.join("target/distrib");
    std::fs::create_dir_all(&distrib).unwrap();
    std::fs::write(distrib.join(&archive), &bytes).unwrap();
    std::fs::write(distrib.join(&zip), b"their zip").unwrap();
    let out = run_ok(&mut global.dist(&["build", "--tag", TAG, "--artifacts=global"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let sha = sha256sum_check(&distrib, "sha256.sum");
    assert!(sha.contains(&archive) && sha.contains(&zip), "{sha}");
    for (file, installer) in [
        (&archive, "piper-installer.sh"),
        (&zip, "piper-installer.ps1"),
    ] {
        assert!(
            stderr.contains(&format!("took {file} from target/distrib")),
            "{stderr}"
        );
        let text = std::fs::read_to_string(distrib.join(installer)).unwrap();
        assert!(
            text.contains(&sha256_hex(&distrib.join(file))),
            "{installer}"
        );
    }
    // The MSI is made from the Windows build, which is the user's job's.
    let msi = format!("not built: piper-{WINDOWS}.msi (build-local-artifacts = false");
    assert!(stderr.contains(&msi), "{stderr}");
    // The archive stays the user's: nothing of this build claims to have made it.
    assert_eq!(std::fs::read(distrib.join(&archive)).unwrap(), bytes);

    let files: BTreeMap<String, Vec<u8>> = [(archive.clone(), bytes)].into();
    let server = Server::start(routes_of(files), 4);
    let into = fx.dir.path().join("installed");
    run_ok(
        Command::new("sh")
            .arg(distrib.join("piper-installer.sh"))
            .env("HOME", fx.dir.path())
            .env("PIPER_DOWNLOAD_URL", server.base_url())
            .env("PIPER_INSTALL_DIR", &into)
            .env("PIPER_NO_MODIFY_PATH", "1"),
    );
    let ran = run_ok(&mut Command::new(into.join("bin/piper")));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "hello from your own job\n"
    );
}
