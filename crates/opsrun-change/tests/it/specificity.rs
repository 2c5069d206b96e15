//! "More specific wins": literal paths, then literal segments, then literal characters, then
//! project rules, then earlier rules.

use opsrun_change::{Classifier, ClassifyConfig, Phase, Risk, Rule};

fn rule(name: &str, paths: &[&str], risk: Risk) -> Rule {
    Rule::new(name, paths, Phase::Gitops, "test", risk).unwrap()
}

fn classifier(rules: Vec<Rule>, defaults: bool) -> Classifier {
    Classifier::new(ClassifyConfig { defaults, disable: Vec::new(), rules })
}

#[track_caller]
fn check(classifier: &Classifier, path: &str, expected: Option<&str>) {
    assert_eq!(classifier.rule_for(path).map(|r| r.name.as_str()), expected, "{path}");
}

#[test]
fn more_specific_rule_wins_regardless_of_order() {
    let c = classifier(
        vec![
            rule("any-yaml", &["**/*.yaml"], Risk::Low),
            rule("apps", &["apps/**"], Risk::Low),
            rule("postgres", &["apps/*/postgresql/**"], Risk::Medium),
            rule("one-file", &["apps/home/postgresql/objectstore.yaml"], Risk::High),
        ],
        false,
    );
    check(&c, "apps/home/postgresql/objectstore.yaml", Some("one-file"));
    check(&c, "apps/home/postgresql/cluster.yaml", Some("postgres"));
    check(&c, "apps/home/deploy.yaml", Some("apps"));
    check(&c, "other/deploy.yaml", Some("any-yaml"));
    check(&c, "other/notes.txt", None);
}

#[test]
fn literal_characters_break_a_segment_tie() {
    let c = classifier(
        vec![
            rule("infra", &["infrastructure/**"], Risk::Medium),
            rule("auth", &["infrastructure/authentik*/**"], Risk::High),
        ],
        false,
    );
    check(&c, "infrastructure/authentik-proxy/deployment.yaml", Some("auth"));
    check(&c, "infrastructure/cert-manager/issuer.yaml", Some("infra"));
}

#[test]
fn on_a_full_tie_the_earlier_rule_and_the_project_rule_win() {
    let c = classifier(vec![rule("first", &["apps/**"], Risk::Low), rule("second", &["apps/**"], Risk::High)], false);
    check(&c, "apps/x.yaml", Some("first"));

    // Same glob as the `applications` default, different name: the project rule wins the tie.
    let c = classifier(vec![rule("my-apps", &["apps/**"], Risk::Medium)], true);
    check(&c, "apps/x.yaml", Some("my-apps"));
    // A more specific default still beats a broader project rule.
    let c = classifier(vec![rule("my-infra", &["infrastructure/**"], Risk::Low)], true);
    check(&c, "infrastructure/monitoring/prometheus.yaml", Some("monitoring"));
    check(&c, "infrastructure/cert-manager/x.yaml", Some("my-infra"));
}

#[test]
fn best_glob_of_a_rule_counts() {
    // A rule with a broad and a literal glob competes with its literal glob for that path.
    let c = classifier(
        vec![rule("mixed", &["**/*.yaml", "apps/a/b.yaml"], Risk::Low), rule("apps-a", &["apps/a/**"], Risk::High)],
        false,
    );
    check(&c, "apps/a/b.yaml", Some("mixed"));
    check(&c, "apps/a/c.yaml", Some("apps-a"));
}
