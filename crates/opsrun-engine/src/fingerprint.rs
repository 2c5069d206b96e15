//! Task fingerprints: what a task's result depends on, as a digest with named parts.
//!
//! A fingerprint covers the resolved commands, environment, directory, vars, preconditions and
//! status checks, the gate's condition (not its timings), the content of `sources`, and the
//! fingerprints of the task's dependencies. The parts are kept separately so `opsrun explain`
//! can say which one changed.
//!
//! The `sources` part is the sorted list of matching files, each as its path and the blake3
//! digest of its content; the digests come through a [`SourceCache`], which reads only the
//! files whose metadata changed. The digest does not depend on the cache.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use opsrun_spec::{ResolvedCmd, ResolvedCmdKind, ResolvedProbe, ResolvedTask};

use crate::sources::{FileDigest, SourceCache};

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
        Self::compute_cached(task, dep_digests, call_digests, root, &SourceCache::in_memory())
    }

    /// [`Fingerprint::compute_with_calls`] with the digests of source files from `sources`.
    pub(crate) fn compute_cached(
        task: &ResolvedTask,
        dep_digests: &[String],
        call_digests: &[String],
        root: &Path,
        sources: &SourceCache,
    ) -> Fingerprint {
        let sources_hex = sources_part(&task.dir, &task.sources, root, sources);
        let root = root.to_string_lossy();
        let norm = Normalizer { root: root.trim_end_matches('/') };
        let mut parts = BTreeMap::new();
        let mut p = Part { buf: Vec::with_capacity(512) };
        let put = |parts: &mut BTreeMap<String, String>, name: &str, p: &mut Part| {
            parts.insert(name.to_string(), p.digest(16));
        };
        hash_cmds(&mut p, &task.cmds, &norm);
        put(&mut parts, "cmds", &mut p);
        let dynamic = task.dynamic_env.iter().map(|d| (d.name.as_str(), Cow::Owned(format!("$({})", d.command))));
        hash_pairs(&mut p, task.env.iter().map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str()))).chain(dynamic), &norm);
        put(&mut parts, "env", &mut p);
        let vars = task.vars.iter().chain(task.call_vars.iter());
        hash_pairs(&mut p, vars.map(|(k, v)| (k.as_str(), Cow::Borrowed(v.as_str()))), &norm);
        put(&mut parts, "vars", &mut p);
        p.field(&norm.apply(&task.dir.to_string_lossy()));
        put(&mut parts, "dir", &mut p);
        for (sh, msg) in &task.preconditions {
            p.field(&norm.apply(sh));
            p.field(&norm.apply(msg.as_deref().unwrap_or("")));
        }
        for s in &task.status {
            p.field(&norm.apply(s));
        }
        put(&mut parts, "checks", &mut p);
        hash_gate(&mut p, task, &norm);
        put(&mut parts, "gate", &mut p);
        parts.insert("sources".to_string(), sources_hex);
        let mut deps: Vec<&String> = dep_digests.iter().collect();
        deps.sort();
        for d in deps {
            p.field(d);
        }
        put(&mut parts, "deps", &mut p);
        if !call_digests.is_empty() {
            for d in call_digests {
                p.field(d);
            }
            put(&mut parts, "calls", &mut p);
        }
        if task.shell != "sh" || task.interactive {
            p.field(&task.shell);
            p.field(&format!("{:?}{:?}{}", task.run, task.method, task.interactive));
            put(&mut parts, "shell", &mut p);
        }
        for (k, v) in &parts {
            p.field(k);
            p.field(v);
        }
        Fingerprint { digest: p.digest(32), parts }
    }

    /// The names of the parts that differ from `recorded`, in a stable order.
    pub fn changed_parts(&self, recorded: &BTreeMap<String, String>) -> Vec<String> {
        self.parts.iter().filter(|(k, v)| recorded.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect()
    }
}

/// The bytes of one part, hashed at once: the same digest as feeding the fields to a hasher
/// one by one, without a blake3 update (which has a cost of its own) for every field.
struct Part {
    buf: Vec<u8>,
}

impl Part {
    /// Adds `s`, length-prefixed so that `("ab", "c")` and `("a", "bc")` differ.
    fn field(&mut self, s: &str) {
        self.buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// The first `len` hex digits of the digest of the fields so far; the part is empty again.
    fn digest(&mut self, len: usize) -> String {
        if self.buf.is_empty() {
            // Most tasks leave most parts empty (no env, checks, gate, sources): hashed once.
            return empty_digest()[..len].to_string();
        }
        let hex = blake3::hash(&self.buf).to_hex();
        self.buf.clear();
        hex[..len].to_string()
    }
}

/// The hex digest of no bytes.
fn empty_digest() -> &'static str {
    static EMPTY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| blake3::hash(b"").to_hex().to_string())
}

/// Replaces the project's root directory in hashed text with a placeholder.
struct Normalizer<'a> {
    root: &'a str,
}

impl Normalizer<'_> {
    fn apply<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if self.root.len() > 1 && s.contains(self.root) {
            Cow::Owned(s.replace(self.root, "${ROOT_DIR}"))
        } else {
            Cow::Borrowed(s)
        }
    }
}

fn hash_cmds(p: &mut Part, cmds: &[ResolvedCmd], norm: &Normalizer<'_>) {
    for c in cmds {
        match &c.kind {
            ResolvedCmdKind::Shell(s) => p.field(&norm.apply(s)),
            ResolvedCmdKind::Task { name, vars } => {
                p.field("task");
                p.field(name);
                for (k, v) in vars {
                    p.field(k);
                    p.field(&norm.apply(&v.to_display_string()));
                }
            }
        }
        p.field(if c.ignore_error { "i" } else { "-" });
        // Only what changes behaviour, and only when present, so that fingerprints recorded
        // before these settings existed stay valid.
        if c.defer || !c.set.is_empty() || !c.shopt.is_empty() {
            p.field(&format!("{}{:?}{:?}", c.defer, c.set, c.shopt));
        }
    }
}

/// The pairs sorted (by name, then value), each normalised.
fn hash_pairs<'a>(p: &mut Part, pairs: impl Iterator<Item = (&'a str, Cow<'a, str>)>, norm: &Normalizer<'_>) {
    let mut sorted: Vec<_> = pairs.collect();
    sorted.sort();
    for (k, v) in sorted {
        p.field(k);
        p.field(&norm.apply(&v));
    }
}

fn hash_gate(p: &mut Part, task: &ResolvedTask, norm: &Normalizer<'_>) {
    if let Some(g) = &task.health {
        match &g.probe {
            ResolvedProbe::Cmd(c) => p.field(&norm.apply(c)),
            ResolvedProbe::Http { url, status, body, body_not, insecure_tls } => {
                p.field(url);
                p.field(&format!("{status:?}{body:?}{body_not:?}{insecure_tls}"));
            }
            ResolvedProbe::Tcp(a) => p.field(a),
            ResolvedProbe::Custom { name, with } => {
                p.field(name);
                for (k, v) in with {
                    p.field(&format!("{k}={v}"));
                }
            }
        }
        p.field(&format!(
            "{:?}{:?}{:?}{}",
            g.fatal_exit_codes, g.fatal_patterns, g.error_exit_codes, g.success_threshold
        ));
    }
}

/// The `sources` part: [`hash_sources`]'s digest (the empty one, known, without globs).
fn sources_part(dir: &Path, globs: &[String], root: &Path, cache: &SourceCache) -> String {
    if globs.is_empty() {
        return empty_digest()[..16].to_string();
    }
    hash_sources(dir, globs, root, cache).finalize().to_hex()[..16].to_string()
}

/// Hashes the sorted list of files matching `globs` (relative to `dir`) with their content:
/// each file's relative path, then its content's blake3 digest (or why it is unreadable).
/// Fingerprints in saved state depend on this sequence: keep it.
fn hash_sources(dir: &Path, globs: &[String], root: &Path, cache: &SourceCache) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    if globs.is_empty() {
        return h;
    }
    let (files, digests) = cache.files(dir, globs, root);
    // The same bytes as `field` and `update` file by file, handed to the hasher in large pieces
    // (a blake3 update has a cost of its own).
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut put = |h: &mut blake3::Hasher, bytes: &[u8]| {
        if buf.len() + bytes.len() > buf.capacity() {
            h.update(&buf);
            buf.clear();
        }
        buf.extend_from_slice(bytes);
    };
    for (file, digest) in files.iter().zip(digests) {
        put(&mut h, &(file.rel.len() as u64).to_le_bytes());
        put(&mut h, file.rel.as_bytes());
        match digest {
            FileDigest::Content(d) => put(&mut h, &d),
            FileDigest::Unreadable(kind) => {
                let why = format!("unreadable: {kind}");
                put(&mut h, &(why.len() as u64).to_le_bytes());
                put(&mut h, why.as_bytes());
            }
        }
    }
    h.update(&buf);
    h
}

pub use opsrun_spec::matching_files;

/// Static fingerprints, by node (see [`static_fingerprint`]).
pub(crate) type StaticMemo = std::collections::HashMap<opsrun_plan::TaskId, Fingerprint>;

/// The fingerprint of `node` computed from the plan alone (its dependencies' and callees' static
/// fingerprints, its sources' current content), memoised in `memo`. A caller's fingerprint
/// covers what it calls through these, since a callee has not run when its caller starts.
/// Before anything runs (`explain`), this is the fingerprint a run would compute.
pub(crate) fn static_fingerprint<'m>(
    plan: &opsrun_plan::Plan,
    node: opsrun_plan::TaskId,
    memo: &'m mut StaticMemo,
    sources: &SourceCache,
) -> &'m Fingerprint {
    if !memo.contains_key(&node) {
        // Placeholder against (refused) cycles.
        memo.insert(node, Fingerprint { digest: String::new(), parts: BTreeMap::new() });
        let deps: Vec<String> =
            plan.dependencies(node).map(|d| static_fingerprint(plan, d, memo, sources).digest.clone()).collect();
        let calls: Vec<String> =
            plan.callees(node).iter().map(|&c| static_fingerprint(plan, c, memo, sources).digest.clone()).collect();
        let fp = Fingerprint::compute_cached(plan.task(node), &deps, &calls, plan.root_dir(), sources);
        memo.insert(node, fp);
    }
    &memo[&node]
}

/// The digest of [`static_fingerprint`].
pub(crate) fn static_digest(
    plan: &opsrun_plan::Plan,
    node: opsrun_plan::TaskId,
    memo: &mut StaticMemo,
    sources: &SourceCache,
) -> String {
    static_fingerprint(plan, node, memo, sources).digest.clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as hashed before [`Part`]: length-prefixed.
    fn field(h: &mut blake3::Hasher, s: &str) {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }

    /// `hash_sources` as it was before the source cache: saved fingerprints depend on it.
    fn reference(dir: &Path, globs: &[String]) -> blake3::Hasher {
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

    /// `Fingerprint::compute_cached` as it was before its parts were hashed from one buffer:
    /// saved fingerprints depend on it.
    #[expect(clippy::too_many_lines, reason = "the old implementation, kept whole as the reference")]
    fn reference_fingerprint(
        task: &ResolvedTask,
        dep_digests: &[String],
        call_digests: &[String],
        root: &Path,
    ) -> Fingerprint {
        let sources_part = hash_sources(&task.dir, &task.sources, root, &SourceCache::in_memory());
        let root = root.to_string_lossy();
        let norm = Normalizer { root: root.trim_end_matches('/') };
        let mut parts = BTreeMap::new();
        let mut put = |name: &str, h: blake3::Hasher| {
            parts.insert(name.to_string(), h.finalize().to_hex()[..16].to_string());
        };
        let mut h = blake3::Hasher::new();
        for c in &task.cmds {
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
            if c.defer || !c.set.is_empty() || !c.shopt.is_empty() {
                field(&mut h, &format!("{}{:?}{:?}", c.defer, c.set, c.shopt));
            }
        }
        put("cmds", h);
        let pairs = |pairs: Vec<(&String, &String)>| {
            let mut sorted = pairs;
            sorted.sort();
            let mut h = blake3::Hasher::new();
            for (k, v) in sorted {
                field(&mut h, k);
                field(&mut h, &norm.apply(v));
            }
            h
        };
        let dynamic: Vec<(String, String)> =
            task.dynamic_env.iter().map(|d| (d.name.clone(), format!("$({})", d.command))).collect();
        put("env", pairs(task.env.iter().chain(dynamic.iter().map(|(k, v)| (k, v))).collect()));
        put("vars", pairs(task.vars.iter().chain(task.call_vars.iter()).collect()));
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
                &format!(
                    "{:?}{:?}{:?}{}",
                    g.fatal_exit_codes, g.fatal_patterns, g.error_exit_codes, g.success_threshold
                ),
            );
        }
        put("gate", h);
        put("sources", sources_part);
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

    /// Every kind of part, in tasks that have them and tasks that do not.
    const VARIED: &str = r#"
        [vars]
        GREETING = "hello"

        [tasks.plain]
        cmds = ["true"]

        [tasks.rich]
        desc = "everything a fingerprint covers"
        dir = "sub/dir"
        deps = ["plain"]
        vars = { NAME = "world", ROOTED = "{{.ROOT_DIR}}/x" }
        env = { B = "2", A = "{{.NAME}}", DYN = { sh = "echo dynamic" } }
        cmds = [
            "echo {{.GREETING}} {{.NAME}} in {{.ROOT_DIR}}",
            { cmd = "false", ignore_error = true },
            { defer = "echo bye" },
            { cmd = "echo piped | cat", set = ["pipefail"] },
            { cmd = "echo glob", shopt = ["globstar"] },
            { task = "called", vars = { X = "1", Y = "{{.NAME}}" } },
        ]
        preconditions = [{ sh = "test -d {{.ROOT_DIR}}", msg = "no root" }, "true"]
        status = ["test -f done"]
        sources = ["*.txt"]
        interactive = true
        shell = "bash"
        method = "timestamp"
        run = "always"
        [tasks.rich.health]
        cmd = "test -f {{.ROOT_DIR}}/ready"
        success_threshold = 2

        [tasks.called]
        cmds = ["echo {{.X}} {{.Y}}"]

        [tasks.http]
        cmds = ["true"]
        health = { http = "http://127.0.0.1:1/health", status = 204, body = "ok" }

        [tasks.tcp]
        cmds = ["true"]
        health = { tcp = "127.0.0.1:1" }
    "#;

    #[test]
    fn fingerprints_are_what_they_were_before() {
        use opsrun_spec::{Invocation, Resolver};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        let spec = opsrun_spec::load_str(&root.join("tasks.toml"), VARIED).unwrap();
        let resolver = Resolver::new(&spec, Invocation::default());
        let targets: Vec<String> = ["rich", "http", "tcp"].iter().map(|t| (*t).to_string()).collect();
        let plan = opsrun_plan::Plan::build(&resolver, &targets, &opsrun_plan::PlanOptions::default()).unwrap();
        let digests = ["0123456789abcdef0123456789abcdef".to_string(), "fedcba9876543210fedcba9876543210".to_string()];
        let mut seen = 0;
        for &node in plan.order() {
            let task = plan.task(node);
            for (deps, calls) in
                [(&digests[..0], &digests[..0]), (&digests[..], &digests[..1]), (&digests[1..], &digests[..])]
            {
                let fp = Fingerprint::compute_with_calls(task, deps, calls, plan.root_dir());
                assert_eq!(fp, reference_fingerprint(task, deps, calls, plan.root_dir()), "{}", task.key);
                seen += 1;
            }
        }
        assert!(seen >= 12, "{seen}");
    }

    #[test]
    fn the_sources_digest_is_what_it_was_before_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, content) in [("src/a.txt", "a"), ("src/b/c.yaml", "c"), ("empty", ""), ("src/b/d.txt", "dd")] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), content).unwrap();
        }
        std::os::unix::fs::symlink(root.join("src/a.txt"), root.join("src/link.txt")).unwrap();
        let cache = SourceCache::open(root.join(".opsrun"));
        for globs in [vec!["src/**/*".to_string()], vec!["**/*.txt".into(), "empty".into(), "src/b/*".into()], vec![]] {
            let expected = reference(root, &globs).finalize();
            assert_eq!(hash_sources(root, &globs, root, &cache).finalize(), expected, "{globs:?}");
            assert_eq!(hash_sources(root, &globs, root, &SourceCache::in_memory()).finalize(), expected);
            let sub = hash_sources(&root.join("src"), &["**/*".into()], root, &cache).finalize();
            assert_eq!(sub, reference(&root.join("src"), &["**/*".into()]).finalize());
        }
    }
}
