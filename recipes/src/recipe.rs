//! Recipe kinds and their keys.
//!
//! A recipe's key is a BLAKE3 hash over its kind and its canonical **input list**: a sorted map
//! from input name to value. The same map is recorded in the store, so `explain` can say which
//! input changed by diffing two maps. Each kind builds its map by exhaustive destructuring, so a
//! field added to a recipe cannot be left out of its key without a compile error.
//!
//! | input name            | value                                   | kinds                      |
//! |-----------------------|-----------------------------------------|----------------------------|
//! | `format`              | [`FORMAT_VERSION`]                      | all                        |
//! | `file:PATH`           | BLAKE3 of the file (+ `+x` if exec)     | cargo-build, archive       |
//! | `workspace-skeleton`  | digest of every member's manifest and target roots | cargo-build     |
//! | `profile:FIELD`       | TOML text of the resolved profile field | cargo-build                |
//! | `toolchain:FIELD`     | a `rustc -vV` field                     | cargo-build                |
//! | `env:VAR`             | value, or `(unset)`                     | cargo-build                |
//! | `config:KEY`          | the dist config value it depends on     | all (checksums: `config:checksum`) |
//! | `target`, `package`   | triple, package name                    | cargo-build                |
//! | `recipe:NAME`         | key of a consumed recipe                | archive, checksums, installers |
//! | `sha256:NAME`         | sha256 of a consumed archive, once known| installers                 |
//! | `git-tree`            | the committed tree of the workspace dir (`HEAD:<dir>`) | source tarball |
//! | `config:ci`, `config:pr-run-mode`, `config:cargo-dist-version`, `text` | workflow inputs and its text's BLAKE3 | ci-workflow |
//! | `template`            | BLAKE3 of the installer's template files | installers                 |
//!
//! Deliberately left out: absolute paths, mtimes, owners, the user, the host name, the clock,
//! and environment variables outside the allow-list (the build never sees them).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dist_store::{CanonHasher, ContentDigest, RecipeKey};

use crate::archive::{ArchiveFormat, ChecksumStyle};

/// Bumped whenever a writer's output for the same inputs changes (compressor settings, templates,
/// the encoding below), so old store entries are never reused for new bytes.
pub const FORMAT_VERSION: u32 = 1;

const DOMAIN: &str = "cargo-dist recipe";

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
        if self.executable {
            format!("{}+x", self.digest.to_hex())
        } else {
            self.digest.to_hex()
        }
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
    /// The resolved `[profile.dist]`: field -> TOML text.
    pub profile: BTreeMap<String, String>,
    /// `rustc -vV` fields.
    pub toolchain: BTreeMap<String, String>,
    /// Allow-listed variables: name -> value (`None` = unset).
    pub env: BTreeMap<String, Option<String>>,
    /// Workspace-relative path -> content.
    pub sources: BTreeMap<String, FileInput>,
    /// Every member's manifest and target roots, shared by all builds of the workspace.
    pub skeleton: Arc<WorkspaceSkeleton>,
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
    /// `git rev-parse HEAD^{tree}`: covers every committed path, mode and content.
    pub git_tree: String,
}

/// An installer of one App.
#[derive(Debug, Clone)]
pub struct Installer {
    /// "shell", "powershell", "npm", "homebrew".
    pub installer: String,
    pub app: String,
    pub version: String,
    pub binaries: Vec<String>,
    pub download_url: String,
    pub install_path: Vec<String>,
    /// npm package name / Homebrew formula name, where the installer has one.
    pub package_name: Option<String>,
    /// BLAKE3 of the installer's template files ([`crate::installer::template_digest`]).
    pub template: String,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
    /// Every archive it can fetch: name -> (target, archive recipe key, sha256 once known).
    pub archives: BTreeMap<String, ArchiveRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRef {
    pub target: String,
    pub key: RecipeKey,
    pub sha256: Option<String>,
    pub root_dir: Option<String>,
}

/// The CI workflow file: a pure function of the config it reads and its template (whose changes
/// bump [`FORMAT_VERSION`]).
#[derive(Debug, Clone)]
pub struct CiWorkflow {
    /// "github".
    pub backend: String,
    pub pr_run_mode: String,
    /// The tool version the workflow installs.
    pub tool_version: String,
    /// BLAKE3 of the rendered text.
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
    Installer(Installer),
}

/// An archive another recipe reads: its key, and its sha256 once built (outputs list only the
/// archives whose sha256 is known, so the key must say which those are).
fn archive_ref(m: &mut Inputs, name: &str, a: &ArchiveRef) {
    let ArchiveRef {
        target,
        key,
        sha256,
        root_dir,
    } = a;
    m.insert(format!("recipe:{name}"), key.to_hex());
    m.insert(format!("target:{name}"), target.clone());
    m.insert(format!("sha256:{name}"), opt(sha256));
    m.insert(format!("root-dir:{name}"), opt(root_dir));
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(unset)".into())
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
        }
    }

    /// The canonical input list. Every field of every kind appears here.
    pub fn inputs(&self) -> Inputs {
        let mut m = Inputs::new();
        m.insert("format".into(), FORMAT_VERSION.to_string());
        match self {
            Recipe::CiWorkflow(CiWorkflow {
                backend,
                pr_run_mode,
                tool_version,
                text,
            }) => {
                m.insert("text".into(), text.clone());
                m.insert("config:ci".into(), backend.clone());
                m.insert("config:pr-run-mode".into(), pr_run_mode.clone());
                m.insert("config:cargo-dist-version".into(), tool_version.clone());
            }
            Recipe::CargoBuild(CargoBuild {
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
            }) => {
                m.insert("package".into(), package.clone());
                m.insert("binaries".into(), list(binaries));
                m.insert("target".into(), target.clone());
                m.insert("config:features".into(), list(features));
                m.insert(
                    "config:default-features".into(),
                    default_features.to_string(),
                );
                m.insert("config:all-features".into(), all_features.to_string());
                for (k, v) in profile {
                    m.insert(format!("profile:{k}"), v.clone());
                }
                for (k, v) in toolchain {
                    m.insert(format!("toolchain:{k}"), v.clone());
                }
                for (k, v) in env {
                    m.insert(format!("env:{k}"), opt(v));
                }
                for (path, f) in sources {
                    m.insert(format!("file:{path}"), f.value());
                }
                m.insert("workspace-skeleton".into(), skeleton.digest().to_string());
            }
            Recipe::Archive(Archive {
                format,
                root_dir,
                items,
            }) => {
                m.insert("config:archive-format".into(), format.extension().into());
                m.insert("root-dir".into(), opt(root_dir));
                for (path, src) in items {
                    let v = match src {
                        ArchiveSource::Binary { build, file } => {
                            format!("recipe {} output {file}", build.to_hex())
                        }
                        ArchiveSource::File { path, input } => {
                            format!("file {path} {}", input.value())
                        }
                    };
                    m.insert(format!("item:{path}"), v);
                }
            }
            Recipe::Checksum(Checksum {
                archive_name,
                archive,
                style,
            }) => {
                m.insert(format!("recipe:{archive_name}"), archive.to_hex());
                m.insert("config:checksum".into(), style.name().into());
            }
            Recipe::UnifiedChecksum(UnifiedChecksum { archives, style }) => {
                m.insert("config:checksum".into(), style.name().into());
                for (name, a) in archives {
                    archive_ref(&mut m, name, a);
                }
            }
            Recipe::SourceTarball(SourceTarball { root_dir, git_tree }) => {
                m.insert("root-dir".into(), root_dir.clone());
                m.insert("git-tree".into(), git_tree.clone());
            }
            Recipe::Installer(Installer {
                installer,
                app,
                version,
                binaries,
                download_url,
                install_path,
                package_name,
                template,
                description,
                homepage,
                license,
                archives,
            }) => {
                m.insert("installer".into(), installer.clone());
                m.insert("app".into(), app.clone());
                m.insert("version".into(), version.clone());
                m.insert("binaries".into(), list(binaries));
                m.insert("download-url".into(), download_url.clone());
                m.insert("config:install-path".into(), list(install_path));
                m.insert("config:package-name".into(), opt(package_name));
                m.insert("template".into(), template.clone());
                m.insert("description".into(), opt(description));
                m.insert("homepage".into(), opt(homepage));
                m.insert("license".into(), opt(license));
                for (name, a) in archives {
                    archive_ref(&mut m, name, a);
                }
            }
        }
        m
    }

    pub fn key(&self) -> RecipeKey {
        key_of(self.kind(), &self.inputs())
    }
}

/// The key of a recipe of `kind` with this input list.
pub fn key_of(kind: &str, inputs: &Inputs) -> RecipeKey {
    CanonHasher::new(DOMAIN, FORMAT_VERSION)
        .str("kind", kind)
        .str_map("inputs", inputs)
        .finish()
}

/// The recipe an input refers to, when it names one: `recipe:NAME` inputs hold a consumed key,
/// archive members built by cargo read `recipe KEY output FILE`. File digests are not keys.
pub fn consumed_key(name: &str, value: &str) -> Option<RecipeKey> {
    let hex = if name.starts_with("recipe:") {
        value
    } else {
        value.strip_prefix("recipe ")?.split(' ').next()?
    };
    RecipeKey::from_hex(hex).ok()
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

    fn build() -> CargoBuild {
        CargoBuild {
            package: "app".into(),
            binaries: vec!["app".into()],
            target: "x86_64-unknown-linux-gnu".into(),
            features: vec![],
            default_features: true,
            all_features: false,
            profile: BTreeMap::from([("inherits".into(), "\"release\"".into())]),
            toolchain: BTreeMap::from([("release".into(), "1.95.0".into())]),
            env: BTreeMap::from([("RUSTFLAGS".into(), None)]),
            sources: BTreeMap::from([(
                "src/main.rs".into(),
                FileInput {
                    digest: ContentDigest::of_bytes(b"fn main() {}"),
                    executable: false,
                },
            )]),
            skeleton: Arc::new(WorkspaceSkeleton::new(BTreeMap::new(), BTreeSet::new())),
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
                b.profile.insert("lto".into(), "\"thin\"".into());
            }),
            Box::new(|b| {
                b.toolchain.insert("release".into(), "1.96.0".into());
            }),
            Box::new(|b| {
                b.env
                    .insert("RUSTFLAGS".into(), Some("-Copt-level=1".into()));
            }),
            Box::new(|b| {
                b.sources.get_mut("src/main.rs").unwrap().digest =
                    ContentDigest::of_bytes(b"fn main() { }")
            }),
            Box::new(|b| b.sources.get_mut("src/main.rs").unwrap().executable = true),
            Box::new(|b| {
                b.skeleton = Arc::new(WorkspaceSkeleton::new(
                    BTreeMap::new(),
                    BTreeSet::from(["other/src/main.rs".to_string()]),
                ))
            }),
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
            Recipe::Installer(Installer {
                installer: "shell".into(),
                app: "app".into(),
                version: "1.0.0".into(),
                binaries: vec!["app".into()],
                download_url: "https://example.com".into(),
                install_path: vec!["CARGO_HOME".into()],
                package_name: None,
                template: template.into(),
                description: None,
                homepage: None,
                license: None,
                archives: BTreeMap::new(),
            })
            .key()
        };
        assert_ne!(installer("a"), installer("b"));
        let workflow = |text: &str| {
            Recipe::CiWorkflow(CiWorkflow {
                backend: "github".into(),
                pr_run_mode: "plan".into(),
                tool_version: "0.1.0".into(),
                text: text.into(),
            })
            .key()
        };
        assert_ne!(workflow("a"), workflow("b"));
        assert_eq!(workflow("a"), workflow("a"));
    }

    #[test]
    fn consumed_keys_are_found_only_where_the_encoding_puts_them() {
        let k = Recipe::CargoBuild(build()).key();
        let hex = k.to_hex();
        assert_eq!(consumed_key("recipe:a.tar.xz", &hex), Some(k));
        assert_eq!(
            consumed_key("item:app", &format!("recipe {hex} output app")),
            Some(k)
        );
        // A file's digest looks like a key but is not one.
        assert_eq!(consumed_key("file:src/main.rs", &hex), None);
        assert_eq!(
            consumed_key("item:README.md", &format!("file README.md {hex}")),
            None
        );
    }

    #[test]
    fn diff_names_each_change() {
        let a = Recipe::CargoBuild(build()).inputs();
        let mut b2 = build();
        b2.env.insert("RUSTFLAGS".into(), Some("-g".into()));
        b2.sources.insert(
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
