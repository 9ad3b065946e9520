//! Every config key cargo-dist 0.34 documents, described once.
//!
//! Parsing (name and type checks), layering (which keys a package may override, which extend),
//! the did-you-mean list for unknown keys, the "accepted, not acted on yet" warning and the
//! README's config table all come from [`KEYS`]. Each key is a `static` of its own, the handle
//! resolving reads it by (never by its name as a string); an enumerated key's allowed values
//! come from its enum ([`Vocabulary`]), which resolving parses them with; a recipe input named
//! after a key takes the key's name from `dist_recipes::config_keys`, as the key here does.
//! `tests/cli/vocabulary.rs` walks this table: every key acted on, and every value of an
//! enumerated one, changes what a plan or the workflow says.

use serde_json::Value;

use dist_recipes::archive::ArchiveFormat;
use dist_recipes::config_keys as names;
use dist_recipes::installer::InstallerKind;
use dist_recipes::target::LibraryKind;
use dist_recipes::vocab::Vocabulary;
use dist_recipes::workflow::AttestPhase;

use super::types::{shape, Ty, Words};
use super::vocab::{
    Checksum, CiBackend, Generated, GithubRelease, Hosting, NpmInstallerStyle, PrRunMode,
    SslComEnvironment,
};

/// Where a key may be set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// Only the workspace config: it shapes the whole release. Set on a package, it is ignored
    /// with a warning (as cargo-dist does).
    Workspace,
    /// The workspace sets the default; a package may override it.
    Any,
}

/// How a package's value combines with the workspace's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Merge {
    Replace,
    /// Both lists apply (`include`).
    Extend,
}

pub struct KeyDef {
    pub name: &'static str,
    pub scope: Scope,
    pub merge: Merge,
    pub ty: Ty,
    /// The default, as the README shows it.
    pub default: &'static str,
    /// A valid value, as TOML (the README's examples and the every-key test use it).
    pub example: &'static str,
    pub meaning: &'static str,
    /// False: accepted and type-checked, but nothing this tool plans, builds or generates
    /// depends on it yet (named in one warning when set).
    pub acted: bool,
}

const fn key(
    name: &'static str,
    scope: Scope,
    ty: Ty,
    (default, example): (&'static str, &'static str),
    meaning: &'static str,
    acted: bool,
) -> KeyDef {
    KeyDef {
        name,
        scope,
        merge: Merge::Replace,
        ty,
        default,
        example,
        meaning,
        acted,
    }
}

use Scope::{Any, Workspace as Ws};

/// Each key as a `pub static` of its own (the handle code reads it by), and [`KEYS`], every key
/// in the README's order: one list, so a key cannot be defined and left out of parsing.
macro_rules! table {
    ($($id:ident = $def:expr;)*) => {
        $(pub static $id: KeyDef = $def;)*
        /// Every key cargo-dist documents (and this tool's own), in the README's order.
        pub static KEYS: &[&KeyDef] = &[$(&$id),*];
    };
}

/// The allowed words of each enumerated key, from its enum ([`Vocabulary`]).
const fn words<V: Vocabulary>() -> Words {
    Words::of::<V>()
}

table! {
    // What is released, for which platforms.
    PACKAGES = key("packages", Ws, Ty::Strings(None), ("unset", "[\"app\"]"), "exactly these packages are Apps (overrides `dist` and `publish`); also read from dist-workspace.toml's [workspace]", true);
    DIST = key("dist", Any, Ty::Bool, ("unset (follows `publish`)", "true"), "make (true) or stop (false) a package being an App, overriding `publish`", true);
    TARGETS = key("targets", Any, Ty::Strings(Some(check_triple)), ("[]", "[\"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\"]"), "target triples to build for", true);
    INSTALLERS = key("installers", Any, Ty::ListOf(words::<InstallerKind>()), ("[]", "[\"shell\", \"powershell\", \"msi\"]"), "installers to make for each App: `msi` per x86_64 Windows target is built by the global phase with wixl from `wix/main.wxs` (which `generate` writes); `pkg` per macOS target is planned, not built; `deb` and `rpm` (this tool's own) per Linux target are a Debian and an RPM package built in Rust from the target's build (see \"Linux packages\"); `scoop` and `winget` (this tool's own) are a Scoop manifest `{app}.json` and winget-pkgs manifests `{app}-winget.tar.gz` of the Windows archives; `aur` (this tool's own) is an AUR package `{app}-aur.tar.gz` (PKGBUILD and .SRCINFO) of the Linux archives", true);
    INSTALL_UPDATER = key("install-updater", Ws, Ty::Bool, ("false", "true"), "an `{app}-{target}-update` updater per target: axoupdater-cli 0.10.3 built from crates.io (its `.crate` checked against the pinned sha256), installed by the shell and PowerShell installers as `{app}-update` beside the binaries with the install receipt it reads", true);
    ALWAYS_USE_LATEST_UPDATER = key("always-use-latest-updater", Ws, Ty::Bool, ("false", "true"), "build the newest axoupdater-cli on crates.io (neither yanked nor a prerelease) as the updater instead of the pinned one: learnt from the crates.io index once per run (so `plan` and `build` need it; an error names it when it cannot be read), and its version and registry sha256 are the updater recipe's inputs; the plan, build and global jobs each ask, so a release of axoupdater-cli between them makes the global job name the updater it lacks", true);
    BINARIES = key("binaries", Any, Ty::MapOfStrings, ("{}", "{ x86_64-unknown-linux-gnu = [\"app\"] }"), "per target triple (or `\"*\"`): the binaries to build and ship for it (the App's binaries otherwise)", true);
    BIN_ALIASES = key(names::BIN_ALIASES, Any, Ty::MapOfStrings, ("{}", "{ app = [\"ap\"] }"), "per binary: other names the installers give it (shell: a symlink, PowerShell: a copy, Homebrew: `install_symlink`, npm: another bin entry)", true);
    PACKAGE_LIBRARIES = key("package-libraries", Any, Ty::OneOrListOf(words::<LibraryKind>()), ("[]", "[\"cdylib\"]"), "library kinds to put in archives beside the binaries, when the package's lib target builds them (`cdylib`: `lib{name}.so`/`.dylib`/`{name}.dll`; `cstaticlib`: `lib{name}.a`/`{name}.lib`)", true);
    INSTALL_LIBRARIES = key("install-libraries", Any, Ty::OneOrListOf(words::<LibraryKind>()), ("[]", "\"cdylib\""), "packaged library kinds the shell, PowerShell and Homebrew installers install: beside the binaries (Homebrew: into its `lib`)", true);
    EXTRA_ARTIFACTS = key("extra-artifacts", Any, Ty::Shaped("an array of tables with `artifacts` and `build` (arrays of strings) and optional `working-dir`", check_extra_artifacts), ("[]", "[{ artifacts = [\"schema.json\"], build = [\"make\", \"schema\"] }]"), "files made by a command of yours and uploaded with the release: the command runs in a copy of the workspace (every file but `target/` and hidden directories, all key inputs) in `working-dir` (relative to the file declaring it), and each listed file becomes an artifact", true);
    SOURCE_TARBALL = key("source-tarball", Ws, Ty::Bool, ("true", "true"), "make `source.tar.gz` (and its `.sha256`) from the committed tree", true);
    RECURSIVE_TARBALL = key("recursive-tarball", Ws, Ty::Bool, ("false", "false"), "include the committed contents of git submodules (recursively, each at the commit the tree records) in the source tarball", true);
    CHECKSUM = key(names::CHECKSUM, Ws, Ty::OneOf(words::<Checksum>()), ("\"sha256\"", "\"sha512\""), "checksum style of the checksum files (`{artifact}.{style}`, `{style}.sum`); \"false\" for none", true);
    // What goes into archives.
    UNIX_ARCHIVE = key(names::UNIX_ARCHIVE, Any, Ty::OneOf(words::<ArchiveFormat>()), ("\".tar.xz\"", "\".tar.gz\""), "archive format for non-Windows targets", true);
    WINDOWS_ARCHIVE = key(names::WINDOWS_ARCHIVE, Any, Ty::OneOf(words::<ArchiveFormat>()), ("\".zip\"", "\".zip\""), "archive format for Windows targets", true);
    INCLUDE = KeyDef { merge: Merge::Extend, ..key("include", Any, Ty::Strings(Some(check_include)), ("[]", "[\"docs/\"]"), "extra files or directories in every archive, relative to the file that names them (package lists extend the workspace's)", true) };
    AUTO_INCLUDES = key("auto-includes", Any, Ty::Bool, ("true", "true"), "put README/LICENSE/CHANGELOG files in archives", true);
    // How binaries are built.
    FEATURES = key(names::FEATURES, Any, Ty::Strings(None), ("[]", "[\"fast\"]"), "cargo features to enable", true);
    DEFAULT_FEATURES = key(names::DEFAULT_FEATURES, Any, Ty::Bool, ("true", "true"), "build with default features", true);
    ALL_FEATURES = key(names::ALL_FEATURES, Any, Ty::Bool, ("false", "false"), "build with every feature", true);
    PRECISE_BUILDS = key("precise-builds", Ws, Ty::Bool, ("false", "true"), "build each package on its own (this tool always does)", true);
    MSVC_CRT_STATIC = key(names::MSVC_CRT_STATIC, Ws, Ty::Bool, ("true", "false"), "`*-windows-msvc` builds get `-Ctarget-feature=+crt-static` (the MSVC C runtime linked statically, so no Visual C++ redistributable is needed); `false` links it dynamically", true);
    MIN_GLIBC_VERSION = key("min-glibc-version", Any, Ty::Shaped("a table of target triple (or \"*\") to glibc version (\"2.17\")", check_glibc_versions), ("{}", "{ x86_64-unknown-linux-gnu = \"2.17\" }"), "per target (or `\"*\"` for the rest): the oldest glibc the `*-linux-gnu*` binaries need; the shell installer checks the host's glibc (`ldd --version`) against it, passes over an archive the host cannot run for the next it can (a musl build), and otherwise stops naming both versions", true);
    CARGO_AUDITABLE = key("cargo-auditable", Ws, Ty::Bool, ("false", "true"), "build with `cargo auditable` (the dependency tree embedded in each binary's `.dep-v0` section); this tool installs its pinned cargo-auditable into its tools directory when missing", true);
    CARGO_CYCLONEDX = key("cargo-cyclonedx", Any, Ty::Bool, ("false", "false"), "a CycloneDX SBOM `{package}.cdx.xml` per release, also put in each of its archives, made by the pinned cargo-cyclonedx 0.5.9 (installed into the tools directory when missing) on a copy of the workspace", true);
    OMNIBOR = key("omnibor", Ws, Ty::Bool, ("false", "false"), "an OmniBOR id `{artifact}.omnibor` beside each archive, MSI/pkg and the source tarball (a pkg's is planned, not made, like the pkg)", true);
    RUST_TOOLCHAIN_VERSION = key("rust-toolchain-version", Ws, Ty::Str(Some(check_toolchain)), ("unset", "\"1.89\""), "(deprecated, as in cargo-dist: prefer rust-toolchain.toml) the toolchain every job that runs this tool in CI installs and makes rustup's default (`rustup update V --no-self-update && rustup default V`) before it runs: it is in every cargo build's key, so plan, build and global jobs agree; local builds use your own toolchain", true);
    DEPENDENCIES = key("dependencies", Any, Ty::Shaped("a table of `homebrew`, `apt` and `chocolatey` tables, each package = \"version\" or { version, targets, stage }", check_dependencies), ("{}", "{ apt = { cmake = \"*\", musl-tools = { version = \"*\", targets = [\"x86_64-unknown-linux-musl\"] } }, homebrew = { mpv = \"*\" } }"), "system packages the build needs: each CI build job installs those of its target (apt on Linux, Homebrew on macOS, Chocolatey on Windows; `stage` other than build skipped)", true);
    // Installers.
    INSTALL_PATH = key(names::INSTALL_PATH, Any, Ty::StrOrStrings(Some(check_install_path), Some(check_install_path_list)), ("\"CARGO_HOME\"", "[\"$APP_HOME/bin\", \"~/.app/bin\"]"), "where installers put binaries: `CARGO_HOME`, `~/subdir`, `$VAR/subdir`, or a list of the last two tried in order", true);
    INSTALL_SUCCESS_MSG = key(names::INSTALL_SUCCESS_MSG, Any, Ty::Str(None), ("\"everything's installed!\"", "\"app is ready\""), "what the shell and PowerShell installers print when done", true);
    CUSTOM_SUCCESS_MSG = key("custom-success-msg", Any, Ty::Str(None), ("\"everything's installed!\"", "\"app is ready\""), "older name of `install-success-msg`", true);
    NPM_PACKAGE = key(names::NPM_PACKAGE, Any, Ty::Str(None), ("the package name", "\"app-cli\""), "npm package name", true);
    NPM_SHRINKWRAP = key(names::NPM_SHRINKWRAP, Any, Ty::Bool, ("true", "false"), "ship `npm-shrinkwrap.json` in the npm package (on by default, as in cargo-dist): the lockfile npm honours in a published package, naming the package and, with `npm-installer-style = \"packages\"`, each platform package at its exact version with its `os`/`cpu`/`libc`; the download style has no dependencies to lock. `false` leaves it out", true);
    NPM_INSTALLER_STYLE = key("npm-installer-style", Any, Ty::OneOf(words::<NpmInstallerStyle>()), ("\"download\"", "\"packages\""), "(this tool's own) how the npm package gets its binaries: `download`, a launcher that downloads the host's archive on first run (no install script either way); `packages`, one package per target holding its binaries (`{app}-{target}-npm-package.tar.gz`, made by the target's build job, limited to its platform by `os`/`cpu`/`libc`) listed as `optionalDependencies` of the main package, whose launcher runs the one npm or pnpm installed", true);
    NPM_SCOPE = key("npm-scope", Any, Ty::Str(Some(check_npm_scope)), ("unset", "\"@my-org\""), "npm scope, like `@my-org`", true);
    FORMULA = key(names::FORMULA, Any, Ty::Str(None), ("the package name", "\"app-cli\""), "Homebrew formula name (`{formula}.rb`)", true);
    TAP = key("tap", Any, Ty::Str(Some(check_owner_repo)), ("unset", "\"my-org/homebrew-tap\""), "Homebrew tap repository the publish job pushes to", true);
    SCOOP_BUCKET = key("scoop-bucket", Ws, Ty::Str(Some(check_owner_repo)), ("unset", "\"my-org/scoop-bucket\""), "(this tool's own) Scoop bucket repository the `scoop` publish job commits the manifests to, in `bucket/` (secret SCOOP_BUCKET_TOKEN)", true);
    WINGET_FORK = key("winget-fork", Ws, Ty::Str(Some(check_owner_repo)), ("unset", "\"my-org/winget-pkgs\""), "(this tool's own) your fork of microsoft/winget-pkgs: the `winget` publish job pushes a branch there and opens the pull request (secret WINGET_TOKEN)", true);
    DISPLAY = key("display", Any, Ty::Bool, ("true", "true"), "list the App in the release notes' install section", true);
    DISPLAY_NAME = key("display-name", Any, Ty::Str(None), ("the package name", "\"App\""), "the App's name in the release notes' install section", true);
    MAC_PKG_CONFIG = key("mac-pkg-config", Any, Ty::Shaped("a table with `identifier` and optional `install-location` (strings)", check_mac_pkg), ("unset", "{ identifier = \"dev.example.app\", install-location = \"/opt/app\" }"), "macOS .pkg installer settings: `identifier` (a .pkg is refused without it, as by cargo-dist) and `install-location`; setting either turns the pkg installer on, as in cargo-dist 0.34. The .pkg is planned, not built (it needs macOS's pkgbuild)", true);
    SIMPLE_DOWNLOAD_URL = key("simple-download-url", Ws, Ty::Str(None), ("unset", "\"https://example.com/{tag}\""), "where `hosting = \"simple\"` serves the release's files, `{tag}` replaced by the tag: the installers download from it when `simple` comes first in `hosting`, and the manifest's `hosting.simple` names it", true);
    HOSTING = key("hosting", Ws, Ty::OneOrListOf(words::<Hosting>()), ("[\"github\"]", "\"github\""), "where artifacts are hosted, first preferred: GitHub Releases (`\"github\"`, the workflow creates them), and `\"simple\"`, files you upload to `simple-download-url` (required with it); `\"axodotdev\"` is refused, as cargo-dist 0.34 refuses it", true);
    // The release and its CI.
    CARGO_DIST_VERSION = key(names::CARGO_DIST_VERSION, Ws, Ty::Str(Some(check_semver)), ("unset", "\"0.34.0\""), "the version CI installs", true);
    DIST_VERSION = key("dist-version", Ws, Ty::Str(Some(check_semver)), ("unset", "\"0.34.0\""), "the newer name of `cargo-dist-version`", true);
    CARGO_DIST_URL_OVERRIDE = key("cargo-dist-url-override", Ws, Ty::Str(None), ("unset", "\"https://example.com/dist\""), "the base URL CI installs this tool from (its installers and archives) instead of its own GitHub release", true);
    CI = key(names::CI, Ws, Ty::OneOrListOf(words::<CiBackend>()), ("[]", "\"github\""), "CI backends to generate", true);
    ALLOW_DIRTY = key("allow-dirty", Ws, Ty::BoolOrListOf(words::<Generated>()), ("[]", "[\"ci\"]"), "generated files not to keep in sync (`ci`: the workflow, `msi`: `wix/main.wxs`); `true` for all", true);
    PR_RUN_MODE = key(names::PR_RUN_MODE, Ws, Ty::OneOf(words::<PrRunMode>()), ("\"plan\"", "\"plan\""), "what runs on pull requests", true);
    TAG_NAMESPACE = key("tag-namespace", Ws, Ty::Str(Some(check_tag_namespace)), ("unset", "\"app\""), "the workflow releases only tags starting with it, and is named `{ns}-release.yml` (tag parsing ignores it, as in cargo-dist)", true);
    CREATE_RELEASE = key("create-release", Ws, Ty::Bool, ("true", "true"), "create the GitHub Release (false: another tool created it; the host job uploads to it and leaves publishing to that tool)", true);
    GITHUB_RELEASE = key("github-release", Ws, Ty::OneOf(words::<GithubRelease>()), ("\"auto\"", "\"auto\""), "which job creates the GitHub Release: `host` (a draft, published by announce; `auto` means host) or `announce` (created published, after the publish jobs)", true);
    GITHUB_RELEASES_REPO = key("github-releases-repo", Ws, Ty::Str(Some(check_owner_repo)), ("unset", "\"my-org/releases\""), "host the GitHub Releases in another repository (`owner/repo`): installers and the manifest download from there, and the workflow's host and announce jobs create the release there with the secret GH_RELEASES_TOKEN (the tag points at that repository's default branch)", true);
    GITHUB_RELEASES_SUBMODULE_PATH = key("github-releases-submodule-path", Ws, Ty::Str(None), ("unset", "\"vendor/releases\""), "with `github-releases-repo`: the git submodule (a checkout of that repository) whose commit, as this commit records it, the release's tag is made at; planning reads it (`git submodule status --cached`) into the manifest's `ci.github.external_repo_commit`, and the host job passes it to `gh release create --target` (without it the tag is made at that repository's default branch)", true);
    DISPATCH_RELEASES = key("dispatch-releases", Ws, Ty::Bool, ("false", "false"), "release from a manual workflow run (`workflow_dispatch` with a `tag` input) instead of tag pushes", true);
    RELEASE_BRANCH = key("release-branch", Ws, Ty::Str(None), ("unset", "\"main\""), "release on every push to this branch instead of on version tags (unless `dispatch-releases` is on, which wins, as in cargo-dist): the plan job runs with `--tag=timestamp --force-tag`, so each push announces the highest App version as a new prerelease `vX.Y.Z-alpha.SECONDS` (every App at that version), the other jobs take that tag with `--force-tag`, and the release's tag is made at the pushed commit; one run at a time per branch", true);
    PUBLISH_PRERELEASES = key("publish-prereleases", Ws, Ty::Bool, ("false", "false"), "run the publish jobs for prereleases too", true);
    FORCE_LATEST = key("force-latest", Ws, Ty::Bool, ("false", "false"), "mark the Release as GitHub's latest, prereleases included", true);
    GITHUB_CUSTOM_RUNNERS = key("github-custom-runners", Ws, Ty::Shaped("a table of target (or `global`) = \"runner\" or { runner, host, container }", check_runners), ("{}", "{ global = \"ubuntu-24.04\", aarch64-apple-darwin = \"macos-15\", x86_64-unknown-linux-gnu = { container = { image = \"quay.io/pypa/manylinux_2_28_x86_64\", host = \"x86_64-unknown-linux-musl\" } } }"), "CI runners per target triple and `global` (the plan, global, host and announce jobs): a label, or `runner` (default: GitHub's runner for `host`, else for the target), `host` (the runner's triple), `container` (an image, or `{ image, host, package-manager }`: the build job runs in it)", true);
    GITHUB_CUSTOM_JOB_PERMISSIONS = key("github-custom-job-permissions", Ws, Ty::Shaped("a table of job = { permission = \"read\" | \"write\" | \"none\" }", check_permissions), ("{}", "{ publish-crates = { packages = \"write\" } }"), "permissions of custom jobs (by the job's NAME)", true);
    GITHUB_BUILD_SETUP = key("github-build-setup", Ws, Ty::Str(None), ("unset", "\"../build-setup.yml\""), "a file (relative to .github/workflows/) holding a YAML list of steps the build jobs run after checkout", true);
    GITHUB_ACTION_COMMITS = key("github-action-commits", Ws, Ty::MapOfStr, ("{}", "{ \"actions/checkout\" = \"11bd71901bbe5b1630ceea73d27597364c9af683\" }"), "pin the workflow's actions (`actions/checkout` = \"<sha>\") to these refs", true);
    GITHUB_ATTESTATIONS = key("github-attestations", Ws, Ty::Bool, ("false", "true"), "attest every artifact with GitHub's build provenance (`actions/attest-build-provenance`)", true);
    GITHUB_ATTESTATIONS_PHASE = key("github-attestations-phase", Ws, Ty::OneOf(words::<AttestPhase>()), ("\"build-local-artifacts\"", "\"host\""), "which job attests: `build-local-artifacts` (each target's files), `host` (everything uploaded, before the release is published) or `announce` (everything released, once published)", true);
    GITHUB_ATTESTATIONS_FILTERS = key("github-attestations-filters", Ws, Ty::Strings(None), ("[]", "[\"*.tar.gz\"]"), "globs of the artifact files to attest", true);
    PLAN_JOBS = key("plan-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./plan-check\"]"), "custom jobs (`./NAME`: .github/workflows/NAME.yml, called with the plan) after the plan job", true);
    LOCAL_ARTIFACTS_JOBS = key("local-artifacts-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./extra-build\"]"), "custom jobs beside the build-local-artifacts jobs", true);
    GLOBAL_ARTIFACTS_JOBS = key("global-artifacts-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./extra-global\"]"), "custom jobs beside the build-global-artifacts job", true);
    HOST_JOBS = key("host-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./host-check\"]"), "custom jobs after the host job, before announcing", true);
    PUBLISH_JOBS = key("publish-jobs", Ws, Ty::Strings(Some(check_publish_job)), ("[]", "[\"homebrew\", \"./publish-crates\"]"), "publish jobs after the release is hosted: `homebrew` (pushes the formulas to `tap`; secret HOMEBREW_TAP_TOKEN), `npm` (publishes the packages; secret NPM_TOKEN), and this tool's own `scoop` (to `scoop-bucket`), `winget` (a pull request from `winget-fork`), `aur` (pushes each `{app}-bin`; secret AUR_SSH_PRIVATE_KEY); `./NAME` (calls .github/workflows/NAME.yml with the plan)", true);
    BUILD_LOCAL_ARTIFACTS_JOBS = key("build-local-artifacts-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./extra-build\"]"), "older name of `local-artifacts-jobs`", true);
    BUILD_GLOBAL_ARTIFACTS_JOBS = key("build-global-artifacts-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./extra-global\"]"), "older name of `global-artifacts-jobs`", true);
    POST_ANNOUNCE_JOBS = key("post-announce-jobs", Ws, Ty::Strings(Some(check_job)), ("[]", "[\"./notify\"]"), "custom jobs after the release is announced", true);
    BUILD_LOCAL_ARTIFACTS = key("build-local-artifacts", Ws, Ty::Bool, ("true", "false"), "run the built-in `build-local-artifacts` jobs; `false` leaves the per-target files to your `local-artifacts-jobs`, which upload them as `artifacts-*`: the global job downloads those into `target/distrib/` and `build --artifacts=global` takes the archives from there (by name, unverified: each is said in the build's output, and the installers and `sha256.sum` cover the bytes it found), and makes no MSI (it needs the Windows build)", true);
    MERGE_TASKS = key("merge-tasks", Ws, Ty::Bool, ("false", "false"), "build the targets that share a runner (and container) in one CI job, as cargo-dist merges them: one build-matrix row per runner, listing its targets (the manifest's `ci.github.artifacts_matrix` likewise), instead of a job per target", true);
    FAIL_FAST = key("fail-fast", Ws, Ty::Bool, ("false", "false"), "cancel the other build jobs when one fails", true);
    CACHE_BUILDS = key("cache-builds", Ws, Ty::Bool, ("false (true with `release-branch` or `pr-run-mode = \"upload\"`, as in cargo-dist)", "true"), "the CI build jobs also cache cargo's compiled state (each target's build sandbox), keyed by target and Cargo.lock; the store is cached always", true);
    // This tool's own: the shared remote store.
    REMOTE_STORE = key("remote-store", Ws, Ty::Str(Some(check_remote_url)), ("unset", "\"webdav+https://cache.example.com/dist\""), "(this tool's own) a remote store behind the local one, for every build and for CI: `s3://bucket/prefix`, `webdav+http(s)://...`, `http(s)://...`, `redis://host:port/db`, `file:///dir`, or `gha` (the GitHub Actions cache, which the generated workflow then uses in place of store bundles); `--remote`/`CARGO_DIST_REMOTE` override it", true);
    REMOTE_TRUSTED_KEYS = key("remote-trusted-keys", Ws, Ty::Strings(Some(check_public_key)), ("[]", "[\"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c\"]"), "(this tool's own) ed25519 public keys (hex) whose signed records a build accepts from the remote store, besides `CARGO_DIST_REMOTE_TRUSTED_KEYS` and the signing key's own", true);
    // Code signing (see the README's "Code signing": the keys come from the environment).
    WINDOWS_SIGN = key("windows-sign", Ws, Ty::Bool, ("false", "true"), "(this tool's own) sign every `.exe` and `.dll` of Windows builds, the Windows updaters, the MSIs and the PowerShell installer with Authenticode (osslsigncode), before anything archives or checksums them, from the PKCS#12 file or PKCS#11 token the `CARGO_DIST_WINDOWS_SIGN_*` variables name; without them builds are unsigned and say so", true);
    SSLDOTCOM_WINDOWS_SIGN = key("ssldotcom-windows-sign", Ws, Ty::OneOf(words::<SslComEnvironment>()), ("unset", "\"test\""), "sign Windows artifacts as `windows-sign` does, by SSL.com's eSigner (`prod`, or `test`: its sandbox) with cargo-dist's `SSLDOTCOM_USERNAME`/`PASSWORD`/`CREDENTIAL_ID`/`TOTP_SECRET` secrets (this tool's own `CARGO_DIST_WINDOWS_SIGN_*` variables win when set), timestamped by SSL.com's server (`http://ts.ssl.com`) for `prod` unless `CARGO_DIST_WINDOWS_SIGN_TIMESTAMP_URL` names one", true);
    MACOS_SIGN = key("macos-sign", Ws, Ty::Bool, ("false", "true"), "sign every Mach-O binary (and `.dylib`) of macOS builds, and the macOS updaters, with the hardened runtime (what notarization needs), before anything archives or checksums them, with rcodesign (apple-codesign 0.29.0, installed into this tool's tools directory when missing) from the PKCS#12 identity in `CODESIGN_CERTIFICATE` (base64) and `CODESIGN_CERTIFICATE_PASSWORD`, timestamped by Apple's server unless `CARGO_DIST_MACOS_SIGN_TIMESTAMP_URL` says another (or `none`); with an App Store Connect API key (`CARGO_DIST_MACOS_NOTARY_KEY`, `_KEY_ID`, `_ISSUER_ID`) the signed files are notarized by Apple's notary service, and a refusal fails the build", true);
}

/// The definition of `name`, if cargo-dist documents it.
pub fn lookup(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().copied().find(|k| k.name == name)
}

/// The documented key closest to an unknown one, for "did you mean".
pub fn closest(name: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (strsim::jaro_winkler(name, k.name), k.name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The README's config table, rendered from [`KEYS`].
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| key | scope | type | default | example | meaning | acted on |\n|---|---|---|---|---|---|---|\n",
    );
    for k in KEYS {
        let scope = match k.scope {
            Scope::Workspace => "workspace",
            Scope::Any => "any",
        };
        let row = [
            format!("`{}`", k.name),
            scope.to_string(),
            k.ty.describe(),
            k.default.to_string(),
            format!("`{}`", k.example),
            k.meaning.to_string(),
            if k.acted { "yes" } else { "not yet" }.to_string(),
        ];
        out.push_str("| ");
        out.push_str(&row.map(|c| c.replace('|', "\\|")).join(" | "));
        out.push_str(" |\n");
    }
    out
}

fn check_triple(t: &str) -> Result<(), String> {
    let parts: Vec<&str> = t.split('-').collect();
    let ok = parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        });
    ok.then_some(())
        .ok_or_else(|| "a Rust target triple like \"x86_64-unknown-linux-gnu\"".into())
}

/// It names the workflow file, so it must be a plain file-name part.
fn check_tag_namespace(s: &str) -> Result<(), String> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err("a tag prefix of letters, digits, '-', '_' or '.'".into())
    }
}

fn check_include(p: &str) -> Result<(), String> {
    if p.starts_with('/') || p.split('/').any(|c| c == "..") {
        Err("a path inside the package, relative to the file that names it".into())
    } else {
        Ok(())
    }
}

fn check_install_path(p: &str) -> Result<(), String> {
    dist_recipes::installer::InstallPath::parse(p)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `CARGO_HOME` stands alone: cargo-dist 0.34 refuses it in a list ("Incompatible install
/// paths").
fn check_install_path_list(paths: &[&str]) -> Result<(), String> {
    if paths.len() > 1 && paths.contains(&"CARGO_HOME") {
        return Err("\"CARGO_HOME\" alone (cargo-dist 0.34 refuses it in a list too), or a list of `$VAR/subdir` and `~/subdir` paths".into());
    }
    Ok(())
}

fn check_npm_scope(s: &str) -> Result<(), String> {
    if s.starts_with('@') && s.len() >= 2 && !s.contains('/') {
        Ok(())
    } else {
        Err("an npm scope like \"@my-org\"".into())
    }
}

/// A rustup toolchain name (`1.89`, `1.89.0`, `stable`, `nightly-2026-01-01`): what rustup
/// accepts, and safe to pass to it.
fn check_toolchain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    ok.then_some(())
        .ok_or_else(|| "a rustup toolchain name like \"1.89\" or \"stable\"".into())
}

fn check_semver(s: &str) -> Result<(), String> {
    semver::Version::parse(s)
        .map(drop)
        .map_err(|_| "a semver version like \"0.1.0\"".into())
}

/// A GitHub `owner/repo`: the names GitHub allows, so the value is safe to write into workflows.
fn check_remote_url(s: &str) -> Result<(), String> {
    const SCHEMES: &[&str] = &[
        "s3://",
        "webdav+http://",
        "webdav+https://",
        "http://",
        "https://",
        "redis://",
        "rediss://",
        "file://",
    ];
    if s == "gha"
        || SCHEMES
            .iter()
            .any(|p| s.starts_with(p) && s.len() > p.len())
    {
        Ok(())
    } else {
        Err("a remote store URL (s3://, webdav+http(s)://, http(s)://, redis://, file://) or \"gha\"".into())
    }
}

fn check_public_key(s: &str) -> Result<(), String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("an ed25519 public key: 64 hex characters".into())
    }
}

fn check_owner_repo(s: &str) -> Result<(), String> {
    let name = |n: &str, extra: &[char]| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || extra.contains(&c))
    };
    match s.split_once('/') {
        Some((o, r)) if name(o, &[]) && name(r, &['.', '_']) => Ok(()),
        _ => Err("\"owner/repo\"".into()),
    }
}

/// A built-in job name or `./file` (a reusable workflow of the repository).
fn check_publish_job(s: &str) -> Result<(), String> {
    if matches!(s, "scoop" | "winget" | "aur") {
        return Ok(());
    }
    check_job(s).map_err(|_| {
        "\"homebrew\", \"npm\", \"scoop\", \"winget\", \"aur\", or \"./job-name\" for a workflow of your own".into()
    })
}

fn check_job(s: &str) -> Result<(), String> {
    if matches!(s, "homebrew" | "npm") || s.strip_prefix("./").is_some_and(|r| !r.is_empty()) {
        Ok(())
    } else {
        Err("\"homebrew\", \"npm\", or \"./job-name\" for a workflow of your own".into())
    }
}

fn check_runners(v: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    for (target, runner) in shape::table("github-custom-runners", v)? {
        let path = format!("github-custom-runners.{target}");
        if runner.is_string() {
            continue;
        }
        let t = shape::table(&path, runner).map_err(|_| {
            format!(
                "`{path}` must be a runner name or a table with `runner`, `host` or `container`"
            )
        })?;
        shape::only(&path, t, &["runner", "host", "container"], unknown);
        for field in ["runner", "host"] {
            if let Some(f) = t.get(field) {
                shape::string(&format!("{path}.{field}"), f)?;
            }
        }
        match t.get("container") {
            None | Some(Value::String(_)) => {}
            Some(c) => {
                let cpath = format!("{path}.container");
                let ct = shape::table(&cpath, c)?;
                shape::only(&cpath, ct, &["image", "host", "package-manager"], unknown);
                match ct.get("image") {
                    Some(i) => shape::string(&format!("{cpath}.image"), i)?,
                    None => return Err(format!("`{cpath}` needs an `image`")),
                }
                for field in ["host", "package-manager"] {
                    if let Some(f) = ct.get(field) {
                        shape::string(&format!("{cpath}.{field}"), f)?;
                    }
                }
                let managers = ["apt", "dnf", "yum", "apk"];
                if let Some(pm) = ct.get("package-manager").and_then(Value::as_str) {
                    if !managers.contains(&pm) {
                        return Err(format!(
                            "`{cpath}.package-manager` is {pm:?}; expected one of {managers:?} (or leave it out to use whichever the image has)"
                        ));
                    }
                }
            }
        }
        if target == "global" && t.contains_key("container") {
            return Err(
                "`github-custom-runners.global.container`: the plan, global, host and announce jobs run on the runner itself (they use its `gh` and `jq`); give containers to targets".into(),
            );
        }
    }
    Ok(())
}

fn check_dependencies(v: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    let t = shape::table("dependencies", v)?;
    shape::only(
        "dependencies",
        t,
        &["homebrew", "apt", "chocolatey"],
        unknown,
    );
    for (manager, pkgs) in t
        .iter()
        .filter(|(m, _)| ["homebrew", "apt", "chocolatey"].contains(&m.as_str()))
    {
        let mpath = format!("dependencies.{manager}");
        for (name, spec) in shape::table(&mpath, pkgs)? {
            let path = format!("{mpath}.{name}");
            if spec.is_string() {
                continue;
            }
            let st = shape::table(&path, spec).map_err(|_| {
                format!("`{path}` must be a version string or a table with `version`, `targets`, `stage`")
            })?;
            shape::only(&path, st, &["version", "targets", "stage"], unknown);
            if let Some(v) = st.get("version") {
                shape::string(&format!("{path}.version"), v)?;
            }
            if let Some(f) = st.get("targets") {
                shape::string_array(&format!("{path}.targets"), f)?;
            }
            // `stage = "build"` or a list of stages.
            match st.get("stage") {
                None | Some(Value::String(_)) => {}
                Some(f) => shape::string_array(&format!("{path}.stage"), f)?,
            }
        }
    }
    Ok(())
}

/// `min-glibc-version`: target (or `*`) -> `"MAJOR.MINOR"`.
fn check_glibc_versions(v: &Value, _unknown: &mut Vec<String>) -> Result<(), String> {
    let t = shape::table("min-glibc-version", v)?;
    for (target, version) in t {
        if version.as_str().is_none_or(|s| parse_glibc(s).is_none()) {
            return Err(format!(
                "`min-glibc-version` has {} for {}: a glibc version is a string like \"2.17\"",
                super::types::describe(version),
                super::types::shown(target)
            ));
        }
    }
    Ok(())
}

/// `"2.17"` -> (2, 17).
pub fn parse_glibc(s: &str) -> Option<(u32, u32)> {
    let (major, minor) = s.split_once('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then(|| Some((major.parse().ok()?, minor.parse().ok()?)))?
}

fn check_extra_artifacts(v: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    let list = v.as_array().ok_or_else(|| {
        "`extra-artifacts` must be an array of tables ([[...extra-artifacts]])".to_string()
    })?;
    for (i, item) in list.iter().enumerate() {
        let path = format!("extra-artifacts[{i}]");
        let t = shape::table(&path, item)?;
        shape::only(&path, t, &["artifacts", "build", "working-dir"], unknown);
        for field in ["artifacts", "build"] {
            match t.get(field) {
                Some(f) => shape::string_array(&format!("{path}.{field}"), f)?,
                None => return Err(format!("`{path}` needs `{field}`")),
            }
            if t[field].as_array().is_some_and(|a| a.is_empty()) {
                return Err(format!(
                    "`{path}.{field}` is empty: it needs at least one entry"
                ));
            }
        }
        let mut paths: Vec<(String, &str)> = t["artifacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|a| (format!("{path}.artifacts"), a))
            .collect();
        if let Some(w) = t.get("working-dir") {
            shape::string(&format!("{path}.working-dir"), w)?;
            paths.extend(w.as_str().map(|w| (format!("{path}.working-dir"), w)));
        }
        // The command runs in a copy of the workspace: its paths must stay inside.
        for (key, p) in paths {
            if p.starts_with('/') || p.contains('\\') || p.split('/').any(|c| c == "..") {
                return Err(format!(
                    "`{key}` has {p:?}: paths must be relative, inside the workspace, without `..`"
                ));
            }
        }
    }
    Ok(())
}

fn check_permissions(v: &Value, _unknown: &mut Vec<String>) -> Result<(), String> {
    for (job, perms) in shape::table("github-custom-job-permissions", v)? {
        let path = format!("github-custom-job-permissions.{job}");
        for (perm, level) in shape::table(&path, perms)? {
            if !matches!(level.as_str(), Some("read" | "write" | "none")) {
                return Err(format!(
                    "`{path}.{perm}` must be \"read\", \"write\" or \"none\""
                ));
            }
        }
    }
    Ok(())
}

fn check_mac_pkg(v: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    let t = shape::table("mac-pkg-config", v)?;
    shape::only(
        "mac-pkg-config",
        t,
        &["identifier", "install-location"],
        unknown,
    );
    for (field, value) in t {
        shape::string(&format!("mac-pkg-config.{field}"), value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::Mismatch;
    use serde_json::json;

    #[test]
    fn names_are_unique_and_sorted_lookups_work() {
        let mut names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a key is described twice");
        assert_eq!(closest("instalers"), Some("installers"));
        assert_eq!(closest("zzzz"), None);
    }

    /// Every example in the table is valid TOML of its key's type: the README shows them, and
    /// the every-key integration test writes them into a real dist-workspace.toml.
    #[test]
    fn every_example_fits_its_type() {
        for k in KEYS {
            let doc: toml_edit::DocumentMut = format!("v = {}", k.example)
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", k.name));
            let v = crate::workspace::dist_file::item_to_json(&doc["v"]);
            let mut unknown = Vec::new();
            k.ty.check(&v, &mut unknown)
                .unwrap_or_else(|e| panic!("{}: {e:?}", k.name));
            assert!(unknown.is_empty(), "{}: {unknown:?}", k.name);
        }
    }

    /// The README's config table is this table: regenerate it with
    /// `UPDATE_README=1 cargo test --lib readme_config_table`.
    #[test]
    // UPDATE_README asks the test to rewrite the table: a test's switch, not the tool's.
    #[allow(clippy::disallowed_methods)]
    fn readme_config_table_matches() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (start, end) = ("<!-- config-keys:start -->\n", "<!-- config-keys:end -->");
        let a = readme
            .find(start)
            .expect("README has the config-keys markers")
            + start.len();
        let b = readme
            .find(end)
            .expect("README has the config-keys markers");
        let table = markdown_table();
        if readme[a..b] != table && std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert!(
            readme[a..b] == table,
            "README's config table is out of date: run `UPDATE_README=1 cargo test --lib readme_config_table`"
        );
    }

    #[test]
    fn runner_forms() {
        let ty = lookup("github-custom-runners").unwrap().ty;
        assert!(ty
            .check(&json!({"global": "ubuntu-24.04", "x86_64-unknown-linux-gnu": {"container": {"image": "quay.io/x", "host": "x86_64-unknown-linux-musl"}}, "aarch64-apple-darwin": {"runner": "macos-15"}}), &mut Vec::new())
            .is_ok());
        let mut unknown = Vec::new();
        ty.check(
            &json!({"aarch64-apple-darwin": {"runer": "macos-15"}}),
            &mut unknown,
        )
        .unwrap();
        assert_eq!(
            unknown,
            ["github-custom-runners.aarch64-apple-darwin.runer"]
        );
        assert!(ty.check(&json!({"x": 3}), &mut Vec::new()).is_err());
        let shape_error = |v: serde_json::Value| match ty.check(&v, &mut Vec::new()) {
            Err(Mismatch::Shape(why)) => why,
            other => panic!("{v}: {other:?}"),
        };
        let why = shape_error(
            json!({"x86_64-unknown-linux-gnu": {"container": {"image": "i", "package-manager": "pacman"}}}),
        );
        assert!(why.contains("package-manager` is \"pacman\""), "{why}");
        let why = shape_error(json!({"global": {"container": "debian"}}));
        assert!(why.contains("global.container"), "{why}");
        let why = shape_error(json!({"x": {"container": {"host": "y"}}}));
        assert!(why.contains("needs an `image`"), "{why}");
    }

    #[test]
    fn dependency_forms() {
        let ty = lookup("dependencies").unwrap().ty;
        assert!(ty
            .check(&json!({"apt": {"cmake": "*", "musl-tools": {"version": "*", "targets": ["x86_64-unknown-linux-musl"]}}, "homebrew": {"mpv": "*"}}), &mut Vec::new())
            .is_ok());
        assert!(ty
            .check(&json!({"apt": {"cmake": 3}}), &mut Vec::new())
            .is_err());
        let mut unknown = Vec::new();
        assert!(ty.check(&json!({"pacman": {}}), &mut unknown).is_ok());
        assert_eq!(unknown, ["dependencies.pacman"]);
    }
}
