//! Bootstrap-vs-GitOps classification of a change: rules, risk, approvals.
//!
//! This crate makes the operator's decision framework executable. Given the paths a change
//! touches, it answers which phase manages them (bootstrap tasks or GitOps through Flux), how
//! risky the change is, who must approve it, and how to carry it out.
//!
//! The main types:
//!
//! - [`ClassifyConfig`]: the `[classify]` table of `tasks.toml` ([`ClassifyConfig::from_toml`]),
//!   the project's [`Rule`]s first, then the built-in [`default_rules`].
//! - [`Classifier`]: picks the most specific rule for every path
//!   ([`Classifier::classify`]) and assembles a [`Verdict`].
//! - [`Verdict`]: per-file [`Classification`]s, the [`OverallPhase`] (bootstrap, GitOps,
//!   hybrid), the highest [`Risk`], the [`Approval`] of the risk matrix, the [`Procedure`]
//!   and the [`Checklists`]. It serialises to the documented JSON schema.
//! - [`render_text`], [`render_json`], [`render_markdown`]: output for terminals, tools and
//!   pull-request comments; [`should_fail`] with a [`FailOn`] condition for CI gates.
//! - [`changed_files_since`] and [`read_path_list`]: the input from `git` or a list.
//! - [`Checkout`]: the GitOps checkout's state for post-emergency alignment: uncommitted
//!   changes under a path, commits not on the upstream ([`Upstream`]), whether an applied
//!   revision contains HEAD.
//!
//! Architecture invariant: classification is pure. Only [`changed_files_since`] and [`Checkout`] (which
//! run `git`) and [`read_path_list`] do I/O; probing the cluster is the caller's job, which hands
//! the outcome in through [`ClassifyContext::probe`].
//!
//! # Example
//!
//! ```
//! use opsrun_change::{Approval, Classifier, ClassifyConfig, ClassifyContext, OverallPhase, Risk};
//!
//! let config: toml::Value = toml::from_str(
//!     r#"
//!     [[rules]]
//!     name = "home-assistant"
//!     paths = ["apps/home-automation/home-assistant/**"]
//!     phase = "gitops"
//!     component = "applications"
//!     risk = "medium"
//!     "#,
//! )?;
//! let classifier = Classifier::new(ClassifyConfig::from_toml(Some(&config))?);
//! let ctx = ClassifyContext {
//!     task_order: vec!["talos".into(), "cilium".into(), "flux".into()],
//!     probe: None,
//! };
//!
//! let paths = ["talconfig.yaml", "apps/home-automation/home-assistant/configmap.yaml"]
//!     .map(String::from);
//! let verdict = classifier.classify(&paths, &ctx);
//! assert_eq!(verdict.phase, OverallPhase::Hybrid);
//! assert_eq!(verdict.risk, Some(Risk::High));
//! assert_eq!(verdict.approval, Some(Approval::LeadApproval));
//! let bootstrap = verdict.procedure.bootstrap.as_ref().unwrap();
//! assert_eq!(bootstrap.commands, ["opsrun run talos"]);
//! println!("{}", opsrun_change::render_text(&verdict));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod classifier;
mod config;
mod defaults;
mod error;
mod fail_on;
mod git;
mod input;
mod phase;
mod procedure;
mod render;
mod risk;
mod rule;
mod verdict;

pub use classifier::{Classifier, ClassifyContext, ProbeOutcome};
pub use config::ClassifyConfig;
pub use defaults::{default_rule_names, default_rules};
pub use error::{ClassifyError, ParseValueError};
pub use fail_on::{FailOn, should_fail};
pub use git::{Checkout, Upstream, changed_files_since};
pub use input::read_path_list;
pub use phase::{OverallPhase, Phase};
pub use procedure::{BootstrapProcedure, GitopsProcedure, Procedure};
pub use render::{render_json, render_markdown, render_text};
pub use risk::{Approval, Risk};
pub use rule::{Rule, RuleOrigin, Specificity};
pub use verdict::{Checklists, Classification, FileVerdict, SCHEMA_VERSION, Verdict};
