//! What opsrun writes is private and never goes through a link planted in `.opsrun/`; what it
//! prints about a plan is masked; a `kill -9` loses at most the line in flight.

use std::os::unix::fs::{PermissionsExt, symlink};

use nix::sys::signal::Signal;

use opsrun::event::Event;

use crate::support::Test;

const TASKS: &str = "[tasks.hello]\ncmds = ['echo one; echo two; echo three']\n[pipelines.p]\ntargets = ['hello']\n";

#[test]
fn the_state_directory_and_its_files_are_private() {
    let out = Test::new().tasks(TASKS).args(&["--output", "plain", "pipeline", "p"]).run();
    let dir = out.path().join(".opsrun");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    for entry in walk(&dir) {
        let m = mode(&entry);
        if entry.is_dir() {
            assert_eq!(m, 0o700, "{}", entry.display());
        } else {
            assert_eq!(m, 0o600, "{}", entry.display());
            files += 1;
        }
    }
    assert!(files >= 4, "state, log, journal, lock: {files} files");
}

#[test]
fn links_planted_in_the_state_directory_are_refused_not_followed() {
    let setup = Test::new().tasks(TASKS).args(&["--output", "plain", "pipeline", "p"]).run();
    let outside = setup.path().join("precious.txt");
    std::fs::write(&outside, "keep me\n").unwrap();
    let state = setup.path().join(".opsrun");
    for name in ["state.wal", "lock.json"] {
        let link = state.join(name);
        let _ = std::fs::remove_file(&link);
        symlink(&outside, &link).unwrap();
    }
    let out = setup.then().args(&["--output", "plain", "pipeline", "p"]).run();
    out.status(2).stderr_contains("is a symbolic link");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me\n", "the link's target was written");
}

#[test]
fn a_killed_run_keeps_every_line_its_task_printed() {
    let mut running = Test::new()
        .tasks("[tasks.chatty]\ncmds = ['echo one; echo two; echo three; touch printed; sleep 1270']\n")
        .args(&["--output", "plain", "run", "chatty"])
        .spawn();
    running.wait_for_file("printed");
    // The lines reach the journal and the log as events are handled: give the scheduler the
    // moment between the task's `touch` and its output being handled.
    running.wait_until("the log to have three lines", |r| {
        walk(&r.path().join(".opsrun/logs"))
            .iter()
            .any(|p| p.is_file() && std::fs::read_to_string(p).is_ok_and(|t| t.contains("three")))
    });
    running.signal(Signal::SIGKILL);
    let out = running.wait();
    assert_eq!(out.status_code(), None);
    crate::support::kill_processes("sleep 1270");
    let runs = walk(&out.path().join(".opsrun/runs"));
    let journal = runs.iter().find(|p| p.extension().is_some_and(|e| e == "jsonl")).expect("a journal");
    let text = std::fs::read_to_string(journal).unwrap();
    for line in ["one", "two", "three"] {
        assert!(text.contains(&format!("\"line\":\"{line}\"")), "the journal lost `{line}`:\n{text}");
    }
}

#[test]
fn a_secret_in_a_gate_url_is_masked_in_graph_status_and_events() {
    let tasks = r#"
        [vars]
        TOKEN = { value = "tok-4f9a8b7c6d5e", secret = true }
        [tasks.api]
        cmds = ["true"]
        health = { http = "http://127.0.0.1:9/ready?token={{.TOKEN}}", timeout = "1s", interval = "100ms", probe_timeout = "200ms", consecutive_error_limit = 1 }
        [pipelines.bootstrap]
        targets = ["api"]
    "#;
    let run = Test::new().tasks(tasks).args(&["--output", "json", "pipeline", "bootstrap"]).run();
    run.status(1).output_lacks("tok-4f9a8b7c6d5e");
    let status = run.then().args(&["--output", "json", "status", "bootstrap"]).run();
    status.status(4).output_lacks("tok-4f9a8b7c6d5e").stdout_contains("****");
    let graph = status.then().args(&["graph", "api", "--format", "dot"]).run();
    graph.output_lacks("tok-4f9a8b7c6d5e");
    for file in walk(&graph.path().join(".opsrun")) {
        if file.is_file() {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("tok-4f9a8b7c6d5e"),
                "{} holds the secret",
                file.display()
            );
        }
    }
}

/// Every path under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn a_damaged_state_stops_a_resume_and_fresh_starts_over_keeping_it() {
    let tasks =
        "[tasks.a]\ncmds = ['echo a']\n[tasks.b]\ndeps = ['a']\ncmds = ['echo b']\n[pipelines.p]\ntargets = ['b']\n";
    let first = Test::new().tasks(tasks).args(&["--output", "plain", "pipeline", "p"]).run();
    let second = first.then().args(&["--output", "plain", "pipeline", "p", "--fresh"]).run();
    // Two saves: a previous copy exists. Then the current one is torn.
    std::fs::write(second.path().join(".opsrun/state.json"), "{\"version\": 1, \"tas").unwrap();
    let refused = second.then().args(&["--output", "plain", "pipeline", "p"]).run();
    refused
        .status(2)
        .stderr_contains("damaged")
        .stderr_contains("--fresh")
        .stderr_contains("state.json.prev")
        .output_lacks("resumed");
    assert_eq!(refused.stdout(), "", "nothing ran");
    let fresh = refused.then().args(&["--output", "plain", "pipeline", "p", "--fresh"]).run();
    fresh.stderr_contains("the state file was damaged; it is kept as").stdout_contains("a\nb\n");
    let kept: Vec<_> = std::fs::read_dir(fresh.path().join(".opsrun"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("state.json.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "the damaged file is kept");
    // And the next plain run resumes from the fresh state.
    let resumed = fresh.then().args(&["--output", "plain", "pipeline", "p"]).run();
    resumed.stderr_contains("resumed");
}

#[test]
fn a_body_that_stalls_is_an_error_not_a_pass_for_body_not() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Headers and 10 bytes of a 1000-byte body, then silence (the connection stays open).
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
            held.push(s);
        }
    });
    let tasks = format!(
        "[tasks.api]\ncmds = ['true']\nhealth = {{ http = 'http://{addr}/ready', body_not = 'NotReady', probe_timeout = '300ms', timeout = '2s', interval = '50ms', consecutive_error_limit = 2 }}\n"
    );
    let out = Test::new().tasks(&tasks).args(&["--output", "plain", "run", "api"]).run();
    out.status(1).stderr_contains("the body could not be read");
}

#[test]
fn a_directory_that_cannot_be_made_is_named_as_such() {
    // A missing directory is made before the env commands run (as go-task does); one that
    // cannot be made (a file is in the way) is reported as what it is.
    let tasks = "[tasks.t]\ndir = 'blocker/sub'\nenv = { X = { sh = 'echo x' } }\ncmds = ['true']\n[tasks.made]\ndir = 'new/dir'\nenv = { X = { sh = 'pwd' } }\ncmds = ['echo \"$X\"']\n";
    let test = Test::new().tasks(tasks).file("blocker", "a file, not a directory");
    let out = test.args(&["--output", "plain", "run", "t"]).run();
    out.status(1).stderr_contains("cannot create the task's directory").output_lacks("environment variable");
    let made = out.then().args(&["--output", "plain", "run", "made"]).run();
    made.stdout_contains("new/dir");
}

#[test]
fn runs_shows_a_run_in_progress_as_running() {
    let mut running = Test::new()
        .tasks("[tasks.slow]\ncmds = ['touch started; sleep 1271']\n")
        .args(&["--output", "plain", "run", "slow"])
        .spawn();
    running.wait_for_file("started");
    let runs = running.alongside().args(&["runs"]).run();
    runs.stdout_contains("running now (pid").output_lacks("opsrun stopped");
    running.signal(Signal::SIGTERM);
    let _ = running.wait().status_code();
}

/// Every byte opsrun printed (`outputs`) or wrote (under the project's `.opsrun/`), searched
/// for `needles`.
fn assert_nowhere(project: &std::path::Path, outputs: &[&str], needles: &[&str]) {
    let written = walk(&project.join(".opsrun"));
    assert!(written.len() > 3, "opsrun wrote its state, journal and logs");
    for needle in needles {
        for (i, text) in outputs.iter().enumerate() {
            assert!(!text.contains(needle), "output {i} holds `{needle}`:\n{text}");
        }
        for file in &written {
            if file.is_file() {
                let bytes = std::fs::read(file).unwrap();
                assert!(!String::from_utf8_lossy(&bytes).contains(needle), "{} holds `{needle}`", file.display());
            }
        }
    }
}

#[test]
fn single_and_multi_line_secrets_are_masked_in_every_byte_written_or_printed() {
    // A multi-line credential as `op read` returns a kubeconfig or a key, printed line by line
    // and in a failing command; a single-line one in a gate command, a gate URL and a label; a
    // credential given on the command line.
    let tasks = r#"
        [vars]
        TOKEN = { value = "tok-single-line-7f3a9c", secret = true }
        [env]
        KEY = { sh = "printf 'first-key-line-81be\nsecond-key-line-4c2d\nend\n'", secret = true }
        [tasks.show]
        label = "show {{.API_TOKEN}}"
        cmds = ['echo "$KEY"', 'echo "token: {{.TOKEN}}"', 'echo "cli: {{.API_TOKEN}}"']
        health = { cmd = "test -n '{{.TOKEN}}'", interval = "10ms", success_threshold = 1 }
        [tasks.url]
        deps = ["show"]
        cmds = ["true"]
        health = { http = "http://127.0.0.1:9/?t={{.TOKEN}}", timeout = "300ms", interval = "50ms", probe_timeout = "100ms", consecutive_error_limit = 1 }
        [tasks.fails]
        cmds = ['echo "$KEY" >&2; printf "%s\\n" "$KEY" | sed -n 2p; exit 3']
        [pipelines.p]
        targets = ["url", "fails"]
    "#;
    let secrets = ["tok-single-line-7f3a9c", "first-key-line-81be", "second-key-line-4c2d", "cli-credential-55e1"];
    let mut outputs = Vec::new();
    let plain = Test::new()
        .tasks(tasks)
        .args(&["--output", "plain", "pipeline", "p", "--keep-going", "API_TOKEN=cli-credential-55e1"])
        .run();
    plain.status(1);
    outputs.push(plain.stdout().to_string());
    outputs.push(plain.stderr().to_string());
    let json = plain
        .then()
        .args(&["--output", "json", "pipeline", "p", "--keep-going", "--fresh", "API_TOKEN=cli-credential-55e1"])
        .run();
    json.status(1);
    assert!(json.stdout().contains("****"), "masks are visible where the secrets were");
    outputs.push(json.stdout().to_string());
    outputs.push(json.stderr().to_string());
    for args in [
        vec!["status", "p", "API_TOKEN=cli-credential-55e1"],
        vec!["graph", "url", "API_TOKEN=cli-credential-55e1"],
        vec!["explain", "url", "API_TOKEN=cli-credential-55e1"],
        vec!["runs"],
        vec!["logs", "fails"],
        vec!["pipeline", "p", "--dry-run", "API_TOKEN=cli-credential-55e1"],
    ] {
        let out = json.alongside().args(&args).run();
        let _ = out.status_code();
        outputs.push(out.stdout().to_string());
        outputs.push(out.stderr().to_string());
    }
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_nowhere(json.path(), &outputs, &secrets);
}

#[test]
fn a_simulated_bootstrap_never_shows_a_1password_value() {
    let sim = crate::sim::Sim::new();
    let out = sim.opsrun(sim.project(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    let status = sim.opsrun(out.alongside(), &["status"], &[]).run();
    // The fake `op read` answers `sim-secret-<checksum>` for every reference.
    assert_nowhere(status.path(), &[out.stdout(), out.stderr(), status.stdout(), status.stderr()], &["sim-secret-"]);
}

#[test]
fn the_journal_keeps_the_first_mib_of_a_tasks_output_then_its_tail_and_the_log_keeps_all() {
    // 30,000 numbered lines of 64 bytes: about 1.9 MiB.
    let out = Test::new()
        .tasks("[tasks.loud]\ncmds = ['seq -f \"line %058g\" 1 30000']\n")
        .args(&["--output", "plain", "run", "loud"])
        .run();
    assert_eq!(out.stdout().lines().count(), 30000, "the terminal gets every line");
    let runs = walk(&out.path().join(".opsrun/runs"));
    let journal = runs.iter().find(|p| p.extension().is_some_and(|e| e == "jsonl")).expect("a journal");
    let events = crate::support::parse_events(&std::fs::read_to_string(journal).unwrap());
    let lines: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Output { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    let kept = 1024 * 1024 / 64;
    assert_eq!(lines.len(), kept + 20, "the first MiB, then the last 20 lines");
    assert_eq!(lines[0], format!("line {:058}", 1));
    assert_eq!(lines[kept - 1], format!("line {kept:058}"));
    assert_eq!(lines[kept], format!("line {:058}", 29981));
    assert_eq!(lines[kept + 19], format!("line {:058}", 30000));
    let note = crate::support::find(&events, "the note", |e| matches!(e, Event::Warning { .. }));
    let Event::Warning { task, message } = &note.event else { unreachable!() };
    assert_eq!(task.as_deref(), Some("loud"));
    let left_out = 30000 - kept;
    assert!(message.contains(&format!("{left_out} more line(s) ({} bytes)", left_out * 64)), "{message}");
    // The note and the tail come before the task's end, which is still the journal's last word on it.
    let finished = events.iter().position(|e| matches!(e.event, Event::TaskFinished { .. })).unwrap();
    let last_line = events.iter().rposition(|e| matches!(e.event, Event::Output { .. })).unwrap();
    assert!(last_line < finished);
    let log = walk(&out.path().join(".opsrun/logs")).into_iter().find(|p| p.is_file()).expect("a log");
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(log.lines().filter(|l| l.starts_with("line ")).count(), 30000, "the log keeps every line");
}

#[test]
fn status_lines_and_a_tasks_output_keep_their_order_on_a_shared_pipe() {
    // stdout and stderr on the same pipe (`2>&1`), as in a CI log: writing per burst must not
    // reorder what a task printed and what opsrun said around it.
    let project = Test::new().tasks(
        "[tasks.a]\ncmds = ['echo out-1; sleep 0.05; echo err-1 >&2; sleep 0.05; echo out-2']\n\n\
         [tasks.b]\ndeps = ['a']\ncmds = ['echo out-3']\n",
    );
    let combined = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' --output plain run b 2>&1", env!("CARGO_BIN_EXE_opsrun")))
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(combined.status.success());
    let text = String::from_utf8(combined.stdout).unwrap();
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| match l {
            "out-1" | "err-1" | "out-2" | "out-3" => Some(l),
            _ if l.starts_with("[a] ok") => Some("[a] ok"),
            "[b] started" => Some(l),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["out-1", "err-1", "out-2", "[a] ok", "[b] started", "out-3"], "{text}");
}
