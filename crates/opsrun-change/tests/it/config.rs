//! The `[classify]` table: project rules, the defaults switch, and errors that name the problem.

use opsrun_change::{
    Approval, Classifier, ClassifyConfig, ClassifyContext, FailOn, OverallPhase, Risk, RuleOrigin, should_fail,
};

fn parse(text: &str) -> Result<ClassifyConfig, String> {
    let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let table = value.get("classify").cloned();
    ClassifyConfig::from_toml(table.as_ref()).map_err(|e| e.to_string())
}

#[track_caller]
fn check_error(text: &str, expected: &str) {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(message) => assert_eq!(message, expected),
    }
}

#[test]
fn no_table_means_defaults_only() {
    let config = ClassifyConfig::from_toml(None).unwrap();
    assert!(config.defaults && config.rules.is_empty());
    let rules = config.effective_rules();
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|r| r.origin == RuleOrigin::Default));
}

#[test]
fn project_rules_come_first_and_defaults_can_be_turned_off() {
    let config = parse(
        r#"
        [classify]
        defaults = false

        [[classify.rules]]
        name = "cluster-rebuild"
        paths = ["talconfig.yaml"]
        phase = "bootstrap"
        component = "Talos OS"
        risk = "critical"
        tasks = ["talos"]
        reason = "this cluster has a single control plane"
        "#,
    )
    .unwrap();
    let rules = config.effective_rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].origin, RuleOrigin::Project);

    let classifier = Classifier::new(config);
    let paths = ["talconfig.yaml".to_owned(), "apps/x.yaml".to_owned()];
    let verdict = classifier.classify(&paths, &ClassifyContext::default());
    assert_eq!(verdict.risk, Some(Risk::Critical));
    assert_eq!(verdict.approval, Some(Approval::TeamApproval));
    assert_eq!(verdict.phase, OverallPhase::Bootstrap);
    assert_eq!(verdict.unclassified, ["apps/x.yaml"], "defaults are off");
    assert!(should_fail(&verdict, FailOn::Critical));
}

#[test]
fn disable_and_override_default_rules_by_name() {
    let config = parse(
        r#"
        [classify]
        disable = ["documentation"]

        [[classify.rules]]
        name = "applications"
        paths = ["apps/**"]
        phase = "gitops"
        component = "applications"
        risk = "medium"
        "#,
    )
    .unwrap();
    let classifier = Classifier::new(config);
    assert!(classifier.rule_for("docs/x.md").is_none());
    let apps = classifier.rule_for("apps/x.yaml").unwrap();
    assert_eq!((apps.origin, apps.risk), (RuleOrigin::Project, Risk::Medium));
    assert_eq!(
        classifier.rules().iter().filter(|r| r.name == "applications").count(),
        1,
        "the project rule replaces the default of the same name"
    );
}

#[test]
fn configuration_errors_name_the_key_rule_and_value() {
    let table: &[(&str, &str)] = &[
        (
            "[classify]\ndefault = true",
            "unknown key `classify.default` (did you mean `defaults`?); valid keys: defaults, \
             disable, rules",
        ),
        ("[classify]\ndefaults = \"yes\"", "invalid `classify.defaults`: expected a boolean, found string"),
        (
            "[classify]\nrules = 3",
            "invalid `classify.rules`: expected an array of tables (`[[classify.rules]]`), found \
             integer",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npahts = [\"x\"]",
            "unknown key `classify.rules[0].pahts` (did you mean `paths`?); valid keys: name, \
             paths, phase, component, risk, tasks, reason, validate, verify",
        ),
        ("[[classify.rules]]\npaths = [\"x\"]", "missing key `name` in `classify.rules[0]`"),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = [\"x\"]\nphase = \"gitops\"\nrisk = \"low\"",
            "missing key `component` in rule `a` (`classify.rules[0]`)",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = [\"x\"]\nphase = \"later\"\ncomponent = \
             \"c\"\nrisk = \"low\"",
            "invalid phase `later` in rule `a`; expected `bootstrap` or `gitops`",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = [\"x\"]\nphase = \"gitops\"\ncomponent = \
             \"c\"\nrisk = \"severe\"",
            "invalid risk `severe` in rule `a`; expected `low`, `medium`, `high` or `critical`",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = [\"apps/{x\"]\nphase = \"gitops\"\n\
             component = \"c\"\nrisk = \"low\"",
            "invalid glob `apps/{x` in rule `a`: unclosed alternate group; missing '}' (maybe \
             escape '{' with '[{]'?)",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = \"apps/**\"\nphase = \"gitops\"\n\
             component = \"c\"\nrisk = \"low\"",
            "invalid `classify.rules[0].paths`: expected an array of strings, found string",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = []\nphase = \"gitops\"\ncomponent = \
             \"c\"\nrisk = \"low\"",
            "rule `a` has no paths; give at least one glob",
        ),
        (
            "[[classify.rules]]\nname = \"a\"\npaths = [\"x\"]\nphase = \"gitops\"\ncomponent = \
             \"c\"\nrisk = \"low\"\n[[classify.rules]]\nname = \"a\"\npaths = [\"y\"]\nphase = \
             \"gitops\"\ncomponent = \"c\"\nrisk = \"low\"",
            "duplicate rule name `a` in `classify.rules`; rule names must be unique",
        ),
        (
            "[classify]\ndisable = [\"documentaton\"]",
            "unknown default rule `documentaton` in `classify.disable` (did you mean \
             `documentation`?)",
        ),
    ];
    for (text, expected) in table {
        check_error(text, expected);
    }
}

#[test]
fn classify_table_must_be_a_table() {
    let value = toml::Value::String("x".into());
    let err = ClassifyConfig::from_toml(Some(&value)).unwrap_err();
    assert_eq!(err.to_string(), "invalid `classify`: expected a table, found string");
}
