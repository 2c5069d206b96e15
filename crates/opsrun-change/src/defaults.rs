//! The built-in rules: the layout of the Bootstrap-vs-GitOps framework, with its risk matrix.
//!
//! `docs/classify.md` has the same table with the reasoning behind every risk; keep them in step.

use crate::phase::Phase;
use crate::risk::Risk;
use crate::rule::{Rule, RuleOrigin};

struct DefaultRule {
    name: &'static str,
    paths: &'static [&'static str],
    phase: Phase,
    component: &'static str,
    risk: Risk,
    tasks: &'static [&'static str],
    validate: &'static [&'static str],
    verify: &'static [&'static str],
    reason: &'static str,
}

const DEFAULT_RULES: &[DefaultRule] = &[
    DefaultRule {
        name: "talos-config",
        paths: &["talconfig.yaml", "talos/**"],
        phase: Phase::Bootstrap,
        component: "Talos OS",
        risk: Risk::High,
        tasks: &["talos"],
        validate: &["talhelper validate talconfig talconfig.yaml"],
        verify: &["talosctl health"],
        reason: "Talos machine configuration is applied to the nodes with talosctl, never by Flux; \
                 an OS-level change is high in the risk matrix",
    },
    DefaultRule {
        name: "talos-machine-configs",
        paths: &["clusterconfig/**"],
        phase: Phase::Bootstrap,
        component: "Talos OS",
        risk: Risk::High,
        tasks: &["talos"],
        validate: &["talhelper validate talconfig talconfig.yaml"],
        verify: &["talosctl health"],
        reason: "generated per-node machine configs are applied with talosctl apply-config and \
                 decide cluster membership; an OS-level change is high in the risk matrix",
    },
    DefaultRule {
        name: "task-definitions",
        paths: &["Taskfile.yml", "Taskfile.yaml", "tasks.toml"],
        phase: Phase::Bootstrap,
        component: "Kubernetes foundation",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "the bootstrap chain (versions, values, bootstrap commands) is defined here and \
                 applied by running tasks, not by Flux; medium as in the framework's Cilium \
                 upgrade, which edits Taskfile.yml; a project whose task file carries OS-level \
                 steps should raise it with a project rule",
    },
    DefaultRule {
        name: "cilium-bootstrap",
        paths: &["bootstrap/cilium/**", "cilium/values.yaml", "**/cilium-values.yaml"],
        phase: Phase::Bootstrap,
        component: "core networking",
        risk: Risk::Medium,
        tasks: &["cilium"],
        validate: &["cilium status"],
        verify: &["cilium status --wait", "cilium connectivity test"],
        reason: "Cilium is the CNI everything else needs and is installed by the bootstrap chain, \
                 before Flux exists; network configuration is medium in the risk matrix",
    },
    DefaultRule {
        name: "secrets-bootstrap",
        paths: &["scripts/bootstrap-1password-secrets.sh", "bootstrap/onepassword/**", "bootstrap/external-secrets/**"],
        phase: Phase::Bootstrap,
        component: "secret management foundation",
        risk: Risk::High,
        tasks: &["onepassword", "external-secrets"],
        validate: &[],
        verify: &["kubectl get clustersecretstore"],
        reason: "1Password Connect and External Secrets must work before Flux can deliver any \
                 secret; bootstrap credentials are security keys, high in the bootstrap risk \
                 factors",
    },
    DefaultRule {
        name: "flux-bootstrap",
        paths: &["bootstrap/flux/**", "clusters/*/flux-system/**"],
        phase: Phase::Bootstrap,
        component: "GitOps system",
        risk: Risk::High,
        tasks: &["flux"],
        validate: &[],
        verify: &["flux check"],
        reason: "Flux controllers, sources and deploy key: if they break nothing reconciles and \
                 Flux cannot roll itself back; GitOps' own foundation is high",
    },
    DefaultRule {
        name: "network-services",
        paths: &["infrastructure/cilium-bgp/**", "infrastructure/cilium-pools/**"],
        phase: Phase::Gitops,
        component: "network services",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &["kubectl get ciliumloadbalancerippools"],
        reason: "BGP policies and LoadBalancer IP pools are Kubernetes resources Flux reconciles \
                 (the IPAM core stays in the Cilium bootstrap values); network configuration is \
                 medium in the risk matrix",
    },
    DefaultRule {
        name: "security-services",
        paths: &["infrastructure/authentik*/**"],
        phase: Phase::Gitops,
        component: "security services",
        risk: Risk::High,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "Authentik identity provider and outposts: authentication systems are high in \
                 the GitOps risk factors; replacing the authentication system outright is \
                 critical and needs a reviewer's call",
    },
    DefaultRule {
        name: "storage",
        paths: &["infrastructure/longhorn/**"],
        phase: Phase::Gitops,
        component: "storage",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "Longhorn storage classes, backup and snapshot policies are reconciled by Flux; \
                 backup policies are medium in the GitOps risk factors",
    },
    DefaultRule {
        name: "database-backups",
        paths: &["infrastructure/cnpg-barman-plugin/**", "infrastructure/cnpg-*/**", "apps/*/postgresql/**"],
        phase: Phase::Gitops,
        component: "database backups",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "the CNPG Barman plugin, ObjectStores and scheduled backups are GitOps-managed, \
                 as in the framework's completed migration; backup policies are medium",
    },
    DefaultRule {
        name: "monitoring",
        paths: &["infrastructure/monitoring/**"],
        phase: Phase::Gitops,
        component: "infrastructure services",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "the monitoring stack (Prometheus, alert rules) is reconciled by Flux; \
                 infrastructure updates are medium in the risk matrix",
    },
    DefaultRule {
        name: "infrastructure",
        paths: &["infrastructure/**"],
        phase: Phase::Gitops,
        component: "infrastructure services",
        risk: Risk::Medium,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "infrastructure services (cert-manager, ingress, external-dns, ...) are \
                 reconciled by Flux; infrastructure updates are medium in the risk matrix",
    },
    DefaultRule {
        name: "applications",
        paths: &["apps/**"],
        phase: Phase::Gitops,
        component: "applications",
        risk: Risk::Low,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "applications are reconciled by Flux; application updates are low in the risk \
                 matrix",
    },
    DefaultRule {
        name: "documentation",
        paths: &["docs/**", "**/*.md"],
        phase: Phase::Gitops,
        component: "documentation",
        risk: Risk::Low,
        tasks: &[],
        validate: &[],
        verify: &[],
        reason: "documentation changes no cluster state; low in the GitOps risk factors",
    },
];

/// The built-in rules, in their documented order.
pub fn default_rules() -> Vec<Rule> {
    DEFAULT_RULES
        .iter()
        .map(|d| {
            // The table above is fixed and its globs are checked by a test, so this cannot fail
            // on anything a user wrote.
            let mut rule =
                Rule::new(d.name, d.paths, d.phase, d.component, d.risk).expect("built-in classify rules compile");
            rule.tasks = to_strings(d.tasks);
            rule.validate = to_strings(d.validate);
            rule.verify = to_strings(d.verify);
            d.reason.clone_into(&mut rule.reason);
            rule.origin = RuleOrigin::Default;
            rule
        })
        .collect()
}

/// The names of the built-in rules, for `classify.disable` and suggestions.
pub fn default_rule_names() -> impl Iterator<Item = &'static str> {
    DEFAULT_RULES.iter().map(|d| d.name)
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|&s| s.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_compile_with_unique_names() {
        let rules = default_rules();
        assert_eq!(rules.len(), DEFAULT_RULES.len());
        let mut names: Vec<_> = rules.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rules.len());
        assert!(rules.iter().all(|r| !r.reason.contains("  ")));
    }
}
