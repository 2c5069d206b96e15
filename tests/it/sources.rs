//! `sources`: a task whose source files did not change is skipped without reading them again
//! (the digests are cached with each file's metadata in `.opsrun/sources.cache`), and whatever
//! changes a file's content is noticed, whatever the cache says.
//!
//! opsrun trusts a cached digest only for a file last changed 2 s before hashing started
//! (git's "racily clean" problem); these tests set that margin to 0 with
//! `OPSRUN_FAULT_RACY_MARGIN_MS` so the cache is used at once instead of after a wait.

use std::fs;
use std::path::Path;

use crate::support::Test;

const BUILD: &str = r#"
[tasks.build]
sources = ["src/**/*"]
cmds = ["echo ran >> build.count"]

[pipelines.p]
targets = ["build"]
"#;

/// A project whose `build` task has two source files, run with a racy margin of 0 and the
/// engine's debug lines (`source digests ... files=N read=M`) on stderr.
fn project() -> Test {
    settled(Test::new().tasks(BUILD).file("src/a.txt", "one\n").file("src/b/c.txt", "two\n"))
}

fn settled(test: Test) -> Test {
    test.env("OPSRUN_FAULT_RACY_MARGIN_MS", "0").env("RUST_LOG", "opsrun_engine::sources=debug")
}

/// Rewrites `path` with `content` (of the same size) and puts its modification time back, as
/// `touch -d` would: only its change time, which no one can set, tells.
fn rewrite_keeping_size_and_mtime(project: &Path, path: &str, content: &str) {
    let path = project.join(path);
    let before = fs::metadata(&path).unwrap();
    assert_eq!(before.len(), content.len() as u64, "the test must keep the size");
    fs::write(&path, content).unwrap();
    fs::File::options().write(true).open(&path).unwrap().set_modified(before.modified().unwrap()).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before.modified().unwrap());
}

#[test]
fn unchanged_sources_are_skipped_without_being_read() {
    let out = project().args(&["run", "build"]).run();
    out.status(0).stderr_contains("files=2 read=2");
    assert_eq!(out.lines("build.count"), 1);
    assert!(out.exists(".opsrun/sources.cache"));
    let out = settled(out.then()).args(&["run", "build"]).run();
    out.status(0).stderr_contains("up to date").stderr_contains("files=2 read=0");
    assert_eq!(out.lines("build.count"), 1, "ran again with unchanged sources");
}

#[test]
fn a_content_change_that_keeps_size_and_mtime_runs_the_task() {
    let out = project().args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 1);
    rewrite_keeping_size_and_mtime(out.path(), "src/a.txt", "ONE\n");
    let out = settled(out.then()).args(&["run", "build"]).run();
    out.status(0).stderr_contains("files=2 read=1");
    assert_eq!(out.lines("build.count"), 2, "a changed source went unnoticed");
    let out = settled(out.then()).args(&["run", "build"]).run();
    out.status(0).stderr_contains("up to date");
    assert_eq!(out.lines("build.count"), 2);
}

#[test]
fn a_source_replaced_or_removed_or_added_runs_the_task() {
    let out = project().args(&["run", "build"]).run();
    // Another file with the same content: the same digest, skipped.
    fs::write(out.path().join("src/new.txt"), "one\n").unwrap();
    fs::rename(out.path().join("src/new.txt"), out.path().join("src/a.txt")).unwrap();
    let out = settled(out.then()).args(&["run", "build"]).run();
    out.status(0).stderr_contains("files=2 read=1").stderr_contains("up to date");
    fs::write(out.path().join("src/b/d.txt"), "three\n").unwrap();
    let out = settled(out.then()).args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 2, "an added source went unnoticed");
    fs::remove_file(out.path().join("src/b/d.txt")).unwrap();
    let out = settled(out.then()).args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 3, "a removed source went unnoticed");
}

#[test]
fn a_damaged_cache_is_ignored_and_rebuilt() {
    let mut out = project().args(&["run", "build"]).run();
    let cache = out.path().join(".opsrun/sources.cache");
    let good = fs::read(&cache).unwrap();
    let damaged: [&[u8]; 4] = [b"garbage", b"", &good[..100], b"opsrun-sources\0\x01 and then nonsense"];
    for bytes in damaged {
        fs::write(&cache, bytes).unwrap();
        out = settled(out.then()).args(&["run", "build"]).run();
        out.status(0).stderr_contains("up to date").stderr_contains("files=2 read=2");
        assert_eq!(fs::read(&cache).unwrap().len(), good.len(), "the cache was not rebuilt");
    }
    rewrite_keeping_size_and_mtime(out.path(), "src/b/c.txt", "TWO\n");
    let out = settled(out.then()).args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 2);
}

#[test]
fn a_link_in_place_of_the_cache_is_not_followed() {
    let out = project().args(&["run", "build"]).run();
    let cache = out.path().join(".opsrun/sources.cache");
    let outside = out.path().join("precious.txt");
    fs::write(&outside, "keep me\n").unwrap();
    fs::remove_file(&cache).unwrap();
    std::os::unix::fs::symlink(&outside, &cache).unwrap();
    let out = settled(out.then()).args(&["run", "build"]).run();
    // Ignored like a damaged cache (every file read), then replaced by a file of opsrun's own.
    out.status(0).stderr_contains("up to date").stderr_contains("files=2 read=2");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep me\n", "written through the link");
    assert!(!fs::symlink_metadata(&cache).unwrap().file_type().is_symlink());
}

#[test]
fn explain_and_dry_run_agree_with_the_run() {
    let out = project().args(&["run", "build"]).run();
    let explain = settled(out.then()).args(&["explain", "build"]).run();
    explain.status(0).stdout_contains("build will be skipped");
    let dry = settled(explain.then()).args(&["run", "--dry-run", "build"]).run();
    dry.status(0).stdout_contains("[skip: up to date: sources unchanged]");
    let run = settled(dry.then()).args(&["run", "build"]).run();
    run.status(0).stderr_contains("up to date");
    assert_eq!(run.lines("build.count"), 1);

    rewrite_keeping_size_and_mtime(run.path(), "src/a.txt", "ONE\n");
    let explain = settled(run.then()).args(&["explain", "build"]).run();
    explain.status(0).stdout_contains("build will run");
    let dry = settled(explain.then()).args(&["run", "--dry-run", "build"]).run();
    dry.status(0).stdout_contains("[run: sources changed since the last success]");
    let run = settled(dry.then()).args(&["run", "build"]).run();
    run.status(0);
    assert_eq!(run.lines("build.count"), 2);
}

#[test]
fn a_pipeline_reads_each_source_once_for_its_preflight_and_run() {
    // The preflight's prediction and the run share one cache: the files are read once. (With
    // no saved record to compare with, the prediction needs no fingerprint: only the run
    // digests the sources.)
    let out = project().args(&["pipeline", "p"]).run();
    out.status(0);
    assert_eq!(out.stderr().matches("files=2 read=2").count(), 1, "{}", out.stderr());
    assert!(!out.stderr().contains("read=1"), "{}", out.stderr());
    assert_eq!(out.lines("build.count"), 1);
    let out = settled(out.then()).args(&["pipeline", "p"]).run();
    out.status(0);
    assert!(!out.stderr().contains("read=1") && !out.stderr().contains("read=2"), "{}", out.stderr());
    assert_eq!(out.lines("build.count"), 1);
}

#[test]
fn a_source_a_dependency_writes_during_the_run_is_seen_by_its_content() {
    // `gen` rewrites a source of `build` in the same run: `build` sees what was written (not
    // what the cache or an earlier prediction held), and runs only when the content changed.
    let tasks = r#"
[tasks.gen]
cmds = ["cat input > src/gen.txt"]
[tasks.build]
deps = ["gen"]
sources = ["src/**/*"]
cmds = ["echo ran >> build.count"]
[tasks.caller]
cmds = [{ task = "gen" }, { task = "build" }]
"#;
    let out =
        settled(Test::new().tasks(tasks).file("src/a.txt", "one\n").file("input", "1\n")).args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 1);
    // Rewritten with the same content: skipped.
    let out = settled(out.then()).args(&["run", "build"]).run();
    out.status(0).stderr_contains("up to date");
    assert_eq!(out.lines("build.count"), 1);
    // Rewritten with other content of the same size: runs.
    fs::write(out.path().join("input"), "2\n").unwrap();
    let out = settled(out.then()).args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 2);
    // The same through calls: the caller's fingerprint is taken before `gen` runs, `build`'s
    // after.
    fs::write(out.path().join("input"), "3\n").unwrap();
    let out = settled(out.then()).args(&["run", "caller"]).run();
    out.status(0);
    assert_eq!(out.lines("build.count"), 3);
    let out = settled(out.then()).args(&["run", "caller"]).run();
    out.status(0);
    assert_eq!(out.lines("build.count"), 3, "a called task with unchanged sources ran again");
}

#[test]
fn a_task_in_a_subdirectory_shares_the_project_cache() {
    let tasks = r#"
[tasks.sub]
dir = "sub"
sources = ["**/*.txt"]
cmds = ["echo ran >> ../sub.count"]
"#;
    let out = settled(Test::new().tasks(tasks).file("sub/x.txt", "x\n").file("sub/y/z.txt", "z\n"))
        .args(&["run", "sub"])
        .run();
    assert_eq!(out.lines("sub.count"), 1);
    let out = settled(out.then()).args(&["run", "sub"]).run();
    out.status(0).stderr_contains("files=2 read=0");
    assert_eq!(out.lines("sub.count"), 1);
    rewrite_keeping_size_and_mtime(out.path(), "sub/y/z.txt", "Z\n");
    let out = settled(out.then()).args(&["run", "sub"]).run();
    assert_eq!(out.lines("sub.count"), 2);
}

#[test]
fn with_the_default_margin_the_run_is_right_too() {
    // Files the test has just written are too new to cache (2 s): they are read every time,
    // and the decision is the same.
    let out = Test::new().tasks(BUILD).file("src/a.txt", "one\n").args(&["run", "build"]).run();
    let out = out.then().args(&["run", "build"]).run();
    out.status(0).stderr_contains("up to date");
    assert_eq!(out.lines("build.count"), 1);
    rewrite_keeping_size_and_mtime(out.path(), "src/a.txt", "ONE\n");
    let out = out.then().args(&["run", "build"]).run();
    assert_eq!(out.lines("build.count"), 2);
}
