//! The emergency loop against the simulated cluster and a real Git checkout: a resume that
//! would revert the emergency fix is refused, a checkout that does not hold what Flux will
//! apply blocks it, alignment is a state that every command keeps warning about until
//! `override align` confirms it, and the incident record tells the story.
//!
//! The project directory is the GitOps repository (the real chain's `tasks.toml` at its root,
//! manifests under `kubernetes/apps`), pushed to a bare `origin` that the sim's Flux fetches;
//! the sim's Kustomization `apps` has `spec.path: ./kubernetes/apps`.

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::sim::{Mark, Sim, count};
use crate::support::Output;

/// The object the emergency changed by hand, and what it carries since.
const FIXED: &str = "ConfigMap/apps/ingress-config";
const FIX: &str = "replicas: 3";

#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=opsrun", "-c", "user.email=opsrun@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8").trim().to_owned()
}

/// Commits everything under `kubernetes/` with `message` (and pushes it when `push`).
fn commit(dir: &Path, message: &str, push: bool) {
    git(dir, &["add", "kubernetes"]);
    git(dir, &["commit", "-q", "-m", message]);
    if push {
        git(dir, &["push", "-q"]);
    }
}

/// A bootstrapped sim whose Flux follows the project's `origin`, with a Kustomization `apps`;
/// `gitops` is appended to the tasks file's `[gitops]` table.
fn gitops_cluster(gitops: &str) -> (Sim, TempDir, Output) {
    let sim = Sim::new();
    sim.config("kustomizations", "apps");
    let origin = tempfile::Builder::new().prefix("opsrun-origin-").tempdir().expect("a temp dir");
    let project = sim
        .project()
        .file(
            "kubernetes/apps/ingress.yaml",
            "kind: ConfigMap\nmetadata:\n  name: ingress-config\ndata:\n  replicas: 2\n",
        )
        .file(".gitignore", ".opsrun/\nkubeconfig\ntalosconfig\nclusterconfig/\n");
    let tasks = std::fs::read_to_string(project.path().join("tasks.toml")).expect("tasks.toml");
    let project = project.file("tasks.toml", &format!("{tasks}{gitops}"));
    let dir = project.path();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "the cluster"]);
    git(dir, &["remote", "add", "origin", origin.path().to_str().expect("UTF-8 path")]);
    git(dir, &["push", "-q", "-u", "origin", "main"]);
    sim.config("git-repo", origin.path().to_str().expect("UTF-8 path"));
    let out = sim.opsrun(project, &["bootstrap"], &[]).run();
    out.status(0);
    (sim, origin, out)
}

fn audit(out: &Output) -> Vec<serde_json::Value> {
    out.read(".opsrun/audit.jsonl").lines().map(|l| serde_json::from_str(l).expect("an audit line")).collect()
}

fn overrides(out: &Output) -> Vec<serde_json::Value> {
    serde_json::from_str(&out.read(".opsrun/overrides.json")).expect("overrides.json is JSON")
}

/// The one stage of `apps` in `overrides.json`.
fn stage(out: &Output) -> String {
    let records = overrides(out);
    assert_eq!(records.len(), 1, "{records:#?}");
    records[0]["stage"].as_str().expect("a stage").to_owned()
}

/// Lines of `calls` by `tool` with `words` in them.
fn calls_with(calls: &[String], prefix: &str) -> Vec<String> {
    calls.iter().filter(|c| c.starts_with(prefix)).cloned().collect()
}

fn suspend(sim: &Sim, out: Output, reason: &str) -> Output {
    let suspend = sim.env(out.then()).args(&["override", "suspend", "apps", "--reason", reason]).run();
    suspend.status(0);
    suspend
}

fn flux_resumes(sim: &Sim, mark: Mark) -> usize {
    count(&sim.calls_since(mark), "flux resume kustomization apps")
}

#[test]
fn a_resume_that_would_revert_the_fix_is_refused_unless_allowed() {
    let (sim, _origin, out) = gitops_cluster("");
    let out = suspend(&sim, out, "ingress outage: scale to 3 by hand");
    sim.drift("apps", FIXED, FIX);

    let mark = sim.mark();
    let refused = sim.env(out.then()).args(&["override", "resume", "apps", "--reason", "outage over"]).run();
    refused.status(7).stdout_contains(&format!("{FIXED} drifted")).stdout_contains(&format!("- {FIX}"));
    refused.stderr_contains("refusing to resume `apps`").stderr_contains(&format!("Flux would revert {FIXED} drifted"));
    refused.stderr_contains("--allow-revert");
    let calls = sim.calls_since(mark);
    assert_eq!(flux_resumes(&sim, mark), 0, "flux resume ran: {calls:#?}");
    let project = refused.path().canonicalize().expect("the project dir");
    let diff = calls_with(&calls, "flux diff");
    assert_eq!(diff.len(), 1, "{calls:#?}");
    assert!(diff[0].starts_with("flux diff kustomization apps --path "), "{diff:?}");
    assert!(
        diff[0].contains(&format!("{}/kubernetes/apps", project.display())),
        "PATH is not the checkout's: {diff:?}"
    );
    assert_eq!(calls_with(&calls, "kubectl get kustomization apps").len(), 1, "spec.path read: {calls:#?}");
    assert!(sim.path().join("state/flux/suspended/apps").exists(), "the Kustomization was resumed");
    assert_eq!(stage(&refused), "suspended");
    let entry = audit(&refused).pop().expect("an audit entry");
    assert_eq!(
        (&entry["action"], &entry["ok"], &entry["exit_code"]),
        (&"resume".into(), &false.into(), &serde_json::Value::Null)
    );
    assert_eq!(entry["drift"], serde_json::json!([format!("{FIXED} drifted")]));
    assert!(entry.get("allow_revert").is_none(), "{entry:#}");
    assert_eq!(entry["reason"], "outage over");

    // Still suspended: every command still warns.
    let list = refused.then().args(&["list"]).run();
    list.stderr_contains("GitOps override active: `apps` suspended");

    let mark = sim.mark();
    let allowed = sim.env(list.then()).args(&["override", "resume", "apps", "--allow-revert"]).run();
    allowed.status(0).stdout_contains("--allow-revert: resuming anyway").stdout_contains("resumed `apps`");
    assert_eq!(flux_resumes(&sim, mark), 1);
    assert!(!sim.path().join("state/flux/suspended/apps").exists());
    let entries = audit(&allowed);
    let resume = entries.iter().rev().find(|e| e["action"] == "resume").expect("the resume");
    assert_eq!((&resume["ok"], &resume["allow_revert"]), (&true.into(), &true.into()), "{resume:#}");
    assert_eq!(resume["drift"], serde_json::json!([format!("{FIXED} drifted")]));
    // Flux reverted the fix, so Git and the cluster agree again: aligned at once.
    allowed.stdout_contains("aligned: `apps` is Ready");
    assert_eq!(entries.last().expect("entries")["action"], "align");
    assert_eq!(stage(&allowed), "aligned");
    allowed.then().args(&["list"]).run().output_lacks("warning:");
}

#[test]
fn a_committed_fix_resumes_but_is_aligned_only_once_flux_applied_it() {
    let (sim, _origin, out) = gitops_cluster("");
    let out = suspend(&sim, out, "ingress outage");
    sim.drift("apps", FIXED, FIX);
    // The fix goes to Git, as the framework asks; the cluster already has it: no drift.
    let dir = out.path().to_path_buf();
    std::fs::write(dir.join("kubernetes/apps/ingress.yaml"), format!("kind: ConfigMap\ndata:\n  {FIX}\n")).unwrap();
    commit(&dir, "EMERGENCY: three ingress replicas", true);
    let head = git(&dir, &["rev-parse", "HEAD"]);

    let mark = sim.mark();
    let resume = sim.env(out.then()).args(&["override", "resume", "apps"]).run();
    resume.status(0).stdout_contains("no drift").stdout_contains("resumed `apps`");
    assert_eq!(flux_resumes(&sim, mark), 1);
    // Flux's source has not fetched the fix yet, so the resume applied the old revision.
    resume.stdout_contains("not aligned yet").stdout_contains("does not contain the checkout's HEAD");
    assert_eq!(stage(&resume), "resumed");

    // Every command warns until it is aligned; `override list` shows the stage.
    let list = resume.then().args(&["override", "list"]).run();
    list.stderr_contains("GitOps override not aligned yet: `apps` resumed").stdout_contains("resumed");
    let align = sim.env(list.then()).args(&["override", "align", "apps"]).run();
    align
        .status(4)
        .stdout_contains("does not contain the checkout's HEAD")
        .stdout_contains(&format!("{FIXED} drifted"));

    // Flux fetches and applies the fix. Ready, revision and diff are each needed:
    sim.tool(align.path(), &["flux", "reconcile", "kustomization", "apps", "--with-source"]);
    sim.config(
        "ks-failing-apps",
        "health check failed after 30s: timeout waiting for: [Deployment/apps/web status: 'InProgress']",
    );
    let not_ready = sim.env(align.then()).args(&["override", "align", "apps"]).run();
    not_ready.status(4).stdout_contains("`apps` is not Ready (READY False: health check failed");
    assert!(!not_ready.stdout().contains("does not contain the checkout's HEAD"), "{}", not_ready.stdout());
    assert!(!not_ready.stdout().contains("drifted"), "{}", not_ready.stdout());
    std::fs::remove_file(sim.path().join("config/ks-failing-apps")).unwrap();
    sim.drift("apps", "Secret/apps/web-tls", "tls.crt: emergency");
    let drifted = sim.env(not_ready.then()).args(&["override", "align", "apps"]).run();
    drifted.status(4).stdout_contains("still differs from the checkout: Secret/apps/web-tls drifted");
    assert!(!drifted.stdout().contains("is not Ready"), "{}", drifted.stdout());
    assert!(!drifted.stdout().contains("HEAD"), "{}", drifted.stdout());
    sim.simctl(&["drift", "apps", "off"]);
    let warned = drifted.then().args(&["list"]).run();
    warned.stderr_contains("not aligned yet");

    let aligned = sim.env(warned.then()).args(&["override", "align", "apps"]).run();
    aligned.status(0).stdout_contains(&format!("contains the checkout's HEAD {}", &head[..12]));
    assert_eq!(stage(&aligned), "aligned");
    let records = overrides(&aligned);
    // `flux get` shortens the hash; the shortened one is matched against HEAD.
    assert_eq!(records[0]["aligned"]["revision"], format!("main@sha1:{}", &head[..12]), "{records:#?}");
    let list = aligned.then().args(&["override", "list"]).run();
    list.output_lacks("warning:").stdout_contains("aligned");
}

#[test]
fn a_checkout_flux_cannot_see_blocks_the_resume_naming_what_is_missing() {
    let (sim, _origin, out) = gitops_cluster("");
    let out = suspend(&sim, out, "ingress outage");
    let dir = out.path().to_path_buf();
    std::fs::write(dir.join("kubernetes/apps/ingress.yaml"), format!("data:\n  {FIX}\n")).unwrap();
    std::fs::write(dir.join("kubernetes/apps/hotfix.yaml"), "kind: NetworkPolicy\n").unwrap();

    let mark = sim.mark();
    let dirty = sim.env(out.then()).args(&["override", "resume", "apps"]).run();
    dirty.status(7).stderr_contains("uncommitted changes under `kubernetes/apps`");
    dirty.stderr_contains(" M kubernetes/apps/ingress.yaml").stderr_contains("?? kubernetes/apps/hotfix.yaml");
    let calls = sim.calls_since(mark);
    assert!(calls_with(&calls, "flux").is_empty(), "neither a diff nor a resume may run: {calls:#?}");

    commit(&dir, "EMERGENCY: three replicas and a policy", false);
    let mark = sim.mark();
    let unpushed = sim.env(dirty.then()).args(&["override", "resume", "apps"]).run();
    unpushed.status(7).stderr_contains("1 commit not on `origin/main` yet");
    unpushed.stderr_contains("EMERGENCY: three replicas and a policy");
    assert!(!unpushed.stderr().contains("uncommitted"), "{}", unpushed.stderr());
    assert!(calls_with(&sim.calls_since(mark), "flux").is_empty(), "{:#?}", sim.calls_since(mark));
    let entry = audit(&unpushed).pop().expect("an audit entry");
    assert_eq!((&entry["action"], &entry["ok"]), (&"resume".into(), &false.into()));
    assert!(entry["problems"][0].as_str().is_some_and(|p| p.contains("not on `origin/main`")), "{entry:#}");

    // Once pushed, changes outside the Kustomization's path do not matter.
    git(&dir, &["push", "-q"]);
    std::fs::write(dir.join("NOTES.md"), "what happened\n").unwrap();
    let mark = sim.mark();
    let resumed = sim.env(unpushed.then()).args(&["override", "resume", "apps"]).run();
    resumed.status(0).stdout_contains("no drift").stdout_contains("resumed `apps`");
    assert_eq!(flux_resumes(&sim, mark), 1);
}

#[test]
fn a_drift_check_that_cannot_be_evaluated_blocks_the_resume() {
    // The path comes from the tasks file, so the checks do not need the cluster for it.
    let (sim, _origin, out) = gitops_cluster("timeout = \"1s\"\n\n[gitops.paths]\napps = \"./kubernetes/apps\"\n");
    let out = suspend(&sim, out, "ingress outage");

    sim.fault("api-broken", true);
    let mark = sim.mark();
    let error = sim.env(out.then()).args(&["override", "resume", "apps"]).run();
    error.status(7).stderr_contains("the drift check could not be evaluated (exit code 1 without a list of changes");
    error.stderr_contains("connection refused");
    let calls = sim.calls_since(mark);
    assert_eq!(flux_resumes(&sim, mark), 0, "{calls:#?}");
    assert!(calls_with(&calls, "kubectl").is_empty(), "[gitops.paths] was not used: {calls:#?}");
    sim.fault("api-broken", false);

    sim.fault("flux-probe-hangs", true);
    let mark = sim.mark();
    let hang = sim.env(error.then()).args(&["override", "resume", "apps"]).run();
    hang.status(7).stderr_contains("could not be evaluated (timed out after 1.0s (`[gitops] timeout`))");
    assert_eq!(flux_resumes(&sim, mark), 0);
    sim.fault("flux-probe-hangs", false);
    let entries = audit(&hang);
    let checks = &entries.last().expect("an entry")["checks"];
    assert_eq!(checks[1]["what"], "diff", "{checks:#}");
    assert!(checks[1]["duration_ms"].as_u64().is_some_and(|ms| (1000..10_000).contains(&ms)), "{checks:#}");
    assert!(sim.path().join("state/flux/suspended/apps").exists());
}

/// Asserts that `doc` is a well-formed Markdown document of the shape `incident report` writes:
/// one title, headings that nest one level at a time, code spans closed on their line.
fn assert_markdown(doc: &str) {
    let mut lines = doc.lines();
    assert_eq!(lines.next(), Some("# Incident record"), "{doc}");
    let mut level = 1;
    let mut fence: Option<String> = None;
    for line in doc.lines().skip(1) {
        // Fenced code blocks (multi-line commands) are literal: no headings, no spans.
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed == open.as_str() {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some(trimmed.chars().take_while(|c| *c == '`').collect());
            assert!(trimmed.ends_with("sh"), "a fence without its language: {line:?}");
            continue;
        }
        if line.starts_with('#') {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            assert!((2..=level + 1).contains(&hashes), "heading out of order: {line:?}\n{doc}");
            assert!(line[hashes..].starts_with(' ') && line.len() > hashes + 1, "bad heading {line:?}");
            level = hashes;
        }
        let bytes = line.as_bytes();
        let ticks = (0..bytes.len()).filter(|&i| bytes[i] == b'`' && (i == 0 || bytes[i - 1] != b'\\')).count();
        assert!(ticks % 2 == 0, "a code span is not closed: {line:?}");
    }
    assert!(fence.is_none(), "a fenced block is not closed:\n{doc}");
    assert!(!doc.contains("\n\n\n"), "blank lines pile up:\n{doc}");
}

/// Checks the JSON form of the story's record; returns the recovery's run id.
fn assert_json_record(record: &serde_json::Value, reason: &str) -> String {
    let timeline = record["timeline"].as_array().expect("a timeline");
    let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in ["assessment", "recovery", "run", "override"] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let suspend = timeline.iter().find(|e| e["kind"] == "override" && e["action"] == "suspend").expect("the suspend");
    assert_eq!(suspend["reason"], reason);
    let resumes: Vec<&serde_json::Value> =
        timeline.iter().filter(|e| e["kind"] == "override" && e["action"] == "resume").collect();
    assert_eq!(resumes.len(), 2, "{resumes:#?}");
    assert_eq!(
        (&resumes[0]["ok"], &resumes[1]["ok"], &resumes[1]["allow_revert"]),
        (&false.into(), &true.into(), &true.into())
    );
    let recovery = timeline.iter().find(|e| e["kind"] == "recovery").expect("the recovery");
    assert_eq!(recovery["outcome"], "recovered");
    let cilium =
        recovery["tasks"].as_array().and_then(|t| t.iter().find(|t| t["task"] == "cilium")).expect("cilium ran");
    assert!(cilium["commands"].as_array().is_some_and(|c| !c.is_empty()), "{cilium:#}");
    assert_eq!(record["unaligned"], serde_json::json!([]));
    let review = record["review"].as_array().expect("review");
    assert_eq!(review.len(), 3);
    assert!(review.iter().flat_map(|s| s["questions"].as_array().unwrap()).all(|q| q["answer"] == ""));

    recovery["run"].as_str().expect("the recovery's run").to_owned()
}

#[test]
fn the_incident_record_tells_the_whole_story() {
    let (sim, _origin, out) = gitops_cluster("");
    let reason = "cilium *down*: apps pinned <by hand>";
    // Override, detection, repair, a refused resume: the record shows what is still open.
    let out = suspend(&sim, out, reason);
    sim.drift("apps", FIXED, FIX);
    sim.fault("cilium-broken", true);
    let detected = sim.opsrun(out.then(), &["status"], &[]).run();
    detected.status(4);
    let recovery = sim.opsrun(detected.then(), &["emergency-recovery", "--yes"], &[]).run();
    recovery.status(0);
    let healthy = sim.opsrun(recovery.then(), &["status"], &[]).run();
    healthy.status(0);
    // A routine healthy status is not journaled: only the first one after trouble is.
    let healthy = sim.opsrun(healthy.then(), &["status"], &[]).run();
    healthy.status(0);
    assert_eq!(healthy.lines(".opsrun/assessments.jsonl"), 3, "{}", healthy.read(".opsrun/assessments.jsonl"));
    let refused = sim.env(healthy.then()).args(&["override", "resume", "apps"]).run();
    refused.status(7);
    let open = refused.then().args(&["incident", "report"]).run();
    open.status(0)
        .stdout_contains("- **not aligned yet:** `apps`")
        .stdout_contains("## Not aligned yet\n\n- `apps`: suspended");

    let resumed = sim
        .env(open.then())
        .args(&["override", "resume", "apps", "--allow-revert", "--reason", "reverted; fix in Git next"])
        .run();
    resumed.status(0).stdout_contains("aligned: `apps`");

    let report = resumed.then().args(&["incident", "report"]).run();
    report.status(0);
    let doc = report.stdout();
    assert_markdown(doc);
    for needle in [
        "cilium \\*down\\*: apps pinned \\<by hand\\>",
        ": assessment of `bootstrap`: NOT operational",
        "- **Unhealthy:** `cilium` not ready",
        ": emergency recovery of `bootstrap`: recovered",
        "`helm upgrade --install cilium",
        ": override suspend `apps`: done",
        ": override resume `apps`: refused",
        &format!("- **Drift:** `{FIXED} drifted`"),
        "- **Problem:** Flux would revert",
        ": override resume `apps`: done",
        "- **`--allow-revert`:** the operator accepted that Flux reverts the drift",
        "- **Reason:** reverted; fix in Git next",
        "- **Command:** `flux resume kustomization apps -n flux-system` → exit 0",
        ": override align `apps`: aligned",
        "- every override is aligned",
        "## For the post-incident review",
        "What was the root cause of the emergency?",
    ] {
        assert!(doc.contains(needle), "the record lacks {needle:?}:\n{doc}");
    }
    // Oldest first: suspension, detection, recovery, the refused resume, the resume, alignment.
    let order = [
        "override suspend `apps`",
        "assessment of `bootstrap`: NOT operational",
        "emergency recovery of `bootstrap`",
        "override resume `apps`: refused",
        "override resume `apps`: done",
        "override align `apps`: aligned",
    ];
    let positions: Vec<usize> = order.iter().map(|n| doc.find(n).expect("present")).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order {positions:?}:\n{doc}");

    let json = report.then().args(&["--output", "json", "incident", "report"]).run();
    json.status(0);
    let record: serde_json::Value = serde_json::from_str(json.stdout()).expect("incident report --output json is JSON");
    let run = assert_json_record(&record, reason);

    // --run: the incident around the recovery reaches back to the suspension still open then
    // and to the detection.
    let by_run = json.then().args(&["--output", "json", "incident", "report", "--run", &run]).run();
    by_run.status(0);
    let narrowed: serde_json::Value = serde_json::from_str(by_run.stdout()).expect("JSON");
    assert!(narrowed["window"]["selected_by"].as_str().is_some_and(|s| s.contains("widened")), "{narrowed:#}");
    let entries = narrowed["timeline"].as_array().expect("a timeline");
    assert_eq!((&entries[0]["kind"], &entries[0]["action"]), (&"override".into(), &"suspend".into()), "{entries:#?}");
    assert!(entries.iter().any(|e| e["kind"] == "assessment" && e["operational"] == false), "{entries:#?}");
    assert!(
        !entries.iter().any(|e| e["kind"] == "run" && e["name"] == "bootstrap"),
        "the bootstrap before is not part of it"
    );

    let unknown = by_run.then().args(&["incident", "report", "--run", "nope"]).run();
    unknown.status(2).stderr_contains("no run `nope`");
    let bad = unknown.then().args(&["incident", "report", "--since", "yesterday"]).run();
    bad.status(2).stderr_contains("neither a duration");
}

#[test]
fn what_the_checks_show_and_record_is_masked() {
    // No cluster here: the `[gitops]` commands are stand-ins that print a secret of the tasks
    // file, as a real tool may when it echoes its configuration.
    let origin = tempfile::Builder::new().prefix("opsrun-origin-").tempdir().expect("a temp dir");
    let project = crate::support::Test::new()
        .tasks(
            r#"
[env]
FLUX_TOKEN = { sh = "echo hunter2-token", secret = true }

[tasks.noop]
cmds = ["true"]

[gitops]
suspend = "true"
resume = "true"
diff = "echo \"► Secret/apps/token-$FLUX_TOKEN drifted\"; exit 1"

[gitops.paths]
apps = "./k"
"#,
        )
        .file("k/app.yaml", "a: 1\n")
        .file(".gitignore", ".opsrun/\n");
    let dir = project.path().to_path_buf();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "one"]);
    git(&dir, &["remote", "add", "origin", origin.path().to_str().expect("UTF-8 path")]);
    git(&dir, &["push", "-q", "-u", "origin", "main"]);

    let suspended = project.args(&["override", "suspend", "apps", "--reason", "token rotation"]).run();
    suspended.status(0);
    let refused = suspended.then().args(&["override", "resume", "apps"]).run();
    refused
        .status(7)
        .stdout_contains("Secret/apps/token-**** drifted")
        .stderr_contains("Flux would revert Secret/apps/token-****");
    refused.output_lacks("hunter2");
    let audit = refused.read(".opsrun/audit.jsonl");
    assert!(audit.contains("Secret/apps/token-****") && !audit.contains("hunter2"), "{audit}");
}
