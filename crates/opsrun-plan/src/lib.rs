//! `opsrun-plan`: a [`Spec`](opsrun_spec::Spec), targets and a selection → a [`Plan`].
//!
//! A plan is a petgraph DAG of [`PlanTask`]s: the targets and everything they depend on, each
//! invocation (task + call vars) exactly once however many paths reach it. Edges point from a
//! dependency to its dependent. [`Plan::order`] is a deterministic topological order (file
//! order breaks ties), used for `--dry-run`, graph export and the summary.
//!
//! ```
//! use std::path::Path;
//! use opsrun_spec::{Invocation, Resolver};
//! use opsrun_plan::{Plan, PlanOptions};
//!
//! let spec = opsrun_spec::load_str(Path::new("/tmp/p/tasks.toml"), r#"
//!     [tasks.a]
//!     cmds = ["true"]
//!     [tasks.b]
//!     deps = ["a"]
//!     [tasks.c]
//!     deps = ["a"]
//!     [tasks.d]
//!     deps = ["b", "c"]
//! "#)?;
//! let resolver = Resolver::new(&spec, Invocation::default());
//! let plan = Plan::build(&resolver, &["d".to_string()], &PlanOptions::default())?;
//! let names: Vec<_> = plan.order().iter().map(|&i| plan.task(i).name.as_str()).collect();
//! assert_eq!(names, ["a", "b", "c", "d"]); // the diamond's `a` appears once
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod build;
mod export;

pub use build::{Plan, PlanError, PlanOptions, PlanTask};
pub use export::GraphFormat;

/// A task invocation's place in a [`Plan`]: dense from 0 in creation order, valid for the plan
/// it came from (and for plans derived from it with [`Plan::selecting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(u32);

impl TaskId {
    /// The id of the `index`th node.
    ///
    /// # Panics
    /// When `index` does not fit in 32 bits (plans are capped far below that).
    pub fn new(index: usize) -> Self {
        Self(u32::try_from(index).expect("plans have fewer than 2^32 nodes"))
    }

    /// The node's number, for indexing per-node vectors.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn of(node: petgraph::graph::NodeIndex) -> Self {
        Self::new(node.index())
    }

    pub(crate) fn g(self) -> petgraph::graph::NodeIndex {
        petgraph::graph::NodeIndex::new(self.index())
    }
}
