//! Generated workloads: the same task graph written as opsrun's `tasks.toml`, go-task's
//! `Taskfile.yml` and a `justfile`, so that each tool gets the equivalent input.

use std::fmt::Write as _;

/// One workload in the three formats. Every command is the literal `true` (or an `echo` for the
/// listing workload); how each tool runs it is its own business and part of what is measured.
#[derive(Debug)]
pub(crate) struct Workload {
    pub(crate) tasks_toml: String,
    pub(crate) taskfile_yml: String,
    pub(crate) justfile: String,
}

impl Workload {
    /// The three files, named as each tool looks for them.
    pub(crate) fn files(&self) -> [(&'static str, &str); 3] {
        [("tasks.toml", &self.tasks_toml), ("Taskfile.yml", &self.taskfile_yml), ("justfile", &self.justfile)]
    }
}

/// A task in a tool-neutral form.
struct Node {
    name: String,
    desc: Option<String>,
    cmd: Option<String>,
    deps: Vec<String>,
}

fn name(prefix: char, index: usize) -> String {
    format!("{prefix}{index:04}")
}

/// `count` tasks for `list`: each with a description, up to three deps on earlier tasks (the
/// previous one, and those at half and a third of its index), and a command using the `X` var.
pub(crate) fn listing(count: usize) -> Workload {
    let nodes = (0..count)
        .map(|i| {
            let mut deps: Vec<usize> = [i.wrapping_sub(1), i / 2, i / 3].into_iter().filter(|&d| d < i).collect();
            deps.sort_unstable();
            deps.dedup();
            Node {
                name: name('t', i),
                desc: Some(format!("Generated task {i}: renders a var and runs after its deps")),
                cmd: Some(format!("echo {{{{X}}}} {}", name('t', i))),
                deps: deps.into_iter().map(|d| name('t', d)).collect(),
            }
        })
        .collect::<Vec<_>>();
    render(&nodes)
}

/// One task `all` depending on `count` independent no-op tasks.
pub(crate) fn fan_out(count: usize) -> Workload {
    let mut nodes: Vec<Node> =
        (0..count).map(|i| Node { name: name('d', i), desc: None, cmd: Some("true".into()), deps: vec![] }).collect();
    let deps = nodes.iter().map(|n| n.name.clone()).collect();
    nodes.push(Node { name: "all".into(), desc: None, cmd: None, deps });
    render(&nodes)
}

/// `count` no-op tasks, each depending on the previous one; the last is [`chain_target`].
pub(crate) fn chain(count: usize) -> Workload {
    let nodes = (0..count)
        .map(|i| Node {
            name: name('c', i),
            desc: None,
            cmd: Some("true".into()),
            deps: if i == 0 { vec![] } else { vec![name('c', i - 1)] },
        })
        .collect::<Vec<_>>();
    render(&nodes)
}

pub(crate) fn chain_target(count: usize) -> String {
    name('c', count.saturating_sub(1))
}

/// `plain` and `gated`: the same no-op task, the second with a gate that passes at its first probe.
pub(crate) fn gate() -> String {
    "[tasks.plain]\ncmds = [\"true\"]\n\n\
     [tasks.gated]\ncmds = [\"true\"]\n\n\
     [tasks.gated.health]\ncmd = \"true\"\nsuccess_threshold = 1\n"
        .to_string()
}

/// One task `all` depending on `count` tasks that run at the same time for about five seconds,
/// each printing a line every half second (what the terminal renderer draws).
pub(crate) fn running(count: usize) -> String {
    let mut toml = String::new();
    for i in 0..count {
        let _ = write!(
            toml,
            "[tasks.{}]\ncmds = ['for i in 1 2 3 4 5 6 7 8 9 10; do echo \"line $i of {i}\"; sleep 0.5; done']\n\n",
            name('w', i)
        );
    }
    let deps: Vec<String> = (0..count).map(|i| format!("\"{}\"", name('w', i))).collect();
    let _ = write!(toml, "[tasks.all]\ndeps = [{}]\n", deps.join(", "));
    toml
}

/// `count` no-op tasks `r0000`…, each depending on the previous one and on the task at half its
/// index, so that the plan is a DAG rather than a plain chain; the last is [`dag_target`].
fn dag(count: usize) -> Vec<Node> {
    (0..count)
        .map(|i| {
            let mut deps: Vec<usize> = [i / 2, i.wrapping_sub(1)].into_iter().filter(|&d| d < i).collect();
            deps.sort_unstable();
            deps.dedup();
            Node {
                name: name('r', i),
                desc: None,
                cmd: Some("true".into()),
                deps: deps.into_iter().map(|d| name('r', d)).collect(),
            }
        })
        .collect()
}

pub(crate) fn dag_target(count: usize) -> String {
    name('r', count.saturating_sub(1))
}

/// The [`dag`] of `count` tasks, for planning (`opsrun run LAST --dry-run`).
pub(crate) fn plan(count: usize) -> String {
    render(&dag(count)).tasks_toml
}

/// A pipeline `p` over the [`dag`] of `count` tasks, each with a health gate that passes at its
/// first probe (`true`).
pub(crate) fn gated_pipeline(count: usize) -> String {
    let mut toml = plan(count);
    for i in 0..count {
        let _ = write!(toml, "[tasks.{}.health]\ncmd = \"true\"\nsuccess_threshold = 1\n\n", name('r', i));
    }
    let _ = write!(toml, "[pipelines.p]\ntargets = [\"{}\"]\n", dag_target(count));
    toml
}

/// One task `build` whose sources are every file under `src/`, and whose command leaves a
/// marker, `ran`, so that the harness can tell a run from a skip. `tasks.toml` and
/// `Taskfile.yml` (go-task's default `method: checksum`); there is no justfile, since just has no
/// up-to-date checks.
pub(crate) fn up_to_date() -> Workload {
    Workload {
        tasks_toml: format!("[tasks.build]\nsources = [\"{SOURCES_GLOB}\"]\ncmds = [\"touch {RAN_MARKER}\"]\n"),
        taskfile_yml: format!(
            "version: '3'\n\ntasks:\n  build:\n    sources:\n      - '{SOURCES_GLOB}'\n    cmds:\n      - touch {RAN_MARKER}\n"
        ),
        justfile: String::new(),
    }
}

/// What [`up_to_date`]'s task reads, relative to the workload's directory.
pub(crate) const SOURCES_GLOB: &str = "src/**/*";
/// The file [`up_to_date`]'s task creates when it runs.
pub(crate) const RAN_MARKER: &str = "ran";

/// One task `out` that prints `bytes` bytes of 61-byte lines to stdout; [`output_command`] alone.
pub(crate) fn output(bytes: usize) -> String {
    format!("[tasks.out]\ncmds = [\"{}\"]\n", output_command(bytes))
}

pub(crate) fn output_command(bytes: usize) -> String {
    format!("yes 'opsrun benchmark output line of about sixty characters......' | head -c {bytes}")
}

/// Writes the nodes in the three formats. Commands are written with opsrun's `{{X}}` placeholder
/// and translated: `{{.X}}` for opsrun and go-task, `{{X}}` for just.
fn render(nodes: &[Node]) -> Workload {
    let uses_var = nodes.iter().any(|n| n.cmd.as_deref().is_some_and(|c| c.contains("{{X}}")));
    let go_template = |cmd: &str| cmd.replace("{{X}}", "{{.X}}");

    let mut toml = String::new();
    let mut yml = String::from("version: '3'\n\n");
    let mut just = String::new();
    if uses_var {
        toml.push_str("[vars]\nX = \"value\"\n\n");
        yml.push_str("vars:\n  X: value\n\n");
        just.push_str("X := \"value\"\n\n");
    }
    yml.push_str("tasks:\n");

    for node in nodes {
        let quoted = |items: &[String]| items.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ");

        let _ = writeln!(toml, "[tasks.{}]", node.name);
        let _ = writeln!(yml, "  {}:", node.name);
        if let Some(desc) = &node.desc {
            let _ = writeln!(toml, "desc = \"{desc}\"");
            let _ = writeln!(yml, "    desc: '{desc}'");
            let _ = writeln!(just, "# {desc}");
        }
        if !node.deps.is_empty() {
            let _ = writeln!(toml, "deps = [{}]", quoted(&node.deps));
            let _ = writeln!(yml, "    deps: [{}]", quoted(&node.deps));
        }
        let _ = write!(just, "{}:", node.name);
        for dep in &node.deps {
            let _ = write!(just, " {dep}");
        }
        just.push('\n');
        if let Some(cmd) = &node.cmd {
            let _ = writeln!(toml, "cmds = [\"{}\"]", go_template(cmd));
            let _ = writeln!(yml, "    cmds:\n      - '{}'", go_template(cmd));
            let _ = writeln!(just, "    {cmd}");
        }
        toml.push('\n');
        just.push('\n');
    }
    Workload { tasks_toml: toml, taskfile_yml: yml, justfile: just }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_has_descs_deps_on_earlier_tasks_and_a_var() {
        let workload = listing(4);
        let expected_toml = "\
[vars]
X = \"value\"

[tasks.t0000]
desc = \"Generated task 0: renders a var and runs after its deps\"
cmds = [\"echo {{.X}} t0000\"]

[tasks.t0001]
desc = \"Generated task 1: renders a var and runs after its deps\"
deps = [\"t0000\"]
cmds = [\"echo {{.X}} t0001\"]

[tasks.t0002]
desc = \"Generated task 2: renders a var and runs after its deps\"
deps = [\"t0000\", \"t0001\"]
cmds = [\"echo {{.X}} t0002\"]

[tasks.t0003]
desc = \"Generated task 3: renders a var and runs after its deps\"
deps = [\"t0001\", \"t0002\"]
cmds = [\"echo {{.X}} t0003\"]

";
        assert_eq!(workload.tasks_toml, expected_toml);
        assert!(workload.justfile.contains(
            "# Generated task 3: renders a var and runs after its deps\nt0003: t0001 t0002\n    echo {{X}} t0003\n"
        ));
        assert!(workload.taskfile_yml.contains("  t0003:\n    desc: 'Generated task 3: renders a var and runs after its deps'\n    deps: [\"t0001\", \"t0002\"]\n    cmds:\n      - 'echo {{.X}} t0003'\n"));
    }

    #[test]
    fn fan_out_chain_and_pipeline_shapes() {
        let fan = fan_out(3);
        assert!(fan.tasks_toml.contains("[tasks.all]\ndeps = [\"d0000\", \"d0001\", \"d0002\"]\n"));
        assert!(fan.justfile.contains("all: d0000 d0001 d0002\n"));
        let chain = chain(3);
        assert!(chain.tasks_toml.contains("[tasks.c0002]\ndeps = [\"c0001\"]\ncmds = [\"true\"]\n"));
        assert_eq!(chain_target(3), "c0002");
        let plan = plan(5);
        assert!(plan.contains("[tasks.r0004]\ndeps = [\"r0002\", \"r0003\"]\ncmds = [\"true\"]\n"));
        assert_eq!(dag_target(5), "r0004");
        let pipeline = gated_pipeline(5);
        assert!(pipeline.starts_with(&plan));
        assert!(pipeline.contains("[tasks.r0004.health]\ncmd = \"true\"\nsuccess_threshold = 1\n"));
        assert!(pipeline.ends_with("[pipelines.p]\ntargets = [\"r0004\"]\n"));
    }

    #[test]
    fn up_to_date_and_output_tasks() {
        let workload = up_to_date();
        assert_eq!(workload.tasks_toml, "[tasks.build]\nsources = [\"src/**/*\"]\ncmds = [\"touch ran\"]\n");
        assert!(workload.taskfile_yml.contains("    sources:\n      - 'src/**/*'\n    cmds:\n      - touch ran\n"));
        assert_eq!(
            output(1000),
            "[tasks.out]\ncmds = [\"yes 'opsrun benchmark output line of about sixty characters......' | head -c 1000\"]\n"
        );
    }
}
