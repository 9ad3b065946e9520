//! Cargo.lock's packages, as the crate-sources recipe needs them: registry crates with their
//! sha256, git packages with their locked commit.

use std::collections::BTreeMap;
use std::path::Path;

use dist_recipes::recipe::{CrateSources, LockedCrate};

#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("reading {path}: {message}\n  run `cargo generate-lockfile` (or any cargo build) to write a valid one")]
    Invalid { path: String, message: String },
    #[error("{path}: registry package {package} has no checksum, so its sources cannot be fetched as a fixed-output input\n  regenerate the lockfile with a current cargo (`cargo update --workspace`)")]
    NoChecksum { path: String, package: String },
}

/// The crate sources of the workspace at `root`: `None` when it has no Cargo.lock (cargo's
/// `--locked` build then fails and says so) or the lock names no registry or git package.
/// `release` is the toolchain's, whose `cargo vendor` packs git packages.
pub fn crate_sources(root: &Path, release: &str) -> Result<Option<CrateSources>, LockfileError> {
    let path = root.join("Cargo.lock");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let mut sources = parse(&text, "Cargo.lock")?;
    if let Some(s) = sources.as_mut().filter(|s| !s.git.is_empty()) {
        s.vendor_cargo = Some(release.to_string());
    }
    Ok(sources)
}

fn parse(text: &str, path: &str) -> Result<Option<CrateSources>, LockfileError> {
    let invalid = |message: String| LockfileError::Invalid {
        path: path.into(),
        message,
    };
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| invalid(format!("{e}")))?;
    let mut out = CrateSources {
        crates: BTreeMap::new(),
        git: BTreeMap::new(),
        vendor_cargo: None,
    };
    let Some(packages) = doc.get("package") else {
        return Ok(None);
    };
    let packages = packages
        .as_array_of_tables()
        .ok_or_else(|| invalid("`package` is not an array of tables".into()))?;
    for p in packages {
        let field = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            return Err(invalid("a [[package]] without name or version".into()));
        };
        // Path packages (workspace members and their path dependencies) have no source.
        let Some(source) = field("source") else {
            continue;
        };
        let id = format!("{name}-{version}");
        if source.starts_with("registry+") || source.starts_with("sparse+") {
            let checksum = field("checksum").ok_or_else(|| LockfileError::NoChecksum {
                path: path.into(),
                package: format!("{name} {version}"),
            })?;
            out.crates.insert(
                id,
                LockedCrate {
                    name,
                    version,
                    source,
                    checksum,
                },
            );
        } else {
            out.git.insert(id, source);
        }
    }
    Ok((!out.crates.is_empty() || !out.git.is_empty()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "dep"]

[[package]]
name = "itoa"
version = "1.0.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c"

[[package]]
name = "dep"
version = "0.2.0"
source = "git+https://example.com/dep?branch=main#0123456789abcdef0123456789abcdef01234567"
"#;

    #[test]
    fn registry_crates_are_vendored_git_packages_keyed_path_packages_skipped() {
        let s = parse(LOCK, "Cargo.lock").unwrap().unwrap();
        assert_eq!(s.crates.len(), 1);
        let itoa = &s.crates["itoa-1.0.15"];
        assert_eq!(itoa.file_name(), "itoa-1.0.15.crate");
        assert!(itoa.checksum.starts_with("4a5f13b8"));
        assert_eq!(
            s.git["dep-0.2.0"],
            "git+https://example.com/dep?branch=main#0123456789abcdef0123456789abcdef01234567"
        );
    }

    #[test]
    fn a_lock_of_path_packages_only_needs_no_sources() {
        let lock = "version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";
        assert!(parse(lock, "Cargo.lock").unwrap().is_none());
    }

    #[test]
    fn a_registry_package_without_checksum_is_an_error_naming_it() {
        let lock = "[[package]]\nname = \"itoa\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let e = parse(lock, "Cargo.lock").unwrap_err().to_string();
        assert!(e.contains("itoa 1.0.0") && e.contains("Cargo.lock"), "{e}");
    }
}
