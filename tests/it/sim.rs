//! The simulated cluster (`tests/fixtures/sim`) from a test: a fresh sim state directory, the
//! 1Password Connect `/health` endpoint served on loopback, and projects holding copies of the
//! real root `tasks.toml` chain with the fake toolchain first on `PATH`.
//!
//! What opsrun did to the cluster is read back from the sim's `calls.log`: a [`Mark`] taken
//! before a command and [`Sim::calls_since`] give exactly the calls that command made.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

use tempfile::TempDir;

use crate::support::{Output, Test};

/// The repository root, where the real chain (`tasks.toml`, `talconfig.yaml`, `talos/`,
/// `bootstrap/`) lives.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Stages of the real chain, bottom up.
pub(crate) const STAGES: [&str; 6] = ["talos", "api", "cilium", "onepassword", "external-secrets", "flux"];

/// Every task of the `bootstrap` pipeline, in order.
pub(crate) const BOOTSTRAP_TASKS: [&str; 9] = [
    "talos:genconfig",
    "talos:apply-config",
    "talos:bootstrap",
    "talos",
    "api",
    "cilium",
    "onepassword",
    "external-secrets",
    "flux",
];

fn simctl_path() -> PathBuf {
    Path::new(REPO).join("tests/fixtures/sim/simctl")
}

/// A simulated cluster: its state directory and the Connect `/health` server answering for it.
pub(crate) struct Sim {
    dir: TempDir,
    port: u16,
}

/// A position in `calls.log`, to read what was called after it.
#[derive(Clone, Copy)]
pub(crate) struct Mark(usize);

impl Sim {
    /// A fresh simulated cluster (nothing installed) with its `/health` endpoint listening.
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("opsrun-sim-").tempdir().expect("create a sim dir");
        let sim = Self { port: serve_connect_health(dir.path().to_path_buf()), dir };
        sim.simctl(&["init"]);
        sim
    }

    /// The sim's state directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Whether `stage` is ready now (`simctl ready`: no flap counters, no hangs).
    pub(crate) fn ready(&self, stage: &str) -> bool {
        Command::new(simctl_path()).arg("ready").arg(self.dir.path()).arg(stage).status().expect("run simctl").success()
    }

    /// Runs `simctl ARGS[0] DIR ARGS[1..]`, asserting success; returns its stdout.
    pub(crate) fn simctl(&self, args: &[&str]) -> String {
        let (command, rest) = args.split_first().expect("a simctl command");
        let out =
            Command::new(simctl_path()).arg(command).arg(self.dir.path()).args(rest).output().expect("run simctl");
        assert!(out.status.success(), "simctl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("simctl output is UTF-8")
    }

    /// Turns a fault on or off.
    pub(crate) fn fault(&self, name: &str, on: bool) {
        self.simctl(&["fault", name, if on { "on" } else { "off" }]);
    }

    /// Sets a stage's readiness delay.
    pub(crate) fn delay(&self, stage: &str, ms: u64) {
        self.simctl(&["delay", stage, &ms.to_string()]);
    }

    /// Writes `config/KEY`.
    pub(crate) fn config(&self, key: &str, value: &str) {
        self.simctl(&["config", key, value]);
    }

    /// An emergency change made by hand: `subject` (`Kind/namespace/name`) of Kustomization `ks`
    /// now carries `text` in the cluster (`simctl drift`).
    pub(crate) fn drift(&self, ks: &str, subject: &str, text: &str) {
        self.simctl(&["drift", ks, subject, text]);
    }

    /// Runs a fake tool by hand, as an operator would, with `project`'s kubeconfig; asserts
    /// success and returns its stdout.
    pub(crate) fn tool(&self, project: &Path, args: &[&str]) -> String {
        let (tool, rest) = args.split_first().expect("a tool");
        let out = Command::new(Path::new(REPO).join("tests/fixtures/sim/bin").join(tool))
            .args(rest)
            .env("OPSRUN_SIM_DIR", self.dir.path())
            .env("KUBECONFIG", project.join("kubeconfig"))
            .output()
            .expect("run a sim tool");
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("tool output is UTF-8")
    }

    /// Every recorded call, one per line.
    pub(crate) fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    /// The current end of `calls.log`.
    pub(crate) fn mark(&self) -> Mark {
        Mark(self.calls().len())
    }

    /// The calls recorded after `mark`.
    pub(crate) fn calls_since(&self, mark: Mark) -> Vec<String> {
        self.calls().split_off(mark.0)
    }

    /// The variables pointing the real chain at this sim: three loopback nodes, the test's
    /// `/health` server, fast gates. `extra` (`NAME=value`) replaces or adds assignments.
    pub(crate) fn vars(&self, extra: &[&str]) -> Vec<String> {
        let mut vars = vec![
            "NODES=127.0.0.2 127.0.0.3 127.0.0.4".to_owned(),
            "CONTROL_PLANE_ENDPOINT=https://127.0.0.1:6443".to_owned(),
            format!("OP_CONNECT_URL=http://127.0.0.1:{}", self.port),
            "GATE_INTERVAL=20ms".to_owned(),
        ];
        for assignment in extra {
            let name = assignment.split_once('=').expect("NAME=value").0;
            vars.retain(|v| v.split_once('=').is_none_or(|(n, _)| n != name));
            vars.push((*assignment).to_owned());
        }
        vars
    }

    /// A new project holding copies of the real chain, with this sim's environment.
    pub(crate) fn project(&self) -> Test {
        let test = Test::new();
        for entry in ["tasks.toml", "talconfig.yaml", "talos", "bootstrap"] {
            copy_tree(&Path::new(REPO).join(entry), &test.path().join(entry));
        }
        self.env(test)
    }

    /// The environment the fake tools need: the sim dir, the fakes first on `PATH`, and the
    /// credentials the chain's preconditions check. Kubeconfig and talosconfig come from
    /// `tasks.toml` only, never from the developer's shell.
    pub(crate) fn env(&self, test: Test) -> Test {
        let bin = Path::new(REPO).join("tests/fixtures/sim/bin");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        let path = std::env::join_paths(paths).expect("a valid PATH");
        test.env("OPSRUN_SIM_DIR", self.dir.path().to_str().expect("UTF-8 temp path"))
            .env("PATH", path.to_str().expect("UTF-8 PATH"))
            .env("OP_ACCOUNT", "sim")
            .env("GITHUB_TOKEN", "sim")
            .env_remove("KUBECONFIG")
            .env_remove("TALOSCONFIG")
    }

    /// A new project after a full, successful `opsrun bootstrap` of this sim.
    pub(crate) fn bootstrapped(&self) -> Output {
        let out = self.opsrun(self.project(), &["bootstrap"], &[]).run();
        out.status(0);
        out
    }

    /// `test` with this sim's environment, then `args`, then [`Sim::vars`] with `extra`.
    pub(crate) fn opsrun(&self, test: Test, args: &[&str], extra: &[&str]) -> Test {
        let vars = self.vars(extra);
        let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
        self.env(test).args(args).args(&vars)
    }
}

/// Copies a file or a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("create a dir");
        for entry in fs::read_dir(from).expect("read a dir") {
            let entry = entry.expect("read a dir entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Whether a recorded call only reads the cluster: the gate probes of the real chain and the
/// `talos:bootstrap` status check. Anything else changed (or tried to change) something.
pub(crate) fn is_probe(call: &str) -> bool {
    let mut words = call.split_whitespace();
    let tool = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    match tool {
        "talosctl" => rest.contains(&"service") || rest.ends_with(&["etcd", "members"]),
        "kubectl" => rest.iter().any(|w| *w == "get" || *w == "wait"),
        "cilium" => rest.first() == Some(&"status"),
        "flux" => rest.first() == Some(&"check") && !rest.contains(&"--pre"),
        _ => false,
    }
}

/// The calls that are not probes.
pub(crate) fn changes(calls: &[String]) -> Vec<&str> {
    calls.iter().map(String::as_str).filter(|c| !is_probe(c)).collect()
}

/// How many calls start with `prefix`.
pub(crate) fn count(calls: &[String], prefix: &str) -> usize {
    calls.iter().filter(|c| c.starts_with(prefix)).count()
}

/// Asserts that `calls` neither reconfigure Talos nor fetch the API credentials again: no
/// talhelper, no `apply-config`, no `bootstrap`, no `kubeconfig`; the only talosctl calls are
/// gate probes and the `talos:bootstrap` status check.
pub(crate) fn assert_foundation_untouched(calls: &[String]) {
    let touched: Vec<&String> =
        calls.iter().filter(|c| c.starts_with("talhelper") || (c.starts_with("talosctl ") && !is_probe(c))).collect();
    assert!(touched.is_empty(), "talos/api commands ran again: {touched:#?}\nall calls: {calls:#?}");
}

/// Serves the 1Password Connect `/health` endpoint on `127.0.0.1`: every request asks
/// `simctl connect-health` and answers as the sim README says (0/1 → 200 with its body, 2 → 503,
/// 3 → no answer at all). Returns the port.
///
/// The accepting thread and one thread per connection are detached: a connection left hanging
/// ends when the client gives up, and none of them can keep the test process from exiting.
fn serve_connect_health(sim: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("the bound address").port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let sim = sim.clone();
            thread::spawn(move || answer_health(stream, &sim));
        }
    });
    port
}

fn answer_health(mut stream: TcpStream, sim: &Path) {
    // The request head; a GET has no body, and its path does not matter.
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let Ok(health) = Command::new(simctl_path()).arg("connect-health").arg(sim).output() else { return };
    match health.status.code() {
        Some(0 | 1) => respond(&mut stream, "200 OK", &health.stdout),
        Some(3) => {
            // Hang: never answer, and let go once the client closes its side.
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        }
        _ => respond(&mut stream, "503 Service Unavailable", b"{\"error\":\"connect is not running\"}"),
    }
}

fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}
