//! How to carry a change out: the bootstrap tasks, the GitOps flow, or the emergency path.

use indexmap::IndexSet;
use serde::{Deserialize, Serialize};

use crate::classifier::ClassifyContext;
use crate::phase::{OverallPhase, Phase};
use crate::risk::Risk;
use crate::rule::Rule;
use crate::verdict::Checklists;

/// The recommended procedure. In an emergency only `emergency` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Procedure {
    /// The bootstrap part, applied first by running tasks.
    pub bootstrap: Option<BootstrapProcedure>,
    /// The GitOps part, applied by Flux from Git after the bootstrap part.
    pub gitops: Option<GitopsProcedure>,
    /// The emergency recovery path, in order (prose with inline commands).
    pub emergency: Option<Vec<String>>,
}

/// The bootstrap part of a change. Every entry is a shell command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct BootstrapProcedure {
    /// The tasks that apply the change, in DAG order (tasks the project does not define last).
    pub tasks: Vec<String>,
    /// The commands that apply the change, in order.
    pub commands: Vec<String>,
    /// Pre-change validation: health, backup, the rules' validation, what the tasks will do.
    pub pre_change: Vec<String>,
}

/// The GitOps part of a change. Every entry is a shell command; `#` lines are manual steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct GitopsProcedure {
    /// Branch, validate, commit, push, review, watch the reconciliation.
    pub steps: Vec<String>,
    /// Suspend, revert, resume.
    pub rollback: Vec<String>,
}

/// A classified path and the rule (with its index in the rule list) that matched it.
pub(crate) struct Matched<'a> {
    pub(crate) path: &'a str,
    pub(crate) index: usize,
    pub(crate) rule: &'a Rule,
}

pub(crate) struct Plan<'a> {
    pub(crate) matched: &'a [Matched<'a>],
    pub(crate) unclassified: &'a [String],
    pub(crate) phase: OverallPhase,
    pub(crate) risk: Option<Risk>,
    pub(crate) ctx: &'a ClassifyContext,
}

impl Plan<'_> {
    pub(crate) fn build(&self) -> (Procedure, Checklists) {
        if self.ctx.probe.as_ref().is_some_and(|p| !p.operational) {
            return (
                Procedure { emergency: Some(self.emergency_steps()), ..Procedure::default() },
                emergency_checklists(),
            );
        }
        let bootstrap = self.phase.has_bootstrap().then(|| self.bootstrap());
        let gitops = self.phase.has_gitops().then(|| self.gitops());
        let checklists = self.checklists();
        (Procedure { bootstrap, gitops, emergency: None }, checklists)
    }

    /// The distinct rules of one phase that matched, in rule-list order.
    fn rules(&self, phase: Phase) -> Vec<&Rule> {
        let mut matched: Vec<_> = self.matched.iter().filter(|m| m.rule.phase == phase).collect();
        matched.sort_by_key(|m| m.index);
        matched.dedup_by_key(|m| m.index);
        matched.into_iter().map(|m| m.rule).collect()
    }

    fn paths(&self, phase: Phase) -> impl Iterator<Item = &str> {
        self.matched.iter().filter(move |m| m.rule.phase == phase).map(|m| m.path)
    }

    /// Tasks of the matched bootstrap rules: known ones in DAG order, unknown ones after them
    /// in rule order.
    fn tasks(&self) -> Vec<String> {
        let mut tasks: Vec<String> = self
            .rules(Phase::Bootstrap)
            .iter()
            .flat_map(|r| r.tasks.iter().cloned())
            .collect::<IndexSet<_>>()
            .into_iter()
            .collect();
        let position = |task: &String| self.ctx.task_order.iter().position(|t| t == task).unwrap_or(usize::MAX);
        tasks.sort_by_key(position);
        tasks
    }

    fn unknown_tasks(&self) -> Vec<(String, String)> {
        if self.ctx.task_order.is_empty() {
            return Vec::new();
        }
        let mut unknown = Vec::new();
        for rule in self.rules(Phase::Bootstrap) {
            for task in &rule.tasks {
                if !self.ctx.task_order.contains(task) && !unknown.iter().any(|(t, _)| t == task) {
                    unknown.push((task.clone(), rule.name.clone()));
                }
            }
        }
        unknown
    }

    fn bootstrap(&self) -> BootstrapProcedure {
        let rules = self.rules(Phase::Bootstrap);
        let tasks = self.tasks();
        let mut commands: Vec<String> = tasks.iter().map(|t| format!("opsrun run {t}")).collect();
        // A rule without tasks (the task file itself) changes task definitions: a resumed
        // bootstrap re-runs exactly the tasks whose fingerprint the edit changed.
        if rules.iter().any(|r| r.tasks.is_empty()) {
            commands.push("opsrun bootstrap".to_owned());
        }
        let mut pre_change: IndexSet<String> = IndexSet::new();
        pre_change.insert("opsrun status".to_owned());
        pre_change.insert(r#"git add -A && git commit -m "Pre-change backup: $(date)""#.to_owned());
        pre_change.extend(rules.iter().flat_map(|r| r.validate.iter().cloned()));
        pre_change.extend(tasks.iter().map(|t| format!("opsrun explain {t}")));
        BootstrapProcedure { tasks, commands, pre_change: pre_change.into_iter().collect() }
    }

    /// Flux Kustomization directories touched by the GitOps part: the first two segments of
    /// every YAML file below them (`infrastructure/monitoring`), as the framework lays them out.
    fn units(&self) -> Vec<String> {
        self.paths(Phase::Gitops)
            .filter(|p| {
                std::path::Path::new(p)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
            })
            .filter_map(|p| {
                let mut segments = p.split('/');
                let (first, second) = (segments.next()?, segments.next()?);
                segments.next().map(|_| format!("{first}/{second}"))
            })
            .collect::<IndexSet<_>>()
            .into_iter()
            .collect()
    }

    fn gitops(&self) -> GitopsProcedure {
        let units = self.units();
        let rules = self.rules(Phase::Gitops);
        let mut steps = vec!["git checkout -b <branch>".to_owned()];
        steps.extend(units.iter().map(|u| format!("kustomize build {u}")));
        steps.extend(rules.iter().flat_map(|r| r.validate.iter().cloned()));
        let paths: Vec<String> = self.paths(Phase::Gitops).map(shell_quote).collect();
        steps.push(format!("git add {}", paths.join(" ")));
        steps.push(r#"git commit -m "<scope>: <what changed and why>""#.to_owned());
        steps.push("git push origin <branch>".to_owned());
        let approval = self.risk.map_or_else(|| "review".to_owned(), |r| r.approval().to_string());
        steps.push(format!("# open a pull request and merge it after {approval}"));
        if self.phase == OverallPhase::Hybrid {
            steps.push("# merge only after the bootstrap part is applied and healthy".to_owned());
        }
        steps.push("flux get kustomizations --watch".to_owned());

        let mut rollback = Vec::new();
        let kustomizations: Vec<String> = units.iter().map(|u| u.replace('/', "-")).collect();
        rollback.extend(kustomizations.iter().map(|k| format!("flux suspend kustomization {k}")));
        rollback.push("git revert <commit>".to_owned());
        rollback.push("git push".to_owned());
        rollback.extend(kustomizations.iter().map(|k| format!("flux resume kustomization {k}")));
        GitopsProcedure { steps, rollback }
    }

    fn checklists(&self) -> Checklists {
        let mut pre = Vec::new();
        let mut post = Vec::new();
        if let Some(risk) = self.risk {
            pre.extend(
                [
                    "Configuration syntax validated",
                    "Resource requirements analysed",
                    "Dependency impact assessed",
                    "Rollback plan prepared",
                    "Monitoring and alerting ready",
                ]
                .map(str::to_owned),
            );
            pre.push(format!("Approval obtained: {} (risk {risk})", risk.approval()));
        }
        if self.phase == OverallPhase::Hybrid {
            pre.push("Bootstrap part applied and the cluster healthy before the GitOps part is merged".to_owned());
        }
        for (task, rule) in self.unknown_tasks() {
            pre.push(format!(
                "Task `{task}` (rule `{rule}`) is not defined in this project: apply that part by \
                 hand or correct the rule"
            ));
        }
        if !self.unclassified.is_empty() {
            let list: Vec<String> = self.unclassified.iter().map(|p| format!("`{p}`")).collect();
            pre.push(format!(
                "Human decision for unclassified files (no rule matches; add a \
                 `[[classify.rules]]` entry): {}",
                list.join(", ")
            ));
        }
        if self.risk.is_some() {
            post.push("System health verified (`opsrun status`)".to_owned());
            if self.phase.has_bootstrap() {
                post.push(
                    "Nodes Ready and kube-system pods running (`kubectl get nodes`, \
                     `kubectl get pods -n kube-system`)"
                        .to_owned(),
                );
            }
            if self.phase.has_gitops() {
                post.push("Flux reconciled every Kustomization (`flux get kustomizations`)".to_owned());
            }
            let verify: IndexSet<&String> = self
                .rules(Phase::Bootstrap)
                .into_iter()
                .chain(self.rules(Phase::Gitops))
                .flat_map(|r| r.verify.iter())
                .collect();
            post.extend(verify.into_iter().map(|v| format!("Verified with `{v}`")));
            post.extend(
                [
                    "Functionality tested",
                    "Performance impact assessed",
                    "Security posture validated",
                    "Documentation updated",
                ]
                .map(str::to_owned),
            );
        }
        Checklists { pre_change: pre, post_change: post }
    }

    fn emergency_steps(&self) -> Vec<String> {
        let mut steps = Vec::new();
        let unhealthy = self.ctx.probe.as_ref().map_or(&[][..], |p| &p.unhealthy[..]);
        if unhealthy.is_empty() {
            steps.push("The cluster is not operational (health probe failed)".to_owned());
        }
        for (stage, detail) in unhealthy {
            steps.push(format!("The cluster is not operational: `{stage}` is unhealthy: {detail}"));
        }
        steps.extend(
            [
                "Do not ship this change through GitOps now: Flux cannot be trusted to \
                 reconcile while the foundation is broken",
                "Run `opsrun emergency-recovery` to repair the bootstrap stages in DAG order",
                "Confirm with `opsrun status` that every stage is healthy again",
                "Commit every direct change: `git commit -m \"EMERGENCY: <what and why>\"`",
                "Then run `opsrun classify` again for this change and follow the normal procedure",
            ]
            .map(str::to_owned),
        );
        steps
    }
}

fn emergency_checklists() -> Checklists {
    Checklists {
        pre_change: [
            "Unhealthy stages identified (`opsrun status`)",
            "Emergency procedure chosen: emergency recovery, emergency override or expedited GitOps",
        ]
        .map(str::to_owned)
        .to_vec(),
        post_change: [
            "Documented what was changed and why",
            "Recorded the emergency procedure used",
            "Noted any deviations from standard practices",
            "Git reflects the actual cluster state",
            "GitOps can take over management again (`flux get kustomizations` all Ready)",
            "Emergency changes do not conflict with GitOps",
            "Post-incident review: root cause analysed, procedures updated, monitoring and \
             alerting improved",
        ]
        .map(str::to_owned)
        .to_vec(),
    }
}

/// Quotes a path for a POSIX shell when it holds anything but plain path characters.
fn shell_quote(path: &str) -> String {
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "._/-+@=:,".contains(c));
    if plain && !path.is_empty() { path.to_owned() } else { format!("'{}'", path.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quote_leaves_plain_paths_alone() {
        assert_eq!(shell_quote("apps/a-b/c.yaml"), "apps/a-b/c.yaml");
        assert_eq!(shell_quote("apps/my file"), "'apps/my file'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
