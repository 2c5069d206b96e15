//! `cargo xtask bench`: opsrun as a user runs it, timed as a whole process, against a C
//! `posix_spawn` floor and, when installed, go-task and just, in paired A/B comparisons.
//!
//! The pieces, one concept per file: [`options`] (the command line), [`workload`] (generated
//! tasks.toml / Taskfile.yml / justfile), [`tools`] (finding the programs and their versions),
//! [`floor`] (the C spawn floor, `floor.c`), [`process`] (one timed run: drained pipes, `wait4`
//! resource use), [`pairs`] (paired A/B runs and the median of their ratios), [`suite`] (building,
//! running the workloads, the results section) and [`table`] (the markdown table and
//! `docs/benchmarks.md`). The workloads: [`spawn`] (start-up, chain, fan-out), [`load`] (list,
//! plan), [`up_to_date`], [`output`], [`gates`] (gate, resume) and [`render`].

mod floor;
mod gates;
mod load;
mod options;
mod output;
mod pairs;
mod process;
mod render;
mod spawn;
mod suite;
mod table;
mod tools;
mod up_to_date;
mod workload;

pub(crate) use options::BenchOptions;
pub(crate) use suite::run;
