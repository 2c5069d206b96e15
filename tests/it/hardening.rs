//! What opsrun writes is private and never goes through a link planted in `.opsrun/`; what it
//! prints about a plan is masked; a `kill -9` loses at most the line in flight.

use std::os::unix::fs::{PermissionsExt, symlink};

use nix::sys::signal::Signal;

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
fn a_missing_directory_is_named_as_such() {
    let tasks = "[tasks.t]\ndir = 'nowhere'\nenv = { X = { sh = 'echo x' } }\ncmds = ['true']\n";
    let out = Test::new().tasks(tasks).args(&["--output", "plain", "run", "t"]).run();
    out.status(1)
        .stderr_contains("its directory")
        .stderr_contains("nowhere` does not exist")
        .output_lacks("environment variable");
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
