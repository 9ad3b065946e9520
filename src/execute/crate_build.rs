//! `cargo install --locked` of a pinned crates.io crate (the updater): the same cleared
//! environment, fixed time and remapped paths as the App builds, and the downloaded `.crate`
//! checked against the pinned registry sha256 before its binary is kept.

use std::path::{Path, PathBuf};

use dist_recipes::archive::ChecksumStyle;
use dist_recipes::recipe::CrateBuild;
use dist_recipes::target::Target;

use super::cargo::{
    cargo_home, cargo_program, lock_sandbox, sandbox_err, sandboxed, target_installed, CargoError,
};
use super::cargo::{REMAP_CARGO_HOME, REMAP_TARGET};
use crate::workspace::Workspace;

/// Builds `c` in `sandbox` (its own target dir, kept between builds so a new toolchain
/// recompiles only what changed); returns the installed binary, valid while the returned lock
/// is held.
pub fn build(
    ws: &Workspace,
    c: &CrateBuild,
    host: &str,
    sandbox: &Path,
) -> Result<(PathBuf, std::fs::File), CargoError> {
    if c.target != host && !target_installed(ws, &c.target) {
        return Err(CargoError::ForeignTarget {
            package: format!("{} {}", c.krate, c.version),
            target: c.target.clone(),
            host: host.to_string(),
        });
    }
    let lock = lock_sandbox(sandbox)?;
    let root = sandbox.join("root");
    let target_dir = sandbox.join("target");
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(sandbox_err(&root))?;
    }
    std::fs::create_dir_all(&target_dir).map_err(sandbox_err(&target_dir))?;
    let cargo_home = cargo_home();
    let flags = [(&target_dir, REMAP_TARGET), (&cargo_home, REMAP_CARGO_HOME)]
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join("\x1f");

    let out = sandboxed(&cargo_program(), &cargo_home)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_TERM_COLOR", "never")
        // Below the workspace's target dir, so rustup picks the workspace's toolchain: the one
        // whose `rustc -vV` is in the key. Rustflags are only the remaps above (this variable
        // overrides any in cargo config files).
        .current_dir(sandbox)
        .args(["install", "--locked", "--quiet", "--no-track"])
        .arg(&c.krate)
        .arg("--version")
        .arg(format!("={}", c.version))
        .args(["--bin", &c.binary, "--target", &c.target, "--root"])
        .arg(&root)
        .output()
        .map_err(CargoError::Spawn)?;
    if !out.status.success() {
        return Err(CargoError::Failed {
            package: format!("{} {} (`cargo install`)", c.krate, c.version),
            target: c.target.clone(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        });
    }
    verify_crate(c, &cargo_home)?;
    let bin = root.join("bin").join(Target(&c.target).exe(&c.binary));
    Ok((bin, lock))
}

/// The `.crate` cargo downloaded must be the one the key pins.
fn verify_crate(c: &CrateBuild, cargo_home: &Path) -> Result<(), CargoError> {
    let file = format!("{}-{}.crate", c.krate, c.version);
    let cache = cargo_home.join("registry").join("cache");
    let found: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map_err(sandbox_err(&cache))?
        .filter_map(|e| Some(e.ok()?.path().join(&file)))
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        return Err(CargoError::CrateChecksum {
            krate: file,
            expected: c.sha256.clone(),
            found: format!("no such file under {}", cache.display()),
        });
    }
    for path in found {
        let bytes = std::fs::read(&path).map_err(sandbox_err(&path))?;
        let got = ChecksumStyle::Sha256.digest_hex(&bytes);
        if got != c.sha256 {
            return Err(CargoError::CrateChecksum {
                krate: path.display().to_string(),
                expected: c.sha256.clone(),
                found: got,
            });
        }
    }
    Ok(())
}
