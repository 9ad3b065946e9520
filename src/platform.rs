//! The few file-permission questions that differ between Unix and Windows, answered in one
//! place. On Windows there is no executable bit: files are regular, and the index (not the
//! filesystem) says which members of an archive are executables.

use std::fs::{Metadata, Permissions};
use std::path::Path;

/// Whether the owner may execute the file (always false where there is no such bit).
pub fn is_executable(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o100 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Sets `path` to 0755 or 0644 (writable, and the read-only flag cleared, elsewhere).
pub fn set_executable(path: &Path, executable: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = executable;
        let mut p = std::fs::metadata(path)?.permissions();
        p.set_readonly(false);
        std::fs::set_permissions(path, p)
    }
}

/// The permissions of a new regular file: 0644 (not a temp file's private 0600).
pub fn regular_file_permissions(existing: &Path) -> std::io::Result<Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = existing;
        Ok(Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        let mut p = std::fs::metadata(existing)?.permissions();
        p.set_readonly(false);
        Ok(p)
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn executable_bit_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x");
        std::fs::write(&f, b"").unwrap();
        super::set_executable(&f, true).unwrap();
        assert!(super::is_executable(&std::fs::metadata(&f).unwrap()));
        super::set_executable(&f, false).unwrap();
        assert!(!super::is_executable(&std::fs::metadata(&f).unwrap()));
    }
}
