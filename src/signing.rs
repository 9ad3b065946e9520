//! Windows code signing: Authenticode signatures made by osslsigncode, from a PKCS#12 file or a
//! PKCS#11 token the environment names.
//!
//! A signed file is a recipe of its own ([`dist_recipes::recipe::Sign`]) that everything
//! shipping the file consumes, so archives, MSIs, installers and checksums all cover the signed
//! bytes. Its key names the signer by what decides the signature's bytes: the certificate's
//! fingerprint, osslsigncode's version and the options; never the private key, its password or
//! PIN, which are read from the environment again when the recipe runs.
//!
//! Without a timestamp server a signature is reproducible: osslsigncode's signatures are RSA
//! PKCS#1 v1.5 (deterministic) and the signing time is pinned to the archives' fixed time. With
//! one, the server's answer differs each time; `compare` and `build --rebuild` then compare the
//! files with their signatures removed ([`strip`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use dist_recipes::archive::{ChecksumStyle, FIXED_MTIME};
use dist_recipes::recipe::Signer;

use crate::config::GlobalConfig;

/// The base64 of a PKCS#12 file holding the certificate (and its chain) and the private key.
pub const PKCS12: &str = "CARGO_DIST_WINDOWS_SIGN_PKCS12";
/// ... or the path of that file.
pub const PKCS12_FILE: &str = "CARGO_DIST_WINDOWS_SIGN_PKCS12_FILE";
/// The PKCS#12 file's password.
pub const PASSWORD: &str = "CARGO_DIST_WINDOWS_SIGN_PASSWORD";
/// A PKCS#11 module (`.so`): a token, an HSM, a cloud key's adapter.
pub const PKCS11_MODULE: &str = "CARGO_DIST_WINDOWS_SIGN_PKCS11_MODULE";
/// The key's PKCS#11 URI (`pkcs11:token=...;object=...`).
pub const PKCS11_KEY: &str = "CARGO_DIST_WINDOWS_SIGN_PKCS11_KEY";
/// The token's user PIN.
pub const PKCS11_PIN: &str = "CARGO_DIST_WINDOWS_SIGN_PKCS11_PIN";
/// With a PKCS#11 key: the PEM file of its certificate (and chain).
pub const CERTIFICATE: &str = "CARGO_DIST_WINDOWS_SIGN_CERTIFICATE";
/// An RFC 3161 timestamp server (the signatures then outlive the certificate).
pub const TIMESTAMP_URL: &str = "CARGO_DIST_WINDOWS_SIGN_TIMESTAMP_URL";
/// SSL.com's RFC 3161 server: `ssldotcom-windows-sign`'s default.
pub const SSLDOTCOM_TIMESTAMP_URL: &str = "http://ts.ssl.com";

/// The Windows files osslsigncode signs, by extension: programs and libraries (PE), MSIs,
/// PowerShell scripts.
pub fn is_signable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".exe", ".dll", ".msi", ".ps1"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{var}: {problem}\n  {fix}")]
    Setting {
        var: &'static str,
        problem: String,
        fix: &'static str,
    },
    #[error("Windows signing is on (`windows-sign` or `ssldotcom-windows-sign`) and a key is set, but {tool} could not be run: {reason}\n  install it: `sudo apt-get install osslsigncode openssl` (Debian/Ubuntu; and libengine-pkcs11-openssl for a PKCS#11 key), `brew install osslsigncode` (macOS)")]
    ToolMissing { tool: &'static str, reason: String },
    #[error("signing {file} failed: {message}")]
    Failed { file: String, message: String },
    #[error("{file} is to be signed, but no Windows signing key is set ({PKCS12}, {PKCS12_FILE} or {PKCS11_MODULE}): it was planned with certificate {planned}\n  set the key's variables as when it was planned, or build without them to make unsigned files")]
    NoKey { file: String, planned: String },
    #[error("{file} was planned with certificate {planned}, but the key the environment names has certificate {found}: the variables changed between planning and building\n  run the build again")]
    Changed {
        file: String,
        planned: String,
        found: String,
    },
}

fn setting(var: &'static str, problem: String, fix: &'static str) -> SignError {
    SignError::Setting { var, problem, fix }
}

/// Where the private key is. Holds secrets: never printed, never hashed.
pub enum WindowsKey {
    Pkcs12 {
        p12: Vec<u8>,
        password: String,
    },
    Pkcs11 {
        module: String,
        key: String,
        pin: Option<String>,
        certificates: PathBuf,
    },
}

impl std::fmt::Debug for WindowsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.source())
    }
}

/// The key the environment names; `None` when none is set (builds are then unsigned).
pub fn windows_key(vars: &BTreeMap<String, String>) -> Result<Option<WindowsKey>, SignError> {
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let password = vars.get(PASSWORD).cloned().unwrap_or_default();
    if let Some(b64) = get(PKCS12) {
        let compact: String = b64.split_whitespace().collect();
        let p12 = BASE64.decode(compact).map_err(|e| {
            setting(
                PKCS12,
                format!("is not base64 ({e})"),
                "set it to the base64 of the .p12 file (`base64 -w0 signing.p12`), or name the file with CARGO_DIST_WINDOWS_SIGN_PKCS12_FILE",
            )
        })?;
        return Ok(Some(WindowsKey::Pkcs12 { p12, password }));
    }
    if let Some(path) = get(PKCS12_FILE) {
        let p12 = std::fs::read(path).map_err(|e| {
            setting(
                PKCS12_FILE,
                format!("cannot read {path}: {e}"),
                "name a readable PKCS#12 (.p12/.pfx) file",
            )
        })?;
        return Ok(Some(WindowsKey::Pkcs12 { p12, password }));
    }
    let Some(module) = get(PKCS11_MODULE) else {
        return Ok(None);
    };
    let key = get(PKCS11_KEY).ok_or_else(|| {
        setting(
            PKCS11_KEY,
            format!("is not set, and {PKCS11_MODULE} is"),
            "set it to the key's PKCS#11 URI, e.g. `pkcs11:token=release;object=signer`",
        )
    })?;
    let certificates = get(CERTIFICATE).ok_or_else(|| {
        setting(
            CERTIFICATE,
            format!("is not set, and {PKCS11_MODULE} is"),
            "set it to the PEM file of the key's certificate (its chain after it)",
        )
    })?;
    Ok(Some(WindowsKey::Pkcs11 {
        module: module.to_string(),
        key: key.to_string(),
        pin: get(PKCS11_PIN).map(str::to_string),
        certificates: PathBuf::from(certificates),
    }))
}

/// The signer recipe keys name, when `cfg` asks for Windows signing and a key is set.
pub fn windows_signer(
    cfg: &GlobalConfig,
    vars: &BTreeMap<String, String>,
) -> Result<Option<Signer>, SignError> {
    if !cfg.windows_sign {
        return Ok(None);
    }
    let Some(key) = windows_key(vars)? else {
        return Ok(None);
    };
    let mut options = BTreeMap::from([
        ("digest".to_string(), "sha256".to_string()),
        ("key-source".to_string(), key.source().to_string()),
        ("signing-time".to_string(), FIXED_MTIME.to_string()),
    ]);
    let timestamp = vars
        .get(TIMESTAMP_URL)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| {
            cfg.ssldotcom_windows_sign
                .map(|_| SSLDOTCOM_TIMESTAMP_URL.to_string())
        });
    if let Some(url) = timestamp {
        options.insert("timestamp-url".into(), url);
    }
    Ok(Some(Signer {
        method: "authenticode".into(),
        certificate: key.fingerprint()?,
        tool: osslsigncode_version()?,
        options,
    }))
}

/// `osslsigncode 2.9`: the first words of `osslsigncode --version`.
fn osslsigncode_version() -> Result<String, SignError> {
    let out = Command::new("osslsigncode")
        .arg("--version")
        .output()
        .map_err(|e| SignError::ToolMissing {
            tool: "osslsigncode",
            reason: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    Ok(first.split(',').next().unwrap_or(first).trim().to_string())
}

impl WindowsKey {
    fn source(&self) -> &'static str {
        match self {
            WindowsKey::Pkcs12 { .. } => "pkcs12",
            WindowsKey::Pkcs11 { .. } => "pkcs11",
        }
    }

    /// SHA-256 (hex) of the signing certificate's DER.
    pub fn fingerprint(&self) -> Result<String, SignError> {
        let pem = match self {
            WindowsKey::Pkcs12 { p12, password } => pkcs12_certificate(p12, password)?,
            WindowsKey::Pkcs11 { certificates, .. } => std::fs::read_to_string(certificates)
                .map_err(|e| {
                    setting(
                        CERTIFICATE,
                        format!("cannot read {}: {e}", certificates.display()),
                        "name the PEM file of the key's certificate",
                    )
                })?,
        };
        let der = first_pem_certificate(&pem).ok_or_else(|| {
            let var = match self {
                WindowsKey::Pkcs12 { .. } => PKCS12,
                WindowsKey::Pkcs11 { .. } => CERTIFICATE,
            };
            setting(
                var,
                "holds no PEM certificate".into(),
                "give the signing certificate (-----BEGIN CERTIFICATE-----)",
            )
        })?;
        Ok(ChecksumStyle::Sha256.digest_hex(&der))
    }
}

/// The leaf certificate of a PKCS#12 file, as PEM (openssl; `-legacy` for the RC2/3DES files
/// older tools export).
fn pkcs12_certificate(p12: &[u8], password: &str) -> Result<String, SignError> {
    let dir = tempfile::tempdir().map_err(|e| setting(PKCS12, e.to_string(), "check TMPDIR"))?;
    let file = dir.path().join("key.p12");
    write_private(&file, p12).map_err(|e| setting(PKCS12, e.to_string(), "check TMPDIR"))?;
    let mut last = String::new();
    for legacy in [false, true] {
        let mut cmd = Command::new("openssl");
        cmd.args([
            "pkcs12",
            "-nokeys",
            "-clcerts",
            "-passin",
            "env:DIST_P12_PASSWORD",
        ])
        .arg("-in")
        .arg(&file)
        .env("DIST_P12_PASSWORD", password);
        if legacy {
            cmd.arg("-legacy");
        }
        let out = cmd.output().map_err(|e| SignError::ToolMissing {
            tool: "openssl",
            reason: e.to_string(),
        })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        last = String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
    }
    Err(setting(
        PKCS12,
        format!("openssl cannot read it with the password in {PASSWORD}: {last}"),
        "check the password, and that the file is a PKCS#12 holding the certificate and its private key",
    ))
}

/// The DER of the first `CERTIFICATE` block of `pem`.
fn first_pem_certificate(pem: &str) -> Option<Vec<u8>> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin)? + begin.len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let body: String = pem[start..end].split_whitespace().collect();
    BASE64.decode(body).ok()
}

/// Writes a secret readable by its owner alone.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(bytes)
}

/// Signs `input` into `output` as `signer` says, with `key`; `scratch` (an empty directory of
/// the recipe's own) holds the key's files while osslsigncode runs, and is emptied after.
pub fn sign(
    signer: &Signer,
    key: &WindowsKey,
    input: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<(), SignError> {
    let file = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let failed = |message: String| SignError::Failed {
        file: file.clone(),
        message,
    };
    let secret = |name: &str, bytes: &[u8]| -> Result<PathBuf, SignError> {
        let path = scratch.join(name);
        write_private(&path, bytes).map_err(|e| failed(format!("writing the key: {e}")))?;
        Ok(path)
    };
    let mut cmd = Command::new("osslsigncode");
    cmd.arg("sign");
    match key {
        WindowsKey::Pkcs12 { p12, password } => {
            cmd.arg("-pkcs12").arg(secret("key.p12", p12)?);
            cmd.arg("-readpass")
                .arg(secret("pass", password.as_bytes())?);
        }
        WindowsKey::Pkcs11 {
            module,
            key,
            pin,
            certificates,
        } => {
            cmd.args(["-pkcs11module", module, "-key", key])
                .arg("-certs")
                .arg(certificates);
            if let Some(pin) = pin {
                cmd.arg("-readpass").arg(secret("pass", pin.as_bytes())?);
            }
        }
    }
    let opt = |k: &str| signer.options.get(k).map(String::as_str);
    cmd.args(["-h", opt("digest").unwrap_or("sha256")]);
    if let Some(time) = opt("signing-time") {
        cmd.args(["-time", time]);
    }
    if let Some(url) = opt("timestamp-url") {
        cmd.args(["-ts", url]);
    }
    cmd.arg("-in").arg(input).arg("-out").arg(output);
    let result = cmd.output();
    // The key's files go at once, whatever happened.
    for name in ["key.p12", "pass"] {
        let _ = std::fs::remove_file(scratch.join(name));
    }
    let out = result.map_err(|e| SignError::ToolMissing {
        tool: "osslsigncode",
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim();
        let said = if said.is_empty() {
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            said.to_string()
        };
        return Err(failed(format!("osslsigncode: {said}")));
    }
    Ok(())
}

/// `file` with its Authenticode signature removed, into `out`: `Ok(false)` when it has none
/// (or is no file osslsigncode reads).
pub fn strip(file: &Path, out: &Path) -> std::io::Result<bool> {
    let status = Command::new("osslsigncode")
        .arg("remove-signature")
        .arg("-in")
        .arg(file)
        .arg("-out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    Ok(status.success() && out.is_file())
}

/// The bytes of the Windows file `name` with its signature removed; `None` when it is no such
/// file or has no signature (or osslsigncode is not here to remove it).
pub fn strip_bytes(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    if !is_signable(name) {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    // osslsigncode tells the file's kind by its extension.
    let ext = name.rsplit('.').next().unwrap_or("exe");
    let (file, out) = (
        dir.path().join(format!("in.{ext}")),
        dir.path().join(format!("out.{ext}")),
    );
    std::fs::write(&file, bytes).ok()?;
    match strip(&file, &out) {
        Ok(true) => std::fs::read(out).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_windows_files_are_signable() {
        for name in [
            "app.exe",
            "APP.EXE",
            "lib.dll",
            "app.msi",
            "app-installer.ps1",
        ] {
            assert!(is_signable(name), "{name}");
        }
        for name in [
            "app",
            "libapp.so",
            "app.lib",
            "app-installer.sh",
            "app.exe.sha256",
        ] {
            assert!(!is_signable(name), "{name}");
        }
    }

    #[test]
    fn the_first_certificate_of_a_pem_is_read() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(first_pem_certificate(pem), Some(vec![0, 1, 2, 3]));
        assert_eq!(first_pem_certificate("no certificate"), None);
    }

    #[test]
    fn no_key_variables_mean_unsigned_and_half_a_pkcs11_setting_is_named() {
        let mut vars = BTreeMap::new();
        assert!(windows_key(&vars).unwrap().is_none());
        vars.insert(
            PKCS11_MODULE.to_string(),
            "/usr/lib/softhsm/libsofthsm2.so".to_string(),
        );
        let err = windows_key(&vars).unwrap_err().to_string();
        assert!(err.contains(PKCS11_KEY), "{err}");
        vars.insert(PKCS12.to_string(), "not base64!".to_string());
        let err = windows_key(&vars).unwrap_err().to_string();
        assert!(
            err.starts_with(PKCS12) && err.contains("base64 -w0"),
            "{err}"
        );
    }
}
