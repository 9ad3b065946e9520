//! Recipe kinds and their keys.
//!
//! A recipe's key is a BLAKE3 hash over its kind and its canonical **input list**: a sorted map
//! from input name to value. The same map is recorded in the store, so `explain` can say which
//! input changed by diffing two maps. Each kind builds its map by exhaustive destructuring, so a
//! field added to a recipe cannot be left out of its key without a compile error.
//!
//! | input name | value | kinds |
//! |---|---|---|
//! | `format` | [`FORMAT_VERSION`] | all |
//! | `package` | package name | cargo-build, generic-build, sbom |
//! | `binaries` | binary names (JSON list) | cargo-build, generic-build, installer, msi |
//! | `target` | target triple | cargo-build, generic-build, archive, crate-build, msi |
//! | `config:msvc-crt-static` | static MSVC C runtime (`*-windows-msvc` targets only) | cargo-build |
//! | `libraries` | the library files built with `--lib` (JSON list), when `package-libraries` ships any | cargo-build |
//! | `tool:CRATE` | a pinned crates.io tool: cargo-auditable's version when `cargo-auditable` is on (cargo-build); the crate built (crate-build); `wixl --version` (msi); cargo-cyclonedx's version (sbom); the toolchain release whose `cargo vendor` packs git packages (crate-sources, with git packages only) | cargo-build, crate-build, msi, sbom, crate-sources |
//! | `crate-sha256:CRATE`, `binary` | the crate's registry sha256 and the binary it installs | crate-build |
//! | `config:features`, `config:default-features`, `config:all-features` | the dist config values | cargo-build |
//! | `profile:FIELD` | TOML text of the resolved `[profile.dist]` field | cargo-build |
//! | `toolchain:FIELD` | a `rustc -vV` field | cargo-build, crate-build |
//! | `env:VAR` | the value as a JSON string, or `(unset)` | cargo-build, generic-build |
//! | `file:PATH` | BLAKE3 of a source file (+ `+x` if executable) | cargo-build, extra-artifacts, generic-build, msi, sbom |
//! | `command`, `working-dir`, `artifacts`, `out-dir` | an `extra-artifacts` entry: its `build` command (JSON list), where it runs (an SBOM's: the package dir), the files it makes (JSON list); a generic (`dist:`) member's `build-command`, its directory, where its binaries are found (`out-dir`, relative to it) | extra-artifacts, generic-build, sbom |
//! | `crate:NAME-VERSION` | a Cargo.lock registry package: `SOURCE SHA256` | crate-sources |
//! | `git:NAME-VERSION` | a Cargo.lock git package: its source with the locked commit | crate-sources |
//! | `workspace-skeleton` | digest of every member's manifest and target roots | cargo-build |
//! | `config:unix-archive`, `config:windows-archive` | the archive format (by the target) | archive |
//! | `root-dir` | the root directory inside (JSON string, or `(unset)` for zips) | archive, source-tarball |
//! | `item:PATH` | `recipe KEY output FILE` (a binary) or `file PATH DIGEST` (a file) | archive, installer |
//! | `recipe:NAME` | key of a consumed recipe (`recipe:build`: an MSI's cargo build; `recipe:crate-sources`: a cargo build's vendored crates) | cargo-build, checksum, omnibor-id, unified-checksum, installer, msi |
//! | `config:checksum` | the checksum style | checksum, unified-checksum |
//! | `target:NAME`, `sha256:NAME`, `root-dir:NAME` | a consumed archive's (or updater's) target, sha256 once known, root dir | unified-checksum, installer |
//! | `git-tree` | the committed tree of the workspace dir (`HEAD:<dir>`) | source-tarball |
//! | `installer`, `app`, `version`, `download-url` | installer kind, App, version (an MSI's `major.minor.patch`), base URL | installer, msi |
//! | `libraries:NAME` | library files installed from archive NAME (JSON list), when `install-libraries` applies | installer |
//! | `receipt:github`, `receipt:provider-version` | the install receipt's `owner/repo` and this tool's version, with updaters | installer |
//! | `config:install-path` | the install path chain (JSON list) | installer |
//! | `config:bin-aliases` | binary -> aliases (JSON), when any are set | installer |
//! | `config:install-success-msg` | the message (JSON string), when set | installer |
//! | `config:npm-package`, `config:formula` | the package / formula name (kinds that have one) | installer |
//! | `config:npm-shrinkwrap` | whether the npm package ships `npm-shrinkwrap.json` (npm kinds) | installer |
//! | `template` | BLAKE3 of the template files (the installer's, the workflow's) | installer, ci-workflow |
//! | `description`, `homepage`, `license` | package metadata (JSON string, or `(unset)`) | installer |
//! | `config:ci`, `config:pr-run-mode`, `config:cargo-dist-version` | workflow settings | ci-workflow |
//! | `context` | BLAKE3 of the workflow's rendering context (JSON: everything it says) | ci-workflow |
//! | `recipe:subject`, `files` | the recipe whose outputs it signs, and which of them (JSON list) | sign |
//! | `signer:method`, `signer:certificate`, `signer:tool` | `authenticode` or `apple`, the SHA-256 of the signing certificate, the signing tool's version | sign |
//! | `signer:OPTION` | `key-source` (pkcs12, pkcs11, ssldotcom), `ssldotcom` (SSL.com's environment), `signing-time`, `timestamp-url`, `description`, `hardened-runtime`: what else decides the signature (never a secret) | sign |
//!
//! Edges: [`Recipe::consumed`] lists the recipes a recipe reads (from its fields), each with the
//! input that names it. A test keeps this table and the code in step.
//!
//! Deliberately left out: absolute paths, mtimes, owners, the user, the host name, the clock,
//! and environment variables outside the allow-list (the build never sees them).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dist_store::{CanonHasher, ContentDigest, RecipeKey};

use crate::archive::{ArchiveFormat, ChecksumStyle};
use crate::config_keys as keys;
use crate::installer::{
    InstallerApp, InstallerArtifact, InstallerKind, ReceiptSource, UpdaterFile,
};
use crate::target::Target;
use crate::vocab::Vocabulary;

/// Bumped whenever a writer's output for the same inputs changes (compressor settings, templates,
/// the encoding below), so old store entries are never reused for new bytes.
pub const FORMAT_VERSION: u32 = 4;

const DOMAIN: &str = "cargo-dist recipe";

/// The cargo-auditable this tool builds with when `cargo-auditable` is on: pinned, so the same
/// key means the same embedding on every machine (it is installed at this version when missing).
pub const CARGO_AUDITABLE_VERSION: &str = "0.7.7";

/// The updater this tool builds for `install-updater`: axoupdater's command-line program from
/// crates.io, pinned with the registry's sha256 of its `.crate` (a fixed-output input: the
/// build refuses a download with other bytes).
pub const AXOUPDATER_CRATE: &str = "axoupdater-cli";
pub const AXOUPDATER_VERSION: &str = "0.10.3";
pub const AXOUPDATER_SHA256: &str =
    "5ea8497b9dda458d734d2d1c5ab3e606e33e9b981e413278411b186a92ebc381";
/// Its binary's name (without `.exe`).
pub const AXOUPDATER_BIN: &str = "axoupdater";

/// The cargo-cyclonedx this tool makes SBOMs with (`cargo-cyclonedx = true`): pinned, and
/// installed at this version when missing.
pub const CARGO_CYCLONEDX_VERSION: &str = "0.5.9";

/// The canonical input list of a recipe.
pub type Inputs = BTreeMap<String, String>;

/// Environment variables a cargo build sees and hashes (besides the remapped paths cargo-dist
/// sets itself). Target-specific `CARGO_TARGET_<TRIPLE>_*` variables are added per target.
pub const ENV_ALLOW_LIST: &[&str] = &[
    "AR",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_PROFILE_DIST_LTO",
    "CC",
    "CFLAGS",
    "CXX",
    "CXXFLAGS",
    "LDFLAGS",
    "MACOSX_DEPLOYMENT_TARGET",
    "PKG_CONFIG_PATH",
    "RUSTC_BOOTSTRAP",
    "RUSTDOCFLAGS",
    "RUSTFLAGS",
];

/// `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_` for `x86_64-unknown-linux-gnu`.
pub fn target_env_prefix(target: &str) -> String {
    let t: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CARGO_TARGET_{t}_")
}

/// A source file of a build, by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInput {
    pub digest: ContentDigest,
    pub executable: bool,
}

impl FileInput {
    fn value(&self) -> String {
        self.val().as_str().to_string()
    }

    /// Its digest's hex, `+x` after it for an executable.
    fn val(&self) -> Val<'static> {
        Val::hex_marked(&self.digest, self.executable)
    }
}

/// `cargo build --profile dist --target T --locked -p PACKAGE` on a snapshot of `sources`.
#[derive(Debug, Clone)]
pub struct CargoBuild {
    pub package: String,
    /// Binary target names (without `.exe`).
    pub binaries: Vec<String>,
    pub target: String,
    pub features: Vec<String>,
    pub default_features: bool,
    pub all_features: bool,
    /// The resolved `[profile.dist]`: field -> TOML text. (This and the next three are shared by
    /// many builds of a plan: one copy each.)
    pub profile: Arc<BTreeMap<String, String>>,
    /// `rustc -vV` fields.
    pub toolchain: Arc<BTreeMap<String, String>>,
    /// Allow-listed variables: name -> value (`None` = unset).
    pub env: Arc<BTreeMap<String, Option<String>>>,
    /// Workspace-relative path -> content (the package's files, shared by its targets' builds).
    pub sources: Arc<BTreeMap<String, FileInput>>,
    /// Every member's manifest and target roots, shared by all builds of the workspace.
    pub skeleton: Arc<WorkspaceSkeleton>,
    /// `msvc-crt-static` for a `*-windows-msvc` target (`+crt-static` when true); `None` for
    /// every other target, whose key it must not touch.
    pub msvc_crt_static: Option<bool>,
    /// `cargo-auditable`: the pinned cargo-auditable version the build runs under; `None` for a
    /// plain `cargo build`.
    pub auditable: Option<String>,
    /// Library files (`package-libraries`) built by `--lib` and collected beside the binaries.
    pub libraries: Vec<String>,
    /// The workspace's [`CrateSources`]: the build runs offline against them. `None` when
    /// Cargo.lock names no registry or git package.
    pub crate_sources: Option<RecipeKey>,
}

/// The packages Cargo.lock pins from registries and git, one `NAME-VERSION.crate` output each: a
/// fixed-output recipe (its outputs are known from the lockfile: registry sha256s, checked
/// against them, and git commits), so it may fetch from the network, and a `--rebuild`
/// re-verifies instead of fetching again.
#[derive(Debug, Clone)]
pub struct CrateSources {
    /// `NAME-VERSION` -> the locked registry crate.
    pub crates: BTreeMap<String, LockedCrate>,
    /// `NAME-VERSION` -> `git+URL#COMMIT`: git packages, keyed by their locked commit (one
    /// `NAME-VERSION.crate` output each, packed from `cargo vendor`'s copy).
    pub git: BTreeMap<String, String>,
    /// With git packages: the release of the cargo whose `cargo vendor` packs them (what it
    /// copies of a package can change between releases). `None` without git packages.
    pub vendor_cargo: Option<String>,
}

/// A registry package of Cargo.lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedCrate {
    pub name: String,
    pub version: String,
    /// `registry+URL` or `sparse+URL`.
    pub source: String,
    /// The lockfile's sha256 of the `.crate`.
    pub checksum: String,
}

impl LockedCrate {
    /// The output (and vendored directory) name: `NAME-VERSION.crate`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.crate", self.name, self.version)
    }
}

/// What cargo needs of every workspace member just to load the workspace: its manifest (as a
/// build sees it) and a file at each target's source root. A build's own package and path
/// dependencies come with their real files; the others' target roots are empty placeholders.
/// One per workspace, hashed once: it enters each cargo-build key as a single digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSkeleton {
    manifests: BTreeMap<String, FileInput>,
    placeholders: BTreeSet<String>,
    digest: String,
}

impl WorkspaceSkeleton {
    pub fn new(manifests: BTreeMap<String, FileInput>, placeholders: BTreeSet<String>) -> Self {
        let mut h = CanonHasher::new("cargo-dist workspace skeleton", FORMAT_VERSION);
        let listed: BTreeMap<String, String> = manifests
            .iter()
            .map(|(k, v)| (k.clone(), v.value()))
            .collect();
        h.str_map("manifests", &listed);
        h.str_list(
            "placeholders",
            &placeholders.iter().cloned().collect::<Vec<_>>(),
        );
        let digest = h.finish::<dist_store::ContentKind>().to_hex();
        WorkspaceSkeleton {
            manifests,
            placeholders,
            digest,
        }
    }

    pub fn manifests(&self) -> &BTreeMap<String, FileInput> {
        &self.manifests
    }

    pub fn placeholders(&self) -> &BTreeSet<String> {
        &self.placeholders
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// An archive of one App for one target.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The target whose binaries it holds: it says which config key chose the format.
    pub target: String,
    pub format: ArchiveFormat,
    pub root_dir: Option<String>,
    /// Path inside the archive -> where its bytes come from.
    pub items: BTreeMap<String, ArchiveSource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveSource {
    /// Output `file` of the cargo build recipe `build`.
    Binary { build: RecipeKey, file: String },
    /// A workspace file, by content.
    File { path: String, input: FileInput },
}

/// `{archive}.sha256`.
#[derive(Debug, Clone)]
pub struct Checksum {
    pub archive_name: String,
    pub archive: RecipeKey,
    pub style: ChecksumStyle,
}

/// `{artifact}.omnibor` (`omnibor`): the OmniBOR artifact id of another recipe's output.
#[derive(Debug, Clone)]
pub struct OmniborId {
    pub subject_name: String,
    pub subject: RecipeKey,
}

/// `sha256.sum` over the archives whose sha256 is known (name -> archive).
#[derive(Debug, Clone)]
pub struct UnifiedChecksum {
    pub archives: BTreeMap<String, ArchiveRef>,
    pub style: ChecksumStyle,
}

/// `source.tar.gz` of the committed tree.
#[derive(Debug, Clone)]
pub struct SourceTarball {
    pub root_dir: String,
    /// `git rev-parse HEAD^{tree}`: covers every committed path, mode and content, and the
    /// commit of each submodule.
    pub git_tree: String,
    /// `recursive-tarball`: submodules' contents too (their commits are in the tree).
    pub recursive: bool,
}

/// An installer of one App.
#[derive(Debug, Clone)]
pub struct Installer {
    pub installer: InstallerKind,
    /// npm package name / Homebrew formula name, where the installer has one.
    pub package_name: Option<String>,
    /// BLAKE3 of the installer's template files ([`InstallerKind::template_digest`]).
    pub template: String,
    /// What it installs: the App, and every archive (and updater) it can fetch, by key.
    pub app: InstallerApp,
    /// `npm-shrinkwrap`: the npm package ships an `npm-shrinkwrap.json` (npm kinds only).
    pub shrinkwrap: bool,
    /// The App's own files the installer ships (npm kinds: the README, licences, changelog and
    /// `include`s its archives hold, as cargo-dist's npm package does): path inside -> the
    /// workspace file, by content.
    pub files: BTreeMap<String, (String, FileInput)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRef {
    pub target: String,
    pub key: RecipeKey,
    pub sha256: Option<String>,
    pub root_dir: Option<String>,
}

/// `cargo install --locked CRATE@VERSION --target T`: a published crate's binary built from its
/// own lockfile (the updater, `{app}-{target}-update`). One per target, shared by every App:
/// axoupdater finds the App from its own file name.
#[derive(Debug, Clone)]
pub struct CrateBuild {
    pub krate: String,
    pub version: String,
    /// The registry's sha256 of the `.crate`, checked against the downloaded file.
    pub sha256: String,
    /// The binary it installs (without `.exe`).
    pub binary: String,
    pub target: String,
    /// `rustc -vV` fields.
    pub toolchain: BTreeMap<String, String>,
}

/// `extra-artifacts`: the user's command, run in a copy of the workspace (`sources`), making
/// `artifacts` (relative to `working_dir`), one output each.
#[derive(Debug, Clone)]
pub struct ExtraBuild {
    /// Workspace-relative.
    pub working_dir: String,
    pub command: Vec<String>,
    pub artifacts: Vec<String>,
    /// Every workspace file the command can read, by content.
    pub sources: Arc<BTreeMap<String, FileInput>>,
}

/// A generic (`dist:`) member's build: its `build-command` run in a fresh copy of the member's
/// files for one target; each declared binary, found in `out_dir`, becomes an output.
#[derive(Debug, Clone)]
pub struct GenericBuild {
    pub package: String,
    /// Binary names (without `.exe`).
    pub binaries: Vec<String>,
    pub target: String,
    pub command: Vec<String>,
    /// The member's directory, workspace-relative: where the command runs.
    pub working_dir: String,
    /// Where the binaries are found, relative to `working_dir` (empty: there).
    pub out_dir: String,
    /// Allow-listed variables: name -> value (`None` = unset).
    pub env: Arc<BTreeMap<String, Option<String>>>,
    /// The member's files, by content.
    pub sources: Arc<BTreeMap<String, FileInput>>,
}

/// `{package}.cdx.xml`: `cargo cyclonedx` run on a copy of the workspace for one package.
#[derive(Debug, Clone)]
pub struct Sbom {
    pub package: String,
    /// Workspace-relative directory of the package (where the SBOM is written).
    pub package_dir: String,
    /// The pinned cargo-cyclonedx version.
    pub tool: String,
    /// Every workspace file cargo reads to resolve the package, by content.
    pub sources: Arc<BTreeMap<String, FileInput>>,
}

/// A bundling installer made from one target's cargo build (`{app}-{target}.msi`, `.deb`,
/// `.rpm`): what the kind installs, the workspace files it reads and the metadata it writes,
/// all decided by its [`InstallerKind`] ([`InstallerKind::package_inputs`]).
#[derive(Debug, Clone)]
pub struct Package {
    pub installer: InstallerKind,
    pub app: String,
    /// The version the kind writes ([`InstallerKind::package_version`]).
    pub version: String,
    pub target: String,
    /// The App's cargo build for `target`, and the binary files it ships (`.exe` on Windows).
    pub build: RecipeKey,
    pub binaries: Vec<String>,
    /// Library files of that build the package installs (`install-libraries`, kinds that
    /// install libraries), by output name.
    pub libraries: Vec<String>,
    /// Workspace files the kind reads (the WiX source; licences, README), by
    /// workspace-relative path.
    pub files: BTreeMap<String, FileInput>,
    /// What the kind writes about the package (description, licence, maintainer, ...).
    pub metadata: BTreeMap<String, String>,
    /// The external tool it runs and that tool's version (`wixl`), for kinds that run one.
    pub tool: Option<(String, String)>,
}

/// Code signatures on some outputs of another recipe (a cargo build's `.exe`/`.dll` files or
/// Mach-O binaries, an MSI, a PowerShell installer); its other outputs pass through as they are.
/// Everything that ships the files (archives, MSIs, installers, checksums) consumes this recipe,
/// so they all cover the signed bytes.
#[derive(Debug, Clone)]
pub struct Sign {
    /// The recipe whose outputs it signs.
    pub subject: RecipeKey,
    /// The outputs of `subject` it signs, by name (sorted).
    pub files: Vec<String>,
    pub signer: Signer,
}

/// Who signs and how: everything that decides a signature's bytes except the private key
/// itself (and, with a timestamp server, the server's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// `authenticode` (osslsigncode) or `apple` (rcodesign).
    pub method: String,
    /// SHA-256 of the signing certificate (DER): a new certificate is a new signature.
    pub certificate: String,
    /// The signing tool and its version (`osslsigncode 2.9`).
    pub tool: String,
    /// The options that change the signature: `timestamp-url`, `hardened-runtime`,
    /// `signing-time`, `description`, `key-source` (pkcs12, pkcs11, ssldotcom), `ssldotcom`
    /// (SSL.com eSigner's environment, `prod` or `test`).
    pub options: BTreeMap<String, String>,
}

/// The CI workflow file: a pure function of its template and the context the config decides
/// ([`crate::workflow::GithubWorkflow`]).
#[derive(Debug, Clone)]
pub struct CiWorkflow {
    /// "github".
    pub backend: String,
    pub pr_run_mode: String,
    /// The tool version the workflow installs.
    pub tool_version: String,
    /// BLAKE3 of the workflow template ([`crate::workflow::template_digest`]).
    pub template: String,
    /// The rendering context as JSON: its BLAKE3 is the key's input.
    pub context: String,
    /// The rendered workflow: what producing it writes (not an input: the two above decide it).
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum Recipe {
    CiWorkflow(CiWorkflow),
    CargoBuild(CargoBuild),
    Archive(Archive),
    Checksum(Checksum),
    UnifiedChecksum(UnifiedChecksum),
    SourceTarball(SourceTarball),
    /// Boxed: much the largest kind, and a plan holds few.
    Installer(Box<Installer>),
    CrateBuild(CrateBuild),
    ExtraBuild(ExtraBuild),
    GenericBuild(GenericBuild),
    Package(Package),
    Sbom(Sbom),
    CrateSources(CrateSources),
    OmniborId(OmniborId),
    Sign(Sign),
}

/// [`FORMAT_VERSION`] as every recipe lists it.
static FORMAT_TEXT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| FORMAT_VERSION.to_string());

/// One input: its name is `prefix` followed by `name` (`file:` + a path), so listing it builds
/// no string.
type Entry<'a> = (&'static str, &'a str, Val<'a>);

/// An input's value: text, or a digest's hex kept inline (a plan lists thousands of them, and
/// each would otherwise be a string of its own).
enum Val<'a> {
    Text(Cow<'a, str>),
    /// 64 hex digits, `+x` after them when `len` is 66.
    Hex {
        digits: [u8; 66],
        len: u8,
    },
}

impl Val<'_> {
    fn hex<K: dist_store::DigestKind>(d: &dist_store::Digest<K>) -> Val<'static> {
        Val::hex_marked(d, false)
    }

    /// The digest's hex, with `+x` after it when `executable`.
    fn hex_marked<K: dist_store::DigestKind>(
        d: &dist_store::Digest<K>,
        executable: bool,
    ) -> Val<'static> {
        let mut digits = [0u8; 66];
        digits[..64].copy_from_slice(&d.hex_digits());
        digits[64..].copy_from_slice(b"+x");
        let len = if executable { 66 } else { 64 };
        Val::Hex { digits, len }
    }

    fn as_str(&self) -> &str {
        match self {
            Val::Text(t) => t,
            Val::Hex { digits, len } => {
                std::str::from_utf8(&digits[..usize::from(*len)]).expect("hex digits are ASCII")
            }
        }
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(s: &'a str) -> Self {
        Val::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Val<'_> {
    fn from(s: String) -> Self {
        Val::Text(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Val<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Val::Text(s)
    }
}

/// A recipe's inputs as it lists them. Both the input map and the key are made from this one
/// list, so they cannot disagree.
struct Entries<'a>(Vec<Entry<'a>>);

impl<'a> Entries<'a> {
    fn insert(&mut self, name: &'static str, value: impl Into<Val<'a>>) {
        self.0.push(("", name, value.into()));
    }

    fn named(&mut self, prefix: &'static str, name: &'a str, value: impl Into<Val<'a>>) {
        self.0.push((prefix, name, value.into()));
    }

    /// `config:<key>`: a value a config key decides, named after the key
    /// ([`crate::config_keys`]).
    fn config(&mut self, key: &'static str, value: impl Into<Val<'a>>) {
        self.0.push(("config:", key, value.into()));
    }
}

/// The first 16 bytes of an entry's name, big-endian, zero-padded: of two names, the one with
/// the smaller head sorts first (padding sorts like the end of a shorter name). 16, not 8:
/// `toolchain:*`, `profile:*` and `file:<dir>/*` names share their first 8.
fn head(e: &Entry) -> u128 {
    let mut b = [0u8; 16];
    let (prefix, name) = (e.0.as_bytes(), e.1.as_bytes());
    let p = prefix.len().min(16);
    b[..p].copy_from_slice(&prefix[..p]);
    let n = name.len().min(16 - p);
    b[p..p + n].copy_from_slice(&name[..n]);
    u128::from_be_bytes(b)
}

/// `a[0] + a[1]` against `b[0] + b[1]`, byte by byte, without joining them.
fn cmp_joined(a: [&str; 2], b: [&str; 2]) -> std::cmp::Ordering {
    let (mut x, mut y) = (a[0].as_bytes(), b[0].as_bytes());
    let (mut x_rest, mut y_rest) = (a[1].as_bytes(), b[1].as_bytes());
    loop {
        if x.is_empty() && !x_rest.is_empty() {
            x = std::mem::take(&mut x_rest);
        }
        if y.is_empty() && !y_rest.is_empty() {
            y = std::mem::take(&mut y_rest);
        }
        if x.is_empty() || y.is_empty() {
            return x.len().cmp(&y.len());
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            std::cmp::Ordering::Equal => (x, y) = (&x[n..], &y[n..]),
            unequal => return unequal,
        }
    }
}

/// An archive another recipe reads: its key, and its sha256 once built (outputs list only the
/// archives whose sha256 is known, so the key must say which those are).
fn archive_ref<'a>(m: &mut Entries<'a>, name: &'a str, a: &'a ArchiveRef) {
    let ArchiveRef {
        target,
        key,
        sha256,
        root_dir,
    } = a;
    covered(m, name, key, target, sha256, root_dir);
}

/// The inputs naming one file a recipe covers by key: `recipe:`, `target:`, `sha256:` and
/// `root-dir:` NAME.
fn covered<'a>(
    m: &mut Entries<'a>,
    name: &'a str,
    key: &RecipeKey,
    target: &'a str,
    sha256: &Option<String>,
    root_dir: &Option<String>,
) {
    m.named("recipe:", name, Val::hex(key));
    m.named("target:", name, target);
    m.named("sha256:", name, opt(sha256));
    m.named("root-dir:", name, opt(root_dir));
}

/// `(unset)` for `None`, a JSON string otherwise: no value, `"(unset)"` included, reads as unset.
fn opt(v: &Option<String>) -> Cow<'static, str> {
    match v {
        Some(s) => serde_json::to_string(s).expect("strings serialize").into(),
        None => "(unset)".into(),
    }
}

fn list(v: &[String]) -> String {
    // JSON keeps elements containing ',' unambiguous.
    serde_json::to_string(v).expect("strings serialize")
}

impl Recipe {
    pub fn kind(&self) -> &'static str {
        match self {
            Recipe::CiWorkflow(_) => "ci-workflow",
            Recipe::CargoBuild(_) => "cargo-build",
            Recipe::Archive(_) => "archive",
            Recipe::Checksum(_) => "checksum",
            Recipe::UnifiedChecksum(_) => "unified-checksum",
            Recipe::SourceTarball(_) => "source-tarball",
            Recipe::Installer(_) => "installer",
            Recipe::CrateBuild(_) => "crate-build",
            Recipe::ExtraBuild(_) => "extra-artifacts",
            Recipe::GenericBuild(_) => "generic-build",
            Recipe::Package(p) => p.installer.name(),
            Recipe::Sbom(_) => "sbom",
            Recipe::CrateSources(_) => "crate-sources",
            Recipe::OmniborId(_) => "omnibor-id",
            Recipe::Sign(_) => "sign",
        }
    }

    /// The canonical input list, the one its key hashes (shown by `explain`, kept in records,
    /// compared by `compare`). Every field of every kind appears here.
    pub fn inputs(&self) -> Inputs {
        self.entries()
            .0
            .into_iter()
            .map(|(prefix, name, value)| (format!("{prefix}{name}"), value.as_str().to_string()))
            .collect()
    }

    /// `key_of(self.kind(), &self.inputs())`, encoded straight from the entries: no map and no
    /// name strings are built (a large plan computes thousands of keys).
    pub fn key(&self) -> RecipeKey {
        let entries = self.entries().0;
        // Each name's first 16 bytes as a number decide most comparisons.
        let mut sorted: Vec<(u128, &Entry)> = entries.iter().map(|e| (head(e), e)).collect();
        // Stable, so that of two entries with one name the later wins, as in a map.
        sorted.sort_by(|(ha, a), (hb, b)| {
            ha.cmp(hb).then_with(|| cmp_joined([a.0, a.1], [b.0, b.1]))
        });
        let same = |(ha, a): &(u128, &Entry), (hb, b): &(u128, &Entry)| {
            ha == hb && cmp_joined([a.0, a.1], [b.0, b.1]).is_eq()
        };
        let kept: Vec<([&[u8]; 2], &[u8])> = sorted
            .iter()
            .enumerate()
            .filter(|(i, e)| sorted.get(i + 1).is_none_or(|next| !same(e, next)))
            .map(|(_, (_, (prefix, name, value)))| {
                (
                    [prefix.as_bytes(), name.as_bytes()],
                    value.as_str().as_bytes(),
                )
            })
            .collect();
        CanonHasher::new(DOMAIN, FORMAT_VERSION)
            .str("kind", self.kind())
            .str_map_sorted("inputs", &kept)
            .finish()
    }

    /// Every input as (name prefix, name, value), in the order the recipe lists them.
    fn entries(&self) -> Entries<'_> {
        let mut m = Entries(Vec::with_capacity(16));
        m.insert("format", FORMAT_TEXT.as_str());
        match self {
            Recipe::CiWorkflow(r) => r.inputs_into(&mut m),
            Recipe::CargoBuild(r) => r.inputs_into(&mut m),
            Recipe::Archive(r) => r.inputs_into(&mut m),
            Recipe::Checksum(r) => r.inputs_into(&mut m),
            Recipe::UnifiedChecksum(r) => r.inputs_into(&mut m),
            Recipe::SourceTarball(r) => r.inputs_into(&mut m),
            Recipe::Installer(r) => r.inputs_into(&mut m),
            Recipe::CrateBuild(r) => r.inputs_into(&mut m),
            Recipe::ExtraBuild(r) => r.inputs_into(&mut m),
            Recipe::GenericBuild(r) => r.inputs_into(&mut m),
            Recipe::Package(r) => r.inputs_into(&mut m),
            Recipe::Sbom(r) => r.inputs_into(&mut m),
            Recipe::CrateSources(r) => r.inputs_into(&mut m),
            Recipe::OmniborId(r) => r.inputs_into(&mut m),
            Recipe::Sign(r) => r.inputs_into(&mut m),
        }
        m
    }

    /// A build's target, binary names (without `.exe`) and library files: what a cargo or a
    /// generic build makes for an App. `None` for other kinds.
    pub fn built(&self) -> Option<(&str, &[String], &[String])> {
        match self {
            Recipe::CargoBuild(b) => Some((&b.target, &b.binaries, &b.libraries)),
            Recipe::GenericBuild(b) => Some((&b.target, &b.binaries, &[])),
            _ => None,
        }
    }

    /// Whether its outputs are known before it runs (crate sources: Cargo.lock's checksums and
    /// commits), so a stored record is never rebuilt, even by `--rebuild`.
    pub fn is_fixed_output(&self) -> bool {
        matches!(self, Recipe::CrateSources(_))
    }

    /// For the recipes that embed the checksums of what they cover (installers, unified
    /// checksums): fills in those `known` knows now; whether any was learnt (the key then
    /// changes).
    pub fn learn_checksums(&mut self, known: Known) -> bool {
        match self {
            Recipe::Installer(i) => i.learn_checksums(known),
            Recipe::UnifiedChecksum(u) => u.archives.values_mut().fold(false, |learnt, r| {
                learn(&r.key, &mut r.sha256, known) | learnt
            }),
            _ => false,
        }
    }

    /// The recipes this one consumes (its graph edges), each with the input that names it:
    /// read off the fields, never parsed back out of input values.
    pub fn consumed(&self) -> Vec<Consumed> {
        let refs = |archives: &BTreeMap<String, ArchiveRef>| -> Vec<Consumed> {
            archives
                .iter()
                .map(|(name, a)| Consumed {
                    input: format!("recipe:{name}"),
                    key: a.key,
                    // Archives built on other runners: used when the store has them, and the
                    // key says which ones it had (`sha256:NAME`).
                    required: false,
                })
                .collect()
        };
        match self {
            Recipe::CargoBuild(CargoBuild { crate_sources, .. }) => crate_sources
                .iter()
                .map(|key| Consumed {
                    input: "recipe:crate-sources".into(),
                    key: *key,
                    required: true,
                })
                .collect(),
            Recipe::CiWorkflow(_)
            | Recipe::CrateSources(_)
            | Recipe::SourceTarball(_)
            | Recipe::CrateBuild(_)
            | Recipe::ExtraBuild(_)
            | Recipe::GenericBuild(_)
            | Recipe::Sbom(_) => Vec::new(),
            Recipe::Archive(Archive { items, .. }) => items
                .iter()
                .filter_map(|(path, src)| match src {
                    ArchiveSource::Binary { build, .. } => Some(Consumed {
                        input: format!("item:{path}"),
                        key: *build,
                        required: true,
                    }),
                    ArchiveSource::File { .. } => None,
                })
                .collect(),
            Recipe::Checksum(Checksum {
                archive_name,
                archive,
                ..
            }) => vec![Consumed {
                input: format!("recipe:{archive_name}"),
                key: *archive,
                required: true,
            }],
            Recipe::OmniborId(OmniborId {
                subject_name,
                subject,
            }) => vec![Consumed {
                input: format!("recipe:{subject_name}"),
                key: *subject,
                required: true,
            }],
            Recipe::Sign(Sign { subject, .. }) => vec![Consumed {
                input: "recipe:subject".into(),
                key: *subject,
                required: true,
            }],
            Recipe::UnifiedChecksum(u) => refs(&u.archives),
            Recipe::Package(p) => vec![Consumed {
                input: "recipe:build".into(),
                key: p.build,
                required: true,
            }],
            Recipe::Installer(i) => i.consumed(),
        }
    }
}

/// An edge of the recipe graph: the recipe with key `key`, named by input `input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub input: String,
    pub key: RecipeKey,
    /// Must be made first (an archive's cargo build, a checksum's file); otherwise read only
    /// when the store has it.
    pub required: bool,
}

impl CiWorkflow {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let CiWorkflow {
            backend,
            pr_run_mode,
            tool_version,
            template,
            context,
            text: _,
        } = self;
        m.insert("template", template.as_str());
        m.insert(
            "context",
            ContentDigest::of_bytes(context.as_bytes()).to_hex(),
        );
        m.config(keys::CI, backend.as_str());
        m.config(keys::PR_RUN_MODE, pr_run_mode.as_str());
        m.config(keys::CARGO_DIST_VERSION, tool_version.as_str());
    }
}

impl CargoBuild {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let CargoBuild {
            package,
            binaries,
            target,
            features,
            default_features,
            all_features,
            profile,
            toolchain,
            env,
            sources,
            skeleton,
            msvc_crt_static,
            auditable,
            libraries,
            crate_sources,
        } = self;
        if let Some(key) = crate_sources {
            m.insert("recipe:crate-sources", Val::hex(key));
        }
        if !libraries.is_empty() {
            m.insert("libraries", list(libraries));
        }
        if let Some(on) = msvc_crt_static {
            m.config(keys::MSVC_CRT_STATIC, on.to_string());
        }
        if let Some(version) = auditable {
            m.insert("tool:cargo-auditable", version.as_str());
        }
        m.insert("package", package.as_str());
        m.insert("binaries", list(binaries));
        m.insert("target", target.as_str());
        m.config(keys::FEATURES, list(features));
        m.config(keys::DEFAULT_FEATURES, default_features.to_string());
        m.config(keys::ALL_FEATURES, all_features.to_string());
        for (k, v) in profile.iter() {
            m.named("profile:", k, v.as_str());
        }
        for (k, v) in toolchain.iter() {
            m.named("toolchain:", k, v.as_str());
        }
        for (k, v) in env.iter() {
            m.named("env:", k, opt(v));
        }
        for (path, f) in sources.iter() {
            m.named("file:", path, f.val());
        }
        m.insert("workspace-skeleton", skeleton.digest().to_string());
    }
}

impl Archive {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Archive {
            target,
            format,
            root_dir,
            items,
        } = self;
        let format_key = if Target(target).is_windows() {
            keys::WINDOWS_ARCHIVE
        } else {
            keys::UNIX_ARCHIVE
        };
        m.insert("target", target.as_str());
        m.config(format_key, format.extension());
        m.insert("root-dir", opt(root_dir));
        for (path, src) in items {
            let v = match src {
                ArchiveSource::Binary { build, file } => {
                    format!("recipe {} output {file}", build.to_hex())
                }
                ArchiveSource::File { path, input } => file_item(path, input),
            };
            m.named("item:", path, v);
        }
    }
}

/// An `item:` input's value for a workspace file shipped inside an artifact.
fn file_item(path: &str, input: &FileInput) -> String {
    format!("file {path} {}", input.value())
}

impl Checksum {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Checksum {
            archive_name,
            archive,
            style,
        } = self;
        m.named("recipe:", archive_name, Val::hex(archive));
        m.config(keys::CHECKSUM, style.name());
    }
}

impl OmniborId {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let OmniborId {
            subject_name,
            subject,
        } = self;
        m.named("recipe:", subject_name, Val::hex(subject));
    }

    /// The id of the subject's `bytes`, as omnibor-cli's `artifact id --format short` prints it
    /// (what cargo-dist writes to `{artifact}.omnibor`): `gitoid:blob:sha256:HEX`, git's SHA-256
    /// object id of a blob after OmniBOR's newline normalisation, which leaves every carriage
    /// return out of the bytes and of the length in the `blob LEN\0` header.
    pub fn id_of(bytes: &[u8]) -> String {
        use sha2::Digest;
        let kept = bytes.iter().filter(|&&b| b != b'\r').count();
        let mut hasher = sha2::Sha256::new();
        hasher.update(format!("blob {kept}\0").as_bytes());
        for run in bytes.split(|&b| b == b'\r') {
            hasher.update(run);
        }
        format!("gitoid:blob:sha256:{}", hex::encode(hasher.finalize()))
    }
}

impl Sign {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out. The private key
    /// is never one: the certificate's fingerprint names it.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Sign {
            subject,
            files,
            signer,
        } = self;
        let Signer {
            method,
            certificate,
            tool,
            options,
        } = signer;
        m.insert("recipe:subject", Val::hex(subject));
        m.insert("files", list(files));
        m.insert("signer:method", method.as_str());
        m.insert("signer:certificate", certificate.as_str());
        m.insert("signer:tool", tool.as_str());
        for (k, v) in options {
            m.named("signer:", k, v.as_str());
        }
    }
}

impl UnifiedChecksum {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let UnifiedChecksum { archives, style } = self;
        m.config(keys::CHECKSUM, style.name());
        for (name, a) in archives {
            archive_ref(m, name, a);
        }
    }
}

impl SourceTarball {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let SourceTarball {
            root_dir,
            git_tree,
            recursive,
        } = self;
        m.insert("root-dir", root_dir.as_str());
        m.insert("git-tree", git_tree.as_str());
        // Only when set: the keys of tarballs without submodules stay as they were.
        if *recursive {
            m.insert("recursive", "true");
        }
    }
}

impl Installer {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Installer {
            installer,
            package_name,
            template,
            app,
            shrinkwrap,
            files,
        } = self;
        let InstallerApp {
            app_name,
            app_version,
            binaries,
            aliases,
            success_msg,
            download_url,
            install_paths,
            artifacts,
            receipt,
            description,
            homepage,
            license,
        } = app;
        if let Some(ReceiptSource {
            owner,
            repo,
            provider_version,
        }) = receipt
        {
            m.insert("receipt:github", format!("{owner}/{repo}"));
            m.insert("receipt:provider-version", provider_version.as_str());
        }
        m.insert("installer", installer.name());
        m.insert("app", app_name.as_str());
        m.insert("version", app_version.as_str());
        m.insert("binaries", list(binaries));
        // Only when set: older keys stay as they were.
        if let Some(msg) = success_msg {
            m.config(keys::INSTALL_SUCCESS_MSG, opt(&Some(msg.clone())));
        }
        if !aliases.is_empty() {
            m.config(
                keys::BIN_ALIASES,
                serde_json::to_string(aliases).expect("strings serialize"),
            );
        }
        m.insert("download-url", download_url.as_str());
        let paths: Vec<String> = install_paths.iter().map(|p| p.to_string()).collect();
        m.config(keys::INSTALL_PATH, list(&paths));
        // Named by the config key that sets it: `npm-package` or `formula`.
        if let Some(key) = installer.name_key() {
            m.config(key, opt(package_name));
        }
        m.insert("template", template.as_str());
        if matches!(installer, InstallerKind::Npm | InstallerKind::NpmPackages) {
            m.config(
                keys::NPM_SHRINKWRAP,
                if *shrinkwrap { "true" } else { "false" },
            );
        }
        m.insert("description", opt(description));
        m.insert("homepage", opt(homepage));
        m.insert("license", opt(license));
        for a in artifacts {
            installer_artifact(m, a);
        }
        for (inside, (path, input)) in files {
            m.named("item:", inside, file_item(path, input));
        }
    }
}

impl Installer {
    /// Its edges: every archive and updater it can fetch, used when the store has them (built
    /// on other runners); the key says which ones it had (`sha256:NAME`).
    fn consumed(&self) -> Vec<Consumed> {
        let edge = |name: &str, key: &RecipeKey| Consumed {
            input: format!("recipe:{name}"),
            key: *key,
            required: false,
        };
        let mut archives: Vec<Consumed> = Vec::new();
        let mut updaters: Vec<Consumed> = Vec::new();
        if !self.installer.reads_archives() {
            return archives;
        }
        for a in &self.app.artifacts {
            archives.push(edge(&a.file_name, &a.key));
            if let Some(u) = &a.updater {
                updaters.push(edge(&u.file_name, &u.key));
            }
        }
        archives.sort_by(|a, b| a.input.cmp(&b.input));
        updaters.sort_by(|a, b| a.input.cmp(&b.input));
        archives.extend(updaters);
        archives
    }

    /// Fills in the sha256 of each archive and updater it fetches that `known` knows now;
    /// whether any was learnt.
    fn learn_checksums(&mut self, known: Known) -> bool {
        let mut learnt = false;
        if !self.installer.reads_archives() {
            return learnt;
        }
        for a in &mut self.app.artifacts {
            learnt |= learn(&a.key, &mut a.sha256, known);
            if let Some(u) = &mut a.updater {
                learnt |= learn(&u.key, &mut u.sha256, known);
            }
        }
        learnt
    }
}

/// What the store knows of a recipe's first output: its sha256.
pub type Known<'a> = &'a dyn Fn(&RecipeKey) -> Option<String>;

/// Fills in an unknown `sha256` of the recipe `key` from `known`; whether it was learnt.
fn learn(key: &RecipeKey, sha256: &mut Option<String>, known: Known) -> bool {
    if sha256.is_some() {
        return false;
    }
    *sha256 = known(key);
    sha256.is_some()
}

/// An archive an installer fetches, the library files it installs from it and the updater of
/// its target: named after their files, as [`archive_ref`] names an archive.
fn installer_artifact<'a>(m: &mut Entries<'a>, a: &'a InstallerArtifact) {
    let InstallerArtifact {
        target,
        file_name,
        key,
        sha256,
        root_dir,
        libraries,
        updater,
        min_glibc,
    } = a;
    covered(m, file_name, key, target, sha256, root_dir);
    // Only when set: installers of Apps without it keep their keys.
    if let Some(v) = min_glibc {
        m.named("min-glibc:", file_name, v.as_str());
    }
    if !libraries.is_empty() {
        m.named("libraries:", file_name, list(libraries));
    }
    if let Some(UpdaterFile {
        file_name,
        key,
        sha256,
    }) = updater
    {
        covered(m, file_name, key, target, sha256, &None);
    }
}

impl CrateBuild {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let CrateBuild {
            krate,
            version,
            sha256,
            binary,
            target,
            toolchain,
        } = self;
        m.named("tool:", krate, version.as_str());
        m.named("crate-sha256:", krate, sha256.as_str());
        m.insert("binary", binary.as_str());
        m.insert("target", target.as_str());
        for (k, v) in toolchain {
            m.named("toolchain:", k, v.as_str());
        }
    }
}

impl CrateSources {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let CrateSources {
            crates,
            git,
            vendor_cargo,
        } = self;
        if let Some(release) = vendor_cargo {
            m.insert("tool:cargo-vendor", release.as_str());
        }
        for (id, c) in crates {
            m.named("crate:", id, format!("{} {}", c.source, c.checksum));
        }
        for (id, source) in git {
            m.named("git:", id, source.as_str());
        }
    }
}

impl Sbom {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Sbom {
            package,
            package_dir,
            tool,
            sources,
        } = self;
        m.insert("package", package.as_str());
        m.insert("working-dir", package_dir.as_str());
        m.insert("tool:cargo-cyclonedx", tool.as_str());
        for (path, f) in sources.iter() {
            m.named("file:", path, f.val());
        }
    }
}

impl Package {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let Package {
            installer: _, // the recipe's kind
            app,
            version,
            target,
            build,
            binaries,
            libraries,
            files,
            metadata,
            tool,
        } = self;
        m.insert("app", app.as_str());
        m.insert("version", version.as_str());
        m.insert("target", target.as_str());
        m.insert("recipe:build", Val::hex(build));
        m.insert("binaries", list(binaries));
        // Only when it installs any: older keys stay as they were.
        if !libraries.is_empty() {
            m.insert("libraries", list(libraries));
        }
        for (path, f) in files {
            m.named("file:", path, f.val());
        }
        for (name, value) in metadata {
            m.named("meta:", name, value.as_str());
        }
        if let Some((name, version)) = tool {
            m.named("tool:", name, version.as_str());
        }
    }
}

impl ExtraBuild {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let ExtraBuild {
            working_dir,
            command,
            artifacts,
            sources,
        } = self;
        m.insert("command", list(command));
        m.insert("working-dir", working_dir.as_str());
        m.insert("artifacts", list(artifacts));
        for (path, f) in sources.iter() {
            m.named("file:", path, f.val());
        }
    }
}

impl GenericBuild {
    /// Its inputs, by exhaustive destructuring: a new field cannot be left out.
    fn inputs_into<'a>(&'a self, m: &mut Entries<'a>) {
        let GenericBuild {
            package,
            binaries,
            target,
            command,
            working_dir,
            out_dir,
            env,
            sources,
        } = self;
        m.insert("package", package.as_str());
        m.insert("binaries", list(binaries));
        m.insert("target", target.as_str());
        m.insert("command", list(command));
        m.insert("working-dir", working_dir.as_str());
        m.insert("out-dir", out_dir.as_str());
        for (k, v) in env.iter() {
            m.named("env:", k, opt(v));
        }
        for (path, f) in sources.iter() {
            m.named("file:", path, f.val());
        }
    }
}

/// The key of a recipe of `kind` with this input list.
pub fn key_of(kind: &str, inputs: &Inputs) -> RecipeKey {
    CanonHasher::new(DOMAIN, FORMAT_VERSION)
        .str("kind", kind)
        .str_map("inputs", inputs)
        .finish()
}

/// What changed between two input lists, for `explain` and `compare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputChange {
    Added {
        name: String,
        value: String,
    },
    Removed {
        name: String,
        value: String,
    },
    Changed {
        name: String,
        old: String,
        new: String,
    },
}

pub fn diff_inputs(old: &Inputs, new: &Inputs) -> Vec<InputChange> {
    let mut out = Vec::new();
    for (k, v) in old {
        match new.get(k) {
            None => out.push(InputChange::Removed {
                name: k.clone(),
                value: v.clone(),
            }),
            Some(n) if n != v => out.push(InputChange::Changed {
                name: k.clone(),
                old: v.clone(),
                new: n.clone(),
            }),
            Some(_) => {}
        }
    }
    for (k, v) in new {
        if !old.contains_key(k) {
            out.push(InputChange::Added {
                name: k.clone(),
                value: v.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name().cmp(b.name()));
    out
}

impl InputChange {
    pub fn name(&self) -> &str {
        match self {
            InputChange::Added { name, .. }
            | InputChange::Removed { name, .. }
            | InputChange::Changed { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installer::InstallPath;

    fn build() -> CargoBuild {
        CargoBuild {
            package: "app".into(),
            binaries: vec!["app".into()],
            target: "x86_64-unknown-linux-gnu".into(),
            features: vec![],
            default_features: true,
            all_features: false,
            profile: Arc::new(BTreeMap::from([("inherits".into(), "\"release\"".into())])),
            toolchain: Arc::new(BTreeMap::from([("release".into(), "1.95.0".into())])),
            env: Arc::new(BTreeMap::from([("RUSTFLAGS".into(), None)])),
            sources: Arc::new(BTreeMap::from([(
                "src/main.rs".into(),
                FileInput {
                    digest: ContentDigest::of_bytes(b"fn main() {}"),
                    executable: false,
                },
            )])),
            skeleton: Arc::new(WorkspaceSkeleton::new(BTreeMap::new(), BTreeSet::new())),
            msvc_crt_static: None,
            auditable: None,
            libraries: Vec::new(),
            crate_sources: None,
        }
    }

    /// An executable source lists its digest with `+x`, and the key follows the listing.
    #[test]
    fn an_executable_source_is_listed_with_x() {
        let digest = ContentDigest::of_bytes(b"#!/bin/sh\n");
        let mut b = build();
        b.sources = Arc::new(BTreeMap::from([(
            "run.sh".into(),
            FileInput {
                digest,
                executable: true,
            },
        )]));
        let exec = Recipe::CargoBuild(b.clone());
        assert_eq!(
            exec.inputs()["file:run.sh"],
            format!("{}+x", digest.to_hex())
        );
        assert_eq!(exec.key(), key_of(exec.kind(), &exec.inputs()));
        b.sources = Arc::new(BTreeMap::from([(
            "run.sh".into(),
            FileInput {
                digest,
                executable: false,
            },
        )]));
        let plain = Recipe::CargoBuild(b);
        assert_eq!(plain.inputs()["file:run.sh"], digest.to_hex());
        assert_ne!(exec.key(), plain.key());
    }

    fn crate_sources() -> CrateSources {
        let itoa = LockedCrate {
            name: "itoa".into(),
            version: "1.0.15".into(),
            source: "registry+https://github.com/rust-lang/crates.io-index".into(),
            checksum: "4".repeat(64),
        };
        CrateSources {
            crates: BTreeMap::from([("itoa-1.0.15".into(), itoa)]),
            git: BTreeMap::from([(
                "dep-0.1.0".into(),
                format!("git+https://example.com/dep#{}", "5".repeat(40)),
            )]),
            vendor_cargo: Some("1.95.0".into()),
        }
    }

    #[test]
    fn every_field_changes_the_key() {
        let base = Recipe::CargoBuild(build()).key();
        type Change = Box<dyn Fn(&mut CargoBuild)>;
        let variants: Vec<Change> = vec![
            Box::new(|b| b.package = "other".into()),
            Box::new(|b| b.binaries.push("two".into())),
            Box::new(|b| b.target = "aarch64-apple-darwin".into()),
            Box::new(|b| b.features.push("f".into())),
            Box::new(|b| b.default_features = false),
            Box::new(|b| b.all_features = true),
            Box::new(|b| {
                Arc::make_mut(&mut b.profile).insert("lto".into(), "\"thin\"".into());
            }),
            Box::new(|b| {
                Arc::make_mut(&mut b.toolchain).insert("release".into(), "1.96.0".into());
            }),
            Box::new(|b| {
                Arc::make_mut(&mut b.env).insert("RUSTFLAGS".into(), Some("-Copt-level=1".into()));
            }),
            Box::new(|b| {
                Arc::make_mut(&mut b.sources)
                    .get_mut("src/main.rs")
                    .unwrap()
                    .digest = ContentDigest::of_bytes(b"fn main() { }")
            }),
            Box::new(|b| {
                Arc::make_mut(&mut b.sources)
                    .get_mut("src/main.rs")
                    .unwrap()
                    .executable = true
            }),
            Box::new(|b| {
                b.skeleton = Arc::new(WorkspaceSkeleton::new(
                    BTreeMap::new(),
                    BTreeSet::from(["other/src/main.rs".to_string()]),
                ))
            }),
            Box::new(|b| b.crate_sources = Some(Recipe::CrateSources(crate_sources()).key())),
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut b = build();
            change(&mut b);
            assert_ne!(
                Recipe::CargoBuild(b).key(),
                base,
                "variant {i} left the key alone"
            );
        }
        assert_eq!(Recipe::CargoBuild(build()).key(), base);
    }

    #[test]
    fn templates_are_part_of_installer_and_workflow_keys() {
        let installer = |template: &str| {
            Recipe::Installer(Box::new(Installer {
                template: template.into(),
                ..sample_installer(&BTreeMap::new())
            }))
            .key()
        };
        assert_ne!(installer("a"), installer("b"));
        // The App's files an npm package ships are in its key, by content.
        let shipping = |byte: u8| {
            let input = FileInput {
                digest: ContentDigest::of_bytes(&[byte]),
                executable: false,
            };
            let mut i = sample_installer(&BTreeMap::new());
            i.files
                .insert("README.md".into(), ("README.md".into(), input));
            Recipe::Installer(Box::new(i)).key()
        };
        assert_ne!(shipping(1), shipping(2));
        assert_ne!(
            shipping(1),
            Recipe::Installer(Box::new(sample_installer(&BTreeMap::new()))).key()
        );
        let workflow = |template: &str, context: &str| {
            Recipe::CiWorkflow(CiWorkflow {
                backend: "github".into(),
                pr_run_mode: "plan".into(),
                tool_version: "0.1.0".into(),
                template: template.into(),
                context: context.into(),
                text: "name: Release\n".into(),
            })
            .key()
        };
        assert_ne!(workflow("a", "{}"), workflow("b", "{}"));
        // msvc-crt-static is an input of Windows MSVC builds only.
        let windows = |crt: Option<bool>| {
            Recipe::CargoBuild(CargoBuild {
                target: "x86_64-pc-windows-msvc".into(),
                msvc_crt_static: crt,
                ..build()
            })
            .key()
        };
        assert_ne!(windows(Some(true)), windows(Some(false)));
        assert_ne!(windows(Some(true)), windows(None));
        let auditable = Recipe::CargoBuild(CargoBuild {
            auditable: Some(CARGO_AUDITABLE_VERSION.into()),
            libraries: Vec::new(),
            ..build()
        });
        assert_ne!(auditable.key(), Recipe::CargoBuild(build()).key());
        assert_ne!(workflow("a", "{}"), workflow("a", "{\"x\":1}"));
        assert_eq!(workflow("a", "{}"), workflow("a", "{}"));
    }

    fn sample_archive(build_key: RecipeKey, file: FileInput) -> Archive {
        Archive {
            target: "x86_64-unknown-linux-gnu".into(),
            format: ArchiveFormat::TarXz,
            root_dir: Some("app-x86_64-unknown-linux-gnu".into()),
            items: BTreeMap::from([
                (
                    "app".into(),
                    ArchiveSource::Binary {
                        build: build_key,
                        file: "app".into(),
                    },
                ),
                (
                    "README.md".into(),
                    ArchiveSource::File {
                        path: "README.md".into(),
                        input: file,
                    },
                ),
            ]),
        }
    }

    fn sample_installer(archives: &BTreeMap<String, ArchiveRef>) -> Installer {
        Installer {
            installer: InstallerKind::Npm,
            package_name: Some("@org/app".into()),
            template: "2".repeat(64),
            shrinkwrap: true,
            files: BTreeMap::new(),
            app: InstallerApp {
                app_name: "app".into(),
                app_version: "1.0.0".into(),
                binaries: vec!["app".into()],
                aliases: BTreeMap::new(),
                success_msg: None,
                download_url: "https://example.com/dl".into(),
                install_paths: vec![InstallPath::CargoHome],
                artifacts: archives
                    .iter()
                    .map(|(name, a)| InstallerArtifact {
                        target: a.target.clone(),
                        file_name: name.clone(),
                        key: a.key,
                        sha256: a.sha256.clone(),
                        root_dir: a.root_dir.clone(),
                        min_glibc: None,
                        libraries: Vec::new(),
                        updater: None,
                    })
                    .collect(),
                receipt: None,
                description: None,
                homepage: None,
                license: Some("MIT".into()),
            },
        }
    }

    /// One recipe of every kind, with fixed fields.
    fn sample_archive_refs(archive_key: RecipeKey) -> BTreeMap<String, ArchiveRef> {
        let archive_ref = ArchiveRef {
            target: "x86_64-unknown-linux-gnu".into(),
            key: archive_key,
            sha256: Some("ab".repeat(32)),
            root_dir: Some("app-x86_64-unknown-linux-gnu".into()),
        };
        BTreeMap::from([("app-x86_64-unknown-linux-gnu.tar.xz".into(), archive_ref)])
    }

    fn samples() -> Vec<Recipe> {
        let build_key = Recipe::CargoBuild(build()).key();
        let file = FileInput {
            digest: ContentDigest::of_bytes(b"# app\n"),
            executable: false,
        };
        let archive = sample_archive(build_key, file);
        let archive_key = Recipe::Archive(archive.clone()).key();
        let archives = sample_archive_refs(archive_key);
        vec![
            Recipe::CiWorkflow(CiWorkflow {
                backend: "github".into(),
                pr_run_mode: "plan".into(),
                tool_version: "0.1.0".into(),
                template: "t".into(),
                context: "{}".into(),
                text: "name: Release\n".into(),
            }),
            Recipe::CargoBuild(build()),
            Recipe::Archive(archive),
            Recipe::Checksum(Checksum {
                archive_name: "app-x86_64-unknown-linux-gnu.tar.xz".into(),
                archive: archive_key,
                style: ChecksumStyle::Sha256,
            }),
            Recipe::OmniborId(OmniborId {
                subject_name: "app-x86_64-unknown-linux-gnu.tar.xz".into(),
                subject: archive_key,
            }),
            Recipe::UnifiedChecksum(UnifiedChecksum {
                archives: archives.clone(),
                style: ChecksumStyle::Sha256,
            }),
            Recipe::SourceTarball(SourceTarball {
                root_dir: "app-1.0.0".into(),
                git_tree: "1".repeat(40),
                recursive: false,
            }),
            Recipe::Installer(Box::new(sample_installer(&archives))),
            Recipe::ExtraBuild(ExtraBuild {
                working_dir: "docs".into(),
                command: vec!["make".into(), "schema".into()],
                artifacts: vec!["schema.json".into()],
                sources: Arc::new(BTreeMap::from([("docs/Makefile".into(), file)])),
            }),
            Recipe::Sbom(Sbom {
                package: "app".into(),
                package_dir: String::new(),
                tool: CARGO_CYCLONEDX_VERSION.into(),
                sources: Arc::new(BTreeMap::from([("Cargo.toml".into(), file)])),
            }),
            Recipe::Package(Package {
                installer: InstallerKind::Msi,
                app: "app".into(),
                version: "1.0.0".into(),
                target: "x86_64-pc-windows-msvc".into(),
                build: build_key,
                binaries: vec!["app.exe".into()],
                libraries: Vec::new(),
                files: BTreeMap::from([("wix/main.wxs".into(), file)]),
                metadata: BTreeMap::new(),
                tool: Some(("wixl".into(), "0.101".into())),
            }),
            Recipe::CrateBuild(CrateBuild {
                krate: AXOUPDATER_CRATE.into(),
                version: "0.10.3".into(),
                sha256: "3".repeat(64),
                binary: "axoupdater".into(),
                target: "x86_64-unknown-linux-gnu".into(),
                toolchain: BTreeMap::from([("release".into(), "1.95.0".into())]),
            }),
            Recipe::CrateSources(crate_sources()),
            Recipe::CargoBuild(CargoBuild {
                crate_sources: Some(Recipe::CrateSources(crate_sources()).key()),
                ..build()
            }),
            Recipe::Sign(sample_sign(build_key)),
            Recipe::GenericBuild(generic_build()),
        ]
    }

    fn generic_build() -> GenericBuild {
        GenericBuild {
            package: "tool".into(),
            binaries: vec!["tool".into()],
            target: "x86_64-unknown-linux-gnu".into(),
            command: vec!["make".into()],
            working_dir: "tool".into(),
            out_dir: "bin".into(),
            env: Arc::new(BTreeMap::from([("CC".into(), None)])),
            sources: build().sources,
        }
    }

    fn sample_sign(subject: RecipeKey) -> Sign {
        Sign {
            subject,
            files: vec!["app.exe".into()],
            signer: Signer {
                method: "authenticode".into(),
                certificate: "c".repeat(64),
                tool: "osslsigncode 2.9".into(),
                options: BTreeMap::from([
                    ("key-source".into(), "pkcs12".into()),
                    ("signing-time".into(), "315532800".into()),
                ]),
            },
        }
    }

    /// A new certificate, tool or option is a new signature; the files it signs are named.
    #[test]
    fn a_signature_is_keyed_by_its_signer() {
        let base = Recipe::Sign(sample_sign(Recipe::CargoBuild(build()).key())).key();
        let mut other = sample_sign(Recipe::CargoBuild(build()).key());
        other.signer.certificate = "d".repeat(64);
        assert_ne!(Recipe::Sign(other).key(), base);
        let mut other = sample_sign(Recipe::CargoBuild(build()).key());
        other
            .signer
            .options
            .insert("timestamp-url".into(), "http://ts".into());
        assert_ne!(Recipe::Sign(other).key(), base);
        let mut other = sample_sign(Recipe::CargoBuild(build()).key());
        other.files.push("app.dll".into());
        assert_ne!(Recipe::Sign(other).key(), base);
    }

    /// Keys are encoded from the entries, never from the input map; they must still be the
    /// key of that map, for every kind and when two entries share a name (the later wins).
    #[test]
    fn keys_are_the_keys_of_the_input_maps() {
        let mut recipes = samples();
        recipes.push(Recipe::CargoBuild(CargoBuild {
            auditable: Some("0.7.0".into()),
            msvc_crt_static: Some(true),
            libraries: vec!["cdylib".into()],
            features: vec!["a".into(), "b,c".into()],
            env: Arc::new(BTreeMap::from([
                ("CC".into(), Some("clang".into())),
                ("RUSTFLAGS".into(), None),
            ])),
            ..build()
        }));
        let installer = recipes
            .iter()
            .find_map(|r| match r {
                Recipe::Installer(i) => Some(i.clone()),
                _ => None,
            })
            .unwrap();
        // An updater under an archive's name: both list `recipe:NAME`, `target:NAME` and so on.
        let mut clash = installer.clone();
        for a in &mut clash.app.artifacts {
            a.updater = Some(UpdaterFile {
                file_name: a.file_name.clone(),
                key: a.key,
                sha256: None,
            });
        }
        recipes.push(Recipe::Installer(clash));
        for r in &recipes {
            assert_eq!(r.key(), key_of(r.kind(), &r.inputs()), "{}", r.kind());
        }
        // The clash is real: the map has fewer entries than were listed.
        let last = recipes.last().unwrap();
        assert!(last.inputs().len() < last.entries().0.len());
    }

    #[test]
    fn joined_names_compare_as_their_strings() {
        let parts = [
            ["", ""],
            ["", "target"],
            ["target:", ""],
            ["target:", "a"],
            ["", "target:a"],
            ["tool:", "x"],
            ["", "toolchain:x"],
            ["toolchain:", "x"],
            ["t", "arget"],
            ["", "tool:cargo-auditable"],
            ["tool:", "cargo-vendor"],
            ["", "a\0"],
            ["a", ""],
        ];
        for a in parts {
            for b in parts {
                let joined = (a.concat()).cmp(&b.concat());
                assert_eq!(cmp_joined(a, b), joined, "{a:?} {b:?}");
                // A smaller head means a smaller name (equal heads decide nothing).
                let (ha, hb) = (
                    head(&(a[0], a[1], "".into())),
                    head(&(b[0], b[1], "".into())),
                );
                if ha != hb {
                    assert_eq!(ha.cmp(&hb), joined, "{a:?} {b:?}");
                }
            }
        }
    }

    /// One pinned key per kind: a change to any kind's encoding fails here and must be
    /// deliberate (bump [`FORMAT_VERSION`], then update these).
    /// The id is git's SHA-256 blob id after every carriage return is left out: `printf
    /// 'a\nb' | git hash-object --stdin` in a `git init --object-format=sha256` repository
    /// prints 62eed5e7...; the CLI test asks git itself about a built archive.
    #[test]
    fn omnibor_ids_are_git_blob_ids_without_carriage_returns() {
        let git = "62eed5e71f7a366dc0fdfc811482ed763c79656d1a26eebf338d2896d8998648";
        assert_eq!(
            OmniborId::id_of(b"a\nb"),
            format!("gitoid:blob:sha256:{git}")
        );
        assert_eq!(OmniborId::id_of(b"a\r\nb\r"), OmniborId::id_of(b"a\nb"));
        assert_ne!(OmniborId::id_of(b"a\nb"), OmniborId::id_of(b"a\nc"));
    }

    #[test]
    fn golden_keys_pin_the_encoding() {
        let golden = [
            (
                "ci-workflow",
                "5c54b355b5df3223261a0a773e617b5d485c96522624d50fdd82a852d9c23e96",
            ),
            (
                "cargo-build",
                "fa9ad0ae2b08bcfa862a378a8b00fe72c80455f1209f115b1f7f6850eb281da2",
            ),
            (
                "archive",
                "7f6948cfdf021a8ad317c9fec4443b0ec0c4eebb30f4751fc5e9cf32262e094c",
            ),
            (
                "checksum",
                "5a22128b8605528c006309862ee6411ef405d72a420ea450588afb8c7dd8989e",
            ),
            (
                "omnibor-id",
                "6c3252bc70a9e60df3517202fa5c5ae80a8f238c0ac52f3120e61cb455983140",
            ),
            (
                "unified-checksum",
                "3451cd3ad5eef757c9d807f3582bd11dba980fcd51343636c10411cebe0fe712",
            ),
            (
                "source-tarball",
                "bf799cbd5d90d60428383a44bd4d918d279da109d7448942b8ec20130d9443f1",
            ),
            (
                "installer",
                "86bae5dbcaf752c435607e23a61dbe8c719b33404ca9ae0de732b68c5d5c642e",
            ),
            (
                "extra-artifacts",
                "38d88a1302ee12fbb8d9d95c0b4ece760576a4522440953832aba0b1fcc92c8a",
            ),
            (
                "sbom",
                "8a84eae6380d1e87064bba602e21ce8536ca615c7ae657ee642a0bad11e3fad9",
            ),
            (
                "msi",
                "9f50d6fec99bb138577204e01701380196f507d11ff7db6641f411135818bf05",
            ),
            (
                "crate-build",
                "d1f29be78917c6f77fe00d065a86401b7d79de8039f1c2f5a754545af1b83658",
            ),
            (
                "crate-sources",
                "6d67cf4163a61ca2c427aee62c9f1c954b5434ceb1c86863bca15367cab4a436",
            ),
            (
                "cargo-build",
                "e5b471755878731e93b27e131ac5f3dc2801f1e2e28d596d61b0ce6ded3f5cf3",
            ),
            (
                "sign",
                "e3c0f4550ab4253b5e7ae6277ff0696b2728166c6105e1048d23895a8492e58b",
            ),
            (
                "generic-build",
                "d89e7cac2a24d77a229c2787e1ceb3f0ce295beb537b6187f18cfbc5ec9c4edd",
            ),
        ];
        let got: Vec<(&str, String)> = samples()
            .iter()
            .map(|r| (r.kind(), r.key().to_hex()))
            .collect();
        for ((kind, key), (want_kind, want_key)) in got.iter().zip(golden) {
            assert_eq!(*kind, want_kind);
            assert_eq!(key, want_key, "the {kind} key changed: {got:?}");
        }
        assert_eq!(got.len(), golden.len(), "{got:?}");
    }

    /// Edges come from the fields; each names an input that carries the consumed key.
    #[test]
    fn consumed_edges_match_the_inputs() {
        for r in samples() {
            let inputs = r.inputs();
            for c in r.consumed() {
                let v = inputs
                    .get(&c.input)
                    .unwrap_or_else(|| panic!("{}: no input {}", r.kind(), c.input));
                assert!(
                    v.contains(&c.key.to_hex()),
                    "{}: {} = {v}",
                    r.kind(),
                    c.input
                );
            }
        }
        let kinds_with_edges: Vec<&str> = samples()
            .iter()
            .filter(|r| !r.consumed().is_empty())
            .map(|r| r.kind())
            .collect();
        assert_eq!(
            kinds_with_edges,
            [
                "archive",
                "checksum",
                "omnibor-id",
                "unified-checksum",
                "installer",
                "msi",
                "cargo-build",
                "sign"
            ]
        );
    }

    /// The input table atop this file lists every input name each kind uses.
    #[test]
    fn the_input_table_matches_the_code() {
        let doc: Vec<&str> = include_str!("recipe.rs")
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .filter(|l| l.starts_with("//! | `"))
            .collect();
        for r in samples() {
            for name in r.inputs().keys() {
                // `file:src/main.rs` is documented as `file:PATH`, `config:features` as itself.
                let pattern = match name.split_once(':') {
                    Some(("config", _)) => name.clone(),
                    Some((prefix, _)) => format!("{prefix}:"),
                    None => name.clone(),
                };
                let row = doc
                    .iter()
                    .find(|l| l.contains(&format!("`{pattern}")))
                    .unwrap_or_else(|| panic!("input {name} ({pattern}) is not in the table"));
                let kinds = row.rsplit('|').nth(1).unwrap_or_default();
                assert!(
                    kinds.contains("all") || kinds.contains(r.kind()),
                    "{pattern}: the table's row does not list {}: {row}",
                    r.kind()
                );
            }
        }
    }

    #[test]
    fn unset_and_the_string_unset_differ() {
        let mut a = build();
        Arc::make_mut(&mut a.env).insert("CC".into(), None);
        let mut b = build();
        Arc::make_mut(&mut b.env).insert("CC".into(), Some("(unset)".into()));
        assert_ne!(Recipe::CargoBuild(a).key(), Recipe::CargoBuild(b).key());
    }

    #[test]
    fn diff_names_each_change() {
        let a = Recipe::CargoBuild(build()).inputs();
        let mut b2 = build();
        Arc::make_mut(&mut b2.env).insert("RUSTFLAGS".into(), Some("-g".into()));
        Arc::make_mut(&mut b2.sources).insert(
            "src/lib.rs".into(),
            FileInput {
                digest: ContentDigest::of_bytes(b""),
                executable: false,
            },
        );
        let d = diff_inputs(&a, &Recipe::CargoBuild(b2).inputs());
        let names: Vec<&str> = d.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["env:RUSTFLAGS", "file:src/lib.rs"]);
    }

    #[test]
    fn target_env_prefix_is_cargos_spelling() {
        assert_eq!(
            target_env_prefix("x86_64-unknown-linux-gnu"),
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_"
        );
    }
}
