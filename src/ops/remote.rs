//! Which remote store a run uses, and with which keys: `--remote` / `CARGO_DIST_REMOTE`, else
//! the `remote-store` key; the signing key and trusted keys from the environment and config.

use dist_store::remote::{Remote, RemoteConfig, RemoteError};

use super::GlobalOpts;
use crate::config::GlobalConfig;
use crate::report::{Event, Reporter};
use crate::Error;

/// The secret seed (hex) records are signed with.
pub const SIGNING_KEY_ENV: &str = crate::env::SIGNING_KEY;
/// A file holding it, for machines that keep secrets in files.
pub const SIGNING_KEY_FILE_ENV: &str = crate::env::SIGNING_KEY_FILE;
/// The WebDAV/HTTP or Redis password (a CI secret), when the URL holds none.
pub const PASSWORD_ENV: &str = crate::env::PASSWORD;
/// More public keys to trust (hex, separated by commas or spaces).
pub const TRUSTED_KEYS_ENV: &str = crate::env::TRUSTED_KEYS;

#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    #[error("{var}={value:?} is not a number of seconds above 0 (e.g. 10, or 2.5)")]
    Timeout { var: &'static str, value: String },
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
    let env = crate::env::remote();
    // A bare `--remote` (store verify|gc) means the remote a build would use.
    let chosen = match opts.remote.as_deref() {
        Some("") => env.url.as_deref().filter(|u| !u.is_empty()),
        other => other,
    };
    let url = match chosen.or(cfg.remote_store.as_deref()) {
        None | Some("" | "off" | "none") => return Ok(None),
        Some(u) => u.to_string(),
    };
    if url == "gha" && env.actions_runtime_token.is_none() {
        reporter.report(Event::Warning(
            "remote store `gha` is the GitHub Actions cache, reachable only inside a workflow run (ACTIONS_RUNTIME_TOKEN is unset); building with the local store alone".into(),
        ));
        return Ok(None);
    }
    let signing_key = match (env.signing_key, &env.signing_key_file) {
        (Some(k), _) => Some(k),
        (None, Some(path)) => Some(std::fs::read_to_string(path).map_err(|source| {
            Error::RemoteSetup(RemoteSetupError::KeyFile {
                var: SIGNING_KEY_FILE_ENV,
                path: path.clone(),
                source,
            })
        })?),
        (None, None) => None,
    };
    let timeout = match &env.timeout {
        None => None,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs.is_finite() => {
                Some(std::time::Duration::from_secs_f64(secs))
            }
            _ => {
                return Err(Error::RemoteSetup(RemoteSetupError::Timeout {
                    var: crate::env::TIMEOUT,
                    value: v.clone(),
                }))
            }
        },
    };
    let mut trusted_keys = cfg.remote_trusted_keys.clone();
    trusted_keys.extend(env.trusted_keys);
    let config = RemoteConfig {
        url,
        signing_key,
        trusted_keys,
        read_only: opts.remote_read_only,
        password: env.password,
        s3_region: env.s3_region,
        s3_endpoint: env.s3_endpoint,
        timeout,
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
