//! What the tool reads from its environment, in one place. Every other module asks here, and
//! clippy's `disallowed-methods` (`clippy.toml`) forbids `std::env::var*` anywhere else, so this
//! file is the whole list of variables that can change what the tool does. Of these, the ones
//! that can change an artifact's bytes are recipe key inputs (`graph`'s allow-list, read
//! through [`all`]); the rest choose programs, directories, credentials or parallelism.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

fn text(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A set, non-empty value.
fn set(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// `RUSTC`: the compiler (else `rustc` on `PATH`, rustup's proxy).
pub fn rustc() -> String {
    text("RUSTC").unwrap_or_else(|| "rustc".into())
}

/// `RUSTC`, when set.
pub fn rustc_override() -> Option<OsString> {
    std::env::var_os("RUSTC")
}

/// `CARGO`: the cargo that runs this tool as `cargo dist` (else `cargo` on `PATH`).
pub fn cargo() -> String {
    text("CARGO").unwrap_or_else(|| "cargo".into())
}

/// `CARGO`, when set.
pub fn cargo_override() -> Option<OsString> {
    std::env::var_os("CARGO")
}

/// `HOME`.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".cargo")))
}

/// `PATH`.
pub fn path() -> OsString {
    std::env::var_os("PATH").unwrap_or_default()
}

/// `CARGO_TARGET_DIR`: where cargo puts its target dir.
pub fn cargo_target_dir() -> Option<OsString> {
    std::env::var_os("CARGO_TARGET_DIR")
}

/// Whether `CARGO_BUILD_TARGET_DIR` is set (cargo is then asked where the target dir is).
pub fn cargo_build_target_dir_set() -> bool {
    std::env::var_os("CARGO_BUILD_TARGET_DIR").is_some()
}

/// `CARGO_DIST_METADATA`: who reads the workspace (unset or empty: the manifests, else cargo).
pub fn metadata_reader() -> Option<String> {
    text("CARGO_DIST_METADATA").filter(|v| !v.is_empty())
}

/// `CARGO_DIST_JOBS`: how many recipes run at once, when a positive number.
pub fn jobs() -> Option<usize> {
    text("CARGO_DIST_JOBS")?
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// `CARGO_DIST_COMPRESS_THREADS`: threads per compressor, when a positive number.
pub fn compress_threads() -> Option<u32> {
    text("CARGO_DIST_COMPRESS_THREADS")?
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// `OSSLSIGNCODE`: the osslsigncode program to sign Windows files with (a runner whose
/// osslsigncode is not on PATH), else `osslsigncode`.
pub fn osslsigncode() -> OsString {
    std::env::var_os("OSSLSIGNCODE")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "osslsigncode".into())
}

/// Where pinned tools (cargo-auditable, cargo-cyclonedx) are installed: `CARGO_DIST_TOOLS`,
/// else `$XDG_CACHE_HOME/cargo-dist/tools` (absolute only), else `~/.cache/cargo-dist/tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = set("CARGO_DIST_TOOLS") {
        return dir.into();
    }
    let cache = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("cargo-dist").join("tools")
}

/// The crates.io sparse index `always-use-latest-updater` reads: `CARGO_DIST_CRATES_INDEX` (a
/// mirror), else crates.io's.
pub fn crates_index() -> String {
    set("CARGO_DIST_CRATES_INDEX")
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_else(|| "https://index.crates.io".into())
}

/// The variables the store's default root comes from (`CARGO_DIST_STORE`, `XDG_CACHE_HOME`,
/// `HOME`), for `Store::resolve_root`.
pub fn store_var(name: &str) -> Option<OsString> {
    match name {
        "CARGO_DIST_STORE" | "XDG_CACHE_HOME" | "HOME" => std::env::var_os(name),
        _ => None,
    }
}

/// What a sandboxed command inherits, so cargo and rustup find the toolchain: `PATH`, `HOME`,
/// `RUSTUP_HOME`, `RUSTUP_TOOLCHAIN`, `RUSTC`, `CARGO_NET_OFFLINE` (those set).
pub fn toolchain_discovery() -> Vec<(&'static str, OsString)> {
    [
        "PATH",
        "HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "CARGO_NET_OFFLINE",
    ]
    .into_iter()
    .filter_map(|k| Some((k, std::env::var_os(k)?)))
    .collect()
}

/// Every variable with a UTF-8 name and value: what the allow-listed recipe key inputs are
/// looked up in (a non-UTF-8 value cannot be one, and must not stop a plan).
pub fn all() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The remote store's variables.
#[derive(Debug, Default, Clone)]
pub struct RemoteEnv {
    /// `CARGO_DIST_REMOTE`: the remote store's URL (`off` for none).
    pub url: Option<String>,
    /// `ACTIONS_RUNTIME_TOKEN`: set inside a GitHub Actions run (the `gha` remote needs it).
    pub actions_runtime_token: Option<String>,
    /// `CARGO_DIST_REMOTE_SIGNING_KEY` (non-blank), else the file `..._SIGNING_KEY_FILE` names.
    pub signing_key: Option<String>,
    pub signing_key_file: Option<String>,
    /// `CARGO_DIST_REMOTE_TRUSTED_KEYS`: more public keys, comma or space separated.
    pub trusted_keys: Vec<String>,
    /// `CARGO_DIST_REMOTE_PASSWORD`.
    pub password: Option<String>,
    /// `AWS_REGION` and `AWS_ENDPOINT_URL` for `s3://` (credentials are read by the S3 client).
    pub s3_region: Option<String>,
    pub s3_endpoint: Option<String>,
    /// `CARGO_DIST_REMOTE_TIMEOUT`: seconds a remote call may take (as written; parsed by
    /// its user, which names the variable when it is not a number).
    pub timeout: Option<String>,
}

pub const REMOTE: &str = "CARGO_DIST_REMOTE";
pub const SIGNING_KEY: &str = "CARGO_DIST_REMOTE_SIGNING_KEY";
pub const SIGNING_KEY_FILE: &str = "CARGO_DIST_REMOTE_SIGNING_KEY_FILE";
pub const TRUSTED_KEYS: &str = "CARGO_DIST_REMOTE_TRUSTED_KEYS";
pub const PASSWORD: &str = "CARGO_DIST_REMOTE_PASSWORD";
pub const TIMEOUT: &str = "CARGO_DIST_REMOTE_TIMEOUT";

pub fn remote() -> RemoteEnv {
    let nonempty = |k: &str| text(k).filter(|v| !v.is_empty());
    RemoteEnv {
        url: text(REMOTE),
        actions_runtime_token: nonempty("ACTIONS_RUNTIME_TOKEN"),
        signing_key: text(SIGNING_KEY).filter(|k| !k.trim().is_empty()),
        signing_key_file: nonempty(SIGNING_KEY_FILE),
        trusted_keys: text(TRUSTED_KEYS)
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
        password: nonempty(PASSWORD),
        s3_region: text("AWS_REGION"),
        s3_endpoint: text("AWS_ENDPOINT_URL"),
        timeout: nonempty(TIMEOUT),
    }
}

/// `CARGO_DIST_PROVENANCE_SIGNING_KEY` (non-blank), else the file
/// `CARGO_DIST_PROVENANCE_SIGNING_KEY_FILE` names: the key `build` signs the release's
/// provenance with. Returns (the key, the file).
pub fn provenance_signing_key() -> (Option<String>, Option<String>) {
    let nonempty = |k: &str| text(k).filter(|v| !v.trim().is_empty());
    (
        nonempty(crate::provenance::SIGNING_KEY_VAR),
        nonempty(crate::provenance::SIGNING_KEY_FILE_VAR),
    )
}

/// `CARGO_DIST_PROVENANCE_TRUSTED_KEYS`: public keys `verify` trusts besides `--trusted-key`
/// (comma- or space-separated).
pub fn provenance_trusted_keys() -> Vec<String> {
    text("CARGO_DIST_PROVENANCE_TRUSTED_KEYS")
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}
