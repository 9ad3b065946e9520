//! The newest release of a crates.io crate, read from the sparse index: what
//! `always-use-latest-updater` builds in place of the pinned axoupdater-cli. The answer (a
//! version and the registry's sha256 of its `.crate`) is learnt once per run and becomes the
//! updater recipe's inputs, so its key names exactly what was built.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, thiserror::Error)]
#[error("`always-use-latest-updater = true`, but the newest {krate} could not be learnt from {url}: {message}\n  it needs the crates.io index (CARGO_DIST_CRATES_INDEX names a mirror); or set the key to false to build the pinned {krate} {pinned}")]
pub struct RegistryError {
    krate: String,
    url: String,
    message: String,
    pinned: String,
}

/// A release of a crate: its version and the sha256 of its `.crate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub sha256: String,
}

/// The newest release of `krate` that is neither yanked nor a prerelease, asked once per run
/// and crate (every graph of the run then agrees). `pinned` names the fallback in the error.
pub fn newest(krate: &str, pinned: &str) -> Result<Release, RegistryError> {
    static ANSWERS: OnceLock<Mutex<BTreeMap<String, Result<Release, RegistryError>>>> =
        OnceLock::new();
    let mut answers = ANSWERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    answers
        .entry(krate.to_string())
        .or_insert_with(|| ask(krate, pinned))
        .clone()
}

fn ask(krate: &str, pinned: &str) -> Result<Release, RegistryError> {
    let url = format!(
        "{}/{}",
        crate::env::crates_index().trim_end_matches('/'),
        index_path(krate)
    );
    let fail = |message: String| RegistryError {
        krate: krate.to_string(),
        url: url.clone(),
        message,
        pinned: pinned.to_string(),
    };
    dist_store::remote::install_tls();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("cargo-dist/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client.get(&url).send().map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let text = resp.text().map_err(|e| fail(e.to_string()))?;
    newest_in(&text)
        .ok_or_else(|| fail("the index lists no release that is not yanked or a prerelease".into()))
}

/// Where the sparse index keeps a crate's file: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd...`.
fn index_path(krate: &str) -> String {
    let name = krate.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The newest release an index file lists (one JSON object per line), skipping yanked ones and
/// prereleases.
fn newest_in(text: &str) -> Option<Release> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["yanked"] != true)
        .filter_map(|v| {
            let version = semver::Version::parse(v["vers"].as_str()?).ok()?;
            let sha256 = v["cksum"].as_str()?.to_string();
            version.pre.is_empty().then_some((version, sha256))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(version, sha256)| Release {
            version: version.to_string(),
            sha256,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_crates_io() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("axoupdater-cli"), "ax/ou/axoupdater-cli");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }

    #[test]
    fn the_newest_release_skips_yanked_and_prereleases() {
        let line = |v: &str, yanked: bool| {
            format!("{{\"name\":\"x\",\"vers\":\"{v}\",\"cksum\":\"sum-{v}\",\"yanked\":{yanked}}}")
        };
        let text = [
            line("0.9.0", false),
            line("0.10.3", false),
            line("0.10.10", false),
            line("0.11.0", true),
            line("0.12.0-rc.1", false),
            "not json".to_string(),
        ]
        .join("\n");
        assert_eq!(
            newest_in(&text),
            Some(Release {
                version: "0.10.10".into(),
                sha256: "sum-0.10.10".into()
            })
        );
        assert_eq!(newest_in(&line("1.0.0", true)), None);
    }
}
