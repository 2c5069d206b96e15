//! A classification rule: path globs, and the phase, component and risk a match means.

use std::cmp::Ordering;
use std::fmt;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;
use crate::phase::Phase;
use crate::risk::Risk;

/// Where a rule comes from. On equal specificity a project rule beats a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuleOrigin {
    /// Written in the project's `[classify]` table.
    Project,
    /// One of the built-in defaults of [`crate::default_rules`].
    Default,
}

/// How specific a glob is; the most specific matching rule classifies a path.
///
/// Compared field by field, in declaration order: a literal path (no wildcard at all) beats any
/// glob; then more literal path segments (segments without a wildcard) win; then more literal
/// characters (everything outside `*`, `?`, `[...]` and `{...}`) win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Specificity {
    /// The pattern has no wildcard: it names exactly one path.
    pub literal: bool,
    /// Path segments without any wildcard.
    pub literal_segments: usize,
    /// Characters outside wildcards, separators included.
    pub literal_chars: usize,
}

impl Specificity {
    /// The specificity of a (normalised) glob.
    pub fn of(glob: &str) -> Self {
        let literal_segments =
            glob.split('/').filter(|segment| !segment.is_empty() && !segment.chars().any(is_glob_meta)).count();
        Specificity { literal: !glob.chars().any(is_glob_meta), literal_segments, literal_chars: literal_chars(glob) }
    }
}

fn is_glob_meta(c: char) -> bool {
    matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\')
}

fn literal_chars(glob: &str) -> usize {
    let (mut count, mut class, mut braces, mut escaped) = (0usize, false, 0usize, false);
    for c in glob.chars() {
        if escaped {
            escaped = false;
            if !class && braces == 0 {
                count += 1;
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            '{' if !class => braces += 1,
            '}' if !class && braces > 0 => braces -= 1,
            '*' | '?' => {}
            _ if class || braces > 0 => {}
            _ => count += 1,
        }
    }
    count
}

#[derive(Clone)]
struct Pattern {
    glob: String,
    matcher: GlobMatcher,
    specificity: Specificity,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.glob)
    }
}

/// One rule: files matching any of its globs belong to `phase` and `component` with `risk`.
///
/// Globs are matched against paths relative to the project root. `*` and `?` never cross a `/`;
/// `**` matches any number of directories; a glob ending in `/` means everything below that
/// directory (`talos/` is `talos/**`); a leading `./` or `/` is ignored.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name, reported as the rule that matched.
    pub name: String,
    /// The phase of matching files.
    pub phase: Phase,
    /// The framework component, for example "Talos OS" or "network services".
    pub component: String,
    /// The risk of changing a matching file.
    pub risk: Risk,
    /// Tasks that apply such a change (bootstrap rules), in the order the rule lists them.
    pub tasks: Vec<String>,
    /// Why files matching this rule belong to this phase and risk.
    pub reason: String,
    /// Extra pre-change validation commands, for example `talhelper validate talconfig talconfig.yaml`.
    pub validate: Vec<String>,
    /// Extra post-change verification commands, for example `cilium connectivity test`.
    pub verify: Vec<String>,
    /// Project rule or built-in default.
    pub origin: RuleOrigin,
    patterns: Vec<Pattern>,
}

impl Rule {
    /// A project rule with the given globs; tasks, reason, validate and verify start empty.
    pub fn new<S: AsRef<str>>(
        name: impl Into<String>,
        paths: &[S],
        phase: Phase,
        component: impl Into<String>,
        risk: Risk,
    ) -> Result<Self, ClassifyError> {
        let name = name.into();
        if paths.is_empty() {
            return Err(ClassifyError::EmptyPaths { rule: name });
        }
        let patterns = paths.iter().map(|path| compile(&name, path.as_ref())).collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            name,
            phase,
            component: component.into(),
            risk,
            tasks: Vec::new(),
            reason: String::new(),
            validate: Vec::new(),
            verify: Vec::new(),
            origin: RuleOrigin::Project,
            patterns,
        })
    }

    /// The globs, normalised (`dir/` written as `dir/**`, leading `./` removed).
    pub fn globs(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.glob.as_str())
    }

    /// The specificity of the most specific glob that matches `path`, or `None`.
    pub fn matches(&self, path: &str) -> Option<Specificity> {
        self.patterns.iter().filter(|p| p.matcher.is_match(path)).map(|p| p.specificity).max()
    }
}

fn compile(rule: &str, raw: &str) -> Result<Pattern, ClassifyError> {
    let invalid = |reason: &str| ClassifyError::InvalidGlob {
        rule: rule.to_owned(),
        glob: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = raw.trim();
    let mut glob = trimmed.trim_start_matches("./").trim_start_matches('/').to_owned();
    if glob.is_empty() {
        return Err(invalid("empty pattern"));
    }
    if glob.ends_with('/') {
        glob.push_str("**");
    }
    let matcher = GlobBuilder::new(&glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| invalid(&e.kind().to_string()))?
        .compile_matcher();
    Ok(Pattern { specificity: Specificity::of(&glob), glob, matcher })
}

/// Orders two candidate matches: the more specific wins, then the earlier rule
/// (project rules come before defaults in the rule list, so they win ties).
pub(crate) fn better(a: (Specificity, usize), b: (Specificity, usize)) -> Ordering {
    a.0.cmp(&b.0).then(b.1.cmp(&a.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(glob: &str) -> (bool, usize, usize) {
        let s = Specificity::of(glob);
        (s.literal, s.literal_segments, s.literal_chars)
    }

    #[test]
    fn specificity_counts_literal_parts() {
        assert_eq!(spec("talconfig.yaml"), (true, 1, 14));
        assert_eq!(spec("apps/**"), (false, 1, 5));
        assert_eq!(spec("apps/*/postgresql/**"), (false, 2, 17));
        assert_eq!(spec("infrastructure/authentik*/**"), (false, 1, 25));
        assert_eq!(spec("**/*.md"), (false, 0, 4));
        assert_eq!(spec("a/{b,c}/[xy]z"), (false, 1, 4));
        assert!(Specificity::of("talconfig.yaml") > Specificity::of("talos/patches/a/b/c/**"));
        assert!(Specificity::of("apps/*/postgresql/**") > Specificity::of("apps/**"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        let rule = Rule::new("docs", &["*.md"], Phase::Gitops, "documentation", Risk::Low).unwrap();
        assert!(rule.matches("README.md").is_some());
        assert!(rule.matches("apps/README.md").is_none());
    }

    #[test]
    fn trailing_slash_means_everything_below() {
        let rule = Rule::new("t", &["./talos/"], Phase::Bootstrap, "Talos OS", Risk::High).unwrap();
        assert_eq!(rule.globs().collect::<Vec<_>>(), ["talos/**"]);
        assert!(rule.matches("talos/patches/a.yaml").is_some());
    }

    #[test]
    fn bad_glob_names_rule_and_glob() {
        let err = Rule::new("x", &["apps/[oops"], Phase::Gitops, "c", Risk::Low).unwrap_err();
        assert!(err.to_string().starts_with("invalid glob `apps/[oops` in rule `x`: "), "{err}");
        let err = Rule::new::<&str>("x", &[], Phase::Gitops, "c", Risk::Low).unwrap_err();
        assert_eq!(err.to_string(), "rule `x` has no paths; give at least one glob");
    }
}
