//! Custom health-gate probes: checks written in Rust by the program that embeds opsrun.
//!
//! A gate `health = { probe = "connect-api", with = { url = "{{.URL}}" } }` (or one built with
//! [`GateBuilder::probe`](opsrun_spec::build::GateBuilder::probe)) calls the [`Probe`] registered
//! under that name. The engine treats it exactly like a `cmd`, `http` or `tcp` probe: bounded by
//! the gate's `probe_timeout`, polled with the gate's interval and thresholds, its detail masked,
//! and abandoned when the run stops. A probe that panics counts as an Error, not a crash.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use opsrun_event::ProbeVerdict;

/// The future a [`Probe`] returns.
pub type ProbeFuture = Pin<Box<dyn Future<Output = ProbeResult> + Send + 'static>>;

/// A health check written in Rust.
///
/// Any `Fn(ProbeContext) -> impl Future<Output = ProbeResult>` is a probe:
///
/// ```
/// use opsrun_engine::{ProbeContext, ProbeResult, ProbeRegistry};
///
/// let mut probes = ProbeRegistry::new();
/// probes.register("always-ready", |ctx: ProbeContext| async move {
///     ProbeResult::pass(format!("{} is fine", ctx.task))
/// });
/// assert_eq!(probes.names().collect::<Vec<_>>(), ["always-ready"]);
/// ```
pub trait Probe: Send + Sync + 'static {
    /// Checks once. Classify the answer as Kubernetes tooling does: [`ProbeResult::pass`],
    /// [`ProbeResult::not_ready`] (keep polling), [`ProbeResult::error`] (could not evaluate;
    /// the gate fails after its `consecutive_error_limit`) or [`ProbeResult::failed`]
    /// (definitive: the gate fails at once).
    fn probe(&self, ctx: ProbeContext) -> ProbeFuture;
}

impl<F, Fut> Probe for F
where
    F: Fn(ProbeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ProbeResult> + Send + 'static,
{
    fn probe(&self, ctx: ProbeContext) -> ProbeFuture {
        Box::pin(self(ctx))
    }
}

/// What a custom probe is told about the gate it checks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProbeContext {
    /// The task whose gate this is (its key, e.g. `cilium`).
    pub task: String,
    /// The gate's name.
    pub gate: String,
    /// The task's working directory.
    pub dir: PathBuf,
    /// The task's environment (`env` of the task and its file, rendered).
    pub env: Vec<(String, String)>,
    /// The gate's `with` arguments, rendered.
    pub with: IndexMap<String, String>,
    /// How long this probe may take; past it the probe is abandoned and counts as an Error.
    pub timeout: Duration,
}

impl ProbeContext {
    /// The `with` argument `key`, if the gate sets it.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.with.get(key).map(String::as_str)
    }
}

/// The result of one probe.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// Classification.
    pub verdict: ProbeVerdict,
    /// One-line reason.
    pub detail: String,
    /// The last lines of output (cmd probes) or body (http probes).
    pub tail: Vec<String>,
}

impl ProbeResult {
    fn of(verdict: ProbeVerdict, detail: impl Into<String>) -> Self {
        Self { verdict, detail: detail.into(), tail: Vec::new() }
    }

    /// Healthy.
    pub fn pass(detail: impl Into<String>) -> Self {
        Self::of(ProbeVerdict::Pass, detail)
    }

    /// Not healthy yet: keep polling until the gate's deadline.
    pub fn not_ready(detail: impl Into<String>) -> Self {
        Self::of(ProbeVerdict::NotReady, detail)
    }

    /// Could not evaluate (unreachable, timed out, unexpected answer).
    pub fn error(detail: impl Into<String>) -> Self {
        Self::of(ProbeVerdict::Error, detail)
    }

    /// Definitively broken: the gate fails now.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self::of(ProbeVerdict::Failed, detail)
    }

    /// The same result with these lines as its output tail (shown when the gate fails).
    #[must_use]
    pub fn with_tail(mut self, tail: Vec<String>) -> Self {
        self.tail = tail;
        self
    }
}

/// The custom probes a run may call, by name.
#[derive(Clone, Default)]
pub struct ProbeRegistry {
    probes: BTreeMap<String, Arc<dyn Probe>>,
}

impl std::fmt::Debug for ProbeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.probes.keys()).finish()
    }
}

impl ProbeRegistry {
    /// No probes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `probe` as `name` (replacing a probe of that name).
    pub fn register(&mut self, name: impl Into<String>, probe: impl Probe) -> &mut Self {
        self.probes.insert(name.into(), Arc::new(probe));
        self
    }

    /// The probe registered as `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Probe>> {
        self.probes.get(name).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.probes.keys().map(String::as_str)
    }
}
