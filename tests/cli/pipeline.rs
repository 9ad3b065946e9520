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
