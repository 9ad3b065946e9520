//! The config keys recipe inputs are named after (`config:<key>`). The tool's key table names
//! these keys with the same constants, so an input name and the key it stands for cannot drift
//! apart.

pub const CI: &str = "ci";
pub const PR_RUN_MODE: &str = "pr-run-mode";
pub const CARGO_DIST_VERSION: &str = "cargo-dist-version";
pub const MSVC_CRT_STATIC: &str = "msvc-crt-static";
pub const FEATURES: &str = "features";
pub const DEFAULT_FEATURES: &str = "default-features";
pub const ALL_FEATURES: &str = "all-features";
pub const UNIX_ARCHIVE: &str = "unix-archive";
pub const WINDOWS_ARCHIVE: &str = "windows-archive";
pub const CHECKSUM: &str = "checksum";
pub const INSTALL_SUCCESS_MSG: &str = "install-success-msg";
pub const BIN_ALIASES: &str = "bin-aliases";
pub const INSTALL_PATH: &str = "install-path";
pub const NPM_PACKAGE: &str = "npm-package";
pub const NPM_SHRINKWRAP: &str = "npm-shrinkwrap";
pub const FORMULA: &str = "formula";
