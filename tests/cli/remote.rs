//! The remote store against real servers started here on 127.0.0.1: nginx with its WebDAV
//! modules (Debian's nginx-extras) and redis-server, both installed by `.ci/run`. Two "machines"
//! are two clones of a workspace with two empty stores sharing one remote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::servers::{Moto, Nginx, Redis};
use crate::support::{
    archive_name, copy_workspace, dist_app, dist_command, fake_cargo, host_triple, read_tree,
    run_ok, use_fake_cargo, Fixture,
};

/// A one-binary App for the host, with a shell installer (a global artifact).
pub(crate) fn host_app(name: &str, greeting: &str) -> (Fixture, String) {
    let host = host_triple();
    let body = format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\n");
    (dist_app(name, greeting, &body), host)
}

/// A fresh ed25519 pair from the tool: (secret, public).
pub(crate) fn keygen(fx: &Fixture) -> (String, String) {
    let k = fx.json(&["store", "keygen", "-o", "json"]);
    (
        k["signing_key"].as_str().unwrap().to_string(),
        k["public_key"].as_str().unwrap().to_string(),
    )
}

/// Who a machine is on the remote: its URL, the key it signs with, the keys it trusts.
#[derive(Clone, Default)]
pub(crate) struct Access {
    pub url: String,
    pub signing: Option<String>,
    pub trusted: Vec<String>,
    pub read_only: bool,
    /// More environment for the tool (`CARGO_DIST_REMOTE_TIMEOUT`, S3's `AWS_*`).
    pub env: Vec<(String, String)>,
}

impl Access {
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("CARGO_DIST_REMOTE", &self.url)
            .env_remove("CARGO_DIST_REMOTE_SIGNING_KEY")
            .env("CARGO_DIST_REMOTE_TRUSTED_KEYS", self.trusted.join(","));
        if let Some(k) = &self.signing {
            cmd.env("CARGO_DIST_REMOTE_SIGNING_KEY", k);
        }
        if self.read_only {
            cmd.arg("--remote-read-only");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
    }
}

/// `build -o json` of the workspace at `root` with `store` and `access`: (manifest, stderr).
pub(crate) fn build(root: &Path, store: &Path, access: &Access) -> (Value, String) {
    let mut cmd = dist_command(root, store, &["build", "-o", "json"]);
    access.apply(&mut cmd);
    let out = run_ok(&mut cmd);
    (
        serde_json::from_slice(&out.stdout).expect("build prints its manifest"),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Artifact -> (recipe.cached, recipe.remote).
pub(crate) fn sources(manifest: &Value) -> BTreeMap<String, (bool, bool)> {
    manifest["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, a)| {
            let r = &a["recipe"];
            (
                name.clone(),
                (
                    r["cached"].as_bool().unwrap(),
                    r["remote"].as_bool().unwrap_or(false),
                ),
            )
        })
        .collect()
}

/// The built files of a workspace (`target/distrib/`), manifest aside (it names paths).
pub(crate) fn distrib(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = read_tree(&root.join("target/distrib"));
    files.remove("dist-manifest.json");
    files
}

/// A second machine: a clone of `fx`'s workspace (no target/) with its own empty store.
pub(crate) fn clone_of(fx: &Fixture, name: &str) -> (PathBuf, PathBuf) {
    let root = fx.dir.path().join(name);
    copy_workspace(fx.root(), &root);
    let _ = std::fs::remove_dir_all(root.join("target"));
    (root, fx.dir.path().join(format!("{name}-store")))
}

/// The warnings a run printed that are about the remote store.
pub(crate) fn remote_warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: remote store"))
        .collect()
}

/// Machine A builds and uploads; machine B (a clone, an empty store, the same remote, trusting
/// A's key, holding no key to sign with) builds with no cargo and no compressor run: every
/// artifact is a verified remote hit, bit-identical to A's.
fn two_machines_share_every_artifact(
    url: String,
    env: Vec<(String, String)>,
) -> (Fixture, Access, Access) {
    let (fx, host) = host_app("shared", "hello from the remote");
    let (secret, public) = keygen(&fx);
    let writer = Access {
        url,
        signing: Some(secret),
        trusted: vec![],
        read_only: false,
        env,
    };
    let (a, stderr) = build(fx.root(), &fx.store(), &writer);
    assert!(remote_warnings(&stderr).is_empty(), "{stderr}");
    assert!(sources(&a)
        .values()
        .all(|(cached, remote)| !cached && !remote));

    let reader = Access {
        signing: None,
        trusted: vec![public],
        ..writer.clone()
    };
    let (b_root, b_store) = clone_of(&fx, "machine-b");
    let (fake, marker) = fake_cargo(fx.dir.path());
    let mut cmd = dist_command(&b_root, &b_store, &["build", "-o", "json"]);
    reader.apply(&mut cmd);
    use_fake_cargo(&mut cmd, &fake);
    let out = run_ok(&mut cmd);
    assert!(
        !marker.exists(),
        "machine B ran cargo: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(remote_warnings(&stderr).is_empty(), "{stderr}");
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b_sources = sources(&b);
    assert!(
        b_sources.contains_key(&archive_name("shared", &host))
            && b_sources.contains_key("shared-installer.sh"),
        "{b_sources:?}"
    );
    for (name, (cached, remote)) in &b_sources {
        assert!(
            *cached && *remote,
            "{name} was not a remote hit: {b_sources:?}"
        );
    }
    assert_eq!(
        distrib(fx.root()),
        distrib(&b_root),
        "machine B's bytes differ from A's"
    );
    // What B took is in its own store, and its objects hash right.
    run_ok(&mut dist_command(&b_root, &b_store, &["store", "verify"]));
    (fx, writer, reader)
}

/// gc by age: records written 30 days ago go with --keep-days 7, and so do the objects only
/// they named (once past the upload grace period); a dry run removes nothing. Keeping 60 days
/// keeps all; a size limit of 1 byte then drops every record.
fn assert_remote_gc_by_age_and_size(fx: &Fixture, writer: &Access, nginx: &Nginx) {
    let month_ago = std::time::SystemTime::now() - Duration::from_secs(30 * 86_400);
    let records = std::fs::read_dir(nginx.files().join("ac")).unwrap().count();
    let objects = std::fs::read_dir(nginx.files().join("cas"))
        .unwrap()
        .count();
    assert!(
        records >= 4 && objects >= 4,
        "{records} records, {objects} objects"
    );
    for dir in ["ac", "cas"] {
        for e in std::fs::read_dir(nginx.files().join(dir)).unwrap() {
            let f = std::fs::File::options()
                .write(true)
                .open(e.unwrap().path())
                .unwrap();
            f.set_modified(month_ago).unwrap();
        }
    }
    let gc = |extra: &[&str]| {
        let mut args = vec!["store", "gc", "--remote"];
        args.extend_from_slice(extra);
        let mut cmd = dist_command(fx.root(), &fx.store(), &args);
        writer.apply(&mut cmd);
        String::from_utf8(run_ok(&mut cmd).stdout).unwrap()
    };
    let dry = gc(&["--keep-days", "7", "--dry-run"]);
    assert!(
        dry.starts_with(&format!(
            "would remove {records} record(s), {objects} object(s)"
        )),
        "{dry}"
    );
    assert_eq!(
        std::fs::read_dir(nginx.files().join("ac")).unwrap().count(),
        records
    );
    // Keeping 60 days keeps all; a size limit of 1 byte then drops every record.
    let kept = gc(&["--keep-days", "60"]);
    assert!(
        kept.starts_with("removed 0 record(s), 0 object(s)"),
        "{kept}"
    );
    let all = gc(&["--max-size", "1"]);
    assert!(
        all.starts_with(&format!("removed {records} record(s), {objects} object(s)")),
        "{all}"
    );
    assert_eq!(
        std::fs::read_dir(nginx.files().join("ac")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(nginx.files().join("cas"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn two_machines_share_every_artifact_through_webdav() {
    let nginx = Nginx::start();
    let (fx, writer, reader) = two_machines_share_every_artifact(nginx.url(), vec![]);
    let host = host_triple();
    // The remote's layout: objects by BLAKE3, one signed record per recipe, by key.
    let a_manifest: Value = serde_json::from_slice(
        &std::fs::read(fx.root().join("target/distrib/dist-manifest.json")).unwrap(),
    )
    .unwrap();
    let archive = &a_manifest["artifacts"][archive_name("shared", &host)]["recipe"];
    let cas = nginx
        .files()
        .join("cas")
        .join(archive["blake3"].as_str().unwrap());
    let ac = nginx
        .files()
        .join("ac")
        .join(archive["key"].as_str().unwrap());
    assert!(cas.is_file() && ac.is_file(), "{cas:?} / {ac:?}");
    let record: Value = serde_json::from_slice(&std::fs::read(&ac).unwrap()).unwrap();
    assert_eq!(record["signer"].as_str(), Some(reader.trusted[0].as_str()));

    // A third machine plans: what its store lacks and the remote holds shows as such.
    let (c_root, c_store) = clone_of(&fx, "machine-c");
    let mut cmd = dist_command(&c_root, &c_store, &["plan"]);
    reader.apply(&mut cmd);
    let plan = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();
    let line = plan
        .lines()
        .find(|l| l.trim_start().starts_with(&archive_name("shared", &host)))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(line.ends_with("cached (remote)]"), "{line}");

    // The remote verifies: every object re-hashed, every record's signature and objects.
    let mut cmd = dist_command(fx.root(), &fx.store(), &["store", "verify", "--remote"]);
    reader.apply(&mut cmd);
    let ok = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();
    assert!(
        ok.starts_with("ok: ") && ok.contains("signed record(s) checked"),
        "{ok}"
    );
    // ...and names what is wrong when something is.
    std::fs::write(nginx.files().join("cas/not-a-digest"), b"junk").unwrap();
    let mut cmd = dist_command(fx.root(), &fx.store(), &["store", "verify", "--remote"]);
    reader.apply(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cas/not-a-digest: not named by a BLAKE3 digest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(nginx.files().join("cas/not-a-digest")).unwrap();

    assert_remote_gc_by_age_and_size(&fx, &writer, &nginx);
}

#[test]
fn two_machines_share_every_artifact_through_redis() {
    let redis = Redis::start();
    let _ = two_machines_share_every_artifact(redis.url(), vec![]);
    // Redis cannot list its keys: remote upkeep says so instead of pretending.
    let fx = Fixture::new();
    let mut cmd = Command::new(crate::support::BIN);
    cmd.args(["dist", "store", "gc", "--remote", &redis.url()])
        .current_dir(fx.dir.path())
        .env(
            "CARGO_DIST_REMOTE_TRUSTED_KEYS",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        );
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot list its entries"), "{err}");
}

/// S3 for real: moto's S3 server (PyPI's moto[server], which `.ci/run` installs) with
/// credentials, a bucket and a prefix; then `store verify --remote` lists and checks it.
#[test]
fn two_machines_share_every_artifact_through_s3() {
    let moto = Moto::start();
    let bucket = moto.bucket("dist-cache");
    let (fx, _writer, reader) =
        two_machines_share_every_artifact(format!("s3://{bucket}/team-a"), moto.env());
    let mut cmd = dist_command(fx.root(), &fx.store(), &["store", "verify", "--remote"]);
    reader.apply(&mut cmd);
    let ok = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();
    assert!(ok.starts_with("ok: "), "{ok}");
}

/// A corrupted and a truncated object on the server: the recipes they belong to are built
/// locally (the binary comes from the remote, so no cargo runs), with one warning, and a
/// writer's build puts good copies back.
#[test]
fn corrupted_remote_objects_are_rebuilt_locally_with_one_warning() {
    let nginx = Nginx::start();
    let (fx, host) = host_app("damaged", "hello");
    let (secret, public) = keygen(&fx);
    let writer = Access {
        url: nginx.url(),
        signing: Some(secret),
        trusted: vec![public],
        read_only: false,
        env: vec![],
    };
    let (a, _) = build(fx.root(), &fx.store(), &writer);
    let digest = |name: &str| {
        a["artifacts"][name]["recipe"]["blake3"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let archive = archive_name("damaged", &host);
    let corrupt = nginx.files().join("cas").join(digest(&archive));
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&corrupt, &bytes).unwrap();
    let truncated = nginx
        .files()
        .join("cas")
        .join(digest("damaged-installer.sh"));
    let text = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 3]).unwrap();

    let (b_root, b_store) = clone_of(&fx, "machine-b");
    let (fake, marker) = fake_cargo(fx.dir.path());
    let mut cmd = dist_command(&b_root, &b_store, &["build", "-o", "json"]);
    writer.apply(&mut cmd);
    use_fake_cargo(&mut cmd, &fake);
    let out = run_ok(&mut cmd);
    assert!(
        !marker.exists(),
        "the binary was on the remote, yet cargo ran"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("failed verification") && warnings[0].contains("built it locally"),
        "{}",
        warnings[0]
    );
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b_sources = sources(&b);
    assert_eq!(b_sources[&archive], (false, false), "{b_sources:?}");
    assert_eq!(b_sources["damaged-installer.sh"], (false, false));
    assert_eq!(distrib(fx.root()), distrib(&b_root));
    // B could write: the server holds good copies again, and the remote verifies.
    assert_eq!(std::fs::read(&truncated).unwrap(), text);
    let mut cmd = dist_command(&b_root, &b_store, &["store", "verify", "--remote"]);
    writer.apply(&mut cmd);
    run_ok(&mut cmd);

    // Records readable, every object answered with HTTP 500 (after retries): the remote is
    // given up on between the lookups and the downloads; nothing half-fetched is recorded.
    let half = nginx.dir.path().join("root/half/ac");
    std::fs::create_dir_all(&half).unwrap();
    for e in std::fs::read_dir(nginx.files().join("ac")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), half.join(e.file_name())).unwrap();
    }
    let (c_root, c_store) = clone_of(&fx, "machine-c");
    let half_remote = Access {
        url: format!("webdav+http://127.0.0.1:{}/half", nginx.port),
        ..writer.clone()
    };
    let (c, stderr) = build(&c_root, &c_store, &half_remote);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("is unreachable"), "{}", warnings[0]);
    assert!(sources(&c)
        .values()
        .all(|(cached, remote)| !cached && !remote));
    assert_eq!(distrib(fx.root()), distrib(&c_root));
    run_ok(&mut dist_command(&c_root, &c_store, &["store", "verify"]));
}

/// Records signed by a key the reader does not trust are refused with one warning and the
/// artifacts built locally; a read-only run then leaves the remote as it was.
#[test]
fn records_signed_by_an_unknown_key_are_ignored() {
    let nginx = Nginx::start();
    let (fx, _host) = host_app("trusting", "hello");
    let (_, trusted_public) = keygen(&fx);
    let (stranger, _) = keygen(&fx);
    let stranger = Access {
        url: nginx.url(),
        signing: Some(stranger),
        trusted: vec![],
        read_only: false,
        env: vec![],
    };
    let (a, _) = build(fx.root(), &fx.store(), &stranger);

    let (b_root, b_store) = clone_of(&fx, "machine-b");
    let reader = Access {
        url: nginx.url(),
        signing: None,
        trusted: vec![trusted_public],
        read_only: true,
        env: vec![],
    };
    let before = read_tree(&nginx.files());
    let (b, stderr) = build(&b_root, &b_store, &reader);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("which is not a trusted key")
            && warnings[0].contains("more for the same reason"),
        "{}",
        warnings[0]
    );
    assert!(sources(&b)
        .values()
        .all(|(cached, remote)| !cached && !remote));
    assert_eq!(distrib(fx.root()), distrib(&b_root));
    assert_eq!(sources(&a).len(), sources(&b).len());
    assert_eq!(
        read_tree(&nginx.files()),
        before,
        "a read-only run wrote to the remote"
    );
}

/// The server is killed while the build compiles: the lookups after it fail, one warning says
/// so, the build finishes locally and correctly. A server answering HTTP 500 to everything
/// (retried, then given up on) does the same to `plan`.
#[test]
fn a_server_killed_mid_build_costs_one_warning() {
    let mut nginx = Nginx::start();
    let (fx, host) = host_app("outage", "still here");
    let (secret, public) = keygen(&fx);
    let access = Access {
        url: nginx.url(),
        signing: Some(secret),
        trusted: vec![public],
        read_only: false,
        env: vec![],
    };
    let mut cmd = dist_command(fx.root(), &fx.store(), &["build", "-o", "json"]);
    access.apply(&mut cmd);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The App's build sandbox appears when its cargo build starts: the remote was asked for
    // the local artifacts already (and had none); installers and sha256.sum are asked next.
    let sandbox = fx.root().join("target/dist-work/targets").join(&host);
    let start = Instant::now();
    while !sandbox.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the build never started cargo"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    nginx.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("is unreachable"), "{}", warnings[0]);
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(sources(&manifest)
        .values()
        .all(|(cached, remote)| !cached && !remote));
    // The archive is whole and its binary runs.
    let unpacked = fx.dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    crate::support::untar(
        &fx.root()
            .join("target/distrib")
            .join(archive_name("outage", &host)),
        &unpacked,
        &["xJf"],
    );
    let bin = std::fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().path().join("outage"))
        .find(|p| p.is_file())
        .expect("the archive holds the binary");
    let ran = run_ok(&mut Command::new(bin));
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "still here\n");

    // HTTP 500 on every request.
    let broken = Nginx::start();
    let empty_store = fx.dir.path().join("empty-store");
    let mut cmd = dist_command(fx.root(), &empty_store, &["plan"]);
    Access {
        url: format!("webdav+http://127.0.0.1:{}/broken/", broken.port),
        ..access
    }
    .apply(&mut cmd);
    let out = run_ok(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings = remote_warnings(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("is unreachable"), "{}", warnings[0]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&archive_name("outage", &host)));
}
