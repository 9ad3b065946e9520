//! `extra-artifacts`: the user's command run in a fresh copy of the workspace (exactly the
//! files its key covers), with the same cleared environment, fixed time and locale as the cargo
//! builds; each declared file it makes becomes an output.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::BTreeMap;

use dist_recipes::recipe::{ExtraBuild, FileInput};

use super::cargo::{cargo_home, lock_sandbox, sandbox_err, sandboxed};
use super::ExecuteError;
use crate::workspace::Workspace;

/// Runs `e` in `sandbox` (its `src` copy is made afresh; `target` keeps cargo's compiled state
/// for commands that run cargo). Returns each artifact's path by declared name, valid while the
/// returned lock is held.
pub fn run(
    ws: &Workspace,
    e: &ExtraBuild,
    sandbox: &Path,
) -> Result<(Vec<(String, PathBuf)>, std::fs::File), ExecuteError> {
    let lock = lock_sandbox(sandbox)?;
    let src = sandbox.join("src");
    copy_sources(ws, &e.sources, &src)?;
    let cwd = src.join(&e.working_dir);
    std::fs::create_dir_all(&cwd).map_err(sandbox_err(&cwd))?;
    let what = e.command.join(" ");
    let mut cmd = sandboxed(&e.command[0], &cargo_home());
    cmd.args(&e.command[1..])
        .current_dir(&cwd)
        .env("CARGO_TARGET_DIR", sandbox.join("target"));
    // A command running `cargo` gets the one this tool runs.
    if let Some(cargo) = crate::env::cargo_override() {
        cmd.env("CARGO", cargo);
    }
    run_checked(&mut cmd, &what)?;
    let mut made = Vec::new();
    for a in &e.artifacts {
        let path = cwd.join(a);
        if !path.is_file() {
            return Err(ExecuteError::Extra {
                command: what,
                message: format!(
                    "it succeeded but made no file {a} in {}; fix `artifacts` or the command",
                    if e.working_dir.is_empty() {
                        "the workspace root"
                    } else {
                        &e.working_dir
                    }
                ),
            });
        }
        made.push((a.clone(), path));
    }
    Ok((made, lock))
}

/// Makes `dest` a fresh copy of `sources` (workspace-relative), each file checked against the
/// content its key was computed from.
pub(super) fn copy_sources(
    ws: &Workspace,
    sources: &BTreeMap<String, FileInput>,
    dest: &Path,
) -> Result<(), ExecuteError> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(sandbox_err(dest))?;
    }
    for (rel, input) in sources {
        let bytes = super::read_hashed(ws, rel, input)?;
        let to = dest.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(sandbox_err(parent))?;
        }
        std::fs::write(&to, bytes).map_err(sandbox_err(&to))?;
        if input.executable {
            crate::platform::set_executable(&to, true).map_err(sandbox_err(&to))?;
        }
    }
    Ok(())
}

/// Runs `cmd`; a failure to start it or a non-zero exit is an error naming `what`, with its
/// stderr.
pub(super) fn run_checked(cmd: &mut Command, what: &str) -> Result<(), ExecuteError> {
    let out = cmd.output().map_err(|source| ExecuteError::Extra {
        command: what.to_string(),
        message: format!("could not start it: {source}"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(ExecuteError::Extra {
        command: what.to_string(),
        message: format!(
            "it failed ({}); nothing was stored\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
    })
}
