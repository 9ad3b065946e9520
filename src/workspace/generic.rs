//! Generic members (`dist:DIR` in `[workspace] members`, or a `[package]` table in the dist
//! workspace file itself): projects in any language whose `dist.toml` says how to build them;
//! and npm members (`npm:DIR`), whose `package.json` says most of it.
//!
//! ```toml
//! [package]
//! name = "my-tool"
//! version = "0.1.0"
//! binaries = ["my-tool"]
//! build-command = ["make"]
//! out-dir = "build"          # where the binaries are found (default: the package's directory)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::WorkspaceError;

/// How a generic package is built: what its `build-command` is and where it leaves binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericBuildSpec {
    pub command: Vec<String>,
    /// Relative to the package's directory; empty for the directory itself.
    pub out_dir: String,
}

/// A generic member as read from its file.
#[derive(Debug, Clone)]
pub struct GenericMember {
    /// The file holding its `[package]` (a member's `dist.toml`, or the workspace file).
    pub manifest: PathBuf,
    pub name: String,
    pub version: semver::Version,
    pub binaries: Vec<String>,
    pub build: GenericBuildSpec,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
    pub authors: Vec<String>,
    pub readme: Option<PathBuf>,
    /// The file's own `[dist]` table: the package's config (a member's file only).
    pub dist: Option<Value>,
    /// An npm member's scope (`@acme` of `@acme/tool`): its npm installer's default scope.
    pub npm_scope: Option<String>,
}

/// `[package]` as cargo-dist 0.34 reads it: unknown keys are left alone, wrong types refused.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPackage {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    repository: Option<String>,
    homepage: Option<String>,
    // Read only so that a wrong type is refused, as cargo-dist refuses it; not used.
    #[allow(dead_code)]
    documentation: Option<String>,
    readme: Option<String>,
    #[allow(dead_code)]
    changelog: Option<String>,
    #[allow(dead_code)]
    license_files: Option<Vec<String>>,
    license: Option<String>,
    authors: Option<Vec<String>>,
    binaries: Option<Vec<String>>,
    out_dir: Option<String>,
    cstaticlibs: Option<Vec<String>>,
    cdylibs: Option<Vec<String>>,
    build_command: Option<Vec<String>>,
}

/// The member in `dir` (its `dist.toml`).
pub fn read_member(dir: &Path) -> Result<GenericMember, WorkspaceError> {
    let path = dir.join("dist.toml");
    let shown = path.display().to_string();
    let doc = super::parse_toml(&path)?;
    let Some(package) = doc.get("package") else {
        return Err(WorkspaceError::DistFile {
            path: shown,
            message: "a `dist:` member's dist.toml needs a [package] table (name, version, binaries, build-command)".into(),
        });
    };
    let dist = doc.get("dist").map(super::dist_file::item_to_json);
    from_table(&path, &super::dist_file::item_to_json(package), dist)
}

/// The npm member in `dir`: its `package.json` (name without its scope, version, description,
/// license, homepage, repository, author, the `bin` names; a `dist` script is the build command,
/// `npm run dist`), each field overridden by the `[package]` of a `dist.toml` beside it, as
/// cargo-dist 0.34 reads an npm member.
pub fn read_npm_member(dir: &Path) -> Result<GenericMember, WorkspaceError> {
    let path = dir.join("package.json");
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| WorkspaceError::Io {
        path: shown.clone(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| WorkspaceError::DistFile {
        path: shown.clone(),
        message: format!("not valid JSON: {e}"),
    })?;
    let mut table = npm_fields(&json);
    let paired = dir.join("dist.toml");
    let (file, dist) = match paired.is_file() {
        false => (path, None),
        true => {
            let doc = super::parse_toml(&paired)?;
            if let (Some(Value::Object(over)), Value::Object(t)) = (
                doc.get("package").map(super::dist_file::item_to_json),
                &mut table,
            ) {
                t.extend(over);
            }
            (paired, doc.get("dist").map(super::dist_file::item_to_json))
        }
    };
    let mut member = from_table(&file, &table, dist)?;
    member.npm_scope = json["name"]
        .as_str()
        .and_then(|n| n.split_once('/'))
        .map(|(scope, _)| scope.to_string())
        .filter(|scope| scope.starts_with('@'));
    Ok(member)
}

/// `package.json`'s fields as a generic `[package]` table (as JSON).
fn npm_fields(json: &Value) -> Value {
    let mut t = serde_json::Map::new();
    let name = json["name"].as_str().map(|n| match n.split_once('/') {
        Some((scope, name)) if scope.starts_with('@') => name,
        _ => n,
    });
    if let Some(name) = name {
        t.insert("name".into(), name.into());
    }
    for key in ["version", "description", "license", "homepage"] {
        if let Some(v) = json[key].as_str() {
            t.insert(key.into(), v.into());
        }
    }
    let repository = match &json["repository"] {
        Value::String(s) => Some(repository_url(s)),
        Value::Object(o) => o.get("url").and_then(Value::as_str).map(repository_url),
        _ => None,
    };
    if let Some(r) = repository {
        t.insert("repository".into(), r.into());
    }
    if let Some(a) = json["author"].as_str() {
        t.insert("authors".into(), vec![a].into());
    }
    let binaries: Vec<&str> = match &json["bin"] {
        Value::String(_) => name.into_iter().collect(),
        Value::Object(o) => o.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    t.insert("binaries".into(), binaries.into());
    if json["scripts"].get("dist").is_some() {
        t.insert("build-command".into(), vec!["npm", "run", "dist"].into());
    }
    Value::Object(t)
}

/// npm's repository shorthands (`owner/repo`, `github:owner/repo`) and `git+https://...git`
/// URLs as the https URL of the repository.
fn repository_url(s: &str) -> String {
    let s = s.strip_prefix("github:").unwrap_or(s);
    if !s.contains(':') && s.matches('/').count() == 1 {
        return format!("https://github.com/{s}");
    }
    let s = s.strip_prefix("git+").unwrap_or(s);
    s.strip_suffix(".git").unwrap_or(s).to_string()
}

/// A `[package]` table (as JSON) of the file at `path`.
pub fn from_table(
    path: &Path,
    table: &Value,
    dist: Option<Value>,
) -> Result<GenericMember, WorkspaceError> {
    let err = |message: String| WorkspaceError::DistFile {
        path: path.display().to_string(),
        message,
    };
    let raw: RawPackage =
        serde_json::from_value(table.clone()).map_err(|e| err(format!("[package]: {e}")))?;
    let missing = |key: &str| {
        err(format!("[package] has no `{key}`; a generic package needs `name`, `version` and `build-command`"))
    };
    let name = raw.name.ok_or_else(|| missing("name"))?;
    let version = raw.version.ok_or_else(|| missing("version"))?;
    let version = semver::Version::parse(&version).map_err(|e| {
        err(format!(
            "`version` in [package] is {version:?}, not a semver version like \"1.2.0\": {e}"
        ))
    })?;
    let command = raw.build_command.ok_or_else(|| missing("build-command"))?;
    if command.is_empty() {
        return Err(err(
            "`build-command` in [package] is empty; give the program and its arguments, e.g. [\"make\"]".into(),
        ));
    }
    for (key, libs) in [("cstaticlibs", &raw.cstaticlibs), ("cdylibs", &raw.cdylibs)] {
        if libs.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(err(format!(
                "`{key}` in [package]: this tool does not package a generic build's C libraries yet; remove it (binaries are released)"
            )));
        }
    }
    let out_dir = raw.out_dir.unwrap_or_default();
    if Path::new(&out_dir).is_absolute() || out_dir.split('/').any(|c| c == "..") {
        return Err(err(format!(
            "`out-dir` in [package] is {out_dir:?}; it must be a path inside the package's directory"
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(GenericMember {
        manifest: path.to_path_buf(),
        name,
        version,
        binaries: raw.binaries.unwrap_or_default(),
        build: GenericBuildSpec {
            command,
            out_dir: out_dir
                .trim_end_matches('/')
                .trim_start_matches("./")
                .to_string(),
        },
        description: raw.description,
        repository: raw.repository,
        homepage: raw.homepage,
        license: raw.license,
        authors: raw.authors.unwrap_or_default(),
        readme: raw.readme.map(|r| dir.join(r)),
        dist,
        npm_scope: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<GenericMember, String> {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("dist.toml"), text).unwrap();
        read_member(d.path()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_member_reads_its_package_and_config() {
        let m = read(
            "[package]\nname = \"c-tool\"\nversion = \"0.2.0\"\nbinaries = [\"c-tool\"]\nbuild-command = [\"make\", \"all\"]\nout-dir = \"./build/\"\nkeywords = [\"ignored\"]\n\n[dist]\ninstallers = [\"shell\"]\n",
        )
        .unwrap();
        assert_eq!(
            (m.name.as_str(), m.version.to_string()),
            ("c-tool", "0.2.0".into())
        );
        assert_eq!(m.build.command, ["make", "all"]);
        assert_eq!(m.build.out_dir, "build");
        assert_eq!(m.dist.unwrap()["installers"][0], "shell");
    }

    #[test]
    fn an_npm_member_reads_package_json_under_its_dist_toml() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("package.json"),
            r#"{"name": "@acme/say", "version": "1.4.0", "license": "MIT", "author": "Ann",
                "repository": {"type": "git", "url": "git+https://github.com/acme/say.git"},
                "bin": {"say": "bin/say.js"}, "scripts": {"dist": "bun build --compile"}}"#,
        )
        .unwrap();
        let m = read_npm_member(d.path()).unwrap();
        assert_eq!(
            (m.name.as_str(), m.version.to_string()),
            ("say", "1.4.0".into())
        );
        assert_eq!(m.repository.as_deref(), Some("https://github.com/acme/say"));
        assert_eq!(
            (m.binaries, m.authors),
            (vec!["say".to_string()], vec!["Ann".to_string()])
        );
        assert_eq!(m.build.command, ["npm", "run", "dist"]);
        assert_eq!(m.npm_scope.as_deref(), Some("@acme"));
        std::fs::write(
            d.path().join("dist.toml"),
            "[package]\nbinaries = [\"say-cli\"]\nbuild-command = [\"make\"]\nout-dir = \"dist\"\n",
        )
        .unwrap();
        let m = read_npm_member(d.path()).unwrap();
        assert_eq!(
            (m.binaries, m.build.command),
            (vec!["say-cli".to_string()], vec!["make".to_string()])
        );
        assert_eq!(
            repository_url("github:acme/say"),
            "https://github.com/acme/say"
        );
        assert_eq!(repository_url("acme/say"), "https://github.com/acme/say");
    }

    #[test]
    fn what_a_build_needs_is_required_and_typed() {
        let e = read("[package]\nname = \"x\"\nversion = \"1.0.0\"\n").unwrap_err();
        assert!(
            e.contains("dist.toml") && e.contains("`build-command`"),
            "{e}"
        );
        let e = read("[package]\nname = \"x\"\nversion = \"1.0.0\"\nbuild-command = \"make\"\n")
            .unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        let e = read("[package]\nname = \"x\"\nversion = \"one\"\nbuild-command = [\"make\"]\n")
            .unwrap_err();
        assert!(e.contains("`version`") && e.contains("\"one\""), "{e}");
        let e = read("[package]\nname = \"x\"\nversion = \"1.0.0\"\nbuild-command = [\"make\"]\nout-dir = \"../out\"\n")
            .unwrap_err();
        assert!(e.contains("`out-dir`"), "{e}");
        let e = read("[package]\nname = \"x\"\nversion = \"1.0.0\"\nbuild-command = [\"make\"]\ncdylibs = [\"x\"]\n")
            .unwrap_err();
        assert!(e.contains("`cdylibs`"), "{e}");
    }
}
