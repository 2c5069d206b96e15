//! `opsrun status`, `opsrun emergency-recovery` and `opsrun override` against the simulated
//! cluster: a healthy cluster is left alone, a broken layer is repaired from that layer up and
//! never below it, nothing changes without a confirmation, and GitOps overrides reach Flux and
//! are audited.

use crate::sim::{Sim, assert_foundation_untouched, changes, count};
use crate::support::{Output, Test, assert_no_process};

/// The rows of the table that follows the line `title` on stdout: (stage, column `column`).
fn table_column<'o>(out: &'o Output, title: &str, column: &str) -> Vec<(&'o str, &'o str)> {
    let mut lines =
        out.stdout().lines().skip_while(|l| !l.starts_with(title)).skip(1).skip_while(|l| l.trim().is_empty());
    let header = lines.next().unwrap_or_else(|| panic!("no table after {title:?}\n{}", out.stdout()));
    let start = header.find(column).unwrap_or_else(|| panic!("no column {column:?} in {header:?}"));
    lines
        .take_while(|l| !l.trim().is_empty())
        .map(|row| {
            let stage = row.split_whitespace().next().unwrap_or_default();
            let cell = row.get(start..).unwrap_or_default();
            // Columns are separated by at least two spaces; a cell may contain one (`not ready`).
            (stage, cell.split("  ").next().unwrap_or_default().trim())
        })
        .collect()
}

/// Asserts that every stage of a table column reads `healthy`.
fn assert_all_healthy(rows: &[(&str, &str)], out: &Output) {
    assert_eq!(rows.len(), 6, "not one row per stage: {rows:?}\n{}", out.stdout());
    for (stage, health) in rows {
        assert_eq!(*health, "healthy", "{stage} is {health}\n{}", out.stdout());
    }
}

/// The entries of `.opsrun/recoveries.jsonl`.
fn recoveries(out: &Output) -> Vec<serde_json::Value> {
    if !out.exists(".opsrun/recoveries.jsonl") {
        return Vec::new();
    }
    out.read(".opsrun/recoveries.jsonl").lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

#[test]
fn a_healthy_cluster_is_reported_and_left_alone() {
    let sim = Sim::new();
    let out = sim.bootstrapped();

    let mark = sim.mark();
    let status = sim.opsrun(out.then(), &["status"], &[]).run();
    status.status(0).stdout_contains("cluster is operational");
    assert_all_healthy(&table_column(&status, "bootstrap: health of every stage", "health"), &status);

    let json = sim.opsrun(status.then(), &["--output", "json", "status"], &[]).run();
    json.status(0);
    let report: serde_json::Value = serde_json::from_str(json.stdout()).expect("status --output json is JSON");
    assert_eq!(report["operational"], true, "{report:#}");
    assert_eq!(report["first_unhealthy"], serde_json::Value::Null, "{report:#}");
    let stages = report["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 6);
    assert!(stages.iter().all(|s| s["health"] == "healthy"), "{report:#}");

    let recovery = sim.opsrun(json.then(), &["emergency-recovery", "--yes"], &[]).run();
    recovery.status(0).stdout_contains("every layer is healthy").stdout_contains("nothing was run");
    assert!(
        recoveries(&recovery).is_empty()
            || recoveries(&recovery).iter().all(|r| r["plan"].as_array().is_some_and(Vec::is_empty))
    );
    let calls = sim.calls_since(mark);
    assert!(changes(&calls).is_empty(), "status or a no-op recovery changed the cluster: {:#?}", changes(&calls));
}

#[test]
fn broken_cilium_is_recovered_from_cilium_up() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    sim.fault("cilium-broken", true);

    let mark = sim.mark();
    let status = sim.opsrun(out.then(), &["status"], &[]).run();
    status.status(4).stdout_contains("first unhealthy layer is `cilium`");
    let health = table_column(&status, "bootstrap: health of every stage", "health");
    assert_eq!(health.iter().find(|(_, h)| *h != "healthy").map(|r| r.0), Some("cilium"), "{health:?}");

    let assess = sim.opsrun(status.then(), &["emergency-recovery", "--assess-only"], &[]).run();
    assess.status(4).stdout_contains("first broken layer: `cilium`").stdout_contains("nothing was run");
    let plan: Vec<&str> = assess
        .stdout()
        .lines()
        .skip_while(|l| !l.starts_with("recovery plan"))
        .skip(1)
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(plan, ["cilium", "onepassword", "external-secrets", "flux"], "{}", assess.stdout());
    assert!(changes(&sim.calls_since(mark)).is_empty(), "assessing changed the cluster: {:#?}", sim.calls_since(mark));

    let mark = sim.mark();
    let recovery = sim.opsrun(assess.then(), &["emergency-recovery", "--yes"], &[]).run();
    recovery.status(0).stdout_contains("every layer is healthy again");
    assert_all_healthy(&table_column(&recovery, "before / after recovery", "after"), &recovery);
    let calls = sim.calls_since(mark);
    assert_foundation_untouched(&calls);
    assert_eq!(count(&calls, "helm upgrade --install cilium"), 1, "{calls:#?}");
    // Once Cilium is repaired the layers above it are healthy again: their gates pass, so their
    // recover commands (restarts, a Flux reconcile) are not run.
    assert_eq!(count(&calls, "flux reconcile kustomization flux-system"), 0, "{calls:#?}");
    assert_eq!(count(&calls, "rollout restart deployment/onepassword-connect"), 0, "{calls:#?}");
    recovery.stderr_contains("healthy after the repair upstream");
    assert_eq!(count(&calls, "flux bootstrap"), 0, "Flux bootstrapped again: {calls:#?}");
    assert_eq!(count(&sim.calls(), "talosctl bootstrap"), 1);
    let log = recoveries(&recovery);
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["broken"][0][0], "cilium", "{:#}", log[0]);
    assert_eq!(log[0]["plan"], serde_json::json!(["cilium", "onepassword", "external-secrets", "flux"]));

    // A plain bootstrap afterwards finds nothing to do.
    let mark = sim.mark();
    let resume = sim.opsrun(recovery.then(), &["--output", "json", "bootstrap"], &[]).run();
    resume.status(0);
    let events = resume.json_events();
    for task in crate::sim::BOOTSTRAP_TASKS {
        let outcome = crate::support::outcome(&events, task);
        assert!(
            matches!(outcome, opsrun::event::TaskOutcome::Resumed | opsrun::event::TaskOutcome::UpToDate),
            "{task} ran again after the recovery: {outcome:?}"
        );
    }
    assert!(changes(&sim.calls_since(mark)).is_empty(), "{:#?}", sim.calls_since(mark));

    // With --rerun-downstream every layer above the broken one runs its recover commands too.
    sim.fault("cilium-broken", true);
    let mark = sim.mark();
    let all = sim.opsrun(resume.then(), &["emergency-recovery", "--yes", "--rerun-downstream"], &[]).run();
    all.status(0).stdout_contains("every layer is healthy again");
    let calls = sim.calls_since(mark);
    assert_foundation_untouched(&calls);
    assert_eq!(count(&calls, "helm upgrade --install cilium"), 1, "{calls:#?}");
    assert_eq!(count(&calls, "flux reconcile kustomization flux-system"), 1, "{calls:#?}");
}

#[test]
fn broken_api_is_recovered_with_its_recover_commands() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    sim.fault("api-broken", true);

    let assess = sim.opsrun(out.then(), &["emergency-recovery", "--assess-only"], &[]).run();
    assess
        .status(4)
        .stdout_contains("first broken layer: `api`")
        .stdout_contains("GitOps cannot act")
        .stdout_contains("the emergency path applies");

    let mark = sim.mark();
    let recovery = sim.opsrun(assess.then(), &["emergency-recovery", "--yes"], &[]).run();
    recovery.status(0).stdout_contains("every layer is healthy again");
    assert_all_healthy(&table_column(&recovery, "before / after recovery", "after"), &recovery);
    let calls = sim.calls_since(mark);
    // api's `recover`: a fresh kubeconfig, then an etcd check; never a second etcd bootstrap,
    // never new machine configs.
    assert_eq!(count(&calls, "talosctl kubeconfig"), 1, "{calls:#?}");
    assert_eq!(count(&calls, "talosctl --nodes 127.0.0.2,127.0.0.3,127.0.0.4 etcd status"), 1, "{calls:#?}");
    for forbidden in ["talosctl bootstrap", "talosctl apply-config", "talhelper", "flux bootstrap"] {
        assert_eq!(count(&calls, forbidden), 0, "recovery ran `{forbidden}`: {calls:#?}");
    }
    assert!(!calls.iter().any(|c| c.contains("--insecure")), "{calls:#?}");
    let log = recoveries(&recovery);
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["broken"][0][0], "api", "{:#}", log[0]);
}

#[test]
fn recovery_without_a_terminal_and_without_yes_refuses() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    sim.fault("cilium-broken", true);
    let mark = sim.mark();
    let refused = sim.opsrun(out.then(), &["emergency-recovery"], &[]).run();
    refused.status(5).stderr_contains("needs confirmation").stderr_contains("--yes").stderr_contains("nothing was run");
    let calls = sim.calls_since(mark);
    assert!(changes(&calls).is_empty(), "a refused recovery changed the cluster: {:#?}", changes(&calls));
    assert!(recoveries(&refused).is_empty(), "a refused recovery was recorded: {:#?}", recoveries(&refused));
    assert!(!sim.ready("cilium"), "cilium was repaired without a confirmation");
}

/// The `[gitops]` commands of the real chain act on a Kustomization named `apps`.
fn cluster_with_apps() -> (Sim, Output) {
    let sim = Sim::new();
    sim.config("kustomizations", "apps infrastructure");
    let out = sim.bootstrapped();
    (sim, out)
}

#[test]
fn overrides_reach_flux_are_audited_and_warned_about() {
    let (sim, out) = cluster_with_apps();

    let mark = sim.mark();
    let suspend = sim.env(out.then()).args(&["override", "suspend", "apps", "--reason", "outage"]).run();
    suspend.status(0).stdout_contains("suspended `apps`");
    assert_eq!(sim.calls_since(mark), ["flux suspend kustomization apps -n flux-system"]);
    assert!(sim.path().join("state/flux/suspended/apps").exists(), "the sim's Kustomization is not suspended");
    let audit = suspend.read(".opsrun/audit.jsonl");
    let entry: serde_json::Value = serde_json::from_str(audit.lines().next().expect("an audit entry")).expect("JSON");
    assert_eq!(
        (&entry["action"], &entry["name"], &entry["reason"], &entry["ok"]),
        (&"suspend".into(), &"apps".into(), &"outage".into(), &true.into())
    );

    // While suspended, every command says so, on one line of stderr.
    let list = suspend.then().args(&["list"]).run();
    list.status(0);
    let warnings: Vec<&str> = list.stderr().lines().filter(|l| l.contains("GitOps override active")).collect();
    assert_eq!(warnings.len(), 1, "{}", list.stderr());
    assert!(
        warnings[0].starts_with("warning:")
            && warnings[0].contains("`apps` suspended ")
            && warnings[0].contains(" ago"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("outage"), "{}", warnings[0]);
    assert!(!list.stdout().contains("GitOps override active"), "the warning went to stdout");

    // This project is no Git checkout, so nothing shows what resuming would revert: the resume
    // is refused and Flux is not touched (the loop against a checkout is in `gitops.rs`).
    let mark = sim.mark();
    let resume = sim.env(list.then()).args(&["override", "resume", "apps"]).run();
    resume.status(7).stderr_contains("is not inside a Git checkout").stderr_contains("it stays suspended");
    assert!(sim.calls_since(mark).is_empty(), "{:#?}", sim.calls_since(mark));
    assert!(sim.path().join("state/flux/suspended/apps").exists(), "the sim's Kustomization was resumed");
    let entries: Vec<serde_json::Value> =
        resume.read(".opsrun/audit.jsonl").lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
    assert_eq!(actions, ["suspend", "resume"]);
    assert_eq!(entries[1]["ok"], false);

    let list = resume.then().args(&["override", "list"]).run();
    list.status(0).stderr_contains("GitOps override active").stdout_contains("suspended");
}

#[test]
fn override_without_a_reason_is_refused_and_calls_nothing() {
    let (sim, out) = cluster_with_apps();
    let mark = sim.mark();
    let refused = sim.env(out.then()).args(&["override", "suspend", "apps"]).run();
    refused.status(2).stderr_contains("a reason is required");
    let blank = sim.env(refused.then()).args(&["override", "suspend", "apps", "--reason", "  "]).run();
    blank.status(2);
    assert!(sim.calls_since(mark).is_empty(), "{:#?}", sim.calls_since(mark));
    assert!(!blank.exists(".opsrun/audit.jsonl"), "a refused override was audited");
    blank.then().args(&["list"]).run().status(0).output_lacks("GitOps override active");
}

#[test]
fn override_commands_get_the_tasks_file_env() {
    // Regression: the `[gitops]` commands once ran without the tasks file's `[env]`, so
    // `KUBECONFIG = "{{.ROOT_DIR}}/kubeconfig"` never reached `flux` (it fell back to
    // localhost:8080). They now get the root environment, as every task of the file does.
    let (sim, out) = cluster_with_apps();
    let suspend = sim.env(out.then()).args(&["override", "suspend", "apps", "--reason", "outage"]).run();
    suspend.status(0);
    assert!(sim.path().join("state/flux/suspended/apps").exists(), "the sim's Kustomization is not suspended");
}

#[test]
fn a_hanging_probe_cannot_make_status_hang() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.stage]
cmds = ["true"]
[tasks.stage.health]
name = "a probe that hangs"
cmd = "sleep 1357"
probe_timeout = "500ms"

[pipelines.bootstrap]
targets = ["stage"]
"#,
        )
        .args(&["status"])
        .run();
    out.status(4).stdout_contains("first unhealthy layer is `stage`").stdout_contains("probe timed out after 500ms");
    assert_no_process("sleep 1357");
}
