//! GitOps emergency overrides beyond running `flux suspend|resume`: what is recorded about
//! them ([`record`]), the checks that make a resume safe and confirm alignment ([`checks`]),
//! and how the tools' answers are read ([`drift`], [`kustomization`]).

pub(crate) mod checks;
pub(crate) mod drift;
pub(crate) mod kustomization;
pub(crate) mod record;
