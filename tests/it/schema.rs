//! `opsrun schema`: the JSON Schema of `tasks.toml` accepts every real tasks file of the
//! repository and refuses a misspelt key, as the loader does.

use std::path::{Path, PathBuf};

use crate::support::Test;

/// The schema `opsrun schema` prints, compiled.
fn validator() -> jsonschema::Validator {
    let out = Test::new().args(&["schema"]).run();
    let schema: serde_json::Value = serde_json::from_str(out.stdout()).expect("opsrun schema prints JSON");
    // Draft 7: what taplo (Even Better TOML) reads.
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// The problems the schema finds in a TOML document.
fn problems(validator: &jsonschema::Validator, toml_text: &str) -> Vec<String> {
    let value: toml::Value = toml::from_str(toml_text).expect("valid TOML");
    let json = serde_json::to_value(value).expect("TOML as JSON");
    validator.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

fn tasks_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a fixture dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            tasks_files(&path, found);
        } else if path.file_name().is_some_and(|n| n == "tasks.toml") {
            found.push(path);
        }
    }
}

#[test]
fn the_repositorys_tasks_files_validate_against_opsrun_schema() {
    let validator = validator();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("tasks.toml")];
    tasks_files(&root.join("examples"), &mut files);
    tasks_files(&root.join("tests/fixtures/gotask"), &mut files);
    assert!(files.len() > 20, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a tasks file");
        let problems = problems(&validator, &text);
        assert!(problems.is_empty(), "{} does not validate: {problems:#?}", file.display());
    }
}

#[test]
fn a_misspelt_key_fails_the_schema_as_it_fails_the_loader() {
    let validator = validator();
    for (toml, key) in [
        ("[tasks.a]\ncmdz = ['echo a']\n", "cmdz"),
        ("[tasks.a]\ncmds = ['true']\n[tasks.a.health]\ncmd = 'true'\nintervall = '1s'\n", "intervall"),
        ("[tasks.a]\ncmds = [{ cmd = 'true', silnet = true }]\n", "silnet"),
        ("[pipeline.bootstrap]\ntargets = ['a']\n", "pipeline"),
    ] {
        let problems = problems(&validator, toml);
        assert!(problems.iter().any(|p| p.contains(key)), "`{key}` passed the schema: {problems:#?}");
        let out = Test::new().tasks(toml).args(&["list"]).run();
        out.status(2).stderr_contains(key);
    }
    // A wrong type too.
    assert!(!problems(&validator, "[tasks.a]\ncmds = 'echo a'\n").is_empty());
    // Descriptions come from the reference, for hover docs.
    let out = Test::new().args(&["schema"]).run();
    let schema: serde_json::Value = serde_json::from_str(out.stdout()).expect("JSON");
    let desc = &schema["definitions"]["RawTask"]["properties"]["desc"]["description"];
    assert_eq!(desc, "One line for `opsrun list`.");
}
