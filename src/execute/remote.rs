//! The executor's side of the remote store: what to ask it for before building, what to hand
//! it after, and saying once per kind what went wrong with it.

use std::collections::{BTreeMap, BTreeSet};

use dist_store::remote::{NotWritable, PullReport, Rejected, Remote, Untrusted};
use dist_store::RecipeKey;

use super::{ExecuteError, Executor};
use crate::graph::{Node, RecipeGraph};
use crate::report::Event;

impl Executor<'_> {
    /// Brings from the remote every recipe `roots` need that the local store lacks: the roots
    /// first, then, level by level, the required inputs of those the remote does not have
    /// (what `ensure` will build). A recipe found needs none of its inputs.
    pub fn prefetch<'g>(
        &mut self,
        graph: &'g RecipeGraph,
        roots: impl IntoIterator<Item = &'g Node>,
    ) -> Result<(), ExecuteError> {
        let Some(remote) = self.remote else {
            return Ok(());
        };
        if self.opts.rebuild {
            return Ok(());
        }
        let mut seen = BTreeSet::new();
        let mut level: Vec<&Node> = roots.into_iter().filter(|n| seen.insert(n.key)).collect();
        while !level.is_empty() {
            let mut missing = Vec::new();
            for n in level {
                if !self.done.contains_key(&n.key) && !self.store.is_cached(&n.key)? {
                    missing.push(n);
                }
            }
            if missing.is_empty() {
                break;
            }
            let asked: Vec<(RecipeKey, &str)> =
                missing.iter().map(|n| (n.key, n.label.as_str())).collect();
            let report = self.pull(remote, &asked)?;
            let mut next = Vec::new();
            for n in missing {
                if report.hits.contains_key(&n.key) {
                    continue;
                }
                for (edge, dep) in graph.deps(n) {
                    if edge.required && seen.insert(dep.key) {
                        next.push(dep);
                    }
                }
            }
            level = next;
        }
        Ok(())
    }

    /// Brings these recipes (key, label) from the remote when the local store lacks them, not
    /// their inputs: the archives other runners built, whose checksums installers embed.
    pub fn prefetch_keys(&mut self, wanted: &[(RecipeKey, &str)]) -> Result<(), ExecuteError> {
        let Some(remote) = self.remote else {
            return Ok(());
        };
        let mut asked = Vec::new();
        let unique: BTreeMap<RecipeKey, &str> = wanted.iter().copied().collect();
        for (key, label) in unique {
            if !self.store.is_cached(&key)? {
                asked.push((key, label));
            }
        }
        if !asked.is_empty() {
            self.pull(remote, &asked)?;
        }
        Ok(())
    }

    fn pull(
        &mut self,
        remote: &Remote,
        asked: &[(RecipeKey, &str)],
    ) -> Result<PullReport, ExecuteError> {
        let keys: Vec<RecipeKey> = asked.iter().map(|(k, _)| *k).collect();
        let reporter = self.reporter;
        let report = self
            .store
            .pull(remote, &keys, &mut |t| reporter.report(Event::Transfer(*t)))?;
        self.pulled.extend(report.hits.keys().copied());
        self.report_pull(remote, &report, asked);
        Ok(report)
    }

    /// Uploads what this run built to the remote (objects, then signed records).
    pub fn upload(&mut self) -> Result<(), ExecuteError> {
        let Some(remote) = self.remote else {
            return Ok(());
        };
        if self.fresh.is_empty() {
            return Ok(());
        }
        let reporter = self.reporter;
        let report = self.store.push(remote, &self.fresh, &mut |t| {
            reporter.report(Event::Transfer(*t))
        })?;
        match (report.skipped, &report.unavailable) {
            (Some(why @ NotWritable::NoSigningKey), _) => self.warn_remote(
                "not-writable",
                format!(
                    "remote store {}: {} built recipe(s) not uploaded: {why}",
                    remote.url(),
                    self.fresh.len()
                ),
            ),
            (_, Some(reason)) => self.warn_remote("unavailable", unreachable(remote, reason)),
            _ => {}
        }
        Ok(())
    }

    fn warn_remote(&mut self, kind: &'static str, message: String) {
        if self.remote_warned.insert(kind) {
            self.reporter.report(Event::Warning(message));
        }
    }

    /// One warning per kind of trouble: the first recipe it hit, and how many more.
    fn report_pull(&mut self, remote: &Remote, report: &PullReport, asked: &[(RecipeKey, &str)]) {
        let mut by_kind: BTreeMap<&'static str, Vec<(&RecipeKey, &str, &Rejected)>> =
            BTreeMap::new();
        for (key, label) in asked {
            if let Some(why) = report.rejected.get(key) {
                by_kind
                    .entry(rejection_kind(why))
                    .or_default()
                    .push((key, label, why));
            }
        }
        for (kind, hits) in by_kind {
            let (key, label, why) = hits[0];
            let more = match hits.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more for the same reason)"),
            };
            let repair = match why {
                Rejected::Record(Untrusted::UnknownSigner(_)) => "; trust its signer with CARGO_DIST_REMOTE_TRUSTED_KEYS or `remote-trusted-keys` if it is yours",
                Rejected::Object { .. } | Rejected::MissingObject { .. } => {
                    "; a writer's next build of it uploads a good copy"
                }
                _ => "",
            };
            self.warn_remote(
                kind,
                format!(
                    "remote store {}: {} (recipe {}) was not taken from it: {why}; built it locally{more}{repair}",
                    remote.url(),
                    label,
                    key.short()
                ),
            );
        }
        if let Some(reason) = &report.unavailable {
            self.warn_remote("unavailable", unreachable(remote, reason));
        }
    }
}

/// The one warning a run gives when the remote stops answering.
pub fn unreachable(remote: &Remote, reason: &str) -> String {
    format!(
        "remote store {} is unreachable ({reason}); using the local store alone for the rest of this run",
        remote.url()
    )
}

fn rejection_kind(why: &Rejected) -> &'static str {
    match why {
        Rejected::Record(Untrusted::Malformed(_)) => "record-malformed",
        Rejected::Record(Untrusted::UnknownSigner(_)) => "record-unknown-signer",
        Rejected::Record(Untrusted::BadSignature(_)) => "record-bad-signature",
        Rejected::Record(Untrusted::WrongKey(_)) => "record-wrong-key",
        Rejected::Object { .. } => "object-corrupt",
        Rejected::MissingObject { .. } => "object-missing",
    }
}
