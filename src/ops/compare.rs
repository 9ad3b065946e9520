//! `compare A.json B.json`: were two builds reproducible? Artifact by artifact, the recipe keys
//! (what went in) and the blake3 digests (what came out) of two dist-manifests.
//!
//! | keys      | digests   | verdict            |
//! |-----------|-----------|--------------------|
//! | same      | same      | reproduced         |
//! | same      | different | NOT REPRODUCIBLE   |
//! | different | -         | different inputs   |
//!
//! Where the digests differ, a side's recorded inputs name a signature and both files are found,
//! the files (and archive members) are compared again with their code signatures removed
//! ([`crate::signing::strip_bytes`]): equal payloads are "reproduced (signature differs)" (a
//! timestamp server's answer, or a signed build beside an unsigned one).
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
    /// The files differ only in their code signatures.
    SignatureDiffers,
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
            Verdict::SignatureDiffers => "reproduced (signature differs)",
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
/// Only paths below the manifest's directories: a manifest from elsewhere must not make
/// `compare` read `/etc/...` or `../..`.
fn artifact_file(manifest: &Path, a: &ManifestArtifact) -> Option<PathBuf> {
    let below = |p: &str| {
        let p = Path::new(p);
        p.is_relative()
            && p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut candidates = Vec::new();
    if let Some(p) = a.path.as_deref().filter(|p| below(p)) {
        if let Some(ws) = dir.parent().and_then(Path::parent) {
            candidates.push(ws.join(p));
        }
        candidates.push(dir.join(p));
    }
    if below(&a.name) {
        candidates.push(dir.join(&a.name));
    }
    candidates.into_iter().find(|p| p.is_file())
}

pub(crate) fn archive_format(name: &str) -> Option<ArchiveFormat> {
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
    file_member_details(&a.name, &fa, &fb)
}

/// The members that differ between two files of the artifact `name` (an archive), or why
/// they cannot be named.
pub(crate) fn file_member_details(name: &str, fa: &Path, fb: &Path) -> Vec<String> {
    let Some(format) = archive_format(name) else {
        return vec!["(not an archive: the files differ)".into()];
    };
    match (read_members(format, fa), read_members(format, fb)) {
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

/// A checksum file that differs only in the lines of files whose signatures differ (a
/// timestamp) follows from them: `reproduced (signature differs)` too.
fn checksums_of_signed_files(
    a_path: &Path,
    a: &DistManifest,
    b_path: &Path,
    b: &DistManifest,
    rows: &mut [Row],
) {
    let signed: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::SignatureDiffers)
        .map(|r| r.name.clone())
        .collect();
    if signed.is_empty() {
        return;
    }
    // `HASH  NAME` lines, by name.
    let lines = |manifest: &Path, m: &DistManifest, name: &str| {
        let file = artifact_file(manifest, m.artifacts.get(name)?)?;
        let text = std::fs::read_to_string(file).ok()?;
        let parsed: Option<BTreeMap<String, String>> = text
            .lines()
            .map(|l| {
                let (hash, name) = l.split_once("  ")?;
                Some((name.trim_start_matches('*').to_string(), hash.to_string()))
            })
            .collect();
        parsed.filter(|p| !p.is_empty())
    };
    for row in rows
        .iter_mut()
        .filter(|r| r.verdict == Verdict::NotReproducible)
    {
        let (Some(la), Some(lb)) = (lines(a_path, a, &row.name), lines(b_path, b, &row.name))
        else {
            continue;
        };
        let differing: Vec<&String> = la
            .iter()
            .filter(|(name, hash)| lb.get(*name) != Some(*hash))
            .map(|(name, _)| name)
            .collect();
        let same_names = la.keys().eq(lb.keys());
        if same_names && differing.iter().all(|n| signed.contains(*n)) {
            row.verdict = Verdict::SignatureDiffers;
            row.details = vec![format!(
                "only the checksums of {} differ, whose signatures differ",
                differing
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )];
        }
    }
}

/// When the two files of an artifact differ only in code signatures: the verdict and what
/// differs (the signed files, and for different keys the inputs). `None` when the payloads
/// differ too, no signature was removed, or a file is not found.
fn signature_only(
    a_manifest: &Path,
    b_manifest: &Path,
    a: &ManifestArtifact,
    b: &ManifestArtifact,
) -> Option<(Verdict, Vec<String>)> {
    // Only signing recipes make signatures: other files are not read again.
    if !is_signed(a) && !is_signed(b) {
        return None;
    }
    let (fa, fb) = (artifact_file(a_manifest, a)?, artifact_file(b_manifest, b)?);
    let mut details = signature_only_files(&a.name, &fa, &fb)?;
    if a.recipe.as_ref().map(|r| &r.key) != b.recipe.as_ref().map(|r| &r.key) {
        details.extend(input_details(a, b));
    }
    Some((Verdict::SignatureDiffers, details))
}

/// Whether a signing recipe made the artifact or something in it (its recorded inputs name
/// a signer).
pub(crate) fn is_signed(a: &ManifestArtifact) -> bool {
    a.recipe
        .as_ref()
        .is_some_and(|r| r.inputs.keys().any(|k| k.ends_with("signer:method")))
}

/// Whether two files of the artifact `name` (or, for an archive, their members) are the same
/// once code signatures are removed, and at least one signature was: what was removed from
/// which files. `None` when they differ otherwise, or nothing was signed.
pub(crate) fn signature_only_files(name: &str, fa: &Path, fb: &Path) -> Option<Vec<String>> {
    let stripped = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let strip = |name: &str, bytes: &[u8]| {
        let out = crate::signing::strip_bytes(name, bytes);
        if out.is_some() {
            stripped.borrow_mut().insert(name.to_string());
        }
        out
    };
    let same = match archive_format(name) {
        Some(format) => {
            let read =
                |f: &Path| dist_recipes::archive::read_members_filtered(format, f, &strip).ok();
            read(fa)? == read(fb)?
        }
        None => {
            let read = |f: &Path| {
                let bytes = std::fs::read(f).ok()?;
                Some(strip(name, &bytes).unwrap_or(bytes))
            };
            read(fa)? == read(fb)?
        }
    };
    let stripped = stripped.into_inner();
    if !same || stripped.is_empty() {
        return None;
    }
    Some(vec![format!(
        "the same with code signatures removed from {}",
        stripped.into_iter().collect::<Vec<_>>().join(", ")
    )])
}

pub(crate) fn input_details(a: &ManifestArtifact, b: &ManifestArtifact) -> Vec<String> {
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
        let verdict_of = |x: &ManifestArtifact, y: &ManifestArtifact| {
            if key_a != key_b || key_a.is_none() {
                return signature_only(a_path, b_path, x, y)
                    .unwrap_or_else(|| (Verdict::DifferentInputs, input_details(x, y)));
            }
            match (&blake3_a, &blake3_b) {
                (Some(da), Some(db)) if da == db => (Verdict::Reproduced, Vec::new()),
                (Some(_), Some(_)) => signature_only(a_path, b_path, x, y).unwrap_or_else(|| {
                    (
                        Verdict::NotReproducible,
                        member_details(a_path, b_path, x, y),
                    )
                }),
                _ => (Verdict::NotBuilt, Vec::new()),
            }
        };
        let (verdict, mut details) = match (x, y) {
            (Some(_), None) => (Verdict::OnlyInA, Vec::new()),
            (None, Some(_)) => (Verdict::OnlyInB, Vec::new()),
            (None, None) => unreachable!("the name comes from one of the manifests"),
            (Some(x), Some(y)) => verdict_of(x, y),
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
    checksums_of_signed_files(a_path, a, b_path, b, &mut rows);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::{artifact_file, compare_manifests, render, Verdict};
    use crate::manifest::{DistManifest, ManifestArtifact};

    #[test]
    fn artifact_files_stay_below_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("ws/target/distrib/dist-manifest.json");
        std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
        std::fs::write(dir.path().join("ws/target/distrib/app.zip"), b"x").unwrap();
        std::fs::write(dir.path().join("outside.zip"), b"x").unwrap();
        let a = |name: &str, path: Option<&str>| -> ManifestArtifact {
            serde_json::from_value(json!({"name": name, "kind": "executable-zip", "path": path}))
                .unwrap()
        };
        assert!(artifact_file(&manifest, &a("app.zip", None)).is_some());
        let outside = dir.path().join("outside.zip");
        let climbing = a("../../../outside.zip", Some("../../outside.zip"));
        assert_eq!(artifact_file(&manifest, &climbing), None);
        let absolute = a(outside.to_str().unwrap(), Some(outside.to_str().unwrap()));
        assert_eq!(artifact_file(&manifest, &absolute), None);
    }

    /// Names a manifest from anywhere may hold: archives (whose members `compare` reads when
    /// digests differ), paths that climb out, absolute ones, odd bytes.
    const NAMES: &[&str] = &[
        "app-x86_64-unknown-linux-gnu.tar.xz",
        "app.zip",
        "app.tar.gz",
        "../../etc/passwd.tar.gz",
        "/etc/hostname.zip",
        "sha256.sum",
        "a b\n\"c'.tar.zst",
        "ünï.tar.xz",
        "",
    ];

    fn digest() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!("0".repeat(64))),
            Just(json!("1".repeat(64))),
            "[0-9a-f]{0,70}".prop_map(Value::String),
        ]
    }

    fn artifact() -> impl Strategy<Value = Value> {
        (
            digest(),
            digest(),
            proptest::collection::btree_map("[a-z:._-]{1,12}", ".{0,12}", 0..4),
            proptest::option::of(prop_oneof![Just("full"), Just("none"), Just("bogus")]),
            any::<bool>(),
        )
            .prop_map(|(key, blake3, inputs, isolation, has_recipe)| {
                let mut a = json!({"name": "x", "kind": "executable-zip"});
                if has_recipe {
                    a["recipe"] = json!({
                        "key": key.as_str().unwrap_or("k"),
                        "cached": false,
                        "blake3": blake3,
                        "inputs": inputs,
                        "isolation": isolation,
                    });
                }
                a
            })
    }

    fn manifest() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(prop::sample::select(NAMES), artifact(), 0..6).prop_map(
            |artifacts| {
                json!({
                    "dist_version": "0.1.0",
                    "announcement_tag": "v1.0.0",
                    "announcement_title": "v1.0.0",
                    "artifacts": artifacts,
                })
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any two manifests compare without a panic (archive members read only next to the
        /// manifests, and failing quietly when missing or not archives); a row is reproduced
        /// exactly when both sides have the same key and the same digest.
        #[test]
        fn any_two_manifests_compare(a in manifest(), b in manifest()) {
            let dir = tempfile::tempdir().unwrap();
            let (pa, pb) = (dir.path().join("a/dist-manifest.json"), dir.path().join("b/dist-manifest.json"));
            let (Ok(ma), Ok(mb)) = (
                serde_json::from_value::<DistManifest>(a),
                serde_json::from_value::<DistManifest>(b),
            ) else {
                return Ok(());
            };
            let c = compare_manifests(&pa, &ma, &pb, &mb);
            let _ = render(&c);
            for row in &c.artifacts {
                let same = row.key_a.is_some()
                    && row.key_a == row.key_b
                    && row.blake3_a.is_some()
                    && row.blake3_a == row.blake3_b;
                prop_assert_eq!(row.verdict == Verdict::Reproduced, same, "{}", row.name);
            }
            prop_assert_eq!(
                c.reproducible,
                c.artifacts.iter().all(|r| r.verdict != Verdict::NotReproducible)
            );
        }
    }
}
