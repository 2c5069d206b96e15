//! Task fingerprints: what a task's result depends on, as a digest with named parts.
//!
//! A fingerprint covers the resolved commands, environment, directory, vars, preconditions and
//! status checks, the gate's condition (not its timings), the content of `sources`, and the
//! fingerprints of the task's dependencies. The parts are kept separately so `opsrun explain`
//! can say which one changed.

use std::collections::BTreeMap;
use std::path::Path;

use opsrun_spec::{ResolvedCmd, ResolvedCmdKind, ResolvedProbe, ResolvedTask};

/// A task's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The digest of all parts.
    pub digest: String,
    /// Digest per part name.
    pub parts: BTreeMap<String, String>,
}

impl Fingerprint {
    /// Computes the fingerprint of `task` whose dependencies have `dep_digests`. Paths under
    /// `root` (the project's directory) are hashed relative to it, so moving or re-cloning the
    /// project does not make every task look changed.
    pub fn compute(task: &ResolvedTask, dep_digests: &[String], root: &Path) -> Fingerprint {
        Self::compute_with_calls(task, dep_digests, &[], root)
    }

    /// [`Fingerprint::compute`] for a task that calls other tasks: `call_digests` are the
    /// fingerprints of what it calls (see `static_digest`), so that editing a called task
    /// makes its caller run again on resume.
    pub fn compute_with_calls(
        task: &ResolvedTask,
        dep_digests: &[String],
        call_digests: &[String],
        root: &Path,
    ) -> Fingerprint {
        let root = root.to_string_lossy();
        let norm = Normalizer { root: root.trim_end_matches('/') };
        let mut parts = BTreeMap::new();
        let mut put = |name: &str, h: blake3::Hasher| {
            parts.insert(name.to_string(), h.finalize().to_hex()[..16].to_string());
        };
        put("cmds", hash_cmds(&task.cmds, &norm));
        let dynamic: Vec<(String, String)> =
            task.dynamic_env.iter().map(|d| (d.name.clone(), format!("$({})", d.command))).collect();
        put("env", hash_pairs(task.env.iter().chain(dynamic.iter().map(|(k, v)| (k, v))), &norm));
        put("vars", hash_pairs(task.vars.iter().chain(task.call_vars.iter()), &norm));
        let mut h = blake3::Hasher::new();
        field(&mut h, &norm.apply(&task.dir.to_string_lossy()));
        put("dir", h);
        let mut h = blake3::Hasher::new();
        for (sh, msg) in &task.preconditions {
            field(&mut h, &norm.apply(sh));
            field(&mut h, &norm.apply(msg.as_deref().unwrap_or("")));
        }
        for s in &task.status {
            field(&mut h, &norm.apply(s));
        }
        put("checks", h);
        put("gate", hash_gate(task, &norm));
        put("sources", hash_sources(&task.dir, &task.sources));
        let mut deps: Vec<&String> = dep_digests.iter().collect();
        deps.sort();
        let mut h = blake3::Hasher::new();
        for d in deps {
            field(&mut h, d);
        }
        put("deps", h);
        if !call_digests.is_empty() {
            let mut h = blake3::Hasher::new();
            for d in call_digests {
                field(&mut h, d);
            }
            put("calls", h);
        }
        let mut h = blake3::Hasher::new();
        field(&mut h, &task.shell);
        field(&mut h, &format!("{:?}{:?}{}", task.run, task.method, task.interactive));
        if task.shell != "sh" || task.interactive {
            put("shell", h);
        }
        let mut all = blake3::Hasher::new();
        for (k, v) in &parts {
            field(&mut all, k);
            field(&mut all, v);
        }
        Fingerprint { digest: all.finalize().to_hex()[..32].to_string(), parts }
    }

    /// The names of the parts that differ from `recorded`, in a stable order.
    pub fn changed_parts(&self, recorded: &BTreeMap<String, String>) -> Vec<String> {
        self.parts.iter().filter(|(k, v)| recorded.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect()
    }
}

/// Length-prefixed so that `("ab", "c")` and `("a", "bc")` differ.
fn field(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// Replaces the project's root directory in hashed text with a placeholder.
struct Normalizer<'a> {
    root: &'a str,
}

impl Normalizer<'_> {
    fn apply<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        if self.root.len() > 1 && s.contains(self.root) {
            std::borrow::Cow::Owned(s.replace(self.root, "${ROOT_DIR}"))
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    }
}

fn hash_cmds(cmds: &[ResolvedCmd], norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    for c in cmds {
        match &c.kind {
            ResolvedCmdKind::Shell(s) => field(&mut h, &norm.apply(s)),
            ResolvedCmdKind::Task { name, vars } => {
                field(&mut h, "task");
                field(&mut h, name);
                for (k, v) in vars {
                    field(&mut h, k);
                    field(&mut h, &norm.apply(&v.to_display_string()));
                }
            }
        }
        field(&mut h, if c.ignore_error { "i" } else { "-" });
        // Only what changes behaviour, and only when present, so that fingerprints recorded
        // before these settings existed stay valid.
        if c.defer || !c.set.is_empty() || !c.shopt.is_empty() {
            field(&mut h, &format!("{}{:?}{:?}", c.defer, c.set, c.shopt));
        }
    }
    h
}

fn hash_pairs<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>, norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut sorted: Vec<_> = pairs.collect();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    for (k, v) in sorted {
        field(&mut h, k);
        field(&mut h, &norm.apply(v));
    }
    h
}

fn hash_gate(task: &ResolvedTask, norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    if let Some(g) = &task.health {
        match &g.probe {
            ResolvedProbe::Cmd(c) => field(&mut h, &norm.apply(c)),
            ResolvedProbe::Http { url, status, body, body_not, insecure_tls } => {
                field(&mut h, url);
                field(&mut h, &format!("{status:?}{body:?}{body_not:?}{insecure_tls}"));
            }
            ResolvedProbe::Tcp(a) => field(&mut h, a),
            ResolvedProbe::Custom { name, with } => {
                field(&mut h, name);
                for (k, v) in with {
                    field(&mut h, &format!("{k}={v}"));
                }
            }
        }
        field(
            &mut h,
            &format!("{:?}{:?}{:?}{}", g.fatal_exit_codes, g.fatal_patterns, g.error_exit_codes, g.success_threshold),
        );
    }
    h
}

/// Hashes the sorted list of files matching `globs` (relative to `dir`) with their content.
fn hash_sources(dir: &Path, globs: &[String]) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    for (path, rel) in matching_files(dir, globs) {
        field(&mut h, &rel);
        match std::fs::read(&path) {
            Ok(bytes) => {
                h.update(blake3::hash(&bytes).as_bytes());
            }
            Err(e) => field(&mut h, &format!("unreadable: {}", e.kind())),
        }
    }
    h
}

pub use opsrun_spec::matching_files;

/// The fingerprint of `node` computed from the plan alone (its dependencies' and callees' static
/// fingerprints, its sources' current content), memoised in `memo`. A caller's fingerprint
/// covers what it calls through these, since a callee has not run when its caller starts.
pub(crate) fn static_digest(
    plan: &opsrun_plan::Plan,
    node: opsrun_plan::TaskId,
    memo: &mut std::collections::HashMap<opsrun_plan::TaskId, String>,
) -> String {
    if let Some(d) = memo.get(&node) {
        return d.clone();
    }
    // Placeholder against (refused) cycles.
    memo.insert(node, String::new());
    let deps: Vec<String> = plan.dependencies(node).map(|d| static_digest(plan, d, memo)).collect();
    let calls: Vec<String> = plan.callees(node).iter().map(|&c| static_digest(plan, c, memo)).collect();
    let digest = Fingerprint::compute_with_calls(plan.task(node), &deps, &calls, plan.root_dir()).digest;
    memo.insert(node, digest.clone());
    digest
}

/// go-task's `method = "timestamp"`: up to date when every generated file exists and none is
/// older than the newest source. Without `generates` there is nothing to compare with, so the
/// task runs.
pub(crate) fn timestamps_up_to_date(dir: &Path, sources: &[String], generates: &[String]) -> bool {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_source = matching_files(dir, sources).iter().filter_map(|(abs, _)| mtime(abs)).max();
    let generated: Vec<_> = generates.iter().map(|g| matching_files(dir, std::slice::from_ref(g))).collect();
    if generated.is_empty() || generated.iter().any(Vec::is_empty) {
        return false;
    }
    let oldest_generated = generated.iter().flatten().filter_map(|(abs, _)| mtime(abs)).min();
    match (newest_source, oldest_generated) {
        (Some(s), Some(g)) => s <= g,
        (None, Some(_)) => true,
        _ => false,
    }
}
