//! `cargo xtask bench`: opsrun against the raw process-spawn floor and, when installed, go-task and just.
//!
//! The pieces, one concept per file: [`options`] (the command line), [`workload`] (generated
//! tasks.toml / Taskfile.yml / justfile), [`tools`] (finding the programs and their versions),
//! [`measure`] (timing and the in-process spawn floor), [`suite`] (the workloads, run side by
//! side) and [`table`] (the markdown results and `docs/benchmarks.md`).

mod measure;
mod options;
mod suite;
mod table;
mod tools;
mod workload;

pub(crate) use options::BenchOptions;
pub(crate) use suite::run;
