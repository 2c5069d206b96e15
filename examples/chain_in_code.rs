//! The Talos → Flux chain built in code, with a health gate written in Rust, then a run that is
//! cancelled half-way.
//!
//! ```sh
//! cargo run --example chain_in_code
//! ```
//!
//! No cluster: each stage's command writes a marker file, and the Kubernetes API gate is a Rust
//! probe that speaks HTTP to a stand-in API server this program serves on loopback (it answers
//! 503 to the first two requests, as an API server does while it starts, then 200).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use opsrun::event::{Event, RunOutcome, TaskOutcome};
use opsrun::spec::build::{GateBuilder, SpecBuilder, TaskBuilder};
use opsrun::{ProbeContext, ProbeResult, Project, Runner, SignalPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHAIN: [&str; 6] = ["talos", "kubernetes", "cilium", "onepassword", "external-secrets", "flux"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let api = serve_api(2)?;

    // Each stage depends on the one below; the Kubernetes stage is gated by the Rust probe.
    let mut spec = SpecBuilder::new(work.path()).var("API", format!("http://{api}"));
    for (i, stage) in CHAIN.iter().enumerate() {
        let mut task = TaskBuilder::new(*stage).desc(format!("stage {}", i + 1)).cmd(format!("echo up > {stage}.done"));
        if i > 0 {
            task = task.dep(CHAIN[i - 1]);
        }
        if *stage == "kubernetes" {
            task = task.gate(
                GateBuilder::probe("http-ready")
                    .with("url", "{{.API}}/readyz")
                    .interval("20ms")
                    .success_threshold(1)
                    .timeout("10s"),
            );
        }
        spec = spec.task(task);
    }
    spec = spec
        .task(TaskBuilder::new("slow").cmd("echo waiting; sleep 30"))
        .pipeline("bootstrap", ["flux"])
        .pipeline("slow", ["slow"]);
    let project = Project::new(spec.build()?);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        // 1. The whole chain: every stage in order, the gate polled until the API answers 200.
        let mut runner = Runner::new(SignalPolicy::None).probe("http-ready", http_ready);
        let mut events = runner.events();
        let report = runner.run(project.pipeline("bootstrap")?).await?;
        let mut probes = Vec::new();
        while let Some(e) = events.next().await {
            if let Event::GateProbe { verdict, detail, .. } = e.event {
                probes.push(format!("{verdict:?}: {detail}"));
            }
        }
        println!("bootstrap: {:?} in {:?}", report.outcome, report.duration);
        for p in &probes {
            println!("  gate probe {p}");
        }
        assert_eq!(report.outcome, RunOutcome::Succeeded);
        assert!(report.tasks.iter().all(|(_, o)| *o == TaskOutcome::Ok));
        assert_eq!(probes.len(), 3, "two 503s, then 200");
        assert!(CHAIN.iter().all(|s| work.path().join(format!("{s}.done")).exists()));

        // 2. A run cancelled while its command runs: the command's process group is ended and
        //    the run reports itself interrupted.
        let mut runner = Runner::new(SignalPolicy::None).grace(Duration::from_millis(500));
        let mut events = runner.events();
        let stop = runner.cancel_token();
        let run = tokio::spawn(runner.run(project.pipeline("slow")?));
        while let Some(e) = events.next().await {
            if let Event::Output { line, .. } = &e.event {
                println!("slow: {line}; cancelling");
                stop.cancel();
            }
        }
        let report = run.await??;
        println!("slow: {:?} by {:?} after {:?}", report.outcome, report.interrupted_by, report.duration);
        assert_eq!(report.outcome, RunOutcome::Interrupted);
        assert_eq!(report.tasks, [("slow".to_string(), TaskOutcome::Interrupted)]);
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

/// The custom gate: GET `url` (from the gate's `with`), healthy on 200, not ready on 503.
async fn http_ready(ctx: ProbeContext) -> ProbeResult {
    let Some(url) = ctx.arg("url") else { return ProbeResult::failed("the gate sets no `url`") };
    let Some((host, path)) = url.strip_prefix("http://").and_then(|rest| rest.split_once('/')) else {
        return ProbeResult::failed(format!("not an http:// URL: {url}"));
    };
    let answer = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        stream
            .write_all(format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
            .await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        Ok::<_, std::io::Error>(text)
    };
    match answer.await {
        Ok(text) if text.starts_with("HTTP/1.1 200") => ProbeResult::pass("HTTP 200"),
        Ok(text) if text.starts_with("HTTP/1.1 503") => ProbeResult::not_ready("HTTP 503: starting"),
        Ok(text) => ProbeResult::error(format!("unexpected answer: {}", text.lines().next().unwrap_or(""))),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => ProbeResult::not_ready("connection refused"),
        Err(e) => ProbeResult::error(e.to_string()),
    }
}

/// A stand-in Kubernetes API on loopback: 503 for the first `starting` requests, then 200.
fn serve_api(starting: usize) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut request_line);
            let status = if n < starting { "503 Service Unavailable" } else { "200 OK" };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    Ok(addr)
}
