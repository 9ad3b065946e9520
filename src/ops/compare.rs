//! `compare A.json B.json`: were two builds reproducible? Artifact by artifact, the recipe keys
//! (what went in) and the blake3 digests (what came out) of two dist-manifests.
//!
//! | keys      | digests   | verdict            |
//! |-----------|-----------|--------------------|
//! | same      | same      | reproduced         |
//! | same      | different | NOT REPRODUCIBLE   |
//! | different | -         | different inputs   |
//!
//! For NOT REPRODUCIBLE archives found next to both manifests, the differing members are named;
//! for different inputs, the differing recipe inputs (when the manifests carry them: build
//! manifests do).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dist_recipes::archive::{diff_members, read_members, ArchiveFormat};
use dist_recipes::recipe::{diff_inputs, InputChange};
use dist_recipes::vocab::Vocabulary;

use serde::Serialize;

use crate::manifest::{DistManifest, ManifestArtifact};
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("could not read the manifest {path}: {source}\n  pass the dist-manifest.json files of two builds (target/distrib/dist-manifest.json)")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a dist-manifest: {message}\n  pass the dist-manifest.json written by `cargo dist build` (or `cargo dist manifest -o json`)")]
    Parse { path: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Reproduced,
    NotReproducible,
    DifferentInputs,
    /// Same key, but at least one side has no digest (a plan, not a build).
    NotBuilt,
    OnlyInA,
    OnlyInB,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproducible => "NOT REPRODUCIBLE",
            Verdict::DifferentInputs => "different inputs",
            Verdict::NotBuilt => "same inputs, not built",
            Verdict::OnlyInA => "only in A",
            Verdict::OnlyInB => "only in B",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    pub key_a: Option<String>,
    pub key_b: Option<String>,
    pub blake3_a: Option<String>,
    pub blake3_b: Option<String>,
    /// How the cargo builds behind it were isolated (the weakest), on each side.
    pub isolation_a: Option<String>,
    pub isolation_b: Option<String>,
    pub verdict: Verdict,
    /// Differing archive members, or differing recipe inputs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub reproducible: bool,
    pub artifacts: Vec<Row>,
}

fn load(path: &Path) -> Result<DistManifest, CompareError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CompareError::Read {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| CompareError::Parse {
        path: shown,
        message: e.to_string(),
    })
}

/// Where an artifact's file is: its `path` relative to the workspace root of the manifest
/// (`<ws>/target/distrib/dist-manifest.json`), else next to the manifest.
fn artifact_file(manifest: &Path, a: &ManifestArtifact) -> Option<PathBuf> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut candidates = Vec::new();
    if let Some(p) = &a.path {
        if let Some(ws) = dir.parent().and_then(Path::parent) {
            candidates.push(ws.join(p));
        }
        candidates.push(dir.join(p));
    }
    candidates.push(dir.join(&a.name));
    candidates.into_iter().find(|p| p.is_file())
}

fn archive_format(name: &str) -> Option<ArchiveFormat> {
    ArchiveFormat::ALL
        .iter()
        .copied()
        .find(|f| name.ends_with(f.extension()))
}

/// The members that differ between the two files of a NOT REPRODUCIBLE artifact.
fn member_details(
    a_manifest: &Path,
    b_manifest: &Path,
    a: &ManifestArtifact,
    b: &ManifestArtifact,
) -> Vec<String> {
    let (Some(fa), Some(fb)) = (artifact_file(a_manifest, a), artifact_file(b_manifest, b)) else {
        return vec![
            "(files not found next to the manifests: cannot name the differing members)".into(),
        ];
    };
    let Some(format) = archive_format(&a.name) else {
        return vec!["(not an archive: the files differ)".into()];
    };
    match (read_members(format, &fa), read_members(format, &fb)) {
        (Ok((root_a, ma)), Ok((root_b, mb))) => {
            let mut out = Vec::new();
            if root_a != root_b {
                out.push(format!("root dir: {root_a:?} vs {root_b:?}"));
            }
            out.extend(diff_members(&ma, &mb));
            if out.is_empty() {
                out.push(
                    "same members: the archive encoding differs (order, timestamps or compression)"
                        .into(),
                );
            }
            out
        }
        (Err(e), _) | (_, Err(e)) => vec![format!("(could not read the archive: {e})")],
    }
}

fn input_details(a: &ManifestArtifact, b: &ManifestArtifact) -> Vec<String> {
    let empty = BTreeMap::new();
    let ia = a.recipe.as_ref().map(|r| &r.inputs).unwrap_or(&empty);
    let ib = b.recipe.as_ref().map(|r| &r.inputs).unwrap_or(&empty);
    if ia.is_empty() || ib.is_empty() {
        return vec!["(a manifest does not carry recipe inputs: compare the manifests of `cargo dist build`)".into()];
    }
    diff_inputs(ia, ib)
        .into_iter()
        .map(|c| match c {
            InputChange::Added { name, .. } => format!("input only in B: {name}"),
            InputChange::Removed { name, .. } => format!("input only in A: {name}"),
            InputChange::Changed { name, .. } => format!("input differs: {name}"),
        })
        .collect()
}

/// Compares two manifests already read, `a_path` / `b_path` locating their files.
pub fn compare_manifests(
    a_path: &Path,
    a: &DistManifest,
    b_path: &Path,
    b: &DistManifest,
) -> Comparison {
    let mut names: Vec<&String> = a.artifacts.keys().chain(b.artifacts.keys()).collect();
    names.sort();
    names.dedup();
    let mut rows = Vec::new();
    for name in names {
        let (x, y) = (a.artifacts.get(name), b.artifacts.get(name));
        let key =
            |m: Option<&ManifestArtifact>| m.and_then(|m| m.recipe.as_ref()).map(|r| r.key.clone());
        let digest = |m: Option<&ManifestArtifact>| {
            m.and_then(|m| m.recipe.as_ref())
                .and_then(|r| r.blake3.clone())
        };
        let (key_a, key_b, blake3_a, blake3_b) = (key(x), key(y), digest(x), digest(y));
        let isolation = |m: Option<&ManifestArtifact>| {
            m.and_then(|m| m.recipe.as_ref())
                .and_then(|r| r.isolation.clone())
        };
        let (verdict, mut details) = match (x, y) {
            (Some(_), None) => (Verdict::OnlyInA, Vec::new()),
            (None, Some(_)) => (Verdict::OnlyInB, Vec::new()),
            (None, None) => unreachable!("the name comes from one of the manifests"),
            (Some(x), Some(y)) => {
                if key_a != key_b || key_a.is_none() {
                    (Verdict::DifferentInputs, input_details(x, y))
                } else {
                    match (&blake3_a, &blake3_b) {
                        (Some(da), Some(db)) if da == db => (Verdict::Reproduced, Vec::new()),
                        (Some(_), Some(_)) => (
                            Verdict::NotReproducible,
                            member_details(a_path, b_path, x, y),
                        ),
                        _ => (Verdict::NotBuilt, Vec::new()),
                    }
                }
            }
        };
        let (isolation_a, isolation_b) = (isolation(x), isolation(y));
        if verdict == Verdict::NotReproducible {
            for (side, level) in [("A", &isolation_a), ("B", &isolation_b)] {
                let full = crate::isolation::Isolation::Full.as_str();
                if let Some(level) = level.as_deref().filter(|l| *l != full) {
                    details.push(format!(
                        "{side} was built with isolation `{level}`: an input outside the key (the network, a file outside the sandbox) may have reached it"
                    ));
                }
            }
        }
        rows.push(Row {
            name: name.clone(),
            key_a,
            key_b,
            blake3_a,
            blake3_b,
            isolation_a,
            isolation_b,
            verdict,
            details,
        });
    }
    Comparison {
        a: a_path.display().to_string(),
        b: b_path.display().to_string(),
        reproducible: rows.iter().all(|r| r.verdict != Verdict::NotReproducible),
        artifacts: rows,
    }
}

/// `compare`: reads both manifests. The caller exits 1 unless `reproducible`.
pub fn compare(a: &Path, b: &Path) -> Result<Comparison, Error> {
    let ma = load(a)?;
    let mb = load(b)?;
    Ok(compare_manifests(a, &ma, b, &mb))
}

fn short(v: &Option<String>) -> String {
    match v {
        Some(s) => s.chars().take(12).collect(),
        None => "-".into(),
    }
}

/// One level when both sides agree, `A/B` otherwise, `-` for an artifact with no cargo build.
fn isolation_cell(a: &Option<String>, b: &Option<String>) -> String {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    if a == b {
        show(a)
    } else {
        format!("{}/{}", show(a), show(b))
    }
}

/// The human table.
pub fn render(c: &Comparison) -> String {
    let header = [
        "artifact",
        "key A",
        "key B",
        "blake3 A",
        "blake3 B",
        "isolation",
        "verdict",
    ];
    let rows: Vec<[String; 7]> = c
        .artifacts
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                short(&r.key_a),
                short(&r.key_b),
                short(&r.blake3_a),
                short(&r.blake3_b),
                isolation_cell(&r.isolation_a, &r.isolation_b),
                r.verdict.text().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = format!("A: {}\nB: {}\n\n", c.a, c.b);
    out.push_str(&line(&header.map(String::from)));
    for (r, cells) in c.artifacts.iter().zip(&rows) {
        out.push_str(&line(cells));
        for d in &r.details {
            out.push_str(&format!("    {d}\n"));
        }
    }
    let count = |v: Verdict| c.artifacts.iter().filter(|r| r.verdict == v).count();
    let counts: Vec<String> = [
        Verdict::Reproduced,
        Verdict::NotReproducible,
        Verdict::DifferentInputs,
        Verdict::NotBuilt,
        Verdict::OnlyInA,
        Verdict::OnlyInB,
    ]
    .into_iter()
    .filter(|v| count(*v) > 0 || *v == Verdict::NotReproducible)
    .map(|v| format!("{} {}", count(v), v.text()))
    .collect();
    out.push('\n');
    out.push_str(&counts.join(", "));
    out.push('\n');
    out
}
