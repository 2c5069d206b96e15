//! Property tests: the template engine never panics or runs away, whatever the template.
//!
//! `PROPTEST_CASES` raises the number of cases (`cargo xtask fuzz` does, for a soak).

use opsrun_template::{EmptyScope, SystemHost, Template};
use proptest::prelude::*;

/// Template-ish text: actions, pipes, keywords and functions in random order.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{-".to_string()),
        Just(" -}}".to_string()),
        Just(".NAME".to_string()),
        Just("$x := ".to_string()),
        Just("$x".to_string()),
        Just(" | ".to_string()),
        Just("if ".to_string()),
        Just("else".to_string()),
        Just("end".to_string()),
        Just("range ".to_string()),
        Just("with ".to_string()),
        Just("printf \"%5.3f %s %d %v\" ".to_string()),
        Just("repeat 3 ".to_string()),
        Just("default \"x\" ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"str\"".to_string()),
        Just("42 ".to_string()),
        Just("1.5 ".to_string()),
        Just("list 1 2 3 ".to_string()),
        Just("dict \"a\" 1 ".to_string()),
        Just("splitList \",\" \"a,b\" ".to_string()),
        "[a-z ]{0,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn parsing_and_rendering_never_panic(src in template_text()) {
        if let Ok(t) = Template::parse(&src) {
            // Errors are fine (undefined variables, bad calls, limits); panics and hangs are not.
            if let Err(e) = t.render(&mut EmptyScope, &SystemHost) {
                // Every error points inside the template.
                prop_assert!(e.span().end <= src.len(), "{e:?} outside {src:?}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(src in "\\PC{0,64}") {
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&mut EmptyScope, &SystemHost);
        }
    }
}
