//! Which remote store a run uses, and with which keys: `--remote` / `CARGO_DIST_REMOTE`, else
//! the `remote-store` key; the signing key and trusted keys from the environment and config.

use dist_store::remote::{Remote, RemoteConfig, RemoteError};

use super::GlobalOpts;
use crate::config::GlobalConfig;
use crate::report::{Event, Reporter};
use crate::Error;

/// The secret seed (hex) records are signed with.
pub const SIGNING_KEY_ENV: &str = "CARGO_DIST_REMOTE_SIGNING_KEY";
/// A file holding it, for machines that keep secrets in files.
pub const SIGNING_KEY_FILE_ENV: &str = "CARGO_DIST_REMOTE_SIGNING_KEY_FILE";
/// The WebDAV/HTTP or Redis password (a CI secret), when the URL holds none.
pub const PASSWORD_ENV: &str = "CARGO_DIST_REMOTE_PASSWORD";
/// More public keys to trust (hex, separated by commas or spaces).
pub const TRUSTED_KEYS_ENV: &str = "CARGO_DIST_REMOTE_TRUSTED_KEYS";

#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    #[error("{var}={path}: {source}; point it at a file holding the 64-hex-character signing key")]
    KeyFile {
        var: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The remote this run uses, if any. A remote that cannot be used at all (no key to trust, the
/// GitHub Actions cache outside a workflow run) is a warning: the build goes on locally. A
/// malformed URL or key is an error.
pub fn connect(
    opts: &GlobalOpts,
    cfg: &GlobalConfig,
    reporter: &dyn Reporter,
) -> Result<Option<Remote>, Error> {
    open(opts, cfg, false, reporter)
}

/// The remote for `store verify|gc --remote`: one without keys to trust is an error there.
pub fn connect_to_maintain(
    opts: &GlobalOpts,
    cfg: &GlobalConfig,
    reporter: &dyn Reporter,
) -> Result<Option<Remote>, Error> {
    open(opts, cfg, true, reporter)
}

fn open(
    opts: &GlobalOpts,
    cfg: &GlobalConfig,
    maintaining: bool,
    reporter: &dyn Reporter,
) -> Result<Option<Remote>, Error> {
    // A bare `--remote` (store verify|gc) means the remote a build would use.
    let from_env = std::env::var("CARGO_DIST_REMOTE").ok();
    let chosen = match opts.remote.as_deref() {
        Some("") => from_env.as_deref().filter(|u| !u.is_empty()),
        other => other,
    };
    let url = match chosen.or(cfg.remote_store.as_deref()) {
        None | Some("" | "off" | "none") => return Ok(None),
        Some(u) => u.to_string(),
    };
    let token = std::env::var("ACTIONS_RUNTIME_TOKEN").unwrap_or_default();
    if url == "gha" && token.is_empty() {
        reporter.report(Event::Warning(
            "remote store `gha` is the GitHub Actions cache, reachable only inside a workflow run (ACTIONS_RUNTIME_TOKEN is unset); building with the local store alone".into(),
        ));
        return Ok(None);
    }
    let signing_key = match std::env::var(SIGNING_KEY_ENV) {
        Ok(k) if !k.trim().is_empty() => Some(k),
        _ => match std::env::var(SIGNING_KEY_FILE_ENV) {
            Ok(path) if !path.is_empty() => {
                Some(std::fs::read_to_string(&path).map_err(|source| {
                    Error::RemoteSetup(RemoteSetupError::KeyFile {
                        var: SIGNING_KEY_FILE_ENV,
                        path: path.clone(),
                        source,
                    })
                })?)
            }
            _ => None,
        },
    };
    let mut trusted_keys = cfg.remote_trusted_keys.clone();
    if let Ok(extra) = std::env::var(TRUSTED_KEYS_ENV) {
        trusted_keys.extend(
            extra
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|k| !k.is_empty())
                .map(str::to_string),
        );
    }
    let config = RemoteConfig {
        url,
        signing_key,
        trusted_keys,
        read_only: opts.remote_read_only,
        password: std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
    };
    match Remote::open(&config) {
        Ok(r) => Ok(Some(r)),
        // The Actions cache's endpoint comes from the runner: missing, it is the environment's
        // fault, not the config's.
        Err(e @ RemoteError::Config { .. }) if config.url == "gha" && !maintaining => {
            reporter.report(Event::Warning(format!(
                "{e}; building with the local store alone"
            )));
            Ok(None)
        }
        Err(e @ RemoteError::NoKeys { .. }) if !maintaining => {
            reporter.report(Event::Warning(format!(
                "{e}; building with the local store alone"
            )));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
