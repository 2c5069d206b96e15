//! The classifier: picks the most specific rule for every path and assembles the verdict.

use indexmap::IndexSet;

use crate::config::ClassifyConfig;
use crate::phase::OverallPhase;
use crate::procedure::{Matched, Plan};
use crate::rule::{Rule, better};
use crate::verdict::{Classification, FileVerdict, SCHEMA_VERSION, Verdict};

/// What the classifier needs to know about the project and the cluster, beyond the paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassifyContext {
    /// Every task of the project in DAG (topological) order. Tasks of matched rules are listed
    /// in this order; tasks missing from it come after, in rule order.
    pub task_order: Vec<String>,
    /// The result of the `status` health gates, when `--probe` asked for it.
    pub probe: Option<ProbeOutcome>,
}

/// The cluster's health, as the `status` gates saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Whether the cluster is operational. If not, the verdict is the emergency path.
    pub operational: bool,
    /// The unhealthy stages, as `(stage, detail)`.
    pub unhealthy: Vec<(String, String)>,
}

/// Classifies changed paths with the rules of a [`ClassifyConfig`].
///
/// Architecture invariant: the classifier does no I/O; reading git and stdin lives in
/// [`crate::changed_files_since`] and [`crate::read_path_list`], probing the cluster in the CLI.
#[derive(Debug, Clone)]
pub struct Classifier {
    rules: Vec<Rule>,
}

impl Default for Classifier {
    /// The built-in rules only.
    fn default() -> Self {
        Classifier::new(ClassifyConfig::default())
    }
}

impl Classifier {
    /// A classifier over the configuration's effective rules (project rules first).
    pub fn new(config: ClassifyConfig) -> Self {
        Classifier { rules: config.into_effective_rules() }
    }

    /// The rules in the order ties are broken: project rules, then the enabled defaults.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that classifies `path`: the most specific match, the earlier rule on a tie.
    pub fn rule_for(&self, path: &str) -> Option<&Rule> {
        self.best_match(&normalize_path(path)).map(|i| &self.rules[i])
    }

    fn best_match(&self, path: &str) -> Option<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| rule.matches(path).map(|s| (s, index)))
            .max_by(|a, b| better(*a, *b))
            .map(|(_, index)| index)
    }

    /// Classifies the paths of a change (relative to the project root; a leading `./` is
    /// ignored, duplicates are dropped) and works out the procedure.
    pub fn classify(&self, paths: &[String], ctx: &ClassifyContext) -> Verdict {
        let paths: IndexSet<String> = paths.iter().map(|p| normalize_path(p)).filter(|p| !p.is_empty()).collect();
        let mut files = Vec::with_capacity(paths.len());
        let mut unclassified = Vec::new();
        let mut matched = Vec::new();
        for path in &paths {
            let classification = self.best_match(path).map(|index| {
                let rule = &self.rules[index];
                matched.push(Matched { path, index, rule });
                Classification {
                    phase: rule.phase,
                    component: rule.component.clone(),
                    risk: rule.risk,
                    rule: rule.name.clone(),
                    reason: rule.reason.clone(),
                }
            });
            if classification.is_none() {
                unclassified.push(path.clone());
            }
            files.push(FileVerdict { path: path.clone(), classification });
        }
        let phase = OverallPhase::of(matched.iter().map(|m| m.rule.phase));
        let risk = matched.iter().map(|m| m.rule.risk).max();
        let (procedure, checklists) = Plan { matched: &matched, unclassified: &unclassified, phase, risk, ctx }.build();
        Verdict {
            schema_version: SCHEMA_VERSION,
            files,
            unclassified,
            phase,
            risk,
            approval: risk.map(crate::risk::Risk::approval),
            emergency: procedure.emergency.is_some(),
            procedure,
            checklists,
        }
    }
}

/// Strips leading `./` and collapses repeated slashes, so `./apps//x` and `apps/x` agree.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut rest = path;
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped.trim_start_matches('/');
    }
    let mut out = String::with_capacity(rest.len());
    for c in rest.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn normalize_strips_dot_slash_and_double_slashes() {
        assert_eq!(normalize_path("./apps//x.yaml"), "apps/x.yaml");
        assert_eq!(normalize_path("././talconfig.yaml"), "talconfig.yaml");
        assert_eq!(normalize_path("apps/x"), "apps/x");
    }
}
