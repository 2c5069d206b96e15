//! Health gates: poll a probe until the stage is healthy, with real semantics.
//!
//! Each probe is classified as Kubernetes tooling does (Argo Rollouts, kstatus):
//! **Pass**; **NotReady** (keep polling until the deadline; "not found" and "connection
//! refused" are NotReady); **Error** (could not evaluate: spawn failure, probe timeout, DNS or
//! TLS failure; the gate fails after `consecutive_error_limit` in a row) and **Failed**
//! (definitive: a listed fatal exit code or output pattern; the gate fails at once). The gate
//! passes after `success_threshold` consecutive passes.

use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::time::{Duration, Instant};

use opsrun_event::{Event, ProbeVerdict};
use opsrun_spec::{ResolvedHealth, ResolvedProbe, format_duration};
use tokio::sync::watch;

use crate::probe::{ProbeRegistry, ProbeResult};
use crate::run::Emitter;
use crate::signal::Shutdown;
use opsrun_process::{Exit, ShellCommand, run_shell_reporting};
use opsrun_spec::Masker;

/// The shortest pause between probes.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Lines of probe output kept for failure messages.
const TAIL_LINES: usize = 10;

/// The result of a whole gate.
#[derive(Debug, Clone)]
pub(crate) struct GateResult {
    pub(crate) passed: bool,
    pub(crate) interrupted: bool,
    pub(crate) attempts: u32,
    pub(crate) message: Option<String>,
}

/// Where and how a task's probes run.
pub(crate) struct ProbeContext<'a> {
    pub(crate) task: &'a str,
    pub(crate) dir: &'a Path,
    pub(crate) env: &'a [(String, String)],
    pub(crate) shutdown: watch::Receiver<Shutdown>,
    pub(crate) probes: &'a ProbeRegistry,
    /// Told the process group of each `cmd` probe, so that the state records it and a run
    /// after a `kill -9` can end it (as task commands' groups are).
    pub(crate) on_spawn: Option<&'a (dyn Fn(i32) + Sync)>,
}

/// Runs one probe of `health`, bounded by its `probe_timeout`.
pub(crate) async fn probe_once(health: &ResolvedHealth, ctx: &ProbeContext<'_>) -> ProbeResult {
    let (dir, env, shutdown) = (ctx.dir, ctx.env, ctx.shutdown.clone());
    match &health.probe {
        ResolvedProbe::Custom { name, with } => {
            let Some(probe) = ctx.probes.get(name) else {
                // `run` refuses plans with unregistered probes; `assess` may still meet one.
                return ProbeResult::error(format!("no probe is registered as `{name}`"));
            };
            let pctx = crate::probe::ProbeContext {
                task: ctx.task.to_string(),
                gate: health.name.clone(),
                dir: dir.to_path_buf(),
                env: env.to_vec(),
                with: with.clone(),
                timeout: health.probe_timeout,
            };
            probe_custom(probe.probe(pctx), health.probe_timeout, shutdown).await
        }
        ResolvedProbe::Cmd(script) => probe_cmd(health, script, dir, env, shutdown, ctx.on_spawn).await,
        ResolvedProbe::Http { url, status, body, body_not, insecure_tls } => {
            let (url, status, body, body_not) = (url.clone(), status.clone(), body.clone(), body_not.clone());
            let (timeout, insecure) = (health.probe_timeout, *insecure_tls);
            tokio::task::spawn_blocking(move || {
                probe_http(&url, &status, body.as_deref(), body_not.as_deref(), insecure, timeout)
            })
            .await
            .unwrap_or_else(|e| ProbeResult {
                verdict: ProbeVerdict::Error,
                detail: format!("probe task failed: {e}"),
                tail: Vec::new(),
            })
        }
        ResolvedProbe::Tcp(addr) => probe_tcp(addr, health.probe_timeout).await,
    }
}

/// A custom probe on its own task: a panic is an Error, a probe past its timeout or still
/// running when the run stops is abandoned (aborted at its next await).
async fn probe_custom(
    future: crate::probe::ProbeFuture,
    timeout: Duration,
    mut shutdown: watch::Receiver<Shutdown>,
) -> ProbeResult {
    let mut handle = tokio::spawn(future);
    let stopping = async {
        while *shutdown.borrow_and_update() == Shutdown::Running {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    };
    let result = tokio::select! {
        joined = &mut handle => match joined {
            Ok(result) => return result,
            Err(e) if e.is_panic() => ProbeResult::error("the probe panicked"),
            Err(e) => ProbeResult::error(format!("the probe did not finish: {e}")),
        },
        () = tokio::time::sleep(timeout) => ProbeResult::error(format!("probe timed out after {}", format_duration(timeout))),
        () = stopping => ProbeResult::error("interrupted"),
    };
    handle.abort();
    result
}

async fn probe_cmd(
    health: &ResolvedHealth,
    script: &str,
    dir: &Path,
    env: &[(String, String)],
    shutdown: watch::Receiver<Shutdown>,
    on_spawn: Option<&(dyn Fn(i32) + Sync)>,
) -> ProbeResult {
    let cmd = ShellCommand {
        script: script.to_string(),
        dir: dir.to_path_buf(),
        env: env.to_vec(),
        deadline: Some(Instant::now() + health.probe_timeout),
        grace: Duration::from_millis(500),
        shell: None,
        interactive: false,
        errexit: false,
        keep_background: false,
    };
    let mut tail: Vec<String> = Vec::new();
    let mut fatal_hit: Option<String> = None;
    let patterns: Vec<regex::Regex> = health.fatal_patterns.iter().filter_map(|p| regex::Regex::new(p).ok()).collect();
    let report = |pgid| {
        if let Some(f) = on_spawn {
            f(pgid);
        }
    };
    let finished = run_shell_reporting(&cmd, shutdown, report, |_, line| {
        if fatal_hit.is_none()
            && let Some(p) = patterns.iter().find(|p| p.is_match(&line))
        {
            fatal_hit = Some(format!("output matched fatal pattern `{}`", p.as_str()));
        }
        if tail.len() == TAIL_LINES {
            tail.remove(0);
        }
        tail.push(line);
    })
    .await;
    let last = tail.last().cloned().unwrap_or_default();
    let with_last = |s: String| if last.is_empty() { s } else { format!("{s}: {last}") };
    let (verdict, detail) = match finished.exit {
        Exit::Code(0) => (ProbeVerdict::Pass, with_last("exit 0".into())),
        _ if fatal_hit.is_some() => (ProbeVerdict::Failed, fatal_hit.unwrap_or_default()),
        Exit::Code(c) if health.fatal_exit_codes.contains(&c) => {
            (ProbeVerdict::Failed, with_last(format!("fatal exit code {c}")))
        }
        Exit::Code(c) if health.error_exit_codes.contains(&c) || c == 126 || c == 127 => {
            (ProbeVerdict::Error, with_last(format!("exit {c} (could not evaluate)")))
        }
        Exit::Code(c) => (ProbeVerdict::NotReady, with_last(format!("exit {c}"))),
        Exit::Signal(s) => (ProbeVerdict::Error, format!("probe killed by signal {s}")),
        Exit::TimedOut => (
            ProbeVerdict::Error,
            format!("probe timed out after {} and was killed", format_duration(health.probe_timeout)),
        ),
        Exit::Interrupted => (ProbeVerdict::Error, "interrupted".into()),
        Exit::SpawnFailed(e) => (ProbeVerdict::Error, format!("could not start probe: {e}")),
    };
    ProbeResult { verdict, detail, tail }
}

fn probe_http(
    url: &str,
    accepted: &[u16],
    body: Option<&str>,
    body_not: Option<&str>,
    insecure: bool,
    timeout: Duration,
) -> ProbeResult {
    let tls = ureq::tls::TlsConfig::builder().disable_verification(insecure).build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(tls)
        .build()
        .into();
    let err = |verdict, detail: String| ProbeResult { verdict, detail, tail: Vec::new() };
    let mut response = match agent.get(url).call() {
        Ok(r) => r,
        Err(e) => {
            return classify_http_error(&e, timeout)
                .map_or_else(|| err(ProbeVerdict::Error, e.to_string()), |(v, d)| err(v, d));
        }
    };
    let status = response.status().as_u16();
    let text = match response.body_mut().with_config().limit(1 << 20).read_to_string() {
        Ok(text) => text,
        // A body that stalls, breaks off or is too large cannot be checked: with `body` or
        // `body_not` to check that is an Error, never a pass by default.
        Err(e) if body.is_some() || body_not.is_some() => {
            return err(ProbeVerdict::Error, format!("HTTP {status}, the body could not be read: {e}"));
        }
        Err(_) => String::new(),
    };
    let tail: Vec<String> =
        text.lines().rev().take(TAIL_LINES).map(str::to_string).collect::<Vec<_>>().into_iter().rev().collect();
    let status_ok = if accepted.is_empty() { (200..300).contains(&status) } else { accepted.contains(&status) };
    if !status_ok {
        return ProbeResult { verdict: ProbeVerdict::NotReady, detail: format!("HTTP {status}"), tail };
    }
    if let Some(pattern) = body {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(&text) => {
                return ProbeResult {
                    verdict: ProbeVerdict::NotReady,
                    detail: format!("HTTP {status}, body does not match `{pattern}`"),
                    tail,
                };
            }
            Ok(_) => {}
            Err(e) => return err(ProbeVerdict::Failed, format!("invalid body pattern: {e}")),
        }
    }
    if let Some(pattern) = body_not {
        match regex::Regex::new(pattern) {
            Ok(re) => {
                if let Some(m) = re.find(&text) {
                    return ProbeResult {
                        verdict: ProbeVerdict::NotReady,
                        detail: format!("HTTP {status}, body contains `{}`", m.as_str()),
                        tail,
                    };
                }
            }
            Err(e) => return err(ProbeVerdict::Failed, format!("invalid body_not pattern: {e}")),
        }
    }
    ProbeResult { verdict: ProbeVerdict::Pass, detail: format!("HTTP {status}"), tail }
}

fn classify_http_error(e: &ureq::Error, timeout: Duration) -> Option<(ProbeVerdict, String)> {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) =>
        {
            Some((ProbeVerdict::NotReady, format!("connection refused ({io})")))
        }
        ureq::Error::Timeout(_) => {
            Some((ProbeVerdict::Error, format!("no answer within {}", format_duration(timeout))))
        }
        ureq::Error::HostNotFound => Some((ProbeVerdict::Error, "host not found".into())),
        _ => None,
    }
}

async fn probe_tcp(addr: &str, timeout: Duration) -> ProbeResult {
    let result = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await;
    let (verdict, detail) = match result {
        Ok(Ok(_)) => (ProbeVerdict::Pass, format!("connected to {addr}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (ProbeVerdict::NotReady, format!("{addr}: connection refused"))
        }
        Ok(Err(e)) => (ProbeVerdict::Error, format!("{addr}: {e}")),
        Err(_) => (ProbeVerdict::Error, format!("{addr}: no answer within {}", format_duration(timeout))),
    };
    ProbeResult { verdict, detail, tail: Vec::new() }
}

/// Polls the gate of `task` until it passes, fails, times out or the run is interrupted.
#[expect(clippy::too_many_lines, reason = "the polling loop with its counters (passes, errors, backoff) in one place")]
pub(crate) async fn wait_healthy(
    task: &str,
    health: &ResolvedHealth,
    mut ctx: ProbeContext<'_>,
    emitter: &Emitter,
    masker: &Masker,
) -> GateResult {
    let started = Instant::now();
    let deadline = started + health.timeout;
    emitter.emit(Event::GateStarted {
        task: task.to_string(),
        gate: health.name.clone(),
        timeout_ms: millis(health.timeout),
        success_threshold: health.success_threshold,
    });
    let mut attempts = 0u32;
    let mut passes = 0u32;
    let mut errors = 0u32;
    // A zero interval would spawn probes in a busy loop for the whole timeout.
    let mut interval = health.interval.max(MIN_INTERVAL);
    let mut last: Option<ProbeResult>;
    // An interrupted gate is closed in the event stream like any other, with the probes that
    // completed (an interrupted probe is not counted).
    let interrupted = |attempts: u32| {
        let message = "interrupted while waiting for health".to_string();
        emitter.emit(Event::GateFinished {
            task: task.to_string(),
            gate: health.name.clone(),
            passed: false,
            attempts,
            elapsed_ms: millis(started.elapsed()),
            message: Some(message.clone()),
        });
        GateResult { passed: false, interrupted: true, attempts, message: Some(message) }
    };
    if !health.initial_delay.is_zero() && !sleep_or_shutdown(health.initial_delay, &mut ctx.shutdown).await {
        return interrupted(attempts);
    }
    let outcome: Result<(), (String, ProbeVerdict)> = loop {
        attempts += 1;
        let result = probe_once(health, &ctx).await;
        if *ctx.shutdown.borrow() != Shutdown::Running {
            return interrupted(attempts - 1);
        }
        match result.verdict {
            ProbeVerdict::Pass => {
                passes += 1;
                errors = 0;
            }
            ProbeVerdict::NotReady => {
                passes = 0;
                errors = 0;
            }
            ProbeVerdict::Failed => passes = 0,
            // An unknown verdict could not be evaluated either.
            ProbeVerdict::Error | _ => {
                passes = 0;
                errors += 1;
            }
        }
        emitter.emit(Event::GateProbe {
            task: task.to_string(),
            gate: health.name.clone(),
            attempt: attempts,
            verdict: result.verdict,
            detail: result.detail.clone(),
            elapsed_ms: millis(started.elapsed()),
            consecutive_passes: passes,
        });
        let verdict = result.verdict;
        tracing::debug!(task, attempt = attempts, ?verdict, passes, errors, "gate probe");
        last = Some(result);
        if passes >= health.success_threshold {
            break Ok(());
        }
        if verdict == ProbeVerdict::Failed {
            break Err(("failed".into(), verdict));
        }
        if errors >= health.consecutive_error_limit {
            break Err((format!("error: {errors} probes in a row could not be evaluated"), verdict));
        }
        let now = Instant::now();
        if now >= deadline {
            break Err((format!("timed out after {}", format_duration(health.timeout)), verdict));
        }
        let pause = jittered(interval, health.backoff.is_some_and(|b| b.jitter), attempts).min(deadline - now);
        if !sleep_or_shutdown(pause, &mut ctx.shutdown).await {
            return interrupted(attempts);
        }
        if let Some(b) = health.backoff {
            // Checked arithmetic: whatever the factor, the interval never passes `max`.
            interval = Duration::try_from_secs_f64(interval.as_secs_f64() * b.factor).unwrap_or(b.max).min(b.max);
        }
    };
    let elapsed = started.elapsed();
    let message = outcome.err().map(|(class, verdict)| {
        let last = last.unwrap_or(ProbeResult { verdict, detail: String::new(), tail: Vec::new() });
        let mut m = format!(
            "health gate `{}` {class} ({} in {}); last probe: {}: {}",
            health.name,
            if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") },
            format_duration(elapsed),
            last.verdict.label(),
            last.detail
        );
        if !last.tail.is_empty() {
            m.push_str("\nlast probe output:\n");
            m.push_str(&last.tail.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"));
        }
        masker.mask(&m)
    });
    let passed = message.is_none();
    emitter.emit(Event::GateFinished {
        task: task.to_string(),
        gate: health.name.clone(),
        passed,
        attempts,
        elapsed_ms: millis(elapsed),
        message: message.clone(),
    });
    GateResult { passed, interrupted: false, attempts, message }
}

/// Sleeps, returning false early if the run starts shutting down.
pub(crate) async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<Shutdown>) -> bool {
    if *shutdown.borrow() != Shutdown::Running {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = shutdown.changed() => *shutdown.borrow() == Shutdown::Running,
    }
}

/// ±20% jitter, so that many gates started together do not probe in lockstep.
fn jittered(d: Duration, jitter: bool, salt: u32) -> Duration {
    if !jitter {
        return d;
    }
    let r = RandomState::new().hash_one(salt);
    #[allow(clippy::cast_precision_loss)] // A jitter fraction needs no precision.
    let frac = (r % 1000) as f64 / 1000.0;
    d.mul_f64(0.8 + 0.4 * frac)
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
