//! One task of a run: decide whether it must run, run its commands, wait for its gate.
//!
//! A unit is an async task that owns everything it needs; it reports to the dispatcher over a
//! channel and never touches shared mutable state. Before executing anything it asks the
//! dispatcher to record it as `running` and waits for that to be durable, so a crash at any
//! point leaves state that the next run understands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsrun_event::{CommandStatus, Event, RunMode, SkipReason, TaskOutcome};
use opsrun_plan::{NodeIndex, Plan};
use opsrun_spec::{ResolvedCmd, ResolvedCmdKind, ResolvedTask, invocation_key};
use tokio::sync::{mpsc, oneshot, watch};

use crate::fingerprint::{Fingerprint, matching_files};
use crate::gate::{self, ProbeContext, millis, sleep_or_shutdown};
use crate::mask::Masker;
use crate::process::{Exit, ShellCommand, run_shell, run_shell_reporting};
use crate::run::{Emitter, RunOptions};
use crate::signal::Shutdown;
use crate::state::{RecordStatus, TaskRecord};

/// Messages from units to the dispatcher.
pub(crate) enum UnitMsg {
    /// The unit is about to execute: record it as running, then answer.
    /// `ack` is `None` when the unit need not wait (runs that never resume).
    Executing { node: NodeIndex, fingerprint: Fingerprint, ack: Option<oneshot::Sender<()>> },
    /// A command of the task started in this process group.
    Spawned { node: NodeIndex, pgid: i32 },
}

/// What a unit reports when done.
pub(crate) struct UnitResult {
    pub(crate) node: NodeIndex,
    pub(crate) outcome: TaskOutcome,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) executed: bool,
    pub(crate) message: Option<String>,
    pub(crate) duration: Duration,
    pub(crate) gate_attempts: u32,
}

/// Everything a unit needs.
pub(crate) struct Unit {
    pub(crate) node: NodeIndex,
    pub(crate) plan: Arc<Plan>,
    pub(crate) options: Arc<RunOptions>,
    pub(crate) emitter: Emitter,
    pub(crate) masker: Masker,
    pub(crate) shutdown: watch::Receiver<Shutdown>,
    pub(crate) to_dispatcher: mpsc::UnboundedSender<UnitMsg>,
    pub(crate) prior: Option<TaskRecord>,
    pub(crate) dep_digests: Vec<String>,
    pub(crate) any_dep_executed: bool,
    /// Values of dynamic env commands already run in this run, by (command, directory).
    pub(crate) dynamic_env: DynamicEnvCache,
}

/// Results of dynamic env commands, shared by a run's units.
pub(crate) type DynamicEnvCache =
    Arc<std::sync::Mutex<std::collections::HashMap<(String, std::path::PathBuf), Result<String, String>>>>;

/// How running a command list ended.
enum CmdsEnd {
    Ok,
    Failed(String),
    Interrupted,
}

impl Unit {
    pub(crate) async fn run(self) -> UnitResult {
        let started = Instant::now();
        let task = self.plan.task(self.node).clone();
        let key = task.key.clone();
        self.emitter.emit(Event::TaskStarted { task: key.clone() });
        let fingerprint = Fingerprint::compute(&task, &self.dep_digests, self.plan.root_dir());
        tracing::trace!(task = %key, parts = ?fingerprint.parts, "fingerprint");
        let env = env_pairs(&task);
        let result = |outcome, executed, message: Option<String>, gate_attempts, fingerprint: Fingerprint| UnitResult {
            node: self.node,
            outcome,
            fingerprint,
            executed,
            message,
            duration: started.elapsed(),
            gate_attempts,
        };

        if self.plan.node(self.node).assumed_done {
            let detail = "not selected in this run (--only or emergency recovery); assumed done".to_string();
            self.emitter.emit(Event::TaskSkipped { task: key, reason: SkipReason::Resumed, detail });
            return result(TaskOutcome::Resumed, false, None, 0, fingerprint);
        }
        let forced = self.options.force || self.plan.node(self.node).forced;
        if !forced && let Some((reason, detail)) = self.skip_decision(&task, &fingerprint, &env).await {
            self.emitter.emit(Event::TaskSkipped { task: key, reason, detail });
            let outcome = match reason {
                SkipReason::UpToDate => TaskOutcome::UpToDate,
                SkipReason::Resumed => TaskOutcome::Resumed,
            };
            return result(outcome, false, None, 0, fingerprint);
        }
        if *self.shutdown.borrow() != Shutdown::Running {
            return result(TaskOutcome::Interrupted, false, Some("interrupted before start".into()), 0, fingerprint);
        }

        // A resumable run waits until its `running` mark is on disk; `opsrun run` does not.
        let (ack_tx, ack_rx) = if self.options.mode == RunMode::Run {
            (None, None)
        } else {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        };
        let msg = UnitMsg::Executing { node: self.node, fingerprint: fingerprint.clone(), ack: ack_tx };
        let sent = self.to_dispatcher.send(msg).is_ok();
        let acked = match ack_rx {
            Some(rx) => sent && rx.await.is_ok(),
            None => sent,
        };
        if !acked {
            return result(TaskOutcome::Interrupted, false, Some("the run stopped".into()), 0, fingerprint);
        }

        for (sh, msg) in &task.preconditions {
            match self.run_quiet(sh, &task, &env, None).await {
                Exit::Code(0) => {}
                Exit::Interrupted => {
                    return result(TaskOutcome::Interrupted, true, Some("interrupted".into()), 0, fingerprint);
                }
                exit => {
                    let why =
                        msg.clone().unwrap_or_else(|| format!("precondition `{sh}` failed ({})", exit.describe()));
                    return result(Self::failed(&task), true, Some(self.masker.mask(&why)), 0, fingerprint);
                }
            }
        }

        let env = match self.full_env(&task, env).await {
            Ok(env) => env,
            Err(why) => return result(Self::failed(&task), true, Some(self.masker.mask(&why)), 0, fingerprint),
        };
        let deadline = task.timeout.map(|t| Instant::now() + t);
        let cmds =
            if self.options.mode == RunMode::Recovery && !task.recover.is_empty() { &task.recover } else { &task.cmds };
        let attempts = task.retries.attempts + 1;
        let mut attempt = 1;
        loop {
            match self.run_cmds(&task, cmds, &env, deadline, 0, false).await {
                CmdsEnd::Ok => break,
                CmdsEnd::Interrupted => {
                    return result(TaskOutcome::Interrupted, true, Some("interrupted".into()), 0, fingerprint);
                }
                CmdsEnd::Failed(why) => {
                    let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
                    if attempt >= attempts || timed_out {
                        return result(Self::failed(&task), true, Some(why), 0, fingerprint);
                    }
                    attempt += 1;
                    self.emitter.emit(Event::TaskRetrying {
                        task: key.clone(),
                        attempt,
                        of: attempts,
                        delay_ms: millis(task.retries.delay),
                    });
                    let mut shutdown = self.shutdown.clone();
                    if !sleep_or_shutdown(task.retries.delay, &mut shutdown).await {
                        return result(TaskOutcome::Interrupted, true, Some("interrupted".into()), 0, fingerprint);
                    }
                }
            }
        }

        if let Some(health) = &task.health {
            let ctx = ProbeContext { dir: &task.dir, env: &env, shutdown: self.shutdown.clone() };
            let gate = gate::wait_healthy(&key, health, ctx, &self.emitter, &self.masker).await;
            if gate.interrupted {
                return result(TaskOutcome::Interrupted, true, gate.message, gate.attempts, fingerprint);
            }
            if !gate.passed {
                return result(Self::failed(&task), true, gate.message, gate.attempts, fingerprint);
            }
            return result(TaskOutcome::Ok, true, None, gate.attempts, fingerprint);
        }
        result(TaskOutcome::Ok, true, None, 0, fingerprint)
    }

    fn failed(task: &ResolvedTask) -> TaskOutcome {
        if task.ignore_error { TaskOutcome::FailedIgnored } else { TaskOutcome::Failed }
    }

    /// Whether the task can be skipped, and why.
    async fn skip_decision(
        &self,
        task: &ResolvedTask,
        fp: &Fingerprint,
        env: &[(String, String)],
    ) -> Option<(SkipReason, String)> {
        // Emergency recovery repairs the broken layer (forced) and, after it, only the layers
        // that are still unhealthy: a stage whose gate passes now is left alone.
        if self.options.mode == RunMode::Recovery {
            let health = task.health.as_ref()?;
            let probe = gate::probe_once(health, &task.dir, env, self.shutdown.clone()).await;
            return (probe.verdict == opsrun_event::ProbeVerdict::Pass).then(|| {
                (SkipReason::UpToDate, format!("healthy after the repair upstream: gate `{}` passes", health.name))
            });
        }
        let prior_ok = self.prior.as_ref().filter(|p| p.status == RecordStatus::Succeeded);
        // go-task semantics: `status` commands and/or `sources` decide, whatever the deps did.
        if !task.status.is_empty() || !task.sources.is_empty() {
            let mut reasons = Vec::new();
            let mut up_to_date = true;
            if !task.status.is_empty() {
                for s in &task.status {
                    if self.run_quiet(s, task, env, Some(Duration::from_secs(60))).await != Exit::Code(0) {
                        up_to_date = false;
                        break;
                    }
                }
                reasons.push("status commands passed");
            }
            if up_to_date && !task.sources.is_empty() {
                let same = prior_ok.is_some_and(|p| p.fingerprint == fp.digest);
                let generated =
                    task.generates.iter().all(|g| !matching_files(&task.dir, std::slice::from_ref(g)).is_empty());
                up_to_date = same && generated;
                reasons.push("sources unchanged");
            }
            if up_to_date {
                return self.confirm_gate(task, env, SkipReason::UpToDate, reasons.join(", ")).await;
            }
        }
        tracing::debug!(
            task = %task.key,
            prior = ?self.prior.as_ref().map(|p| (p.status, &p.fingerprint)),
            current = %fp.digest,
            any_dep_executed = self.any_dep_executed,
            "resume check"
        );
        // Resume: the same work succeeded before and nothing upstream ran in this run.
        let resumable =
            self.options.resume && !self.any_dep_executed && prior_ok.is_some_and(|p| p.fingerprint == fp.digest);
        if resumable {
            let run = prior_ok.map(|p| p.run.clone()).unwrap_or_default();
            return self
                .confirm_gate(task, env, SkipReason::Resumed, format!("succeeded in run {run}, unchanged since"))
                .await;
        }
        None
    }

    /// A skipped task with a gate is only skipped if one probe of the gate passes now.
    async fn confirm_gate(
        &self,
        task: &ResolvedTask,
        env: &[(String, String)],
        reason: SkipReason,
        detail: String,
    ) -> Option<(SkipReason, String)> {
        let Some(health) = &task.health else { return Some((reason, detail)) };
        let probe = gate::probe_once(health, &task.dir, env, self.shutdown.clone()).await;
        if probe.verdict == opsrun_event::ProbeVerdict::Pass {
            Some((reason, format!("{detail}; gate `{}` passes", health.name)))
        } else {
            self.emitter.emit(Event::Warning {
                task: Some(task.key.clone()),
                message: self.masker.mask(&format!(
                    "would be skipped, but its gate `{}` does not pass now ({}: {}); running it again",
                    health.name,
                    probe.verdict.label(),
                    probe.detail
                )),
            });
            None
        }
    }

    /// The task's environment with its dynamic values evaluated (each command at most once per
    /// run); secret values are added to the masker before anything can print them.
    async fn full_env(
        &self,
        task: &ResolvedTask,
        mut env: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>, String> {
        for d in &task.dynamic_env {
            let key = (d.command.clone(), task.dir.clone());
            let cached = self.dynamic_env.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
            let value = if let Some(v) = cached {
                v
            } else {
                let v = self.eval_dynamic(&d.command, task, &env).await;
                self.dynamic_env.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, v.clone());
                v
            };
            match value {
                Ok(v) => {
                    if d.secret {
                        self.masker.add(&v);
                    }
                    env.push((d.name.clone(), v));
                }
                Err(e) => return Err(format!("environment variable `{}`: {e}", d.name)),
            }
        }
        Ok(env)
    }

    async fn eval_dynamic(
        &self,
        command: &str,
        task: &ResolvedTask,
        env: &[(String, String)],
    ) -> Result<String, String> {
        let cmd = ShellCommand {
            script: command.to_string(),
            dir: task.dir.clone(),
            env: env.to_vec(),
            deadline: Some(Instant::now() + Duration::from_secs(300)),
            grace: self.options.grace,
        };
        let mut stdout: Vec<String> = Vec::new();
        let mut stderr: Vec<String> = Vec::new();
        let finished = run_shell(&cmd, self.shutdown.clone(), |stream, line| match stream {
            opsrun_event::Stream::Stdout => stdout.push(line),
            opsrun_event::Stream::Stderr => stderr.push(line),
        })
        .await;
        if finished.exit == Exit::Code(0) {
            Ok(stdout.join("\n"))
        } else {
            Err(format!(
                "`{command}` failed with {}: {}",
                finished.exit.describe(),
                stderr.last().map_or("", String::as_str)
            ))
        }
    }

    /// Runs a check command without echoing it.
    async fn run_quiet(
        &self,
        script: &str,
        task: &ResolvedTask,
        env: &[(String, String)],
        limit: Option<Duration>,
    ) -> Exit {
        let cmd = ShellCommand {
            script: script.to_string(),
            dir: task.dir.clone(),
            env: env.to_vec(),
            deadline: limit.map(|l| Instant::now() + l),
            grace: self.options.grace,
        };
        run_shell(&cmd, self.shutdown.clone(), |_, _| {}).await.exit
    }

    /// Runs a command list in order; task calls run the called task's deps then its commands.
    fn run_cmds<'a>(
        &'a self,
        task: &'a ResolvedTask,
        cmds: &'a [ResolvedCmd],
        env: &'a [(String, String)],
        deadline: Option<Instant>,
        depth: usize,
        silent: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CmdsEnd> + Send + 'a>> {
        Box::pin(async move {
            if depth > 64 {
                return CmdsEnd::Failed("task calls nested more than 64 deep".into());
            }
            let key = &self.plan.task(self.node).key;
            for (index, cmd) in cmds.iter().enumerate() {
                match &cmd.kind {
                    ResolvedCmdKind::Shell(script) => {
                        let end = self
                            .run_one(key, index, script, silent || cmd.silent || task.silent, &task.dir, env, deadline)
                            .await;
                        match end {
                            CmdsEnd::Failed(_) if cmd.ignore_error => {}
                            CmdsEnd::Ok => {}
                            other => return other,
                        }
                    }
                    ResolvedCmdKind::Task { name, vars } => {
                        let call_key = invocation_key(
                            name,
                            &vars.iter().map(|(k, v)| (k.clone(), v.to_display_string())).collect(),
                        );
                        let Some(called) = self.plan.called(&call_key) else {
                            return CmdsEnd::Failed(format!("called task `{call_key}` was not resolved"));
                        };
                        for dep in &called.deps {
                            let dep_key = invocation_key(
                                &dep.task,
                                &dep.vars.iter().map(|(k, v)| (k.clone(), v.to_display_string())).collect(),
                            );
                            if let Some(d) = self.plan.called(&dep_key) {
                                let denv = match self.full_env(d, env_pairs(d)).await {
                                    Ok(e) => e,
                                    Err(why) => return CmdsEnd::Failed(self.masker.mask(&why)),
                                };
                                match self.run_cmds(d, &d.cmds, &denv, deadline, depth + 1, silent || cmd.silent).await
                                {
                                    CmdsEnd::Ok => {}
                                    other => return other,
                                }
                            }
                        }
                        let cenv = match self.full_env(called, env_pairs(called)).await {
                            Ok(e) => e,
                            Err(why) => return CmdsEnd::Failed(self.masker.mask(&why)),
                        };
                        match self
                            .run_cmds(called, &called.cmds, &cenv, deadline, depth + 1, silent || cmd.silent)
                            .await
                        {
                            CmdsEnd::Failed(_) if cmd.ignore_error => {}
                            CmdsEnd::Ok => {}
                            other => return other,
                        }
                    }
                }
            }
            CmdsEnd::Ok
        })
    }

    #[allow(clippy::too_many_arguments)] // All are the command's own settings.
    async fn run_one(
        &self,
        key: &str,
        index: usize,
        script: &str,
        silent: bool,
        dir: &std::path::Path,
        env: &[(String, String)],
        deadline: Option<Instant>,
    ) -> CmdsEnd {
        let started = Instant::now();
        self.emitter.emit(Event::CommandStarted {
            task: key.to_string(),
            index,
            command: self.masker.mask(script),
            silent,
        });
        let cmd = ShellCommand {
            script: script.to_string(),
            dir: dir.to_path_buf(),
            env: env.to_vec(),
            deadline,
            grace: self.options.grace,
        };
        let emitter = &self.emitter;
        let masker = &self.masker;
        let node = self.node;
        let to_dispatcher = &self.to_dispatcher;
        let finished = run_shell_reporting(
            &cmd,
            self.shutdown.clone(),
            |pgid| {
                let _ = to_dispatcher.send(UnitMsg::Spawned { node, pgid });
            },
            |stream, line| {
                emitter.emit(Event::Output { task: key.to_string(), stream, line: masker.mask(&line) });
            },
        )
        .await;
        if finished.stragglers_killed {
            self.emitter.emit(Event::Warning {
                task: Some(key.to_string()),
                message: "the command left processes running in its group; they were killed".into(),
            });
        }
        let status = match &finished.exit {
            Exit::Code(0) => CommandStatus::Succeeded,
            Exit::Code(_) | Exit::Signal(_) => CommandStatus::Failed,
            Exit::TimedOut => CommandStatus::TimedOut,
            Exit::Interrupted => CommandStatus::Interrupted,
            Exit::SpawnFailed(_) => CommandStatus::SpawnFailed,
        };
        self.emitter.emit(Event::CommandFinished {
            task: key.to_string(),
            index,
            exit_code: finished.exit.code(),
            status,
            duration_ms: millis(started.elapsed()),
        });
        match finished.exit {
            Exit::Code(0) => CmdsEnd::Ok,
            Exit::Interrupted => CmdsEnd::Interrupted,
            Exit::TimedOut => CmdsEnd::Failed(format!(
                "timed out after {}: {}",
                opsrun_spec::format_duration(self.plan.task(self.node).timeout.unwrap_or_default()),
                self.masker.mask(&first_line(script))
            )),
            exit => {
                CmdsEnd::Failed(format!("{} failed with {}", self.masker.mask(&first_line(script)), exit.describe()))
            }
        }
    }
}

/// A command as named in messages: its first line, and the number of lines when it has more.
fn first_line(s: &str) -> String {
    let mut lines = s.trim().lines();
    let first = lines.next().unwrap_or("").to_string();
    match lines.count() {
        0 => format!("`{first}`"),
        more => format!("`{first}` (and {more} more line{} of that script)", if more == 1 { "" } else { "s" }),
    }
}

/// A task's static environment as `Command::envs` pairs.
pub(crate) fn env_pairs(task: &ResolvedTask) -> Vec<(String, String)> {
    task.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
