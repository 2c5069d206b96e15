//! The documentation stays true: `docs/cli.md` embeds the real `--help` of every command.
//!
//! Like rust-analyzer's generated docs, the test regenerates the help blocks; if anything
//! changed it writes the file and fails, so the fix is to commit the updated file.

use std::path::Path;
use std::process::Command;

/// Runs `opsrun ARGS --help` with a fixed width.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_opsrun"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .env_remove("CI")
        .output()
        .expect("run opsrun --help");
    assert!(out.status.success(), "opsrun {args:?} --help failed");
    String::from_utf8(out.stdout).expect("utf-8 help").trim_end().to_string()
}

/// The command a help block documents, from its `Usage: opsrun ...` line.
fn command_of(block: &str) -> Option<Vec<String>> {
    let usage = block.lines().find(|l| l.starts_with("Usage: opsrun"))?;
    let words: Vec<String> = usage
        .trim_start_matches("Usage: opsrun")
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<', '-']) && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(str::to_string)
        .collect();
    Some(words)
}

#[test]
fn cli_reference_embeds_the_current_help_of_every_command() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let text = std::fs::read_to_string(&path).expect("read docs/cli.md");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    let mut documented: Vec<Vec<String>> = Vec::new();
    while let Some(start) = rest.find("```text\n") {
        let body_start = start + "```text\n".len();
        out.push_str(&rest[..body_start]);
        let Some(len) = rest[body_start..].find("\n```") else { break };
        let block = &rest[body_start..body_start + len];
        match command_of(block) {
            Some(cmd) => {
                let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
                out.push_str(&help(&args));
                documented.push(cmd);
            }
            None => out.push_str(block),
        }
        rest = &rest[body_start + len..];
    }
    out.push_str(rest);
    for cmd in [
        &["run"][..],
        &["bootstrap"],
        &["status"],
        &["emergency-recovery"],
        &["classify"],
        &["override", "suspend"],
        &["override", "resume"],
        &["override", "align"],
        &["incident", "report"],
    ] {
        assert!(
            documented.iter().any(|d| d.iter().map(String::as_str).eq(cmd.iter().copied())),
            "docs/cli.md has no help block for `opsrun {}`",
            cmd.join(" ")
        );
    }
    if out != text {
        std::fs::write(&path, &out).expect("update docs/cli.md");
        panic!("docs/cli.md was out of date with `opsrun --help`; it has been regenerated: review and commit it");
    }
}
