//! Property tests: classify's globs and path matching never panic, whatever the pattern or path.

use opsrun_change::{Classifier, ClassifyConfig, ClassifyContext, Phase, Risk, Rule};
use proptest::prelude::*;

fn glob() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("**".to_string()),
        Just("*".to_string()),
        Just("?".to_string()),
        Just("/".to_string()),
        Just("[a-z]".to_string()),
        Just("{a,b}".to_string()),
        Just("./".to_string()),
        Just("\\".to_string()),
        Just("[".to_string()),
        Just("{".to_string()),
        "[a-z.]{1,5}",
    ];
    prop::collection::vec(piece, 1..8).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn any_glob_compiles_or_is_refused_and_matching_never_panics(pattern in glob(), path in "[a-z./]{0,24}") {
        if let Ok(rule) = Rule::new("r", &[pattern.as_str()], Phase::Gitops, "c", Risk::Low) {
            let config = ClassifyConfig { rules: vec![rule], ..ClassifyConfig::default() };
            let classifier = Classifier::new(config);
            let _ = classifier.rule_for(&path);
            let _ = classifier.classify(std::slice::from_ref(&path), &ClassifyContext::default());
        }
    }
}
