//! Target triples: the OS questions every stage asks, answered in one place.

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

    /// The platforms a build for this target runs on, as cargo-dist names them in installers'
    /// `target_triples`: itself, plus what it serves by emulation or compatibility. A musl build
    /// splits into `-static` and `-dynamic` platforms and stands in for glibc; an x86_64 macOS
    /// build runs under Rosetta 2; an x86_64 Windows build runs on arm64 Windows; an MSVC build
    /// runs in a GNU (MSYS / Git Bash) shell too.
    pub fn platforms(self) -> Vec<String> {
        let t = self.0;
        let mut out = Vec::new();
        if let Some(stem) = t.strip_suffix("-unknown-linux-musl") {
            out.push(format!("{t}-static"));
            out.push(format!("{t}-dynamic"));
            out.push(format!("{stem}-unknown-linux-gnu"));
            return out;
        }
        out.push(t.to_string());
        match t {
            "x86_64-apple-darwin" => out.push("aarch64-apple-darwin".into()),
            "x86_64-pc-windows-msvc" => {
                out.push("x86_64-pc-windows-gnu".into());
                out.push("aarch64-pc-windows-msvc".into());
            }
            "x86_64-pc-windows-gnu" => out.push("aarch64-pc-windows-gnu".into()),
            "aarch64-pc-windows-msvc" => out.push("aarch64-pc-windows-gnu".into()),
            _ => {}
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
                "x86_64-unknown-linux-musl-dynamic",
                "x86_64-unknown-linux-gnu"
            ]
        );
        assert_eq!(
            Target("x86_64-pc-windows-msvc").platforms(),
            [
                "x86_64-pc-windows-msvc",
                "x86_64-pc-windows-gnu",
                "aarch64-pc-windows-msvc"
            ]
        );
        assert_eq!(
            Target("aarch64-unknown-linux-gnu").platforms(),
            ["aarch64-unknown-linux-gnu"]
        );
    }
}
