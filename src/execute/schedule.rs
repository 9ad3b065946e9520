//! Running the recipes a run needs, independent ones at once: at most `jobs` recipes, at most
//! one of them a cargo build (cargo already uses every core; it is the critical path, so it
//! starts first), archives and checksums of finished builds alongside it.
//!
//! Bytes never depend on the schedule: each recipe reads only its key's inputs, in its own temp
//! dir, and every result goes through the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Instant;

use dist_recipes::recipe::Recipe;
use dist_store::{RecipeKey, RecipeRecord, Store};

use super::produce::Producer;
use super::{ExecuteError, Executor};
use crate::graph::{Node, RecipeGraph};
use crate::report::{Event, RecipeAction};

/// A recipe that runs a build tool which uses every core by itself.
fn is_heavy(recipe: &Recipe) -> bool {
    matches!(
        recipe,
        Recipe::CargoBuild(_)
            | Recipe::CrateBuild(_)
            | Recipe::ExtraBuild(_)
            | Recipe::GenericBuild(_)
            | Recipe::Sbom(_)
    )
}

/// What a worker hands back: which task, its store handle (for the next task), and the result.
type Finished = (
    usize,
    Store,
    std::thread::Result<Result<(RecipeRecord, bool), ExecuteError>>,
);

/// The recipes a run makes, in an order inputs come first, and which of them can start.
struct Tasks<'g> {
    order: Vec<&'g Node>,
    /// Per task: how many of the tasks it needs are unfinished.
    waiting: Vec<usize>,
    /// Per task: the tasks that need it.
    consumers: Vec<Vec<usize>>,
    ready: BTreeSet<usize>,
}

impl<'g> Tasks<'g> {
    fn new(graph: &'g RecipeGraph, order: Vec<&'g Node>) -> Tasks<'g> {
        let index: BTreeMap<RecipeKey, usize> =
            order.iter().enumerate().map(|(i, n)| (n.key, i)).collect();
        let mut waiting = vec![0usize; order.len()];
        let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
        for (i, node) in order.iter().enumerate() {
            let inputs: BTreeSet<usize> = graph
                .deps(node)
                .filter(|(edge, _)| edge.required)
                .filter_map(|(_, dep)| index.get(&dep.key).copied())
                .collect();
            waiting[i] = inputs.len();
            for dep in inputs {
                consumers[dep].push(i);
            }
        }
        let ready = (0..order.len()).filter(|&i| waiting[i] == 0).collect();
        Tasks {
            order,
            waiting,
            consumers,
            ready,
        }
    }

    /// The first ready cargo build when none runs, else the first ready other task.
    fn pick(&mut self, heavy_running: bool) -> Option<usize> {
        let heavy = |i: &usize| is_heavy(&self.order[*i].recipe);
        let pick = self
            .ready
            .iter()
            .copied()
            .find(|i| !heavy_running && heavy(i))
            .or_else(|| self.ready.iter().copied().find(|i| !heavy(i)))?;
        self.ready.remove(&pick);
        Some(pick)
    }

    /// Task `i` is done: the tasks waiting on it alone are ready.
    fn finished(&mut self, i: usize) {
        for &c in &self.consumers[i] {
            self.waiting[c] -= 1;
            if self.waiting[c] == 0 {
                self.ready.insert(c);
            }
        }
    }
}

impl Executor<'_> {
    /// Makes sure every recipe of `roots` is in the store, with the inputs of those that are
    /// not; results are read with [`Executor::outcome`]. On an error nothing new starts, the
    /// running recipes finish, and the first error is returned.
    pub fn ensure_all<'g>(
        &mut self,
        graph: &'g RecipeGraph,
        roots: impl IntoIterator<Item = &'g Node>,
    ) -> Result<(), ExecuteError> {
        let order = self.what_must_run(graph, roots)?;
        if order.is_empty() {
            return Ok(());
        }
        let mut tasks = Tasks::new(graph, order);
        let order = &tasks.order.clone();
        let mut handles: Vec<Store> = Vec::new();
        let mut running = 0usize;
        let mut heavy_running = false;
        let mut first_error: Option<ExecuteError> = None;
        let jobs = self.opts.jobs.max(1);

        std::thread::scope(|scope| -> Result<(), ExecuteError> {
            let (tx, rx) = mpsc::channel::<Finished>();
            loop {
                while first_error.is_none() && running < jobs {
                    let Some(i) = tasks.pick(heavy_running) else {
                        break;
                    };
                    let node = order[i];
                    heavy_running |= is_heavy(&node.recipe);
                    running += 1;
                    let store = match handles.pop() {
                        Some(s) => s,
                        None => Store::open(self.store.root())?,
                    };
                    // Said here, in dispatch order, so the display lists what runs together.
                    self.report_start(node);
                    let inputs = self.inputs_of(graph, node);
                    let tx = tx.clone();
                    let (ws, opts, reporter) = (self.ws, self.opts, self.reporter);
                    let warned = &self.warned_isolation;
                    scope.spawn(move || {
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            let p = Producer {
                                ws,
                                store: &store,
                                opts,
                                reporter,
                                inputs,
                                warned_isolation: warned,
                            };
                            run_one(&p, node)
                        }));
                        let _ = tx.send((i, store, result));
                    });
                }
                if running == 0 {
                    break;
                }
                let (i, store, result) = rx.recv().expect("a worker always answers");
                handles.push(store);
                running -= 1;
                let node = order[i];
                if is_heavy(&node.recipe) {
                    heavy_running = false;
                }
                match result {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    Ok(Ok((rec, cached))) => {
                        if !cached && self.remote.is_some() {
                            self.fresh.push(rec.clone());
                        }
                        self.done.insert(node.key, (rec, cached));
                        tasks.finished(i);
                    }
                }
            }
            Ok(())
        })?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The records of what `node` consumes that this run has.
    fn inputs_of(&self, graph: &RecipeGraph, node: &Node) -> BTreeMap<RecipeKey, RecipeRecord> {
        graph
            .deps(node)
            .filter_map(|(_, dep)| Some((dep.key, self.done.get(&dep.key)?.0.clone())))
            .collect()
    }

    fn report_start(&self, node: &Node) {
        let action = match node.recipe {
            Recipe::Archive(_) => RecipeAction::Compressing,
            _ => RecipeAction::Building,
        };
        self.reporter.report(Event::Recipe {
            label: &node.label,
            action,
            elapsed: Default::default(),
        });
    }

    /// What must run for `roots`, inputs before their consumers (the order a sequential run
    /// takes); the stored recipes found on the way are marked used.
    fn what_must_run<'g>(
        &mut self,
        graph: &'g RecipeGraph,
        roots: impl IntoIterator<Item = &'g Node>,
    ) -> Result<Vec<&'g Node>, ExecuteError> {
        let mut order: Vec<&Node> = Vec::new();
        let mut seen = BTreeSet::new();
        let roots: Vec<&Node> = roots.into_iter().collect();
        self.take_all_stored(&roots)?;
        for root in roots {
            self.collect(graph, root, &mut seen, &mut order)?;
        }
        self.flush_touched()?;
        Ok(order)
    }

    /// Adds `node` to `order` after the required inputs it needs, unless it is done or stored.
    fn collect<'g>(
        &mut self,
        graph: &'g RecipeGraph,
        node: &'g Node,
        seen: &mut BTreeSet<RecipeKey>,
        order: &mut Vec<&'g Node>,
    ) -> Result<(), ExecuteError> {
        if !seen.insert(node.key) || self.take_stored(node)? {
            return Ok(());
        }
        for (edge, dep) in graph.deps(node) {
            if edge.required {
                self.collect(graph, dep, seen, order)?;
            }
        }
        order.push(node);
        Ok(())
    }
}

/// One recipe, on a worker thread: take its lock, look again (another process may have made it
/// meanwhile), make it, record it. Returns its record and whether it was already there.
fn run_one(p: &Producer, node: &Node) -> Result<(RecipeRecord, bool), ExecuteError> {
    let _lock = p.store.lock(&node.key)?;
    let started = Instant::now();
    let report = |action| {
        p.reporter.report(Event::Recipe {
            label: &node.label,
            action,
            elapsed: started.elapsed(),
        })
    };
    let stored = super::stored_record(p.store, &node.key)?;
    match stored {
        // A fixed-output record was checked against its known content when it was made; a
        // rebuild would only fetch the same bytes again.
        Some(rec) if !p.opts.rebuild || node.recipe.is_fixed_output() => {
            p.store.touch(&node.key)?;
            report(RecipeAction::Cached);
            Ok((rec, true))
        }
        previous => {
            let rec = p.produce(node, previous.is_some())?;
            match previous {
                Some(prev) => {
                    p.check_reproduced(&prev, &rec, node)?;
                    // The stored bytes stay what they were; the rebuild was only a check.
                    report(RecipeAction::Reproduced);
                    Ok((prev, true))
                }
                None => {
                    p.store.record(&rec)?;
                    report(RecipeAction::Done);
                    Ok((rec, false))
                }
            }
        }
    }
}
