//! Recipe stage: the plan's artifacts (the whole Universe, selected or not) -> recipes with keys.
//! Reads source files to hash them; builds nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dist_recipes::installer::{InstallerApp, InstallerArtifact, ReceiptSource, UpdaterFile};
use dist_recipes::recipe::{
    self, ArchiveRef, ArchiveSource, CargoBuild, Checksum, Consumed, CrateBuild, ExtraBuild,
    Recipe, Sbom, SourceTarball, UnifiedChecksum,
};
use dist_store::RecipeKey;

use crate::config::{Config, InstallerKind};
use crate::plan::{ArtifactKind, ItemSource, Plan};
use crate::sources::{SourceError, SourceHasher};
use crate::toolchain::Toolchain;
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Lockfile(#[from] crate::lockfile::LockfileError),
    #[error(transparent)]
    Signing(#[from] crate::signing::SignError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error("`include` entry {path} of package {package} is not a file or directory in the workspace\n  fix the path in [package.metadata.dist] or [workspace.metadata.dist] (paths are relative to the Cargo.toml that names them)")]
    MissingInclude { package: String, path: String },
}

/// A recipe with its key, input list and edges.
#[derive(Debug, Clone)]
pub struct Node {
    /// The name the store indexes it under: the artifact name, or `{app}-{target} (cargo build)`.
    pub label: String,
    pub recipe: Recipe,
    pub key: RecipeKey,
    /// The recipes it consumes ([`Recipe::consumed`]).
    pub deps: Vec<Consumed>,
}

impl Node {
    /// The name its (single) output is stored under: the label, less an unsigned making's
    /// suffix (an MSI signed later is made under the MSI's name).
    pub fn output_name(&self) -> &str {
        self.label.strip_suffix(UNSIGNED).unwrap_or(&self.label)
    }

    pub fn new(label: String, recipe: Recipe) -> Node {
        let key = recipe.key();
        let deps = recipe.consumed();
        Node {
            label,
            recipe,
            key,
            deps,
        }
    }

    /// Its named inputs, the list its key hashes. Made again when asked: a plan of many recipes
    /// needs only their keys, and keeping every list costs more memory than remaking a few.
    pub fn inputs(&self) -> recipe::Inputs {
        self.recipe.inputs()
    }
}

/// What an unsigned making's label adds to its artifact's name.
pub const UNSIGNED: &str = " (unsigned)";

/// A cargo build: (app, target).
pub type BuildId = (String, String);

/// Every recipe of a plan, and the edges between them (each node's `deps`, by key).
#[derive(Debug, Clone, Default)]
pub struct RecipeGraph {
    /// Cargo builds by (app, target).
    pub builds: BTreeMap<BuildId, Node>,
    /// Builds with their programs and libraries signed (`windows-sign`, `macos-sign`, with a
    /// key), by (app, target): what archives and MSIs ship in place of the build's own files.
    pub signed: BTreeMap<BuildId, Node>,
    /// The unsigned makings of signed artifacts (an MSI, the PowerShell installer), by label
    /// (`{name} (unsigned)`): the artifact's node signs them.
    pub unsigned: BTreeMap<String, Node>,
    /// Artifact recipes by artifact name.
    pub artifacts: BTreeMap<String, Node>,
    /// The registry and git packages Cargo.lock pins, which every cargo build reads: one per
    /// Cargo workspace whose lockfile pins any.
    pub crate_sources: Vec<Node>,
    /// Where the node of each key is ([`RecipeGraph::index`]): edges are followed by key.
    by_key: std::collections::HashMap<RecipeKey, Place>,
}

/// Where a node lives in a [`RecipeGraph`].
#[derive(Debug, Clone)]
enum Place {
    Build(BuildId),
    Signed(BuildId),
    Unsigned(String),
    Artifact(String),
    CrateSources(usize),
}

impl RecipeGraph {
    /// Adds artifact nodes made from `(name, recipe)`; each is labelled with its name.
    fn add_artifacts(&mut self, made: Vec<(String, Recipe)>) {
        for node in nodes_of(made) {
            self.artifacts.insert(node.label.clone(), node);
        }
    }

    /// The label of the unsigned making of the signed artifact `name`.
    pub fn unsigned_label(name: &str) -> String {
        format!("{name}{UNSIGNED}")
    }

    /// The label of a cargo build in the store index.
    pub fn build_label(app: &str, target: &str) -> String {
        format!("{app}-{target} (cargo build)")
    }

    /// The label of a generic package's build in the store index.
    pub fn generic_build_label(app: &str, target: &str) -> String {
        format!("{app}-{target} (build-command)")
    }

    /// Any node by label.
    pub fn by_label(&self, label: &str) -> Option<&Node> {
        self.artifacts
            .get(label)
            .or_else(|| self.unsigned.get(label))
            .or_else(|| self.inner_nodes().find(|n| n.label == label))
    }

    /// The node that makes artifact `name`'s content: its unsigned making when it is signed.
    pub fn maker(&self, name: &str) -> Option<&Node> {
        self.unsigned
            .get(&Self::unsigned_label(name))
            .or_else(|| self.artifacts.get(name))
    }

    /// The cargo builds and the signed builds.
    fn inner_nodes(&self) -> impl Iterator<Item = &Node> {
        self.builds.values().chain(self.signed.values())
    }

    /// What ships the files of the cargo build of `app` for `target`: its signed node when its
    /// files are signed, else the build itself.
    pub fn shipped_build(&self, app: &str, target: &str) -> &Node {
        let id = (app.to_string(), target.to_string());
        self.signed.get(&id).unwrap_or(&self.builds[&id])
    }

    /// Any node by key (several labels may share one key; any of them will do).
    pub fn by_key(&self, key: &RecipeKey) -> Option<&Node> {
        match self.by_key.get(key) {
            Some(Place::Build(id)) => self.builds.get(id),
            Some(Place::Signed(id)) => self.signed.get(id),
            Some(Place::Unsigned(label)) => self.unsigned.get(label),
            Some(Place::Artifact(name)) => self.artifacts.get(name),
            Some(Place::CrateSources(i)) => self.crate_sources.get(*i),
            // Not indexed yet (a graph being made): every node is looked at.
            None => self
                .inner_nodes()
                .chain(self.unsigned.values())
                .chain(self.artifacts.values())
                .chain(self.crate_sources.iter())
                .find(|n| n.key == *key),
        }
    }

    /// Indexes every node by key; done once a graph is made or re-keyed.
    fn index(&mut self) {
        let mut by_key = std::collections::HashMap::new();
        for (i, n) in self.crate_sources.iter().enumerate() {
            by_key.insert(n.key, Place::CrateSources(i));
        }
        for (id, n) in &self.builds {
            by_key.insert(n.key, Place::Build(id.clone()));
        }
        for (id, n) in &self.signed {
            by_key.insert(n.key, Place::Signed(id.clone()));
        }
        for (label, n) in &self.unsigned {
            by_key.insert(n.key, Place::Unsigned(label.clone()));
        }
        for (name, n) in &self.artifacts {
            by_key.entry(n.key).or_insert(Place::Artifact(name.clone()));
        }
        self.by_key = by_key;
    }

    /// Fills in the sha256 of every archive and updater the installers and unified checksums
    /// cover that `known` knows now (the archives built since the graph was made) and gives
    /// those recipes their new keys: the graph need not be made again. `false` when a key
    /// changed that some other recipe embeds (nothing does today): the caller then makes the
    /// graph again.
    pub fn learn_checksums(&mut self, known: recipe::Known) -> bool {
        let mut rekeyed = BTreeSet::new();
        // An unsigned PowerShell installer learns them too; its signature is then re-keyed
        // by making the graph again.
        for node in self
            .artifacts
            .values_mut()
            .chain(self.unsigned.values_mut())
        {
            if node.recipe.learn_checksums(known) {
                let old = node.key;
                *node = Node::new(std::mem::take(&mut node.label), node.recipe.clone());
                rekeyed.insert(old);
            }
        }
        self.index();
        !self
            .inner_nodes()
            .chain(self.unsigned.values())
            .chain(self.artifacts.values())
            .any(|n| n.deps.iter().any(|d| rekeyed.contains(&d.key)))
    }

    /// The nodes `node` consumes, with the input naming each.
    pub fn deps<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = (&'a Consumed, &'a Node)> {
        node.deps
            .iter()
            .filter_map(|d| self.by_key(&d.key).map(|n| (d, n)))
    }

    /// The inputs a build manifest records for `node`: its own, then those of every recipe it
    /// consumes, down the graph, prefixed `<input> > ` (so `compare` can name the source file
    /// that changed an installer's key).
    pub fn recorded_inputs(&self, node: &Node) -> BTreeMap<String, String> {
        let shared = self.recorded(node, &mut Recorded::default());
        Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
    }

    /// [`RecipeGraph::recorded_inputs`], each node's worked out once per `memo` (an archive's
    /// cargo build and the archive under its checksum are each recorded once).
    pub fn recorded(&self, node: &Node, memo: &mut Recorded) -> Arc<BTreeMap<String, String>> {
        if let Some(done) = memo.0.get(&node.key) {
            return done.clone();
        }
        let mut out: BTreeMap<String, String> = node.inputs().into_iter().collect();
        for (edge, dep) in self.deps(node) {
            // Every registry crate would be listed under every artifact; Cargo.lock, a file
            // input of the build, already names the change.
            if matches!(dep.recipe, Recipe::CrateSources(_)) {
                continue;
            }
            for (k, v) in self.recorded(dep, memo).iter() {
                out.insert(format!("{} > {k}", edge.input), v.clone());
            }
        }
        let out = Arc::new(out);
        memo.0.insert(node.key, out.clone());
        out
    }
}

/// Recorded inputs already worked out, by recipe key ([`RecipeGraph::recorded`]).
#[derive(Default)]
pub struct Recorded(std::collections::HashMap<RecipeKey, Arc<BTreeMap<String, String>>>);

/// What the environment contributes; passed in so keys are testable without touching the
/// process environment.
pub struct Env<'a> {
    pub vars: &'a BTreeMap<String, String>,
    /// sha256 of a built archive, looked up by its recipe key (the store, or local manifests).
    pub known_sha256: &'a dyn Fn(&RecipeKey) -> Option<String>,
    /// `verify`'s rebuild: sign as the release was signed ([`crate::signing::Adopted`]).
    pub adopted: Option<&'a crate::signing::Adopted>,
}

/// The resolved `[profile.dist]`: the profile it inherits from (declared fields only), then its own.
pub fn resolved_profile(ws: &Workspace) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dist = ws.profiles.get("dist");
    let parent = dist
        .and_then(|d| d.get("inherits"))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "release".into());
    if let Some(p) = ws.profiles.get(&parent) {
        out.extend(p.clone());
    }
    match dist {
        Some(d) => out.extend(d.clone()),
        // No [profile.dist]: the build defines one inheriting release.
        None => {
            out.insert("inherits".into(), "\"release\"".into());
        }
    }
    out
}

pub fn graph(
    ws: &Workspace,
    cfg: &Config,
    toolchain: &Toolchain,
    plan: &Plan,
    env: &Env,
    hasher: &mut SourceHasher,
) -> Result<RecipeGraph, GraphError> {
    let mut g = RecipeGraph::default();
    add_cargo_builds(&mut g, ws, cfg, toolchain, plan, env, hasher)?;
    add_generic_builds(&mut g, ws, plan, env, hasher)?;
    let (signer, apple) = match env.adopted {
        Some(a) => (a.windows.clone(), a.apple.clone()),
        None => (
            crate::signing::windows_signer(&cfg.global, env.vars)?,
            crate::signing::apple_signer(&cfg.global, env.vars)?,
        ),
    };
    add_signed_builds(&mut g, signer.as_ref(), apple.as_ref());
    let mut makers = Makers {
        ws,
        cfg,
        toolchain,
        plan,
        env,
        workspace_files: None,
        tools: BTreeMap::new(),
        includes: BTreeMap::new(),
    };
    // Each kind's recipes are made once every recipe they consume is in the graph.
    for stage in [Stage::Sbom, Stage::Made, Stage::Covering, Stage::Checksums] {
        let mut made = Vec::new();
        for a in plan
            .artifacts
            .values()
            .filter(|a| stage_of(&a.kind) == stage)
        {
            let Some(recipe) = makers.recipe(&g, hasher, a)? else {
                continue;
            };
            match artifact_signer(&a.kind, signer.as_ref(), apple.as_ref()) {
                Some(signer) => {
                    let unsigned = Node::new(RecipeGraph::unsigned_label(&a.name), recipe);
                    let sign = recipe::Sign {
                        subject: unsigned.key,
                        files: vec![a.name.clone()],
                        signer: signer.clone(),
                    };
                    g.unsigned.insert(unsigned.label.clone(), unsigned);
                    made.push((a.name.clone(), Recipe::Sign(sign)));
                }
                None => made.push((a.name.clone(), recipe)),
            }
        }
        g.add_artifacts(made);
    }
    g.index();
    Ok(g)
}

/// Who signs an artifact as a whole, if anyone: MSIs, the PowerShell installer and Windows
/// updaters when Windows files are signed (`windows`), macOS updaters when macOS binaries are
/// (`apple`).
fn artifact_signer<'s>(
    kind: &ArtifactKind,
    windows: Option<&'s recipe::Signer>,
    apple: Option<&'s recipe::Signer>,
) -> Option<&'s recipe::Signer> {
    match kind {
        ArtifactKind::NativeInstaller { installer, .. } if *installer == InstallerKind::Msi => {
            windows
        }
        ArtifactKind::Installer { installer, .. } if *installer == InstallerKind::Powershell => {
            windows
        }
        ArtifactKind::Updater { target } => {
            let t = dist_recipes::target::Target(target);
            match (t.is_windows(), t.is_darwin()) {
                (true, _) => windows,
                (_, true) => apple,
                _ => None,
            }
        }
        _ => None,
    }
}

/// A signed node over each build with files to sign: a Windows build's `.exe` and `.dll`
/// files (`windows`), a macOS build's binaries and `.dylib` files (`apple`).
fn add_signed_builds(
    g: &mut RecipeGraph,
    windows: Option<&recipe::Signer>,
    apple: Option<&recipe::Signer>,
) {
    for (id, build) in &g.builds {
        let Some((target, binaries, built_libraries)) = build.recipe.built() else {
            continue;
        };
        let t = dist_recipes::target::Target(target);
        let (signer, libraries) = match (t.is_windows(), t.is_darwin()) {
            (true, _) => (windows, ".dll"),
            (_, true) => (apple, ".dylib"),
            _ => (None, ""),
        };
        let Some(signer) = signer else {
            continue;
        };
        let mut files: Vec<String> = binaries.iter().map(|b| t.exe(b)).collect();
        files.extend(
            built_libraries
                .iter()
                .filter(|l| l.ends_with(libraries))
                .cloned(),
        );
        files.sort();
        if files.is_empty() {
            continue;
        }
        let sign = recipe::Sign {
            subject: build.key,
            files,
            signer: signer.clone(),
        };
        let label = format!("{}-{} (signed)", id.0, id.1);
        g.signed
            .insert(id.clone(), Node::new(label, Recipe::Sign(sign)));
    }
}

/// The order artifact recipes are made in: a recipe consumes only those of earlier stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// SBOMs (archives hold them).
    Sbom,
    /// What cargo builds and the sources make: archives, the source tarball, extra
    /// artifacts, bundling installers, updaters.
    Made,
    /// What covers archives and updaters by key and checksum: installers, `sha256.sum`.
    Covering,
    /// The checksum files, of whatever they sum.
    Checksums,
}

/// The stage of a kind's recipe (kinds this tool plans but cannot make have none: their
/// makers say so).
fn stage_of(kind: &ArtifactKind) -> Stage {
    match kind {
        ArtifactKind::Sbom => Stage::Sbom,
        ArtifactKind::Archive { .. }
        | ArtifactKind::SourceTarball { .. }
        | ArtifactKind::ExtraArtifact { .. }
        | ArtifactKind::Updater { .. }
        | ArtifactKind::NativeInstaller { .. } => Stage::Made,
        ArtifactKind::UnifiedChecksum { .. } | ArtifactKind::Installer { .. } => Stage::Covering,
        ArtifactKind::Checksum { .. } | ArtifactKind::Omnibor { .. } => Stage::Checksums,
    }
}

/// The cargo builds of every App and target, each Cargo workspace's hashed with paths relative
/// to its root.
fn add_cargo_builds(
    g: &mut RecipeGraph,
    ws: &Workspace,
    cfg: &Config,
    toolchain: &Toolchain,
    plan: &Plan,
    env: &Env,
    hasher: &mut SourceHasher,
) -> Result<(), GraphError> {
    let several = !ws.cargo_workspaces.is_empty();
    for cw in ws.cargo_roots() {
        let releases: Vec<&crate::plan::Release> = plan
            .releases
            .iter()
            .filter(|r| {
                !r.targets.is_empty() && cw.package(&r.app).is_some_and(|p| p.generic.is_none())
            })
            .collect();
        if releases.is_empty() {
            continue;
        }
        let (h, lock) = match several {
            true => (
                hasher.member(&cw.root),
                format!(
                    "{}/Cargo.lock",
                    crate::workspace::relative(&ws.root, &cw.root)
                ),
            ),
            false => (&mut *hasher, "Cargo.lock".to_string()),
        };
        let release = toolchain
            .fields
            .get("release")
            .map(String::as_str)
            .unwrap_or("unknown");
        let sources = crate::lockfile::crate_sources(&cw.root, release)?
            .map(|s| Node::new(format!("crate sources ({lock})"), Recipe::CrateSources(s)));
        let shared = BuildShared {
            ws: cw,
            cfg,
            vars: env.vars,
            toolchain: Arc::new(toolchain.fields.clone()),
            profile: Arc::new(resolved_profile(cw)),
            crate_sources: sources.as_ref().map(|n| n.key),
        };
        g.crate_sources.extend(sources);
        add_builds_of(g, &shared, &releases, h)?;
    }
    Ok(())
}

/// The cargo builds of `releases` (Apps of `shared.ws`), hashed on two threads.
fn add_builds_of(
    g: &mut RecipeGraph,
    shared: &BuildShared,
    releases: &[&crate::plan::Release],
    hasher: &mut SourceHasher,
) -> Result<(), GraphError> {
    // Cargo builds are independent and most of their cost is reading and hashing sources: split
    // the releases between two threads (each hashes its own packages' files).
    let (left, right) = releases.split_at(releases.len() / 2);
    // Only builds read the skeleton (hashed once, here: both threads start from it).
    hasher.skeleton(shared.ws)?;
    // Each thread starts from what is hashed so far (the members' manifests).
    hasher.freeze();
    let hasher_seed = &*hasher;
    let build_part = |part: &[&crate::plan::Release]| {
        let mut h = hasher_seed.fork();
        let nodes = build_nodes(shared, part, &mut h);
        (nodes, h)
    };
    let ((l_nodes, l_hasher), (r_nodes, r_hasher)) = std::thread::scope(|s| {
        let l = s.spawn(|| build_part(left));
        let r = build_part(right);
        (l.join().expect("hashing thread"), r)
    });
    hasher.absorb(l_hasher);
    hasher.absorb(r_hasher);
    g.builds.extend(l_nodes?);
    g.builds.extend(r_nodes?);
    Ok(())
}

/// The builds of generic (`dist:`) Apps: their `build-command` per target.
fn add_generic_builds(
    g: &mut RecipeGraph,
    ws: &Workspace,
    plan: &Plan,
    env: &Env,
    hasher: &mut SourceHasher,
) -> Result<(), GraphError> {
    for release in &plan.releases {
        let Some(pkg) = ws.package(&release.app) else {
            continue;
        };
        let Some(spec) = &pkg.generic else {
            continue;
        };
        let sources = Arc::new(hasher.generic_sources(ws, pkg)?);
        for target in &release.targets {
            let build = recipe::GenericBuild {
                package: pkg.name.clone(),
                binaries: release.binaries_for(target),
                target: target.clone(),
                command: spec.command.clone(),
                working_dir: pkg.dir.clone(),
                out_dir: spec.out_dir.clone(),
                env: build_env(env.vars, target),
                sources: sources.clone(),
            };
            let label = RecipeGraph::generic_build_label(&pkg.name, target);
            g.builds.insert(
                (pkg.name.clone(), target.clone()),
                Node::new(label, Recipe::GenericBuild(build)),
            );
        }
    }
    Ok(())
}

/// What the artifact recipes share while they are made.
struct Makers<'a> {
    ws: &'a Workspace,
    cfg: &'a Config,
    toolchain: &'a Toolchain,
    plan: &'a Plan,
    env: &'a Env<'a>,
    /// Every workspace file, hashed once for all `extra-artifacts` entries and SBOMs.
    workspace_files: Option<Arc<BTreeMap<String, recipe::FileInput>>>,
    /// Versions of the tools bundling kinds run (`wixl --version`), asked once each, and only
    /// when such a kind is planned.
    tools: BTreeMap<&'static str, String>,
    /// An App's archives for every target list the same include files: found once.
    includes: BTreeMap<(String, String), Vec<(String, String)>>,
}

impl Makers<'_> {
    /// The recipe of artifact `a`, from its kind; `None` when it has none (yet).
    fn recipe(
        &mut self,
        g: &RecipeGraph,
        hasher: &mut SourceHasher,
        a: &crate::plan::Artifact,
    ) -> Result<Option<Recipe>, GraphError> {
        let (ws, plan, env) = (self.ws, self.plan, self.env);
        Ok(Some(match &a.kind {
            ArtifactKind::Sbom => {
                let app = a.app.clone().unwrap_or_default();
                let pkg = ws.package(&app).expect("SBOMs belong to apps");
                Recipe::Sbom(Sbom {
                    package: app,
                    package_dir: pkg.dir.clone(),
                    tool: recipe::CARGO_CYCLONEDX_VERSION.into(),
                    sources: self.workspace_files(hasher)?,
                })
            }
            ArtifactKind::Archive { .. } => archive_recipe(ws, g, a, hasher, &mut self.includes)?,
            ArtifactKind::SourceTarball { root_dir } => Recipe::SourceTarball(SourceTarball {
                root_dir: root_dir.clone(),
                git_tree: ws.git_tree.clone().unwrap_or_default(),
                recursive: self.cfg.global.recursive_tarball,
            }),
            // Every artifact of one entry shares its key: one run makes them all.
            ArtifactKind::ExtraArtifact { entry, .. } => Recipe::ExtraBuild(ExtraBuild {
                working_dir: entry.working_dir.clone(),
                command: entry.build.clone(),
                artifacts: entry.artifacts.clone(),
                sources: self.workspace_files(hasher)?,
            }),
            ArtifactKind::NativeInstaller { installer, target } => {
                return self.package_recipe(g, hasher, a, *installer, target)
            }
            // The same updater for every App of a target: one key, one build.
            ArtifactKind::Updater { target } => {
                let updater = self.updater()?;
                Recipe::CrateBuild(CrateBuild {
                    krate: recipe::AXOUPDATER_CRATE.into(),
                    version: updater.version,
                    sha256: updater.sha256,
                    binary: recipe::AXOUPDATER_BIN.into(),
                    target: target.clone(),
                    toolchain: self.toolchain.fields.clone(),
                })
            }
            ArtifactKind::UnifiedChecksum { of, style } => {
                Recipe::UnifiedChecksum(UnifiedChecksum {
                    style: *style,
                    archives: of
                        .iter()
                        .map(|n| (n.clone(), archive_ref(plan, g, env, n)))
                        .collect(),
                })
            }
            ArtifactKind::Installer { .. } => installer_recipe(ws, self.cfg, plan, g, env, a),
            // Kinds this tool plans but cannot make have no recipe, nor do their checksums.
            ArtifactKind::Checksum { of, style } => match g.artifacts.get(of) {
                Some(consumed) => Recipe::Checksum(Checksum {
                    archive_name: of.clone(),
                    archive: consumed.key,
                    style: *style,
                }),
                None => return Ok(None),
            },
            ArtifactKind::Omnibor { of } => match g.artifacts.get(of) {
                Some(subject) => Recipe::OmniborId(recipe::OmniborId {
                    subject_name: of.clone(),
                    subject: subject.key,
                }),
                None => return Ok(None),
            },
        }))
    }

    /// The axoupdater-cli release the updaters are built from: the pinned one, or with
    /// `always-use-latest-updater` the newest on crates.io.
    fn updater(&self) -> Result<crate::registry::Release, GraphError> {
        if !self.cfg.global.always_use_latest_updater {
            return Ok(crate::registry::Release {
                version: recipe::AXOUPDATER_VERSION.into(),
                sha256: recipe::AXOUPDATER_SHA256.into(),
            });
        }
        Ok(crate::registry::newest(
            recipe::AXOUPDATER_CRATE,
            recipe::AXOUPDATER_VERSION,
        )?)
    }

    fn workspace_files(
        &mut self,
        hasher: &mut SourceHasher,
    ) -> Result<Arc<BTreeMap<String, recipe::FileInput>>, GraphError> {
        shared_workspace_files(self.ws, hasher, &mut self.workspace_files)
    }

    /// A bundling installer, from the target's build and what its kind reads and writes about
    /// the package; none for kinds this tool does not make, or before the files the kind reads
    /// exist (an MSI's WiX source, which `generate` writes: the build names it, with what to run).
    fn package_recipe(
        &mut self,
        g: &RecipeGraph,
        hasher: &mut SourceHasher,
        a: &crate::plan::Artifact,
        installer: InstallerKind,
        target: &str,
    ) -> Result<Option<Recipe>, GraphError> {
        let ws = self.ws;
        let app = a.app.clone().unwrap_or_default();
        let pkg = ws
            .package(&app)
            .expect("bundling installers belong to apps");
        if !installer.makes_package() {
            return Ok(None);
        }
        let npm_package = self.cfg.package(&app).npm_package_name(&app);
        let inputs = installer.package_inputs(&package_source(pkg, &npm_package));
        let mut files = BTreeMap::new();
        for path in inputs.files {
            if !ws.root.join(&path).is_file() {
                return Ok(None);
            }
            files.insert(path.clone(), hasher.file(ws, &path)?);
        }
        let t = dist_recipes::target::Target(target);
        let build = &g.builds[&(app.clone(), target.to_string())];
        let (_, built_binaries, _) = build.recipe.built().expect("builds are builds");
        let tool = installer.tool().map(|name| {
            let version = self
                .tools
                .entry(name)
                .or_insert_with(|| crate::toolchain::tool_version(name));
            (name.to_string(), version.clone())
        });
        // `install-libraries` of the kinds `package-libraries` builds, as the installers do.
        let pc = self.cfg.package(&app);
        let libraries = match installer.installs_libraries() {
            true => installable_libraries(pkg, pc, t),
            false => Vec::new(),
        };
        Ok(Some(Recipe::Package(recipe::Package {
            installer,
            version: installer.package_version(&pkg.version.to_string()),
            target: target.to_string(),
            build: g.shipped_build(&app, target).key,
            binaries: built_binaries.iter().map(|b| t.exe(b)).collect(),
            libraries,
            files,
            metadata: inputs.metadata,
            tool,
            app,
        })))
    }
}

/// What a bundling kind may read about `pkg`, published on npm as `npm_package`.
fn package_source<'a>(
    pkg: &'a crate::workspace::Package,
    npm_package: &'a str,
) -> dist_recipes::installer::PackageSource<'a> {
    use crate::workspace::IncludeKind;
    let of_kind = |kind: IncludeKind| {
        pkg.auto_includes
            .iter()
            .filter(move |i| i.kind == kind)
            .map(|i| i.path.as_str())
    };
    dist_recipes::installer::PackageSource {
        dir: &pkg.dir,
        description: pkg.description.as_deref(),
        license: pkg.license.as_deref(),
        homepage: pkg.homepage.as_deref(),
        repository: pkg.repository.as_deref(),
        authors: &pkg.authors,
        license_files: of_kind(IncludeKind::License).collect(),
        readme: of_kind(IncludeKind::Readme).next(),
        npm_package: Some(npm_package),
    }
}

/// Nodes of many recipes: their inputs and keys, most of a large plan's time, computed on up
/// to two threads.
fn nodes_of(recipes: Vec<(String, Recipe)>) -> Vec<Node> {
    let make = |v: Vec<(String, Recipe)>| -> Vec<Node> {
        v.into_iter().map(|(l, r)| Node::new(l, r)).collect()
    };
    // Below this a thread costs more than it saves.
    if recipes.len() < 32 {
        return make(recipes);
    }
    let mut left = recipes;
    let right = left.split_off(left.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| make(right));
        let mut nodes = make(left);
        nodes.extend(other.join().expect("key thread"));
        nodes
    })
}

/// Every workspace file by content, hashed on first use and shared by the recipes that read the
/// whole workspace (extra-artifacts commands, SBOMs).
fn shared_workspace_files(
    ws: &Workspace,
    hasher: &mut SourceHasher,
    cache: &mut Option<std::sync::Arc<BTreeMap<String, recipe::FileInput>>>,
) -> Result<std::sync::Arc<BTreeMap<String, recipe::FileInput>>, GraphError> {
    if let Some(f) = cache {
        return Ok(f.clone());
    }
    let f = std::sync::Arc::new(hasher.workspace_files(ws)?);
    *cache = Some(f.clone());
    Ok(f)
}

/// An archive: its binaries from the target's cargo build, its files by content.
fn archive_recipe(
    ws: &Workspace,
    g: &RecipeGraph,
    a: &crate::plan::Artifact,
    hasher: &mut SourceHasher,
    includes: &mut BTreeMap<(String, String), Vec<(String, String)>>,
) -> Result<Recipe, GraphError> {
    let ArtifactKind::Archive {
        target,
        format,
        root_dir,
        contents,
        ..
    } = &a.kind
    else {
        unreachable!("called for archives");
    };
    let app = a.app.clone().unwrap_or_default();
    let build_key = g.shipped_build(&app, target).key;
    let mut items = BTreeMap::new();
    for item in contents {
        match &item.source {
            // Made by the release's SBOM recipe (computed before the archives).
            ItemSource::Sbom { artifact } => {
                let src = ArchiveSource::Binary {
                    build: g.artifacts[artifact].key,
                    file: artifact.clone(),
                };
                items.insert(item.path.clone(), src);
            }
            ItemSource::Binary { name } | ItemSource::Library { name, .. } => {
                let src = ArchiveSource::Binary {
                    build: build_key,
                    file: name.clone(),
                };
                items.insert(item.path.clone(), src);
            }
            // An auto-included file was found as a regular file by the workspace scan. An
            // `include` of the same name wins, whichever comes first.
            ItemSource::File {
                path,
                kind: Some(_),
            } => {
                let included = contents.iter().any(|i| {
                    i.path == item.path && matches!(i.source, ItemSource::File { kind: None, .. })
                });
                if !included {
                    let src = ArchiveSource::File {
                        input: hasher.file(ws, path)?,
                        path: path.clone(),
                    };
                    items.insert(item.path.clone(), src);
                }
            }
            ItemSource::File { path, kind: None } => {
                let key = (item.path.clone(), path.clone());
                let files = match includes.get(&key) {
                    Some(files) => files,
                    None => {
                        let found = include_files(ws, &app, &item.path, path)?;
                        includes.entry(key).or_insert(found)
                    }
                };
                for (inside, file) in files.clone() {
                    let src = ArchiveSource::File {
                        input: hasher.file(ws, &file)?,
                        path: file,
                    };
                    items.insert(inside, src);
                }
            }
        }
    }
    Ok(Recipe::Archive(recipe::Archive {
        target: target.clone(),
        format: *format,
        root_dir: root_dir.clone(),
        items,
    }))
}

/// What `install-libraries` installs from each archive: its packaged libraries of those kinds.
fn installed_libraries(
    plan: &Plan,
    pkg: &crate::workspace::Package,
    pc: &crate::config::PackageConfig,
    archives: &[String],
) -> BTreeMap<String, Vec<String>> {
    archives
        .iter()
        .filter_map(|n| {
            let ArtifactKind::Archive { target, .. } = &plan.artifacts[n].kind else {
                return None;
            };
            let libs = installable_libraries(pkg, pc, dist_recipes::target::Target(target));
            (!libs.is_empty()).then(|| (n.clone(), libs))
        })
        .collect()
}

/// The library files installers install for `t`: `install-libraries` kinds that
/// `package-libraries` ships and the package's lib target builds.
fn installable_libraries(
    pkg: &crate::workspace::Package,
    pc: &crate::config::PackageConfig,
    t: dist_recipes::target::Target,
) -> Vec<String> {
    let kinds: Vec<_> = pc
        .install_libraries
        .iter()
        .filter(|k| pc.package_libraries.contains(k))
        .copied()
        .collect();
    crate::plan::library_files(pkg, &kinds, t)
        .into_iter()
        .map(|(_, file)| file)
        .collect()
}

/// A fetching installer of one App, over every archive it can fetch.
fn installer_recipe(
    ws: &Workspace,
    cfg: &Config,
    plan: &Plan,
    g: &RecipeGraph,
    env: &Env,
    a: &crate::plan::Artifact,
) -> Recipe {
    let ArtifactKind::Installer {
        installer,
        archives,
        download_url,
        ..
    } = &a.kind
    else {
        unreachable!("called for installers");
    };
    let app = a.app.clone().unwrap_or_default();
    let pkg = ws.package(&app).expect("installers belong to apps");
    let pc = cfg.package(&app);
    let package_name = installer
        .name_key()
        .and_then(|key| pc.package_name(key, &app));
    // Only the shell and PowerShell installers install an updater, as cargo-dist's do.
    let updaters = match installer {
        InstallerKind::Shell | InstallerKind::Powershell => {
            updater_files(plan, g, env, &app, archives)
        }
        _ => BTreeMap::new(),
    };
    let libraries = installed_libraries(plan, pkg, pc, archives);
    let mut artifacts: Vec<InstallerArtifact> = archives
        .iter()
        .map(|n| {
            let r = archive_ref(plan, g, env, n);
            InstallerArtifact {
                min_glibc: pc.min_glibc(&r.target).map(str::to_string),
                updater: updaters.get(&r.target).cloned(),
                libraries: libraries.get(n).cloned().unwrap_or_default(),
                target: r.target,
                file_name: n.clone(),
                key: r.key,
                // Only what the installer reads: else its key would wait on the archives.
                sha256: r.sha256.filter(|_| installer.reads_archives()),
                root_dir: r.root_dir,
            }
        })
        .collect();
    artifacts.sort_by(|a, b| a.target.cmp(&b.target));
    let receipt = (!updaters.is_empty())
        .then(|| plan.releases.iter().find(|r| r.app == app))
        .flatten()
        .and_then(|r| r.github.as_ref())
        .map(|gh| ReceiptSource {
            owner: gh.owner.clone(),
            repo: gh.repo.clone(),
            provider_version: env!("CARGO_PKG_VERSION").into(),
        });
    Recipe::Installer(Box::new(recipe::Installer {
        installer: *installer,
        package_name,
        template: installer.template_digest().unwrap_or_default(),
        app: InstallerApp {
            app_name: app.clone(),
            app_version: pkg.version.to_string(),
            binaries: pkg.binaries.clone(),
            aliases: crate::plan::app_aliases(pkg, pc),
            success_msg: pc.success_msg.clone(),
            download_url: download_url.clone(),
            install_paths: pc.install_path.clone(),
            artifacts,
            receipt,
            description: pkg.description.clone(),
            homepage: pkg.homepage.clone().or(pkg.repository.clone()),
            license: pkg.license.clone(),
        },
        shrinkwrap: pc.npm_shrinkwrap,
        files: shipped_files(*installer, g, archives),
    }))
}

/// The App's files an npm package ships, as cargo-dist's does: the workspace files its archives
/// hold (README, licences, changelog, `include`s), by their path inside.
fn shipped_files(
    installer: InstallerKind,
    g: &RecipeGraph,
    archives: &[String],
) -> BTreeMap<String, (String, dist_recipes::recipe::FileInput)> {
    if !matches!(installer, InstallerKind::Npm | InstallerKind::NpmPackages) {
        return BTreeMap::new();
    }
    let mut files = BTreeMap::new();
    for name in archives {
        let Recipe::Archive(a) = &g.artifacts[name].recipe else {
            continue;
        };
        for (inside, src) in &a.items {
            if let ArchiveSource::File { path, input } = src {
                files
                    .entry(inside.clone())
                    .or_insert_with(|| (path.clone(), *input));
            }
        }
    }
    files
}

/// The updaters (`install-updater`) of `app` for the targets of `archives`, by target.
fn updater_files(
    plan: &Plan,
    g: &RecipeGraph,
    env: &Env,
    app: &str,
    archives: &[String],
) -> BTreeMap<String, UpdaterFile> {
    let targets: Vec<&String> = archives
        .iter()
        .filter_map(|n| match &plan.artifacts[n].kind {
            ArtifactKind::Archive { target, .. } => Some(target),
            _ => None,
        })
        .collect();
    plan.artifacts
        .values()
        .filter(|a| a.app.as_deref() == Some(app))
        .filter_map(|a| match &a.kind {
            ArtifactKind::Updater { target } if targets.contains(&target) => {
                let key = g.artifacts[&a.name].key;
                let u = UpdaterFile {
                    file_name: a.name.clone(),
                    key,
                    sha256: (env.known_sha256)(&key),
                };
                Some((target.clone(), u))
            }
            _ => None,
        })
        .collect()
}

/// The files an archive item stands for: the file itself, or every file under a directory
/// (`include = ["config/"]`), as (path in the archive, workspace-relative path), sorted.
fn include_files(
    ws: &Workspace,
    app: &str,
    inside: &str,
    path: &str,
) -> Result<Vec<(String, String)>, GraphError> {
    let abs = ws.root.join(path);
    if abs.is_file() {
        return Ok(vec![(inside.to_string(), path.to_string())]);
    }
    if !abs.is_dir() {
        return Err(GraphError::MissingInclude {
            package: app.to_string(),
            path: path.to_string(),
        });
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&abs).sort_by_file_name() {
        let entry = entry.map_err(|e| SourceError::Io {
            path: abs.display().to_string(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() {
            let rel = crate::workspace::relative(&abs, entry.path());
            out.push((format!("{inside}/{rel}"), format!("{path}/{rel}")));
        }
    }
    Ok(out)
}

fn archive_ref(plan: &Plan, g: &RecipeGraph, env: &Env, name: &str) -> ArchiveRef {
    let key = g.artifacts[name].key;
    let ArtifactKind::Archive {
        target, root_dir, ..
    } = &plan.artifacts[name].kind
    else {
        unreachable!("only archives are referenced");
    };
    ArchiveRef {
        target: target.clone(),
        key,
        sha256: (env.known_sha256)(&key),
        root_dir: root_dir.clone(),
    }
}

/// What every cargo build of the workspace shares.
struct BuildShared<'a> {
    ws: &'a Workspace,
    cfg: &'a Config,
    vars: &'a BTreeMap<String, String>,
    toolchain: Arc<BTreeMap<String, String>>,
    profile: Arc<BTreeMap<String, String>>,
    crate_sources: Option<RecipeKey>,
}

/// The allow-listed variables a build for `target` sees: name -> value (`None` = unset).
fn build_env(
    vars: &BTreeMap<String, String>,
    target: &str,
) -> Arc<BTreeMap<String, Option<String>>> {
    let prefix = recipe::target_env_prefix(target);
    let mut env: BTreeMap<String, Option<String>> = recipe::ENV_ALLOW_LIST
        .iter()
        .map(|k| (k.to_string(), vars.get(*k).cloned()))
        .collect();
    for (k, v) in vars.range(prefix.clone()..) {
        if !k.starts_with(&prefix) {
            break;
        }
        env.insert(k.clone(), Some(v.clone()));
    }
    Arc::new(env)
}

/// The cargo build recipes of `releases`, one per target.
fn build_nodes(
    shared: &BuildShared,
    releases: &[&crate::plan::Release],
    hasher: &mut SourceHasher,
) -> Result<Vec<(BuildId, Node)>, GraphError> {
    let ws = shared.ws;
    let cfg = shared.cfg;
    let mut out = Vec::new();
    // Builds for one target see the same variables: one map per target.
    let mut envs = BTreeMap::new();
    for release in releases {
        let pkg = ws
            .package(&release.app)
            .expect("filtered to workspace packages");
        let pc = cfg.package(&pkg.name);
        let sources = hasher.build_sources(ws, pkg)?;
        let files = Arc::new(sources.files);
        for target in &release.targets {
            let env = envs
                .entry(target.clone())
                .or_insert_with(|| build_env(shared.vars, target))
                .clone();
            let build = CargoBuild {
                package: pkg.name.clone(),
                binaries: release.binaries_for(target),
                target: target.clone(),
                features: pc.features.clone(),
                default_features: pc.default_features,
                all_features: pc.all_features,
                profile: shared.profile.clone(),
                toolchain: shared.toolchain.clone(),
                env,
                sources: files.clone(),
                skeleton: sources.skeleton.clone(),
                msvc_crt_static: dist_recipes::target::Target(target)
                    .is_windows_msvc()
                    .then_some(cfg.global.msvc_crt_static),
                auditable: cfg
                    .global
                    .cargo_auditable
                    .then(|| recipe::CARGO_AUDITABLE_VERSION.to_string()),
                libraries: crate::plan::library_files(
                    pkg,
                    &pc.package_libraries,
                    dist_recipes::target::Target(target),
                )
                .into_iter()
                .map(|(_, file)| file)
                .collect(),
                crate_sources: shared.crate_sources,
            };
            out.push((
                (pkg.name.clone(), target.clone()),
                Node::new(
                    RecipeGraph::build_label(&pkg.name, target),
                    Recipe::CargoBuild(build),
                ),
            ));
        }
    }
    Ok(out)
}
