//! `opsrun classify`: glue between the command line and `opsrun-change`.

use std::io::{IsTerminal, Write};

use opsrun_change::{Classifier, ClassifyConfig, ClassifyContext, FailOn};

use crate::args::{ClassifyArgs, Cli};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;

/// Classifies a change; the tasks file is optional (its `[classify]` rules and task order).
pub(crate) fn classify(cli: &Cli, args: &ClassifyArgs) -> Result<u8> {
    let ctx = match Context::load(cli) {
        Ok(c) => {
            for warning in crate::overrides::warnings(&c) {
                eprintln!("{warning}");
            }
            Some(c)
        }
        Err(CliError::Usage(_)) if cli.file.is_none() => None,
        Err(e) => return Err(e),
    };
    let config = ClassifyConfig::from_toml(ctx.as_ref().and_then(|c| c.spec.classify.as_ref()))
        .map_err(|e| CliError::Usage(format!("[classify] in tasks file: {e}")))?;
    let classifier = Classifier::new(config);
    let paths = input_paths(args)?;
    if paths.is_empty() {
        return Err(CliError::Usage("no paths to classify: give paths, `--git BASE`, or a list on stdin".into()));
    }
    let task_order = ctx.as_ref().map(task_order).unwrap_or_default();
    let probe = if args.probe {
        let Some(ctx) = &ctx else {
            return Err(CliError::Usage("--probe needs a tasks.toml with a bootstrap pipeline".into()));
        };
        Some(crate::status::probe_outcome(ctx)?)
    } else {
        None
    };
    let verdict = classifier.classify(&paths, &ClassifyContext { task_order, probe });
    // `--output json` is the one way to ask any command for JSON.
    let format = if cli.output == "json" { "json" } else { args.format.as_str() };
    let text = match format {
        "json" => opsrun_change::render_json(&verdict),
        "markdown" => opsrun_change::render_markdown(&verdict),
        _ => opsrun_change::render_text(&verdict),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    if let Some(f) = &args.fail_on {
        let fail_on: FailOn = f.parse().map_err(|e| CliError::Usage(format!("{e}")))?;
        if opsrun_change::should_fail(&verdict, fail_on) {
            return Ok(exit::CLASSIFY_FAIL);
        }
    }
    Ok(exit::OK)
}

fn input_paths(args: &ClassifyArgs) -> Result<Vec<String>> {
    if let Some(base) = &args.git {
        let dir = std::env::current_dir().map_err(|e| CliError::Usage(e.to_string()))?;
        return opsrun_change::changed_files_since(&dir, base).map_err(|e| CliError::Usage(e.to_string()));
    }
    if !args.paths.is_empty() {
        return Ok(args.paths.clone());
    }
    if std::io::stdin().is_terminal() {
        return Ok(Vec::new());
    }
    opsrun_change::read_path_list(std::io::stdin().lock()).map_err(|e| CliError::Usage(e.to_string()))
}

/// Every task name in a topological order of the whole spec (file order breaks ties).
fn task_order(ctx: &Context) -> Vec<String> {
    fn visit(
        name: &str,
        spec: &opsrun_spec::Spec,
        seen: &mut std::collections::HashSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        if let Some(t) = spec.tasks.get(name) {
            for d in &t.deps {
                visit(&d.target.name, spec, seen, order);
            }
        }
        order.push(name.to_string());
    }
    let spec = &ctx.spec;
    let mut order = Vec::with_capacity(spec.tasks.len());
    let mut seen = std::collections::HashSet::new();
    for name in spec.tasks.keys() {
        visit(name, spec, &mut seen, &mut order);
    }
    order
}
