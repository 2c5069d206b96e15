//! The event seam: everything the engine has to say, as data.
//!
//! Renderers, the run journal and embedders all consume the same [`Event`] stream through an
//! [`EventSink`]. Events are serialised as JSON lines (`--output json`, the journal) in an
//! [`EventEnvelope`] carrying the schema version, a timestamp and the run id; the schema is
//! documented in `docs/events.md` and versioned by [`EVENT_SCHEMA_VERSION`].

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change to the JSON form of events.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Receives events. Called synchronously from the engine; implementations must be quick
/// (buffer or hand off work) and must not panic.
///
/// A sink may buffer what it writes: the engine calls [`EventSink::flush`] once it has handled
/// a burst of events (a task finishing and the next one starting, a chunk of a command's
/// output) and before it waits for anything, and at the end of a run. Writing per burst rather
/// than per event is what keeps a task's fixed cost and a command's output path cheap; what a
/// `kill -9` of opsrun can lose is the burst in flight.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: &EventEnvelope);

    /// Handles consecutive [`Event::Output`] lines of one command stream, read together. The
    /// default hands each line to [`EventSink::emit`] as its own event (the same events, one
    /// per line, as for any other event); a sink that can take the lines together (append
    /// them to a buffer, keep only a tail) overrides it, which is what makes a command that
    /// prints 100 MB cheap to pass on.
    fn emit_output(&self, output: &OutputLines<'_>) {
        for envelope in output.envelopes() {
            self.emit(&envelope);
        }
    }

    /// Writes out anything buffered. The default does nothing (a sink that does not buffer).
    fn flush(&self) {}
}

/// Lines a command printed on one stream, read in one go: what [`EventSink::emit_output`]
/// receives. Each line is one [`Event::Output`] (secrets masked, without the newline), all
/// stamped with the time they were read.
#[derive(Debug, Clone, Copy)]
pub struct OutputLines<'a> {
    /// When the lines were read.
    pub ts: jiff::Timestamp,
    /// The run.
    pub run: &'a str,
    /// The task key.
    pub task: &'a str,
    /// Which stream.
    pub stream: Stream,
    /// The lines, in order.
    pub lines: crate::LineSlice<'a>,
}

impl OutputLines<'_> {
    /// The lines as the events they are, one envelope each.
    pub fn envelopes(&self) -> impl Iterator<Item = EventEnvelope> + '_ {
        self.lines.iter().map(|line| EventEnvelope {
            v: EVENT_SCHEMA_VERSION,
            ts: self.ts,
            run: self.run.to_string(),
            event: Event::Output { task: self.task.to_string(), stream: self.stream, line: line.to_string() },
        })
    }
}

impl<F: Fn(&EventEnvelope) + Send + Sync> EventSink for F {
    fn emit(&self, event: &EventEnvelope) {
        self(event);
    }
}

/// Sends every event to several sinks in order.
#[derive(Clone, Default)]
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

impl EventSink for FanOut {
    fn emit(&self, event: &EventEnvelope) {
        for sink in &self.0 {
            sink.emit(event);
        }
    }

    fn emit_output(&self, output: &OutputLines<'_>) {
        for sink in &self.0 {
            sink.emit_output(output);
        }
    }

    fn flush(&self) {
        for sink in &self.0 {
            sink.flush();
        }
    }
}

/// An event with its version, time and run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventEnvelope {
    /// [`EVENT_SCHEMA_VERSION`].
    pub v: u32,
    /// When it happened: RFC 3339, UTC, always six fractional digits (so that timestamps also
    /// sort correctly as text).
    #[serde(with = "fixed_micros")]
    pub ts: jiff::Timestamp,
    /// The run it belongs to.
    pub run: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A run began.
    RunStarted {
        /// `run`, `pipeline`, `recovery`.
        mode: RunMode,
        /// The pipeline name, or the targets joined with spaces.
        name: String,
        /// Every task of the plan, in topological order.
        tasks: Vec<PlannedTask>,
        /// Where state and journal live, when recorded.
        state_dir: Option<PathBuf>,
    },
    /// A task's previous run never finished (opsrun was killed); it will run again.
    TaskWasInterrupted {
        /// The task key.
        task: String,
        /// The run that left it `running`.
        previous_run: String,
    },
    /// A task begins (its checks, then perhaps its commands).
    TaskStarted {
        /// The task key.
        task: String,
    },
    /// A task will not run its commands: it is up to date or resumed from a previous run.
    TaskSkipped {
        /// The task key.
        task: String,
        /// Why.
        reason: SkipReason,
        /// Human detail (`status commands passed`, `unchanged since run X; gate passed`).
        detail: String,
    },
    /// A task passed its checks and is about to run its commands: why it runs.
    TaskExecuting {
        /// The task key.
        task: String,
        /// Why it runs, in a few words (`changed since run X`, `never ran`, `forced`).
        reason: String,
        /// The parts of its fingerprint that differ from its last recorded run (`cmds`, `env`,
        /// `sources`, `deps`, ...); empty when it never ran or nothing differs.
        changed: Vec<String>,
    },
    /// A command starts.
    CommandStarted {
        /// The task key.
        task: String,
        /// Index in the task's command list.
        index: usize,
        /// The command, secrets masked.
        command: String,
        /// The task or command is `silent`: renderers should not echo it.
        silent: bool,
    },
    /// A line of a command's output (secrets masked, without the newline).
    Output {
        /// The task key.
        task: String,
        /// Which stream.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// A command ended.
    CommandFinished {
        /// The task key.
        task: String,
        /// Index in the task's command list.
        index: usize,
        /// Exit code, if it exited.
        exit_code: Option<i32>,
        /// How it ended.
        status: CommandStatus,
        /// Wall time.
        duration_ms: u64,
    },
    /// A task's commands failed and will be tried again.
    TaskRetrying {
        /// The task key.
        task: String,
        /// The attempt about to start (2 = first retry).
        attempt: u32,
        /// Of how many.
        of: u32,
        /// The pause before it.
        delay_ms: u64,
    },
    /// A health gate starts polling.
    GateStarted {
        /// The task key.
        task: String,
        /// The gate's name.
        gate: String,
        /// The whole-gate limit.
        timeout_ms: u64,
        /// Consecutive passes needed.
        success_threshold: u32,
    },
    /// One probe of a gate was evaluated.
    GateProbe {
        /// The task key.
        task: String,
        /// The gate's name.
        gate: String,
        /// 1-based attempt number.
        attempt: u32,
        /// The classification.
        verdict: ProbeVerdict,
        /// A one-line reason (`exit 1: deployment not found`, `HTTP 503`).
        detail: String,
        /// Since the gate started.
        elapsed_ms: u64,
        /// Consecutive passes so far.
        consecutive_passes: u32,
    },
    /// A gate finished.
    GateFinished {
        /// The task key.
        task: String,
        /// The gate's name.
        gate: String,
        /// Passed or not.
        passed: bool,
        /// Probes made.
        attempts: u32,
        /// Since the gate started.
        elapsed_ms: u64,
        /// On failure: class, elapsed, attempts and the last probe's output tail.
        message: Option<String>,
    },
    /// A task ended.
    TaskFinished {
        /// The task key.
        task: String,
        /// How.
        outcome: TaskOutcome,
        /// Wall time from start.
        duration_ms: u64,
        /// On failure, why.
        message: Option<String>,
        /// Gate probes made (0 without a gate).
        gate_attempts: u32,
        /// The task's log file, when recorded.
        log: Option<PathBuf>,
    },
    /// A signal arrived.
    Interrupt {
        /// `SIGINT`, `SIGTERM`, `SIGHUP`.
        signal: String,
        /// True when this escalates to SIGKILL (second signal or grace period over).
        kill: bool,
    },
    /// Something the operator should know that is not a failure.
    Warning {
        /// The task concerned, if any.
        task: Option<String>,
        /// The message.
        message: String,
    },
    /// The run ended.
    RunFinished {
        /// How.
        outcome: RunOutcome,
        /// Wall time.
        duration_ms: u64,
        /// The command that resumes from here, when it makes sense.
        resume_hint: Option<String>,
    },
}

/// The kind of run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunMode {
    /// `opsrun run`: tasks always run unless up to date by `status`/`sources`.
    Run,
    /// `opsrun bootstrap` / `opsrun pipeline`: resumes from saved state.
    Pipeline,
    /// `opsrun emergency-recovery`: runs `recover` commands where defined.
    Recovery,
}

/// A task in [`Event::RunStarted`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PlannedTask {
    /// The task key.
    pub task: String,
    /// Keys of its direct dependencies.
    pub deps: Vec<String>,
    /// The gate's name, if it has one.
    pub gate: Option<String>,
    /// Description.
    pub desc: Option<String>,
    /// The task's `label`, shown instead of its key where set.
    #[serde(default)]
    pub label: Option<String>,
    /// The prefix of its lines in `prefixed` output.
    #[serde(default)]
    pub prefix: String,
    /// How its output is shown.
    #[serde(default)]
    pub output: OutputStyle,
    /// Reached only through task calls: it runs only if a caller calls it.
    #[serde(default)]
    pub on_demand: bool,
    /// Its commands get opsrun's stdin and terminal (`interactive`): a terminal renderer stops
    /// drawing while one runs.
    #[serde(default)]
    pub interactive: bool,
}

/// How the lines a task prints reach the terminal (go-task's `output`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "style", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputStyle {
    /// As printed, unprefixed (the default).
    #[default]
    Interleaved,
    /// Each line as `[prefix] line`.
    Prefixed,
    /// Held back and printed together when the task ends.
    Group {
        /// Printed before the group.
        begin: Option<String>,
        /// Printed after the group.
        end: Option<String>,
        /// Only for a task that failed.
        error_only: bool,
    },
}

/// Why a task was skipped.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// `status` commands passed or `sources` are unchanged.
    UpToDate,
    /// It succeeded in an earlier run with the same fingerprint and its gate passes now.
    Resumed,
    /// Its `platforms` do not include this machine.
    NotForPlatform,
}

/// An output stream.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandStatus {
    /// Exit 0.
    Succeeded,
    /// Non-zero exit or killed by a signal.
    Failed,
    /// Past the task's timeout; its process group was ended.
    TimedOut,
    /// Ended by an interrupt.
    Interrupted,
    /// `sh` could not be started.
    SpawnFailed,
}

/// The classification of one probe, as Argo Rollouts and kstatus do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProbeVerdict {
    /// Healthy.
    Pass,
    /// Not yet: keep polling until the deadline.
    NotReady,
    /// Could not evaluate (spawn failure, probe timeout): fail after N in a row.
    Error,
    /// Definitively broken: fail at once.
    Failed,
}

impl ProbeVerdict {
    /// `pass`, `not ready`, `error`, `failed`.
    pub fn label(self) -> &'static str {
        match self {
            ProbeVerdict::Pass => "pass",
            ProbeVerdict::NotReady => "not ready",
            ProbeVerdict::Error => "error",
            ProbeVerdict::Failed => "failed",
        }
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskOutcome {
    /// Ran and succeeded (gate passed, if any).
    Ok,
    /// Skipped: `status`/`sources` say up to date.
    UpToDate,
    /// Skipped: done in an earlier run.
    Resumed,
    /// Failed (command, precondition, timeout or gate).
    Failed,
    /// Failed, but `ignore_error` is set: the run goes on.
    FailedIgnored,
    /// Ended by a signal.
    Interrupted,
    /// Never started: a dependency failed or the run stopped.
    NotRun,
}

impl Event {
    /// The same event with every text field passed through `f` (task keys, commands, output
    /// lines, details, messages, labels, prefixes; not paths, numbers or enums). The engine masks
    /// secrets with it before any sink sees an event. Exhaustive here, so a new variant or text
    /// field does not compile until it is mapped.
    #[must_use]
    pub fn map_strings(self, mut f: impl FnMut(String) -> String) -> Event {
        let opt = |o: Option<String>, f: &mut dyn FnMut(String) -> String| o.map(f);
        match self {
            Event::RunStarted { mode, name, tasks, state_dir } => Event::RunStarted {
                mode,
                name: f(name),
                tasks: tasks
                    .into_iter()
                    .map(|t| PlannedTask {
                        task: f(t.task),
                        deps: t.deps.into_iter().map(&mut f).collect(),
                        gate: opt(t.gate, &mut f),
                        desc: opt(t.desc, &mut f),
                        label: opt(t.label, &mut f),
                        prefix: f(t.prefix),
                        output: match t.output {
                            OutputStyle::Group { begin, end, error_only } => {
                                OutputStyle::Group { begin: opt(begin, &mut f), end: opt(end, &mut f), error_only }
                            }
                            other => other,
                        },
                        on_demand: t.on_demand,
                        interactive: t.interactive,
                    })
                    .collect(),
                state_dir,
            },
            Event::TaskWasInterrupted { task, previous_run } => {
                Event::TaskWasInterrupted { task: f(task), previous_run: f(previous_run) }
            }
            Event::TaskStarted { task } => Event::TaskStarted { task: f(task) },
            Event::TaskExecuting { task, reason, changed } => Event::TaskExecuting {
                task: f(task),
                reason: f(reason),
                changed: changed.into_iter().map(&mut f).collect(),
            },
            Event::TaskSkipped { task, reason, detail } => {
                Event::TaskSkipped { task: f(task), reason, detail: f(detail) }
            }
            Event::CommandStarted { task, index, command, silent } => {
                Event::CommandStarted { task: f(task), index, command: f(command), silent }
            }
            Event::Output { task, stream, line } => Event::Output { task: f(task), stream, line: f(line) },
            Event::CommandFinished { task, index, exit_code, status, duration_ms } => {
                Event::CommandFinished { task: f(task), index, exit_code, status, duration_ms }
            }
            Event::TaskRetrying { task, attempt, of, delay_ms } => {
                Event::TaskRetrying { task: f(task), attempt, of, delay_ms }
            }
            Event::GateStarted { task, gate, timeout_ms, success_threshold } => {
                Event::GateStarted { task: f(task), gate: f(gate), timeout_ms, success_threshold }
            }
            Event::GateProbe { task, gate, attempt, verdict, detail, elapsed_ms, consecutive_passes } => {
                Event::GateProbe {
                    task: f(task),
                    gate: f(gate),
                    attempt,
                    verdict,
                    detail: f(detail),
                    elapsed_ms,
                    consecutive_passes,
                }
            }
            Event::GateFinished { task, gate, passed, attempts, elapsed_ms, message } => Event::GateFinished {
                task: f(task),
                gate: f(gate),
                passed,
                attempts,
                elapsed_ms,
                message: opt(message, &mut f),
            },
            Event::TaskFinished { task, outcome, duration_ms, message, gate_attempts, log } => Event::TaskFinished {
                task: f(task),
                outcome,
                duration_ms,
                message: opt(message, &mut f),
                gate_attempts,
                log,
            },
            Event::Interrupt { signal, kill } => Event::Interrupt { signal: f(signal), kill },
            Event::Warning { task, message } => Event::Warning { task: opt(task, &mut f), message: f(message) },
            Event::RunFinished { outcome, duration_ms, resume_hint } => {
                Event::RunFinished { outcome, duration_ms, resume_hint: opt(resume_hint, &mut f) }
            }
        }
    }

    /// The event's `type` in JSON (`run_started`, `gate_probe`, ...). Exhaustive here, so a new
    /// variant does not compile until it has a name (and the schema test then asks for docs).
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::TaskWasInterrupted { .. } => "task_was_interrupted",
            Event::TaskStarted { .. } => "task_started",
            Event::TaskSkipped { .. } => "task_skipped",
            Event::TaskExecuting { .. } => "task_executing",
            Event::CommandStarted { .. } => "command_started",
            Event::Output { .. } => "output",
            Event::CommandFinished { .. } => "command_finished",
            Event::TaskRetrying { .. } => "task_retrying",
            Event::GateStarted { .. } => "gate_started",
            Event::GateProbe { .. } => "gate_probe",
            Event::GateFinished { .. } => "gate_finished",
            Event::TaskFinished { .. } => "task_finished",
            Event::Interrupt { .. } => "interrupt",
            Event::Warning { .. } => "warning",
            Event::RunFinished { .. } => "run_finished",
        }
    }
}

impl TaskOutcome {
    /// True for outcomes that let dependents run.
    pub fn is_success(self) -> bool {
        matches!(self, TaskOutcome::Ok | TaskOutcome::UpToDate | TaskOutcome::Resumed | TaskOutcome::FailedIgnored)
    }

    /// `ok`, `up to date`, ...
    pub fn label(self) -> &'static str {
        match self {
            TaskOutcome::Ok => "ok",
            TaskOutcome::UpToDate => "up to date",
            TaskOutcome::Resumed => "resumed",
            TaskOutcome::Failed => "failed",
            TaskOutcome::FailedIgnored => "failed (ignored)",
            TaskOutcome::Interrupted => "interrupted",
            TaskOutcome::NotRun => "not run",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunOutcome {
    /// Every task succeeded or was skipped.
    Succeeded,
    /// A task failed.
    Failed,
    /// A signal ended the run.
    Interrupted,
}

/// RFC 3339 with a fixed number of fractional digits: `2026-11-28T09:40:00.000000Z`.
mod fixed_micros {
    use serde::{Deserialize, Deserializer, Serializer};

    /// The format, as jiff writes it.
    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    /// In [`FORMAT`]: by [`crate::write_utc`] from 1970 to 9999, by jiff outside them.
    pub(super) fn serialize<S: Serializer>(ts: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; 30];
        match crate::write_utc(*ts, crate::Fraction::Micros, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(&ts.strftime(FORMAT)),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_fixed_width_and_round_trip() {
        let e = EventEnvelope {
            v: EVENT_SCHEMA_VERSION,
            ts: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            run: "r".into(),
            event: Event::TaskStarted { task: "t".into() },
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"ts\":\"2027-01-15T08:00:00.000000Z\""), "{json}");
        assert_eq!(serde_json::from_str::<EventEnvelope>(&json).unwrap(), e);
    }

    /// An envelope's time is written as jiff's `%.6f` format would, inside the years the fast
    /// path covers (`write_utc`, tested against jiff in `utc.rs`) and outside them.
    #[test]
    fn timestamps_are_written_as_jiff_writes_them() {
        let jiff = |ts: jiff::Timestamp| ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        // Every 40 days or so, from 1906 to 9999, with a different fraction each.
        let sweep = (0..70_000_i64).map(|i| (i * 3_456_789 - 2_000_000_000, i32::try_from(i * 7_919).unwrap()));
        let edges = [
            (0, 0),
            (0, 999_999_999),
            (951_782_400, 1_000),     // 2000-02-29
            (4_107_542_399, 999_999), // 2100-02-28T23:59:59
            (4_107_542_400, 0),
            (253_402_300_799, 999_999_999), // 9999-12-31T23:59:59
            (-1, -500_000_000),
            (-62_135_596_800, 0),
        ];
        for (secs, nanos) in edges.into_iter().chain(sweep) {
            let nanos = if secs < 0 { -nanos.abs() } else { nanos % 1_000_000_000 };
            let Ok(ts) = jiff::Timestamp::new(secs, nanos) else { continue };
            let json = serde_json::to_string(&EventEnvelope {
                v: EVENT_SCHEMA_VERSION,
                ts,
                run: "r".into(),
                event: Event::TaskStarted { task: "t".into() },
            })
            .unwrap();
            assert!(json.contains(&format!("\"ts\":\"{}\"", jiff(ts))), "{json}");
        }
    }
}
