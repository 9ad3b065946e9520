//! Making one recipe's outputs in a temp dir and putting them in the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use dist_recipes::archive::{self, ArchiveEntry, EntryMode};
use dist_recipes::installer::{self, InstallerKind};
use dist_recipes::recipe::{self, ArchiveSource, Recipe};
use dist_store::{OutputRecord, RecipeKey, RecipeRecord, Store};

use super::{cargo, io, work_dir, BuildOptions, ExecuteError};
use crate::graph::Node;
use crate::isolation::Isolation;
use crate::report::Reporter;
use crate::workspace::Workspace;

/// What making one recipe needs, on whichever thread makes it: its own store handle (SQLite
/// connections are per thread) and the records of the recipes it consumes.
pub(super) struct Producer<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub opts: &'a BuildOptions,
    pub reporter: &'a dyn Reporter,
    /// Records of consumed recipes made or found earlier in this run, by key.
    pub inputs: BTreeMap<RecipeKey, RecipeRecord>,
    /// A build ran with less than full isolation: said once per run.
    pub warned_isolation: &'a AtomicBool,
}

impl Producer<'_> {
    /// The record of a consumed recipe: made or found earlier in this run, else the store's
    /// (an archive another runner built).
    fn record_of(&self, key: &RecipeKey) -> Result<RecipeRecord, ExecuteError> {
        if let Some(rec) = self.inputs.get(key) {
            return Ok(rec.clone());
        }
        self.store.get(key)?.ok_or_else(|| ExecuteError::Write {
            artifact: key.short(),
            message: "a consumed recipe vanished from the store; run `cargo dist store verify`"
                .into(),
        })
    }

    /// `--rebuild`: the fresh outputs must equal the stored ones, byte for byte.
    pub(super) fn check_reproduced(
        &self,
        stored: &RecipeRecord,
        rebuilt: &RecipeRecord,
        node: &Node,
    ) -> Result<(), ExecuteError> {
        let mut differences = Vec::new();
        for out in &rebuilt.outputs {
            match stored.outputs.iter().find(|o| o.name == out.name) {
                Some(o) if o.digest == out.digest => {}
                // A timestamp server answers differently each time: the signed payloads must
                // still be the same.
                Some(o) if self.signatures_differ_only(&node.recipe, o, out) => {}
                Some(o) => {
                    differences.push(format!(
                        "  {}: stored {} , rebuilt {}",
                        out.name,
                        o.digest.short(),
                        out.digest.short()
                    ));
                    differences.extend(member_differences(self.store, &node.recipe, o, out));
                }
                None => differences.push(format!("  {}: only in the rebuild", out.name)),
            }
        }
        if differences.is_empty() {
            Ok(())
        } else {
            Err(ExecuteError::NotReproducible {
                label: node.label.clone(),
                key: node.key.to_hex(),
                differences,
            })
        }
    }

    /// Whether two outputs of a signing recipe are the same with their signatures removed.
    fn signatures_differ_only(
        &self,
        recipe: &Recipe,
        stored: &OutputRecord,
        rebuilt: &OutputRecord,
    ) -> bool {
        if !matches!(recipe, Recipe::Sign(_)) {
            return false;
        }
        let payload = |o: &OutputRecord| {
            let bytes = self.store.read_verified(&o.digest, o.size).ok()?;
            crate::signing::strip_bytes(&o.name, &bytes)
        };
        matches!((payload(stored), payload(rebuilt)), (Some(a), Some(b)) if a == b)
    }

    /// The digest of a recipe's (single) output in a checksum style: sha256 is recorded with
    /// every object; the others read the verified bytes.
    fn digest_in_style(
        &self,
        rec: &RecipeRecord,
        style: archive::ChecksumStyle,
    ) -> Result<String, ExecuteError> {
        let out = &rec.outputs[0];
        if style == archive::ChecksumStyle::Sha256 {
            return Ok(out.sha256.clone());
        }
        let bytes = self.store.read_verified(&out.digest, out.size)?;
        Ok(style.digest_hex(&bytes))
    }

    /// The crate sources' index (first: every record has at least one output) and each crate.
    fn produce_crate_sources(
        &self,
        s: &dist_recipes::recipe::CrateSources,
    ) -> Result<Vec<OutputRecord>, ExecuteError> {
        let mut outs = vec![self.put_bytes(super::vendor::INDEX, &super::vendor::index(s))?];
        let (files, _packed_git) = super::vendor::fetch(super::vendor::locked_in(self.ws, s), s)?;
        for (name, path) in files {
            outs.push(self.put(&name, &path)?);
        }
        Ok(outs)
    }

    /// An extra-artifacts command's files, each named as the plan names its artifact.
    fn produce_extra(
        &self,
        e: &dist_recipes::recipe::ExtraBuild,
        rebuilding: bool,
        tmp: &std::path::Path,
    ) -> Result<Vec<OutputRecord>, ExecuteError> {
        let sandbox = self.sandbox(rebuilding, tmp, "extra-artifacts");
        let (made, _lock) = super::extra::run(self.ws, e, &sandbox)?;
        let mut outs = Vec::new();
        for (path, file) in made {
            let name = path.rsplit('/').next().unwrap_or(&path);
            outs.push(self.put(name, &file)?);
        }
        Ok(outs)
    }

    /// A generic member's build in its sandbox (one per package and target, kept between
    /// builds like cargo's); every binary into the store.
    fn produce_generic(
        &self,
        b: &dist_recipes::recipe::GenericBuild,
        rebuilding: bool,
        tmp: &std::path::Path,
    ) -> Result<Vec<OutputRecord>, ExecuteError> {
        let dir = format!("generic/{}-{}", b.package, b.target);
        let sandbox = self.sandbox(rebuilding, tmp, &dir);
        let (made, _lock) = super::generic::run(self.ws, b, &sandbox)?;
        made.iter()
            .map(|(name, path)| self.put(name, path))
            .collect()
    }

    /// Makes `node`'s outputs in a fresh temp dir and puts them in the store (not yet indexed:
    /// the caller records or compares them).
    pub(super) fn produce(
        &self,
        node: &Node,
        rebuilding: bool,
    ) -> Result<RecipeRecord, ExecuteError> {
        let tmp_root = self.store.root().join("tmp");
        std::fs::create_dir_all(&tmp_root).map_err(io("creating the store's tmp dir"))?;
        let tmp = tempfile::tempdir_in(&tmp_root).map_err(io("creating a temp dir"))?;
        let label = node.output_name();
        let out = tmp.path().join(label);
        let mut isolation = None;
        let outputs = match &node.recipe {
            Recipe::CiWorkflow(w) => vec![self.put_bytes(label, w.text.as_bytes())?],
            Recipe::CargoBuild(b) => {
                let (outs, level) = self.produce_cargo_build(b, rebuilding, tmp.path())?;
                isolation = Some(level.as_str().to_string());
                outs
            }
            Recipe::CrateSources(s) => self.produce_crate_sources(s)?,
            Recipe::ExtraBuild(e) => self.produce_extra(e, rebuilding, tmp.path())?,
            Recipe::GenericBuild(b) => self.produce_generic(b, rebuilding, tmp.path())?,
            Recipe::Package(p) => {
                self.stage_package(label, p, tmp.path())?;
                match p.installer {
                    // The one kind that runs a tool of its own.
                    InstallerKind::Msi => super::msi::build(label, &node.key, p, tmp.path(), &out)?,
                    _ => installer::write_package(p, tmp.path(), &out)
                        .map_err(|e| write_error(label, e))?,
                }
                vec![self.put(label, &out)?]
            }
            Recipe::Sbom(sb) => {
                let sandbox = self.sandbox(rebuilding, tmp.path(), "sbom");
                super::sbom::make(self.ws, sb, &sandbox, &out)?;
                vec![self.put(label, &out)?]
            }
            Recipe::CrateBuild(c) => {
                // Kept between builds like a target's sandbox, except for a --rebuild check.
                let dir = format!("crates/{}-{}", c.krate, c.target);
                let sandbox = self.sandbox(rebuilding, tmp.path(), &dir);
                let (bin, _lock) =
                    super::crate_build::build(self.ws, c, &self.opts.host, &sandbox)?;
                vec![self.put(label, &bin)?]
            }
            Recipe::Archive(a) => {
                self.produce_archive(label, a, tmp.path(), &out)?;
                vec![self.put(label, &out)?]
            }
            Recipe::Checksum(c) => {
                let rec = self.record_of(&c.archive)?;
                let digest = self.digest_in_style(&rec, c.style)?;
                let line = archive::checksum_line(&digest, &c.archive_name);
                vec![self.put_bytes(label, line.as_bytes())?]
            }
            Recipe::OmniborId(o) => {
                let rec = self.record_of(&o.subject)?;
                let subject = super::artifact_output(&rec.outputs, &o.subject_name);
                let bytes = self.store.read_verified(&subject.digest, subject.size)?;
                let id = recipe::OmniborId::id_of(&bytes) + "\n";
                vec![self.put_bytes(label, id.as_bytes())?]
            }
            Recipe::UnifiedChecksum(u) => {
                let text = self.unified_checksum(u)?;
                vec![self.put_bytes(label, text.as_bytes())?]
            }
            Recipe::SourceTarball(s) => {
                let files = self.committed_files(&s.git_tree, tmp.path(), s.recursive)?;
                archive::write_source_tarball(&s.root_dir, &files, &out)
                    .map_err(|e| write_error(label, e))?;
                vec![self.put(label, &out)?]
            }
            Recipe::Sign(s) => self.produce_signed(label, &node.key, s, rebuilding, tmp.path())?,
            Recipe::Installer(i) => {
                let docs = self.shipped_files(i)?;
                installer::write_installer(i, &docs, &out).map_err(|e| write_error(label, e))?;
                vec![self.put(label, &out)?]
            }
        };
        Ok(RecipeRecord {
            key: node.key,
            kind: node.recipe.kind().into(),
            label: node.label.clone(),
            inputs: node.inputs(),
            outputs,
            isolation,
        })
    }

    /// The work directory `name` below `target/dist-work/`, kept between builds (cargo's compiled
    /// state), except for a `--rebuild` check, which must not reuse the state it is checking:
    /// a fresh one in `tmp` then.
    fn sandbox(&self, rebuilding: bool, tmp: &Path, name: &str) -> PathBuf {
        if rebuilding {
            tmp.join("sandbox")
        } else {
            work_dir(self.ws).join(name)
        }
    }

    /// A cargo build in its sandbox, offline against the vendored crate sources; every binary
    /// into the store.
    fn produce_cargo_build(
        &self,
        b: &recipe::CargoBuild,
        rebuilding: bool,
        tmp: &Path,
    ) -> Result<(Vec<OutputRecord>, Isolation), ExecuteError> {
        // The Cargo workspace it builds in; with several, each has its own sandbox per target
        // (below the target's, which the workflow caches) and vendor dir, named by its place.
        let cw = self.ws.cargo_of(&b.package);
        let member = match self.ws.cargo_member(&b.package) {
            Some((i, m)) => format!(
                "/{i}-{}",
                crate::workspace::relative(&self.ws.root, &m.root).replace(['/', '.'], "_")
            ),
            None => String::new(),
        };
        // One sandbox per target: the Apps share compiled dependencies.
        let sandbox = self.sandbox(rebuilding, tmp, &format!("targets/{}{member}", b.target));
        let vendored = match &b.crate_sources {
            Some(key) => {
                let rec = self.record_of(key)?;
                // Shared by every target; checked crate by crate, so a rebuild can reuse it.
                let dir = super::work_dir(self.ws).join(format!("vendor{member}"));
                Some(super::vendor::unpack(self.store, &rec, &dir)?)
            }
            None => None,
        };
        let built = cargo::build(
            cw,
            b,
            &self.opts.host,
            &sandbox,
            vendored.as_ref(),
            self.opts.require_isolation,
        )?;
        if let Some(why) = &built.weaker_because {
            if !self.warned_isolation.swap(true, Ordering::Relaxed) {
                self.reporter.report(crate::report::Event::Warning(format!(
                    "cargo builds run with isolation `{}` here, not `full`: {why}",
                    built.isolation.as_str()
                )));
            }
        }
        let mut outs = Vec::new();
        for (file, path) in &built.files {
            if !path.is_file() {
                return Err(cargo::CargoError::Failed {
                    package: b.package.clone(),
                    target: b.target.clone(),
                    status: "exit status 0, an output missing".into(),
                    stderr: format!("cargo reported success but made no {file}"),
                }
                .into());
            }
            let obj = self.store.put_file(path)?;
            outs.push(OutputRecord::new(file.clone(), &obj));
        }
        Ok((outs, built.isolation))
    }

    /// Output `file` of the consumed recipe `build` (a cargo build's binary, an SBOM).
    fn output_of(
        &self,
        label: &str,
        build: &dist_store::RecipeKey,
        file: &str,
    ) -> Result<OutputRecord, ExecuteError> {
        let rec = self.record_of(build)?;
        rec.outputs
            .into_iter()
            .find(|o| o.name == file)
            .ok_or_else(|| write_error(label, format!("its input recipe produced no {file}")))
    }

    /// `build-local-artifacts = false`: the bytes of `name` as the user's jobs left it in
    /// `target/distrib/`, if they are still those of `sha256` (what the recipe's key names).
    fn users_file(&self, name: &str, sha256: Option<&str>) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.opts.user_files.as_ref()?.join(name)).ok()?;
        let sha = archive::ChecksumStyle::Sha256.digest_hex(&bytes);
        (Some(sha.as_str()) == sha256).then_some(bytes)
    }

    /// The App's files an installer ships, re-checked against their hashed content.
    fn shipped_files(&self, i: &recipe::Installer) -> Result<installer::Docs, ExecuteError> {
        i.files
            .iter()
            .map(|(inside, (path, f))| Ok((inside.clone(), super::read_hashed(self.ws, path, f)?)))
            .collect()
    }

    /// Stages what the bundling installer `p` is made from in `tmp`: the build's binaries in
    /// `bin/` (mtimes pinned: an MSI's cabinet records them) and the workspace files it reads
    /// in `files/`, by workspace-relative path, re-checked against their hashed content.
    fn stage_package(
        &self,
        label: &str,
        p: &recipe::Package,
        tmp: &Path,
    ) -> Result<(), ExecuteError> {
        let bins = p.binaries.iter().map(|f| ("bin", f));
        for (dir, file) in bins.chain(p.libraries.iter().map(|f| ("lib", f))) {
            let staged = tmp.join(dir);
            std::fs::create_dir_all(&staged).map_err(io("staging binaries"))?;
            let o = self.output_of(label, &p.build, file)?;
            let path = staged.join(file);
            self.store.materialize(&o, &path)?;
            std::fs::File::open(&path)
                .and_then(|f| {
                    f.set_modified(
                        std::time::UNIX_EPOCH
                            + std::time::Duration::from_secs(archive::FIXED_MTIME),
                    )
                })
                .map_err(io(format!("pinning the mtime of {file}")))?;
        }
        for (path, f) in &p.files {
            let bytes = super::read_hashed(self.ws, path, f)?;
            let to = tmp.join("files").join(path);
            std::fs::create_dir_all(to.parent().expect("a file path has a parent"))
                .map_err(io(format!("staging {path}")))?;
            std::fs::write(&to, bytes).map_err(io(format!("staging {path}")))?;
        }
        Ok(())
    }

    /// Stages every member (binaries from the store, files re-checked against their hashed
    /// content) and writes the archive to `out`.
    fn produce_archive(
        &self,
        label: &str,
        a: &recipe::Archive,
        tmp: &Path,
        out: &Path,
    ) -> Result<(), ExecuteError> {
        let staging = tmp.join("items");
        std::fs::create_dir_all(&staging).map_err(io("staging archive items"))?;
        let mut entries = Vec::new();
        for (i, (path, src)) in a.items.iter().enumerate() {
            // Staged under an index, not the archive path: names cannot collide.
            let staged = staging.join(i.to_string());
            let mode = match src {
                ArchiveSource::Binary { build, file } => {
                    let out = self.output_of(label, build, file)?;
                    let bytes = self.store.read_verified(&out.digest, out.size)?;
                    std::fs::write(&staged, bytes).map_err(io("staging a binary"))?;
                    // Binaries and shared libraries are mapped executable; static libraries
                    // and SBOMs are data.
                    let data = [".a", ".lib", ".xml"].iter().any(|x| file.ends_with(x));
                    if data {
                        EntryMode::Regular
                    } else {
                        EntryMode::Executable
                    }
                }
                ArchiveSource::File { path: rel, input } => {
                    let bytes = super::read_hashed(self.ws, rel, input)?;
                    std::fs::write(&staged, bytes).map_err(io("staging a file"))?;
                    if input.executable {
                        EntryMode::Executable
                    } else {
                        EntryMode::Regular
                    }
                }
            };
            entries.push(ArchiveEntry {
                path: path.clone(),
                source: staged,
                mode,
            });
        }
        let root_dir = a.root_dir.clone().unwrap_or_default();
        archive::write_archive(a.format, &root_dir, &entries, out)
            .map_err(|e| write_error(label, e))
    }

    /// The unified checksum file: a line per archive the store knows.
    fn unified_checksum(&self, u: &recipe::UnifiedChecksum) -> Result<String, ExecuteError> {
        let mut text = String::new();
        // Archives whose sha256 is known are the ones the store holds.
        for (name, a) in u.archives.iter().filter(|(_, a)| a.sha256.is_some()) {
            let digest = match (u.style, &a.sha256) {
                (archive::ChecksumStyle::Sha256, Some(sha)) => sha.clone(),
                _ => match (
                    self.record_of(&a.key),
                    self.users_file(name, a.sha256.as_deref()),
                ) {
                    (Ok(rec), _) => self.digest_in_style(&rec, u.style)?,
                    (Err(_), Some(bytes)) => u.style.digest_hex(&bytes),
                    (Err(e), None) => return Err(e),
                },
            };
            text.push_str(&archive::checksum_line(&digest, name));
        }
        Ok(text)
    }

    /// The subject's outputs, those `s` names signed with the key the environment names (it
    /// must be the key `s` was planned with), the others as they are.
    fn produce_signed(
        &self,
        label: &str,
        key: &RecipeKey,
        s: &recipe::Sign,
        rebuilding: bool,
        tmp: &Path,
    ) -> Result<Vec<OutputRecord>, ExecuteError> {
        use crate::signing::{self, SignError};
        if let Some(dir) = &self.opts.adopt {
            return self.adopt_signed(&dir.join(key.to_hex()), s, tmp);
        }
        let key =
            signing::key_for(&s.signer, &crate::env::all())?.ok_or_else(|| SignError::NoKey {
                file: label.to_string(),
                planned: s.signer.certificate.clone(),
            })?;
        let found = key.fingerprint()?;
        if found != s.signer.certificate {
            return Err(SignError::Changed {
                file: label.to_string(),
                planned: s.signer.certificate.clone(),
                found,
            }
            .into());
        }
        let subject = self.record_of(&s.subject)?;
        let (unsigned, signed, scratch) = (tmp.join("in"), tmp.join("out"), tmp.join("key"));
        for dir in [&unsigned, &signed, &scratch] {
            std::fs::create_dir_all(dir).map_err(io("creating a signing dir"))?;
        }
        let mut outs = Vec::new();
        for out in &subject.outputs {
            if !s.files.contains(&out.name) {
                outs.push(out.clone());
                continue;
            }
            let (from, to) = (unsigned.join(&out.name), signed.join(&out.name));
            self.store.materialize(out, &from)?;
            signing::sign(&s.signer, &key, &from, &to, &scratch)?;
            outs.push(self.put(&out.name, &to)?);
        }
        // A rebuild checks bytes, which notarization does not change: no second submission.
        if signing::notarizes(&s.signer) && !rebuilding {
            self.notarize(label, &signed, &s.files, tmp)?;
        }
        Ok(outs)
    }

    /// Submits the signed macOS `files` (in `dir`) to Apple's notary service, as a zip made in
    /// `tmp`, and waits for its verdict.
    fn notarize(
        &self,
        label: &str,
        dir: &Path,
        files: &[String],
        tmp: &Path,
    ) -> Result<(), ExecuteError> {
        use crate::notary;
        use crate::report::Event;
        let vars = crate::env::all();
        let key = notary::notary_key(&vars)?.ok_or_else(|| crate::signing::SignError::Notary {
            file: label.to_string(),
            message: format!(
                "it was planned with notarization, but {} is not set now\n  set the API key's variables as when it was planned",
                notary::KEY
            ),
        })?;
        let entries: Vec<ArchiveEntry> = files
            .iter()
            .map(|f| ArchiveEntry {
                path: f.clone(),
                source: dir.join(f),
                mode: EntryMode::Executable,
            })
            .collect();
        let zip_file = tmp.join("notarize.zip");
        archive::write_archive(archive::ArchiveFormat::Zip, "", &entries, &zip_file)
            .map_err(|e| write_error(label, e))?;
        let zip = std::fs::read(&zip_file).map_err(io("reading the zip to notarize"))?;
        // The submission's name: the recipe's label as a file name Apple shows back.
        let name: String = label
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '-',
            })
            .collect();
        let service = notary::Service::from_vars(&vars);
        let done = notary::notarize(&key, &service, label, &format!("{name}.zip"), zip)?;
        for w in &done.warnings {
            self.reporter.report(Event::Warning(format!(
                "Apple's notary service accepted {label} (submission {}) with {w}",
                done.id
            )));
        }
        self.reporter.report(Event::Step(format!(
            "notarized {label}: Apple's notary service accepted submission {}",
            done.id
        )));
        Ok(())
    }

    /// `verify`'s rebuild of a signing recipe: each file to sign is the release's signed file
    /// (in `dir`), taken once its payload is the subject's rebuilt file; the signature is the
    /// one thing not remade, as no verifier holds the key.
    fn adopt_signed(
        &self,
        dir: &Path,
        s: &recipe::Sign,
        tmp: &Path,
    ) -> Result<Vec<OutputRecord>, ExecuteError> {
        let subject = self.record_of(&s.subject)?;
        let mut outs = Vec::new();
        for out in &subject.outputs {
            if !s.files.contains(&out.name) {
                outs.push(out.clone());
                continue;
            }
            let failed = |message: String| crate::signing::SignError::Failed {
                file: out.name.clone(),
                message,
            };
            let signed = dir.join(&out.name);
            let bytes = std::fs::read(&signed).map_err(|_| {
                failed("the release has no signed file of these inputs to compare".into())
            })?;
            let unsigned = self.store.read_verified(&out.digest, out.size)?;
            if !crate::signing::same_payload(&out.name, &bytes, &unsigned) {
                return Err(failed(
                    "the release's signed file is not this rebuild's file with a signature".into(),
                )
                .into());
            }
            let copy = tmp.join(&out.name);
            std::fs::write(&copy, &bytes).map_err(io("writing an adopted signed file"))?;
            outs.push(self.put(&out.name, &copy)?);
        }
        Ok(outs)
    }

    fn put(&self, name: &str, path: &Path) -> Result<OutputRecord, ExecuteError> {
        Ok(OutputRecord::new(name, &self.store.put_file(path)?))
    }

    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<OutputRecord, ExecuteError> {
        Ok(OutputRecord::new(name, &self.store.put_bytes(bytes)?))
    }

    /// Unpacks the committed tree `tree` (`git archive`) below `dir`; with `recursive`, each
    /// submodule's tree at the commit `tree` records too, below its path (and theirs, in
    /// turn). Returns (path, file), sorted.
    fn committed_files(
        &self,
        tree: &str,
        dir: &Path,
        recursive: bool,
    ) -> Result<Vec<(String, PathBuf)>, ExecuteError> {
        let git_root = self.ws.git_root.as_deref().unwrap_or(&self.ws.root);
        let root = dir.join("tree");
        let mut files = Vec::new();
        // (repository, tree-ish, path prefix in the tarball, its checkout)
        let mut pending = vec![(
            git_root.to_path_buf(),
            tree.to_string(),
            String::new(),
            self.ws.root.clone(),
        )];
        while let Some((repo, treeish, prefix, checkout)) = pending.pop() {
            let tar = git_output(&repo, &["archive", "--format=tar", &treeish])?;
            unpack_git_archive(&tar, &prefix, &root, &mut files)?;
            if !recursive {
                continue;
            }
            let listing = git_output(&repo, &["ls-tree", "-r", "-z", &treeish])?;
            for (path, commit) in gitlinks(&listing) {
                let sub = checkout.join(&path);
                let shown = format!("{prefix}{path}");
                if !sub.join(".git").exists() {
                    return Err(ExecuteError::Write {
                        artifact: "source.tar.gz".into(),
                        message: format!(
                            "recursive-tarball: submodule {shown} is not checked out\n  run `git submodule update --init --recursive`"
                        ),
                    });
                }
                pending.push((sub.clone(), commit, format!("{shown}/"), sub));
            }
        }
        files.sort();
        Ok(files)
    }
}

/// `git -C repo ARGS`'s stdout, or an error naming the command and what git said.
fn git_output(repo: &Path, args: &[&str]) -> Result<Vec<u8>, ExecuteError> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(io("running git"))?;
    if !out.status.success() {
        return Err(ExecuteError::Write {
            artifact: "source.tar.gz".into(),
            message: format!(
                "git {} in {} failed: {}",
                args.join(" "),
                repo.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}

/// The submodules of a `git ls-tree -r -z` listing: (path, commit).
fn gitlinks(listing: &[u8]) -> Vec<(String, String)> {
    listing
        .split(|b| *b == 0)
        .filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (meta, path) = line.split_once('\t')?;
            let mut meta = meta.split(' ');
            let (mode, kind, id) = (meta.next()?, meta.next()?, meta.next()?);
            (mode == "160000" && kind == "commit").then(|| (path.to_string(), id.to_string()))
        })
        .collect()
}

/// Unpacks the regular files of a `git archive` tarball below `root/prefix`, adding each to
/// `files` as (prefix + path, file).
fn unpack_git_archive(
    tar: &[u8],
    prefix: &str,
    root: &Path,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), ExecuteError> {
    let dest = root.join(prefix);
    std::fs::create_dir_all(&dest).map_err(io("unpacking git archive"))?;
    let mut ar = tar::Archive::new(tar);
    for entry in ar.entries().map_err(io("reading git archive"))? {
        let mut entry = entry.map_err(io("reading git archive"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let rel = entry
            .path()
            .map_err(io("reading git archive"))?
            .to_string_lossy()
            .into_owned();
        if !entry
            .unpack_in(&dest)
            .map_err(io("unpacking git archive"))?
        {
            continue;
        }
        files.push((format!("{prefix}{rel}"), dest.join(&rel)));
    }
    Ok(())
}

fn write_error(label: &str, message: impl ToString) -> ExecuteError {
    ExecuteError::Write {
        artifact: label.to_string(),
        message: message.to_string(),
    }
}

/// For `--rebuild`: which members of two builds of an archive differ.
fn member_differences(
    store: &Store,
    recipe: &Recipe,
    stored: &OutputRecord,
    rebuilt: &OutputRecord,
) -> Vec<String> {
    let Recipe::Archive(a) = recipe else {
        return Vec::new();
    };
    let read = |o: &OutputRecord| -> Option<_> {
        let bytes = store.read_verified(&o.digest, o.size).ok()?;
        let f = tempfile::NamedTempFile::new().ok()?;
        std::fs::write(f.path(), bytes).ok()?;
        archive::read_members(a.format, f.path())
            .ok()
            .map(|(_, m)| m)
    };
    match (read(stored), read(rebuilt)) {
        (Some(x), Some(y)) => archive::diff_members(&x, &y)
            .into_iter()
            .map(|l| format!("    {l}"))
            .collect(),
        _ => Vec::new(),
    }
}
