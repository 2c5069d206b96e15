//! The one error type of the crate: configuration, input and git failures, each with context.

use std::path::PathBuf;

/// Everything that can go wrong while configuring the classifier or gathering its input.
///
/// Messages are lowercase fragments that name the offending key, rule or value, so the CLI can
/// print them after "error: " without further decoration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifyError {
    /// A value in `[classify]` has the wrong TOML type.
    #[error("invalid `{key}`: expected {expected}, found {found}")]
    InvalidType {
        /// Key path, for example `classify.rules[2].paths`.
        key: String,
        /// What the key needs, for example "an array of strings".
        expected: &'static str,
        /// The TOML type that was found.
        found: &'static str,
    },
    /// A key that `[classify]` or a rule does not know.
    #[error(
        "unknown key `{key}`{}; valid keys: {}",
        did_you_mean(suggestion.as_deref()),
        valid.join(", ")
    )]
    UnknownKey {
        /// Key path of the unknown key.
        key: String,
        /// The closest valid key, when one is close enough.
        suggestion: Option<String>,
        /// Every valid key at that place.
        valid: &'static [&'static str],
    },
    /// A rule lacks a required key.
    #[error("missing key `{key}` in {rule}")]
    MissingKey {
        /// The rule, by name when it has one, else by key path.
        rule: String,
        /// The missing key.
        key: &'static str,
    },
    /// A rule has an empty `paths` list, so it could never match.
    #[error("rule `{rule}` has no paths; give at least one glob")]
    EmptyPaths {
        /// Name of the rule.
        rule: String,
    },
    /// A path glob does not compile.
    #[error("invalid glob `{glob}` in rule `{rule}`: {reason}")]
    InvalidGlob {
        /// Name of the rule.
        rule: String,
        /// The glob as written.
        glob: String,
        /// Why the glob is invalid.
        reason: String,
    },
    /// A rule's phase is neither `bootstrap` nor `gitops`.
    #[error("invalid phase `{value}` in rule `{rule}`; expected `bootstrap` or `gitops`")]
    InvalidPhase {
        /// Name of the rule.
        rule: String,
        /// The value as written.
        value: String,
    },
    /// A rule's risk is not one of the risk matrix levels.
    #[error("invalid risk `{value}` in rule `{rule}`; expected `low`, `medium`, `high` or `critical`")]
    InvalidRisk {
        /// Name of the rule.
        rule: String,
        /// The value as written.
        value: String,
    },
    /// Two project rules share a name.
    #[error("duplicate rule name `{name}` in `classify.rules`; rule names must be unique")]
    DuplicateRule {
        /// The repeated name.
        name: String,
    },
    /// `classify.disable` names a default rule that does not exist.
    #[error(
        "unknown default rule `{name}` in `classify.disable`{}",
        did_you_mean(suggestion.as_deref())
    )]
    UnknownDefaultRule {
        /// The name as written.
        name: String,
        /// The closest default rule name, when one is close enough.
        suggestion: Option<String>,
    },
    /// The `git` binary could not be started.
    #[error("cannot run `git`: {source}")]
    GitUnavailable {
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not inside a git work tree, so `--git` has nothing to compare.
    #[error("not a git repository: `{}` (`--git BASE` needs a git work tree)", dir.display())]
    NotAGitRepository {
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// The GitOps checkout named by `[gitops] checkout` is not inside a Git work tree.
    #[error("`{}` is not inside a Git checkout (set `[gitops] checkout` to the clone Flux's source is pushed from)", dir.display())]
    NotACheckout {
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// The base revision does not name a commit.
    #[error("unknown git revision `{base}`: it does not name a commit in this repository")]
    BadBase {
        /// The revision as given.
        base: String,
    },
    /// Another git failure, with the command and its error output.
    #[error("`git {args}` failed in `{}`: {detail}", dir.display())]
    Git {
        /// The git arguments.
        args: String,
        /// The directory it ran in.
        dir: PathBuf,
        /// The trimmed standard error of git.
        detail: String,
    },
    /// The list of paths could not be read.
    #[error("cannot read the list of paths: {source}")]
    ReadPaths {
        /// The read error.
        #[source]
        source: std::io::Error,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

/// The value of a `FromStr` that was not recognised, for example `--fail-on sometimes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of: {}", expected.join(", "))]
pub struct ParseValueError {
    /// What was being parsed: "phase", "risk", "fail-on condition".
    pub what: &'static str,
    /// The input.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static [&'static str],
}
