//! `{package}.cdx.xml`: the pinned `cargo cyclonedx` run on a fresh copy of the workspace. Its
//! output names the package by the directory it was run in; that directory is rewritten to
//! `/cargo-dist/src` (as `--remap-path-prefix` does for binaries), so the SBOM does not depend
//! on where it was made.

use std::path::{Path, PathBuf};
use std::process::Command;

use dist_recipes::archive::FIXED_MTIME;
use dist_recipes::recipe::Sbom;

use super::cargo::{cargo_home, cargo_tool, lock_sandbox, path_with, REMAP_SRC};
use super::extra::copy_sources;
use super::{io, ExecuteError};
use crate::workspace::Workspace;

/// Makes the SBOM of `s` in `sandbox`; returns it (rewritten) at `out`.
pub fn make(ws: &Workspace, s: &Sbom, sandbox: &Path, out: &Path) -> Result<(), ExecuteError> {
    let _lock = lock_sandbox(sandbox)?;
    let src = sandbox.join("src");
    copy_sources(ws, &s.sources, &src)?;
    let bin = cargo_tool("cargo-cyclonedx", &s.tool)?;
    let pkg_dir: PathBuf = if s.package_dir.is_empty() {
        src.clone()
    } else {
        src.join(&s.package_dir)
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.env_clear();
    for var in [
        "HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "CARGO_NET_OFFLINE",
    ] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    let what = format!("cargo cyclonedx for {}", s.package);
    let o = cmd
        .env("PATH", path_with(bin)?)
        .env("CARGO_HOME", cargo_home())
        .env("SOURCE_DATE_EPOCH", FIXED_MTIME.to_string())
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .current_dir(&pkg_dir)
        .args(["cyclonedx", "--format", "xml", "--quiet"])
        .output()
        .map_err(|e| ExecuteError::Extra {
            command: what.clone(),
            message: format!("could not start it: {e}"),
        })?;
    if !o.status.success() {
        return Err(ExecuteError::Extra {
            command: what,
            message: format!(
                "it failed ({}); nothing was stored\n{}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim_end()
            ),
        });
    }
    let made = pkg_dir.join(format!("{}.cdx.xml", s.package));
    let text = std::fs::read_to_string(&made).map_err(io(format!("reading {}", made.display())))?;
    let text = text.replace(&src.display().to_string(), REMAP_SRC);
    std::fs::write(out, text).map_err(io(format!("writing {}", out.display())))
}
