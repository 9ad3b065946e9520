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

use super::compare::{file_member_details, input_details, is_signed, signature_only_files};
use super::GlobalOpts;
use crate::manifest::{DistManifest, ManifestArtifact};
use crate::plan::ArtifactMode;
use crate::provenance::{self, Signers};
use crate::report::{Event, Reporter};
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no release to verify: pass --release DIR|URL (a directory or base URL of the release's files), or the tag in a workspace whose `repository` is on GitHub (or whose `hosting` names a `simple-download-url`)")]
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
    /// The same once code signatures are removed (the rebuild has no signing key, or a
    /// timestamp differs).
    SignatureDiffers,
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
            Verdict::SignatureDiffers => "reproduced (signature differs)",
            Verdict::NotReproducible => "NOT REPRODUCIBLE",
            Verdict::DifferentInputs => "different inputs",
            Verdict::NotRebuilt => "not rebuilt here",
            Verdict::Unverified => "NOT VERIFIED",
            Verdict::ChecksumMismatch => "CHECKSUM MISMATCH",
            Verdict::Missing => "MISSING",
        }
    }

    fn fails(self) -> bool {
        !matches!(
            self,
            Verdict::Reproduced | Verdict::SignatureDiffers | Verdict::NotRebuilt
        )
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

/// A file name with no directory part (a served manifest names only such files).
pub(super) fn plain_name(name: &str) -> bool {
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

/// Where `verify` works, below `target/dist-verify/`: the release's files, the rebuild's
/// artifacts, and the rebuild's store (all emptied first).
struct Dirs {
    downloads: PathBuf,
    rebuilt: PathBuf,
    store: PathBuf,
    /// The release's signed files, where the rebuild's signing recipes take them from.
    adopt: PathBuf,
}

/// What the rebuild made, and why it did not make the rest.
struct Rebuilt<'m> {
    /// Artifact name -> the rebuilt manifest entry (with its digest).
    made: BTreeMap<String, ManifestArtifact>,
    /// Target -> why this machine did not rebuild it.
    unbuildable: BTreeMap<&'m str, String>,
    /// Target -> the error its rebuild failed with.
    failed: BTreeMap<String, String>,
    global_error: Option<String>,
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
    let location = release_location(&loaded, args, opts)?;
    let source = Source::new(&location)?;
    let work = loaded.ws.target_dir.join("dist-verify");
    let dirs = Dirs {
        downloads: work.join("release"),
        rebuilt: work.join("rebuilt"),
        store: work.join("store"),
        adopt: work.join("signed"),
    };
    for dir in [&dirs.downloads, &dirs.rebuilt, &dirs.store, &dirs.adopt] {
        fresh_dir(dir)?;
    }
    reporter.report(Event::Step(format!("fetching the release from {location}")));
    let manifest = fetch_manifest(&source, &location, &dirs.downloads)?;
    let tag = manifest.announcement_tag.clone();
    if let Some(given) = opts.tag.as_ref().filter(|g| **g != tag) {
        return Err(VerifyError::TagMismatch {
            given: given.clone(),
            found: tag,
        }
        .into());
    }
    let (fetched, mut rows) = fetch_files(&source, &manifest, &dirs.downloads)?;
    let (commit, mut notes) = checkout_notes(&loaded.ws, &tag);
    let provenance = check_provenance(&source, &fetched, &trusted, commit.as_deref(), &mut notes)?;
    let rebuilt = rebuild(opts, &loaded, &manifest, &fetched, &dirs, reporter)?;
    for (name, art) in &manifest.artifacts {
        if let Some(file) = fetched.get(name) {
            rows.push(judge(name, art, file, &rebuilt, &dirs.rebuilt));
        }
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

/// `--release`, else where the installers of the tag's release download from: the first host
/// of `hosting` (`simple-download-url`, or the GitHub release at `github-releases-repo` or the
/// package's `repository`).
fn release_location(
    loaded: &super::Loaded,
    args: &VerifyArgs,
    opts: &GlobalOpts,
) -> Result<String, Error> {
    let tag = match (&args.release, &opts.tag) {
        (Some(r), _) => return Ok(r.clone()),
        (None, Some(tag)) => tag,
        (None, None) => return Err(VerifyError::NoRelease.into()),
    };
    for pkg in &loaded.ws.packages {
        if let Some(url) = crate::plan::hosted_url(&loaded.cfg, pkg, tag)? {
            return Ok(url);
        }
    }
    Err(VerifyError::NoRelease.into())
}

/// The release's `dist-manifest.json`, kept in `downloads`.
fn fetch_manifest(
    source: &Source,
    location: &str,
    downloads: &Path,
) -> Result<DistManifest, VerifyError> {
    let what = format!("{location}: dist-manifest.json");
    let bytes = source
        .get("dist-manifest.json")?
        .ok_or_else(|| VerifyError::Fetch {
            what: what.clone(),
            message: "not found".into(),
        })?;
    let manifest = serde_json::from_slice(&bytes).map_err(|e| VerifyError::Manifest {
        what,
        message: e.to_string(),
    })?;
    let path = downloads.join("dist-manifest.json");
    std::fs::write(&path, &bytes).map_err(io(&path))?;
    Ok(manifest)
}

/// Every file the manifest names, downloaded and hashed; the rows of those that are missing.
fn fetch_files(
    source: &Source,
    manifest: &DistManifest,
    downloads: &Path,
) -> Result<(BTreeMap<String, Fetched>, Vec<Row>), VerifyError> {
    let mut fetched = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, art) in &manifest.artifacts {
        if !plain_name(name) {
            return Err(VerifyError::UnsafeName(name.clone()));
        }
        let Some(bytes) = source.get(name)? else {
            missing.push(Row {
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
        let file = Fetched {
            path,
            sha256,
            blake3,
            intact,
        };
        fetched.insert(name.clone(), file);
    }
    Ok((fetched, missing))
}

/// The commit checked out, and notes when it is not the tag's (or cannot be told).
fn checkout_notes(ws: &crate::workspace::Workspace, tag: &str) -> (Option<String>, Vec<String>) {
    let Some(root) = ws.git_root.as_deref() else {
        let note = "the workspace is not in git: the commit cannot be checked";
        return (None, vec![note.into()]);
    };
    let commit = crate::workspace::git_commit(root, None);
    let note = match crate::workspace::git_commit(root, Some(tag)) {
        Some(at) if Some(&at) != commit.as_ref() => Some(format!(
            "the checkout is at {}, {tag} at {at}: `git checkout {tag}` to verify the tagged source",
            commit.as_deref().unwrap_or("?")
        )),
        Some(_) => None,
        None => Some(format!(
            "this checkout has no tag {tag}: `git fetch --tags` to check the commit"
        )),
    };
    (commit, note.into_iter().collect())
}

/// Rebuilds the release as CI made it, with the rebuild's own store: each target this machine
/// builds as its build job did, then the global artifacts as the global job did (the other
/// targets' archives taken from the release).
fn rebuild<'m>(
    opts: &GlobalOpts,
    loaded: &super::Loaded,
    manifest: &'m DistManifest,
    fetched: &BTreeMap<String, Fetched>,
    dirs: &Dirs,
    reporter: &dyn Reporter,
) -> Result<Rebuilt<'m>, Error> {
    let host = loaded.rustc.get()?.host().to_string();
    // The targets of the release's per-target artifacts, and which of them build here.
    let targets: BTreeSet<&str> = manifest
        .artifacts
        .values()
        .filter_map(|a| match a.target_triples.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        })
        .collect();
    let asked = |t: &str| opts.targets.is_empty() || opts.targets.iter().any(|a| a == t);
    // `build-local-artifacts = false`: the per-target files are the user's jobs', not this
    // tool's to rebuild; the global rebuild takes them from the release, as the global job did.
    let users = loaded.cfg.global.user_local_builds;
    let unbuildable: BTreeMap<&str, String> = targets
        .iter()
        .filter_map(|t| {
            let why = if users {
                "made by a job of yours (build-local-artifacts = false), not by this tool".into()
            } else if asked(t) {
                why_not_buildable(&host, t)?
            } else {
                "not asked for (--target)".to_string()
            };
            Some((*t, why))
        })
        .collect();
    let mut base = opts.clone();
    base.store = Some(dirs.store.clone());
    base.remote = Some("off".into());
    base.tag = Some(manifest.announcement_tag.clone());
    base.allow_dirty = true;
    base.no_local_paths = true;
    let intact: BTreeMap<String, &Path> = fetched
        .iter()
        .filter(|(_, f)| f.intact)
        .map(|(name, f)| (name.clone(), f.path.as_path()))
        .collect();
    let adopt = super::adopt::adoption(manifest, &intact, &dirs.adopt).map_err(io(&dirs.adopt))?;
    if adopt.is_some() {
        reporter.report(Event::Step(
            "the release is signed: its signatures are taken where its files are this rebuild's with a signature".into(),
        ));
    }
    let how = super::build::How {
        into: Some(dirs.rebuilt.clone()),
        adopt,
        user_files: users.then(|| dirs.downloads.clone()),
        ..Default::default()
    };
    let mut out = Rebuilt {
        made: BTreeMap::new(),
        unbuildable,
        failed: BTreeMap::new(),
        global_error: None,
    };
    let buildable: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !out.unbuildable.contains_key(t))
        .collect();
    for target in buildable {
        reporter.report(Event::Step(format!("rebuilding the artifacts of {target}")));
        let mut o = base.clone();
        o.artifacts = Some(ArtifactMode::Local);
        o.targets = vec![target.to_string()];
        match super::build::build(&o, how.clone(), reporter) {
            Ok(p) => out.keep(p.manifest),
            Err(e) => {
                out.failed.insert(target.to_string(), e.to_string());
            }
        }
    }
    seed_unbuildable(&dirs.store, manifest, fetched, &out.unbuildable)?;
    reporter.report(Event::Step("rebuilding the global artifacts".into()));
    base.artifacts = Some(ArtifactMode::Global);
    base.targets.clear();
    match super::build::build(&base, how, reporter) {
        Ok(p) => out.keep(p.manifest),
        Err(e) => out.global_error = Some(e.to_string()),
    }
    Ok(out)
}

impl Rebuilt<'_> {
    /// Keeps what a rebuild made: the artifacts it built (with a digest).
    fn keep(&mut self, m: DistManifest) {
        for (name, a) in m.artifacts {
            if a.recipe.as_ref().is_some_and(|r| r.blake3.is_some()) {
                self.made.insert(name, a);
            }
        }
    }
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
fn judge(
    name: &str,
    art: &ManifestArtifact,
    file: &Fetched,
    rebuilt: &Rebuilt<'_>,
    rebuilt_dir: &Path,
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
    let Some(made) = rebuilt.made.get(name) else {
        if let Some(why) = target.and_then(|t| rebuilt.unbuildable.get(t)) {
            return row(
                Verdict::NotRebuilt,
                vec![format!("{}: {why}", target.unwrap_or(""))],
            );
        }
        let failed = target.and_then(|t| rebuilt.failed.get(t));
        let why = match failed.or(rebuilt.global_error.as_ref()) {
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
    if !same_bytes && (is_signed(art) || is_signed(made)) {
        if let Some(mut details) = signature_only_files(name, &file.path, &rebuilt_dir.join(name)) {
            if key(art) != key(made) {
                details.extend(input_details(art, made));
            }
            return row(Verdict::SignatureDiffers, details);
        }
    }
    match key(art) {
        Some(k) if Some(&k) != key(made).as_ref() => {
            row(Verdict::DifferentInputs, input_details(art, made))
        }
        // A release without keys (not made by this tool) is judged by its bytes alone.
        _ if same_bytes => row(Verdict::Reproduced, Vec::new()),
        _ => row(
            Verdict::NotReproducible,
            file_member_details(name, &file.path, &rebuilt_dir.join(name)),
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
        ok: false,
    };
    let Some(bytes) = source.get(provenance::FILE_NAME)? else {
        if !trusted.is_empty() {
            check.problems.push(format!(
                "the release has no {}, and trusted keys were given",
                provenance::FILE_NAME
            ));
        }
        check.ok = check.problems.is_empty();
        return Ok(check);
    };
    let text = String::from_utf8_lossy(&bytes);
    let (statement, signers) = match provenance::open(&text, trusted) {
        Ok(opened) => opened,
        Err(e) => {
            check.state = "refused".into();
            check.problems.push(e.to_string());
            return Ok(check);
        }
    };
    judge_signers(&mut check, signers, !trusted.is_empty());
    check_subjects(&mut check, &statement, fetched, commit, notes);
    check.ok = check.problems.is_empty();
    Ok(check)
}

/// Who signed the statement, and whether that is a problem: with trusted keys given, it must
/// be one of them.
fn judge_signers(check: &mut ProvenanceCheck, signers: Signers, keys_given: bool) {
    let problem = match signers {
        Signers::Trusted(keys) => {
            check.state = "trusted".into();
            check.keys = keys;
            None
        }
        Signers::Untrusted(keys) => {
            check.state = "untrusted".into();
            let problem = format!("signed by {}, none of them a trusted key", keys.join(", "));
            check.keys = keys;
            Some(problem)
        }
        Signers::Unsigned => {
            check.state = "unsigned".into();
            Some("unsigned, and trusted keys were given".to_string())
        }
    };
    check.problems.extend(problem.filter(|_| keys_given));
}

/// Each subject's digests against the release's file; notes for files the statement leaves
/// out and for a commit other than the checkout's.
fn check_subjects(
    check: &mut ProvenanceCheck,
    statement: &provenance::Statement,
    fetched: &BTreeMap<String, Fetched>,
    commit: Option<&str>,
    notes: &mut Vec<String>,
) {
    for subject in &statement.subject {
        let Some(file) = fetched.get(&subject.name) else {
            let name = &subject.name;
            check
                .problems
                .push(format!("subject {name} is not a file of the release"));
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
