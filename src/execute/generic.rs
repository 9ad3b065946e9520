//! A generic (`dist:`) member's build: its `build-command` run in a fresh copy of the member's
//! files, with the cleared environment, fixed time and locale of every build, plus what
//! cargo-dist gives such builds (`CARGO_DIST_TARGET`, and `CC`/`CXX` for the target when the
//! allow-list leaves them unset).

use std::path::{Path, PathBuf};

use dist_recipes::recipe::GenericBuild;
use dist_recipes::target::Target;

use super::cargo::{cargo_home, lock_sandbox, sandbox_err, sandboxed};
use super::ExecuteError;
use crate::workspace::Workspace;

/// Runs `b` in `sandbox`. Returns each binary's file name and path, valid while the returned
/// lock is held.
pub fn run(
    ws: &Workspace,
    b: &GenericBuild,
    sandbox: &Path,
) -> Result<(Vec<(String, PathBuf)>, std::fs::File), ExecuteError> {
    let lock = lock_sandbox(sandbox)?;
    let src = sandbox.join("src");
    super::extra::copy_sources(ws, &b.sources, &src)?;
    let cwd = src.join(&b.working_dir);
    std::fs::create_dir_all(&cwd).map_err(sandbox_err(&cwd))?;
    let fail = |message: String| ExecuteError::Generic {
        package: b.package.clone(),
        target: b.target.clone(),
        command: b.command.join(" "),
        message,
    };
    let mut cmd = sandboxed(&b.command[0], &cargo_home());
    cmd.args(&b.command[1..])
        .current_dir(&cwd)
        .env("CARGO_DIST_TARGET", &b.target);
    for (k, v) in b.env.iter() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let (cc, cxx) = compilers(Target(&b.target));
    for (var, default) in [("CC", cc), ("CXX", cxx)] {
        if !b.env.get(var).is_some_and(Option::is_some) {
            cmd.env(var, default);
        }
    }
    let out = cmd
        .output()
        .map_err(|e| fail(format!("could not start it: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "it failed ({}); nothing was stored\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    let out_dir = cwd.join(&b.out_dir);
    let mut made = Vec::new();
    for bin in &b.binaries {
        let file = Target(&b.target).exe(bin);
        let path = out_dir.join(&file);
        if !path.is_file() {
            let dir = Path::new(&b.working_dir).join(&b.out_dir);
            return Err(fail(format!(
                "it succeeded but made no {file} in {}; fix `binaries` or `out-dir` in its dist.toml, or the command",
                match dir.to_string_lossy().as_ref() {
                    "" => "the workspace root".to_string(),
                    d => d.to_string(),
                }
            )));
        }
        made.push((file, path));
    }
    Ok((made, lock))
}

/// The C and C++ compilers cargo-dist names for a target's platform.
fn compilers(t: Target) -> (&'static str, &'static str) {
    if t.is_darwin() {
        ("clang", "clang++")
    } else if t.is_windows() {
        ("cl.exe", "cl.exe")
    } else if t.is_linux() {
        ("gcc", "g++")
    } else {
        ("cc", "c++")
    }
}
