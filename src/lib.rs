//! opsrun: a task runner for Kubernetes operators, as a library.
//!
//! This facade re-exports the crates of the data path so embedders depend on one crate:
//! [`spec`] (tasks.toml → `Spec`), [`plan`] (`Spec` → DAG), [`engine`] (run a plan),
//! [`event`] (what a run reports), [`report`] (render events) and [`change`] (classify a
//! change as Bootstrap- or GitOps-phase).

pub use opsrun_change as change;
pub use opsrun_engine as engine;
pub use opsrun_event as event;
pub use opsrun_plan as plan;
pub use opsrun_report as report;
pub use opsrun_spec as spec;
