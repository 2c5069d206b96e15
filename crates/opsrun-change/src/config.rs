//! The `[classify]` table of `tasks.toml`: project rules and the switch for the defaults.

use toml::Value;

use crate::defaults::{default_rule_names, default_rules};
use crate::error::{ClassifyError, suggest};
use crate::phase::Phase;
use crate::risk::Risk;
use crate::rule::Rule;

const TABLE_KEYS: &[&str] = &["defaults", "disable", "rules"];
const RULE_KEYS: &[&str] = &["name", "paths", "phase", "component", "risk", "tasks", "reason", "validate", "verify"];

/// The classifier's configuration: the project's rules, then (unless turned off) the defaults.
///
/// ```toml
/// [classify]
/// defaults = true              # use the built-in rules after the project's (default: true)
/// disable = ["documentation"]  # built-in rules to leave out
///
/// [[classify.rules]]
/// name = "home-assistant"
/// paths = ["apps/home-automation/home-assistant/**"]
/// phase = "gitops"
/// component = "applications"
/// risk = "medium"
/// reason = "the house depends on it"
/// ```
#[derive(Debug, Clone)]
pub struct ClassifyConfig {
    /// Whether the built-in rules apply after the project's rules.
    pub defaults: bool,
    /// Built-in rules to leave out, by name.
    pub disable: Vec<String>,
    /// The project's rules, in file order.
    pub rules: Vec<Rule>,
}

impl Default for ClassifyConfig {
    /// The built-in rules only.
    fn default() -> Self {
        ClassifyConfig { defaults: true, disable: Vec::new(), rules: Vec::new() }
    }
}

impl ClassifyConfig {
    /// Reads the raw `[classify]` table; `None` (no table) means the built-in rules only.
    pub fn from_toml(value: Option<&Value>) -> Result<Self, ClassifyError> {
        let Some(value) = value else {
            return Ok(ClassifyConfig::default());
        };
        let table = value.as_table().ok_or_else(|| ClassifyError::InvalidType {
            key: "classify".to_owned(),
            expected: "a table",
            found: value.type_str(),
        })?;
        let mut config = ClassifyConfig::default();
        for (key, value) in table {
            match key.as_str() {
                "defaults" => {
                    config.defaults = value.as_bool().ok_or_else(|| ClassifyError::InvalidType {
                        key: "classify.defaults".to_owned(),
                        expected: "a boolean",
                        found: value.type_str(),
                    })?;
                }
                "disable" => {
                    config.disable = strings(value, "classify.disable")?;
                    for name in &config.disable {
                        if !default_rule_names().any(|d| d == name) {
                            return Err(ClassifyError::UnknownDefaultRule {
                                name: name.clone(),
                                suggestion: suggest(name, default_rule_names()),
                            });
                        }
                    }
                }
                "rules" => {
                    let array = value.as_array().ok_or_else(|| ClassifyError::InvalidType {
                        key: "classify.rules".to_owned(),
                        expected: "an array of tables (`[[classify.rules]]`)",
                        found: value.type_str(),
                    })?;
                    for (index, rule) in array.iter().enumerate() {
                        let rule = parse_rule(index, rule)?;
                        if config.rules.iter().any(|r| r.name == rule.name) {
                            return Err(ClassifyError::DuplicateRule { name: rule.name });
                        }
                        config.rules.push(rule);
                    }
                }
                other => return Err(unknown_key("classify", other, TABLE_KEYS)),
            }
        }
        Ok(config)
    }

    /// The rules in the order the classifier sees them: the project's rules, then the built-in
    /// rules that are neither disabled nor replaced by a project rule of the same name.
    pub fn effective_rules(&self) -> Vec<Rule> {
        self.clone().into_effective_rules()
    }

    /// Like [`ClassifyConfig::effective_rules`], consuming the configuration.
    pub fn into_effective_rules(self) -> Vec<Rule> {
        let ClassifyConfig { defaults, disable, mut rules } = self;
        if defaults {
            let enabled: Vec<Rule> = default_rules()
                .into_iter()
                .filter(|d| !disable.contains(&d.name) && !rules.iter().any(|r| r.name == d.name))
                .collect();
            rules.extend(enabled);
        }
        rules
    }
}

fn parse_rule(index: usize, value: &Value) -> Result<Rule, ClassifyError> {
    let at = format!("classify.rules[{index}]");
    let table = value.as_table().ok_or_else(|| ClassifyError::InvalidType {
        key: at.clone(),
        expected: "a table",
        found: value.type_str(),
    })?;
    if let Some(key) = table.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
        return Err(unknown_key(&at, key, RULE_KEYS));
    }
    let name = match table.get("name") {
        Some(v) => string(v, &format!("{at}.name"))?,
        None => {
            return Err(ClassifyError::MissingKey { rule: format!("`{at}`"), key: "name" });
        }
    };
    let required = |key: &'static str| {
        table.get(key).ok_or_else(|| ClassifyError::MissingKey { rule: format!("rule `{name}` (`{at}`)"), key })
    };
    let paths = strings(required("paths")?, &format!("{at}.paths"))?;
    let phase_text = string(required("phase")?, &format!("{at}.phase"))?;
    let phase = phase_text
        .parse::<Phase>()
        .map_err(|_| ClassifyError::InvalidPhase { rule: name.clone(), value: phase_text })?;
    let component = string(required("component")?, &format!("{at}.component"))?;
    let risk_text = string(required("risk")?, &format!("{at}.risk"))?;
    let risk =
        risk_text.parse::<Risk>().map_err(|_| ClassifyError::InvalidRisk { rule: name.clone(), value: risk_text })?;
    let optional_list =
        |key: &str| table.get(key).map_or_else(|| Ok(Vec::new()), |v| strings(v, &format!("{at}.{key}")));
    let tasks = optional_list("tasks")?;
    let validate = optional_list("validate")?;
    let verify = optional_list("verify")?;
    let reason = table.get("reason").map_or_else(|| Ok(String::new()), |v| string(v, &format!("{at}.reason")))?;

    let mut rule = Rule::new(name.clone(), &paths, phase, component, risk)?;
    rule.tasks = tasks;
    rule.validate = validate;
    rule.verify = verify;
    rule.reason = reason;
    Ok(rule)
}

fn unknown_key(table: &str, key: &str, valid: &'static [&'static str]) -> ClassifyError {
    ClassifyError::UnknownKey { key: format!("{table}.{key}"), suggestion: suggest(key, valid.iter().copied()), valid }
}

fn string(value: &Value, key: &str) -> Result<String, ClassifyError> {
    value.as_str().map(str::to_owned).ok_or_else(|| ClassifyError::InvalidType {
        key: key.to_owned(),
        expected: "a string",
        found: value.type_str(),
    })
}

fn strings(value: &Value, key: &str) -> Result<Vec<String>, ClassifyError> {
    let invalid = |found| ClassifyError::InvalidType { key: key.to_owned(), expected: "an array of strings", found };
    let array = value.as_array().ok_or_else(|| invalid(value.type_str()))?;
    array.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(|| invalid(item.type_str()))).collect()
}
