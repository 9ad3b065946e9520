//! Command-line definition (clap derive). Parsing only; `main.rs` dispatches to `ops`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ops::GlobalOpts;
use crate::plan::ArtifactMode;

#[derive(Debug, Parser)]
#[command(
    name = "cargo-dist",
    bin_name = "cargo dist",
    version,
    about = "Plan, build and publish shippable binaries for a Cargo workspace, reproducibly"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path to the workspace's Cargo.toml
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Output format of the result on stdout
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output_format: OutputFormat,
    /// The announcement tag (v1.0.0, my-app-v1.0.0, my-app/1.0.0, ...; `timestamp` with
    /// --force-tag)
    #[arg(long, global = true, value_name = "TAG")]
    pub tag: Option<String>,
    /// Give the Apps the tag's version whatever their Cargo.toml says (--tag=timestamp: the
    /// highest App version as a new `alpha.SECONDS` prerelease), as a release branch's pushes do
    #[arg(long, global = true)]
    pub force_tag: bool,
    /// Which artifacts to select
    #[arg(short = 'a', long, global = true, value_enum)]
    pub artifacts: Option<Artifacts>,
    /// Restrict to these target triples (repeatable)
    #[arg(short = 't', long = "target", global = true, value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Leave local paths out of the manifest
    #[arg(long, global = true)]
    pub no_local_paths: bool,
    /// Run even when generated files (the CI workflow) are out of date
    #[arg(long, global = true)]
    pub allow_dirty: bool,
    /// The store directory
    #[arg(long, global = true, env = "CARGO_DIST_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// A remote store behind the local one (s3://, webdav+http(s)://, http(s)://, redis://,
    /// file://, gha; `off` for none); without a URL, the `remote-store` config key's. `store
    /// verify|gc --remote` work on the remote
    #[arg(long, global = true, env = "CARGO_DIST_REMOTE", value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub remote: Option<String>,
    /// Read from the remote store, never write to it (pull-request jobs)
    #[arg(long, global = true, env = "CARGO_DIST_REMOTE_READ_ONLY")]
    pub remote_read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Artifacts {
    Local,
    Global,
    All,
    Host,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the whole Universe: every announcement, release and artifact, with recipe keys
    Plan,
    /// Print the dist-manifest for the selected artifacts; builds nothing
    Manifest,
    /// Build the selected artifacts through the store into target/distrib/
    Build {
        /// Rebuild cached recipes in a fresh sandbox and fail if the bytes differ
        #[arg(long)]
        rebuild: bool,
        /// Fail a cargo build that cannot run fully isolated (no network, filesystem limited by
        /// Landlock) instead of running it with less
        #[arg(long)]
        require_isolation: bool,
        /// No progress display
        #[arg(short, long)]
        quiet: bool,
    },
    /// Why an artifact's recipe key differs from the last one built under its name
    Explain {
        /// The artifact's file name, e.g. my-app-x86_64-unknown-linux-gnu.tar.xz
        artifact: String,
    },
    /// Inspect and maintain the store
    #[command(subcommand)]
    Store(StoreCommand),
    /// Write the CI workflow (.github/workflows/release.yml) from the dist config
    Generate {
        /// Write nothing; exit 1 with a diff when the workflow is missing or out of date
        #[arg(long)]
        check: bool,
    },
    /// Add the dist config and [profile.dist] to the root Cargo.toml, then generate CI
    Init {
        /// Answer yes to every question
        #[arg(short, long)]
        yes: bool,
        /// CI backend to generate for (repeatable; default: github)
        #[arg(long, value_name = "CI")]
        ci: Vec<String>,
        /// Installer to build: shell, powershell, npm, homebrew (repeatable)
        #[arg(long = "installer", value_name = "INSTALLER")]
        installers: Vec<String>,
    },
    /// Rebuild a published release from this checkout with an empty store and check every
    /// file against it (and its provenance); exit 1 unless all that can be rebuilt here
    /// reproduced
    Verify {
        /// The release's tag (the same as --tag)
        #[arg(value_name = "TAG")]
        release_tag: Option<String>,
        /// A directory or http(s) base URL holding the release's files (default: the GitHub
        /// release of --tag at the workspace's `repository`)
        #[arg(long, value_name = "DIR|URL")]
        release: Option<String>,
        /// A public key (hex, from `cargo dist store keygen`) whose provenance signature is
        /// trusted (repeatable; also CARGO_DIST_PROVENANCE_TRUSTED_KEYS)
        #[arg(long = "trusted-key", value_name = "KEY")]
        trusted_keys: Vec<String>,
    },
    /// Compare two dist-manifests artifact by artifact: reproduced, or why not
    Compare {
        /// The first dist-manifest.json
        a: PathBuf,
        /// The second dist-manifest.json
        b: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Print the store's directory
    Path,
    /// List recipes with their artifact names, sizes and ages
    Ls,
    /// Re-hash every object and check every index row (with --remote: every remote object and
    /// signed record); exit 1 on any problem
    Verify,
    /// Remove recipes no root keeps, and the objects only they used (with --remote: on the
    /// remote, by record age and total size)
    Gc {
        /// Keep recipes used within this many days
        #[arg(long, value_name = "DAYS")]
        keep_days: Option<u64>,
        /// Then drop least-recently-used recipes until the store fits (e.g. 500M, 2G)
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
        /// Say what would be removed, remove nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the store (objects and index rows) to one deterministic bundle file
    Export { file: PathBuf },
    /// Make an ed25519 key pair for signing remote-store records: the secret goes in
    /// CARGO_DIST_REMOTE_SIGNING_KEY, the public key in `remote-trusted-keys`
    Keygen,
    /// Verify a bundle and add its objects and rows to the store, all or nothing
    Import { file: PathBuf },
}

impl GlobalArgs {
    pub fn opts(&self) -> GlobalOpts {
        GlobalOpts {
            manifest_path: self.manifest_path.clone(),
            tag: self.tag.clone(),
            force_tag: self.force_tag,
            artifacts: self.artifacts.map(|a| match a {
                Artifacts::Local => ArtifactMode::Local,
                Artifacts::Global => ArtifactMode::Global,
                Artifacts::All => ArtifactMode::All,
                Artifacts::Host => ArtifactMode::Host,
            }),
            targets: self.targets.clone(),
            no_local_paths: self.no_local_paths,
            allow_dirty: self.allow_dirty,
            store: self.store.clone(),
            remote: self.remote.clone(),
            remote_read_only: self.remote_read_only,
        }
    }
}

/// `cargo dist plan` runs `cargo-dist dist plan`: drop that `dist` so both spellings parse, as
/// does a direct `cargo-dist plan`.
pub fn normalize_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if args.get(1).is_some_and(|a| a == "dist") {
        args.remove(1);
    }
    args
}
