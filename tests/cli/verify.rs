//! `verify`: a release built in one directory with one store, served from 127.0.0.1, rebuilt
//! and checked from a fresh clone with an empty store and no network for crates; and the
//! release's provenance statement, validated with in-toto's own Python bindings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{
    app_main, dist_app, dist_command, git, host_triple, routes_of, run_ok, Fixture, Server,
};

const APP: &str = "greeter";
const TAG: &str = "v0.1.0";

/// A signing key pair from `store keygen`: (secret, public).
fn keygen(fx: &Fixture) -> (String, String) {
    let k = fx.json(&["store", "keygen", "-o", "json"]);
    let field = |f: &str| k[f].as_str().unwrap().to_string();
    (field("signing_key"), field("public_key"))
}

/// A host-only App with a shell installer, committed and tagged `v0.1.0`, whose release
/// (`build --artifacts=all`, provenance signed with `secret` when given) was built with a store
/// of its own. Returns the fixture and the release's files by name.
fn released(greeting: &str, secret: Option<&str>) -> (Fixture, BTreeMap<String, Vec<u8>>) {
    released_with(greeting, secret, "")
}

/// [`released`] with `extra` config lines.
fn released_with(
    greeting: &str,
    secret: Option<&str>,
    extra: &str,
) -> (Fixture, BTreeMap<String, Vec<u8>>) {
    let host = host_triple();
    let fx = dist_app(
        APP,
        greeting,
        &format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\n{extra}"),
    );
    git(fx.root(), &["init", "-q"]);
    git(fx.root(), &["add", "-A"]);
    git(fx.root(), &["commit", "-q", "-m", "release"]);
    git(fx.root(), &["tag", TAG]);
    let release_store = fx.dir.path().join("release-store");
    let mut cmd = dist_command(
        fx.root(),
        &release_store,
        &["build", "--artifacts=all", "--tag", TAG],
    );
    cmd.env_remove("CARGO_DIST_PROVENANCE_SIGNING_KEY");
    if let Some(secret) = secret {
        cmd.env("CARGO_DIST_PROVENANCE_SIGNING_KEY", secret);
    }
    run_ok(&mut cmd);
    let files = crate::support::distrib_files(fx.root());
    (fx, files)
}

/// A fresh clone of the fixture's repository (checked out at `rev`), beside it.
fn clone_at(fx: &Fixture, rev: &str) -> PathBuf {
    let dest = fx
        .dir
        .path()
        .join(format!("clone-{}", rev.replace('/', "-")));
    run_ok(
        Command::new("git")
            .args(["clone", "-q"])
            .arg(fx.root())
            .arg(&dest),
    );
    git(&dest, &["checkout", "-q", rev]);
    dest
}

/// `verify --release RELEASE -o json EXTRA` in `dir` (see [`verify_args`]).
fn verify(dir: &Path, release: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["verify", "--release", release, "-o", "json"];
    args.extend_from_slice(extra);
    verify_args(dir, &args)
}

/// `cargo dist ARGS` in `dir` with an empty store of its own and no network for cargo; the
/// JSON report it printed.
pub(crate) fn verify_args(dir: &Path, args: &[&str]) -> (Output, Value) {
    let store = dir.with_extension("verify-store");
    let out = dist_command(dir, &store, args)
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_DIST_PROVENANCE_TRUSTED_KEYS")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no report ({e})\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

pub(crate) fn verdicts(report: &Value) -> BTreeMap<String, String> {
    report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn details(report: &Value, name: &str) -> String {
    report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["details"].to_string())
        .unwrap_or_default()
}

fn archive(host: &str) -> String {
    format!("{APP}-{host}.tar.xz")
}

#[test]
fn a_release_verifies_from_a_fresh_clone_with_an_empty_store() {
    let probe = Fixture::new();
    let (secret, public) = keygen(&probe);
    let (fx, files) = released("hello", Some(&secret));
    assert!(
        files.contains_key("dist-provenance.intoto.jsonl"),
        "{:?}",
        files.keys()
    );
    let server = Server::start(routes_of(files.clone()), 100);
    let clone = clone_at(&fx, TAG);
    let (out, report) = verify(&clone, &server.base_url(), &["--trusted-key", &public]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{stderr}");
    let v = verdicts(&report);
    let host = host_triple();
    for name in [
        archive(&host),
        format!("{}.sha256", archive(&host)),
        format!("{APP}-installer.sh"),
        "sha256.sum".to_string(),
        "source.tar.gz".to_string(),
    ] {
        assert_eq!(
            v.get(&name).map(String::as_str),
            Some("reproduced"),
            "{name}: {report:#}"
        );
    }
    assert!(v.values().all(|v| v == "reproduced"), "{report:#}");
    assert_eq!(report["provenance"]["state"], "trusted", "{report:#}");
    assert_eq!(report["provenance"]["keys"][0], public.as_str());
    assert_eq!(report["verified"], true);
    // It rebuilt: the files it compared came from cargo, in a store it started empty.
    assert!(stderr.contains("rebuilding the artifacts of"), "{stderr}");
    let rebuilt = clone
        .join("target/dist-verify/rebuilt")
        .join(archive(&host));
    assert_eq!(std::fs::read(rebuilt).unwrap(), files[&archive(&host)]);
    // The person's report says the same.
    let human = dist_command(
        &clone,
        &clone.with_extension("human-store"),
        &[
            "verify",
            "--release",
            &server.base_url(),
            "--trusted-key",
            &public,
        ],
    )
    .env("CARGO_NET_OFFLINE", "true")
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(human.status.success(), "{text}");
    assert!(text.contains("provenance: trusted"), "{text}");
    assert!(
        text.lines().last().unwrap().starts_with("verified: "),
        "{text}"
    );
}

/// A target not rebuilt (here: not asked for with `--target`) keeps its archive from the
/// release, checked against the manifest, and the installer and `sha256.sum` that embed its
/// checksum are still rebuilt and compared.
#[test]
fn archives_not_rebuilt_here_still_let_the_installers_be_verified() {
    let (fx, files) = released("hello", None);
    let server = Server::start(routes_of(files), 100);
    let clone = clone_at(&fx, TAG);
    let (out, report) = verify(
        &clone,
        &server.base_url(),
        &["--target", "aarch64-apple-darwin"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{stderr}");
    let host = host_triple();
    let v = verdicts(&report);
    assert_eq!(v[&archive(&host)], "not-rebuilt", "{report:#}");
    assert!(
        details(&report, &archive(&host)).contains("not asked for"),
        "{report:#}"
    );
    assert_eq!(
        v[&format!("{APP}-installer.sh")],
        "reproduced",
        "{report:#}"
    );
    assert_eq!(v["sha256.sum"], "reproduced", "{report:#}");
    assert!(!stderr.contains("rebuilding the artifacts of"), "{stderr}");
    assert!(
        !stderr.contains("(cargo build)"),
        "no cargo build ran: {stderr}"
    );
}

/// Rewrites the archive `name` in `files` with `member` replaced by `contents`, and the
/// manifest's and checksum file's sha256 with it (an attacker who controls the server).
fn tamper(files: &mut BTreeMap<String, Vec<u8>>, name: &str, member: &str, contents: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let tarball = scratch.path().join(name);
    std::fs::write(&tarball, &files[name]).unwrap();
    let unpacked = scratch.path().join("x");
    std::fs::create_dir(&unpacked).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xJf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpacked),
    );
    let root = std::fs::read_dir(&unpacked)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(root.join(member), contents).unwrap();
    let root_name = root.file_name().unwrap().to_str().unwrap().to_string();
    run_ok(
        Command::new("tar")
            .arg("-cJf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpacked)
            .arg(&root_name),
    );
    let bytes = std::fs::read(&tarball).unwrap();
    let sha = sha256(&bytes);
    let mut manifest: Value = serde_json::from_slice(&files["dist-manifest.json"]).unwrap();
    let sum_name = format!("{name}.sha256");
    let sum = format!("{sha}  {name}\n").into_bytes();
    for (file, bytes) in [(name.to_string(), &bytes), (sum_name.clone(), &sum)] {
        let art = &mut manifest["artifacts"][&file];
        art["checksums"]["sha256"] = sha256(bytes).into();
        art["recipe"]["blake3"] = blake3::hash(bytes).to_hex().to_string().into();
    }
    files.insert(
        "dist-manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    files.insert(sum_name, sum);
    files.insert(name.into(), bytes);
}

fn sha256(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, bytes).unwrap();
    let out = run_ok(Command::new("sha256sum").arg(&f));
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn an_altered_member_is_not_reproducible_and_a_bad_checksum_is_named() {
    let (fx, files) = released("hello", None);
    let host = host_triple();
    let name = archive(&host);
    let clone = clone_at(&fx, TAG);

    let mut altered = files.clone();
    altered.remove("dist-provenance.intoto.jsonl");
    tamper(
        &mut altered,
        &name,
        "README.md",
        "# greeter\n\nSomething else.\n",
    );
    let server = Server::start(routes_of(altered), 100);
    let (out, report) = verify(&clone, &server.base_url(), &[]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let v = verdicts(&report);
    assert_eq!(v[&name], "not-reproducible", "{report:#}");
    assert!(details(&report, &name).contains("README.md"), "{report:#}");
    // The checksum file was rewritten to match: it no longer reproduces either.
    assert_eq!(
        v[&format!("{name}.sha256")],
        "not-reproducible",
        "{report:#}"
    );
    assert_eq!(v["source.tar.gz"], "reproduced", "{report:#}");
    assert_eq!(report["verified"], false);

    // The archive changed, the manifest not: the checksum mismatch is named before anything.
    let mut swapped = files.clone();
    let mut other = files.clone();
    tamper(&mut other, &name, "README.md", "changed\n");
    swapped.insert(name.clone(), other[&name].clone());
    let server = Server::start(routes_of(swapped), 100);
    let (out, report) = verify(&clone, &server.base_url(), &[]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(verdicts(&report)[&name], "checksum-mismatch", "{report:#}");
    assert!(
        details(&report, &name).contains(&sha256(&other[&name])),
        "{report:#}"
    );
    // So does the provenance, whose subject no longer matches the file.
    let problems = report["provenance"]["problems"].to_string();
    assert!(problems.contains(&format!("subject {name}")), "{report:#}");
}

#[test]
fn a_release_from_another_commit_has_different_inputs_naming_the_file() {
    let (fx, files) = released("hello", None);
    // The checkout the user verifies from: the next commit, which changed the greeting.
    std::fs::write(fx.root().join("src/main.rs"), app_main("hello again")).unwrap();
    git(fx.root(), &["commit", "-q", "-am", "next"]);
    let server = Server::start(routes_of(files), 100);
    let clone = clone_at(&fx, "main");
    let (out, report) = verify(&clone, &server.base_url(), &[]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let name = archive(&host_triple());
    assert_eq!(verdicts(&report)[&name], "different-inputs", "{report:#}");
    assert!(
        details(&report, &name).contains("src/main.rs"),
        "{report:#}"
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("git checkout v0.1.0"), "{report:#}");
}

#[test]
fn provenance_from_an_untrusted_key_or_with_a_changed_subject_is_refused() {
    let probe = Fixture::new();
    let (secret, public) = keygen(&probe);
    let (_, stranger) = keygen(&probe);
    let (fx, files) = released("hello", Some(&secret));
    let clone = clone_at(&fx, TAG);

    let server = Server::start(routes_of(files.clone()), 100);
    let (out, report) = verify(&clone, &server.base_url(), &["--trusted-key", &stranger]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["provenance"]["state"], "untrusted", "{report:#}");
    assert!(report["provenance"]["problems"]
        .to_string()
        .contains("none of them a trusted key"));
    // Every artifact still reproduced: the refusal alone fails the verification.
    assert!(
        verdicts(&report).values().all(|v| v == "reproduced"),
        "{report:#}"
    );

    // A subject's digest changed in the signed payload: the trusted signature no longer holds.
    let mut forged = files.clone();
    let line = String::from_utf8(files["dist-provenance.intoto.jsonl"].clone()).unwrap();
    let mut env: Value = serde_json::from_str(line.trim()).unwrap();
    let mut statement: Value =
        serde_json::from_slice(&base64_decode(env["payload"].as_str().unwrap())).unwrap();
    statement["subject"][0]["digest"]["sha256"] = "00".repeat(32).into();
    env["payload"] = base64_encode(&serde_json::to_vec(&statement).unwrap()).into();
    forged.insert(
        "dist-provenance.intoto.jsonl".into(),
        format!("{env}\n").into_bytes(),
    );
    let server = Server::start(routes_of(forged), 100);
    let (out, report) = verify(&clone, &server.base_url(), &["--trusted-key", &public]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["provenance"]["state"], "refused", "{report:#}");
    assert!(report["provenance"]["problems"]
        .to_string()
        .contains("does not verify"));
}

#[test]
fn the_provenance_statement_is_in_toto_v1_with_slsa_provenance_v1() {
    let probe = Fixture::new();
    let (secret, public) = keygen(&probe);
    let (fx, files) = released("hello", Some(&secret));
    let path = fx.dir.path().join("dist-provenance.intoto.jsonl");
    std::fs::write(&path, &files["dist-provenance.intoto.jsonl"]).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/support/validate_provenance.py");
    let python = Command::new("python3")
        .arg("-c")
        .arg("import in_toto_attestation")
        .output()
        .expect("python3 runs");
    assert!(
        python.status.success(),
        "in-toto-attestation is not installed: `pip install in-toto-attestation==0.9.3` (`.ci/run` installs it)"
    );
    let out = Command::new("python3")
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim() == "valid", "{said}");

    // What it says: every release file by sha256 and blake3, the tag's commit, the keys.
    let env: Value = serde_json::from_slice(&files["dist-provenance.intoto.jsonl"]).unwrap();
    assert_eq!(env["signatures"][0]["keyid"], public.as_str());
    let st: Value =
        serde_json::from_slice(&base64_decode(env["payload"].as_str().unwrap())).unwrap();
    let subjects: BTreeMap<String, Value> = st["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["digest"].clone()))
        .collect();
    let released: Vec<&String> = files.keys().filter(|n| !n.starts_with("dist-")).collect();
    assert_eq!(subjects.keys().collect::<Vec<_>>(), released);
    for (name, digest) in &subjects {
        assert_eq!(digest["sha256"], sha256(&files[name]).as_str(), "{name}");
        assert_eq!(
            digest["blake3"],
            blake3::hash(&files[name]).to_hex().as_str(),
            "{name}"
        );
    }
    let params = &st["predicate"]["buildDefinition"]["externalParameters"];
    assert_eq!(params["tag"], TAG);
    let head = run_ok(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(fx.root()),
    );
    assert_eq!(
        params["commit"],
        String::from_utf8_lossy(&head.stdout).trim()
    );
    let manifest: Value = serde_json::from_slice(&files["dist-manifest.json"]).unwrap();
    let keys = &st["predicate"]["buildDefinition"]["internalParameters"]["recipeKeys"];
    let name = archive(&host_triple());
    assert_eq!(keys[&name], manifest["artifacts"][&name]["recipe"]["key"]);

    // Built again from the same commit with the same key, the file is the same bytes.
    std::fs::remove_dir_all(fx.root().join("target/distrib")).unwrap();
    let mut again = dist_command(
        fx.root(),
        &fx.dir.path().join("release-store"),
        &["build", "--artifacts=all", "--tag", TAG],
    );
    again.env("CARGO_DIST_PROVENANCE_SIGNING_KEY", &secret);
    run_ok(&mut again);
    let rewritten = std::fs::read(
        fx.root()
            .join("target/distrib/dist-provenance.intoto.jsonl"),
    );
    assert_eq!(rewritten.unwrap(), files["dist-provenance.intoto.jsonl"]);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// With only the tag, `verify` fetches the release where its installers download from: here
/// `hosting = "simple"` on 127.0.0.1.
#[test]
fn with_only_the_tag_it_fetches_where_the_installers_download_from() {
    let port = crate::support::servers::free_port();
    let extra = format!(
        "hosting = [\"simple\"]\nsimple-download-url = \"http://127.0.0.1:{port}/{{tag}}\"\n"
    );
    let (fx, files) = released_with("hello", None, &extra);
    let routes = files
        .into_iter()
        .map(|(name, bytes)| (format!("{TAG}/{name}"), bytes))
        .collect();
    let server = Server::start_on(port, routes_of(routes), 100);
    let clone = clone_at(&fx, TAG);
    let (out, report) = verify_args(&clone, &["verify", TAG, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["release"], format!("http://127.0.0.1:{port}/{TAG}"));
    assert!(
        verdicts(&report).values().all(|v| v == "reproduced"),
        "{report:#}"
    );
    let asked = server.requests();
    assert!(
        asked.contains(&format!("/{TAG}/dist-manifest.json")),
        "{asked:?}"
    );
}

#[test]
fn bad_input_is_named_before_anything_is_built() {
    let (fx, files) = released("hello", None);
    let clone = clone_at(&fx, TAG);
    let store = clone.with_extension("store");
    let fails = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = dist_command(&clone, &store, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            !clone.join("target/dist-work").exists(),
            "{args:?} built something"
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let err = fails(&["verify"], &[]);
    assert!(err.contains("pass --release DIR|URL"), "{err}");
    let empty = fx.dir.path().join("empty-release");
    std::fs::create_dir(&empty).unwrap();
    let err = fails(&["verify", "--release", empty.to_str().unwrap()], &[]);
    assert!(err.contains("dist-manifest.json: not found"), "{err}");
    let served = fx.dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    for (name, bytes) in &files {
        std::fs::write(served.join(name), bytes).unwrap();
    }
    let err = fails(
        &["verify", "v9.9.9", "--release", served.to_str().unwrap()],
        &[],
    );
    assert!(
        err.contains("--tag v9.9.9 is not the release's tag"),
        "{err}"
    );
    let err = fails(
        &[
            "verify",
            "--release",
            served.to_str().unwrap(),
            "--trusted-key",
            "nope",
        ],
        &[],
    );
    assert!(
        err.contains("trusted key") && err.contains("64 hex"),
        "{err}"
    );
    // A bad signing key fails `build` before it builds; a key file is read like the key.
    let err = fails(
        &["build", "--artifacts=all", "--tag", TAG],
        &[("CARGO_DIST_PROVENANCE_SIGNING_KEY", "not-a-key")],
    );
    assert!(err.contains("CARGO_DIST_PROVENANCE_SIGNING_KEY"), "{err}");
    let missing = fx.dir.path().join("no-such-key");
    let err = fails(
        &["build", "--artifacts=all", "--tag", TAG],
        &[(
            "CARGO_DIST_PROVENANCE_SIGNING_KEY_FILE",
            missing.to_str().unwrap(),
        )],
    );
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    let (secret, public) = keygen(&fx);
    let key_file = fx.dir.path().join("provenance.key");
    std::fs::write(&key_file, format!("{secret}\n")).unwrap();
    let mut build = dist_command(&clone, &store, &["build", "--artifacts=all", "--tag", TAG]);
    build.env("CARGO_DIST_PROVENANCE_SIGNING_KEY_FILE", &key_file);
    run_ok(&mut build);
    let line = std::fs::read_to_string(clone.join("target/distrib/dist-provenance.intoto.jsonl"));
    let env: Value = serde_json::from_str(line.unwrap().trim()).unwrap();
    assert_eq!(env["signatures"][0]["keyid"], public.as_str());
}

/// A release's manifest naming a file outside the release directory is refused before anything
/// is fetched or written.
#[test]
fn a_manifest_naming_a_path_outside_the_release_is_refused() {
    let (fx, files) = released("hello", None);
    let clone = clone_at(&fx, TAG);
    let hostile = fx.dir.path().join("hostile");
    std::fs::create_dir(&hostile).unwrap();
    let mut manifest: Value = serde_json::from_slice(&files["dist-manifest.json"]).unwrap();
    let first = manifest["artifacts"].as_object().unwrap().values().next();
    let first = first.unwrap().clone();
    manifest["artifacts"]["../outside"] = first;
    std::fs::write(hostile.join("dist-manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(fx.dir.path().join("outside"), "not part of any release\n").unwrap();
    let release = hostile.to_str().unwrap();
    let store = clone.with_extension("store");
    let out = dist_command(&clone, &store, &["verify", "--release", release])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"../outside\", which is not a plain file name"),
        "{err}"
    );
    assert!(!clone.join("target/dist-verify/outside").exists());
    assert!(
        !clone.join("target/dist-work").exists(),
        "it built something"
    );
}
