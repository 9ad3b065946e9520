//! Every config key reaches behaviour, walked from the key table itself: set alone (with what
//! makes it observable), each key acted on changes the plan (the manifest with its recipe
//! keys) or the generated workflow; each value of an enumerated key changes them in its own
//! way, and every alias does exactly what its name does. A key the table accepts and the code
//! ignores fails here, unless the table marks it not acted on.

use std::collections::BTreeMap;

use cargo_dist::config::keys::{KeyDef, KEYS};
use cargo_dist::config::types::Ty;

use crate::support::{commit_all, Fixture};

/// What a key needs beside it to show (the base config lacks it).
fn context(key: &str) -> &'static str {
    match key {
        "tap" => "installers = [\"shell\", \"homebrew\"]",
        "formula" => "installers = [\"shell\", \"homebrew\"]",
        "publish-jobs" => "tap = \"example/homebrew-tap\"",
        "npm-package" | "npm-scope" | "npm-installer-style" => "installers = [\"shell\", \"npm\"]",
        "install-libraries" => "package-libraries = [\"cdylib\", \"cstaticlib\"]",
        // A .pkg needs its identifier (which also turns pkg on, beside each listed kind).
        "installers" => "mac-pkg-config = { identifier = \"dev.example.app\" }",
        "github-attestations-phase" | "github-attestations-filters" => "github-attestations = true",
        "hosting" => "simple-download-url = \"https://dl.example.com/{tag}\"",
        "tag-namespace" => "",
        "publish-prereleases" => "publish-jobs = [\"./publish\"]",
        "github-custom-job-permissions" => "publish-jobs = [\"./publish-crates\"]",
        "github-build-setup" => "",
        "windows-archive" | "msvc-crt-static" => "",
        _ => "",
    }
}

/// Keys whose effect no plan or workflow of this probe can show, each with why and where it
/// is tested instead.
fn shows_elsewhere(key: &str) -> Option<&'static str> {
    match key {
        "precise-builds" => Some("every App is its own cargo invocation here anyway"),
        "allow-dirty" => Some("acts on out-of-date generated files (tests/cli/ci.rs)"),
        "scoop-bucket" | "winget-fork" => {
            Some("acts in the scoop and winget publish jobs (tests/cli/publish.rs)")
        }
        "simple-download-url" => {
            Some("acts with `hosting = \"simple\"`, which needs it (tests/cli/installers.rs)")
        }
        "remote-trusted-keys" => {
            Some("acts when a build reads a remote store (tests/cli/remote.rs)")
        }
        "github-releases-submodule-path" => Some(
            "acts where the path is a git submodule, which the probe's workspace has none of (tests/cli/ci.rs)",
        ),
        "always-use-latest-updater" => Some(
            "it changes the updater's key only when the index's newest axoupdater-cli is not the pinned one, which a mirror of the index shows (tests/cli/layouts.rs)",
        ),
        "ssldotcom-windows-sign" => Some(
            "its values differ in the timestamp server of the signatures, which a signing key's presence shows (src/signing.rs)",
        ),
        _ => None,
    }
}

/// Keys the probe sets on the App's own package (`[package.metadata.dist]`): set for the
/// workspace, they would name binaries the other packages lack, or give two packages' installers
/// one name.
fn on_the_package(key: &str) -> bool {
    matches!(key, "binaries" | "formula" | "npm-package")
}

/// A value other than the default, for the keys that are not enumerated.
fn probe(k: &KeyDef) -> String {
    match k.ty {
        Ty::Bool => match k.default {
            "true" => "false".into(),
            _ => "true".into(),
        },
        _ => k.example.to_string(),
    }
}

const REPO: &str = "repository = \"https://github.com/example/app\"";
const PRIVATE: &str = "repository = \"https://github.com/example/app\"\npublish = false";

struct Probe {
    fx: Fixture,
    manifest: String,
}

impl Probe {
    fn new() -> Probe {
        let fx = Fixture::new();
        fx.package(
            "",
            "app",
            "0.1.0",
            &["app"],
            "description = \"an app\"\nlicense = \"MIT\"\nrepository = \"https://github.com/example/app\"\n\n[workspace]\nmembers = [\"other\", \"private\"]\n\n[[bin]]\nname = \"app\"\npath = \"src/main.rs\"\n\n[[bin]]\nname = \"extra\"\npath = \"src/bin/extra.rs\"\n\n[lib]\ncrate-type = [\"lib\", \"cdylib\", \"staticlib\"]\npath = \"src/lib.rs\"\n\n[features]\nfast = []\n",
        )
        .file("src/lib.rs", "pub fn f() {}\n")
        // A second binary (`binaries` narrows to one), a second App (`packages` narrows to
        // one) and a package not published (`dist = true` makes it an App).
        .file("src/bin/extra.rs", "fn main() {}\n")
        .package("other", "other", "0.1.0", &["other"], REPO)
        .package("private", "private", "0.1.0", &["private"], PRIVATE)
        .file("README.md", "# app\n")
        .file("LICENSE", "MIT\n")
        .file("CHANGELOG.md", "# Changelog\n\n## 0.1.0\n\n- first\n")
        .file("docs/guide.md", "guide\n")
        .file(".github/build-setup.yml", "- name: Say hello\n  run: echo hello\n")
        .file(
            "Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"other\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"private\"\nversion = \"0.1.0\"\n",
        );
        commit_all(&fx);
        let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
        Probe { fx, manifest }
    }

    /// [`Probe::outputs`] with `line` set on the App's package instead.
    fn outputs_for_package(&self, ctx: &str, line: &str) -> String {
        let with = format!("{}\n[package.metadata.dist]\n{line}\n", self.manifest);
        self.fx.file("Cargo.toml", &with);
        let out = self.outputs(ctx);
        self.fx.file("Cargo.toml", &self.manifest);
        out
    }

    /// The plan (JSON, recipe keys included) and the workflow for the base config plus
    /// `lines`, or the error text when the config is refused.
    fn outputs(&self, lines: &str) -> String {
        let config = format!(
            "[workspace]\nmembers = [\"cargo:.\"]\n\n[dist]\ncargo-dist-version = \"0.1.0\"\nci = \"github\"\ninstallers = [\"shell\"]\ntargets = [\"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\", \"aarch64-apple-darwin\"]\n{lines}\n"
        );
        // A key set twice (the probe and the base) keeps the probe's value.
        let mut seen = std::collections::BTreeSet::new();
        let mut kept: Vec<&str> = Vec::new();
        for line in config.lines().rev() {
            let name = line.split(" = ").next().unwrap_or(line);
            if line.contains(" = ") && !line.starts_with('[') && !seen.insert(name.to_string()) {
                continue;
            }
            kept.push(line);
        }
        kept.reverse();
        self.fx
            .file("dist-workspace.toml", &(kept.join("\n") + "\n"));
        let generate = self.fx.cmd(&["generate"]);
        if !generate.status.success() {
            return format!("refused: {}", String::from_utf8_lossy(&generate.stderr));
        }
        let plan = self.fx.cmd(&["plan", "-o", "json", "--allow-dirty"]);
        let workflows: BTreeMap<String, String> = self
            .fx
            .snapshot()
            .into_iter()
            .filter(|(path, _)| path.starts_with(".github/workflows/") || path.ends_with(".wxs"))
            .map(|(path, bytes)| (path, String::from_utf8_lossy(&bytes).into_owned()))
            .collect();
        format!(
            "plan {:?}:\n{}\n{}\nworkflows: {workflows:?}",
            plan.status.code(),
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&plan.stderr),
        )
    }
}

#[test]
fn every_key_and_every_value_reaches_behaviour() {
    let p = Probe::new();
    let mut silent = Vec::new();
    let mut refused = Vec::new();
    for k in KEYS
        .iter()
        .filter(|k| k.acted && shows_elsewhere(k.name).is_none())
    {
        let ctx = context(k.name);
        let base = p.outputs(ctx);
        assert!(base.starts_with("plan Some(0)"), "{}: {base}", k.name);
        match k.ty.words() {
            None => {
                let line = format!("{} = {}", k.name, probe(k));
                let set = match on_the_package(k.name) {
                    true => p.outputs_for_package(ctx, &line),
                    false => p.outputs(&format!("{ctx}\n{line}")),
                };
                if !set.starts_with("plan Some(0)") {
                    refused.push(format!("{line}: {}", first_lines(&set)));
                } else if set == base {
                    silent.push(format!("{} = {}", k.name, probe(k)));
                }
            }
            Some(words) => {
                // Words of one value agree; words of different values differ (but those of
                // values not acted on yet, which the config warns about).
                let idle = k.ty.not_acted_words();
                let mut by_output: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                for w in words.iter().filter(|w| !idle.contains(w)) {
                    let value = match k.ty {
                        Ty::ListOf(_) | Ty::BoolOrListOf(_) => format!("[\"{w}\"]"),
                        _ => format!("\"{w}\""),
                    };
                    let out = p.outputs(&format!("{ctx}\n{} = {value}", k.name));
                    if !out.starts_with("plan Some(0)") {
                        refused.push(format!("{} = {value}: {}", k.name, first_lines(&out)));
                    }
                    by_output.entry(out).or_default().push(w);
                }
                for group in by_output.values() {
                    let values: std::collections::BTreeSet<String> =
                        group.iter().map(|w| canonical(k, w)).collect();
                    if values.len() > 1 {
                        silent.push(format!("{}: {group:?} do the same", k.name));
                    }
                }
            }
        }
    }
    assert!(
        refused.is_empty(),
        "values the table accepts are refused:\n{}",
        refused.join("\n")
    );
    assert!(
        silent.is_empty(),
        "keys acted on that change neither the plan nor the workflow (act on them, or mark them not acted on):\n{}",
        silent.join("\n")
    );
}

/// The error, not the whole output.
fn first_lines(out: &str) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("error")).collect();
    lines.join("\n")
}

/// The value a word names (its canonical spelling), through the enum the key reads it with.
fn canonical(k: &KeyDef, word: &str) -> String {
    use cargo_dist::config::vocab::*;
    use dist_recipes::vocab::Vocabulary;
    fn name<V: Vocabulary>(w: &str) -> String {
        V::parse(w)
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| w.to_string())
    }
    match k.name {
        "unix-archive" | "windows-archive" => name::<dist_recipes::archive::ArchiveFormat>(word),
        "installers" => name::<dist_recipes::installer::InstallerKind>(word),
        "checksum" => name::<Checksum>(word),
        "package-libraries" | "install-libraries" => {
            name::<dist_recipes::target::LibraryKind>(word)
        }
        "hosting" => name::<Hosting>(word),
        "npm-installer-style" => name::<NpmInstallerStyle>(word),
        "ci" => name::<CiBackend>(word),
        "allow-dirty" => name::<Generated>(word),
        "pr-run-mode" => name::<PrRunMode>(word),
        "github-release" => name::<GithubRelease>(word),
        "github-attestations-phase" => name::<dist_recipes::workflow::AttestPhase>(word),
        "ssldotcom-windows-sign" => name::<SslComEnvironment>(word),
        other => panic!("an enumerated key without its enum here: {other}"),
    }
}

#[test]
fn every_hosting_value_is_acted_on_and_one_cargo_dist_refuses_is_refused() {
    let p = Probe::new();
    let config = "[workspace]\nmembers = [\"cargo:.\"]\n\n[dist]\ntargets = [\"x86_64-unknown-linux-gnu\"]\nhosting = [\"github\", \"simple\"]\n";
    p.fx.file(
        "dist-workspace.toml",
        &format!("{config}simple-download-url = \"https://dl.example.com/{{tag}}\"\n"),
    );
    let (_, stderr) = p.fx.ok_both(&["plan"]);
    assert!(!stderr.contains("not acted on"), "{stderr}");
    p.fx.file("dist-workspace.toml", config);
    let err = p.fx.fails(&["plan"], 1);
    assert!(err.contains("`simple-download-url` is not set"), "{err}");
    p.fx.file(
        "dist-workspace.toml",
        "[workspace]\nmembers = [\"cargo:.\"]\n\n[dist]\nhosting = \"axodotdev\"\n",
    );
    let err = p.fx.fails(&["plan"], 1);
    assert!(
        err.contains("hosting")
            && err.contains("\"axodotdev\"")
            && err.contains("dist-workspace.toml"),
        "{err}"
    );
}
