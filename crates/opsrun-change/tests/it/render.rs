//! Rendered output, compared with expected text: the Markdown table for pull requests and the
//! documented JSON schema.

use opsrun_change::{Classifier, ClassifyContext, ProbeOutcome, render_json, render_markdown, render_text};

use crate::classify;

#[track_caller]
fn assert_text(actual: &str, expected: &str) {
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!("output differs at line {}\n--- actual ---\n{actual}\n--- expected ---\n{expected}", line + 1);
    }
}

#[test]
fn markdown_is_a_table_then_verdict_procedure_and_checklists() {
    let verdict =
        classify(&["cilium/values.yaml", "infrastructure/cilium-pools/loadbalancer-pools.yaml", "random/file.txt"]);
    assert_text(&render_markdown(&verdict), MARKDOWN);
}

const MARKDOWN: &str = r#"### opsrun classify: Hybrid, risk medium, approval: peer review

| path | phase | component | risk | rule |
|---|---|---|---|---|
| `cilium/values.yaml` | Bootstrap | core networking | medium | `cilium-bootstrap` |
| `infrastructure/cilium-pools/loadbalancer-pools.yaml` | GitOps | network services | medium | `network-services` |
| `random/file.txt` | **unclassified** | | | |

**Phase:** Hybrid · **Risk:** medium · **Approval:** peer review

> [!WARNING]
> 1 file matches no rule and needs a human decision (it does not count toward the risk): `random/file.txt`

#### Bootstrap part (apply first)

Pre-change validation:

```sh
opsrun status
git add -A && git commit -m "Pre-change backup: $(date)"
cilium status
opsrun explain cilium
```

Tasks, in DAG order: `cilium`

Apply:

```sh
opsrun run cilium
```

#### GitOps part

```sh
git checkout -b <branch>
kustomize build infrastructure/cilium-pools
git add infrastructure/cilium-pools/loadbalancer-pools.yaml
git commit -m "<scope>: <what changed and why>"
git push origin <branch>
# open a pull request and merge it after peer review
# merge only after the bootstrap part is applied and healthy
flux get kustomizations --watch
```

Rollback:

```sh
flux suspend kustomization infrastructure-cilium-pools
git revert <commit>
git push
flux resume kustomization infrastructure-cilium-pools
```

#### Pre-change checklist

- [ ] Configuration syntax validated
- [ ] Resource requirements analysed
- [ ] Dependency impact assessed
- [ ] Rollback plan prepared
- [ ] Monitoring and alerting ready
- [ ] Approval obtained: peer review (risk medium)
- [ ] Bootstrap part applied and the cluster healthy before the GitOps part is merged
- [ ] Human decision for unclassified files (no rule matches; add a `[[classify.rules]]` entry): `random/file.txt`

#### Post-change checklist

- [ ] System health verified (`opsrun status`)
- [ ] Nodes Ready and kube-system pods running (`kubectl get nodes`, `kubectl get pods -n kube-system`)
- [ ] Flux reconciled every Kustomization (`flux get kustomizations`)
- [ ] Verified with `cilium status --wait`
- [ ] Verified with `cilium connectivity test`
- [ ] Verified with `kubectl get ciliumloadbalancerippools`
- [ ] Functionality tested
- [ ] Performance impact assessed
- [ ] Security posture validated
- [ ] Documentation updated
"#;

#[test]
fn json_follows_the_documented_schema() {
    let verdict = classify(&["talconfig.yaml", "random/file.txt"]);
    let json = render_json(&verdict);
    assert_text(&json, JSON);
    let back: opsrun_change::Verdict = serde_json::from_str(&json).unwrap();
    assert_eq!(back, verdict, "the JSON round-trips");
}

const JSON: &str = r#"{
  "schema_version": 1,
  "files": [
    {
      "path": "talconfig.yaml",
      "classification": {
        "phase": "bootstrap",
        "component": "Talos OS",
        "risk": "high",
        "rule": "talos-config",
        "reason": "Talos machine configuration is applied to the nodes with talosctl, never by Flux; an OS-level change is high in the risk matrix"
      }
    },
    {
      "path": "random/file.txt",
      "classification": null
    }
  ],
  "unclassified": [
    "random/file.txt"
  ],
  "phase": "bootstrap",
  "risk": "high",
  "approval": "lead_approval",
  "emergency": false,
  "procedure": {
    "bootstrap": {
      "tasks": [
        "talos"
      ],
      "commands": [
        "opsrun run talos"
      ],
      "pre_change": [
        "opsrun status",
        "git add -A && git commit -m \"Pre-change backup: $(date)\"",
        "talhelper validate talconfig talconfig.yaml",
        "opsrun explain talos"
      ]
    },
    "gitops": null,
    "emergency": null
  },
  "checklists": {
    "pre_change": [
      "Configuration syntax validated",
      "Resource requirements analysed",
      "Dependency impact assessed",
      "Rollback plan prepared",
      "Monitoring and alerting ready",
      "Approval obtained: lead approval (risk high)",
      "Human decision for unclassified files (no rule matches; add a `[[classify.rules]]` entry): `random/file.txt`"
    ],
    "post_change": [
      "System health verified (`opsrun status`)",
      "Nodes Ready and kube-system pods running (`kubectl get nodes`, `kubectl get pods -n kube-system`)",
      "Verified with `talosctl health`",
      "Functionality tested",
      "Performance impact assessed",
      "Security posture validated",
      "Documentation updated"
    ]
  }
}
"#;

#[test]
fn markdown_escapes_pipes_in_table_cells() {
    let verdict = classify(&["apps/a|b/x.yaml"]);
    let markdown = render_markdown(&verdict);
    assert!(markdown.contains("| `apps/a\\|b/x.yaml` | GitOps | applications | low | `applications` |"), "{markdown}");
}

#[test]
fn text_says_unclassified_files_need_a_human_decision() {
    let text = render_text(&classify(&["random/file.txt"]));
    assert!(text.starts_with("Change: no file is classified\n"), "{text}");
    assert!(
        text.contains(
            "Unclassified: 1 file matches no rule and needs a human decision (it does not count \
             toward the risk):\n  random/file.txt\n"
        ),
        "{text}"
    );
}

#[test]
fn emergency_verdict_leads_with_the_recovery_path() {
    let ctx = ClassifyContext {
        task_order: Vec::new(),
        probe: Some(ProbeOutcome {
            operational: false,
            unhealthy: vec![("flux".to_owned(), "source not ready".to_owned())],
        }),
    };
    let verdict = Classifier::default().classify(&["apps/x/a.yaml".to_owned()], &ctx);
    let markdown = render_markdown(&verdict);
    assert!(markdown.starts_with(
        "### opsrun classify: GitOps, risk low, approval: self-approved (EMERGENCY: the cluster \
         is not operational)\n"
    ));
    assert!(markdown.contains(
        "#### Emergency path\n\n1. The cluster is not operational: `flux` is unhealthy: source not ready\n2. "
    ));
    assert!(!markdown.contains("#### GitOps part"));
    let text = render_text(&verdict);
    assert!(text.contains("\nEmergency path\n  1. The cluster is not operational"), "{text}");
}
