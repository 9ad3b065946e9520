//! Notarization: signed macOS files submitted to a stand-in for Apple's notary service on
//! 127.0.0.1 (`support/notary.py`: it verifies the App Store Connect token with the key's
//! public half, reads the upload from moto's S3 and looks at each Mach-O's signature as the
//! real service does first), the upload through the credentials the service hands out.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::signing::{codesign_env, macho_program, test_ca, Tsa, APP, MACOS};
use crate::support::servers::{free_port, wait_for_port, Moto};
use crate::support::{dist_app, run_ok};

const ISSUER: &str = "69a6de7e-0000-47e3-e053-5b8c7c11a4d1";
const KEY_ID: &str = "TESTKEY123";
const BUCKET: &str = "notary-submissions";

/// The stand-in service and the S3 server its uploads go to, stopped when dropped.
struct Notary {
    dir: PathBuf,
    child: Child,
    env: Vec<(String, String)>,
    _moto: Moto,
}

impl Notary {
    fn start(dir: &Path) -> Notary {
        std::fs::create_dir_all(dir).unwrap();
        let (key, public) = (dir.join("AuthKey.p8"), dir.join("AuthKey.pub"));
        run_ok(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt"])
                .args(["ec_paramgen_curve:P-256", "-out"])
                .arg(&key),
        );
        run_ok(
            Command::new("openssl")
                .args(["pkey", "-pubout", "-in"])
                .arg(&key)
                .arg("-out")
                .arg(&public),
        );
        let moto = Moto::start();
        moto.bucket(BUCKET);
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/support/notary.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .arg(port.to_string())
            .arg(moto.port.to_string())
            .args([BUCKET])
            .arg(&public)
            .args([ISSUER, KEY_ID])
            .spawn()
            .expect("python3 is needed (`.ci/run` installs it)");
        wait_for_port(port, "the notary stand-in (notary.py)", &mut child);
        let env = vec![
            ("CARGO_DIST_MACOS_NOTARY_ISSUER_ID", ISSUER.to_string()),
            ("CARGO_DIST_MACOS_NOTARY_KEY_ID", KEY_ID.to_string()),
            (
                "CARGO_DIST_MACOS_NOTARY_KEY",
                std::fs::read_to_string(&key).unwrap(),
            ),
            (
                "CARGO_DIST_MACOS_NOTARY_URL",
                format!("http://127.0.0.1:{port}/notary/v2"),
            ),
            (
                "CARGO_DIST_MACOS_NOTARY_S3_ENDPOINT",
                format!("http://127.0.0.1:{}", moto.port),
            ),
        ];
        let env = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Notary {
            dir: dir.to_path_buf(),
            child,
            env,
            _moto: moto,
        }
    }

    /// Each call the service took, as `METHOD path token-verdict`.
    fn requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {} {}", v["method"], v["path"], v["token"])
            })
            .collect()
    }

    fn uploads(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.dir.join("uploads"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        found.sort();
        found
    }
}

impl Drop for Notary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A macOS build (the Mach-O stand-in) with `macos-sign`, the test identity, a timestamp
/// server and `extra` env; its output.
fn macos_build(
    root: &Path,
    store: &Path,
    stand_in: &Path,
    env: &[(String, String)],
) -> std::process::Output {
    let mut cmd = crate::artifacts::runner(root, store, stand_in, MACOS, &[]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().unwrap()
}

/// An App built for macOS with `macos-sign`.
fn macos_app() -> crate::support::Fixture {
    dist_app(
        APP,
        "hi",
        &format!("targets = [\"{MACOS}\"]\ninstallers = []\nmacos-sign = true\n"),
    )
}

/// A signed macOS build is submitted once, with a token the service verifies, and its upload
/// is the zip of the very program the archive ships; a stored build is not submitted again;
/// a signature Apple would refuse (no secure timestamp) fails the build with the log's issue.
#[test]
fn signed_macos_builds_are_notarized_once_and_a_refusal_fails_the_build() {
    let fx = macos_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let tsa = Tsa::start(&fx.dir.path().join("tsa"), &ca);
    let notary = Notary::start(&fx.dir.path().join("notary"));
    let program = macho_program(&fx.dir.path().join("macho"));
    let stand_in = crate::artifacts::runner_stand_in(fx.dir.path(), &[], Some(&program), "");
    let mut env: Vec<(String, String)> = codesign_env(&ca)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.retain(|(k, _)| k != "CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL");
    env.push(("CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL".into(), tsa.url()));
    env.extend(notary.env.iter().cloned());

    let out = macos_build(fx.root(), &fx.store(), &stand_in, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let requests = notary.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("\"POST\""))
            .count(),
        1,
        "{requests:#?}"
    );
    assert!(
        requests.iter().all(|r| r.ends_with("\"ok\"")),
        "every call carried a valid token: {requests:#?}"
    );
    let uploads = notary.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    let id = uploads[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        stderr.contains(&format!("Apple's notary service accepted submission {id}")),
        "{stderr}"
    );
    // What was submitted is what ships: the archive's program, byte for byte.
    let unpacked = fx.dir.path().join("unpacked");
    let archive = fx
        .root()
        .join("target/distrib")
        .join(crate::support::archive_name(APP, MACOS));
    crate::support::untar(&archive, &unpacked, &["-xJf"]);
    let shipped = std::fs::read(unpacked.join(format!("{APP}-{MACOS}")).join(APP)).unwrap();
    let zip = fx.dir.path().join("submitted");
    run_ok(
        Command::new("unzip")
            .arg("-q")
            .arg(&uploads[0])
            .arg("-d")
            .arg(&zip),
    );
    assert_eq!(std::fs::read(zip.join(APP)).unwrap(), shipped);

    // The signed build is in the store: nothing is submitted again.
    let out = macos_build(fx.root(), &fx.store(), &stand_in, &env);
    assert!(out.status.success());
    assert_eq!(notary.uploads().len(), 1);

    // Without a timestamp the service refuses the signature: the build fails with its word.
    let other = fx.dir.path().join("no-timestamp");
    crate::support::copy_workspace(fx.root(), &other);
    env.retain(|(k, _)| k != "CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL");
    env.push(("CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL".into(), "none".into()));
    let out = macos_build(&other, &fx.dir.path().join("store2"), &stand_in, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Apple's notary service says Invalid")
            && stderr.contains("The signature does not include a secure timestamp."),
        "{stderr}"
    );
    assert!(!other
        .join("target/distrib")
        .join(crate::support::archive_name(APP, MACOS))
        .exists());
}

/// Half an API key is named before anything builds, never its value.
#[test]
fn half_a_notary_key_is_named_before_anything_builds() {
    let fx = macos_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let mut cmd =
        crate::support::dist_command(fx.root(), &fx.store(), &["build", "--artifacts=global"]);
    cmd.envs(codesign_env(&ca).iter().map(|(k, v)| (k, v)));
    cmd.env("CARGO_DIST_MACOS_NOTARY_KEY", "bm90IGEga2V5")
        .env("CARGO_DIST_MACOS_NOTARY_ISSUER_ID", ISSUER);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CARGO_DIST_MACOS_NOTARY_KEY_ID: is not set"),
        "{stderr}"
    );
    assert!(!stderr.contains("bm90IGEga2V5"), "{stderr}");
}
