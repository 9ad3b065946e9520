//! `verify`: rebuild a published release from this checkout, hermetically and with an empty
//! store, and compare it file by file with what was published; check the release's signed
//! provenance on the way.
//!
//! The release's files are downloaded (from a directory or an HTTP(S) base URL, by default the
//! GitHub release of the tag) into `target/dist-verify/release/` and checked against the
//! checksums of its `dist-manifest.json`. The local artifacts of every target this machine can
//! build are rebuilt as CI's build jobs make them, then the global ones as CI's global job makes
//! them: the archives of targets built elsewhere are taken from the release (checked) so the
//! installers that embed their checksums can be rebuilt too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dist_store::{OutputRecord, RecipeKey, RecipeRecord, Store};
use serde::Serialize;

use super::compare::{file_member_details, input_details};
use super::GlobalOpts;
use crate::manifest::{DistManifest, ManifestArtifact};
use crate::plan::{ArtifactMode, GithubRepo};
use crate::provenance::{self, Signers};
use crate::report::{Event, Reporter};
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no release to verify: pass --release DIR|URL (a directory or base URL of the release's files), or --tag TAG in a workspace whose `repository` is on GitHub")]
    NoRelease,
    #[error("could not fetch {what}: {message}")]
    Fetch { what: String, message: String },
    #[error("{what} is not a dist-manifest: {message}\n  --release must hold the dist-manifest.json `cargo dist build` or the release workflow wrote")]
    Manifest { what: String, message: String },
    #[error("--tag {given} is not the release's tag: its manifest announces {found}")]
    TagMismatch { given: String, found: String },
    #[error("trusted key: {0}\n  pass the public key `cargo dist store keygen` printed (64 hex characters)")]
    TrustedKey(String),
    #[error("the release's manifest names an artifact {0:?}, which is not a plain file name: refusing to fetch it")]
    UnsafeName(String),
    #[error("preparing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Default)]
pub struct VerifyArgs {
    /// A directory or an http(s) base URL holding the release's files.
    pub release: Option<String>,
    /// Public keys (hex) whose provenance signatures are trusted.
    pub trusted_keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Reproduced,
    NotReproducible,
    DifferentInputs,
    /// Made for a target this machine cannot build: not a failure.
    NotRebuilt,
    /// This checkout did not make it (its plan lacks it, or its build failed).
    Unverified,
    /// The file differs from the checksum the release's manifest gives.
    ChecksumMismatch,
    /// Named by the manifest, absent from the release.
    Missing,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproducible => "NOT REPRODUCIBLE",
            Verdict::DifferentInputs => "different inputs",
            Verdict::NotRebuilt => "not rebuilt here",
            Verdict::Unverified => "NOT VERIFIED",
            Verdict::ChecksumMismatch => "CHECKSUM MISMATCH",
            Verdict::Missing => "MISSING",
        }
    }

    fn fails(self) -> bool {
        !matches!(self, Verdict::Reproduced | Verdict::NotRebuilt)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceCheck {
    /// `absent`, `trusted`, `untrusted`, `unsigned` or `refused`.
    pub state: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub release: String,
    pub tag: String,
    /// The commit checked out, and what the tag and the provenance say.
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub provenance: ProvenanceCheck,
    pub artifacts: Vec<Row>,
    /// Every artifact that could be rebuilt here was, with the same bytes; the provenance (if
    /// any) holds.
    pub verified: bool,
}

/// Where the release's files are.
enum Source {
    Dir(PathBuf),
    Http {
        base: String,
        client: reqwest::blocking::Client,
    },
}

impl Source {
    fn new(location: &str) -> Result<Source, VerifyError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            dist_store::remote::install_tls();
            let client = reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(600))
                .user_agent(concat!("cargo-dist/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| VerifyError::Fetch {
                    what: location.into(),
                    message: e.to_string(),
                })?;
            let base = format!("{}/", location.trim_end_matches('/'));
            return Ok(Source::Http { base, client });
        }
        Ok(Source::Dir(PathBuf::from(location)))
    }

    /// The file `name` of the release, `None` when the release has none.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, VerifyError> {
        match self {
            Source::Dir(dir) => match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(VerifyError::Fetch {
                    what: dir.join(name).display().to_string(),
                    message: e.to_string(),
                }),
            },
            Source::Http { base, client } => {
                let url = format!("{base}{name}");
                let fail = |message: String| VerifyError::Fetch {
                    what: url.clone(),
                    message,
                };
                let resp = client.get(&url).send().map_err(|e| fail(e.to_string()))?;
                if resp.status() == reqwest::StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                let resp = resp.error_for_status().map_err(|e| fail(e.to_string()))?;
                Ok(Some(
                    resp.bytes().map_err(|e| fail(e.to_string()))?.to_vec(),
                ))
            }
        }
    }
}

/// A release file as downloaded, with its digests.
struct Fetched {
    path: PathBuf,
    sha256: String,
    blake3: String,
    /// It matches the checksums the manifest gives.
    intact: bool,
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// An empty directory at `path` (whatever was there removed).
fn fresh_dir(path: &Path) -> Result<(), VerifyError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    std::fs::create_dir_all(path).map_err(io(path))
}

pub fn verify(
    opts: &GlobalOpts,
    args: &VerifyArgs,
    reporter: &dyn Reporter,
) -> Result<Verification, Error> {
    let trusted = args
        .trusted_keys
        .iter()
        .cloned()
        .chain(crate::env::provenance_trusted_keys())
        .map(|k| dist_store::remote::parse_public_key(&k).map_err(VerifyError::TrustedKey))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = super::load(opts)?;
    let ws = &loaded.ws;
    let location = match (&args.release, &opts.tag) {
        (Some(r), _) => r.clone(),
        (None, Some(tag)) => ws
            .packages
            .iter()
            .find_map(|p| p.repository.as_deref().and_then(GithubRepo::parse))
            .map(|g| g.download_url(tag))
            .ok_or(VerifyError::NoRelease)?,
        (None, None) => return Err(VerifyError::NoRelease.into()),
    };
    let source = Source::new(&location)?;
    let work = ws.target_dir.join("dist-verify");
    let (downloads, rebuilt, store_dir) = (
        work.join("release"),
        work.join("rebuilt"),
        work.join("store"),
    );
    for dir in [&downloads, &rebuilt, &store_dir] {
        fresh_dir(dir)?;
    }

    reporter.report(Event::Step(format!("fetching the release from {location}")));
    let manifest_bytes = source
        .get("dist-manifest.json")?
        .ok_or_else(|| VerifyError::Fetch {
            what: format!("{location}: dist-manifest.json"),
            message: "not found".into(),
        })?;
    let manifest: DistManifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| VerifyError::Manifest {
            what: format!("{location}: dist-manifest.json"),
            message: e.to_string(),
        })?;
    let tag = manifest.announcement_tag.clone();
    if let Some(given) = opts.tag.as_ref().filter(|g| **g != tag) {
        return Err(VerifyError::TagMismatch {
            given: given.clone(),
            found: tag,
        }
        .into());
    }
    std::fs::write(downloads.join("dist-manifest.json"), &manifest_bytes)
        .map_err(io(&downloads))?;
    let mut fetched = BTreeMap::new();
    let mut rows = Vec::new();
    for (name, art) in &manifest.artifacts {
        if !plain_name(name) {
            return Err(VerifyError::UnsafeName(name.clone()).into());
        }
        let Some(bytes) = source.get(name)? else {
            rows.push(Row {
                name: name.clone(),
                verdict: Verdict::Missing,
                details: vec!["the manifest names it; the release has no such file".into()],
            });
            continue;
        };
        let path = downloads.join(name);
        std::fs::write(&path, &bytes).map_err(io(&path))?;
        let sha256 = dist_recipes::archive::sha256_file(&path).map_err(|e| VerifyError::Fetch {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        let blake3 = blake3::hash(&bytes).to_hex().to_string();
        let claimed_blake3 = art.recipe.as_ref().and_then(|r| r.blake3.as_deref());
        let intact = art.checksums.get("sha256").is_none_or(|s| *s == sha256)
            && claimed_blake3.is_none_or(|b| b == blake3);
        fetched.insert(
            name.clone(),
            Fetched {
                path,
                sha256,
                blake3,
                intact,
            },
        );
    }

    let commit = ws
        .git_root
        .as_deref()
        .and_then(|root| crate::workspace::git_commit(root, None));
    let mut notes = Vec::new();
    if let Some(root) = ws.git_root.as_deref() {
        match crate::workspace::git_commit(root, Some(&tag)) {
            Some(at) if Some(&at) != commit.as_ref() => notes.push(format!(
                "the checkout is at {}, {tag} at {at}: `git checkout {tag}` to verify the tagged source",
                commit.as_deref().unwrap_or("?")
            )),
            Some(_) => {}
            None => notes.push(format!(
                "this checkout has no tag {tag}: `git fetch --tags` to check the commit"
            )),
        }
    } else {
        notes.push("the workspace is not in git: the commit cannot be checked".into());
    }

    let provenance = check_provenance(&source, &fetched, &trusted, commit.as_deref(), &mut notes)?;

    // The targets of the release's per-target artifacts, and which of them build here.
    let host = loaded.rustc.get()?.host().to_string();
    let targets: BTreeSet<&str> = manifest
        .artifacts
        .values()
        .filter_map(|a| match a.target_triples.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        })
        .collect();
    let asked = |t: &str| opts.targets.is_empty() || opts.targets.iter().any(|a| a == t);
    let unbuildable: BTreeMap<&str, String> = targets
        .iter()
        .filter_map(|t| {
            let why = match asked(t) {
                true => why_not_buildable(&host, t)?,
                false => "not asked for (--target)".to_string(),
            };
            Some((*t, why))
        })
        .collect();

    let mut rebuild_opts = opts.clone();
    rebuild_opts.store = Some(store_dir.clone());
    rebuild_opts.remote = Some("off".into());
    rebuild_opts.tag = Some(tag.clone());
    rebuild_opts.allow_dirty = true;
    rebuild_opts.no_local_paths = true;
    let how = super::build::How {
        into: Some(rebuilt.clone()),
        ..Default::default()
    };
    let mut made: BTreeMap<String, ManifestArtifact> = BTreeMap::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    // What a rebuild made: the artifacts it built (with a digest).
    let keep = |m: DistManifest, made: &mut BTreeMap<String, ManifestArtifact>| {
        for (name, a) in m.artifacts {
            if a.recipe.as_ref().is_some_and(|r| r.blake3.is_some()) {
                made.insert(name, a);
            }
        }
    };
    for target in targets.iter().filter(|t| !unbuildable.contains_key(*t)) {
        reporter.report(Event::Step(format!("rebuilding the artifacts of {target}")));
        let mut o = rebuild_opts.clone();
        o.artifacts = Some(ArtifactMode::Local);
        o.targets = vec![target.to_string()];
        match super::build::build(&o, how.clone(), reporter) {
            Ok(p) => keep(p.manifest, &mut made),
            Err(e) => {
                failed.insert(target.to_string(), e.to_string());
            }
        }
    }
    seed_unbuildable(&store_dir, &manifest, &fetched, &unbuildable)?;
    reporter.report(Event::Step("rebuilding the global artifacts".into()));
    let mut o = rebuild_opts.clone();
    o.artifacts = Some(ArtifactMode::Global);
    o.targets.clear();
    let global_error = match super::build::build(&o, how, reporter) {
        Ok(p) => {
            keep(p.manifest, &mut made);
            None
        }
        Err(e) => Some(e.to_string()),
    };

    for (name, art) in &manifest.artifacts {
        let Some(file) = fetched.get(name) else {
            continue;
        };
        rows.push(judge(
            name,
            art,
            file,
            made.get(name),
            &rebuilt,
            &unbuildable,
            &failed,
            global_error.as_deref(),
        ));
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let verified = provenance.ok
        && !rows.iter().any(|r| r.verdict.fails())
        && rows.iter().any(|r| r.verdict == Verdict::Reproduced);
    Ok(Verification {
        release: location,
        tag,
        commit,
        notes,
        provenance,
        artifacts: rows,
        verified,
    })
}

/// Why this machine cannot build `target` (`None`: it can): the host's own target, or one whose
/// standard library is installed for the same OS, builds here.
fn why_not_buildable(host: &str, target: &str) -> Option<String> {
    if target == host {
        return None;
    }
    let os = |t| dist_recipes::target::Target(t).os_name();
    if os(target) != os(host) {
        return Some(format!("it needs a {} machine", os(target)));
    }
    let installed = std::process::Command::new(crate::env::rustc())
        .args(["--print", "target-libdir", "--target", target])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir());
    (!installed)
        .then(|| format!("its standard library is not installed (`rustup target add {target}`)"))
}

/// The release's per-target artifacts of targets not built here go into the rebuild's store
/// under the release's keys (when their files match the release's checksums), so the global
/// artifacts that embed their checksums can be rebuilt and compared.
fn seed_unbuildable(
    store_dir: &Path,
    manifest: &DistManifest,
    fetched: &BTreeMap<String, Fetched>,
    unbuildable: &BTreeMap<&str, String>,
) -> Result<(), Error> {
    let store = Store::open(store_dir)?;
    for (name, art) in &manifest.artifacts {
        let (Some(file), Some(recipe), [target]) = (
            fetched.get(name),
            &art.recipe,
            art.target_triples.as_slice(),
        ) else {
            continue;
        };
        if !file.intact || !unbuildable.contains_key(target.as_str()) {
            continue;
        }
        let Ok(key) = RecipeKey::from_hex(&recipe.key) else {
            continue;
        };
        let info = store.put_file(&file.path)?;
        store.record(&RecipeRecord {
            key,
            kind: art.kind.clone(),
            label: name.clone(),
            inputs: recipe.inputs.clone(),
            outputs: vec![OutputRecord::new(name.clone(), &info)],
            isolation: None,
        })?;
    }
    Ok(())
}

/// One artifact's verdict: the release's file against this checkout's rebuild of it.
#[allow(clippy::too_many_arguments)]
fn judge(
    name: &str,
    art: &ManifestArtifact,
    file: &Fetched,
    made: Option<&ManifestArtifact>,
    rebuilt: &Path,
    unbuildable: &BTreeMap<&str, String>,
    failed: &BTreeMap<String, String>,
    global_error: Option<&str>,
) -> Row {
    let row = |verdict, details| Row {
        name: name.to_string(),
        verdict,
        details,
    };
    if !file.intact {
        let said = art
            .checksums
            .get("sha256")
            .map(|s| format!("sha256 {s}"))
            .or_else(|| {
                art.recipe
                    .as_ref()
                    .and_then(|r| r.blake3.as_ref())
                    .map(|b| format!("blake3 {b}"))
            })
            .unwrap_or_default();
        return row(
            Verdict::ChecksumMismatch,
            vec![format!(
                "the manifest says {said}; the file has sha256 {} (blake3 {})",
                file.sha256, file.blake3
            )],
        );
    }
    let target = match art.target_triples.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    let Some(made) = made else {
        if let Some(why) = target.and_then(|t| unbuildable.get(t)) {
            return row(
                Verdict::NotRebuilt,
                vec![format!("{}: {why}", target.unwrap_or(""))],
            );
        }
        let why = match target
            .and_then(|t| failed.get(t))
            .map(String::as_str)
            .or(global_error)
        {
            Some(e) => format!("the rebuild failed: {e}"),
            None => "this checkout's plan does not make it".to_string(),
        };
        return row(Verdict::Unverified, vec![why]);
    };
    let key = |a: &ManifestArtifact| a.recipe.as_ref().map(|r| r.key.clone());
    let ours = made
        .recipe
        .as_ref()
        .and_then(|r| r.blake3.clone())
        .unwrap_or_default();
    let same_bytes = ours == file.blake3;
    match key(art) {
        Some(k) if Some(&k) != key(made).as_ref() => {
            row(Verdict::DifferentInputs, input_details(art, made))
        }
        // A release without keys (not made by this tool) is judged by its bytes alone.
        _ if same_bytes => row(Verdict::Reproduced, Vec::new()),
        _ => row(
            Verdict::NotReproducible,
            file_member_details(name, &file.path, &rebuilt.join(name)),
        ),
    }
}

/// The release's provenance statement, if it has one: its signature against the trusted keys,
/// and its subjects against the files downloaded.
fn check_provenance(
    source: &Source,
    fetched: &BTreeMap<String, Fetched>,
    trusted: &[ed25519_dalek::VerifyingKey],
    commit: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<ProvenanceCheck, Error> {
    let mut check = ProvenanceCheck {
        state: "absent".into(),
        keys: Vec::new(),
        problems: Vec::new(),
        ok: trusted.is_empty(),
    };
    let Some(bytes) = source.get(provenance::FILE_NAME)? else {
        if !trusted.is_empty() {
            check.problems.push(format!(
                "the release has no {}, and trusted keys were given",
                provenance::FILE_NAME
            ));
        }
        return Ok(check);
    };
    let text = String::from_utf8_lossy(&bytes);
    let (statement, signers) = match provenance::open(&text, trusted) {
        Ok(opened) => opened,
        Err(e) => {
            check.state = "refused".into();
            check.problems.push(e.to_string());
            check.ok = false;
            return Ok(check);
        }
    };
    check.ok = true;
    match signers {
        Signers::Trusted(keys) => {
            check.state = "trusted".into();
            check.keys = keys;
        }
        Signers::Untrusted(keys) => {
            check.state = "untrusted".into();
            if !trusted.is_empty() {
                check.problems.push(format!(
                    "signed by {}, none of them a trusted key",
                    keys.join(", ")
                ));
            }
            check.keys = keys;
        }
        Signers::Unsigned => {
            check.state = "unsigned".into();
            if !trusted.is_empty() {
                check
                    .problems
                    .push("unsigned, and trusted keys were given".into());
            }
        }
    }
    for subject in &statement.subject {
        let Some(file) = fetched.get(&subject.name) else {
            check.problems.push(format!(
                "subject {} is not a file of the release",
                subject.name
            ));
            continue;
        };
        for (algo, ours) in [("sha256", &file.sha256), ("blake3", &file.blake3)] {
            if let Some(theirs) = subject.digest.get(algo).filter(|d| *d != ours) {
                check.problems.push(format!(
                    "subject {}: its {algo} is {theirs}, the release's file has {ours}",
                    subject.name
                ));
            }
        }
    }
    let covered: BTreeSet<&str> = statement.subject.iter().map(|s| s.name.as_str()).collect();
    let uncovered: Vec<&str> = fetched
        .keys()
        .map(String::as_str)
        .filter(|n| !covered.contains(n))
        .collect();
    if !uncovered.is_empty() {
        notes.push(format!(
            "the provenance does not cover {}",
            uncovered.join(", ")
        ));
    }
    let params = &statement.predicate.build_definition.external_parameters;
    if let (Some(theirs), Some(ours)) = (params.commit.as_deref(), commit) {
        if theirs != ours {
            notes.push(format!(
                "the provenance says the release was built from commit {theirs}; the checkout is at {ours}"
            ));
        }
    }
    check.ok = check.problems.is_empty();
    Ok(check)
}

/// The report a person reads.
pub fn render(v: &Verification) -> String {
    let mut out = format!("release {} ({})\n", v.tag, v.release);
    if let Some(c) = &v.commit {
        out.push_str(&format!("checkout at {c}\n"));
    }
    for n in &v.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let p = &v.provenance;
    out.push_str(&format!("provenance: {}", p.state));
    if !p.keys.is_empty() {
        out.push_str(&format!(" ({})", p.keys.join(", ")));
    }
    out.push('\n');
    for problem in &p.problems {
        out.push_str(&format!("  REFUSED: {problem}\n"));
    }
    let width = v.artifacts.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in &v.artifacts {
        out.push_str(&format!("{:<width$}  {}\n", r.name, r.verdict.text()));
        for d in &r.details {
            out.push_str(&format!("{:<width$}    {d}\n", ""));
        }
    }
    let count = |v2: Verdict| v.artifacts.iter().filter(|r| r.verdict == v2).count();
    out.push_str(&format!(
        "{}: {} reproduced, {} not rebuilt here, {} failed\n",
        if v.verified {
            "verified"
        } else {
            "NOT VERIFIED"
        },
        count(Verdict::Reproduced),
        count(Verdict::NotRebuilt),
        v.artifacts.iter().filter(|r| r.verdict.fails()).count()
    ));
    out
}
