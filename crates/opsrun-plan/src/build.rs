//! Building the DAG: walk from the targets through `deps`, one node per invocation.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use opsrun_spec::{ResolvedCmdKind, ResolvedTask, Resolver, SpecError, did_you_mean, invocation_key};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
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
}

/// The DAG of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    graph: DiGraph<PlanTask, ()>,
    order: Vec<NodeIndex>,
    targets: Vec<NodeIndex>,
    /// Tasks called from commands (`{ task = ... }`), resolved up front, by invocation key.
    calls: HashMap<String, ResolvedTask>,
    /// The project's root directory (of the root tasks file).
    root_dir: std::path::PathBuf,
}

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error)]
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

impl Plan {
    /// Builds the plan for `targets` (task names or aliases).
    pub fn build(resolver: &Resolver<'_>, targets: &[String], options: &PlanOptions) -> Result<Plan, PlanError> {
        let spec = resolver.spec();
        let mut graph: DiGraph<PlanTask, ()> = DiGraph::new();
        let mut index: HashMap<String, NodeIndex> = HashMap::new();
        let mut target_nodes = Vec::new();
        // Explicit stack (not recursion) so a 10k-long chain cannot overflow the stack.
        let mut pending: Vec<(String, IndexMap<String, opsrun_spec::template::Value>, Option<NodeIndex>)> = Vec::new();
        let unknown = |name: &str| PlanError::UnknownTask {
            name: name.to_string(),
            suggestion: did_you_mean(
                name,
                spec.tasks.keys().map(String::as_str).chain(spec.aliases.keys().map(String::as_str)),
            )
            .map(str::to_string),
        };
        for name in [&options.from, &options.only].into_iter().flatten() {
            if spec.task(name).is_none() {
                return Err(unknown(name));
            }
        }
        for t in targets {
            let Some(task) = spec.task(t) else {
                return Err(unknown(t));
            };
            if task.internal && !options.allow_internal {
                return Err(PlanError::Internal(task.name.clone()));
            }
            pending.push((task.name.clone(), IndexMap::new(), None));
        }
        pending.reverse();
        let only = options.only.as_deref().map(|o| spec.canonical_name(o).unwrap_or(o).to_string());
        while let Some((name, vars, dependent)) = pending.pop() {
            let key = invocation_key(&name, &vars.iter().map(|(k, v)| (k.clone(), v.to_display_string())).collect());
            let node = if let Some(&n) = index.get(&key) {
                n
            } else {
                let task = resolver.resolve(&name, &vars)?;
                let deps = task.deps.clone();
                let n = graph.add_node(PlanTask { task, forced: false, assumed_done: false });
                index.insert(key, n);
                for d in deps.into_iter().rev() {
                    pending.push((d.task, d.vars, Some(n)));
                }
                n
            };
            match dependent {
                Some(dep_of) => {
                    if !graph.contains_edge(node, dep_of) {
                        graph.add_edge(node, dep_of, ());
                    }
                }
                None => target_nodes.push(node),
            }
        }
        let mut plan = Plan {
            order: Vec::new(),
            graph,
            targets: target_nodes,
            calls: HashMap::new(),
            root_dir: spec.root_dir.clone(),
        };
        plan.order = plan.topological_order()?;
        plan.resolve_calls(resolver)?;
        if let Some(only) = &only {
            let keep: Vec<NodeIndex> =
                plan.order.iter().copied().filter(|&i| plan.graph[i].task.name == *only).collect();
            if keep.is_empty() {
                return Err(plan.not_in_plan("--only", only));
            }
            plan = plan.selecting(&keep, &keep);
        }
        if let Some(from) = &options.from {
            let from = spec.canonical_name(from).unwrap_or(from).to_string();
            let starts: Vec<NodeIndex> =
                plan.order.iter().copied().filter(|&i| plan.graph[i].task.name == from).collect();
            if starts.is_empty() {
                return Err(plan.not_in_plan("--from", &from));
            }
            for i in plan.downstream(&starts) {
                plan.graph[i].forced = true;
            }
        }
        Ok(plan)
    }

    /// Resolves every task called from a command (and what those call or depend on), so the
    /// engine never needs the spec.
    fn resolve_calls(&mut self, resolver: &Resolver<'_>) -> Result<(), PlanError> {
        let mut pending: Vec<(String, IndexMap<String, opsrun_spec::template::Value>)> = Vec::new();
        let collect = |t: &ResolvedTask, pending: &mut Vec<_>| {
            for c in t.cmds.iter().chain(t.recover.iter()) {
                if let ResolvedCmdKind::Task { name, vars } = &c.kind {
                    pending.push((name.clone(), vars.clone()));
                }
            }
        };
        for n in self.graph.node_indices() {
            collect(&self.graph[n].task, &mut pending);
        }
        while let Some((name, vars)) = pending.pop() {
            let key = invocation_key(&name, &vars.iter().map(|(k, v)| (k.clone(), v.to_display_string())).collect());
            if self.calls.contains_key(&key) {
                continue;
            }
            let task = resolver.resolve(&name, &vars)?;
            collect(&task, &mut pending);
            for d in &task.deps {
                pending.push((d.task.clone(), d.vars.clone()));
            }
            self.calls.insert(key, task);
        }
        Ok(())
    }

    /// A task called from a command, by invocation key (see [`opsrun_spec::invocation_key`]).
    pub fn called(&self, key: &str) -> Option<&ResolvedTask> {
        self.calls.get(key)
    }

    fn not_in_plan(&self, flag: &'static str, name: &str) -> PlanError {
        let targets = self.targets.iter().map(|&i| self.graph[i].task.name.clone()).collect::<Vec<_>>().join(", ");
        PlanError::NotInPlan { flag, name: name.to_string(), targets }
    }

    /// Kahn's algorithm with a tie-break on insertion order, so the order is stable across runs.
    fn topological_order(&self) -> Result<Vec<NodeIndex>, PlanError> {
        let mut indegree: Vec<usize> =
            self.graph.node_indices().map(|n| self.graph.edges_directed(n, Direction::Incoming).count()).collect();
        let mut ready: std::collections::BTreeSet<NodeIndex> =
            self.graph.node_indices().filter(|n| indegree[n.index()] == 0).collect();
        let mut order = Vec::with_capacity(self.graph.node_count());
        while let Some(n) = ready.pop_first() {
            order.push(n);
            for e in self.graph.edges_directed(n, Direction::Outgoing) {
                let t = e.target();
                indegree[t.index()] -= 1;
                if indegree[t.index()] == 0 {
                    ready.insert(t);
                }
            }
        }
        if order.len() != self.graph.node_count() {
            let stuck: Vec<String> = self
                .graph
                .node_indices()
                .filter(|n| indegree[n.index()] > 0)
                .map(|n| self.graph[n].task.key.clone())
                .collect();
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
    pub fn selecting(&self, nodes: &[NodeIndex], forced: &[NodeIndex]) -> Plan {
        let keep: HashSet<NodeIndex> = nodes.iter().copied().collect();
        let mut plan = self.clone();
        for i in plan.graph.node_indices() {
            let selected = keep.contains(&i);
            plan.graph[i].forced = selected && forced.contains(&i);
            plan.graph[i].assumed_done = !selected;
        }
        plan
    }

    /// The nodes selected to run (not assumed done), in order.
    pub fn selected(&self) -> Vec<NodeIndex> {
        self.order.iter().copied().filter(|&i| !self.graph[i].assumed_done).collect()
    }

    /// Every node reachable from `starts` along dependency edges (the starts included), in
    /// topological order.
    pub fn downstream(&self, starts: &[NodeIndex]) -> Vec<NodeIndex> {
        let mut seen: HashSet<NodeIndex> = starts.iter().copied().collect();
        let mut stack: Vec<NodeIndex> = starts.to_vec();
        while let Some(n) = stack.pop() {
            for m in self.graph.neighbors_directed(n, Direction::Outgoing) {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        self.order.iter().copied().filter(|n| seen.contains(n)).collect()
    }

    /// The nodes in a deterministic topological order.
    pub fn order(&self) -> &[NodeIndex] {
        &self.order
    }

    /// The target nodes, in the order given.
    pub fn targets(&self) -> &[NodeIndex] {
        &self.targets
    }

    /// A node's task.
    pub fn task(&self, node: NodeIndex) -> &ResolvedTask {
        &self.graph[node].task
    }

    /// A node.
    pub fn node(&self, node: NodeIndex) -> &PlanTask {
        &self.graph[node]
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
    pub fn dependencies(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        // petgraph yields the most recently added edge first; edges are added in declaration
        // order, so reversing restores it.
        let mut deps: Vec<NodeIndex> = self.graph.neighbors_directed(node, Direction::Incoming).collect();
        deps.reverse();
        deps.into_iter()
    }

    /// Direct dependents of a node.
    pub fn dependents(&self, node: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph.neighbors_directed(node, Direction::Outgoing)
    }

    /// Finds the node of a task invocation by key (`name` or `name[K=V]`).
    pub fn find(&self, key: &str) -> Option<NodeIndex> {
        self.order.iter().copied().find(|&i| self.graph[i].task.key == key || self.graph[i].task.name == key)
    }

    /// The project's root directory: fingerprints are taken relative to it, so a moved or
    /// re-cloned checkout resumes.
    pub fn root_dir(&self) -> &std::path::Path {
        &self.root_dir
    }

    /// The underlying graph (for embedders that want petgraph's algorithms).
    pub fn graph(&self) -> &DiGraph<PlanTask, ()> {
        &self.graph
    }
}
