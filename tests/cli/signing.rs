//! Windows code signing (`windows-sign`): real Authenticode signatures made by osslsigncode in
//! the recipe graph, checked with `osslsigncode verify` against a test CA made here. A program
//! built with mingw-w64's gcc stands in for the Windows runner's cargo build (no Windows
//! standard library can be installed on this machine); everything after it is the real pipeline.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::artifacts::{build_windows_release, windows_runner, windows_runner_stand_in, WINDOWS};
use crate::support::{
    dist_app, dist_command, host_triple, run_ok, sha256_hex, sha256sum_check, Fixture,
};

pub(crate) const APP: &str = "signed-app";
pub(crate) const PASSWORD: &str = "p12-password-never-stored";
const PIN: &str = "token-pin-never-stored";

/// A test CA and a code-signing certificate it issued, as PEM files and a PKCS#12.
pub(crate) struct TestCa {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) p12: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new("openssl").args(args).current_dir(dir));
}

/// `openssl` with the words of `line` as its arguments.
pub(crate) fn openssl_line(dir: &Path, line: &str) {
    openssl(dir, &line.split_whitespace().collect::<Vec<_>>());
}

pub(crate) fn test_ca(dir: &Path) -> TestCa {
    std::fs::create_dir_all(dir).unwrap();
    openssl_line(dir, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj /CN=dist-test-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
    openssl_line(
        dir,
        "req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr -subj /CN=dist-test-signer",
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
    )
    .unwrap();
    openssl_line(dir, "x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out signer.pem -days 365 -extfile ext.cnf");
    openssl_line(dir, &format!("pkcs12 -export -inkey signer.key -in signer.pem -certfile ca.pem -out signer.p12 -passout pass:{PASSWORD}"));
    TestCa {
        ca: dir.join("ca.pem"),
        cert: dir.join("signer.pem"),
        key: dir.join("signer.key"),
        p12: dir.join("signer.p12"),
    }
}

/// The variables of a PKCS#12 key (the file as base64, as a CI secret holds it).
pub(crate) fn p12_env(ca: &TestCa) -> Vec<(String, String)> {
    use base64::Engine as _;
    let p12 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&ca.p12).unwrap());
    vec![
        ("CARGO_DIST_WINDOWS_SIGN_PKCS12".into(), p12),
        ("CARGO_DIST_WINDOWS_SIGN_PASSWORD".into(), PASSWORD.into()),
    ]
}

/// A small Windows program, by mingw-w64's gcc.
pub(crate) fn mingw_program(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("program.exe");
    let gcc = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-O2", "-s", "-o"])
        .arg(&exe)
        .arg(dir.join("main.c"))
        .output()
        .expect("x86_64-w64-mingw32-gcc (Debian's gcc-mingw-w64-x86-64, which .ci/run installs) must be installed");
    assert!(gcc.status.success(), "{gcc:?}");
    exe
}

/// `osslsigncode verify` of `file` against the test CA: (passed, what it said).
pub(crate) fn verify(file: &Path, ca: &TestCa) -> (bool, String) {
    let out = Command::new("osslsigncode")
        .args(["verify", "-CAfile"])
        .arg(&ca.ca)
        .arg("-in")
        .arg(file)
        .output()
        .expect("osslsigncode (which .ci/run installs) must be installed");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.contains("Succeeded"), said)
}

pub(crate) fn assert_signed(file: &Path, ca: &TestCa) {
    let (ok, said) = verify(file, ca);
    assert!(ok, "{} is not validly signed:\n{said}", file.display());
    assert!(said.contains("dist-test-signer"), "{said}");
}

/// `member` of the zip `zip`, unpacked into `dest`.
pub(crate) fn unzip(zip: &Path, member: &str, dest: &Path) -> PathBuf {
    run_ok(
        Command::new("unzip")
            .args(["-o", "-q"])
            .arg(zip)
            .arg(member)
            .arg("-d")
            .arg(dest),
    );
    dest.join(member)
}

/// The App released for the host and Windows with the shell, PowerShell and MSI installers and
/// Windows signing on.
fn signed_app() -> Fixture {
    windows_app("windows-sign = true")
}

/// The App for the host and Windows with the shell, PowerShell and MSI installers, signed as
/// `signing` (a config line) says.
pub(crate) fn windows_app(signing: &str) -> Fixture {
    let host = host_triple();
    let fx = dist_app(
        APP,
        "hi",
        &format!("targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"shell\", \"powershell\", \"msi\"]\nci = \"github\"\n{signing}\n"),
    );
    fx.ok(&["generate"]);
    fx
}

/// With a PKCS#12 key: the program in the Windows archive, the program inside the MSI, the MSI
/// and the PowerShell installer all carry valid signatures; the checksum files and the
/// installer's embedded checksum are of the signed bytes; no secret reaches the store or the
/// release; another directory with another store makes the same bytes (no timestamp server).
#[test]
fn windows_files_are_signed_before_anything_covers_them() {
    let fx = signed_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let env = p12_env(&ca);
    build_windows_release(fx.root(), &fx.store(), &stand_in, &env);
    let dist = fx.root().join("target/distrib");
    let zip = dist.join(format!("{APP}-{WINDOWS}.zip"));
    let msi = dist.join(format!("{APP}-{WINDOWS}.msi"));
    let ps1 = dist.join(format!("{APP}-installer.ps1"));

    let unpacked = fx.dir.path().join("unpacked");
    let exe = unzip(&zip, &format!("{APP}.exe"), &unpacked);
    assert_signed(&exe, &ca);
    assert_ne!(std::fs::read(&exe).unwrap(), std::fs::read(&pe).unwrap());
    assert_signed(&msi, &ca);
    assert_signed(&ps1, &ca);
    // The MSI installs the signed program.
    let inside = fx.dir.path().join("msi");
    std::fs::create_dir_all(&inside).unwrap();
    run_ok(Command::new("msiextract").arg("-C").arg(&inside).arg(&msi));
    let installed = walkdir::WalkDir::new(&inside)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == format!("{APP}.exe").as_str())
        .expect("the MSI holds the program");
    assert_eq!(
        std::fs::read(installed.path()).unwrap(),
        std::fs::read(&exe).unwrap()
    );
    // Checksums cover the signed bytes.
    for file in [&zip, &msi] {
        let name = file.file_name().unwrap().to_str().unwrap();
        sha256sum_check(&dist, &format!("{name}.sha256"));
    }
    let sums = std::fs::read_to_string(dist.join("sha256.sum")).unwrap();
    assert!(sums.contains(&sha256_hex(&zip)), "{sums}");
    let installer = std::fs::read_to_string(&ps1).unwrap();
    assert!(installer.contains(&sha256_hex(&zip)));

    // No secret anywhere the build writes.
    for dir in [dist.clone(), fx.store()] {
        assert_no_secret(&dir, PASSWORD);
    }

    // The same inputs elsewhere: the same signed bytes.
    let other = fx.dir.path().join("copy");
    crate::support::copy_workspace(fx.root(), &other);
    build_windows_release(&other, &fx.dir.path().join("store2"), &stand_in, &env);
    for file in [&zip, &msi, &ps1] {
        let name = file.file_name().unwrap();
        assert_eq!(
            std::fs::read(file).unwrap(),
            std::fs::read(other.join("target/distrib").join(name)).unwrap(),
            "{name:?}"
        );
    }
}

/// `build-local-artifacts = false` with Windows signing: the user's own Windows zip (their
/// bytes, signed or not, are theirs) is covered by the PowerShell installer, which the global
/// build signs: the installer's key changes once it learns the zip's checksum, and its
/// signature is keyed again with it.
#[test]
fn the_users_own_windows_zip_gets_a_signed_powershell_installer() {
    let host = host_triple();
    let fx = dist_app(
        APP,
        "hi",
        &format!("targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"shell\", \"powershell\"]\nwindows-sign = true\nbuild-local-artifacts = false\n"),
    );
    let ca = test_ca(&fx.dir.path().join("ca"));
    let dist = fx.root().join("target/distrib");
    std::fs::create_dir_all(&dist).unwrap();
    let zip = dist.join(format!("{APP}-{WINDOWS}.zip"));
    std::fs::write(&zip, b"the user's zip").unwrap();
    std::fs::write(
        dist.join(format!("{APP}-{host}.tar.xz")),
        b"the user's tarball",
    )
    .unwrap();
    let mut cmd = dist_command(fx.root(), &fx.store(), &["build", "--artifacts=global"]);
    cmd.envs(p12_env(&ca));
    run_ok(&mut cmd);
    let ps1 = dist.join(format!("{APP}-installer.ps1"));
    assert_signed(&ps1, &ca);
    let installer = std::fs::read_to_string(&ps1).unwrap();
    assert!(installer.contains(&sha256_hex(&zip)), "{installer}");
}

/// Without a key the build is unsigned and says so once; `compare` of a signed and an unsigned
/// build finds the Windows archive the same with its signatures removed.
#[test]
fn without_a_key_builds_are_unsigned_and_compare_sees_through_signatures() {
    let fx = signed_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    build_windows_release(fx.root(), &fx.store(), &stand_in, &p12_env(&ca));

    let unsigned = fx.dir.path().join("unsigned");
    crate::support::copy_workspace(fx.root(), &unsigned);
    let store = fx.dir.path().join("store2");
    // Each of the three builds (host, Windows, global) says it once.
    for stderr in build_windows_release(&unsigned, &store, &stand_in, &[]) {
        assert_eq!(
            stderr.matches("Windows files are unsigned").count(),
            1,
            "{stderr}"
        );
    }
    let zip_name = format!("{APP}-{WINDOWS}.zip");
    let exe = unzip(
        &unsigned.join("target/distrib").join(&zip_name),
        &format!("{APP}.exe"),
        &fx.dir.path().join("unpacked"),
    );
    assert!(
        !verify(&exe, &ca).0,
        "an unsigned build's program has no signature"
    );
    assert_eq!(std::fs::read(&exe).unwrap(), std::fs::read(&pe).unwrap());

    // The Windows runner's manifests (the global builds' name only the global artifacts).
    let env = p12_env(&ca);
    run_ok(
        windows_runner(fx.root(), &fx.store(), &stand_in, &[])
            .envs(env.iter().map(|(k, v)| (k, v))),
    );
    run_ok(&mut windows_runner(&unsigned, &store, &stand_in, &[]));
    let verdicts = crate::support::compare_verdicts(
        &fx,
        &fx.root().join("target/distrib/dist-manifest.json"),
        &unsigned.join("target/distrib/dist-manifest.json"),
    );
    assert_eq!(
        verdicts.get(&zip_name).map(String::as_str),
        Some("signature-differs"),
        "{verdicts:?}"
    );
    let checksum = format!("{zip_name}.sha256");
    assert_eq!(
        verdicts.get(&checksum).map(String::as_str),
        Some("different-inputs"),
        "{verdicts:?}"
    );

    // `explain` of the MSI in the unsigned store, with the key set: a signature added, over
    // an MSI that differs from the last one in its program (the signed build).
    let msi = format!("{APP}-{WINDOWS}.msi");
    let mut explain = dist_command(&unsigned, &store, &["explain", &msi]);
    let out = run_ok(explain.envs(env.iter().map(|(k, v)| (k, v))));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("  - a code signature added (authenticode by certificate"),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("  {msi} (unsigned): ")),
        "{text}"
    );
    assert!(
        text.contains("consumed recipe build changed") && text.contains("(signed): key"),
        "{text}"
    );
}

/// A SoftHSM2 token (its own configuration below `dir`) holding the test signer's key.
struct Token {
    conf: PathBuf,
    module: String,
}

fn softhsm_token(dir: &Path, ca: &TestCa) -> Token {
    let hsm = dir.join("hsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    let softhsm = |line: &str| {
        let args: Vec<&str> = line.split_whitespace().collect();
        run_ok(
            Command::new("softhsm2-util")
                .args(args)
                .env("SOFTHSM2_CONF", &conf),
        )
    };
    softhsm(&format!(
        "--init-token --free --label release --so-pin 0000 --pin {PIN}"
    ));
    openssl_line(
        dir,
        &format!(
            "pkcs8 -topk8 -nocrypt -in {} -out signer.pk8",
            ca.key.display()
        ),
    );
    let pk8 = dir.join("signer.pk8");
    softhsm(&format!(
        "--import {} --token release --label signer --id 01 --pin {PIN}",
        pk8.display()
    ));
    let module = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_file())
    .expect("SoftHSM2's PKCS#11 module (Debian's softhsm2, which .ci/run installs)");
    Token {
        conf,
        module: module.to_string(),
    }
}

/// A SoftHSM2 token holds the key (the path an HSM or a cloud key's PKCS#11 module takes): the
/// Windows runner's archive carries a program signed through it; its key names the token's
/// certificate, never the PIN.
#[test]
fn a_pkcs11_token_signs_through_its_module() {
    let fx = signed_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let token = softhsm_token(fx.dir.path(), &ca);
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let mut windows = windows_runner(fx.root(), &fx.store(), &stand_in, &["-o", "json"]);
    windows
        .env("SOFTHSM2_CONF", &token.conf)
        .env("CARGO_DIST_WINDOWS_SIGN_PKCS11_MODULE", &token.module)
        .env(
            "CARGO_DIST_WINDOWS_SIGN_PKCS11_KEY",
            "pkcs11:token=release;object=signer",
        )
        .env("CARGO_DIST_WINDOWS_SIGN_PKCS11_PIN", PIN)
        .env("CARGO_DIST_WINDOWS_SIGN_CERTIFICATE", &ca.cert);
    let out = run_ok(&mut windows);
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let zip_name = format!("{APP}-{WINDOWS}.zip");
    let exe = unzip(
        &fx.root().join("target/distrib").join(&zip_name),
        &format!("{APP}.exe"),
        &fx.dir.path().join("unpacked"),
    );
    assert_signed(&exe, &ca);
    let inputs = &manifest["artifacts"][&zip_name]["recipe"]["inputs"];
    openssl_line(
        fx.dir.path(),
        &format!(
            "x509 -outform DER -in {} -out signer.der",
            ca.cert.display()
        ),
    );
    let fingerprint = sha256_hex(&fx.dir.path().join("signer.der"));
    let signer_inputs: Vec<(&String, &serde_json::Value)> = inputs
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.contains("signer:"))
        .collect();
    assert!(
        signer_inputs
            .iter()
            .any(|(k, v)| k.ends_with("signer:certificate")
                && v.as_str() == Some(fingerprint.as_str())),
        "{signer_inputs:?}"
    );
    assert!(
        signer_inputs
            .iter()
            .any(|(k, v)| k.ends_with("signer:key-source") && v.as_str() == Some("pkcs11")),
        "{signer_inputs:?}"
    );
    for dir in [fx.root().join("target/distrib"), fx.store()] {
        assert_no_secret(&dir, PIN);
    }
}

/// No file below `dir` holds `secret`.
pub(crate) fn assert_no_secret(dir: &Path, secret: &str) {
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} holds a secret", entry.path().display());
        }
    }
}

/// A wrong PKCS#12 password fails the build before anything is built, naming the variable.
#[test]
fn a_bad_key_is_named_before_anything_builds() {
    let fx = signed_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let mut env = p12_env(&ca);
    env[1].1 = "wrong".into();
    let mut cmd = dist_command(fx.root(), &fx.store(), &["build", "--artifacts=global"]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CARGO_DIST_WINDOWS_SIGN_PKCS12")
            && stderr.contains("CARGO_DIST_WINDOWS_SIGN_PASSWORD"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "the password is not shown: {stderr}"
    );
    assert!(!fx.root().join("target/distrib").exists());
}

pub(crate) const MACOS: &str = "x86_64-apple-darwin";

/// A small macOS program: clang's object linked by LLVM's ld64.lld (no SDK needed).
pub(crate) fn macho_program(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let (obj, exe) = (dir.join("main.o"), dir.join("program"));
    run_ok(
        Command::new("clang")
            .args(["-target", "x86_64-apple-macos11", "-c", "-o"])
            .arg(&obj)
            .arg(dir.join("main.c")),
    );
    let lld = ["ld64.lld", "ld64.lld-14", "/usr/lib/llvm-14/bin/ld64.lld"]
        .into_iter()
        .find(|l| Command::new(l).arg("--version").output().is_ok())
        .expect("ld64.lld (Debian's lld, which .ci/run installs) must be installed");
    run_ok(
        Command::new(lld)
            .args([
                "-arch",
                "x86_64",
                "-platform_version",
                "macos",
                "11.0",
                "11.0",
            ])
            .args(["-e", "_main", "-o"])
            .arg(&exe)
            .arg(&obj),
    );
    exe
}

/// cargo-dist's macOS signing variables for the test identity, with no timestamp server.
pub(crate) fn codesign_env(ca: &TestCa) -> [(&'static str, String); 3] {
    use base64::Engine as _;
    let p12 = std::fs::read(&ca.p12).unwrap();
    [
        (
            "CODESIGN_CERTIFICATE",
            base64::engine::general_purpose::STANDARD.encode(p12),
        ),
        ("CODESIGN_CERTIFICATE_PASSWORD", PASSWORD.to_string()),
        ("CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL", "none".to_string()),
    ]
}

/// The rcodesign the tool installed (its tools directory, as `dist_command` runs it).
pub(crate) fn rcodesign() -> PathBuf {
    let tools = std::env::var_os("CARGO_DIST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/cargo-dist/tools")
        });
    tools.join("apple-codesign-0.29.0/bin/rcodesign")
}

/// `macos-sign`: the macOS runner's archive carries its program signed with the hardened
/// runtime from cargo-dist's `CODESIGN_*` identity; `rcodesign verify` accepts it; the same
/// inputs sign to the same bytes (no timestamp server).
#[test]
fn macos_binaries_are_signed_with_the_hardened_runtime() {
    let host = host_triple();
    let fx = dist_app(
        APP,
        "hi",
        &format!(
            "targets = [\"{host}\", \"{MACOS}\"]\ninstallers = [\"shell\"]\nmacos-sign = true\ninstall-updater = true\n"
        ),
    );
    let ca = test_ca(&fx.dir.path().join("ca"));
    let program = macho_program(&fx.dir.path().join("macho"));
    let stand_in = crate::artifacts::runner_stand_in(fx.dir.path(), &[], Some(&program), "");
    let env = codesign_env(&ca);
    let build = |root: &Path, store: &Path| {
        let mut cmd = crate::artifacts::runner(root, store, &stand_in, MACOS, &[]);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        run_ok(&mut cmd);
        let unpacked = root.join("unpacked");
        let archive = root
            .join("target/distrib")
            .join(crate::support::archive_name(APP, MACOS));
        crate::support::untar(&archive, &unpacked, &["-xJf"]);
        unpacked.join(format!("{APP}-{MACOS}")).join(APP)
    };
    let signed = build(fx.root(), &fx.store());
    assert_ne!(
        std::fs::read(&signed).unwrap(),
        std::fs::read(&program).unwrap()
    );
    let verify = run_ok(Command::new(rcodesign()).arg("verify").arg(&signed));
    assert!(
        String::from_utf8_lossy(&verify.stderr).contains("no problems detected"),
        "{verify:?}"
    );
    let info = run_ok(
        Command::new(rcodesign())
            .arg("print-signature-info")
            .arg(&signed),
    );
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("RUNTIME"), "no hardened runtime: {info}");
    assert!(info.contains("dist-test-signer"), "{info}");
    // The updater the shell installer installs is signed the same way.
    let updater = fx
        .root()
        .join(format!("target/distrib/{APP}-{MACOS}-update"));
    let verify = run_ok(Command::new(rcodesign()).arg("verify").arg(&updater));
    assert!(String::from_utf8_lossy(&verify.stderr).contains("no problems detected"));
    assert_no_secret(&fx.store(), PASSWORD);

    let other = fx.dir.path().join("copy");
    crate::support::copy_workspace(fx.root(), &other);
    let again = build(&other, &fx.dir.path().join("store2"));
    assert_eq!(
        std::fs::read(&signed).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // Unsigned (no identity): `compare` finds the archive the same once the signature is
    // removed (both programs re-signed ad hoc).
    let unsigned = fx.dir.path().join("unsigned");
    crate::support::copy_workspace(fx.root(), &unsigned);
    let mut cmd = crate::artifacts::runner(
        &unsigned,
        &fx.dir.path().join("store3"),
        &stand_in,
        MACOS,
        &[],
    );
    let stderr = String::from_utf8_lossy(&run_ok(&mut cmd).stderr).into_owned();
    assert_eq!(
        stderr.matches("macOS binaries are unsigned").count(),
        1,
        "{stderr}"
    );
    let verdicts = crate::support::compare_verdicts(
        &fx,
        &fx.root().join("target/distrib/dist-manifest.json"),
        &unsigned.join("target/distrib/dist-manifest.json"),
    );
    let archive = crate::support::archive_name(APP, MACOS);
    assert_eq!(
        verdicts.get(&archive).map(String::as_str),
        Some("signature-differs"),
        "{verdicts:?}"
    );
}

/// The workflow gives the signing secrets to the jobs that sign (the build jobs and the global
/// job, which signs MSIs and the PowerShell installer) as env from `secrets.*`, never in a
/// script, installs osslsigncode where Windows files are signed, and passes actionlint.
#[test]
fn the_workflow_passes_signing_secrets_to_the_signing_jobs() {
    let fx = dist_app(
        APP,
        "hi",
        &format!("ci = \"github\"\ntargets = [\"{WINDOWS}\", \"{MACOS}\"]\ninstallers = [\"powershell\"]\nwindows-sign = true\nmacos-sign = true\n"),
    );
    fx.ok(&["generate"]);
    crate::ci::actionlint(&fx, "signing");
    let w = crate::ci::workflow_yaml(&fx);
    let env = |job: &str, var: &str| w["jobs"][job]["env"][var].as_str().map(str::to_string);
    for job in ["build-local-artifacts", "build-global-artifacts"] {
        assert_eq!(
            env(job, "CARGO_DIST_WINDOWS_SIGN_PKCS12").as_deref(),
            Some("${{ secrets.CARGO_DIST_WINDOWS_SIGN_PKCS12 }}"),
            "{job}"
        );
        assert_eq!(
            env(job, "CARGO_DIST_WINDOWS_SIGN_PASSWORD").as_deref(),
            Some("${{ secrets.CARGO_DIST_WINDOWS_SIGN_PASSWORD }}"),
            "{job}"
        );
    }
    assert_eq!(
        env("build-local-artifacts", "CODESIGN_CERTIFICATE").as_deref(),
        Some("${{ secrets.CODESIGN_CERTIFICATE }}")
    );
    assert_eq!(
        env("build-local-artifacts", "CARGO_DIST_MACOS_NOTARY_KEY").as_deref(),
        Some("${{ secrets.CARGO_DIST_MACOS_NOTARY_KEY }}")
    );
    // SSL.com's secrets only with `ssldotcom-windows-sign`.
    assert!(!format!("{w:?}").contains("SSLDOTCOM"));
    // Only the jobs that sign see the secrets.
    for job in ["plan", "host", "announce"] {
        let job_env = format!("{:?}", w["jobs"][job]["env"]);
        assert!(!job_env.contains("SIGN"), "{job}: {job_env}");
    }
    let text = std::fs::read_to_string(fx.root().join(".github/workflows/release.yml")).unwrap();
    for step in w["jobs"]["build-local-artifacts"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .chain(
            w["jobs"]["build-global-artifacts"]["steps"]
                .as_vec()
                .unwrap(),
        )
    {
        let run = step["run"].as_str().unwrap_or_default();
        assert!(!run.contains("secrets."), "a secret in a script: {run}");
    }
    assert!(
        text.contains("mingw-w64-ucrt-x86_64-osslsigncode"),
        "{text}"
    );
    assert!(
        text.contains("sudo apt-get install -y osslsigncode"),
        "{text}"
    );
}

/// A timestamp authority on 127.0.0.1 (`tsa.py`: `openssl ts -reply` with a TSA certificate
/// the test CA issues), stopped when dropped.
pub(crate) struct Tsa {
    port: u16,
    child: std::process::Child,
}

impl Tsa {
    pub(crate) fn start(dir: &Path, ca: &TestCa) -> Tsa {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(&ca.ca, dir.join("ca.pem")).unwrap();
        std::fs::copy(ca.ca.with_file_name("ca.key"), dir.join("ca.key")).unwrap();
        openssl_line(
            dir,
            "req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj /CN=dist-test-TSA",
        );
        std::fs::write(
            dir.join("tsa-ext.cnf"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
        )
        .unwrap();
        openssl_line(dir, "x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 365 -extfile tsa-ext.cnf");
        std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
        std::fs::write(
            dir.join("tsa.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = $dir/tsaserial\ncrypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        )
        .unwrap();
        let port = crate::support::servers::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/support/tsa.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .arg(port.to_string())
            .spawn()
            .expect("python3 is needed (`.ci/run` installs it)");
        crate::support::servers::wait_for_port(
            port,
            "the timestamp authority (tsa.py)",
            &mut child,
        );
        Tsa { port, child }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With a timestamp server every signature differs (the server's answer holds its time and a
/// serial): the same keys give other bytes, which `build --rebuild` accepts and `compare` calls
/// `reproduced (signature differs)`, as the files are the same with their signatures removed.
#[test]
fn timestamped_signatures_differ_and_rebuild_and_compare_see_through_them() {
    let fx = signed_app();
    let ca = test_ca(&fx.dir.path().join("ca"));
    let tsa = Tsa::start(&fx.dir.path().join("tsa"), &ca);
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let mut env = p12_env(&ca);
    env.push(("CARGO_DIST_WINDOWS_SIGN_TIMESTAMP_URL".into(), tsa.url()));
    let windows = |root: &Path, store: &Path, args: &[&str]| {
        let mut cmd = windows_runner(root, store, &stand_in, args);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        run_ok(&mut cmd)
    };
    windows(fx.root(), &fx.store(), &[]);
    let zip_name = format!("{APP}-{WINDOWS}.zip");
    let exe = unzip(
        &fx.root().join("target/distrib").join(&zip_name),
        &format!("{APP}.exe"),
        &fx.dir.path().join("unpacked"),
    );
    let (ok, said) = verify(&exe, &ca);
    assert!(
        ok && said.contains("dist-test-TSA"),
        "not timestamped by the test TSA:\n{said}"
    );
    // The same inputs re-signed: other bytes, which --rebuild accepts.
    windows(fx.root(), &fx.store(), &["--rebuild"]);

    let other = fx.dir.path().join("copy");
    crate::support::copy_workspace(fx.root(), &other);
    windows(&other, &fx.dir.path().join("store2"), &[]);
    let (a, b) = (
        fx.root().join("target/distrib"),
        other.join("target/distrib"),
    );
    assert_ne!(
        std::fs::read(a.join(&zip_name)).unwrap(),
        std::fs::read(b.join(&zip_name)).unwrap(),
        "two timestamps cannot be the same bytes"
    );
    let verdicts = crate::support::compare_verdicts(
        &fx,
        &a.join("dist-manifest.json"),
        &b.join("dist-manifest.json"),
    );
    assert_eq!(
        verdicts.get(&zip_name).map(String::as_str),
        Some("signature-differs"),
        "{verdicts:?}"
    );
}

/// `install-updater`: the Windows updater (axoupdater's program, which the PowerShell
/// installer installs) is signed too, and the installer embeds the signed file's checksum.
#[test]
fn the_windows_updater_is_signed_and_the_installer_covers_the_signed_bytes() {
    let fx = dist_app(
        APP,
        "hi",
        &format!("targets = [\"{WINDOWS}\"]\ninstallers = [\"powershell\"]\ninstall-updater = true\nwindows-sign = true\n"),
    );
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let env = p12_env(&ca);
    run_ok(
        windows_runner(fx.root(), &fx.store(), &stand_in, &[])
            .envs(env.iter().map(|(k, v)| (k, v))),
    );
    let mut global = dist_command(fx.root(), &fx.store(), &["build", "--artifacts=global"]);
    run_ok(global.envs(env.iter().map(|(k, v)| (k, v))));
    let dist = fx.root().join("target/distrib");
    let updater = dist.join(format!("{APP}-{WINDOWS}-update"));
    assert_signed(&updater, &ca);
    let installer = std::fs::read_to_string(dist.join(format!("{APP}-installer.ps1"))).unwrap();
    assert!(
        installer.contains(&sha256_hex(&updater)),
        "the installer does not sum the signed updater"
    );
    assert_signed(&dist.join(format!("{APP}-installer.ps1")), &ca);
}

/// A committed, tagged App for the host and Windows with both installers and Windows signing,
/// released as CI does (host, Windows stand-in, global) with a PKCS#12 key, then written whole
/// by one `build --artifacts=all` from the store: the release's files by name, and the CA.
fn signed_release() -> (Fixture, TestCa, std::collections::BTreeMap<String, Vec<u8>>) {
    let host = host_triple();
    let fx = dist_app(
        APP,
        "hi",
        &format!("targets = [\"{host}\", \"{WINDOWS}\"]\ninstallers = [\"shell\", \"powershell\"]\nwindows-sign = true\n"),
    );
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "release"],
        &["tag", "v0.1.0"],
    ] {
        crate::support::git(fx.root(), args);
    }
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let env = p12_env(&ca);
    let store = fx.dir.path().join("release-store");
    build_windows_release(fx.root(), &store, &stand_in, &env);
    // Everything is in the store now: one build writes the whole release and its manifest.
    let mut all = dist_command(fx.root(), &store, &["build", "--artifacts=all"]);
    run_ok(all.envs(env.iter().map(|(k, v)| (k, v))));
    let files = crate::support::distrib_files(fx.root());
    (fx, ca, files)
}

/// `verify` of `files` served on 127.0.0.1, from a fresh clone at the tag with an empty store,
/// no signing key and no crate network: its exit code, verdicts by name, and stderr.
fn verify_release(
    fx: &Fixture,
    files: std::collections::BTreeMap<String, Vec<u8>>,
    at: &str,
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, String>,
    String,
) {
    let server = crate::support::Server::start(crate::support::routes_of(files), 100);
    let clone = fx.dir.path().join(at);
    run_ok(
        Command::new("git")
            .args(["clone", "-q"])
            .arg(fx.root())
            .arg(&clone),
    );
    crate::support::git(&clone, &["checkout", "-q", "v0.1.0"]);
    let (out, report) = crate::verify::verify_args(
        &clone,
        &["verify", "--release", &server.base_url(), "-o", "json"],
    );
    let verdicts = crate::verify::verdicts(&report);
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), verdicts, format!("{report:#}\n{stderr}"))
}

/// `verify` of a signed release, with no signing key: its rebuild signs as the release was
/// signed (the signer read from the release's manifest, so every key is the release's) and
/// takes each signed file of the release once its payload is the rebuilt file, so the
/// PowerShell installer, the shell installer and `sha256.sum`, which cover the signed Windows
/// archive, are reproduced. A PowerShell installer altered and signed again with the same
/// key (checksums in the manifest rewritten to match) is not taken.
#[test]
fn verify_takes_the_release_signatures_once_their_payloads_match() {
    let host = host_triple();
    let (fx, ca, files) = signed_release();
    let (code, verdicts, said) = verify_release(&fx, files.clone(), "clone");
    assert_eq!(code, Some(0), "{said}");
    for name in [
        format!("{APP}-installer.ps1"),
        format!("{APP}-installer.sh"),
        "sha256.sum".into(),
        crate::support::archive_name(APP, &host),
    ] {
        assert_eq!(
            verdicts.get(&name).map(String::as_str),
            Some("reproduced"),
            "{name}: {said}"
        );
    }
    assert_eq!(
        verdicts[&format!("{APP}-{WINDOWS}.zip")],
        "not-rebuilt",
        "{said}"
    );
    assert!(said.contains("the release is signed"), "{said}");

    let ps1 = format!("{APP}-installer.ps1");
    let tampered = resigned(&files[&ps1], &ca, "Write-Output 'also this'\r\n");
    let mut files = files;
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&files["dist-manifest.json"]).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("f"), &tampered).unwrap();
    manifest["artifacts"][&ps1]["checksums"]["sha256"] =
        sha256_hex(&scratch.path().join("f")).into();
    manifest["artifacts"][&ps1]["recipe"]["blake3"] =
        blake3::hash(&tampered).to_hex().to_string().into();
    files.insert(
        "dist-manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    files.insert(ps1.clone(), tampered);
    let (code, verdicts, said) = verify_release(&fx, files, "clone-tampered");
    assert_eq!(code, Some(1), "{said}");
    assert_ne!(verdicts[&ps1], "reproduced", "{said}");
    assert!(
        said.contains("not this rebuild's file with a signature"),
        "{said}"
    );
}

/// `signed` (a PowerShell script) with `extra` appended, signed again with the test key.
fn resigned(signed: &[u8], ca: &TestCa, extra: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.ps1"),
        dir.path().join("b.ps1"),
        dir.path().join("c.ps1"),
    );
    std::fs::write(&a, signed).unwrap();
    run_ok(
        Command::new("osslsigncode")
            .arg("remove-signature")
            .arg("-in")
            .arg(&a)
            .arg("-out")
            .arg(&b),
    );
    let mut text = std::fs::read(&b).unwrap();
    text.extend_from_slice(extra.as_bytes());
    std::fs::write(&b, text).unwrap();
    run_ok(
        Command::new("osslsigncode")
            .args(["sign", "-pkcs12"])
            .arg(&ca.p12)
            .args(["-pass", PASSWORD, "-h", "sha256", "-in"])
            .arg(&b)
            .arg("-out")
            .arg(&c),
    );
    std::fs::read(&c).unwrap()
}

/// An osslsigncode older than 2.8 (what older Linux distributions ship) cannot sign PowerShell
/// scripts: the global build says so, naming `OSSLSIGNCODE`, before any unsigned installer is
/// released. (The stand-in reports 2.2 and runs the real osslsigncode otherwise.)
#[test]
fn an_osslsigncode_too_old_for_powershell_scripts_is_named() {
    let fx = dist_app(
        APP,
        "hi",
        &format!("targets = [\"{WINDOWS}\"]\ninstallers = [\"powershell\"]\nwindows-sign = true\n"),
    );
    let ca = test_ca(&fx.dir.path().join("ca"));
    let pe = mingw_program(&fx.dir.path().join("pe"));
    let stand_in = windows_runner_stand_in(fx.dir.path(), &[], Some(&pe));
    let old = fx.dir.path().join("osslsigncode-2.2");
    std::fs::write(
        &old,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'osslsigncode 2.2, using:'; exit 0; fi\nexec osslsigncode \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = |cmd: &mut Command| {
        cmd.envs(p12_env(&ca)).env("OSSLSIGNCODE", &old);
    };
    let mut windows = windows_runner(fx.root(), &fx.store(), &stand_in, &[]);
    env(&mut windows);
    run_ok(&mut windows);
    let mut global = dist_command(fx.root(), &fx.store(), &["build", "--artifacts=global"]);
    env(&mut global);
    let out = global.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("osslsigncode 2.2 cannot sign PowerShell scripts")
            && stderr.contains("OSSLSIGNCODE"),
        "{stderr}"
    );
    let ps1 = fx
        .root()
        .join(format!("target/distrib/{APP}-installer.ps1"));
    assert!(!ps1.exists(), "the installer was released unsigned");
}
