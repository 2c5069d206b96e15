//! [`Board`]: what the progress bars show, as data, and the frame drawn from it.
//!
//! The bars reporter folds events into a board and draws [`Board::frame`] several times a
//! second. Keeping the board apart from indicatif makes a frame a pure function of the board,
//! the clock and the terminal's size, unit-tested here: which running tasks fit, what a gate's
//! line keeps when the terminal is narrow, how waiting tasks and the overall line read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use console::Style;
use opsrun_event::{PlannedTask, ProbeVerdict};

use crate::text::{clean_line, clock, fit};

/// Spinner frames, one every [`SPIN`].
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN: Duration = Duration::from_millis(100);

/// Rows of the terminal the frame leaves free, so that the lines printed above it stay visible.
const FREE_ROWS: usize = 2;

/// The live state of a run, as the bars show it.
pub(crate) struct Board {
    started: Instant,
    tasks: HashMap<String, Slot>,
    /// Planned tasks in plan order (dependencies first): the order waiting tasks are listed in.
    order: Vec<String>,
    /// Running tasks, in the order they started.
    running: Vec<String>,
    /// Tasks finished (whatever the outcome) of those counted in `total`.
    done: usize,
    /// Planned tasks that run unless nobody needs them: on-demand tasks count once called.
    total: usize,
}

struct Slot {
    on_demand: bool,
    counted: bool,
    phase: Phase,
}

enum Phase {
    Pending,
    Running { since: Instant, activity: Activity },
    Done,
}

/// What a running task is doing, as its line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Started, nothing more known yet.
    Starting,
    /// A short status: the command running, a retry, a skip.
    Text(String),
    /// Its health gate is polling.
    Gate(GateView),
}

/// A health gate being waited on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GateView {
    pub(crate) name: String,
    pub(crate) started: Instant,
    pub(crate) timeout: Duration,
    pub(crate) success_threshold: u32,
    pub(crate) probe: Option<ProbeView>,
}

/// The latest probe of a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeView {
    pub(crate) attempt: u32,
    pub(crate) verdict: ProbeVerdict,
    pub(crate) detail: String,
    pub(crate) passes: u32,
}

impl Board {
    /// A run of `tasks` that started at `now`.
    pub(crate) fn new(now: Instant, tasks: &[PlannedTask]) -> Self {
        let mut board = Board {
            started: now,
            tasks: HashMap::with_capacity(tasks.len()),
            order: Vec::with_capacity(tasks.len()),
            running: Vec::new(),
            done: 0,
            total: 0,
        };
        for t in tasks {
            board.order.push(t.task.clone());
            board
                .tasks
                .insert(t.task.clone(), Slot { on_demand: t.on_demand, counted: !t.on_demand, phase: Phase::Pending });
            board.total += usize::from(!t.on_demand);
        }
        board
    }

    fn slot(&mut self, task: &str) -> &mut Slot {
        if !self.tasks.contains_key(task) {
            // A task the plan did not announce (a newer engine): shown, and counted, when it starts.
            self.order.push(task.to_owned());
            self.tasks.insert(task.to_owned(), Slot { on_demand: true, counted: false, phase: Phase::Pending });
        }
        self.tasks.get_mut(task).expect("inserted above")
    }

    /// `task` started at `now`.
    pub(crate) fn start(&mut self, task: &str, now: Instant) {
        let slot = self.slot(task);
        let newly_counted = !slot.counted;
        slot.counted = true;
        let was_running = matches!(slot.phase, Phase::Running { .. });
        slot.phase = Phase::Running { since: now, activity: Activity::Starting };
        self.total += usize::from(newly_counted);
        if !was_running {
            self.running.push(task.to_owned());
        }
    }

    /// What `task` is doing now (ignored unless it is running).
    pub(crate) fn set_activity(&mut self, task: &str, new: Activity) {
        if let Some(Slot { phase: Phase::Running { activity, .. }, .. }) = self.tasks.get_mut(task) {
            *activity = new;
        }
    }

    /// The gate `task` is waiting on, if any.
    pub(crate) fn gate_mut(&mut self, task: &str) -> Option<&mut GateView> {
        match self.tasks.get_mut(task) {
            Some(Slot { phase: Phase::Running { activity: Activity::Gate(gate), .. }, .. }) => Some(gate),
            _ => None,
        }
    }

    /// `task` finished, whatever its outcome.
    pub(crate) fn finish(&mut self, task: &str) {
        let slot = self.slot(task);
        if matches!(slot.phase, Phase::Done) {
            return;
        }
        slot.phase = Phase::Done;
        // A task that finishes without starting (not run) counts too, unless nobody needed it.
        let counted = slot.counted || !slot.on_demand;
        slot.counted = counted;
        if counted {
            self.done += 1;
        }
        self.running.retain(|t| t != task);
    }

    /// `[done/total]`.
    pub(crate) fn progress(&self) -> (usize, usize) {
        (self.done, self.total.max(self.done))
    }

    /// The lines to draw at `now` on a terminal of `width` columns and `height` rows; each fits
    /// the width. Running tasks that do not fit the height are a count.
    pub(crate) fn frame(&self, now: Instant, width: usize, height: usize, color: bool) -> Vec<String> {
        let paint = |style: &Style, text: &str| -> String {
            if color { style.clone().force_styling(true).apply_to(text).to_string() } else { text.to_owned() }
        };
        let width = width.max(20);
        let waiting: Vec<&str> = self
            .order
            .iter()
            .filter(|t| matches!(self.tasks.get(*t), Some(Slot { phase: Phase::Pending, on_demand: false, .. })))
            .map(String::as_str)
            .collect();
        // Rows: the running tasks, then the waiting line (if any), then the overall line.
        let budget = height.saturating_sub(FREE_ROWS).max(3);
        let fixed = 1 + usize::from(!waiting.is_empty());
        let room = budget.saturating_sub(fixed).max(1);
        let (shown, hidden) = if self.running.len() > room {
            (room - 1, self.running.len() - (room - 1))
        } else {
            (self.running.len(), 0)
        };
        let mut lines = Vec::with_capacity(shown + 3);
        let names = &self.running[..shown];
        let name_width = names.iter().map(|n| console::measure_text_width(n)).max().unwrap_or(0).min(width / 3);
        for task in names {
            let Some(Slot { phase: Phase::Running { since, activity }, .. }) = self.tasks.get(task) else { continue };
            let age = now.saturating_duration_since(*since);
            let frame = (age.as_millis() / SPIN.as_millis()) as usize % SPINNER.len();
            let name = fit(&clean_line(task), name_width);
            let pad = " ".repeat(name_width.saturating_sub(console::measure_text_width(&name)));
            let elapsed = format!("{:>5}", clock(age));
            let used = 2 + name_width + 1 + elapsed.len() + 2;
            let text = activity_text(activity, now, width.saturating_sub(used));
            let cyan = Style::new().cyan();
            let bold = Style::new().bold();
            let dim = Style::new().dim();
            lines.push(format!(
                "{} {}{pad} {}  {}",
                paint(&cyan, &SPINNER[frame].to_string()),
                paint(&bold, &name),
                paint(&dim, &elapsed),
                text
            ));
        }
        if hidden > 0 {
            let noun = if shown == 0 { "running" } else { "more running" };
            lines.push(fit(&format!("… and {hidden} {noun}"), width));
        }
        if !waiting.is_empty() {
            lines.push(paint(&Style::new().dim(), &waiting_line(&waiting, width)));
        }
        let (done, total) = self.progress();
        let elapsed = clock(now.saturating_duration_since(self.started));
        lines.push(fit(&format!("[{done}/{total}] tasks done · {elapsed}"), width));
        lines
    }
}

/// `waiting (7): a, b, c, +4 more`: as many names as fit.
fn waiting_line(waiting: &[&str], width: usize) -> String {
    let mut line = format!("waiting ({}): ", waiting.len());
    for (i, name) in waiting.iter().enumerate() {
        let name = clean_line(name);
        let sep = if i == 0 { "" } else { ", " };
        let rest = waiting.len() - i - 1;
        let tail = if rest == 0 { String::new() } else { format!(", +{rest} more") };
        let needed = console::measure_text_width(&line) + sep.len() + console::measure_text_width(&name) + tail.len();
        if needed > width {
            let more = waiting.len() - i;
            let more = if i == 0 { format!("{more} tasks") } else { format!(", +{more} more") };
            return fit(&format!("{line}{more}"), width);
        }
        line.push_str(sep);
        line.push_str(&name);
    }
    line
}

/// A running task's activity in at most `width` columns. A gate keeps what matters most when
/// the terminal is narrow: its verdict and time left first, then the probe's detail (cut with
/// `…`), and its name only when everything else fits.
fn activity_text(activity: &Activity, now: Instant, width: usize) -> String {
    match activity {
        Activity::Starting => fit("starting", width),
        Activity::Text(text) => fit(text, width),
        Activity::Gate(gate) => {
            let waited = now.saturating_duration_since(gate.started);
            let left = clock(gate.timeout.saturating_sub(waited));
            let state = match &gate.probe {
                None => "first probe".to_owned(),
                Some(p) if p.verdict == ProbeVerdict::Pass && gate.success_threshold > 1 => {
                    format!("pass {}/{}", p.passes, gate.success_threshold)
                }
                Some(p) => p.verdict.label().to_owned(),
            };
            let attempt = gate.probe.as_ref().map_or(String::new(), |p| format!(" #{}", p.attempt));
            let core = format!("{state}{attempt}, {left} left");
            let detail = gate.probe.as_ref().map_or("", |p| p.detail.as_str());
            let with_name = format!("health {}: {core}", gate.name);
            let full = if detail.is_empty() { with_name.clone() } else { format!("{with_name}: {detail}") };
            if console::measure_text_width(&full) <= width {
                return full;
            }
            let short = format!("health: {core}");
            if detail.is_empty() {
                return fit(&short, width);
            }
            let room = width.saturating_sub(console::measure_text_width(&short) + 2);
            if room >= 8 { format!("{short}: {}", fit(detail, room)) } else { fit(&short, width) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(task: &str, on_demand: bool) -> PlannedTask {
        PlannedTask { task: task.into(), on_demand, ..PlannedTask::default() }
    }

    fn board(now: Instant, names: &[&str]) -> Board {
        Board::new(now, &names.iter().map(|n| planned(n, false)).collect::<Vec<_>>())
    }

    #[test]
    fn the_overall_line_and_waiting_tasks_show_from_the_start() {
        let t0 = Instant::now();
        let b = board(t0, &["talos", "api", "cilium"]);
        assert_eq!(
            b.frame(t0 + Duration::from_millis(300), 80, 24, false),
            ["waiting (3): talos, api, cilium", "[0/3] tasks done · 0s"]
        );
    }

    #[test]
    fn running_tasks_have_a_spinner_name_elapsed_and_activity() {
        let t0 = Instant::now();
        let mut b = board(t0, &["talos", "api"]);
        b.start("talos", t0);
        b.set_activity("talos", Activity::Text("$ talosctl apply-config".into()));
        let frame = b.frame(t0 + Duration::from_secs(65), 80, 24, false);
        assert_eq!(frame, ["⠋ talos 1m05s  $ talosctl apply-config", "waiting (1): api", "[0/2] tasks done · 1m05s"]);
        b.finish("talos");
        b.start("api", t0 + Duration::from_secs(70));
        let frame = b.frame(t0 + Duration::from_secs(71), 80, 24, false);
        assert_eq!(frame, ["⠋ api    1s  starting", "[1/2] tasks done · 1m11s"]);
    }

    #[test]
    fn a_gate_line_keeps_time_left_and_detail_when_narrow() {
        let t0 = Instant::now();
        let mut b = board(t0, &["cilium"]);
        b.start("cilium", t0);
        b.set_activity(
            "cilium",
            Activity::Gate(GateView {
                name: "cilium-ready".into(),
                started: t0,
                timeout: Duration::from_secs(300),
                success_threshold: 2,
                probe: None,
            }),
        );
        let at = t0 + Duration::from_secs(62);
        assert_eq!(b.frame(at, 100, 24, false)[0], "⠋ cilium 1m02s  health cilium-ready: first probe, 3m58s left");
        *b.gate_mut("cilium").expect("gate").probe.get_or_insert(ProbeView {
            attempt: 0,
            verdict: ProbeVerdict::Pass,
            detail: String::new(),
            passes: 0,
        }) = ProbeView {
            attempt: 7,
            verdict: ProbeVerdict::NotReady,
            detail: "exit 1: 1/3 nodes ready; waiting for cilium-agent on worker-2 and worker-3".into(),
            passes: 0,
        };
        let wide = b.frame(at, 140, 24, false);
        assert_eq!(
            wide[0],
            "⠋ cilium 1m02s  health cilium-ready: not ready #7, 3m58s left: exit 1: 1/3 nodes ready; waiting for cilium-agent on worker-2 and worker-3"
        );
        // At 80 columns the gate's name goes first, then the detail is cut; time left stays.
        let narrow = b.frame(at, 80, 24, false);
        assert_eq!(narrow[0], "⠋ cilium 1m02s  health: not ready #7, 3m58s left: exit 1: 1/3 nodes ready; wait…");
        assert_eq!(console::measure_text_width(&narrow[0]), 80);
        for width in [20, 30, 45, 60] {
            for line in b.frame(at, width, 24, true) {
                assert!(console::measure_text_width(&line) <= width, "{width}: {line}");
            }
        }
    }

    #[test]
    fn running_tasks_past_the_height_are_a_count() {
        let t0 = Instant::now();
        let names: Vec<String> = (0..200).map(|i| format!("t{i:03}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut b = board(t0, &refs);
        for name in &refs[..150] {
            b.start(name, t0);
        }
        let frame = b.frame(t0, 80, 24, false);
        assert_eq!(frame.len(), 22, "{frame:#?}");
        assert_eq!(frame[19], "… and 131 more running");
        assert!(frame[20].starts_with("waiting (50): t150, t151,"), "{}", frame[20]);
        assert!(frame[20].ends_with(" more"), "{}", frame[20]);
        assert_eq!(frame[21], "[0/200] tasks done · 0s");
        // A tiny terminal still shows the count and the overall line.
        let frame = b.frame(t0, 80, 3, false);
        assert_eq!(frame, ["… and 150 running", &frame[1], "[0/200] tasks done · 0s"]);
    }

    #[test]
    fn on_demand_tasks_count_once_called() {
        let t0 = Instant::now();
        let mut b = Board::new(t0, &[planned("main", false), planned("helper", true), planned("unused", true)]);
        assert_eq!(b.progress(), (0, 1));
        b.start("main", t0);
        b.start("helper", t0);
        assert_eq!(b.progress(), (0, 2));
        b.finish("helper");
        b.finish("main");
        assert_eq!(b.progress(), (2, 2));
        // Waiting never lists a task nobody called.
        assert_eq!(b.frame(t0, 80, 24, false), ["[2/2] tasks done · 0s"]);
    }
}
