//! `{package}.cdx.xml`: the pinned `cargo cyclonedx` run on a fresh copy of the workspace. Its
//! output names the package by the directory it was run in; that directory is rewritten to
//! `/cargo-dist/src` (as `--remap-path-prefix` does for binaries), so the SBOM does not depend
//! on where it was made.

use std::path::{Path, PathBuf};

use dist_recipes::recipe::Sbom;

use super::cargo::REMAP_SRC;
use super::cargo::{cargo_home, cargo_program, cargo_tool, lock_sandbox, path_with, sandboxed};
use super::extra::{copy_sources, run_checked};
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
    let mut cmd = sandboxed(&cargo_program(), &cargo_home());
    cmd.env("PATH", path_with(&[bin])?)
        .current_dir(&pkg_dir)
        .args(["cyclonedx", "--format", "xml", "--quiet"]);
    run_checked(&mut cmd, &format!("cargo cyclonedx for {}", s.package))?;
    let made = pkg_dir.join(format!("{}.cdx.xml", s.package));
    let text = std::fs::read_to_string(&made).map_err(io(format!("reading {}", made.display())))?;
    let text = text.replace(&src.display().to_string(), REMAP_SRC);
    std::fs::write(out, text).map_err(io(format!("writing {}", out.display())))
}
