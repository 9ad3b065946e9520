//! SSL.com's eSigner (`ssldotcom-windows-sign` with cargo-dist's `SSLDOTCOM_*` secrets): the
//! signatures are made by a stand-in for SSL.com's service on 127.0.0.1 (`support/esigner.py`:
//! its OAuth and CSC API calls, checking the account, the token, the credential and a current
//! one-time password, signing with the test CA's signer key), around what osslsigncode
//! extracts, and checked with `osslsigncode verify` against the test CA.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::artifacts::{build_windows_release, windows_runner, windows_runner_stand_in, WINDOWS};
use crate::signing::{
    assert_no_secret, assert_signed, mingw_program, p12_env, test_ca, unzip, windows_app, TestCa,
    APP,
};
use crate::support::servers::{free_port, wait_for_port};
use crate::support::{dist_app, sha256_hex, sha256sum_check, Fixture};

const USERNAME: &str = "release@example.com";
const PASSWORD: &str = "esigner-password-never-stored";
const CREDENTIAL: &str = "8b072e22-7685-4771-b5c6-48e46614915f";
/// base64 of the TOTP secret (`Never-Stored-TOTP-Secret`).
const TOTP: &str = "TmV2ZXItU3RvcmVkLVRPVFAtU2VjcmV0";

/// The stand-in service, stopped when dropped.
struct Esigner {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl Esigner {
    /// The service; with `token_uses`, a token expires after that many calls.
    fn start(dir: &Path, ca: &TestCa, token_uses: Option<u32>) -> Esigner {
        std::fs::create_dir_all(dir).unwrap();
        let chain = dir.join("chain.pem");
        let pem = |p: &Path| std::fs::read_to_string(p).unwrap();
        std::fs::write(&chain, pem(&ca.cert) + &pem(&ca.ca)).unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/support/esigner.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .arg(port.to_string())
            .args([USERNAME, PASSWORD, CREDENTIAL, TOTP])
            .arg(&ca.key)
            .arg(&chain)
            .args(token_uses.map(|n| n.to_string()))
            .spawn()
            .expect("python3 with cryptography is needed (`.ci/run` installs it)");
        wait_for_port(port, "the eSigner stand-in (esigner.py)", &mut child);
        Esigner {
            dir: dir.to_path_buf(),
            port,
            child,
        }
    }

    /// cargo-dist's secrets, and where the service is.
    fn env(&self) -> Vec<(String, String)> {
        let url = format!("http://127.0.0.1:{}", self.port);
        [
            ("SSLDOTCOM_USERNAME", USERNAME),
            ("SSLDOTCOM_PASSWORD", PASSWORD),
            ("SSLDOTCOM_CREDENTIAL_ID", CREDENTIAL),
            ("SSLDOTCOM_TOTP_SECRET", TOTP),
            ("CARGO_DIST_SSLDOTCOM_OAUTH_URL", &url),
            ("CARGO_DIST_SSLDOTCOM_CSC_URL", &url),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The calls the service answered with 200 so far: (path, body).
    fn requests(&self) -> Vec<(String, serde_json::Value)> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["status"] == 200)
            .map(|v| (v["path"].as_str().unwrap().to_string(), v["body"].clone()))
            .collect()
    }
}

impl Drop for Esigner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Windows App with `ssldotcom-windows-sign = "ENV"`, the test CA, and the Windows runner's
/// stand-in (a mingw-w64 program for its cargo build).
fn esigner_app(env: &str) -> (Fixture, TestCa, PathBuf) {
    let fx = windows_app(&format!("ssldotcom-windows-sign = \"{env}\""));
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    (fx, ca, stand_in)
}

/// With `ssldotcom-windows-sign` and cargo-dist's four secrets, the program in the Windows zip,
/// the MSI and the PowerShell installer carry valid signatures of the eSigner credential's
/// certificate; only SHA-256 digests went to the service, each authorized by a one-time
/// password of its own, a token that expired mid-build replaced; the program and installer are
/// the bytes osslsigncode makes with the same key as a PKCS#12; the checksums cover them; no
/// secret is written; a second build signs nothing again.
#[test]
fn ssl_coms_esigner_signs_windows_files_with_cargo_dists_secrets() {
    let (fx, ca, stand_in) = esigner_app("test");
    // Tokens expire after 3 calls: the global job, which signs two files, needs a new one.
    let esigner = Esigner::start(&fx.dir.path().join("esigner"), &ca, Some(3));
    build_windows_release(fx.root(), &fx.store(), &stand_in, &esigner.env());

    let dist = fx.root().join("target/distrib");
    let zip = dist.join(format!("{APP}-{WINDOWS}.zip"));
    let msi = dist.join(format!("{APP}-{WINDOWS}.msi"));
    let ps1 = dist.join(format!("{APP}-installer.ps1"));
    let exe = unzip(&zip, &format!("{APP}.exe"), &fx.dir.path().join("unpacked"));
    for file in [&exe, &msi, &ps1] {
        assert_signed(file, &ca);
    }
    let sums = std::fs::read_to_string(dist.join("sha256.sum")).unwrap();
    assert!(sums.contains(&sha256_hex(&zip)), "{sums}");
    sha256sum_check(&dist, &format!("{APP}-{WINDOWS}.msi.sha256"));
    assert!(std::fs::read_to_string(&ps1)
        .unwrap()
        .contains(&sha256_hex(&zip)));

    let calls = esigner.requests();
    // One token a process (the host, Windows and global builds), and a new one once expired.
    let tokens = calls.iter().filter(|(p, _)| p == "/oauth2/token").count();
    assert!(tokens >= 4, "{calls:?}");
    let signed: Vec<_> = calls
        .iter()
        .filter(|(path, _)| path == "/csc/v0/signatures/signHash")
        .collect();
    // The program, the MSI and the installer at least; nothing but one digest a call.
    assert!(signed.len() >= 3, "{calls:?}");
    for (_, body) in &signed {
        let hashes = body["hash"].as_array().unwrap();
        assert_eq!(hashes.len(), 1);
        assert_eq!(decode(hashes[0].as_str().unwrap()).len(), 32);
        assert_eq!(body["signAlgo"], "1.2.840.113549.1.1.11");
    }
    // Each signature authorized by a one-time password of its own (the service refuses a code
    // twice: a job whose code was taken waits for the next window's).
    let codes: std::collections::BTreeSet<_> = calls
        .iter()
        .filter(|(path, _)| path == "/csc/v0/credentials/authorize")
        .map(|(_, body)| body["OTP"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), signed.len(), "{calls:?}");
    for dir in [dist.clone(), fx.store()] {
        for secret in [PASSWORD, TOTP, "Never-Stored-TOTP-Secret"] {
            assert_no_secret(&dir, secret);
        }
    }

    // The same key as a PKCS#12 (`windows-sign`), the workspace otherwise the same: the
    // program and the installer are osslsigncode's own signatures byte for byte. (The MSI's
    // product code follows its recipe key, which names the signer, so its bytes differ.)
    let other = fx.dir.path().join("p12");
    crate::support::copy_workspace(fx.root(), &other);
    for name in ["Cargo.toml", "dist-workspace.toml"] {
        let path = other.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let swapped = text.replace("ssldotcom-windows-sign = \"test\"", "windows-sign = true");
            std::fs::write(&path, swapped).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(other.join("target"));
    let store2 = fx.dir.path().join("store2");
    crate::support::run_ok(&mut crate::support::dist_command(
        &other,
        &store2,
        &["generate"],
    ));
    build_windows_release(
        &other,
        &fx.dir.path().join("store2"),
        &stand_in,
        &p12_env(&ca),
    );
    for file in [&zip, &ps1] {
        let theirs = other.join("target/distrib").join(file.file_name().unwrap());
        assert_eq!(sha256_hex(file), sha256_hex(&theirs), "{}", file.display());
    }

    // Built again: the store has every signed file, so nothing is signed again.
    build_windows_release(fx.root(), &fx.store(), &stand_in, &esigner.env());
    let again = esigner.requests();
    let count = |calls: &[(String, serde_json::Value)]| {
        calls
            .iter()
            .filter(|(p, _)| p == "/csc/v0/signatures/signHash")
            .count()
    };
    assert_eq!(count(&again), count(&calls), "signed again");
}

fn decode(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// What the service refuses is named by the secret to check, without showing it (no answer at
/// all is the network's): a wrong password before anything builds, a wrong TOTP secret when the first file is signed; no
/// unsigned file reaches the release either way.
#[test]
fn esigner_refusals_name_the_secret_to_check() {
    let (fx, ca, stand_in) = esigner_app("prod");
    let esigner = Esigner::start(&fx.dir.path().join("esigner"), &ca, None);
    let build = |change: (&str, &str)| {
        let mut cmd = windows_runner(fx.root(), &fx.store(), &stand_in, &[]);
        cmd.envs(esigner.env().into_iter().map(|(k, v)| match k == change.0 {
            true => (k, change.1.to_string()),
            false => (k, v),
        }));
        // `prod` asks SSL.com's timestamp server; none is reachable here, and the refusals
        // come first.
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // No service answering is the network's fault, not a secret's.
    let stderr = build(("CARGO_DIST_SSLDOTCOM_OAUTH_URL", "http://127.0.0.1:1"));
    assert!(
        stderr.contains("no answer") && !stderr.contains("check SSLDOTCOM"),
        "{stderr}"
    );
    let stderr = build(("SSLDOTCOM_PASSWORD", "wrong-password"));
    assert!(stderr.contains("SSLDOTCOM_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("wrong-password"), "{stderr}");
    assert!(!fx.root().join("target/distrib").exists());

    // Another valid secret: its one-time passwords are refused.
    let stderr = build(("SSLDOTCOM_TOTP_SECRET", "T3RoZXItVE9UUC1TZWNyZXQ="));
    assert!(
        stderr.contains("SSLDOTCOM_TOTP_SECRET") && stderr.contains("invalid OTP"),
        "{stderr}"
    );
    let zip = fx
        .root()
        .join(format!("target/distrib/{APP}-{WINDOWS}.zip"));
    assert!(!zip.exists(), "the program was released unsigned");
}

/// The test CA's code signing certificate for a P-256 key (eSigner's ECC credentials).
fn ec_signer(ca: &TestCa, dir: &Path) -> TestCa {
    use crate::signing::openssl_line;
    std::fs::create_dir_all(dir).unwrap();
    openssl_line(dir, "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr -subj /CN=dist-test-signer");
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
    )
    .unwrap();
    let ca_key = ca.ca.with_file_name("ca.key");
    openssl_line(dir, &format!("x509 -req -in ec.csr -CA {} -CAkey {} -CAcreateserial -out ec.pem -days 365 -extfile ext.cnf", ca.ca.display(), ca_key.display()));
    TestCa {
        ca: ca.ca.clone(),
        cert: dir.join("ec.pem"),
        key: dir.join("ec.key"),
        p12: ca.p12.clone(),
    }
}

/// An ECDSA credential, and a timestamp server: osslsigncode asks the server once eSigner's
/// signature is attached, and the program verifies with the server's countersignature.
#[test]
fn esigner_ecdsa_signatures_are_timestamped_by_the_server_named() {
    let (fx, ca, stand_in) = esigner_app("prod");
    let ec = ec_signer(&ca, &fx.dir.path().join("ec"));
    let esigner = Esigner::start(&fx.dir.path().join("esigner"), &ec, None);
    let tsa = crate::signing::Tsa::start(&fx.dir.path().join("tsa"), &ca);
    let mut cmd = windows_runner(fx.root(), &fx.store(), &stand_in, &[]);
    cmd.envs(esigner.env())
        .env("CARGO_DIST_WINDOWS_SIGN_TIMESTAMP_URL", tsa.url());
    crate::support::run_ok(&mut cmd);
    let exe = unzip(
        &fx.root()
            .join(format!("target/distrib/{APP}-{WINDOWS}.zip")),
        &format!("{APP}.exe"),
        &fx.dir.path().join("unpacked"),
    );
    let (ok, said) = crate::signing::verify(&exe, &ca);
    assert!(
        ok && said.contains("dist-test-signer") && said.contains("dist-test-TSA"),
        "not signed and timestamped:\n{said}"
    );
    let algorithms: Vec<_> = esigner
        .requests()
        .into_iter()
        .filter(|(p, _)| p == "/csc/v0/signatures/signHash")
        .map(|(_, body)| body["signAlgo"].clone())
        .collect();
    assert_eq!(algorithms, ["1.2.840.10045.4.3.2"], "ecdsa-with-SHA256");
}

/// `ssldotcom-windows-sign` gives cargo-dist's four secrets to the jobs that sign (the build
/// jobs and the global job) as env from `secrets.*`, to no other job; actionlint passes.
#[test]
fn the_workflow_passes_ssl_coms_secrets_to_the_signing_jobs() {
    let fx = dist_app(
        APP,
        "hi",
        &format!("ci = \"github\"\ntargets = [\"{WINDOWS}\"]\ninstallers = [\"powershell\"]\nssldotcom-windows-sign = \"prod\"\n"),
    );
    fx.ok(&["generate"]);
    crate::ci::actionlint(&fx, "ssldotcom");
    let w = crate::ci::workflow_yaml(&fx);
    for var in [
        "SSLDOTCOM_USERNAME",
        "SSLDOTCOM_PASSWORD",
        "SSLDOTCOM_CREDENTIAL_ID",
        "SSLDOTCOM_TOTP_SECRET",
    ] {
        for job in ["build-local-artifacts", "build-global-artifacts"] {
            assert_eq!(
                w["jobs"][job]["env"][var].as_str(),
                Some(format!("${{{{ secrets.{var} }}}}").as_str()),
                "{job} {var}"
            );
        }
        for job in ["plan", "host", "announce"] {
            assert!(w["jobs"][job]["env"][var].is_badvalue(), "{job} has {var}");
        }
    }
}
