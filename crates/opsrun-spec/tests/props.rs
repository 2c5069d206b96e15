//! Property tests: the loader answers every input with a spec or located errors, never a
//! panic; specs of random task graphs plan (or refuse cycles) without panicking.
//!
//! `PROPTEST_CASES` raises the number of cases (`cargo xtask fuzz` does, for a soak).

use std::path::Path;

use opsrun_spec::build::{SpecBuilder, TaskBuilder};
use proptest::prelude::*;

/// TOML-ish text built from the keys and shapes of `tasks.toml`.
fn tasks_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[tasks.a]".to_string()),
        Just("[tasks.b]".to_string()),
        Just("[tasks.a.health]".to_string()),
        Just("[pipelines.p]".to_string()),
        Just("[vars]".to_string()),
        Just("[env]".to_string()),
        Just("cmds = [\"echo {{.X}}\"]".to_string()),
        Just("deps = [\"a\", \"b\"]".to_string()),
        Just("deps = [{ task = \"a\", vars = { X = \"1\" } }]".to_string()),
        Just("targets = [\"a\"]".to_string()),
        Just("X = \"{{.Y}}\"".to_string()),
        Just("Y = { sh = \"echo y\" }".to_string()),
        Just("cmd = \"true\"".to_string()),
        Just("interval = \"{{.I}}\"".to_string()),
        Just("timeout = \"1x\"".to_string()),
        Just("retries = { attempts = 99999, delay = \"1s\" }".to_string()),
        Just("backoff = { factor = 1e308 }".to_string()),
        Just("status = [\"test -f x\"]".to_string()),
        Just("sources = [\"**/*.yaml\"]".to_string()),
        Just("for = { var = \"X\" }".to_string()),
        Just("requires = { vars = [\"X\"] }".to_string()),
        Just("includes.ns = \"other.toml\"".to_string()),
        Just("run = \"always\"".to_string()),
        Just("platforms = [\"linux/amd64\"]".to_string()),
        "[a-z_]{1,8} = \"[^\"\\\\]{0,8}\"",
        "\\PC{0,12}",
    ];
    prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn loading_never_panics_and_errors_are_located(text in tasks_text()) {
        if let Err(e) = opsrun_spec::load_str(Path::new("/nonexistent/opsrun-props/tasks.toml"), &text) {
            let rendered = e.render(false);
            prop_assert!(rendered.starts_with("error"), "{rendered}");
        }
    }

    #[test]
    fn random_task_graphs_build_or_refuse_cycles(edges in prop::collection::vec((0usize..8, 0usize..8), 0..20)) {
        let mut spec = SpecBuilder::new("/nonexistent/opsrun-props");
        for t in 0..8 {
            let mut task = TaskBuilder::new(format!("t{t}")).cmd("true");
            for (from, to) in &edges {
                if *from == t {
                    task = task.dep(format!("t{to}"));
                }
            }
            spec = spec.task(task);
        }
        match spec.build() {
            Ok(spec) => prop_assert_eq!(spec.tasks.len(), 8),
            Err(e) => prop_assert!(e.to_string().contains("cycle"), "{}", e),
        }
    }
}
