//! `docs/classify.md` documents every built-in rule as it is implemented.

use opsrun_change::default_rules;

/// The row prefix of a default rule in the documentation table.
fn row(rule: &opsrun_change::Rule) -> String {
    let globs: Vec<String> = rule.globs().map(|g| format!("`{g}`")).collect();
    let tasks: Vec<String> = rule.tasks.iter().map(|t| format!("`{t}`")).collect();
    let tasks = if tasks.is_empty() { "none".to_owned() } else { tasks.join(", ") };
    format!(
        "| `{}` | {} | {} | {} | {} | {} |",
        rule.name,
        globs.join(", "),
        rule.phase,
        rule.component,
        rule.risk,
        tasks
    )
}

#[test]
fn every_default_rule_is_documented_as_implemented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/classify.md");
    let docs = std::fs::read_to_string(path).expect("docs/classify.md exists");
    let missing: Vec<String> = default_rules().iter().map(row).filter(|r| !docs.contains(r.as_str())).collect();
    assert!(missing.is_empty(), "docs/classify.md lacks or misstates these rows:\n{}", missing.join("\n"));
}
