//! One task of a run: decide whether it must run, run its commands, wait for its gate.
//!
//! A unit is an async task that owns everything it needs; it reports to the dispatcher over a
//! channel and never touches shared mutable state. Before executing anything it asks the
//! dispatcher to record it as `running` and waits for that to be durable, so a crash at any
//! point leaves state that the next run understands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsrun_event::{CommandStatus, Event, RunMode, SkipReason, TaskOutcome};
use opsrun_plan::{Plan, TaskId};
use opsrun_spec::{ResolvedCmd, ResolvedCmdKind, ResolvedTask};
use tokio::sync::{mpsc, oneshot, watch};

use crate::decide::{self, Before, Situation, SourcesCheck, Upstream};
use crate::fingerprint::Fingerprint;
use crate::gate::{self, ProbeContext, millis, sleep_or_shutdown};
use crate::run::{Emitter, RunOptions};
use crate::signal::Shutdown;
use crate::state::TaskRecord;
use opsrun_process::{Exit, ShellCommand, run_shell, run_shell_batched};
use opsrun_spec::Masker;

/// Messages from units to the dispatcher.
pub(crate) enum UnitMsg {
    /// The unit is about to execute: record it as running, then answer.
    /// `ack` is `None` when the unit need not wait (runs that never resume).
    Executing { node: TaskId, fingerprint: Fingerprint, ack: Option<oneshot::Sender<()>> },
    /// A command of the task started in this process group.
    Spawned { node: TaskId, pgid: i32 },
    /// The unit's command calls task `callee` (`{ task = ... }`): run it (once per run) and
    /// answer with its outcome when it ends.
    Call { callee: TaskId, options: CallOptions, reply: oneshot::Sender<TaskOutcome> },
}

/// What a call hands to the task it calls.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallOptions {
    /// The caller was forced (`--force`, `--from`, `--only`): so is what it calls.
    pub(crate) forced: bool,
    /// The call is `silent`: the callee's commands are not echoed.
    pub(crate) silent: bool,
    /// The call has `ignore_error`: the callee's failure does not fail the run.
    pub(crate) ignore_error: bool,
    /// The caller's deadline (its `timeout` covers its calls).
    pub(crate) deadline: Option<Instant>,
}

/// What a unit reports when done.
pub(crate) struct UnitResult {
    pub(crate) node: TaskId,
    pub(crate) outcome: TaskOutcome,
    /// The task's fingerprint; without its parts once they were handed to the dispatcher with
    /// [`UnitMsg::Executing`] (a fingerprint always has parts otherwise), which keeps them in
    /// the task's record.
    pub(crate) fingerprint: Fingerprint,
    pub(crate) executed: bool,
    pub(crate) message: Option<String>,
    pub(crate) duration: Duration,
    pub(crate) gate_attempts: u32,
}

/// Everything a unit needs.
pub(crate) struct Unit {
    pub(crate) node: TaskId,
    pub(crate) plan: Arc<Plan>,
    pub(crate) options: Arc<RunOptions>,
    pub(crate) emitter: Emitter,
    pub(crate) masker: Masker,
    pub(crate) shutdown: watch::Receiver<Shutdown>,
    pub(crate) to_dispatcher: mpsc::UnboundedSender<UnitMsg>,
    /// The task's record from before this run (shared with the dispatcher's state).
    pub(crate) prior: Option<Arc<TaskRecord>>,
    pub(crate) dep_digests: Vec<String>,
    pub(crate) any_dep_executed: bool,
    /// Values of dynamic env commands already run in this run, by (command, directory).
    pub(crate) dynamic_env: DynamicEnvCache,
    /// The fingerprints of the tasks this one calls.
    pub(crate) call_digests: Vec<String>,
    /// Set when a call started this unit (not the DAG).
    pub(crate) call: Option<CallOptions>,
    /// Environment every command of the run gets (the nested-run token).
    pub(crate) run_env: Arc<Vec<(String, String)>>,
    /// Tells the dispatcher a process group this task started (commands and gate probes).
    pub(crate) report_spawn: Box<dyn Fn(i32) + Send + Sync>,
}

/// Results of dynamic env commands, shared by a run's units.
pub(crate) type DynamicEnvCache =
    Arc<std::sync::Mutex<std::collections::HashMap<(String, std::path::PathBuf), Result<String, String>>>>;

/// How running a command list ended.
enum CmdsEnd {
    Ok,
    /// Every command ran; one failed and the task's `ignore_error` let the rest go on.
    FailedIgnored(String),
    /// Why, and the exit code of the failing command when it had one (`{{.EXIT_CODE}}`).
    Failed(String, Option<i32>),
    Interrupted,
}

impl Unit {
    #[expect(clippy::too_many_lines, reason = "a task's life in order: skip checks, preconditions, commands, gate")]
    pub(crate) async fn run(mut self) -> UnitResult {
        let started = Instant::now();
        // Borrowed from the plan (kept alive by this Arc), not copied: a task's fixed cost.
        let plan = Arc::clone(&self.plan);
        let task = plan.task(self.node);
        let key = task.key.clone();
        self.emitter.emit(Event::TaskStarted { task: key.clone() });
        let mut fingerprint = Fingerprint::compute_cached(
            task,
            &self.dep_digests,
            &self.call_digests,
            self.plan.root_dir(),
            &self.options.sources,
        );
        tracing::trace!(task = %key, parts = ?fingerprint.parts, "fingerprint");
        let mut env = env_pairs(task);
        env.extend(self.run_env.iter().cloned());
        let node = self.node;
        let result = |outcome, executed, message: Option<String>, gate_attempts, fingerprint: Fingerprint| UnitResult {
            node,
            outcome,
            fingerprint,
            executed,
            message,
            duration: started.elapsed(),
            gate_attempts,
        };

        let forced = self.forced();
        // Saved state first: a stage that is done is done, whatever its preconditions need
        // (a signed-in 1Password CLI, say).
        let situation = Situation {
            task,
            assumed_done: self.plan.node(self.node).assumed_done,
            forced,
            called: self.call.is_some(),
            mode: self.options.mode,
            resume: self.options.resume,
            prior: self.prior.as_deref(),
            fingerprint: &fingerprint.digest,
            upstream: if self.any_dep_executed { Upstream::Ran } else { Upstream::Quiet },
        };
        // Why it runs, should it run (the `task_executing` event).
        let mut runs_because = String::new();
        let skip = match decide::before(&situation) {
            Before::AssumedDone => Some((
                SkipReason::Resumed,
                "not selected in this run (--only or emergency recovery); assumed done".to_string(),
            )),
            Before::NotForPlatform(why) => Some((SkipReason::NotForPlatform, why)),
            Before::Resume { run } => {
                self.confirm_gate(task, &env, SkipReason::Resumed, format!("succeeded in run {run}, unchanged since"))
                    .await
            }
            // Emergency recovery repairs the broken layer (forced) and, after it, only the
            // layers that are still unhealthy: a stage whose gate passes now is left alone.
            Before::RepairIfUnhealthy => {
                runs_because = "unhealthy after the repair upstream".into();
                self.gate_passes_now(task, &env).await.then(|| {
                    let gate = task.health.as_ref().map(|h| h.name.as_str()).unwrap_or_default();
                    (SkipReason::UpToDate, format!("healthy after the repair upstream: gate `{gate}` passes"))
                })
            }
            Before::Proceed(why) => {
                runs_because = why.describe();
                None
            }
        };
        if let Some((reason, detail)) = skip {
            self.emitter.emit(Event::TaskSkipped { task: key, reason, detail });
            let outcome = if reason == SkipReason::Resumed { TaskOutcome::Resumed } else { TaskOutcome::UpToDate };
            return result(outcome, false, None, 0, fingerprint);
        }
        // go-task's order: preconditions, then the up-to-date check (a failing precondition
        // fails the task even when its status passes).
        for (sh, msg) in &task.preconditions {
            match self.run_quiet(sh, task, &env, None).await {
                Exit::Code(0) => {}
                Exit::Interrupted => {
                    return result(TaskOutcome::Interrupted, false, Some("interrupted".into()), 0, fingerprint);
                }
                exit => {
                    let why =
                        msg.clone().unwrap_or_else(|| format!("precondition `{sh}` failed ({})", exit.describe()));
                    return result(self.failed(task), true, Some(self.masker.mask(&why)), 0, fingerprint);
                }
            }
        }
        if !forced && let Some((reason, detail)) = self.up_to_date_decision(task, &fingerprint, &env).await {
            self.emitter.emit(Event::TaskSkipped { task: key, reason, detail });
            return result(TaskOutcome::UpToDate, false, None, 0, fingerprint);
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
        // The prior record is not needed past this point: let go of it, so that the dispatcher
        // replaces it in place with the `running` record (no unit shares it any more).
        let changed = self.prior.take().map(|p| fingerprint.changed_parts(&p.parts)).unwrap_or_default();
        // The parts go to the `running` record, and stay there for the outcome's (see
        // `UnitResult::fingerprint`): not copied.
        let parts = std::mem::take(&mut fingerprint.parts);
        let executing = Fingerprint { digest: fingerprint.digest.clone(), parts };
        let msg = UnitMsg::Executing { node: self.node, fingerprint: executing, ack: ack_tx };
        let sent = self.to_dispatcher.send(msg).is_ok();
        let acked = match ack_rx {
            Some(rx) => sent && rx.await.is_ok(),
            None => sent,
        };
        if !acked {
            return result(TaskOutcome::Interrupted, false, Some("the run stopped".into()), 0, fingerprint);
        }
        self.emitter.emit(Event::TaskExecuting { task: key.clone(), reason: runs_because, changed });

        // As go-task does, a task's directory that does not exist yet is made before its
        // commands (and its dynamic env values' commands) run (`dir = "build"`); preconditions
        // and status checks do not make it. A directory that cannot be made is said as such,
        // not as the failure of an env value's command.
        if !task.dir.exists()
            && let Err(e) = std::fs::create_dir_all(&task.dir)
        {
            let why = format!("cannot create the task's directory `{}`: {e}", task.dir.display());
            return result(self.failed(task), true, Some(self.masker.mask(&why)), 0, fingerprint);
        }
        let env = match self.full_env(task, env).await {
            Ok(env) => env,
            Err(why) => return result(self.failed(task), true, Some(self.masker.mask(&why)), 0, fingerprint),
        };
        // A caller's timeout covers what it calls.
        let own = task.timeout.map(|t| Instant::now() + t);
        let deadline = match (own, self.call.and_then(|c| c.deadline)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (cmds, recover) = if self.options.mode == RunMode::Recovery {
            crate::recovery::repair_commands(task)
        } else {
            (task.cmds.as_slice(), false)
        };
        let attempts = task.retries.attempts + 1;
        let mut attempt = 1;
        let mut ignored_failure = None;
        loop {
            match self.run_cmds(task, cmds, recover, &env, deadline).await {
                CmdsEnd::Ok => break,
                CmdsEnd::FailedIgnored(why) => {
                    ignored_failure = Some(why);
                    break;
                }
                CmdsEnd::Interrupted => {
                    return result(TaskOutcome::Interrupted, true, Some("interrupted".into()), 0, fingerprint);
                }
                CmdsEnd::Failed(why, _) => {
                    let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
                    if attempt >= attempts || timed_out {
                        return result(self.failed(task), true, Some(why), 0, fingerprint);
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
            let ctx = self.probe_context(task, &env);
            let gate = gate::wait_healthy(&key, health, ctx, &self.emitter, &self.masker).await;
            if gate.interrupted {
                return result(TaskOutcome::Interrupted, true, gate.message, gate.attempts, fingerprint);
            }
            if !gate.passed {
                return result(self.failed(task), true, gate.message, gate.attempts, fingerprint);
            }
            if let Some(why) = ignored_failure {
                return result(TaskOutcome::FailedIgnored, true, Some(why), gate.attempts, fingerprint);
            }
            return result(TaskOutcome::Ok, true, None, gate.attempts, fingerprint);
        }
        if let Some(why) = ignored_failure {
            return result(TaskOutcome::FailedIgnored, true, Some(why), 0, fingerprint);
        }
        result(TaskOutcome::Ok, true, None, 0, fingerprint)
    }

    /// Up-to-date checks and saved state are ignored: `--force`, `--from`/`--only`, or a forced
    /// caller.
    fn forced(&self) -> bool {
        self.options.force || self.plan.node(self.node).forced || self.call.is_some_and(|c| c.forced)
    }

    fn failed(&self, task: &ResolvedTask) -> TaskOutcome {
        if task.ignore_error || self.call.is_some_and(|c| c.ignore_error) {
            TaskOutcome::FailedIgnored
        } else {
            TaskOutcome::Failed
        }
    }

    /// go-task's up-to-date check ([`decide::checks`]): `status` commands all pass and/or
    /// `sources` are unchanged (by `method`), whatever the dependencies did.
    async fn up_to_date_decision(
        &self,
        task: &ResolvedTask,
        fp: &Fingerprint,
        env: &[(String, String)],
    ) -> Option<(SkipReason, String)> {
        let checks = decide::checks(task, self.prior.as_deref(), &fp.digest)?;
        let mut reasons = Vec::new();
        if checks.status {
            for s in &task.status {
                if self.run_quiet(s, task, env, Some(Duration::from_secs(60))).await != Exit::Code(0) {
                    return None;
                }
            }
            reasons.push("status commands passed");
        }
        match checks.sources {
            None => {}
            Some(SourcesCheck::UpToDate) => reasons.push("sources unchanged"),
            Some(SourcesCheck::Changed | SourcesCheck::GeneratedMissing) => return None,
        }
        self.confirm_gate(task, env, SkipReason::UpToDate, reasons.join(", ")).await
    }

    /// One probe of the task's gate passes now.
    async fn gate_passes_now(&self, task: &ResolvedTask, env: &[(String, String)]) -> bool {
        let Some(health) = &task.health else { return false };
        gate::probe_once(health, &self.probe_context(task, env)).await.verdict == opsrun_event::ProbeVerdict::Pass
    }

    /// Where this unit's probes run.
    fn probe_context<'a>(&'a self, task: &'a ResolvedTask, env: &'a [(String, String)]) -> ProbeContext<'a> {
        ProbeContext {
            task: &task.key,
            dir: &task.dir,
            env,
            shutdown: self.shutdown.clone(),
            probes: &self.options.probes,
            on_spawn: Some(&self.report_spawn),
        }
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
        let probe = gate::probe_once(health, &self.probe_context(task, env)).await;
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
            shell: Some(task.shell.clone()),
            interactive: false,
            errexit: false,
            keep_background: false,
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
            shell: Some(task.shell.clone()),
            interactive: false,
            errexit: false,
            keep_background: false,
        };
        run_shell(&cmd, self.shutdown.clone(), |_, _| {}).await.exit
    }

    /// Runs a command list in order. A task call runs the called task as a task (through the
    /// dispatcher: its deps, checks and gate, once per run) before the next command; deferred
    /// commands run when the list ends, last registered first, whether it failed or not.
    async fn run_cmds(
        &self,
        task: &ResolvedTask,
        cmds: &[ResolvedCmd],
        recover: bool,
        env: &[(String, String)],
        deadline: Option<Instant>,
    ) -> CmdsEnd {
        let mut deferred: Vec<(usize, &ResolvedCmd)> = Vec::new();
        let mut end = CmdsEnd::Ok;
        let mut ignored: Option<String> = None;
        for (index, cmd) in cmds.iter().enumerate() {
            if cmd.defer {
                deferred.push((index, cmd));
                continue;
            }
            match self.run_cmd(task, recover, index, cmd, None, env, deadline).await {
                CmdsEnd::Failed(..) if cmd.ignore_error => {}
                // A task-level `ignore_error` goes on with the next command, as in go-task; the
                // task is reported as failed (ignored).
                CmdsEnd::Failed(why, _) if task.ignore_error => {
                    ignored.get_or_insert(why);
                }
                CmdsEnd::Ok => {}
                other => {
                    end = other;
                    break;
                }
            }
        }
        let failed_with = match &end {
            CmdsEnd::Failed(_, code) => Some(code.unwrap_or(1)),
            _ => None,
        };
        for (index, cmd) in deferred.into_iter().rev() {
            let outcome = self.run_cmd(task, recover, index, cmd, failed_with, env, deadline).await;
            // As in go-task, a failing deferred command does not fail the task (it is reported
            // by its own command events).
            if matches!(outcome, CmdsEnd::Interrupted) {
                end = outcome;
            }
        }
        match (end, ignored) {
            (CmdsEnd::Ok, Some(why)) => CmdsEnd::FailedIgnored(why),
            (end, _) => end,
        }
    }

    /// Runs command `index`: its script, or the task it calls. `failed_with` is the exit code of
    /// the command that failed the list, for a deferred command's `{{.EXIT_CODE}}`.
    #[expect(clippy::too_many_arguments, reason = "the command, where it stands, and what the task gives it")]
    async fn run_cmd(
        &self,
        task: &ResolvedTask,
        recover: bool,
        index: usize,
        cmd: &ResolvedCmd,
        failed_with: Option<i32>,
        env: &[(String, String)],
        deadline: Option<Instant>,
    ) -> CmdsEnd {
        match &cmd.kind {
            ResolvedCmdKind::Shell(script) => match (failed_with, &cmd.on_failure) {
                (Some(code), Some(failed)) => {
                    let script = failed.replace(opsrun_spec::EXIT_CODE_PLACEHOLDER, &code.to_string());
                    self.run_one(task, index, cmd, &script, env, deadline).await
                }
                _ => self.run_one(task, index, cmd, script, env, deadline).await,
            },
            ResolvedCmdKind::Task { name, .. } => self.call(recover, index, cmd, name, deadline).await,
        }
    }

    /// Runs the task that command `index` calls and waits for its outcome.
    async fn call(
        &self,
        recover: bool,
        index: usize,
        cmd: &ResolvedCmd,
        name: &str,
        deadline: Option<Instant>,
    ) -> CmdsEnd {
        let Some(callee) = self.plan.callee(self.node, recover, index) else {
            return CmdsEnd::Failed(format!("called task `{name}` is not part of the plan"), None);
        };
        let options = CallOptions {
            forced: self.forced(),
            silent: cmd.silent || self.call.is_some_and(|c| c.silent),
            ignore_error: cmd.ignore_error,
            deadline,
        };
        let (reply, answer) = oneshot::channel();
        if self.to_dispatcher.send(UnitMsg::Call { callee, options, reply }).is_err() {
            return CmdsEnd::Interrupted;
        }
        let callee_key = &self.plan.task(callee).key;
        match answer.await {
            Ok(TaskOutcome::Ok | TaskOutcome::UpToDate | TaskOutcome::Resumed | TaskOutcome::FailedIgnored) => {
                CmdsEnd::Ok
            }
            Ok(TaskOutcome::Interrupted) | Err(_) => CmdsEnd::Interrupted,
            Ok(TaskOutcome::Failed) => CmdsEnd::Failed(format!("called task `{callee_key}` failed"), None),
            Ok(TaskOutcome::NotRun | _) => CmdsEnd::Failed(
                format!(
                    "called task `{callee_key}` could not run (a task it depends on failed, or the run is stopping)"
                ),
                None,
            ),
        }
    }

    async fn run_one(
        &self,
        task: &ResolvedTask,
        index: usize,
        cmd: &ResolvedCmd,
        script: &str,
        env: &[(String, String)],
        deadline: Option<Instant>,
    ) -> CmdsEnd {
        let key = &task.key;
        let started = Instant::now();
        let silent = cmd.silent || task.silent || self.call.is_some_and(|c| c.silent);
        self.emitter.emit(Event::CommandStarted { task: key.clone(), index, command: script.to_string(), silent });
        let shell_cmd = ShellCommand {
            script: cmd.script_with_options(script),
            dir: task.dir.clone(),
            env: env.to_vec(),
            deadline,
            grace: self.options.grace,
            shell: Some(cmd_shell(task, cmd)),
            interactive: task.interactive,
            // As go-task runs every command: a failing line ends the script.
            errexit: true,
            keep_background: task.keep_background,
        };
        if task.interactive {
            // The command gets the terminal: what is buffered goes first.
            self.emitter.flush_now();
        }
        let emitter = &self.emitter;
        let finished = run_shell_batched(
            &shell_cmd,
            self.shutdown.clone(),
            |pgid| (self.report_spawn)(pgid),
            // Masked by the emitter, like every text of every event.
            |stream, lines| emitter.emit_output(key, stream, lines),
        )
        .await;
        if finished.stragglers_killed {
            self.emitter.emit(Event::Warning {
                task: Some(key.clone()),
                message: "the command left processes running in its group; they were killed (to keep them running, \
                          set `background = \"keep\"` on the task or at the top of tasks.toml)"
                    .into(),
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
            task: key.clone(),
            index,
            exit_code: finished.exit.code(),
            status,
            duration_ms: millis(started.elapsed()),
        });
        match finished.exit {
            Exit::Code(0) => CmdsEnd::Ok,
            Exit::Interrupted => CmdsEnd::Interrupted,
            Exit::TimedOut => CmdsEnd::Failed(
                format!(
                    "timed out after {}: {}",
                    opsrun_spec::format_duration(task.timeout.unwrap_or_default()),
                    self.masker.mask(&first_line(script))
                ),
                None,
            ),
            exit => CmdsEnd::Failed(
                format!("{} failed with {}", self.masker.mask(&first_line(script)), exit.describe()),
                exit.code(),
            ),
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

/// The shell of one command: `pipefail` and `shopt` need bash, which runs them when the task's
/// shell is the default `sh` (go-task's own interpreter accepts both).
fn cmd_shell(task: &ResolvedTask, cmd: &ResolvedCmd) -> String {
    let needs_bash = !cmd.shopt.is_empty() || cmd.set.iter().any(|o| o == "pipefail");
    if needs_bash && task.shell == "sh" { "bash".to_string() } else { task.shell.clone() }
}

/// A task's static environment as `Command::envs` pairs.
pub(crate) fn env_pairs(task: &ResolvedTask) -> Vec<(String, String)> {
    task.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
