//! The framework document's own examples give the phase, risk and approval it gives.

use opsrun_change::{Approval, OverallPhase, Phase, Risk};

use crate::classify;

#[track_caller]
fn check(paths: &[&str], phase: OverallPhase, risk: Option<Risk>, approval: Option<Approval>) {
    let verdict = classify(paths);
    let got = (verdict.phase, verdict.risk, verdict.approval);
    assert_eq!(got, (phase, risk, approval), "paths {paths:?}\nfiles: {:#?}", verdict.files);
}

#[test]
fn framework_examples() {
    use Approval::{LeadApproval, PeerReview, SelfApproved};
    use OverallPhase::{Bootstrap, Gitops, Hybrid};
    use Risk::{High, Low, Medium};
    let table: &[(&str, &[&str], OverallPhase, Risk, Approval)] = &[
        ("adding a node", &["talconfig.yaml", "clusterconfig/home-ops-mini04.yaml"], Bootstrap, High, LeadApproval),
        ("upgrading Cilium via the task file", &["Taskfile.yml"], Bootstrap, Medium, PeerReview),
        ("upgrading Cilium via its values", &["bootstrap/cilium/values.yaml"], Bootstrap, Medium, PeerReview),
        (
            "Home Assistant configuration",
            &["apps/home-automation/home-assistant/configmap.yaml"],
            Gitops,
            Low,
            SelfApproved,
        ),
        (
            "Prometheus retention and alerts",
            &["infrastructure/monitoring/prometheus.yaml", "infrastructure/monitoring/alert-rules.yaml"],
            Gitops,
            Medium,
            PeerReview,
        ),
        (
            "new LoadBalancer IP pool",
            &[
                "infrastructure/cilium-pools/loadbalancer-pools.yaml",
                "infrastructure/cilium-bgp/bgp-policy-legacy.yaml",
            ],
            Gitops,
            Medium,
            PeerReview,
        ),
        (
            "new LoadBalancer IP pool with IPAM core settings",
            &[
                "cilium/values.yaml",
                "infrastructure/cilium-pools/loadbalancer-pools.yaml",
                "infrastructure/cilium-bgp/bgp-policy-legacy.yaml",
            ],
            Hybrid,
            Medium,
            PeerReview,
        ),
        ("Authentik outpost", &["infrastructure/authentik-proxy/deployment.yaml"], Gitops, High, LeadApproval),
        (
            "Authentik outpost with bootstrap tokens",
            &["scripts/bootstrap-1password-secrets.sh", "infrastructure/authentik-proxy/deployment.yaml"],
            Hybrid,
            High,
            LeadApproval,
        ),
        (
            "CNPG Barman plugin migration",
            &[
                "infrastructure/cnpg-barman-plugin/helmrelease.yaml",
                "apps/home-automation/postgresql/objectstore.yaml",
                "apps/home-automation/postgresql/cluster-plugin.yaml",
                "infrastructure/cnpg-monitoring/prometheusrule.yaml",
            ],
            Gitops,
            Medium,
            PeerReview,
        ),
    ];
    for (name, paths, phase, risk, approval) in table {
        eprintln!("case: {name}");
        check(paths, *phase, Some(*risk), Some(*approval));
    }
}

#[test]
fn each_default_location_lands_on_its_rule() {
    let table: &[(&str, Phase, &str, Risk, &str)] = &[
        ("talconfig.yaml", Phase::Bootstrap, "Talos OS", Risk::High, "talos-config"),
        ("talos/patches/disk.yaml", Phase::Bootstrap, "Talos OS", Risk::High, "talos-config"),
        ("clusterconfig/home-ops-mini01.yaml", Phase::Bootstrap, "Talos OS", Risk::High, "talos-machine-configs"),
        ("tasks.toml", Phase::Bootstrap, "Kubernetes foundation", Risk::Medium, "task-definitions"),
        ("deploy/cilium-values.yaml", Phase::Bootstrap, "core networking", Risk::Medium, "cilium-bootstrap"),
        (
            "bootstrap/onepassword/connect.yaml",
            Phase::Bootstrap,
            "secret management foundation",
            Risk::High,
            "secrets-bootstrap",
        ),
        (
            "clusters/home-ops/flux-system/gotk-sync.yaml",
            Phase::Bootstrap,
            "GitOps system",
            Risk::High,
            "flux-bootstrap",
        ),
        ("bootstrap/flux/values.yaml", Phase::Bootstrap, "GitOps system", Risk::High, "flux-bootstrap"),
        (
            "infrastructure/authentik/helmrelease.yaml",
            Phase::Gitops,
            "security services",
            Risk::High,
            "security-services",
        ),
        ("infrastructure/longhorn/storageclass.yaml", Phase::Gitops, "storage", Risk::Medium, "storage"),
        (
            "infrastructure/cert-manager/issuer.yaml",
            Phase::Gitops,
            "infrastructure services",
            Risk::Medium,
            "infrastructure",
        ),
        ("apps/dashboard/values.yaml", Phase::Gitops, "applications", Risk::Low, "applications"),
        ("docs/operations.md", Phase::Gitops, "documentation", Risk::Low, "documentation"),
        ("README.md", Phase::Gitops, "documentation", Risk::Low, "documentation"),
        // A README below a bootstrap directory belongs to that directory's rule.
        ("talos/README.md", Phase::Bootstrap, "Talos OS", Risk::High, "talos-config"),
    ];
    for &(path, phase, component, risk, rule) in table {
        let verdict = classify(&[path]);
        let c = verdict.files[0].classification.as_ref().unwrap_or_else(|| panic!("{path} unclassified"));
        assert_eq!((c.phase, c.component.as_str(), c.risk, c.rule.as_str()), (phase, component, risk, rule), "{path}");
    }
}

#[test]
fn unmatched_path_is_unclassified_and_does_not_raise_risk() {
    let verdict = classify(&["random/file.txt"]);
    assert_eq!(verdict.unclassified, ["random/file.txt"]);
    assert_eq!(verdict.files[0].classification, None);
    assert_eq!((verdict.phase, verdict.risk, verdict.approval), (OverallPhase::None, None, None));
    assert!(verdict.procedure.bootstrap.is_none() && verdict.procedure.gitops.is_none());
    assert!(verdict.checklists.pre_change[0].contains("`random/file.txt`"));

    let verdict = classify(&["random/file.txt", "apps/x/deploy.yaml"]);
    assert_eq!((verdict.phase, verdict.risk), (OverallPhase::Gitops, Some(Risk::Low)));
    assert_eq!(verdict.unclassified, ["random/file.txt"]);
}

#[test]
fn bootstrap_tasks_follow_dag_order_then_unknown_tasks() {
    // The input lists Flux first and Talos last: the DAG order of the tasks wins.
    let verdict = classify(&["bootstrap/flux/values.yaml", "scripts/bootstrap-1password-secrets.sh", "talconfig.yaml"]);
    let bootstrap = verdict.procedure.bootstrap.expect("bootstrap part");
    assert_eq!(bootstrap.tasks, ["talos", "onepassword", "external-secrets", "flux"]);
    assert_eq!(
        bootstrap.commands,
        ["opsrun run talos", "opsrun run onepassword", "opsrun run external-secrets", "opsrun run flux"]
    );
    assert!(bootstrap.pre_change.contains(&"talhelper validate talconfig talconfig.yaml".to_owned()));
    assert!(bootstrap.pre_change.contains(&"opsrun explain flux".to_owned()));

    // Without a project task order, tasks keep rule order; the task file adds a resumed run.
    let paths = ["Taskfile.yml".to_owned(), "bootstrap/flux/a.yaml".to_owned(), "talconfig.yaml".to_owned()];
    let verdict = opsrun_change::Classifier::default().classify(&paths, &opsrun_change::ClassifyContext::default());
    let bootstrap = verdict.procedure.bootstrap.expect("bootstrap part");
    assert_eq!(bootstrap.tasks, ["talos", "flux"]);
    assert_eq!(bootstrap.commands, ["opsrun run talos", "opsrun run flux", "opsrun bootstrap"]);
}

#[test]
fn tasks_missing_from_the_project_come_last_and_are_flagged() {
    let paths = ["bootstrap/cilium/values.yaml".to_owned(), "talconfig.yaml".to_owned()];
    let ctx = opsrun_change::ClassifyContext { task_order: vec!["talos".to_owned()], probe: None };
    let verdict = opsrun_change::Classifier::default().classify(&paths, &ctx);
    assert_eq!(verdict.procedure.bootstrap.unwrap().tasks, ["talos", "cilium"]);
    assert!(
        verdict
            .checklists
            .pre_change
            .iter()
            .any(|i| i.starts_with("Task `cilium` (rule `cilium-bootstrap`) is not defined")),
        "{:#?}",
        verdict.checklists.pre_change
    );
}

#[test]
fn gitops_procedure_names_the_kustomizations_to_suspend() {
    let verdict =
        classify(&["infrastructure/monitoring/prometheus.yaml", "infrastructure/monitoring/alert-rules.yaml"]);
    let gitops = verdict.procedure.gitops.expect("gitops part");
    assert!(gitops.steps.contains(&"kustomize build infrastructure/monitoring".to_owned()));
    assert!(gitops.steps.contains(&"flux get kustomizations --watch".to_owned()));
    assert_eq!(
        gitops.rollback,
        [
            "flux suspend kustomization infrastructure-monitoring",
            "git revert <commit>",
            "git push",
            "flux resume kustomization infrastructure-monitoring",
        ]
    );
}

#[test]
fn a_failed_probe_turns_the_verdict_into_the_emergency_path() {
    let paths = ["apps/x/deploy.yaml".to_owned()];
    let ctx = opsrun_change::ClassifyContext {
        task_order: crate::chain(),
        probe: Some(opsrun_change::ProbeOutcome {
            operational: false,
            unhealthy: vec![("cilium".to_owned(), "2 of 3 agents not ready".to_owned())],
        }),
    };
    let verdict = opsrun_change::Classifier::default().classify(&paths, &ctx);
    assert!(verdict.emergency);
    assert_eq!(verdict.phase, OverallPhase::Gitops, "the phase is still reported");
    assert!(verdict.procedure.gitops.is_none() && verdict.procedure.bootstrap.is_none());
    let steps = verdict.procedure.emergency.expect("emergency path");
    assert_eq!(steps[0], "The cluster is not operational: `cilium` is unhealthy: 2 of 3 agents not ready");
    assert!(steps.iter().any(|s| s.contains("`opsrun emergency-recovery`")));
    assert!(steps.iter().any(|s| s.contains("Flux cannot be trusted")));
    assert!(verdict.checklists.post_change.iter().any(|s| s == "Git reflects the actual cluster state"));

    // An operational probe changes nothing.
    let ctx = opsrun_change::ClassifyContext {
        task_order: Vec::new(),
        probe: Some(opsrun_change::ProbeOutcome { operational: true, unhealthy: Vec::new() }),
    };
    let verdict = opsrun_change::Classifier::default().classify(&paths, &ctx);
    assert!(!verdict.emergency && verdict.procedure.gitops.is_some());
}

#[test]
fn fail_on_conditions() {
    use opsrun_change::{FailOn, should_fail};
    let table: &[(&[&str], [bool; 4])] = &[
        // [bootstrap, hybrid, high, critical]
        (&["apps/x.yaml"], [false, false, false, false]),
        (&["Taskfile.yml"], [true, false, false, false]),
        (&["talconfig.yaml", "apps/a/b.yaml"], [true, true, true, false]),
        (&["infrastructure/authentik/a.yaml"], [false, false, true, false]),
        (&["random/file.txt"], [false, false, false, false]),
    ];
    for (paths, expected) in table {
        let verdict = classify(paths);
        let got = [FailOn::Bootstrap, FailOn::Hybrid, FailOn::High, FailOn::Critical].map(|c| should_fail(&verdict, c));
        assert_eq!(&got, expected, "{paths:?}");
    }
    assert_eq!("critical".parse::<FailOn>(), Ok(FailOn::Critical));
    assert_eq!(
        "never".parse::<FailOn>().unwrap_err().to_string(),
        "unknown fail-on condition `never`; expected one of: bootstrap, hybrid, high, critical"
    );
}

#[test]
fn paths_are_normalised_and_deduplicated() {
    let verdict = classify(&["./apps/x.yaml", "apps/x.yaml", "apps//x.yaml"]);
    assert_eq!(verdict.files.len(), 1);
    assert_eq!(verdict.files[0].path, "apps/x.yaml");
}
