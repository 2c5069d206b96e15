//! The command line, declared with clap.

// The doc comments here are `--help` text for operators, not rustdoc: no Markdown backticks.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueHint};
use clap_complete::engine::ArgValueCompleter;

/// A task runner for Kubernetes operators: tasks.toml, a DAG, health gates, resume.
#[derive(Debug, Parser)]
#[command(
    name = "opsrun",
    version,
    about = "A task runner for Kubernetes operators: tasks.toml, a DAG, health gates, resume.",
    long_about = None,
    after_help = EXIT_CODES_HELP,
    allow_external_subcommands = true
)]
pub struct Cli {
    /// The tasks file (default: tasks.toml, or else a go-task Taskfile.yml, in the current
    /// directory or the nearest parent that has one).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,
    /// Change to DIR before doing anything.
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
    /// Output: auto (bars on a terminal, plain lines in CI and pipes), plain, or json lines; or
    /// how tasks' lines are shown, as go-task's --output: interleaved (as printed), prefixed
    /// ([task] line), group (each task's lines together when it ends). For `opsrun import`: the
    /// .toml file to write.
    #[arg(long, short = 'o', global = true, value_name = "MODE|FILE", default_value = "auto")]
    pub output: String,
    /// List the tasks with a description (as `opsrun list`).
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// List every task (as `opsrun list --all`).
    #[arg(short = 'a', long = "list-all")]
    pub list_all: bool,
    /// Show a task's summary: description, dependencies, commands.
    #[arg(long, value_name = "TASK")]
    pub summary: Option<String>,
    /// Tasks to run at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// More of opsrun's own diagnostics (repeat for more); RUST_LOG is honoured too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only what needs attention (failures, gate waits, warnings) and the summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// End every run with the summary table, also a run of a single task (on a terminal, its
    /// own finished line is otherwise the end).
    #[arg(long, global = true)]
    pub summary_table: bool,
    /// The command; without one, opsrun runs the task named `default` if there is one (as go-task
    /// does), else lists the tasks.
    #[command(subcommand)]
    pub command: Option<Command>,
}

const EXIT_CODES_HELP: &str = "Exit codes: 0 ok, 1 a task failed, 2 bad usage or tasks file, 3 locked by another run, \
4 not healthy (or not aligned), 5 confirmation not given, 6 classify --fail-on matched, 7 override resume refused, \
8 preflight failed, 70 internal error, 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the tasks.
    List(ListArgs),
    /// Run tasks and their dependencies.
    Run(RunArgs),
    /// Bring the cluster up: run the `bootstrap` pipeline, resuming where it stopped.
    Bootstrap(PipelineArgs),
    /// Run a named pipeline, resuming where it stopped.
    Pipeline(NamedPipelineArgs),
    /// Check what a run needs before it starts: tools, variables, files, secrets, endpoints.
    Preflight(PreflightArgs),
    /// Print the DAG of tasks.
    Graph(GraphArgs),
    /// Say why a task will run or be skipped.
    Explain(ExplainArgs),
    /// List past runs.
    Runs(RunsArgs),
    /// Print a task's log from a run (default: the latest run that ran it).
    Logs(LogsArgs),
    /// A report of a run: an HTML page with its timeline (--html), or Markdown.
    Report(ReportArgs),
    /// Check every health gate of a pipeline once and print the cluster's state.
    Status(StatusArgs),
    /// Find the first broken layer and repair from there.
    #[command(name = "emergency-recovery")]
    EmergencyRecovery(RecoveryArgs),
    /// GitOps emergency overrides: suspend, resume safely, confirm alignment, with an audit
    /// trail.
    #[command(subcommand)]
    Override(OverrideCommand),
    /// The incident record: what opsrun journaled, for the post-incident review.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Classify a change as Bootstrap-phase or GitOps-phase, with its risk and procedure.
    Classify(ClassifyArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the JSON Schema of tasks.toml, for editors (taplo, Even Better TOML).
    Schema,
    /// Write a commented starter tasks.toml here (never over an existing file).
    Init(InitArgs),
    /// Convert a go-task Taskfile (and every file it includes) into tasks.toml.
    Import(ImportArgs),
    /// `opsrun TASK [VAR=value...] [-- ARGS]` runs a task, as `opsrun run` does (a task named
    /// like a command stays reachable through `opsrun run`).
    #[command(external_subcommand)]
    Task(Vec<String>),
}

/// `opsrun list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include internal tasks and tasks without a description.
    #[arg(long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// default: tasks without a namespace first, then namespaced ones, each in byte order (as
    /// go-task); none: file order.
    #[arg(long, default_value = "default", value_parser = ["default", "alphanumeric", "none"])]
    pub sort: String,
}

/// Flags shared by everything that runs tasks.
#[derive(Debug, Args, Clone, Default)]
pub struct ExecFlags {
    /// Print what would run, in order, fully resolved; run nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Ignore up-to-date checks (status, sources) and saved state.
    #[arg(long)]
    pub force: bool,
    /// On failure, keep running what does not depend on it.
    #[arg(long, short = 'k')]
    pub keep_going: bool,
    /// Answer yes to confirmations.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds between forwarding a signal and killing, 0 to 3600 (default 10).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_grace)]
    pub grace: f64,
}

/// `--grace`: a finite number of seconds from 0 to 3600.
fn parse_grace(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if value.is_finite() && (0.0..=3600.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is out of range: give a number of seconds from 0 to 3600"))
    }
}

/// `opsrun run`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Tasks to run, in the order given (each with its dependencies), and VAR=value assignments.
    #[arg(value_name = "TASK|VAR=VALUE", add = ArgValueCompleter::new(crate::complete::tasks_and_vars))]
    pub items: Vec<String>,
    /// Print help; with a task, print the task's summary instead.
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// Arguments after `--`, available as {{.CLI_ARGS}}.
    #[arg(last = true, value_name = "ARGS")]
    pub cli_args: Vec<String>,
    #[command(flatten)]
    pub exec: ExecFlags,
}

/// `opsrun bootstrap`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// VAR=value assignments.
    #[arg(value_name = "VAR=VALUE", add = ArgValueCompleter::new(crate::complete::vars))]
    pub vars: Vec<String>,
    /// Re-run this task and everything that depends on it.
    #[arg(long, value_name = "TASK", add = ArgValueCompleter::new(crate::complete::tasks))]
    pub from: Option<String>,
    /// Run only this task (its dependencies are assumed done).
    #[arg(long, value_name = "TASK", add = ArgValueCompleter::new(crate::complete::tasks))]
    pub only: Option<String>,
    /// Ignore saved state: run everything that is not up to date.
    #[arg(long)]
    pub fresh: bool,
    /// Start without the preflight checks (tools, variables, files, secrets, endpoints).
    #[arg(long)]
    pub no_preflight: bool,
    #[command(flatten)]
    pub exec: ExecFlags,
}

/// `opsrun init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Talos → Flux bootstrap chain, each stage behind a health gate, and its pipeline.
    #[arg(long)]
    pub bootstrap: bool,
}

/// `opsrun preflight`.
#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// A pipeline or tasks, and VAR=value assignments (default: the bootstrap pipeline).
    #[arg(value_name = "PIPELINE|TASK|VAR=VALUE", add = ArgValueCompleter::new(crate::complete::preflight_items))]
    pub items: Vec<String>,
    /// Check as for a run that ignores saved state (`bootstrap --fresh`).
    #[arg(long)]
    pub fresh: bool,
    /// Check as for a run with --force.
    #[arg(long)]
    pub force: bool,
}

/// `opsrun pipeline NAME`.
#[derive(Debug, Args)]
pub struct NamedPipelineArgs {
    /// The pipeline.
    #[arg(add = ArgValueCompleter::new(crate::complete::pipelines))]
    pub name: String,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `opsrun graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Targets and VAR=value assignments (default: every task that is not internal).
    #[arg(add = ArgValueCompleter::new(crate::complete::tasks_and_vars))]
    pub targets: Vec<String>,
    /// text, dot or mermaid.
    #[arg(long, default_value = "text", value_parser = ["text", "dot", "mermaid"])]
    pub format: String,
}

/// `opsrun explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The task, and VAR=value assignments.
    #[arg(required = true, value_name = "TASK|VAR=VALUE", add = ArgValueCompleter::new(crate::complete::tasks_and_vars))]
    pub items: Vec<String>,
    /// The pipeline whose run to explain (default: bootstrap, if it contains the task).
    #[arg(long)]
    pub pipeline: Option<String>,
}

/// `opsrun runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Only the last N runs.
    #[arg(long, default_value_t = 20)]
    pub last: usize,
    /// Compare two runs task by task: which got slower, which changed.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub compare: Option<Vec<String>>,
}

/// `opsrun report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run (default: the latest; see `opsrun runs`).
    pub run: Option<String>,
    /// An HTML page (as --format html): a timeline of tasks and gate waits, outcomes, probes,
    /// the critical path, durations, output tails, what changed. Self-contained, works offline.
    #[arg(long)]
    pub html: bool,
    /// html or md (default md). JSON: the global --output json.
    #[arg(long, value_parser = ["html", "md"])]
    pub format: Option<String>,
    /// Write the report to FILE instead of stdout (-o is the global output mode).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

/// `opsrun logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// `[RUN] TASK`.
    #[arg(required = true, num_args = 1..=2, value_name = "[RUN] TASK", add = ArgValueCompleter::new(crate::complete::tasks))]
    pub items: Vec<String>,
}

/// `opsrun status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The pipeline (default: bootstrap).
    #[arg(add = ArgValueCompleter::new(crate::complete::pipelines))]
    pub pipeline: Option<String>,
    /// VAR=value assignments.
    #[arg(value_name = "VAR=VALUE")]
    pub vars: Vec<String>,
}

/// `opsrun emergency-recovery`.
#[derive(Debug, Args)]
pub struct RecoveryArgs {
    /// VAR=value assignments.
    #[arg(value_name = "VAR=VALUE")]
    pub vars: Vec<String>,
    /// Assess and show the plan; change nothing.
    #[arg(long)]
    pub assess_only: bool,
    /// Re-run every stage after the broken one, even those whose gate passes after the repair.
    #[arg(long)]
    pub rerun_downstream: bool,
    /// The pipeline to recover (default: bootstrap).
    #[arg(long, default_value = "bootstrap")]
    pub pipeline: String,
    #[command(flatten)]
    pub exec: ExecFlags,
}

/// `opsrun override ...`.
#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// Suspend GitOps reconciliation of a Kustomization.
    Suspend {
        /// The Flux Kustomization.
        name: String,
        /// Why (mandatory: it goes to the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume reconciliation, unless that would revert what differs from Git; then check
    /// alignment.
    Resume {
        /// The Flux Kustomization.
        name: String,
        /// What was done (optional, recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        /// Resume even though Flux will revert the drift it finds (recorded in the audit log).
        #[arg(long)]
        allow_revert: bool,
    },
    /// Check that GitOps has taken over again: Ready, at a revision containing the checkout's
    /// HEAD, with an empty diff.
    Align {
        /// The Flux Kustomization.
        name: String,
    },
    /// List overrides with their stage (suspended, resumed, aligned) and the audit log.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `opsrun incident ...`.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Write the incident record as Markdown (JSON with --output json): a timeline of
    /// assessments, recoveries, runs and overrides, what is not aligned yet, and the review's
    /// questions.
    Report(IncidentReportArgs),
}

/// `opsrun incident report`.
#[derive(Debug, Args)]
pub struct IncidentReportArgs {
    /// From this long ago (30m, 12h, 7d) or this instant (RFC 3339) until now (default: 7d).
    #[arg(long, value_name = "DURATION|TIME", conflicts_with = "run")]
    pub since: Option<String>,
    /// The incident around this run (see opsrun runs): from its start, and from earlier
    /// suspensions still open then and the unhealthy assessments just before it, until now.
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
}

/// `opsrun classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Changed paths (or use --git, or pipe a list on stdin).
    pub paths: Vec<String>,
    /// Classify the files changed between BASE and the working tree.
    #[arg(long, value_name = "BASE")]
    pub git: Option<String>,
    /// text, json or markdown.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown"])]
    pub format: String,
    /// Exit non-zero (6) when the change is bootstrap, hybrid, high or critical.
    #[arg(long, value_name = "WHAT", value_parser = ["bootstrap", "hybrid", "high", "critical"])]
    pub fail_on: Option<String>,
    /// First check cluster health with the status gates (the decision tree's first question).
    #[arg(long)]
    pub probe: bool,
}

/// `opsrun import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Taskfile (default: the one go-task would read, from the current directory up). Write
    /// the result elsewhere with -o FILE.toml (default: tasks.toml next to the Taskfile; an
    /// included NAME.yml becomes NAME.toml, an included Taskfile.yml tasks.toml, beside it).
    #[arg(value_name = "TASKFILE")]
    pub taskfile: Option<PathBuf>,
    /// Fail (exit 2, nothing written) if anything cannot be expressed in tasks.toml.
    #[arg(long)]
    pub strict: bool,
    /// Convert and report, but write nothing.
    #[arg(long)]
    pub check: bool,
    /// Overwrite .toml files that `opsrun import` did not write.
    #[arg(long)]
    pub force: bool,
}

/// The values `--output` takes for everything but `opsrun import`.
pub const OUTPUT_MODES: &[&str] = &["auto", "plain", "json", "interleaved", "prefixed", "group"];

/// `opsrun completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell. (These scripts complete commands and flags only;
    /// `source <(COMPLETE=bash opsrun)` also completes task, pipeline and variable names.)
    pub shell: clap_complete::Shell,
}

/// Parses the words after `opsrun TASK` (an external subcommand) as `opsrun run` would.
#[derive(Debug, Parser)]
#[command(name = "opsrun", no_binary_name = true, disable_help_flag = true)]
pub struct TaskWords {
    #[command(flatten)]
    pub run: RunArgs,
}
