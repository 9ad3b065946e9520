//! Target triples: the OS questions every stage asks, answered in one place.

/// A C-compatible library a package can ship beside its binaries (`package-libraries`,
/// `install-libraries`): cargo's `cdylib` and `staticlib` crate types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LibraryKind {
    Cdylib,
    CStaticlib,
}

/// The config spellings (`package-libraries`, `install-libraries`).
impl crate::vocab::Vocabulary for LibraryKind {
    const ALL: &'static [LibraryKind] = &[LibraryKind::Cdylib, LibraryKind::CStaticlib];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            LibraryKind::Cdylib => &["cdylib"],
            LibraryKind::CStaticlib => &["cstaticlib"],
        }
    }
}

/// A Rust target triple, e.g. `x86_64-unknown-linux-gnu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target<'a>(pub &'a str);

impl<'a> Target<'a> {
    pub fn is_windows(self) -> bool {
        self.0.contains("-windows")
    }

    pub fn is_windows_msvc(self) -> bool {
        self.0.ends_with("-windows-msvc")
    }

    pub fn is_darwin(self) -> bool {
        self.0.ends_with("-apple-darwin")
    }

    pub fn is_linux(self) -> bool {
        self.0.contains("-linux-")
    }

    /// `*-linux-musl*` (static binaries by default).
    pub fn is_musl(self) -> bool {
        self.0.contains("-linux-musl")
    }

    /// The OS family, as a person names the machine it needs: `Linux`, `macOS`, `Windows`, or
    /// the triple's OS part.
    pub fn os_name(self) -> &'a str {
        if self.is_linux() {
            "Linux"
        } else if self.is_darwin() {
            "macOS"
        } else if self.is_windows() {
            "Windows"
        } else {
            self.0.rsplit('-').next().unwrap_or(self.0)
        }
    }

    /// The CPU part, e.g. `x86_64`.
    pub fn arch(self) -> &'a str {
        self.0.split('-').next().unwrap_or(self.0)
    }

    /// A binary's file name on this target (`.exe` on Windows).
    pub fn exe(self, name: &str) -> String {
        if self.is_windows() {
            format!("{name}.exe")
        } else {
            name.to_string()
        }
    }

    /// A library's file name on this target, as cargo writes it (`lib_name` is the lib
    /// target's name, `-` already `_`).
    pub fn library(self, kind: LibraryKind, lib_name: &str) -> String {
        match kind {
            LibraryKind::Cdylib if self.is_windows() => format!("{lib_name}.dll"),
            LibraryKind::Cdylib if self.is_darwin() => format!("lib{lib_name}.dylib"),
            LibraryKind::Cdylib => format!("lib{lib_name}.so"),
            LibraryKind::CStaticlib if self.is_windows_msvc() => format!("{lib_name}.lib"),
            LibraryKind::CStaticlib => format!("lib{lib_name}.a"),
        }
    }

    /// The platforms a build for this target runs on, as cargo-dist names them in installers'
    /// `target_triples`: itself, plus what it serves by emulation or compatibility. A musl build
    /// is the `-musl-static` platform and also serves `-musl-dynamic` and glibc; a universal2
    /// macOS build serves both CPUs and an x86_64 one runs under Rosetta 2; x86_64 and i686
    /// Windows builds run on arm64 Windows (i686 also on x86_64); an MSVC build also serves
    /// the GNU (MSYS / Git Bash) platform of its CPU.
    pub fn platforms(self) -> Vec<String> {
        // armv7's `eabihf` suffix is set aside and put back on every Linux name.
        let (t, abi) = match self.0.strip_suffix("eabihf") {
            Some(stem) if self.is_linux() => (stem, "eabihf"),
            _ => (self.0, ""),
        };
        if let Some(stem) = t.strip_suffix("-musl") {
            return vec![
                format!("{stem}-musl-static{abi}"),
                format!("{stem}-gnu{abi}"),
                format!("{stem}-musl-dynamic{abi}"),
            ];
        }
        let mut out = vec![self.0.to_string()];
        let extra: &[&str] = match t {
            "universal2-apple-darwin" => &["x86_64-apple-darwin", "aarch64-apple-darwin"],
            "x86_64-apple-darwin" => &["aarch64-apple-darwin"],
            "i686-pc-windows-msvc" => &["x86_64-pc-windows-msvc", "aarch64-pc-windows-msvc"],
            "i686-pc-windows-gnu" => &["x86_64-pc-windows-gnu", "aarch64-pc-windows-gnu"],
            "x86_64-pc-windows-msvc" => &["aarch64-pc-windows-msvc"],
            "x86_64-pc-windows-gnu" => &["aarch64-pc-windows-gnu"],
            _ => &[],
        };
        out.extend(extra.iter().map(|s| s.to_string()));
        if let Some(stem) = t.strip_suffix("-windows-msvc") {
            out.push(format!("{stem}-windows-gnu"));
        }
        out
    }
}

impl std::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn os_questions() {
        assert!(Target("x86_64-pc-windows-gnu").is_windows());
        assert!(!Target("x86_64-pc-windows-gnu").is_windows_msvc());
        assert!(Target("aarch64-apple-darwin").is_darwin());
        assert!(Target("x86_64-unknown-linux-musl").is_linux());
        assert!(Target("x86_64-unknown-linux-musl").is_musl());
        assert_eq!(Target("x86_64-pc-windows-msvc").exe("a"), "a.exe");
        assert_eq!(Target("riscv64gc-unknown-linux-gnu").arch(), "riscv64gc");
    }

    #[test]
    fn platforms_served() {
        assert_eq!(
            Target("x86_64-unknown-linux-musl").platforms(),
            [
                "x86_64-unknown-linux-musl-static",
                "x86_64-unknown-linux-gnu",
                "x86_64-unknown-linux-musl-dynamic",
            ]
        );
        assert_eq!(
            Target("x86_64-pc-windows-msvc").platforms(),
            [
                "x86_64-pc-windows-msvc",
                "aarch64-pc-windows-msvc",
                "x86_64-pc-windows-gnu",
            ]
        );
        assert_eq!(
            Target("armv7-unknown-linux-musleabihf").platforms(),
            [
                "armv7-unknown-linux-musl-staticeabihf",
                "armv7-unknown-linux-gnueabihf",
                "armv7-unknown-linux-musl-dynamiceabihf",
            ]
        );
        assert_eq!(
            Target("x86_64-pc-windows-gnu").platforms(),
            ["x86_64-pc-windows-gnu", "aarch64-pc-windows-gnu"]
        );
        assert_eq!(
            Target("aarch64-unknown-linux-gnu").platforms(),
            ["aarch64-unknown-linux-gnu"]
        );
    }
}
