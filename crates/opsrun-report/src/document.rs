//! Run reports as documents: [`render_html`] (one self-contained page: inline CSS and an inline
//! SVG timeline, no script, no external asset, readable offline) and [`render_markdown`].

use std::fmt::Write as _;

use opsrun_event::{ProbeVerdict, RunOutcome, TaskOutcome};

use crate::text::duration;
use crate::timeline::{RunTimeline, TaskSpan};

/// Width of the SVG timeline, its label column and row height, in pixels.
const WIDTH: f64 = 1000.0;
const LABEL: f64 = 220.0;
const ROW: f64 = 26.0;
const TOP: f64 = 34.0;

/// Escapes text for HTML and SVG (content and attribute values).
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of an outcome (`ok`, `failed`, ...).
fn outcome_class(outcome: Option<TaskOutcome>) -> &'static str {
    match outcome {
        Some(TaskOutcome::Ok) => "ok",
        Some(TaskOutcome::UpToDate | TaskOutcome::Resumed) => "skipped",
        Some(TaskOutcome::Failed) => "failed",
        Some(TaskOutcome::FailedIgnored) => "ignored",
        Some(TaskOutcome::Interrupted) => "interrupted",
        Some(TaskOutcome::NotRun) | None => "notrun",
        Some(_) => "other",
    }
}

fn outcome_label(outcome: Option<TaskOutcome>) -> &'static str {
    outcome.map_or("unfinished", TaskOutcome::label)
}

fn verdict_class(verdict: ProbeVerdict) -> &'static str {
    match verdict {
        ProbeVerdict::Pass => "pass",
        ProbeVerdict::NotReady => "notready",
        ProbeVerdict::Error => "error",
        _ => "fatal",
    }
}

fn run_verdict(t: &RunTimeline) -> &'static str {
    match t.outcome {
        Some(RunOutcome::Succeeded) => "succeeded",
        Some(RunOutcome::Failed) => "failed",
        Some(RunOutcome::Interrupted) => "interrupted",
        Some(_) => "ended",
        None => "unfinished (opsrun stopped)",
    }
}

/// A tick interval giving at most about ten ticks over `total` milliseconds.
fn tick_step(total: u64) -> u64 {
    const STEPS: [u64; 16] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
        1_800_000, 3_600_000,
    ];
    STEPS.into_iter().find(|s| total / s <= 10).unwrap_or(7_200_000)
}

fn tick_label(ms: u64) -> String {
    if ms == 0 {
        "0".into()
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{}.{}s", ms / 1_000, (ms % 1_000) / 100)
    }
}

/// The SVG timeline: one row per task, its bar coloured by outcome, its gate wait drawn over it
/// with a mark per probe, the critical path outlined, and a time axis.
#[expect(clippy::cast_precision_loss, reason = "pixel positions: milliseconds far below 2^52")]
#[expect(
    clippy::too_many_lines,
    reason = "one SVG element kind after the other: axis, rows with bar, gate and probes, legend"
)]
pub fn render_svg(t: &RunTimeline) -> String {
    let total = t.duration_ms.max(1);
    let plot = WIDTH - LABEL - 16.0;
    let x = |ms: u64| LABEL + (ms.min(total) as f64 / total as f64) * plot;
    let height = TOP + ROW * t.tasks.len() as f64 + 34.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="timeline of run {}">"#,
        esc(&t.run)
    );
    let _ = writeln!(
        svg,
        "<title>Run {} ({}): {} tasks over {}</title>",
        esc(&t.run),
        esc(&t.name),
        t.tasks.len(),
        duration(total)
    );
    // Time axis and grid.
    let step = tick_step(total);
    let _ = writeln!(svg, r#"<g class="axis">"#);
    let mut tick = 0;
    while tick <= total {
        let tx = x(tick);
        let _ = writeln!(
            svg,
            r#"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{:.1}"/><text x="{tx:.1}" y="{}" text-anchor="middle">{}</text>"#,
            TOP - 6.0,
            height - 30.0,
            TOP - 12.0,
            tick_label(tick)
        );
        tick += step;
    }
    let _ = writeln!(svg, "</g>");
    for (i, span) in t.tasks.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let class = outcome_class(span.outcome);
        let critical = if span.critical { " critical" } else { "" };
        let _ = writeln!(svg, r#"<g class="task {class}{critical}" data-task="{}">"#, esc(&span.task));
        let _ = writeln!(
            svg,
            r#"<text class="label" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL - 8.0,
            y + ROW * 0.62,
            esc(&span.task)
        );
        if let Some(start) = span.start_ms {
            let end = span.end_ms.unwrap_or(total);
            let (x0, x1) = (x(start), x(end));
            let took = span.duration_ms().map_or_else(|| "unfinished".into(), duration);
            let _ = writeln!(
                svg,
                r#"<rect class="bar" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3"><title>{}: {} in {took}</title></rect>"#,
                y + 4.0,
                (x1 - x0).max(2.0),
                ROW - 8.0,
                esc(&span.task),
                outcome_label(span.outcome)
            );
            if let Some(gate) = &span.gate {
                let (g0, g1) = (x(gate.start_ms), x(gate.end_ms.unwrap_or(end)));
                let waited = duration(gate.end_ms.unwrap_or(end).saturating_sub(gate.start_ms));
                let _ = writeln!(
                    svg,
                    r#"<rect class="gate" x="{g0:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>gate {}: waited {waited}, {} probes</title></rect>"#,
                    y + 8.0,
                    (g1 - g0).max(2.0),
                    ROW - 16.0,
                    esc(&gate.name),
                    gate.probes.len()
                );
                for probe in &gate.probes {
                    let _ = writeln!(
                        svg,
                        r#"<circle class="probe {}" cx="{:.1}" cy="{:.1}" r="3.5"><title>probe {} at {}: {}{}</title></circle>"#,
                        verdict_class(probe.verdict),
                        x(probe.at_ms),
                        y + ROW / 2.0,
                        probe.attempt,
                        duration(probe.at_ms),
                        probe.verdict.label(),
                        if probe.detail.is_empty() { String::new() } else { format!(": {}", esc(&probe.detail)) }
                    );
                }
            }
        }
        let _ = writeln!(svg, "</g>");
    }
    // Legend.
    let ly = height - 12.0;
    let _ = writeln!(svg, r#"<g class="legend">"#);
    for (i, (class, label)) in [
        ("ok", "ok"),
        ("failed", "failed"),
        ("skipped", "resumed / up to date"),
        ("interrupted", "interrupted"),
        ("notrun", "not run"),
    ]
    .iter()
    .enumerate()
    {
        let lx = LABEL + 150.0 * i as f64;
        let _ = writeln!(
            svg,
            r#"<g class="task {class}"><rect class="bar" x="{lx:.1}" y="{:.1}" width="14" height="10" rx="2"/><text x="{:.1}" y="{ly:.1}">{label}</text></g>"#,
            ly - 9.0,
            lx + 18.0
        );
    }
    let _ = writeln!(svg, "</g>\n</svg>");
    svg
}

const CSS: &str = r"
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #555; margin-bottom: 16px; }
.verdict-succeeded { color: #1a7f37; } .verdict-failed, .verdict-interrupted { color: #c0392b; }
svg.timeline { max-width: 100%; height: auto; border: 1px solid #e3e6ea; border-radius: 6px; background: #fbfcfd; }
svg .axis line { stroke: #e3e6ea; } svg .axis text, svg .legend text { font-size: 11px; fill: #667; }
svg .label { font-size: 12px; fill: #1d2330; text-anchor: end; }
svg .bar { fill: #9aa5b1; }
svg .ok .bar { fill: #2da44e; } svg .failed .bar { fill: #cf222e; } svg .ignored .bar { fill: #e4a03a; }
svg .skipped .bar { fill: #b8c0c8; } svg .interrupted .bar { fill: #d97706; } svg .notrun .bar { fill: #e3e6ea; }
svg .critical .bar { stroke: #1d2330; stroke-width: 2; }
svg .critical .label { font-weight: 700; }
svg .gate { fill: #ffffff; fill-opacity: 0.55; stroke: #0969da; stroke-dasharray: 3 2; }
svg .probe { stroke: #1d2330; stroke-width: 0.8; }
svg .probe.pass { fill: #2da44e; } svg .probe.notready { fill: #f2cc60; } svg .probe.error { fill: #e4a03a; } svg .probe.fatal { fill: #cf222e; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.critical td:first-child { font-weight: 700; }
.outcome { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; }
.outcome.ok { background: #dafbe1; } .outcome.failed { background: #ffebe9; } .outcome.skipped { background: #eef1f4; }
.outcome.interrupted, .outcome.ignored { background: #fff1d6; } .outcome.notrun { background: #f6f8fa; color: #667; }
code { background: #f3f4f6; padding: 0 4px; border-radius: 4px; }
pre { background: #0f1720; color: #e6edf3; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
details { margin: 6px 0; } summary { cursor: pointer; }
";

/// The report as one self-contained HTML page: a header (run, outcome, duration), the SVG
/// timeline, a table of tasks (outcome, start, duration, gate wait and probes, why each ran and
/// what changed), the critical path, and each task's message and output tail.
pub fn render_html(t: &RunTimeline) -> String {
    let mut h = String::new();
    let verdict = run_verdict(t);
    let _ = writeln!(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">");
    let _ = writeln!(h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(h, "<title>opsrun report: {} ({})</title>", esc(&t.name), esc(&t.run));
    let _ = writeln!(h, "<style>{CSS}</style>\n</head>\n<body>");
    let mode = t.mode.map_or("run", |m| match m {
        opsrun_event::RunMode::Pipeline => "pipeline",
        opsrun_event::RunMode::Recovery => "recovery",
        _ => "run",
    });
    let _ = writeln!(h, "<h1>{mode} {}</h1>", esc(&t.name));
    let _ = writeln!(
        h,
        "<p class=\"meta\">run <code>{}</code>{} · <strong class=\"verdict-{}\">{verdict}</strong> in {} · {} tasks</p>",
        esc(&t.run),
        t.started.as_deref().map(|s| format!(", started {}", esc(s))).unwrap_or_default(),
        verdict.split(' ').next().unwrap_or(verdict),
        duration(t.duration_ms),
        t.tasks.len()
    );
    let _ = writeln!(h, "<h2>Timeline</h2>\n{}", render_svg(t));
    if !t.critical_path.is_empty() {
        let path: Vec<String> = t.critical_path.iter().map(|p| format!("<code>{}</code>", esc(p))).collect();
        let _ = writeln!(h, "<p class=\"critical-path\">Critical path: {}</p>", path.join(" → "));
    }
    let _ = writeln!(h, "<h2>Tasks</h2>\n<table class=\"tasks\">");
    let _ = writeln!(
        h,
        "<thead><tr><th>task</th><th>outcome</th><th class=\"num\">start</th><th class=\"num\">duration</th><th class=\"num\">gate wait</th><th class=\"num\">probes</th><th>why it ran / what changed</th></tr></thead>\n<tbody>"
    );
    for span in &t.tasks {
        let class = outcome_class(span.outcome);
        let gate_wait = span
            .gate
            .as_ref()
            .map(|g| duration(g.end_ms.or(span.end_ms).unwrap_or(t.duration_ms).saturating_sub(g.start_ms)))
            .unwrap_or_default();
        let probes = span.gate.as_ref().map(|g| g.probes.len().to_string()).unwrap_or_default();
        let why = why(span);
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td><span class=\"outcome {class}\">{}</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{gate_wait}</td><td class=\"num\">{probes}</td><td>{}</td></tr>",
            if span.critical { "critical" } else { "" },
            esc(&span.task),
            outcome_label(span.outcome),
            span.start_ms.map(duration).unwrap_or_default(),
            span.duration_ms().map(duration).unwrap_or_default(),
            esc(&why)
        );
    }
    let _ = writeln!(h, "</tbody>\n</table>");
    let with_details: Vec<&TaskSpan> = t.tasks.iter().filter(|s| s.message.is_some() || !s.tail.is_empty()).collect();
    if !with_details.is_empty() {
        let _ = writeln!(h, "<h2>Output</h2>");
        for span in with_details {
            let open = if span.outcome == Some(TaskOutcome::Failed) { " open" } else { "" };
            let _ = writeln!(
                h,
                "<details{open}><summary><strong>{}</strong> — {}{}</summary>",
                esc(&span.task),
                outcome_label(span.outcome),
                span.message.as_deref().map(|m| format!(": {}", esc(m))).unwrap_or_default()
            );
            if !span.tail.is_empty() {
                let shown = if span.output_lines > span.tail.len() as u64 {
                    format!("last {} of {} lines", span.tail.len(), span.output_lines)
                } else {
                    format!("{} lines", span.tail.len())
                };
                let _ = writeln!(h, "<p class=\"meta\">{shown}</p><pre>{}</pre>", esc(&span.tail.join("\n")));
            }
            let _ = writeln!(h, "</details>");
        }
    }
    let _ = writeln!(h, "</body>\n</html>");
    h
}

/// Why a task ran (and what changed), or why it was skipped.
fn why(span: &TaskSpan) -> String {
    match (&span.reason, &span.skipped) {
        (Some(reason), _) if span.changed.is_empty() => reason.clone(),
        (Some(reason), _) => format!("{reason}: {} changed", span.changed.join(", ")),
        (None, Some(skipped)) => skipped.clone(),
        (None, None) => String::new(),
    }
}

/// The report as Markdown: the same facts as the HTML page, with the timeline as a table.
pub fn render_markdown(t: &RunTimeline) -> String {
    let mut m = String::new();
    let cell = |s: &str| s.replace('|', "\\|");
    let _ = writeln!(m, "# {} `{}`\n", cell(&t.name), t.run);
    let _ = writeln!(m, "**{}** in {}, {} tasks.\n", run_verdict(t), duration(t.duration_ms), t.tasks.len());
    if !t.critical_path.is_empty() {
        let _ = writeln!(
            m,
            "Critical path: {}\n",
            t.critical_path.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" → ")
        );
    }
    let _ = writeln!(m, "| task | outcome | start | duration | gate wait | probes | why it ran / what changed |");
    let _ = writeln!(m, "|---|---|--:|--:|--:|--:|---|");
    for span in &t.tasks {
        let gate_wait = span
            .gate
            .as_ref()
            .map(|g| duration(g.end_ms.or(span.end_ms).unwrap_or(t.duration_ms).saturating_sub(g.start_ms)))
            .unwrap_or_default();
        let name = if span.critical { format!("**{}**", cell(&span.task)) } else { cell(&span.task) };
        let _ = writeln!(
            m,
            "| {name} | {} | {} | {} | {gate_wait} | {} | {} |",
            outcome_label(span.outcome),
            span.start_ms.map(duration).unwrap_or_default(),
            span.duration_ms().map(duration).unwrap_or_default(),
            span.gate.as_ref().map(|g| g.probes.len().to_string()).unwrap_or_default(),
            cell(&why(span))
        );
    }
    for span in t.tasks.iter().filter(|s| s.message.is_some() || !s.tail.is_empty()) {
        let _ = writeln!(m, "\n## {} ({})\n", cell(&span.task), outcome_label(span.outcome));
        if let Some(message) = &span.message {
            let _ = writeln!(m, "{message}\n");
        }
        if !span.tail.is_empty() {
            let _ = writeln!(m, "```text\n{}\n```", span.tail.join("\n"));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{GateSpan, ProbeMark};

    fn timeline() -> RunTimeline {
        let task = |name: &str, start, end, outcome| TaskSpan {
            task: name.into(),
            start_ms: Some(start),
            end_ms: Some(end),
            outcome: Some(outcome),
            ..TaskSpan::default()
        };
        let mut api = task("api", 0, 4_000, TaskOutcome::Ok);
        api.gate = Some(GateSpan {
            name: "readyz <ok>".into(),
            start_ms: 1_000,
            end_ms: Some(4_000),
            passed: Some(true),
            probes: vec![ProbeMark { at_ms: 2_000, attempt: 1, verdict: ProbeVerdict::NotReady, detail: "503".into() }],
        });
        api.critical = true;
        api.reason = Some("never ran".into());
        let mut cilium = task("cilium & co", 4_000, 6_000, TaskOutcome::Failed);
        cilium.tail = vec!["<error>".into()];
        cilium.message = Some("exit 1".into());
        RunTimeline {
            run: "r1".into(),
            name: "bootstrap".into(),
            duration_ms: 6_000,
            outcome: Some(RunOutcome::Failed),
            tasks: vec![api, cilium],
            critical_path: vec!["api".into()],
            ..RunTimeline::default()
        }
    }

    #[test]
    fn html_is_self_contained_and_escaped() {
        let html = render_html(&timeline());
        assert!(html.starts_with("<!DOCTYPE html>"));
        // No script, and the one URL is the SVG namespace: nothing is fetched.
        assert!(!html.contains("<script"));
        assert_eq!(html.matches("http").count(), 1, "{html}");
        assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("url("));
        assert!(
            html.contains("cilium &amp; co") && html.contains("&lt;error&gt;") && html.contains("readyz &lt;ok&gt;")
        );
        assert!(html.contains(r#"class="probe notready""#) && html.contains(r#"class="task ok critical""#));
        assert!(html.contains("never ran"));
    }

    #[test]
    fn markdown_has_the_table_and_tails() {
        let md = render_markdown(&timeline());
        assert!(md.contains("| **api** | ok | 0.0s | 4.0s | 3.0s | 1 | never ran |"), "{md}");
        assert!(md.contains("## cilium & co (failed)\n\nexit 1\n\n```text\n<error>\n```"), "{md}");
    }

    #[test]
    fn ticks_stay_few() {
        assert_eq!(tick_step(6_000), 1_000);
        assert_eq!(tick_step(600_000), 60_000);
        assert_eq!(tick_label(90_000), "90s");
        assert_eq!(tick_label(120_000), "2m");
    }
}
