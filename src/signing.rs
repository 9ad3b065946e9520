//! Code signing: Windows Authenticode signatures made by osslsigncode, from a PKCS#12 file or a
//! PKCS#11 token the environment names, and Apple code signatures with the hardened runtime made
//! by rcodesign (apple-codesign, pinned and installed like cargo-auditable) from a PKCS#12
//! identity in cargo-dist's `CODESIGN_*` variables.
//!
//! A signed file is a recipe of its own ([`dist_recipes::recipe::Sign`]) that everything
//! shipping the file consumes, so archives, MSIs, installers and checksums all cover the signed
//! bytes. Its key names the signer by what decides the signature's bytes: the certificate's
//! fingerprint, the tool's version and the options; never the private key, its password or
//! PIN, which are read from the environment again when the recipe runs.
//!
//! Without a timestamp server a signature is reproducible: both tools' RSA signatures are
//! PKCS#1 v1.5 (deterministic) and the signing time is pinned to the archives' fixed time. With
//! one, the server's answer differs each time; `compare`, `verify` and `build --rebuild` then
//! compare payloads ([`strip_bytes`]: Windows files without their signature, Mach-O files
//! re-signed ad hoc).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use dist_recipes::archive::{ChecksumStyle, FIXED_MTIME};
use dist_recipes::recipe::Signer;

use crate::config::{GlobalConfig, SslComEnvironment};

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

/// cargo-dist's macOS variables: the base64 of a PKCS#12 identity and its password. (Its
/// `CODESIGN_IDENTITY` names a keychain identity; rcodesign takes the one in the PKCS#12.)
pub const CODESIGN_CERTIFICATE: &str = "CODESIGN_CERTIFICATE";
pub const CODESIGN_CERTIFICATE_PASSWORD: &str = "CODESIGN_CERTIFICATE_PASSWORD";
/// The timestamp server of Apple signatures (`none` for none): Apple's by default, which
/// notarization requires.
pub const MACOS_TIMESTAMP_URL: &str = "CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL";
pub const APPLE_TIMESTAMP_URL: &str = "http://timestamp.apple.com/ts01";
/// The signer option of an Apple signer whose signed files are notarized after signing.
const NOTARIZE: &str = "notarize";

/// Whether `signer`'s files are submitted to Apple's notary service once signed.
pub fn notarizes(signer: &Signer) -> bool {
    signer.options.get(NOTARIZE).is_some_and(|v| v == "true")
}

/// The apple-codesign (`rcodesign`) macOS signatures are made with.
pub const APPLE_CODESIGN_VERSION: &str = "0.29.0";

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
    #[error("signing is on and a key is set, but {tool} could not be run: {reason}\n  Windows signing needs osslsigncode and openssl: `sudo apt-get install osslsigncode openssl` (Debian/Ubuntu; and libengine-pkcs11-openssl for a PKCS#11 key), `brew install osslsigncode` (macOS); macOS signing needs openssl, and installs its pinned rcodesign with cargo")]
    ToolMissing { tool: &'static str, reason: String },
    #[error("signing {file} failed: {message}")]
    Failed { file: String, message: String },
    #[error("{tool} cannot {what}: that takes osslsigncode 2.8 or newer (older Linux distributions ship older ones)\n  build 2.9 from https://github.com/mtrojnar/osslsigncode and name it with OSSLSIGNCODE (the generated workflow does this on Linux runners), or use MSYS2's or Homebrew's package")]
    OldTool { tool: String, what: &'static str },
    #[error("notarizing {file} failed: {message}")]
    Notary { file: String, message: String },
    #[error("{file} is to be signed, but no signing key is set (Windows: {PKCS12}, {PKCS12_FILE}, {PKCS11_MODULE} or SSL.com's SSLDOTCOM_USERNAME; macOS: {CODESIGN_CERTIFICATE}): it was planned with certificate {planned}\n  set the key's variables as when it was planned, or build without them to make unsigned files")]
    NoKey { file: String, planned: String },
    #[error("{file} was planned with certificate {planned}, but the key the environment names has certificate {found}: the variables changed between planning and building\n  run the build again")]
    Changed {
        file: String,
        planned: String,
        found: String,
    },
}

pub(crate) fn setting(var: &'static str, problem: String, fix: &'static str) -> SignError {
    SignError::Setting { var, problem, fix }
}

/// Where the private key is. Holds secrets: never printed, never hashed.
pub enum SigningKey {
    Pkcs12 {
        p12: Vec<u8>,
        password: String,
        /// The variables that gave the file and its password, for errors to name.
        vars: (&'static str, &'static str),
    },
    Pkcs11 {
        module: String,
        key: String,
        pin: Option<String>,
        certificates: PathBuf,
    },
    /// SSL.com's eSigner, from cargo-dist's `SSLDOTCOM_*` secrets.
    SslCom(crate::esigner::Account),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.source())
    }
}

/// The PKCS#12 file whose base64 `var` holds (line breaks allowed); `fix` says how to set it.
fn base64_p12(var: &'static str, b64: &str, fix: &'static str) -> Result<Vec<u8>, SignError> {
    let compact: String = b64.split_whitespace().collect();
    BASE64
        .decode(compact)
        .map_err(|e| setting(var, format!("is not base64 ({e})"), fix))
}

/// The Apple identity cargo-dist's variables name; `None` when none is set.
pub fn apple_key(vars: &BTreeMap<String, String>) -> Result<Option<SigningKey>, SignError> {
    let Some(b64) = vars
        .get(CODESIGN_CERTIFICATE)
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let p12 = base64_p12(
        CODESIGN_CERTIFICATE,
        b64,
        "set it to the base64 of the Developer ID identity exported as .p12 (`base64 -i identity.p12`)",
    )?;
    let password = vars
        .get(CODESIGN_CERTIFICATE_PASSWORD)
        .cloned()
        .unwrap_or_default();
    Ok(Some(SigningKey::Pkcs12 {
        p12,
        password,
        vars: (CODESIGN_CERTIFICATE, CODESIGN_CERTIFICATE_PASSWORD),
    }))
}

/// The signer of macOS binaries, when `macos-sign` is on and an identity is set.
pub fn apple_signer(
    cfg: &GlobalConfig,
    vars: &BTreeMap<String, String>,
) -> Result<Option<Signer>, SignError> {
    if !cfg.macos_sign {
        return Ok(None);
    }
    let Some(key) = apple_key(vars)? else {
        return Ok(None);
    };
    let timestamp = vars
        .get(MACOS_TIMESTAMP_URL)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or(APPLE_TIMESTAMP_URL);
    let mut options = BTreeMap::from([
        ("hardened-runtime".to_string(), "true".to_string()),
        ("key-source".to_string(), "pkcs12".to_string()),
        ("signing-time".to_string(), FIXED_MTIME.to_string()),
        ("timestamp-url".to_string(), timestamp.to_string()),
    ]);
    // Whether, not with which API key: any key of the team gets the same verdict.
    if crate::notary::notary_key(vars)?.is_some() {
        options.insert(NOTARIZE.into(), "true".into());
    }
    Ok(Some(Signer {
        method: "apple".into(),
        certificate: key.fingerprint()?,
        tool: format!("apple-codesign {APPLE_CODESIGN_VERSION}"),
        options,
    }))
}

/// The signer option naming SSL.com's environment, on signers whose key is eSigner's.
const SSLDOTCOM: &str = "ssldotcom";

/// The key the environment names for `signer`'s method.
pub fn key_for(
    signer: &Signer,
    vars: &BTreeMap<String, String>,
) -> Result<Option<SigningKey>, SignError> {
    use dist_recipes::vocab::Vocabulary as _;
    match signer.method.as_str() {
        "apple" => apple_key(vars),
        _ => {
            let ssldotcom = signer.options.get(SSLDOTCOM);
            windows_key(ssldotcom.and_then(|w| SslComEnvironment::parse(w)), vars)
        }
    }
}

/// The key the environment names; `None` when none is set (builds are then unsigned). This
/// tool's own variables first; then, with `ssldotcom-windows-sign` (`ssldotcom`), cargo-dist's
/// `SSLDOTCOM_*` secrets for SSL.com's eSigner.
pub fn windows_key(
    ssldotcom: Option<SslComEnvironment>,
    vars: &BTreeMap<String, String>,
) -> Result<Option<SigningKey>, SignError> {
    if let Some(key) = own_windows_key(vars)? {
        return Ok(Some(key));
    }
    match ssldotcom {
        Some(env) => Ok(crate::esigner::account(env, vars)?.map(SigningKey::SslCom)),
        None => Ok(None),
    }
}

/// The key this tool's `CARGO_DIST_WINDOWS_SIGN_*` variables name.
fn own_windows_key(vars: &BTreeMap<String, String>) -> Result<Option<SigningKey>, SignError> {
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let password = vars.get(PASSWORD).cloned().unwrap_or_default();
    if let Some(b64) = get(PKCS12) {
        let p12 = base64_p12(
            PKCS12,
            b64,
            "set it to the base64 of the .p12 file (`base64 -w0 signing.p12`), or name the file with CARGO_DIST_WINDOWS_SIGN_PKCS12_FILE",
        )?;
        return Ok(Some(SigningKey::Pkcs12 {
            p12,
            password,
            vars: (PKCS12, PASSWORD),
        }));
    }
    if let Some(path) = get(PKCS12_FILE) {
        let p12 = std::fs::read(path).map_err(|e| {
            setting(
                PKCS12_FILE,
                format!("cannot read {path}: {e}"),
                "name a readable PKCS#12 (.p12/.pfx) file",
            )
        })?;
        return Ok(Some(SigningKey::Pkcs12 {
            p12,
            password,
            vars: (PKCS12_FILE, PASSWORD),
        }));
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
    Ok(Some(SigningKey::Pkcs11 {
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
    let Some(key) = windows_key(cfg.ssldotcom_windows_sign, vars)? else {
        return Ok(None);
    };
    let mut options = BTreeMap::from([
        ("digest".to_string(), "sha256".to_string()),
        ("key-source".to_string(), key.source().to_string()),
        ("signing-time".to_string(), FIXED_MTIME.to_string()),
    ]);
    if let (SigningKey::SslCom(_), Some(env)) = (&key, cfg.ssldotcom_windows_sign) {
        use dist_recipes::vocab::Vocabulary as _;
        options.insert(SSLDOTCOM.into(), env.name().to_string());
    }
    if let Some(url) = windows_timestamp(cfg.ssldotcom_windows_sign, vars) {
        options.insert("timestamp-url".into(), url);
    }
    Ok(Some(Signer {
        method: "authenticode".into(),
        certificate: key.fingerprint()?,
        tool: osslsigncode_version()?,
        options,
    }))
}

/// The timestamp server of Windows signatures: `CARGO_DIST_WINDOWS_SIGN_TIMESTAMP_URL`, else
/// SSL.com's for `ssldotcom-windows-sign = "prod"` (`"test"`, SSL.com's sandbox, whose
/// certificates nothing trusts, asks no server), else none.
fn windows_timestamp(
    ssldotcom: Option<SslComEnvironment>,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    let set = vars
        .get(TIMESTAMP_URL)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    set.or_else(|| {
        (ssldotcom == Some(SslComEnvironment::Prod)).then(|| SSLDOTCOM_TIMESTAMP_URL.to_string())
    })
}

/// `osslsigncode 2.9`: the first words of `osslsigncode --version`.
fn osslsigncode_version() -> Result<String, SignError> {
    let out = Command::new(crate::env::osslsigncode())
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

impl SigningKey {
    fn source(&self) -> &'static str {
        match self {
            SigningKey::Pkcs12 { .. } => "pkcs12",
            SigningKey::Pkcs11 { .. } => "pkcs11",
            SigningKey::SslCom(_) => "ssldotcom",
        }
    }

    /// SHA-256 (hex) of the signing certificate's DER.
    pub fn fingerprint(&self) -> Result<String, SignError> {
        let pem = match self {
            SigningKey::SslCom(account) => {
                let chain = account.chain()?;
                return Ok(ChecksumStyle::Sha256.digest_hex(&chain[0]));
            }
            SigningKey::Pkcs12 {
                p12,
                password,
                vars,
            } => pkcs12_pem(p12, password, false, *vars)?,
            SigningKey::Pkcs11 { certificates, .. } => std::fs::read_to_string(certificates)
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
                SigningKey::Pkcs12 { vars, .. } => vars.0,
                _ => CERTIFICATE,
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

/// A PKCS#12 file as PEM, by openssl (`-legacy` for the RC2/3DES files older tools export):
/// its leaf certificate, or with `with_key` everything, the private key unencrypted (kept in
/// memory and in owner-only files only).
fn pkcs12_pem(
    p12: &[u8],
    password: &str,
    with_key: bool,
    (var, password_var): (&'static str, &'static str),
) -> Result<String, SignError> {
    let dir = tempfile::tempdir().map_err(|e| setting(var, e.to_string(), "check TMPDIR"))?;
    let file = dir.path().join("key.p12");
    write_private(&file, p12).map_err(|e| setting(var, e.to_string(), "check TMPDIR"))?;
    let mut last = String::new();
    for legacy in [false, true] {
        let mut cmd = Command::new("openssl");
        cmd.arg("pkcs12");
        match with_key {
            true => cmd.arg("-nodes"),
            false => cmd.args(["-nokeys", "-clcerts"]),
        };
        cmd.args(["-passin", "env:DIST_P12_PASSWORD"])
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
        var,
        format!("openssl cannot read it with the password in {password_var}: {last}"),
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

/// The name of `path`, for errors to name.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
/// the recipe's own) holds the key's files while the tool runs, and is emptied after.
pub fn sign(
    signer: &Signer,
    key: &SigningKey,
    input: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<(), SignError> {
    match signer.method.as_str() {
        "apple" => sign_apple(signer, key, input, output, scratch),
        _ => sign_windows(signer, key, input, output, scratch),
    }
}

/// rcodesign's signing time: the archives' fixed time, as RFC 3339.
const APPLE_SIGNING_TIME: &str = "1980-01-01T00:00:00Z";

/// An Apple code signature with the hardened runtime, by rcodesign from the PKCS#12 identity
/// (opened by openssl, so any PKCS#12 encryption serves).
fn sign_apple(
    signer: &Signer,
    key: &SigningKey,
    input: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<(), SignError> {
    const _: () = assert!(FIXED_MTIME == 315_532_800);
    let file = file_name(input);
    let failed = |message: String| SignError::Failed {
        file: file.clone(),
        message,
    };
    let SigningKey::Pkcs12 {
        p12,
        password,
        vars,
    } = key
    else {
        return Err(failed("Apple signing takes a PKCS#12 identity".into()));
    };
    let pem = pkcs12_pem(p12, password, true, *vars)?;
    let identity = scratch.join("identity.pem");
    write_private(&identity, pem.as_bytes())
        .map_err(|e| failed(format!("writing the key: {e}")))?;
    let rcodesign = crate::execute::rcodesign().map_err(|e| SignError::ToolMissing {
        tool: "rcodesign",
        reason: e.to_string(),
    })?;
    let opt = |k: &str| signer.options.get(k).map(String::as_str);
    let mut cmd = Command::new(rcodesign);
    cmd.arg("sign").arg("--pem-file").arg(&identity);
    if opt("hardened-runtime") == Some("true") {
        cmd.args(["--code-signature-flags", "runtime"]);
    }
    cmd.args(["--signing-time", APPLE_SIGNING_TIME])
        .args(["--timestamp-url", opt("timestamp-url").unwrap_or("none")])
        .arg(input)
        .arg(output);
    let result = cmd.output();
    let _ = std::fs::remove_file(&identity);
    let out = result.map_err(|e| SignError::ToolMissing {
        tool: "rcodesign",
        reason: e.to_string(),
    })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(failed(format!("rcodesign: {said}")));
    }
    Ok(())
}

/// An Authenticode signature by osslsigncode.
fn sign_windows(
    signer: &Signer,
    key: &SigningKey,
    input: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<(), SignError> {
    let file = file_name(input);
    let failed = |message: String| SignError::Failed {
        file: file.clone(),
        message,
    };
    let secret = |name: &str, bytes: &[u8]| -> Result<PathBuf, SignError> {
        let path = scratch.join(name);
        write_private(&path, bytes).map_err(|e| failed(format!("writing the key: {e}")))?;
        Ok(path)
    };
    if file.to_ascii_lowercase().ends_with(".ps1") {
        osslsigncode_can(&signer.tool, "sign PowerShell scripts")?;
    }
    let mut cmd = Command::new(crate::env::osslsigncode());
    cmd.arg("sign");
    match key {
        SigningKey::Pkcs12 { p12, password, .. } => {
            cmd.arg("-pkcs12").arg(secret("key.p12", p12)?);
            cmd.arg("-readpass")
                .arg(secret("pass", password.as_bytes())?);
        }
        SigningKey::Pkcs11 {
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
        SigningKey::SslCom(account) => {
            return sign_with_esigner(signer, account, input, output, scratch)
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
    osslsigncode_done(result, &file)
}

/// An error unless `tool` (`osslsigncode 2.9`) is 2.8 or newer, the first that can `what`
/// (older Linux distributions ship 2.2 to 2.7).
fn osslsigncode_can(tool: &str, what: &'static str) -> Result<(), SignError> {
    let version = tool.strip_prefix("osslsigncode ").unwrap_or(tool);
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (2, 8) {
        return Ok(());
    }
    Err(SignError::OldTool {
        tool: tool.to_string(),
        what,
    })
}

/// osslsigncode's outcome: what it said when it failed.
fn osslsigncode_done(
    result: std::io::Result<std::process::Output>,
    file: &str,
) -> Result<(), SignError> {
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
        return Err(SignError::Failed {
            file: file.to_string(),
            message: format!("osslsigncode: {said}"),
        });
    }
    Ok(())
}

/// An Authenticode signature by SSL.com's eSigner: osslsigncode extracts what is to be signed,
/// eSigner signs the digest of its signed attributes, osslsigncode attaches the signature
/// ([`crate::authenticode`] builds it) and asks the timestamp server, if any.
fn sign_with_esigner(
    signer: &Signer,
    account: &crate::esigner::Account,
    input: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<(), SignError> {
    let file = file_name(input);
    osslsigncode_can(&signer.tool, "extract what eSigner signs (`extract-data`)")?;
    let failed = |what: &str, e: std::io::Error| SignError::Failed {
        file: file.clone(),
        message: format!("{what}: {e}"),
    };
    let opt = |k: &str| signer.options.get(k).map(String::as_str);
    // osslsigncode tells a file's kind by its extension: the scratch files keep the input's.
    let name = |stem: &str| scratch.join(format!("{stem}-{file}"));
    let (data, sig, trusted, attached) = (
        name("data"),
        name("sig"),
        name("chain.pem"),
        name("attached"),
    );
    let osslsigncode = |command: &str| {
        let mut cmd = Command::new(crate::env::osslsigncode());
        cmd.arg(command)
            .args(["-h", opt("digest").unwrap_or("sha256")]);
        cmd
    };
    let mut extract = osslsigncode("extract-data");
    extract.arg("-in").arg(input).arg("-out").arg(&data);
    osslsigncode_done(extract.output(), &file)?;
    let extracted =
        std::fs::read(&data).map_err(|e| failed("reading osslsigncode's extracted data", e))?;
    let chain = account.chain()?;
    let time = opt("signing-time").and_then(|t| t.parse().ok());
    let assembly = |message: String| SignError::Failed {
        file: file.clone(),
        message,
    };
    let prepared = crate::authenticode::prepare(&extracted, &chain, time.unwrap_or(FIXED_MTIME))
        .map_err(assembly)?;
    let value = account.sign_digest(&prepared.digest, &prepared.algorithm)?;
    let pkcs7 = prepared.finish(value).map_err(assembly)?;
    std::fs::write(&sig, pkcs7).map_err(|e| failed("writing the signature", e))?;
    // attach-signature verifies what it attaches: the credential's own chain is trusted for
    // that (whether a user's machine trusts it is the CA's business, not this build's).
    let pem = chain
        .iter()
        .map(|der| der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der))
        .collect::<Result<String, _>>()
        .map_err(|e| assembly(format!("the certificate chain as PEM: {e}")))?;
    std::fs::write(&trusted, pem).map_err(|e| failed("writing the certificate chain", e))?;
    let timestamp = opt("timestamp-url");
    let mut attach = osslsigncode("attach-signature");
    attach.arg("-CAfile").arg(&trusted).arg("-sigin").arg(&sig);
    attach
        .arg("-in")
        .arg(input)
        .arg("-out")
        .arg(if timestamp.is_some() {
            &attached
        } else {
            output
        });
    osslsigncode_done(attach.output(), &file)?;
    if let Some(url) = timestamp {
        let mut add = osslsigncode("add");
        add.args(["-ts", url])
            .arg("-in")
            .arg(&attached)
            .arg("-out")
            .arg(output);
        osslsigncode_done(add.output(), &file)?;
    }
    Ok(())
}

/// `file` with its Authenticode signature removed, into `out`: `Ok(false)` when it has none
/// (or is no file osslsigncode reads).
pub fn strip(file: &Path, out: &Path) -> std::io::Result<bool> {
    let status = Command::new(crate::env::osslsigncode())
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

/// `verify`'s signatures: the signers the release was signed with (read from its manifest),
/// planned with instead of the environment's, and where the release's signed files are:
/// `dir/<sign recipe key>/<output name>`. A signing recipe then takes the release's file in
/// place of signing, once its payload is the rebuilt unsigned file's ([`same_payload`]).
#[derive(Debug, Clone, Default)]
pub struct Adopted {
    pub windows: Option<Signer>,
    pub apple: Option<Signer>,
    pub dir: PathBuf,
}

/// Whether `signed` is `unsigned` with a code signature: `signed` without its Authenticode
/// signature is `unsigned`, or (Mach-O) both re-signed ad hoc are the same.
pub fn same_payload(name: &str, signed: &[u8], unsigned: &[u8]) -> bool {
    if is_macho(signed) {
        return matches!(
            (adhoc_macho(signed), adhoc_macho(unsigned)),
            (Some(a), Some(b)) if a == b
        );
    }
    strip_bytes(name, signed).is_some_and(|payload| payload == unsigned)
}

/// Whether `bytes` are a Mach-O file (thin, either byte order, or universal).
fn is_macho(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(
            [0xcf, 0xfa, 0xed, 0xfe]
                | [0xce, 0xfa, 0xed, 0xfe]
                | [0xfe, 0xed, 0xfa, 0xcf]
                | [0xfe, 0xed, 0xfa, 0xce]
                | [0xca, 0xfe, 0xba, 0xbe]
        )
    )
}

/// A signed file's payload, to compare two builds by: a Windows file (`name`'s extension) with
/// its Authenticode signature removed, a Mach-O re-signed ad hoc with the hardened runtime
/// (rcodesign cannot remove a signature; an ad-hoc one holds no certificate, time or
/// timestamp, so two builds of the same code get the same bytes whoever signed them). `None`
/// for other files, a Windows file without a signature, or when the tool is not here (a
/// Mach-O needs the rcodesign a `macos-sign` build installs).
pub fn strip_bytes(name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    if is_macho(bytes) {
        return adhoc_macho(bytes);
    }
    // A program without its extension (a Windows updater) is a PE all the same.
    let pe = bytes.starts_with(b"MZ");
    if !is_signable(name) && !pe {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    // osslsigncode tells a script's kind by its extension.
    let ext = match pe {
        true => "exe",
        false => name.rsplit('.').next().unwrap_or("exe"),
    };
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

/// `bytes` (a Mach-O) re-signed ad hoc with the hardened runtime, by an installed rcodesign.
fn adhoc_macho(bytes: &[u8]) -> Option<Vec<u8>> {
    let rcodesign = crate::execute::installed_rcodesign()?;
    let dir = tempfile::tempdir().ok()?;
    let (file, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::write(&file, bytes).ok()?;
    let status = Command::new(rcodesign)
        // One identifier for both sides: re-signing keeps a signed file's own, and an unsigned
        // one would get the temp file's name.
        .args(["sign", "--code-signature-flags", "runtime"])
        .args(["--binary-identifier", "payload"])
        .arg(&file)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(out).ok()).flatten()
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
    fn the_timestamp_server_is_the_variable_else_ssl_coms_in_production() {
        let mut vars = BTreeMap::new();
        assert_eq!(windows_timestamp(None, &vars), None);
        assert_eq!(
            windows_timestamp(Some(SslComEnvironment::Test), &vars),
            None
        );
        assert_eq!(
            windows_timestamp(Some(SslComEnvironment::Prod), &vars).as_deref(),
            Some(SSLDOTCOM_TIMESTAMP_URL)
        );
        vars.insert(
            TIMESTAMP_URL.to_string(),
            " http://127.0.0.1:1/ ".to_string(),
        );
        for env in [None, Some(SslComEnvironment::Prod)] {
            assert_eq!(
                windows_timestamp(env, &vars).as_deref(),
                Some("http://127.0.0.1:1/")
            );
        }
    }

    #[test]
    fn powershell_scripts_and_extract_data_need_osslsigncode_2_8() {
        for ok in [
            "osslsigncode 2.8",
            "osslsigncode 2.9",
            "osslsigncode 2.10",
            "osslsigncode 3.0",
        ] {
            assert!(osslsigncode_can(ok, "x").is_ok(), "{ok}");
        }
        for old in [
            "osslsigncode 2.2",
            "osslsigncode 2.7",
            "osslsigncode 1.7.1",
            "osslsigncode",
        ] {
            let err = osslsigncode_can(old, "sign PowerShell scripts").unwrap_err();
            assert!(err.to_string().contains("OSSLSIGNCODE"), "{err}");
        }
    }

    #[test]
    fn mach_o_files_are_told_by_their_magic() {
        assert!(is_macho(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]));
        assert!(is_macho(&[0xca, 0xfe, 0xba, 0xbe]));
        assert!(!is_macho(b"MZ\x90\x00"));
        assert!(!is_macho(b"\x7fELF"));
        assert!(!is_macho(&[0xcf]));
    }

    #[test]
    fn the_first_certificate_of_a_pem_is_read() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(first_pem_certificate(pem), Some(vec![0, 1, 2, 3]));
        assert_eq!(first_pem_certificate("no certificate"), None);
    }

    #[test]
    fn ssl_coms_secrets_count_with_ssldotcom_windows_sign_and_this_tools_own_come_first() {
        let mut vars = BTreeMap::from([(
            crate::esigner::USERNAME.to_string(),
            "release@example.com".to_string(),
        )]);
        assert!(windows_key(None, &vars).unwrap().is_none());
        let err = windows_key(Some(SslComEnvironment::Prod), &vars).unwrap_err();
        assert!(
            err.to_string().starts_with(crate::esigner::PASSWORD),
            "{err}"
        );
        vars.insert(PKCS12_FILE.to_string(), "/nonexistent/key.p12".to_string());
        let err = windows_key(Some(SslComEnvironment::Prod), &vars).unwrap_err();
        assert!(err.to_string().starts_with(PKCS12_FILE), "{err}");
    }

    #[test]
    fn no_key_variables_mean_unsigned_and_half_a_pkcs11_setting_is_named() {
        let mut vars = BTreeMap::new();
        assert!(windows_key(None, &vars).unwrap().is_none());
        vars.insert(
            PKCS11_MODULE.to_string(),
            "/usr/lib/softhsm/libsofthsm2.so".to_string(),
        );
        let err = windows_key(None, &vars).unwrap_err().to_string();
        assert!(err.contains(PKCS11_KEY), "{err}");
        vars.insert(PKCS12.to_string(), "not base64!".to_string());
        let err = windows_key(None, &vars).unwrap_err().to_string();
        assert!(
            err.starts_with(PKCS12) && err.contains("base64 -w0"),
            "{err}"
        );
    }
}
