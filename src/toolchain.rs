//! The Rust toolchain identity: `rustc -vV`, the host triple, and what enters recipe keys.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolchainError {
    #[error("could not run `{rustc} -vV`: {message}\n  install a Rust toolchain (rustup) or set RUSTC to a working rustc")]
    Rustc { rustc: String, message: String },
}

/// `rustc -vV`, parsed. Every field goes into cargo-build recipe keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// field -> value: `release`, `commit-hash`, `commit-date`, `host`, `LLVM version`, ...
    pub fields: BTreeMap<String, String>,
    /// The first line, e.g. `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub version_line: String,
}

impl Toolchain {
    /// Starts `rustc -vV` so it runs while the caller does other work (reading the workspace,
    /// planning; see [`Rustc`]).
    /// `dir` is the workspace's directory: rustup picks the toolchain by the
    /// `rust-toolchain.toml` found from there, as it will for the build.
    pub fn start(dir: Option<&std::path::Path>) -> PendingToolchain {
        let rustc = crate::env::rustc();
        let mut cmd = Command::new(&rustc);
        if let Some(d) = dir.filter(|d| d.is_dir()) {
            cmd.current_dir(d);
        }
        let child = cmd
            .arg("-vV")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        PendingToolchain { rustc, child }
    }

    pub fn parse(text: &str) -> Toolchain {
        let mut lines = text.lines();
        let version_line = lines.next().unwrap_or_default().trim().to_string();
        let fields = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Toolchain {
            fields,
            version_line,
        }
    }

    pub fn host(&self) -> &str {
        self.fields
            .get("host")
            .map(String::as_str)
            .unwrap_or("unknown")
    }
}

/// `rustc -vV`, started early and waited for by the first caller that needs its answer (recipe
/// keys, the host triple), so that the work before it does not wait too.
pub struct Rustc {
    pending: Mutex<Option<PendingToolchain>>,
    answer: OnceLock<Result<Toolchain, ToolchainError>>,
}

impl Rustc {
    /// Starts `rustc -vV` from `dir` (see [`Toolchain::start`]).
    pub fn start(dir: Option<&std::path::Path>) -> Rustc {
        Rustc {
            pending: Mutex::new(Some(Toolchain::start(dir))),
            answer: OnceLock::new(),
        }
    }

    /// Its answer, waiting for it the first time.
    pub fn get(&self) -> Result<&Toolchain, ToolchainError> {
        self.answer
            .get_or_init(|| {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.take().expect("answered once").finish()
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A `rustc -vV` under way.
pub struct PendingToolchain {
    rustc: String,
    child: std::io::Result<Child>,
}

impl PendingToolchain {
    pub fn finish(self) -> Result<Toolchain, ToolchainError> {
        let PendingToolchain { rustc, child } = self;
        let fail = |message: String| ToolchainError::Rustc {
            rustc: rustc.clone(),
            message,
        };
        let out = child
            .and_then(|c| c.wait_with_output())
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        Ok(Toolchain::parse(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// `TOOL --version` (e.g. wixl, msitools' MSI builder), the tool identity in the keys of what
/// it makes; `(missing)` when it is not installed (the build then says how to install it).
pub fn tool_version(tool: &str) -> String {
    Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "(missing)".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_rustc_vv() {
        let t = super::Toolchain::parse(
            "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 20.1.8\n",
        );
        assert_eq!(t.host(), "x86_64-unknown-linux-gnu");
        assert_eq!(t.fields["release"], "1.95.0");
        assert_eq!(t.fields["LLVM version"], "20.1.8");
    }
}
