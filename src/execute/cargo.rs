//! Sandboxed cargo builds.
//!
//! The build runs on a snapshot holding exactly the recipe's source files, with a cleared
//! environment (allow-list only), `SOURCE_DATE_EPOCH`, `TZ=UTC`, `LC_ALL=C`, and
//! `--remap-path-prefix` for the snapshot, cargo home and target dirs, so the binary depends on
//! neither where, when, nor by whom it was built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dist_recipes::archive::FIXED_MTIME;
use dist_recipes::recipe::CargoBuild;

use super::vendor::Vendored;
use crate::isolation::{self, Isolation, Jail};
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    #[error("cannot build {package} for {target} on this machine (host {host}): the Rust standard library for {target} is not installed\n  run `rustup target add {target}` (the target also needs a linker here), or run `cargo dist build --artifacts=local --target={target}` on a {target} machine (the generated CI gives each target its own runner)")]
    ForeignTarget {
        package: String,
        target: String,
        host: String,
    },
    #[error("package {package} depends on {path}, outside the workspace: cargo-dist snapshots only files inside the workspace; move the dependency into the workspace")]
    OutsideWorkspace { package: String, path: String },
    #[error("`cargo build` of {package} for {target} failed ({status}); nothing was stored and target/distrib was left as it was\n{stderr}")]
    Failed {
        package: String,
        target: String,
        status: String,
        stderr: String,
    },
    #[error("`cargo build` of {package} for {target} ran out of disk space: the file system holding {dir} is full ({free} free now); nothing was stored and target/distrib was left as it was\n  free space there (`cargo clean` removes target/, which holds the build sandboxes) and build again\n{stderr}")]
    Full {
        package: String,
        target: String,
        dir: String,
        free: String,
        stderr: String,
    },
    #[error("could not run cargo: {0}")]
    Spawn(std::io::Error),
    #[error("this build needs {krate} {version}, and installing it into {dir} failed\n  install it there yourself (`cargo install {krate} --version {version} --locked --root {dir}`), or set CARGO_DIST_TOOLS to a directory holding {krate}-{version}/bin/{krate}\n{stderr}")]
    ToolInstall {
        krate: String,
        version: String,
        dir: String,
        stderr: String,
    },
    #[error("preparing the build sandbox at {path}: {source}")]
    Sandbox {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the downloaded {krate} is not the crate this tool pins: sha256 {found}, expected {expected}\n  the registry (or a source replacement in your cargo config) served other bytes; nothing was stored")]
    CrateChecksum {
        krate: String,
        expected: String,
        found: String,
    },
    #[error("fetching the crates Cargo.lock pins failed: {reason}\n  run `cargo fetch --locked` in the workspace to see why (a fetch may use the network; builds then run offline from the store)")]
    Fetch { reason: String },
    #[error("{package} for {target} would build without full isolation here ({level}: {why}), and --require-isolation was given\n  run on a Linux host with user namespaces and Landlock, or drop --require-isolation")]
    NotIsolated {
        package: String,
        target: String,
        level: &'static str,
        why: String,
    },
    #[error("{path} changed while it was being built (its content no longer matches the planned key); run the build again")]
    Changed { path: String },
}

/// Where the remapped paths point inside the binary.
pub(super) const REMAP_SRC: &str = "/cargo-dist/src";
pub(super) const REMAP_TARGET: &str = "/cargo-dist/target";
pub(super) const REMAP_CARGO_HOME: &str = "/cargo-dist/cargo-home";
pub(super) const REMAP_VENDOR: &str = "/cargo-dist/vendor";

/// What a sandboxed build may read besides its sandbox, the vendored crates and the toolchain:
/// the system's programs, libraries and headers (compilers and linkers live there), the dynamic
/// loader's cache, `/proc` (Landlock keeps other processes' entries out of reach) and the CPU
/// facts the standard library reads for parallelism.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/opt",
    "/nix/store",
    "/proc",
    "/sys/fs/cgroup",
    "/sys/devices/system/cpu",
    "/dev/urandom",
    "/dev/random",
];

/// The install directories of the compilers and linkers the build's keyed environment names by
/// absolute path (`CC=/opt/cross/bin/gcc`, `CARGO_TARGET_<T>_LINKER=...`): the build may read
/// them (for `<prefix>/bin/tool`, the whole `<prefix>`, where its libraries live).
fn tool_dirs(env: &BTreeMap<String, Option<String>>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for (k, v) in env {
        let tool = ["CC", "CXX", "AR"].contains(&k.as_str())
            || k.ends_with("_LINKER")
            || k.ends_with("_AR")
            || k.ends_with("_RUNNER");
        let Some(first) = v
            .as_deref()
            .filter(|_| tool)
            .and_then(|v| v.split_whitespace().next())
        else {
            continue;
        };
        let Some(dir) = Path::new(first)
            .parent()
            .filter(|_| Path::new(first).is_absolute())
        else {
            continue;
        };
        let prefix = match dir.file_name() {
            Some(name) if name == "bin" => dir.parent().unwrap_or(dir),
            _ => dir,
        };
        dirs.push(prefix.to_path_buf());
    }
    dirs
}

/// Device files a build may write.
const DEVICES_WRITE: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

pub(super) fn sandbox_err(path: &Path) -> impl FnOnce(std::io::Error) -> CargoError + '_ {
    move |source| CargoError::Sandbox {
        path: path.display().to_string(),
        source,
    }
}

/// Makes `snapshot` hold exactly the recipe's sources. Unchanged files are left alone (keeping
/// their mtimes, so cargo's own fingerprints stay fresh); files are verified against the planned
/// digests as they are copied.
fn sync_snapshot(ws: &Workspace, b: &CargoBuild, snapshot: &Path) -> Result<(), CargoError> {
    let index_path = snapshot.join(".cargo-dist-snapshot.json");
    let previous: Option<BTreeMap<String, String>> = std::fs::read(&index_path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok());
    let previous = match previous {
        Some(p) => p,
        // No index (first sync, or one killed halfway): nothing in the snapshot can be told
        // apart from stale files, so start from an empty directory.
        None => {
            if snapshot.exists() {
                std::fs::remove_dir_all(snapshot).map_err(sandbox_err(snapshot))?;
            }
            BTreeMap::new()
        }
    };
    std::fs::create_dir_all(snapshot).map_err(sandbox_err(snapshot))?;
    // Until this sync completes there is no index.
    let _ = std::fs::remove_file(&index_path);
    let mut wanted: BTreeMap<&str, String> = BTreeMap::new();
    for (rel, input) in b.sources.iter() {
        wanted.insert(
            rel,
            format!("{}:{}", input.digest.to_hex(), input.executable),
        );
    }
    // The skeleton: member manifests, and placeholders where a build has no real file.
    for (rel, input) in b.skeleton.manifests() {
        wanted.insert(
            rel,
            format!("{}:{}", input.digest.to_hex(), input.executable),
        );
    }
    for rel in b.skeleton.placeholders() {
        wanted.entry(rel).or_insert_with(|| "placeholder".into());
    }
    // Drop what is no longer an input.
    for rel in previous.keys() {
        if !wanted.contains_key(rel.as_str()) {
            let _ = std::fs::remove_file(snapshot.join(rel));
        }
    }
    for (rel, want) in &wanted {
        if rel.starts_with("../") {
            return Err(CargoError::OutsideWorkspace {
                package: b.package.clone(),
                path: rel.to_string(),
            });
        }
        let dest = snapshot.join(rel);
        if previous.get(*rel) == Some(want) && dest.is_file() {
            continue;
        }
        let real = b
            .sources
            .get(*rel)
            .or_else(|| b.skeleton.manifests().get(*rel));
        let (bytes, mode) = match real {
            Some(input) => {
                let raw = std::fs::read(ws.root.join(rel)).map_err(sandbox_err(&dest))?;
                let bytes = crate::sources::snapshot_bytes(rel, raw);
                if dist_store::ContentDigest::of_bytes(&bytes) != input.digest {
                    return Err(CargoError::Changed {
                        path: rel.to_string(),
                    });
                }
                (bytes, input.executable)
            }
            None => (Vec::new(), false),
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(sandbox_err(parent))?;
        }
        let _ = std::fs::remove_file(&dest);
        std::fs::write(&dest, &bytes).map_err(sandbox_err(&dest))?;
        crate::platform::set_executable(&dest, mode).map_err(sandbox_err(&dest))?;
    }
    let text = serde_json::to_vec(&wanted).expect("index serializes");
    std::fs::write(&index_path, text).map_err(sandbox_err(&index_path))?;
    Ok(())
}

/// The user's rustflags, then `+crt-static` for a Windows MSVC build with `msvc-crt-static` on
/// (after the user's flags, as cargo-dist adds it).
fn build_rustflags(ws_config: Option<&str>, b: &CargoBuild) -> Vec<String> {
    let mut flags = user_rustflags(ws_config, b);
    if b.msvc_crt_static == Some(true) {
        flags.push("-Ctarget-feature=+crt-static".into());
    }
    flags
}

/// The rustflags cargo would use for this build, from the recipe's inputs only: the first of
/// `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`, then the workspace's
/// `.cargo/config.toml` `target.<triple>.rustflags` or `build.rustflags`. The build passes them,
/// plus the path remaps, as `CARGO_ENCODED_RUSTFLAGS`, which wins over every other source: so
/// rustflags in configs outside the workspace (not inputs) cannot reach the build.
fn user_rustflags(ws_config: Option<&str>, b: &CargoBuild) -> Vec<String> {
    let env = |k: &str| b.env.get(k).cloned().flatten();
    let words = |v: String| v.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    if let Some(v) = env("CARGO_ENCODED_RUSTFLAGS") {
        return v
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Some(v) = env("RUSTFLAGS") {
        return words(v);
    }
    let target_var = format!(
        "{}RUSTFLAGS",
        dist_recipes::recipe::target_env_prefix(&b.target)
    );
    if let Some(v) = env(&target_var) {
        return words(v);
    }
    let Some(doc) = ws_config.and_then(|t| t.parse::<toml_edit::DocumentMut>().ok()) else {
        return Vec::new();
    };
    let flags = |item: Option<&toml_edit::Item>| -> Option<Vec<String>> {
        let item = item?;
        if let Some(s) = item.as_str() {
            return Some(words(s.to_string()));
        }
        let arr = item.as_array()?;
        Some(
            arr.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    };
    flags(
        doc.get("target")
            .and_then(|t| t.get(&b.target))
            .and_then(|t| t.get("rustflags")),
    )
    .or_else(|| flags(doc.get("build").and_then(|t| t.get("rustflags"))))
    .unwrap_or_default()
}

/// Holds the sandbox of one target: two builds in it (two Apps, or one App's keys before and
/// after an edit) must not run at the same time.
pub(super) fn lock_sandbox(sandbox: &Path) -> Result<std::fs::File, CargoError> {
    let path = sandbox.with_extension("lock");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(sandbox_err(parent))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(sandbox_err(&path))?;
    f.lock().map_err(sandbox_err(&path))?;
    Ok(f)
}

/// The bin directory holding `krate` `version` (a cargo subcommand this tool drives), installed
/// from crates.io into this tool's tools directory the first time (into a temp dir, then
/// renamed, so a failed or concurrent install never leaves half a tool): `$CARGO_DIST_TOOLS`,
/// else the cache dir beside the default store.
pub(super) fn cargo_tool(krate: &str, version: &str) -> Result<PathBuf, CargoError> {
    cargo_tool_with(krate, version, krate, &[])
}

/// The `bin` directory of the pinned tool `krate@version` when its `program` is installed.
pub(super) fn installed_tool(krate: &str, version: &str, program: &str) -> Option<PathBuf> {
    let bin = tools_dir().join(format!("{krate}-{version}")).join("bin");
    has_program(&bin, program).then_some(bin)
}

/// Whether `bin` holds `program` (or `program.exe`).
fn has_program(bin: &Path, program: &str) -> bool {
    bin.join(program).is_file() || bin.join(format!("{program}.exe")).is_file()
}

/// [`cargo_tool`] of a crate whose program is `program`, installed with `args` besides.
pub(super) fn cargo_tool_with(
    krate: &str,
    version: &str,
    program: &str,
    args: &[&str],
) -> Result<PathBuf, CargoError> {
    if let Some(bin) = installed_tool(krate, version, program) {
        return Ok(bin);
    }
    let tools = tools_dir();
    let root = tools.join(format!("{krate}-{version}"));
    let bin = root.join("bin");
    let failed = |stderr: String| CargoError::ToolInstall {
        krate: krate.to_string(),
        version: version.to_string(),
        dir: root.display().to_string(),
        stderr,
    };
    std::fs::create_dir_all(&tools).map_err(|e| failed(e.to_string()))?;
    let tmp = tempfile::tempdir_in(&tools).map_err(|e| failed(e.to_string()))?;
    let out = Command::new(cargo_program())
        .args(["install", krate, "--locked", "--quiet", "--version"])
        .arg(format!("={version}"))
        .args(args)
        .arg("--root")
        .arg(tmp.path())
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        ));
    }
    if !has_program(&tmp.path().join("bin"), program) {
        return Err(failed(format!("`cargo install` made no `{program}`")));
    }
    match std::fs::rename(tmp.path(), &root) {
        Ok(()) => {}
        // Another build installed it meanwhile: theirs is as good.
        Err(_) if bin.is_dir() => {}
        Err(e) => return Err(failed(e.to_string())),
    }
    Ok(bin)
}

/// `PATH` with `first` in front: `cargo SUBCOMMAND` then runs the pinned tool.
pub(super) fn path_with(first: &[PathBuf]) -> Result<std::ffi::OsString, CargoError> {
    let path = crate::env::path();
    let paths = first.iter().cloned().chain(std::env::split_paths(&path));
    std::env::join_paths(paths).map_err(|e| CargoError::Spawn(std::io::Error::other(e)))
}

fn tools_dir() -> PathBuf {
    crate::env::tools_dir()
}

/// The directories a cargo build of `b` works in, set up fresh where a build must not see the
/// last one's leftovers.
struct SandboxDirs {
    /// The snapshot of the build's input files, synced to exactly them.
    snapshot: PathBuf,
    target_dir: PathBuf,
    /// Fresh each build: nothing a build script leaves in HOME or TMPDIR reaches the next one.
    home: PathBuf,
    tmp: PathBuf,
    cargo_home: PathBuf,
    /// The `--config` file pointing cargo at the vendored crates.
    vendor_config: Option<PathBuf>,
}

impl SandboxDirs {
    fn prepare(
        ws: &Workspace,
        b: &CargoBuild,
        sandbox: &Path,
        vendored: Option<&Vendored>,
    ) -> Result<SandboxDirs, CargoError> {
        let snapshot = sandbox.join("src");
        let target_dir = sandbox.join("target");
        sync_snapshot(ws, b, &snapshot)?;
        std::fs::create_dir_all(&target_dir).map_err(sandbox_err(&target_dir))?;
        let home = sandbox.join("home");
        let tmp = sandbox.join("tmp");
        for dir in [&home, &tmp] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(sandbox_err(dir))?;
            }
            std::fs::create_dir_all(dir).map_err(sandbox_err(dir))?;
        }
        let cargo_home = sandbox.join("cargo-home");
        std::fs::create_dir_all(&cargo_home).map_err(sandbox_err(&cargo_home))?;
        let vendor_config = match vendored {
            Some(v) => {
                let path = sandbox.join("vendor.toml");
                std::fs::write(&path, v.config()).map_err(sandbox_err(&path))?;
                Some(path)
            }
            None => None,
        };
        Ok(SandboxDirs {
            snapshot,
            target_dir,
            home,
            tmp,
            cargo_home,
            vendor_config,
        })
    }

    /// The build's rustflags, then a path remap for each of these directories.
    fn rustflags(&self, b: &CargoBuild, vendored: Option<&Vendored>) -> Vec<String> {
        // Config files are inputs (hashed and in the snapshot): read them from there.
        let ws_config = [".cargo/config.toml", ".cargo/config"]
            .iter()
            .find_map(|f| std::fs::read_to_string(self.snapshot.join(f)).ok());
        let mut flags = build_rustflags(ws_config.as_deref(), b);
        let mut remaps = vec![
            (self.snapshot.clone(), REMAP_SRC),
            (self.target_dir.clone(), REMAP_TARGET),
            (self.cargo_home.clone(), REMAP_CARGO_HOME),
        ];
        if let Some(v) = vendored {
            remaps.push((v.dir.clone(), REMAP_VENDOR));
        }
        for (from, to) in &remaps {
            flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        }
        flags
    }
}

/// What a build may read and write: `read` (the toolchain, pinned tools, vendored crates),
/// the system's compilers and libraries, its tools' directories and the programs' own, the
/// cargo config files above the sandbox (cargo reads and fails on them), and only the sandbox
/// (and devices) to write.
fn jail_for(
    b: &CargoBuild,
    sandbox: &Path,
    snapshot: &Path,
    program: &str,
    mut read: Vec<PathBuf>,
    require_full: bool,
) -> Jail {
    read.extend(SYSTEM_READ.iter().map(PathBuf::from));
    read.extend(tool_dirs(&b.env));
    let rustc = crate::env::rustc_override().and_then(|r| r.into_string().ok());
    for p in [Some(program), rustc.as_deref()].into_iter().flatten() {
        read.extend(
            Path::new(p)
                .parent()
                .filter(|d| d.is_absolute())
                .map(Path::to_path_buf),
        );
    }
    for dir in snapshot.ancestors().skip(1) {
        for name in ["config", "config.toml"] {
            let f = dir.join(".cargo").join(name);
            if f.is_file() {
                read.push(f);
            }
        }
    }
    let mut write = vec![sandbox.to_path_buf()];
    write.extend(DEVICES_WRITE.iter().map(PathBuf::from));
    Jail {
        read,
        write,
        require_full,
    }
}

/// A failed build's error: cargo's stderr, and what isolation may have cut off.
/// Free space below which a failed build is taken to have failed for want of space.
const NEARLY_FULL: u64 = 16 << 20;

fn failed(
    b: &CargoBuild,
    out: &std::process::Output,
    level: Isolation,
    sandbox: &Path,
) -> CargoError {
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    // rustc and cargo say so in their own words (ENOSPC, EDQUOT), or not at all (a linker
    // killed by SIGBUS writing to a full tmpfs): a file system with next to nothing free
    // after a failed build is the cause either way.
    let free = rustix::fs::statvfs(sandbox)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
    let says_full = ["No space left on device", "Disk quota exceeded"]
        .iter()
        .any(|m| stderr.contains(m));
    if says_full || free.is_some_and(|f| f < NEARLY_FULL) {
        let free = free.map_or("unknown".into(), |f| format!("{} KiB", f / 1024));
        return CargoError::Full {
            package: b.package.clone(),
            target: b.target.clone(),
            dir: sandbox.display().to_string(),
            free,
            stderr,
        };
    }
    let cut_off = match level {
        Isolation::Full => Some("no network, and no files but its sandbox, the vendored crates, the toolchain and the system's"),
        Isolation::NetworkOnly => Some("no network"),
        Isolation::None => None,
    };
    if let Some(cut_off) = cut_off {
        stderr.push_str(&format!(
            "\n  (the build ran with isolation `{}`: {cut_off}; a build script that downloads or reads outside the workspace fails here, see the README's \"What a build can and cannot see\")",
            level.as_str()
        ));
    }
    CargoError::Failed {
        package: b.package.clone(),
        target: b.target.clone(),
        status: out.status.to_string(),
        stderr,
    }
}

/// Whether the toolchain the workspace selects has the standard library of `target`.
pub(super) fn target_installed(ws: &Workspace, target: &str) -> bool {
    Command::new(crate::env::rustc())
        .current_dir(&ws.root)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir())
}

pub(super) fn cargo_home() -> PathBuf {
    crate::env::cargo_home().unwrap_or_else(|| PathBuf::from("/nonexistent-cargo-home"))
}

/// What a build made: each binary's and library's path by file name (`.exe` included), valid
/// while the sandbox is held (another build in it may replace them), and how it was isolated.
pub struct Built {
    pub files: BTreeMap<String, PathBuf>,
    pub isolation: Isolation,
    /// Why isolation was weaker than full, when it was.
    pub weaker_because: Option<String>,
    _sandbox: std::fs::File,
}

/// Runs the build in `sandbox`, which every App of the target shares: its snapshot is synced to
/// exactly this build's inputs first (no other App's files), and cargo keeps the dependencies it
/// compiled for one App for the next one with the same features and flags (their unit hashes
/// differ otherwise, so one App's build never changes another's inputs).
///
/// Cargo runs offline against `vendored` (none: the lockfile names no registry crate) with a
/// `CARGO_HOME` and `HOME` of the sandbox's own, isolated (see [`crate::isolation`]): it can
/// read the snapshot, the vendored crates, the toolchain and the system's compilers and
/// libraries, and write only below the sandbox.
pub fn build(
    ws: &Workspace,
    b: &CargoBuild,
    host: &str,
    sandbox: &Path,
    vendored: Option<&Vendored>,
    require_isolation: bool,
) -> Result<Built, CargoError> {
    // Another target (musl on a glibc host, x86_64 on Apple silicon) builds when its standard
    // library is installed; the toolchain identity in the key still names this host.
    if b.target != host && !target_installed(ws, &b.target) {
        return Err(CargoError::ForeignTarget {
            package: b.package.clone(),
            target: b.target.clone(),
            host: host.to_string(),
        });
    }
    let lock = lock_sandbox(sandbox)?;
    let dirs = SandboxDirs::prepare(ws, b, sandbox, vendored)?;
    let SandboxDirs {
        snapshot,
        target_dir,
        home,
        tmp,
        cargo_home,
        vendor_config,
    } = &dirs;
    let flags = dirs.rustflags(b, vendored);

    let auditable_bin = match &b.auditable {
        Some(version) => Some(cargo_tool("cargo-auditable", version)?),
        None => None,
    };
    let toolchain = toolchain_dir(ws);
    let program = toolchain
        .as_ref()
        .map(|t| t.join("bin").join(exe("cargo")))
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(cargo_program);
    let mut path_front = Vec::new();
    path_front.extend(auditable_bin.clone());
    path_front.extend(toolchain.as_ref().map(|t| t.join("bin")));
    let path = path_with(&path_front)?;
    let make = || {
        let mut cmd = cargo_command(ws, b, &program, snapshot, target_dir, cargo_home, &flags);
        // Found first on PATH: the toolchain's own programs (not rustup's proxies, which would
        // look for toolchain files outside the sandbox), then `cargo auditable`'s pinned version.
        cmd.env("PATH", &path).env("HOME", home).env("TMPDIR", tmp);
        if crate::env::rustc_override().is_none() {
            if let Some(t) = &toolchain {
                cmd.env("RUSTC", t.join("bin").join(exe("rustc")));
            }
        }
        cmd.arg("--offline");
        if let Some(config) = vendor_config {
            cmd.arg("--config").arg(config);
        }
        cmd
    };
    let mut read: Vec<PathBuf> = toolchain.clone().into_iter().collect();
    read.extend(auditable_bin);
    read.extend(vendored.map(|v| v.dir.clone()));
    let jail = jail_for(b, sandbox, snapshot, &program, read, require_isolation);
    let run = isolation::output(&make, &jail).map_err(|e| match e {
        isolation::Refused::Spawn(e) => CargoError::Spawn(e),
        isolation::Refused::Weaker { level, why } => CargoError::NotIsolated {
            package: b.package.clone(),
            target: b.target.clone(),
            level: level.as_str(),
            why,
        },
    })?;
    if !run.output.status.success() {
        return Err(failed(b, &run.output, run.level, sandbox));
    }
    let bin_dir = target_dir.join(&b.target).join("dist");
    let target = dist_recipes::target::Target(&b.target);
    Ok(Built {
        files: b
            .binaries
            .iter()
            .map(|name| target.exe(name))
            .chain(b.libraries.iter().cloned())
            .map(|file| {
                let path = bin_dir.join(&file);
                (file, path)
            })
            .collect(),
        isolation: run.level,
        weaker_because: run.weaker_because,
        _sandbox: lock,
    })
}

/// `name` as this host's executables are named.
fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

static TOOLCHAIN_DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The directory of the toolchain the workspace selects (`rustc --print sysroot` run there):
/// its `bin/cargo` and `bin/rustc` are what the build runs. Asked once per process.
fn toolchain_dir(ws: &Workspace) -> Option<PathBuf> {
    TOOLCHAIN_DIR.get_or_init(|| sysroot(&ws.root)).clone()
}

/// Starts asking for the toolchain directory in the background (rustup's proxy takes tens of
/// milliseconds), so the first cargo build does not wait for it.
pub fn prefetch_toolchain_dir(root: &Path) {
    let root = root.to_path_buf();
    std::thread::spawn(move || TOOLCHAIN_DIR.get_or_init(|| sysroot(&root)).is_some());
}

fn sysroot(root: &Path) -> Option<PathBuf> {
    Command::new(crate::env::rustc())
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|d| d.is_dir())
}

/// The cargo this tool runs: `$CARGO` (set when run as `cargo dist`), else `cargo`.
pub(super) fn cargo_program() -> String {
    crate::env::cargo()
}

/// `program` with the environment every recipe's command runs in: cleared, then what cargo and
/// rustup need to find the toolchain and the registry (not hashed: the toolchain identity,
/// `$RUSTC -vV`, and Cargo.lock are; RUSTC is passed so builds use the compiler the key
/// describes), `CARGO_HOME`, a fixed `SOURCE_DATE_EPOCH`, `TZ=UTC` and `LC_ALL=C`.
pub(super) fn sandboxed(program: &str, cargo_home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    cmd.envs(crate::env::toolchain_discovery());
    cmd.env("CARGO_HOME", cargo_home)
        .env("SOURCE_DATE_EPOCH", FIXED_MTIME.to_string())
        .env("TZ", "UTC")
        .env("LC_ALL", "C");
    cmd
}

/// `cargo build` of `b` in the sandbox: a cleared environment plus the allow-list, fixed
/// time, zone and locale, the remapped rustflags, and the recipe's features.
fn cargo_command(
    ws: &Workspace,
    b: &CargoBuild,
    program: &str,
    snapshot: &Path,
    target_dir: &Path,
    cargo_home: &Path,
    flags: &[String],
) -> Command {
    let mut cmd = sandboxed(program, cargo_home);
    for (k, v) in b.env.iter() {
        if let Some(v) = v {
            // Rustflags all go through CARGO_ENCODED_RUSTFLAGS below.
            if !k.ends_with("RUSTFLAGS") {
                cmd.env(k, v);
            }
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_TERM_COLOR", "never")
        .current_dir(snapshot);
    if b.auditable.is_some() {
        cmd.arg("auditable");
    }
    cmd.args([
        "build",
        "--profile",
        "dist",
        "--locked",
        "--target",
        &b.target,
    ]);
    // The binaries this target ships (`binaries` may narrow the package's).
    cmd.args(["--package", &b.package]);
    for bin in &b.binaries {
        cmd.args(["--bin", bin]);
    }
    if !b.libraries.is_empty() {
        cmd.arg("--lib");
    }
    if !ws.profiles.contains_key("dist") {
        // The key covers this: Cargo.toml is an input.
        cmd.args(["--config", "profile.dist.inherits=\"release\""]);
    }
    if b.all_features {
        cmd.arg("--all-features");
    }
    if !b.default_features {
        cmd.arg("--no-default-features");
    }
    if !b.features.is_empty() {
        cmd.args(["--features", &b.features.join(",")]);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use dist_recipes::recipe::{CargoBuild, WorkspaceSkeleton};

    fn build(target: &str, crt: Option<bool>, rustflags: Option<&str>) -> CargoBuild {
        CargoBuild {
            package: "app".into(),
            binaries: vec!["app".into()],
            target: target.into(),
            features: vec![],
            default_features: true,
            all_features: false,
            profile: Default::default(),
            toolchain: Default::default(),
            env: BTreeMap::from([("RUSTFLAGS".into(), rustflags.map(str::to_string))]).into(),
            sources: Default::default(),
            skeleton: Arc::new(WorkspaceSkeleton::new(BTreeMap::new(), BTreeSet::new())),
            msvc_crt_static: crt,
            auditable: None,
            libraries: Vec::new(),
            crate_sources: None,
        }
    }

    #[test]
    fn compilers_named_by_absolute_path_are_readable_with_their_prefix() {
        let env: BTreeMap<String, Option<String>> = BTreeMap::from([
            ("CC".into(), Some("/opt/cross/bin/x86_64-gcc -m64".into())),
            (
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER".into(),
                Some("/srv/zig/zig-cc".into()),
            ),
            ("CXX".into(), Some("g++".into())),
            ("CFLAGS".into(), Some("/not/a/tool".into())),
            ("AR".into(), None),
        ]);
        assert_eq!(
            super::tool_dirs(&env),
            [
                std::path::PathBuf::from("/srv/zig"),
                std::path::PathBuf::from("/opt/cross")
            ]
        );
    }

    #[test]
    fn crt_static_follows_the_user_flags_on_msvc_only() {
        let msvc = "x86_64-pc-windows-msvc";
        assert_eq!(
            super::build_rustflags(None, &build(msvc, Some(true), Some("-Cdebuginfo=1"))),
            ["-Cdebuginfo=1", "-Ctarget-feature=+crt-static"]
        );
        assert!(super::build_rustflags(None, &build(msvc, Some(false), None)).is_empty());
        assert!(
            super::build_rustflags(None, &build("x86_64-unknown-linux-gnu", None, None)).is_empty()
        );
    }
}
