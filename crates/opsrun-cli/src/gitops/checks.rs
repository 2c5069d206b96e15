//! The `[gitops]` commands and the checks around a resume: where a Kustomization's files are in
//! the checkout, whether the checkout holds what Flux will apply, whether resuming would revert
//! anything in the cluster, and whether GitOps has taken over again (alignment).
//!
//! Every command runs through `opsrun_process` with the tasks file's root environment, the
//! checks under `[gitops] timeout`; whatever is echoed, shown or recorded is masked first.
//! `git` questions go through [`opsrun_change::Checkout`] (fixed arguments, no shell).

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use opsrun_change::{Checkout, Upstream};
use opsrun_process::{Exit, ShellCommand};
use opsrun_spec::template::Value;
use opsrun_spec::{GitopsConfig, Masker, Resolver, format_duration};

use super::drift::{self, DiffOutcome};
use super::kustomization::{commit_of, parse_status};
use super::record::CheckRecord;
use crate::context::{Context, shell_quote};
use crate::error::{CliError, Result};
use crate::exit;

/// At most this many files or commits are named in one problem.
const LISTED: usize = 10;

/// A finished command, masked.
pub(crate) struct Ran {
    pub(crate) command: String,
    pub(crate) exit: Exit,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) duration: Duration,
}

impl Ran {
    fn record(&self, what: &str, outcome: String) -> CheckRecord {
        CheckRecord {
            what: what.into(),
            command: Some(self.command.clone()),
            outcome,
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// `exit code 2: <last line>`.
    fn failure(&self) -> String {
        let last = [&self.stderr, &self.stdout]
            .iter()
            .find_map(|t| t.lines().rev().map(str::trim).find(|l| !l.is_empty()))
            .map(|l| format!(": {l}"))
            .unwrap_or_default();
        format!("{}{last}", self.exit.describe())
    }
}

/// Where a Kustomization's files are.
pub(crate) struct Located {
    pub(crate) checkout: Checkout,
    /// Relative to the checkout's top level, as Flux's `spec.path` says (without `./`).
    pub(crate) path: String,
    pub(crate) dir: PathBuf,
}

/// What the checks before a resume found.
pub(crate) enum BeforeResume {
    /// No drift, and the checkout holds what Flux will apply.
    Proceed,
    /// Resuming would change these objects; the diff, masked.
    Drift { objects: Vec<String>, diff: String },
    /// The resume cannot be judged safe: why.
    Blocked(Vec<String>),
}

/// What an alignment check found.
pub(crate) struct Alignment {
    pub(crate) problems: Vec<String>,
    pub(crate) revision: Option<String>,
    pub(crate) head: Option<String>,
}

/// Runs the `[gitops]` commands of one tasks file.
pub(crate) struct Gitops<'a> {
    ctx: &'a Context,
    resolver: Resolver<'a>,
    env: Vec<(String, String)>,
    masker: Masker,
}

impl<'a> Gitops<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Result<Self> {
        let resolver = Resolver::new(&ctx.spec, ctx.invocation(IndexMap::new(), &[]));
        // The same environment the tasks get (KUBECONFIG and friends from the tasks file).
        let env = resolver.root_env()?.into_iter().collect();
        let masker = resolver.masker();
        Ok(Self { ctx, resolver, env, masker })
    }

    pub(crate) fn config(&self) -> &GitopsConfig {
        &self.ctx.spec.gitops
    }

    pub(crate) fn mask(&self, text: &str) -> String {
        self.masker.mask(text)
    }

    /// Renders a `[gitops]` command: `{{.NAME}}`, and `{{.PATH}}` quoted for the shell.
    pub(crate) fn render(&self, template: &str, name: &str, path: Option<&Path>) -> Result<String> {
        let mut extra = IndexMap::new();
        extra.insert("NAME".to_string(), Value::Str(name.to_string()));
        if let Some(path) = path {
            extra.insert("PATH".to_string(), Value::Str(shell_quote(&path.to_string_lossy())));
        }
        Ok(self.resolver.render_root(template, &extra)?)
    }

    fn shell(&self, command: String) -> ShellCommand {
        let mut cmd = ShellCommand::new(command, &self.ctx.spec.root_dir);
        cmd.env.clone_from(&self.env);
        cmd.errexit = false;
        cmd
    }

    /// Runs a check command to the end (at most `[gitops] timeout`), its output captured.
    pub(crate) fn capture(&self, template: &str, name: &str, path: Option<&Path>) -> Result<Ran> {
        let command = self.render(template, name, path)?;
        let shown = self.mask(&command);
        eprintln!("$ {shown}");
        let mut cmd = self.shell(command);
        cmd.deadline = Some(Instant::now() + self.config().timeout);
        cmd.grace = Duration::from_secs(2);
        let started = Instant::now();
        let out = opsrun_process::capture(&cmd);
        Ok(Ran {
            command: shown,
            exit: out.exit,
            stdout: self.mask(&out.stdout),
            stderr: self.mask(&out.stderr),
            duration: started.elapsed(),
        })
    }

    /// Runs a suspend or resume command on the operator's terminal (it may prompt).
    pub(crate) fn interactive(&self, template: &str, name: &str) -> Result<Ran> {
        let command = self.render(template, name, None)?;
        let shown = self.mask(&command);
        eprintln!("$ {shown}");
        let mut cmd = self.shell(command);
        cmd.interactive = true;
        let started = Instant::now();
        let out = opsrun_process::capture(&cmd);
        if let Exit::SpawnFailed(why) = &out.exit {
            return Err(CliError::Other { code: exit::INTERNAL, message: format!("cannot run `{shown}`: {why}") });
        }
        Ok(Ran {
            command: shown,
            exit: out.exit,
            stdout: String::new(),
            stderr: String::new(),
            duration: started.elapsed(),
        })
    }

    /// Finds the checkout and the Kustomization's directory in it: `[gitops.paths]`, else its
    /// `spec.path` from the cluster.
    pub(crate) fn locate(&self, name: &str, checks: &mut Vec<CheckRecord>) -> Result<Located, String> {
        let config = self.config();
        let checkout = Checkout::open(&config.checkout).map_err(|e| e.to_string())?;
        let path = if let Some(path) = config.paths.get(name) {
            path.clone()
        } else {
            let ran = self.capture(&config.spec_path, name, None).map_err(|e| e.to_string())?;
            if ran.exit != Exit::Code(0) {
                let why = ran.failure();
                checks.push(ran.record("spec_path", why.clone()));
                return Err(format!(
                    "cannot read `{name}`'s spec.path from the cluster ({why}); set it in `[gitops.paths]` to skip the cluster"
                ));
            }
            let path = ran.stdout.trim().to_string();
            checks.push(ran.record("spec_path", format!("spec.path {path}")));
            // Flux's default path is the repository root.
            if path.is_empty() { ".".to_string() } else { path }
        };
        let relative = normalise(&path)
            .ok_or_else(|| format!("`{path}` (the path of `{name}`) is not a path inside the checkout"))?;
        let dir = checkout.top_level().join(&relative);
        if !dir.is_dir() {
            return Err(format!(
                "`{path}` (the path of `{name}`) is not a directory of the checkout `{}`: is it the repository Flux syncs from (`[gitops] checkout`)?",
                checkout.top_level().display()
            ));
        }
        Ok(Located { checkout, path: relative, dir })
    }

    /// What stops the checkout from being what Flux applies: uncommitted changes under the
    /// Kustomization's path, commits not pushed.
    pub(crate) fn checkout_problems(located: &Located, checks: &mut Vec<CheckRecord>) -> Vec<String> {
        let mut problems = Vec::new();
        let path = if located.path.is_empty() { "." } else { located.path.as_str() };
        match located.checkout.uncommitted(path) {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => problems.push(format!(
                "uncommitted changes under `{path}` in `{}` (Flux applies what is pushed; commit and push them, or stash them): {}",
                located.checkout.top_level().display(),
                listed(&changes)
            )),
            Err(e) => problems.push(e.to_string()),
        }
        match located.checkout.upstream() {
            Ok(Upstream::Pushed { .. }) => {}
            Ok(Upstream::Ahead { upstream, commits }) => problems.push(format!(
                "{} not on `{upstream}` yet (Flux applies what is pushed; `git push` first): {}",
                if commits.len() == 1 { "1 commit".to_string() } else { format!("{} commits", commits.len()) },
                listed(&commits)
            )),
            Ok(Upstream::NoUpstream { branch }) => problems.push(format!(
                "branch `{branch}` has no upstream, so nothing shows that Flux can fetch HEAD (`git push -u origin {branch}`)"
            )),
            Ok(Upstream::Detached) => {
                problems.push("HEAD is detached: check out the branch Flux follows".to_string());
            }
            Ok(other) => problems.push(format!("cannot tell whether HEAD is pushed ({other:?})")),
            Err(e) => problems.push(e.to_string()),
        }
        checks.push(CheckRecord {
            what: "checkout".into(),
            command: None,
            outcome: if problems.is_empty() { "clean and pushed".into() } else { problems.join("; ") },
            duration_ms: 0,
        });
        problems
    }

    /// Runs the drift check for a located Kustomization.
    pub(crate) fn diff(
        &self,
        name: &str,
        located: &Located,
        checks: &mut Vec<CheckRecord>,
    ) -> Result<(DiffOutcome, Ran)> {
        let ran = self.capture(&self.config().diff, name, Some(&located.dir))?;
        let outcome = drift::classify(&ran.exit, &ran.stdout, &ran.stderr, &format_duration(self.config().timeout));
        let summary = match &outcome {
            DiffOutcome::Clean => "no drift".to_string(),
            DiffOutcome::Drift(objects) if objects.is_empty() => "drift (objects not listed)".to_string(),
            DiffOutcome::Drift(objects) => format!("drift: {}", objects.join(", ")),
            DiffOutcome::Failed(why) => format!("could not be evaluated: {why}"),
        };
        checks.push(ran.record("diff", summary));
        Ok((outcome, ran))
    }

    /// The checks before a resume: the checkout first (the diff compares it with the cluster,
    /// so it must hold what Flux will apply), then the diff. Everything it returns or records
    /// is masked.
    pub(crate) fn before_resume(&self, name: &str, checks: &mut Vec<CheckRecord>) -> Result<BeforeResume> {
        let verdict = self.checks_before_resume(name, checks)?;
        self.mask_checks(checks);
        Ok(match verdict {
            BeforeResume::Blocked(problems) => BeforeResume::Blocked(self.mask_all(&problems)),
            BeforeResume::Drift { objects, diff } => BeforeResume::Drift { objects: self.mask_all(&objects), diff },
            proceed @ BeforeResume::Proceed => proceed,
        })
    }

    /// A git path, a commit subject or a tool's message may quote a secret value.
    fn mask_all(&self, texts: &[String]) -> Vec<String> {
        texts.iter().map(|t| self.mask(t)).collect()
    }

    fn mask_checks(&self, checks: &mut [CheckRecord]) {
        for check in checks {
            check.outcome = self.mask(&check.outcome);
        }
    }

    fn checks_before_resume(&self, name: &str, checks: &mut Vec<CheckRecord>) -> Result<BeforeResume> {
        let located = match self.locate(name, checks) {
            Ok(l) => l,
            Err(problem) => return Ok(BeforeResume::Blocked(vec![problem])),
        };
        let problems = Self::checkout_problems(&located, checks);
        if !problems.is_empty() {
            return Ok(BeforeResume::Blocked(problems));
        }
        let (outcome, ran) = self.diff(name, &located, checks)?;
        Ok(match outcome {
            DiffOutcome::Clean => BeforeResume::Proceed,
            DiffOutcome::Drift(objects) => {
                let diff = [ran.stdout.trim_end(), ran.stderr.trim_end()]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n");
                BeforeResume::Drift { objects, diff }
            }
            DiffOutcome::Failed(why) => BeforeResume::Blocked(vec![format!(
                "the drift check could not be evaluated ({why}), so nothing shows what resuming would revert"
            )]),
        })
    }

    /// Is GitOps in charge again: the Kustomization Ready and not suspended, at a revision
    /// that contains the checkout's HEAD, the checkout clean and pushed, and an empty diff.
    /// Everything it returns or records is masked.
    pub(crate) fn alignment(&self, name: &str, checks: &mut Vec<CheckRecord>) -> Result<Alignment> {
        let alignment = self.check_alignment(name, checks)?;
        self.mask_checks(checks);
        Ok(Alignment { problems: self.mask_all(&alignment.problems), ..alignment })
    }

    fn check_alignment(&self, name: &str, checks: &mut Vec<CheckRecord>) -> Result<Alignment> {
        let mut problems = Vec::new();
        let mut revision = None;
        let ran = self.capture(&self.config().status, name, None)?;
        if ran.exit == Exit::Code(0) {
            match parse_status(&ran.stdout, name) {
                Ok(status) => {
                    let ready = if status.is_ready() { "Ready" } else { "not Ready" };
                    checks.push(ran.record("status", format!("{ready} at {}", status.revision)));
                    if status.is_suspended() {
                        problems.push(format!("`{name}` is still suspended in the cluster"));
                    }
                    if !status.is_ready() {
                        problems.push(format!("`{name}` is not Ready (READY {}: {})", status.ready, status.message));
                    }
                    revision = Some(status.revision);
                }
                Err(why) => {
                    checks.push(ran.record("status", why.clone()));
                    problems.push(format!("cannot read `{name}`'s status: {why}"));
                }
            }
        } else {
            let why = ran.failure();
            checks.push(ran.record("status", why.clone()));
            problems.push(format!("cannot read `{name}`'s status: {why}"));
        }
        let mut head = None;
        match self.locate(name, checks) {
            Err(problem) => problems.push(problem),
            Ok(located) => {
                problems.extend(Self::checkout_problems(&located, checks));
                match located.checkout.head() {
                    Ok(h) => {
                        if let Some(rev) = &revision {
                            problems.extend(revision_problem(&located.checkout, name, rev, &h));
                        }
                        head = Some(h);
                    }
                    Err(e) => problems.push(e.to_string()),
                }
                match self.diff(name, &located, checks)?.0 {
                    DiffOutcome::Clean => {}
                    DiffOutcome::Drift(objects) if objects.is_empty() => {
                        problems.push("the cluster still differs from the checkout".into());
                    }
                    DiffOutcome::Drift(objects) => {
                        problems.push(format!("the cluster still differs from the checkout: {}", objects.join(", ")));
                    }
                    DiffOutcome::Failed(why) => problems.push(format!("the diff could not be evaluated: {why}")),
                }
            }
        }
        Ok(Alignment { problems, revision, head })
    }
}

/// Why the applied `revision` does not show HEAD applied, if it does not.
fn revision_problem(checkout: &Checkout, name: &str, revision: &str, head: &str) -> Option<String> {
    let short = &head[..head.len().min(12)];
    let Some(commit) = commit_of(revision) else {
        return Some(format!("`{name}` has applied `{revision}`, which names no Git commit"));
    };
    if head.starts_with(commit) {
        return None;
    }
    match checkout.contains(commit, head) {
        Ok(Some(true)) => None,
        Ok(Some(false)) => Some(format!(
            "`{name}` has applied `{revision}`, which does not contain the checkout's HEAD {short} yet (Flux has not fetched it: `flux reconcile kustomization {name} --with-source`)"
        )),
        Ok(None) => Some(format!(
            "`{name}` has applied `{revision}`, a commit this checkout does not have (`git fetch`?), so it cannot be compared with HEAD {short}"
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// `a, b, c and 4 more`.
fn listed(items: &[String]) -> String {
    let mut out = items.iter().take(LISTED).map(String::as_str).collect::<Vec<_>>().join(", ");
    if items.len() > LISTED {
        out.push_str(&format!(" and {} more", items.len() - LISTED));
    }
    out
}

/// `./kubernetes/apps` → `kubernetes/apps`; `.` → the empty path; `None` for absolute paths and
/// `..`.
fn normalise(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for component in Path::new(path.trim()).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_inside_the_checkout() {
        assert_eq!(normalise("./kubernetes/apps").as_deref(), Some("kubernetes/apps"));
        assert_eq!(normalise("kubernetes/apps/").as_deref(), Some("kubernetes/apps"));
        assert_eq!(normalise(".").as_deref(), Some(""));
        assert_eq!(normalise("/etc"), None);
        assert_eq!(normalise("./../other"), None);
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (1..=12).map(|i| format!("f{i}")).collect();
        assert_eq!(listed(&items[..2]), "f1, f2");
        assert!(listed(&items).ends_with("f10 and 2 more"), "{}", listed(&items));
    }
}
