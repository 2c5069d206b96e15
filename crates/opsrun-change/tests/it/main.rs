//! Integration tests of `opsrun-change`: the framework's examples, configuration, specificity,
//! git input and rendered output. One test binary, small helpers.

mod config;
mod docs;
mod examples;
mod git;
mod render;
mod specificity;

use opsrun_change::{Classifier, ClassifyContext, Verdict};

/// The task names of the real bootstrap chain, in DAG order.
fn chain() -> Vec<String> {
    ["talos", "kubernetes", "cilium", "onepassword", "external-secrets", "flux"].map(String::from).to_vec()
}

/// Classifies `paths` with the built-in rules and the real chain's task order.
fn classify(paths: &[&str]) -> Verdict {
    let paths: Vec<String> = paths.iter().map(|&p| p.to_owned()).collect();
    let ctx = ClassifyContext { task_order: chain(), probe: None };
    Classifier::default().classify(&paths, &ctx)
}
