//! Building the DAG: walk from the targets through `deps`, one node per invocation.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use opsrun_spec::{ResolvedCmdKind, ResolvedTask, Resolver, RunPolicy, SpecError, did_you_mean};
use petgraph::Direction;
use petgraph::graph::DiGraph;

use crate::TaskId;
use petgraph::visit::EdgeRef;

/// How the targets' graph is narrowed or forced.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `--from TASK`: this task and everything that depends on it run regardless of saved state.
    pub from: Option<String>,
    /// `--only TASK`: run just this task; everything else in the plan is assumed done.
    pub only: Option<String>,
    /// Allow internal tasks as targets (they are refused from the command line).
    pub allow_internal: bool,
    /// Run the targets one after the other in the order given, as go-task runs `task a b`
    /// (`opsrun run`); pipelines run their targets as one DAG.
    pub sequential: bool,
}

/// One node: a resolved task invocation.
#[derive(Debug, Clone)]
pub struct PlanTask {
    /// The rendered task.
    pub task: ResolvedTask,
    /// Forced to run by `--from` (ignore up-to-date checks and saved state).
    pub forced: bool,
    /// Not selected (`--only`, or upstream of an emergency recovery): assumed done, never run.
    /// It stays in the graph so that its dependents' fingerprints are computed as in a full run.
    pub assumed_done: bool,
    /// Reached only through task calls (`{ task = ... }`): it runs when a caller calls it, and
    /// not at all when no caller does.
    pub on_demand: bool,
}

/// The DAG of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    graph: DiGraph<PlanTask, ()>,
    order: Vec<TaskId>,
    targets: Vec<TaskId>,
    /// The node each task call (`{ task = ... }`) runs: (caller, in `recover`, command index).
    calls: HashMap<(TaskId, bool, usize), TaskId>,
    /// Per node, the nodes it calls (command order, each once) and the nodes that call it:
    /// derived from `calls` once, so schedulers and `explain` ask in constant time.
    callees: Vec<Vec<TaskId>>,
    callers: Vec<Vec<TaskId>>,
    /// Targets run one after the other.
    sequential: bool,
    /// The project's root directory (of the root tasks file).
    root_dir: std::path::PathBuf,
    /// Masks the secrets of the resolver the plan was built with (and those found later).
    masker: opsrun_spec::Masker,
}

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A target is not a task.
    #[error(
        "unknown task `{name}`{}",
        suggestion.as_ref().map_or_else(|| "; `opsrun list --all` shows every task".to_string(), |s| format!(" (did you mean `{s}`?)"))
    )]
    UnknownTask {
        /// What was asked for.
        name: String,
        /// The closest task name.
        suggestion: Option<String>,
    },
    /// A target is internal.
    #[error("task `{0}` is internal and cannot be run directly")]
    Internal(String),
    /// `--from`/`--only` names a task outside the plan.
    #[error("`{flag} {name}`: task `{name}` is not part of this run (its targets are: {targets})")]
    NotInPlan {
        /// The flag.
        flag: &'static str,
        /// The task.
        name: String,
        /// The plan's targets.
        targets: String,
    },
    /// Rendering a task failed.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A cycle between invocations (only possible through call vars; the spec refuses plain
    /// cycles earlier).
    #[error("dependency cycle: {0}")]
    Cycle(String),
}

/// A task invocation the walk has still to look at, and who reached it. A dependency or call
/// names the node and the position of its reference, so that its name and vars are read where
/// they are rather than copied.
enum Pending {
    /// Named on the command line or by a pipeline (or a dependency, named in the file, of a
    /// task that could not be rendered: looked at for its own problems).
    Target(String),
    /// Dependency `index` of this node.
    Dep(TaskId, usize),
    /// What this node's command `index` (of `recover` when the flag is set) calls.
    Call(TaskId, bool, usize),
}

/// More invocations than any real project has: a cycle through templated task names or
/// `run = "always"` that the load-time check could not see.
const MAX_NODES: usize = 200_000;

impl Plan {
    /// Builds the plan for `targets` (task names or aliases).
    #[expect(clippy::too_many_lines, reason = "one walk over targets, deps and calls, then narrowing")]
    pub fn build(resolver: &Resolver<'_>, targets: &[String], options: &PlanOptions) -> Result<Plan, PlanError> {
        let spec = resolver.spec();
        // Room for a node per task of the spec, the most a plan without call vars or `run =
        // "always"` can have: growing a vector of rendered tasks copies all of them each time,
        // while room never written costs address space, not memory.
        let room = spec.tasks.len().min(MAX_NODES);
        let mut graph: DiGraph<PlanTask, ()> = DiGraph::with_capacity(room, 0);
        let mut index: HashMap<String, TaskId> = HashMap::new();
        let mut instances: HashMap<String, usize> = HashMap::new();
        let mut calls: HashMap<(TaskId, bool, usize), TaskId> = HashMap::new();
        let mut target_nodes = Vec::new();
        // Explicit stack (not recursion) so a 10k-long chain cannot overflow the stack.
        let mut pending: Vec<Pending> = Vec::new();
        let unknown = |name: &str| PlanError::UnknownTask {
            name: name.to_string(),
            suggestion: did_you_mean(
                name,
                spec.tasks.keys().map(String::as_str).chain(spec.aliases.keys().map(String::as_str)),
            )
            .map(str::to_string),
        };
        for name in [&options.from, &options.only].into_iter().flatten() {
            if spec.lookup(name).is_none() {
                return Err(unknown(name));
            }
        }
        for t in targets {
            let Some((task, _)) = spec.lookup(t) else {
                return Err(unknown(t));
            };
            if task.internal && !options.allow_internal {
                return Err(PlanError::Internal(task.name.clone()));
            }
            let name = spec.canonical_name(t).unwrap_or(t).to_string();
            pending.push(Pending::Target(name));
        }
        pending.reverse();
        let mut problems: Vec<SpecError> = Vec::new();
        let no_vars = IndexMap::new();
        while let Some(reached) = pending.pop() {
            let (name, vars) = match &reached {
                Pending::Target(name) => (name.as_str(), &no_vars),
                Pending::Dep(node, index) => {
                    let dep = &graph[node.g()].task.deps[*index];
                    (dep.task.as_str(), &dep.vars)
                }
                Pending::Call(node, recover, index) => {
                    let task = &graph[node.g()].task;
                    let list = if *recover { &task.recover } else { &task.cmds };
                    match &list[*index].kind {
                        ResolvedCmdKind::Task { name, vars } => (name.as_str(), vars),
                        ResolvedCmdKind::Shell(_) => unreachable!("only task calls are pending"),
                    }
                }
            };
            // A known invocation without call vars is indexed under its name (its key, and its
            // task's name): found without working out its identity again.
            let known = if vars.is_empty() { index.get(name).copied() } else { None };
            let node = if let Some(n) = known {
                n
            } else {
                let Some((task_name, key, policy)) = resolver.identity(name, vars) else {
                    return Err(unknown(name));
                };
                // go-task's `run`: `when_changed` (the default here) is one node per task and
                // vars, `once` one per task, `always` one per reference (never indexed). A known
                // invocation is not rendered again.
                let base = if policy == RunPolicy::Once { task_name } else { key };
                let existing = if policy == RunPolicy::Always { None } else { index.get(&base).copied() };
                if let Some(n) = existing {
                    n
                } else {
                    if graph.node_count() >= MAX_NODES {
                        return Err(PlanError::Cycle(format!(
                            "more than {MAX_NODES} task invocations starting from `{name}` (a cycle through templated task names or `run = \"always\"`?)"
                        )));
                    }
                    // A task that cannot be rendered is reported with the others at the end: every
                    // undefined variable of the run at once, not one per attempt.
                    let mut task = match resolver.resolve(name, vars) {
                        Ok(task) => task,
                        Err(e) => {
                            problems.push(e);
                            // Its dependencies are still looked at, for their own problems (those
                            // named in the file; the plan is not built anyway).
                            if let Some((task, _)) = spec.lookup(name) {
                                for d in task.deps.iter().rev().filter(|d| d.target.template.is_none()) {
                                    pending.push(Pending::Target(d.target.name.clone()));
                                }
                            }
                            continue;
                        }
                    };
                    if policy == RunPolicy::Always {
                        let n = instances.entry(base.clone()).or_insert(0);
                        *n += 1;
                        if *n > 1 {
                            task.key = format!("{base}#{n}");
                        }
                    }
                    let n = TaskId::of(graph.add_node(PlanTask {
                        task,
                        forced: false,
                        assumed_done: false,
                        on_demand: false,
                    }));
                    if policy != RunPolicy::Always {
                        index.entry(base).or_insert(n);
                    }
                    let task = &graph[n.g()].task;
                    for (recover, list) in [(true, &task.recover), (false, &task.cmds)] {
                        for (i, c) in list.iter().enumerate().rev() {
                            if matches!(c.kind, ResolvedCmdKind::Task { .. }) {
                                pending.push(Pending::Call(n, recover, i));
                            }
                        }
                    }
                    pending.extend((0..task.deps.len()).rev().map(|i| Pending::Dep(n, i)));
                    n
                }
            };
            match reached {
                // A dependent lists few dependencies: its incoming edges are the short list to
                // search (a task thousands depend on has thousands of outgoing ones).
                Pending::Dep(dependent, _) => {
                    if !graph.neighbors_directed(dependent.g(), Direction::Incoming).any(|d| d == node.g()) {
                        graph.add_edge(node.g(), dependent.g(), ());
                    }
                }
                Pending::Call(caller, recover, i) => {
                    calls.insert((caller, recover, i), node);
                }
                Pending::Target(_) => {
                    if !target_nodes.contains(&node) {
                        target_nodes.push(node);
                    }
                }
            }
        }
        if let Some(problems) = SpecError::merge(problems) {
            return Err(PlanError::Spec(problems));
        }
        let mut plan = Plan {
            order: Vec::new(),
            graph,
            targets: target_nodes,
            callees: Vec::new(),
            callers: Vec::new(),
            calls,
            sequential: options.sequential,
            root_dir: spec.root_dir.clone(),
            masker: resolver.masker(),
        };
        plan.index_calls();
        // Tasks reached only through calls run when called, not as part of the DAG.
        let reachable: HashSet<TaskId> = plan.dependency_closure(&plan.targets.clone());
        for i in plan.ids() {
            plan.graph[i.g()].on_demand = !reachable.contains(&i);
        }
        plan.order = plan.topological_order()?;
        let only = options.only.as_deref().map(|o| spec.canonical_name(o).unwrap_or(o).to_string());
        if let Some(only) = &only {
            let keep: Vec<TaskId> =
                plan.order.iter().copied().filter(|&i| plan.graph[i.g()].task.name == *only).collect();
            if keep.is_empty() {
                return Err(plan.not_in_plan("--only", only));
            }
            plan = plan.selecting(&keep, &keep);
        }
        if let Some(from) = &options.from {
            let from = spec.canonical_name(from).unwrap_or(from).to_string();
            let starts: Vec<TaskId> =
                plan.order.iter().copied().filter(|&i| plan.graph[i.g()].task.name == from).collect();
            if starts.is_empty() {
                return Err(plan.not_in_plan("--from", &from));
            }
            for i in plan.downstream(&starts) {
                plan.graph[i.g()].forced = true;
            }
        }
        Ok(plan)
    }

    /// The node that command `index` of `node` calls (`recover` for the recovery commands).
    pub fn callee(&self, node: TaskId, recover: bool, index: usize) -> Option<TaskId> {
        self.calls.get(&(node, recover, index)).copied()
    }

    /// The nodes `node` calls, in command order.
    pub fn callees(&self, node: TaskId) -> &[TaskId] {
        &self.callees[node.index()]
    }

    /// The nodes whose commands call `node`.
    pub fn callers(&self, node: TaskId) -> &[TaskId] {
        &self.callers[node.index()]
    }

    fn index_calls(&mut self) {
        let n = self.graph.node_count();
        let mut sorted: Vec<(TaskId, bool, usize, TaskId)> =
            self.calls.iter().map(|(&(caller, r, i), &callee)| (caller, r, i, callee)).collect();
        sorted.sort();
        self.callees = vec![Vec::new(); n];
        self.callers = vec![Vec::new(); n];
        for (caller, _, _, callee) in sorted {
            if !self.callees[caller.index()].contains(&callee) {
                self.callees[caller.index()].push(callee);
                self.callers[callee.index()].push(caller);
            }
        }
    }

    /// True when the targets given on the command line run one after the other, each with its
    /// dependencies, in the order given (go-task's `task a b`).
    pub fn sequential_targets(&self) -> bool {
        self.sequential
    }

    /// `starts` and everything they depend on, transitively.
    pub fn dependency_closure(&self, starts: &[TaskId]) -> HashSet<TaskId> {
        let mut seen: HashSet<TaskId> = starts.iter().copied().collect();
        let mut stack: Vec<TaskId> = starts.to_vec();
        while let Some(n) = stack.pop() {
            for m in self.graph.neighbors_directed(n.g(), Direction::Incoming).map(TaskId::of) {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        seen
    }

    fn not_in_plan(&self, flag: &'static str, name: &str) -> PlanError {
        let targets = self.targets.iter().map(|&i| self.graph[i.g()].task.name.clone()).collect::<Vec<_>>().join(", ");
        PlanError::NotInPlan { flag, name: name.to_string(), targets }
    }

    /// Kahn's algorithm with a tie-break on insertion order, so the order is stable across runs.
    /// A called task is ordered before its caller (it finishes before the caller does), which
    /// also refuses a caller that its callee depends on: that run could never finish.
    fn topological_order(&self) -> Result<Vec<TaskId>, PlanError> {
        let mut indegree: Vec<usize> = self
            .ids()
            .map(|n| self.graph.edges_directed(n.g(), Direction::Incoming).count() + self.callees(n).len())
            .collect();
        let mut ready: std::collections::BTreeSet<TaskId> = self.ids().filter(|n| indegree[n.index()] == 0).collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some(n) = ready.pop_first() {
            order.push(n);
            let next = self.graph.edges_directed(n.g(), Direction::Outgoing).map(|e| TaskId::of(e.target()));
            for t in next.chain(self.callers(n).iter().copied()) {
                indegree[t.index()] -= 1;
                if indegree[t.index()] == 0 {
                    ready.insert(t);
                }
            }
        }
        if order.len() != self.graph.node_count() {
            let stuck: Vec<String> =
                self.ids().filter(|n| indegree[n.index()] > 0).map(|n| self.graph[n.g()].task.key.clone()).collect();
            return Err(PlanError::Cycle(stuck.join(" → ")));
        }
        // Dependencies were pushed in reverse; present nodes in the order they were declared
        // where the graph allows by sorting ties by node index (creation order).
        Ok(order)
    }

    /// The same plan with only `nodes` selected to run; every other task is assumed done. Of the
    /// selected ones, those in `forced` ignore up-to-date checks and saved state. Used by
    /// `--only` (one task, forced) and emergency recovery (the broken layer forced, what depends
    /// on it selected so that it can be checked and repaired if still unhealthy).
    #[must_use]
    pub fn selecting(&self, nodes: &[TaskId], forced: &[TaskId]) -> Plan {
        let mut keep: HashSet<TaskId> = nodes.iter().copied().collect();
        // What a selected task calls runs with it: its callees and what they depend on that is
        // itself only reached through calls.
        let mut stack: Vec<TaskId> = nodes.to_vec();
        while let Some(n) = stack.pop() {
            let mut next = self.callees(n).to_vec();
            if self.graph[n.g()].on_demand {
                next.extend(
                    self.graph
                        .neighbors_directed(n.g(), Direction::Incoming)
                        .filter(|d| self.graph[*d].on_demand)
                        .map(TaskId::of),
                );
            }
            for m in next {
                if keep.insert(m) {
                    stack.push(m);
                }
            }
        }
        let mut plan = self.clone();
        for i in plan.ids() {
            let selected = keep.contains(&i);
            plan.graph[i.g()].forced = selected && forced.contains(&i);
            plan.graph[i.g()].assumed_done = !selected;
        }
        plan
    }

    /// The nodes selected to run (not assumed done), in order.
    pub fn selected(&self) -> Vec<TaskId> {
        self.order.iter().copied().filter(|&i| !self.graph[i.g()].assumed_done).collect()
    }

    /// Every node reachable from `starts` along dependency edges (the starts included), in
    /// topological order.
    pub fn downstream(&self, starts: &[TaskId]) -> Vec<TaskId> {
        let mut seen: HashSet<TaskId> = starts.iter().copied().collect();
        let mut stack: Vec<TaskId> = starts.to_vec();
        while let Some(n) = stack.pop() {
            // A task that calls a re-run task has to run again too.
            for m in self
                .graph
                .neighbors_directed(n.g(), Direction::Outgoing)
                .map(TaskId::of)
                .chain(self.callers(n).iter().copied())
            {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        self.order.iter().copied().filter(|n| seen.contains(n)).collect()
    }

    /// The nodes in a deterministic topological order.
    pub fn order(&self) -> &[TaskId] {
        &self.order
    }

    /// The target nodes, in the order given.
    pub fn targets(&self) -> &[TaskId] {
        &self.targets
    }

    /// A node's task.
    pub fn task(&self, node: TaskId) -> &ResolvedTask {
        &self.graph[node.g()].task
    }

    /// A node.
    pub fn node(&self, node: TaskId) -> &PlanTask {
        &self.graph[node.g()]
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True when the plan has no tasks.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Direct dependencies of a node, in the order they were declared.
    pub fn dependencies(&self, node: TaskId) -> impl Iterator<Item = TaskId> + '_ {
        // petgraph yields the most recently added edge first; edges are added in declaration
        // order, so reversing restores it.
        let mut deps: Vec<TaskId> =
            self.graph.neighbors_directed(node.g(), Direction::Incoming).map(TaskId::of).collect();
        deps.reverse();
        deps.into_iter()
    }

    /// Direct dependents of a node.
    pub fn dependents(&self, node: TaskId) -> impl Iterator<Item = TaskId> + '_ {
        self.graph.neighbors_directed(node.g(), Direction::Outgoing).map(TaskId::of)
    }

    /// Finds the node of a task invocation by key (`name` or `name[K=V]`).
    pub fn find(&self, key: &str) -> Option<TaskId> {
        self.order.iter().copied().find(|&i| self.graph[i.g()].task.key == key || self.graph[i.g()].task.name == key)
    }

    /// The project's root directory: fingerprints are taken relative to it, so a moved or
    /// re-cloned checkout resumes.
    pub fn root_dir(&self) -> &std::path::Path {
        &self.root_dir
    }

    /// The masker for everything this plan's tasks print or report: it knows the secrets the
    /// plan's resolver read (vars marked `secret`, credentials given as `VAR=value`) and those
    /// added while the plan runs.
    pub fn masker(&self) -> &opsrun_spec::Masker {
        &self.masker
    }

    /// Every node id, in creation order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = TaskId> + use<> {
        (0..self.graph.node_count()).map(TaskId::new)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use opsrun_spec::{Invocation, Resolver};

    use super::*;

    fn plan(toml: &str, targets: &[&str], options: &PlanOptions) -> Result<Plan, PlanError> {
        let spec = opsrun_spec::load_str(Path::new("/tmp/opsrun-plan/tasks.toml"), toml).unwrap();
        let resolver = Resolver::new(&spec, Invocation::default());
        let targets: Vec<String> = targets.iter().map(|t| (*t).to_string()).collect();
        Plan::build(&resolver, &targets, options)
    }

    fn keys(plan: &Plan, nodes: &[TaskId]) -> Vec<String> {
        nodes.iter().map(|&n| plan.task(n).key.clone()).collect()
    }

    const CHAIN: &str = "
        [tasks.talos]
        cmds = ['true']
        [tasks.api]
        deps = ['talos']
        [tasks.cni]
        deps = ['api']
        [tasks.backup]
        deps = ['api']
        [tasks.flux]
        deps = ['cni', 'backup']
    ";

    #[test]
    fn a_task_reached_twice_is_one_node_in_a_stable_order() {
        let p = plan(CHAIN, &["flux"], &PlanOptions::default()).unwrap();
        assert_eq!(keys(&p, p.order()), ["talos", "api", "cni", "backup", "flux"]);
        let flux = p.find("flux").unwrap();
        assert_eq!(keys(&p, &p.dependencies(flux).collect::<Vec<_>>()), ["cni", "backup"]);
    }

    #[test]
    fn run_always_makes_one_node_per_reference() {
        let toml = "
            [tasks.gen]
            run = 'always'
            cmds = ['true']
            [tasks.a]
            deps = ['gen']
            [tasks.b]
            deps = ['gen']
            [tasks.all]
            deps = ['a', 'b']
        ";
        let p = plan(toml, &["all"], &PlanOptions::default()).unwrap();
        assert_eq!(p.order().iter().filter(|&&n| p.task(n).name == "gen").count(), 2);
    }

    #[test]
    fn run_policies_decide_which_references_share_a_node() {
        let toml = "
            [tasks.gen]
            cmds = ['true']
            [tasks.once]
            run = 'once'
            cmds = ['true']
            [tasks.always]
            run = 'always'
            cmds = ['true']
            [tasks.all]
            deps = ['gen', { task = 'gen', vars = { V = '1' } }, { task = 'gen', vars = { V = '1' } },
                    { task = 'once', vars = { V = '1' } }, 'once', 'always', 'always']
        ";
        let p = plan(toml, &["all"], &PlanOptions::default()).unwrap();
        let count = |name: &str| p.order().iter().filter(|&&n| p.task(n).name == name).count();
        assert_eq!((count("gen"), count("once"), count("always")), (2, 1, 2));
        assert_eq!(p.dependencies(p.find("all").unwrap()).count(), 5);
    }

    #[test]
    fn only_selects_one_task_and_assumes_the_rest_done() {
        let options = PlanOptions { only: Some("cni".into()), ..PlanOptions::default() };
        let p = plan(CHAIN, &["flux"], &options).unwrap();
        assert_eq!(keys(&p, &p.selected()), ["cni"]);
        let cni = p.find("cni").unwrap();
        assert!(p.node(cni).forced);
        assert!(p.node(p.find("talos").unwrap()).assumed_done, "still in the graph, for fingerprints");
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn from_forces_a_task_and_everything_downstream_of_it() {
        let options = PlanOptions { from: Some("cni".into()), ..PlanOptions::default() };
        let p = plan(CHAIN, &["flux"], &options).unwrap();
        let forced: Vec<_> = p.order().iter().copied().filter(|&n| p.node(n).forced).collect();
        assert_eq!(keys(&p, &forced), ["cni", "flux"]);
    }

    #[test]
    fn a_called_task_is_an_on_demand_node_ordered_before_its_caller() {
        let toml = "
            [tasks.helper]
            cmds = ['true']
            [tasks.main]
            cmds = [{ task = 'helper' }]
        ";
        let p = plan(toml, &["main"], &PlanOptions::default()).unwrap();
        let (main, helper) = (p.find("main").unwrap(), p.find("helper").unwrap());
        assert!(p.node(helper).on_demand && !p.node(main).on_demand);
        assert_eq!(p.callee(main, false, 0), Some(helper));
        assert_eq!(p.callers(helper), [main]);
        assert_eq!(keys(&p, p.order()), ["helper", "main"]);
    }

    #[test]
    fn each_dependency_is_one_edge_however_often_it_is_reached() {
        // `setup` is listed twice by `a` and reached from 2,000 dependents: one edge from it to
        // each, in declaration order, and the calls after the deps.
        let mut toml = String::from("[tasks.setup]\ncmds = ['true']\n[tasks.helper]\ncmds = ['true']\n");
        toml.push_str(
            "[tasks.a]\ndeps = ['setup', 'setup']\ncmds = [{ task = 'helper' }, 'true', { task = 'helper' }]\n",
        );
        let mut all = vec!["'a'".to_string()];
        for i in 0..2000 {
            toml.push_str(&format!("[tasks.t{i}]\ndeps = ['setup', 'a']\n"));
            all.push(format!("'t{i}'"));
        }
        toml.push_str(&format!("[tasks.all]\ndeps = [{}]\n", all.join(", ")));
        let p = plan(&toml, &["all"], &PlanOptions::default()).unwrap();
        let (setup, a) = (p.find("setup").unwrap(), p.find("a").unwrap());
        assert_eq!(keys(&p, &p.dependencies(a).collect::<Vec<_>>()), ["setup"]);
        assert_eq!(p.dependents(setup).count(), 2001);
        let t7 = p.find("t7").unwrap();
        assert_eq!(keys(&p, &p.dependencies(t7).collect::<Vec<_>>()), ["setup", "a"]);
        assert_eq!(p.dependencies(p.find("all").unwrap()).count(), 2001);
        let helper = p.find("helper").unwrap();
        assert_eq!(
            (p.callee(a, false, 0), p.callee(a, false, 1), p.callee(a, false, 2)),
            (Some(helper), None, Some(helper))
        );
        assert_eq!(keys(&p, &p.order()[..3]), ["setup", "helper", "a"]);
    }

    #[test]
    fn unknown_targets_get_a_suggestion() {
        let err = plan(CHAIN, &["flxu"], &PlanOptions::default()).unwrap_err();
        assert!(matches!(&err, PlanError::UnknownTask { suggestion: Some(s), .. } if s == "flux"), "{err}");
        let options = PlanOptions { from: Some("backup".into()), ..PlanOptions::default() };
        let err = plan(CHAIN, &["cni"], &options).unwrap_err();
        assert!(matches!(err, PlanError::NotInPlan { flag: "--from", .. }), "{err}");
    }
}
