//! Running a build command cut off from what its key does not cover.
//!
//! On Linux the command starts in a new user and network namespace (no network interface is
//! up, loopback included: nothing can connect anywhere) and under a Landlock ruleset that lets it
//! read only the paths it is given (the toolchain, system libraries and compilers, the vendored
//! crates) and write only below its sandbox. Both are inherited by everything it starts (cargo,
//! rustc, build scripts, proc macros, the linker). Where the kernel refuses a mechanism the
//! command runs with the next weaker level, and the caller learns which one was in force.

use std::path::PathBuf;
use std::process::{Command, Output};

/// How a build was isolated, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isolation {
    /// The network and the whole filesystem were reachable.
    None,
    /// No network; the filesystem was not restricted.
    NetworkOnly,
    /// No network, and the filesystem limited to the declared paths.
    Full,
}

impl Isolation {
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::None => "none",
            Isolation::NetworkOnly => "network-only",
            Isolation::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<Isolation> {
        [Isolation::None, Isolation::NetworkOnly, Isolation::Full]
            .into_iter()
            .find(|i| i.as_str() == s)
    }
}

/// What an isolated command may touch.
#[derive(Debug, Clone, Default)]
pub struct Jail {
    /// Read (and execute) below these paths; files or directories, missing ones skipped.
    pub read: Vec<PathBuf>,
    /// Read and write below these.
    pub write: Vec<PathBuf>,
    /// Refuse to run with less than full isolation.
    pub require_full: bool,
}

/// Why a command was not run.
#[derive(Debug)]
pub enum Refused {
    /// It could not be started at all.
    Spawn(std::io::Error),
    /// Full isolation was required and only `level` was possible, because of `why`.
    Weaker { level: Isolation, why: String },
}

/// A command's output, with the isolation it ran under and, when weaker than full, why.
pub struct Isolated {
    pub output: Output,
    pub level: Isolation,
    pub weaker_because: Option<String>,
}

/// Runs the command `make` builds under the strongest isolation this machine allows. `make` is
/// called once per attempt: a level the kernel refuses fails before the program starts, and the
/// next weaker one is tried.
pub fn output(make: &dyn Fn() -> Command, jail: &Jail) -> Result<Isolated, Refused> {
    let weaker = |level: Isolation, why: String| -> Result<Isolated, Refused> {
        if jail.require_full {
            return Err(Refused::Weaker { level, why });
        }
        Ok(Isolated {
            output: make().output().map_err(Refused::Spawn)?,
            level,
            weaker_because: Some(why),
        })
    };
    imp::output(make, jail, &weaker)
}

/// Runs the command at a weaker level (or refuses to, when full isolation is required).
type Weaker<'a> = dyn Fn(Isolation, String) -> Result<Isolated, Refused> + 'a;

#[cfg(target_os = "linux")]
mod imp {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use landlock::{
        path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr,
        RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
    };
    use rustix::fs::{Mode, OFlags};
    use rustix::thread::UnshareFlags;

    use super::{Isolated, Isolation, Jail, Refused, Weaker};

    /// The newest Landlock ABI this code asks for; older kernels enforce what they know.
    const ABI_WANTED: ABI = ABI::V6;

    pub(super) fn output(
        make: &dyn Fn() -> Command,
        jail: &Jail,
        weaker: &Weaker,
    ) -> Result<Isolated, Refused> {
        // Why the full attempt failed: the Landlock part (the ruleset, or the kernel not
        // enforcing it) or the spawn as a whole (namespaces, or the program itself).
        let landlock = match ruleset(jail) {
            Ok(rules) => match spawn(make, Some(rules)) {
                Ok(output) => {
                    return Ok(Isolated {
                        output,
                        level: Isolation::Full,
                        weaker_because: None,
                    })
                }
                // The child's own marker for a ruleset the kernel did not enforce.
                Err(e)
                    if e.kind() == std::io::ErrorKind::Unsupported
                        && e.raw_os_error().is_none() =>
                {
                    Some("this kernel does not enforce Landlock".to_string())
                }
                Err(e) => {
                    if jail.require_full {
                        return Err(Refused::Weaker {
                            level: Isolation::None,
                            why: format!("the sandbox could not be set up: {e}"),
                        });
                    }
                    // Named below by what the next attempt shows.
                    Some(format!("Landlock refused: {e}"))
                }
            },
            Err(e) => Some(format!("Landlock: {e}")),
        };
        if let (true, Some(why)) = (jail.require_full, &landlock) {
            return Err(Refused::Weaker {
                level: Isolation::NetworkOnly,
                why: why.clone(),
            });
        }
        // Without Landlock: if the namespaces work, Landlock was what failed.
        match spawn(make, None) {
            Ok(output) => Ok(Isolated {
                output,
                level: Isolation::NetworkOnly,
                weaker_because: landlock,
            }),
            Err(e) => weaker(
                Isolation::None,
                format!("no user and network namespace here: {e}"),
            ),
        }
    }

    /// The ruleset, built here in the parent: the child only has to enforce it.
    fn ruleset(jail: &Jail) -> Result<RulesetCreated, landlock::RulesetError> {
        Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(ABI_WANTED))?
            // No signals to, or abstract sockets of, processes outside (ABI 6).
            .scope(Scope::from_all(ABI_WANTED))?
            .create()?
            .add_rules(path_beneath_rules(
                &jail.read,
                AccessFs::from_read(ABI_WANTED),
            ))?
            .add_rules(path_beneath_rules(
                &jail.write,
                AccessFs::from_all(ABI_WANTED),
            ))
    }

    /// Spawns in a new user and network namespace, under `rules` when given.
    fn spawn(
        make: &dyn Fn() -> Command,
        rules: Option<RulesetCreated>,
    ) -> std::io::Result<std::process::Output> {
        // Map our own ids into the namespace (so files and `id` look as outside); prepared here
        // because the child must not allocate.
        let uid_map = format!("{0} {0} 1", rustix::process::getuid().as_raw()).into_bytes();
        let gid_map = format!("{0} {0} 1", rustix::process::getgid().as_raw()).into_bytes();
        let mut rules = rules;
        let mut cmd = make();
        // SAFETY: between fork and exec the closure only makes system calls (unshare, open,
        // write, prctl, landlock) on data prepared before the fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNET)?;
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", &uid_map)?;
                write_file(c"/proc/self/gid_map", &gid_map)?;
                if let Some(r) = rules.take() {
                    match r.restrict_self() {
                        Ok(s) if s.ruleset != RulesetStatus::NotEnforced => {}
                        _ => return Err(std::io::ErrorKind::Unsupported.into()),
                    }
                }
                Ok(())
            });
        }
        cmd.output()
    }

    fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> std::io::Result<()> {
        let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
        rustix::io::write(&fd, bytes)?;
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::process::Command;

    use super::{Isolated, Isolation, Jail, Refused, Weaker};

    pub(super) fn output(
        _make: &dyn Fn() -> Command,
        _jail: &Jail,
        weaker: &Weaker,
    ) -> Result<Isolated, Refused> {
        weaker(
            Isolation::None,
            "this tool isolates builds on Linux only".into(),
        )
    }
}
