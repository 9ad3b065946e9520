//! `explain ARTIFACT`: why the artifact's key differs from the last one built under its name,
//! down through the recipes it consumes (an archive's cargo build, ...).

use dist_recipes::recipe::{diff_inputs, InputChange};
use dist_store::Store;
use serde::Serialize;

use super::{existing_store, plan_announcement};
use super::{load, GlobalOpts};
use crate::announce;
use crate::graph::{Node, RecipeGraph};
use crate::plan::{ArtifactMode, PlanRequest};
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("no artifact named {name} in this announcement; artifacts: {}", known.join(", "))]
    UnknownArtifact { name: String, known: Vec<String> },
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub label: String,
    pub key: String,
    pub cached: bool,
    /// The key last built under this label, if any other.
    pub previous_key: Option<String>,
    pub changes: Vec<Change>,
    /// Consumed recipes whose keys changed too, explained the same way.
    pub consumed: Vec<Explanation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub input: String,
    /// "added", "removed" or "modified".
    pub change: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

pub fn explain(opts: &GlobalOpts, artifact: &str) -> Result<Explanation, Error> {
    let mut loaded = load(opts)?;
    let ann = announce::announce(&loaded.candidates, loaded.tag.as_deref())?;
    // The whole Universe, so any artifact of the announcement can be named.
    let targets: Vec<String> = Vec::new();
    let req = PlanRequest {
        mode: ArtifactMode::All,
        targets: &targets,
        host: None,
    };
    let store = existing_store(opts)?;
    let mut hasher = std::mem::take(&mut loaded.sources);
    let (_, graph) = plan_announcement(&loaded, &ann, &req, store.as_ref(), &mut hasher)?;
    let node = graph
        .by_label(artifact)
        .ok_or_else(|| ExplainError::UnknownArtifact {
            name: artifact.to_string(),
            known: graph.artifacts.keys().cloned().collect(),
        })?;
    explain_node(&graph, node, store.as_ref())
}

fn explain_node(
    graph: &RecipeGraph,
    node: &Node,
    store: Option<&Store>,
) -> Result<Explanation, Error> {
    let cached = match store {
        Some(s) => s.is_cached(&node.key)?,
        None => false,
    };
    let previous = match store {
        Some(s) if !cached => s.last_recipe_labelled(&node.label, Some(&node.key))?,
        _ => None,
    };
    let mut out = Explanation {
        label: node.label.clone(),
        key: node.key.to_hex(),
        cached,
        previous_key: previous.as_ref().map(|p| p.key.to_hex()),
        changes: Vec::new(),
        consumed: Vec::new(),
    };
    let Some(prev) = previous else {
        return Ok(out);
    };
    // Signed now, or no longer: say so, then compare what is signed with the last build.
    if let Some((change, unsigned)) = signature_change(graph, node, &prev) {
        out.changes.push(change);
        if unsigned.key != prev.key {
            out.consumed
                .push(explain_against(graph, unsigned, &prev, store)?);
        }
        return Ok(out);
    }
    let diff = explain_against(graph, node, &prev, store)?;
    out.changes = diff.changes;
    out.consumed = diff.consumed;
    Ok(out)
}

/// How `node`'s inputs differ from those of `prev`, down through the consumed recipes whose
/// keys changed.
fn explain_against(
    graph: &RecipeGraph,
    node: &Node,
    prev: &dist_store::RecipeRecord,
    store: Option<&Store>,
) -> Result<Explanation, Error> {
    let mut out = Explanation {
        label: node.label.clone(),
        key: node.key.to_hex(),
        cached: false,
        previous_key: Some(prev.key.to_hex()),
        changes: Vec::new(),
        consumed: Vec::new(),
    };
    for c in diff_inputs(&prev.inputs, &node.inputs()) {
        let (change, old, new) = match &c {
            InputChange::Added { value, .. } => ("added", None, Some(value.clone())),
            InputChange::Removed { value, .. } => ("removed", Some(value.clone()), None),
            InputChange::Changed { old, new, .. } => {
                ("modified", Some(old.clone()), Some(new.clone()))
            }
        };
        // A consumed recipe's key changed: say why, one level down (the graph's edge for
        // this input).
        let consumed = graph.deps(node).find(|(edge, _)| edge.input == c.name());
        if let Some((_, dep)) = consumed.filter(|_| new.is_some()) {
            out.consumed.push(explain_node(graph, dep, store)?);
        }
        out.changes.push(Change {
            input: c.name().to_string(),
            change,
            old,
            new,
        });
    }
    out.consumed.sort_by(|a, b| a.label.cmp(&b.label));
    out.consumed.dedup_by(|a, b| a.label == b.label);
    Ok(out)
}

/// When `node` signs what was last built unsigned under its label, or makes unsigned what was
/// last signed: the change (a signature added or removed), and the node to compare with the
/// last build (what `node` signs, or `node`).
fn signature_change<'g>(
    graph: &'g RecipeGraph,
    node: &'g Node,
    prev: &dist_store::RecipeRecord,
) -> Option<(Change, &'g Node)> {
    let signer = |inputs: &std::collections::BTreeMap<String, String>| {
        let get = |k: &str| inputs.get(k).cloned().unwrap_or_default();
        format!(
            "{} by certificate {} ({})",
            get("signer:method"),
            get("signer:certificate"),
            get("signer:tool")
        )
    };
    let change = |added: bool, inputs| Change {
        input: "signature".into(),
        change: if added { "added" } else { "removed" },
        old: (!added).then(|| signer(inputs)),
        new: added.then(|| signer(inputs)),
    };
    match (node.recipe.kind() == "sign", prev.kind == "sign") {
        (true, false) => {
            let (_, subject) = graph.deps(node).next()?;
            Some((change(true, &node.inputs()), subject))
        }
        (false, true) => Some((change(false, &prev.inputs), node)),
        _ => None,
    }
}

/// The human form.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    render_into(e, 0, &mut out);
    out
}

fn short(v: &str) -> String {
    // Digests are long; their first 12 characters tell two apart (quoted or not).
    v.split(' ')
        .map(|w| {
            let bare = w.trim_matches('"');
            if bare.len() == 64 && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
                w.replace(bare, &bare[..12])
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(c: &Change) -> String {
    let (kind, name) = c.input.split_once(':').unwrap_or(("input", &c.input));
    let what = match kind {
        "file" => format!("file {name}"),
        "config" => format!("config key `{name}`"),
        "profile" => format!("[profile.dist] field `{name}`"),
        "env" => format!("environment variable {name}"),
        "toolchain" => format!("toolchain {name}"),
        "item" => format!("archive member {name}"),
        "recipe" => format!("consumed recipe {name}"),
        "sha256" => format!("sha256 of {name}"),
        "signer" => format!("the signature's {name}"),
        _ if c.input == "signature" => "a code signature".into(),
        _ if c.input == "workspace-skeleton" => {
            "the workspace's members (a member's Cargo.toml or its targets)".into()
        }
        _ => c.input.clone(),
    };
    match (c.change, &c.old, &c.new) {
        ("added", _, Some(n)) => format!("{what} added ({})", short(n)),
        ("removed", Some(o), _) => format!("{what} removed (was {})", short(o)),
        (_, Some(o), Some(n)) => format!("{what} changed: {} -> {}", short(o), short(n)),
        _ => what,
    }
}

fn render_into(e: &Explanation, depth: usize, out: &mut String) {
    use std::fmt::Write;
    let pad = "  ".repeat(depth);
    let key = &e.key[..12];
    match (&e.previous_key, e.cached) {
        (_, true) => writeln!(
            out,
            "{pad}{}: key {key} is in the store, nothing to rebuild",
            e.label
        ),
        (None, false) => writeln!(
            out,
            "{pad}{}: key {key} was never built under this name in this store",
            e.label
        ),
        (Some(prev), false) => writeln!(
            out,
            "{pad}{}: key {key} differs from the last build ({})",
            e.label,
            &prev[..12]
        ),
    }
    .unwrap();
    for c in &e.changes {
        writeln!(out, "{pad}  - {}", describe(c)).unwrap();
    }
    for sub in &e.consumed {
        render_into(sub, depth + 1, out);
    }
}
