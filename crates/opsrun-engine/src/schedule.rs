//! The dispatcher's core: which task may start, as a pure state machine.
//!
//! [`Scheduler`] holds what the run loop used to keep in a dozen mutable locals: what is
//! activated, what each node waits for, what is ready, running and done, which callers wait for
//! which callee, and whether the run is stopping. The run loop ([`crate::run`]) feeds it what
//! happened (a unit finished, a unit called a task, a stop was asked for) and does what it says
//! (start this unit, answer those callers); it never decides on its own. So keep-going,
//! sequential targets, calls and the deadlock breaker are unit-tested here without processes.

use std::collections::BTreeSet;

use opsrun_event::TaskOutcome;
use opsrun_plan::{Plan, TaskId};

use crate::unit::CallOptions;

/// Where a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeState {
    Pending,
    Running,
    Done { outcome: TaskOutcome, executed: bool },
}

/// The answer to a unit that calls a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallStep {
    /// The callee already finished: answer at once.
    Answer(TaskOutcome),
    /// The caller waits until the callee finishes ([`Scheduler::finished`] says so).
    Wait,
}

/// Scheduling state of one run.
#[derive(Debug)]
pub(crate) struct Scheduler {
    /// Each node's place in the plan's order (ready ties are broken by it).
    position: Vec<usize>,
    /// Dependencies not yet finished successfully.
    remaining: Vec<usize>,
    state: Vec<NodeState>,
    /// Asked to run so far: the targets' DAG, and what running tasks called.
    active: Vec<bool>,
    ready: BTreeSet<(usize, TaskId)>,
    /// Targets run one after the other (`opsrun run a b`): the next one to activate.
    targets: Vec<TaskId>,
    next_target: usize,
    /// How a node was called, when a call activated it.
    call_options: Vec<Option<CallOptions>>,
    /// Callers waiting, per callee, and in all.
    waiters: Vec<usize>,
    waiting: usize,
    running: usize,
    stopping: bool,
    failed: bool,
    keep_going: bool,
}

impl Scheduler {
    /// A scheduler for `plan`, with the targets activated (the first only, when they run in
    /// order).
    pub(crate) fn new(plan: &Plan, keep_going: bool) -> Self {
        let n = plan.len();
        let mut position = vec![0; n];
        for (i, node) in plan.order().iter().enumerate() {
            position[node.index()] = i;
        }
        let mut s = Self {
            position,
            remaining: (0..n).map(|i| plan.dependencies(TaskId::new(i)).count()).collect(),
            state: vec![NodeState::Pending; n],
            active: vec![false; n],
            ready: BTreeSet::new(),
            targets: plan.targets().to_vec(),
            next_target: 0,
            call_options: vec![None; n],
            waiters: vec![0; n],
            waiting: 0,
            running: 0,
            stopping: false,
            failed: false,
            keep_going,
        };
        let first = if plan.sequential_targets() { s.targets.len().min(1) } else { s.targets.len() };
        for t in 0..first {
            s.activate(plan, s.targets[t]);
        }
        s.next_target = first;
        s
    }

    /// The next unit to start, when a job slot is free (a unit waiting for a task it called
    /// holds none: the callee may need it), and how it was called.
    pub(crate) fn next(&mut self, jobs: usize) -> Option<(TaskId, Option<CallOptions>)> {
        if self.stopping || self.running - self.waiting >= jobs.max(1) {
            return None;
        }
        let (_, node) = self.ready.pop_first()?;
        self.state[node.index()] = NodeState::Running;
        self.running += 1;
        Some((node, self.call_options[node.index()]))
    }

    /// `node` finished: its dependents may become ready, the next target may start, and on a
    /// failure without keep-going nothing new starts. Returns how many callers wait for
    /// `node` (the run loop answers them with `outcome`).
    pub(crate) fn finished(&mut self, plan: &Plan, node: TaskId, outcome: TaskOutcome, executed: bool) -> usize {
        self.state[node.index()] = NodeState::Done { outcome, executed };
        self.running -= 1;
        let callers = std::mem::take(&mut self.waiters[node.index()]);
        self.waiting -= callers;
        if outcome.is_success() {
            for d in plan.dependents(node) {
                self.remaining[d.index()] -= 1;
                if self.remaining[d.index()] == 0
                    && self.state[d.index()] == NodeState::Pending
                    && self.active[d.index()]
                {
                    self.ready.insert((self.position[d.index()], d));
                }
            }
            while !self.stopping
                && self.next_target < self.targets.len()
                && self.targets[..self.next_target]
                    .iter()
                    .all(|t| matches!(self.state[t.index()], NodeState::Done { .. }))
            {
                let t = self.targets[self.next_target];
                self.next_target += 1;
                self.activate(plan, t);
            }
        } else {
            self.failed |= outcome == TaskOutcome::Failed;
            if !self.keep_going {
                self.stopping = true;
            }
        }
        callers
    }

    /// A running unit calls `callee` (with `options`).
    pub(crate) fn call(&mut self, plan: &Plan, callee: TaskId, options: CallOptions) -> CallStep {
        if let NodeState::Done { outcome, .. } = self.state[callee.index()] {
            return CallStep::Answer(outcome);
        }
        self.waiters[callee.index()] += 1;
        self.waiting += 1;
        if !self.active[callee.index()] {
            self.call_options[callee.index()] = Some(options);
            self.activate(plan, callee);
        }
        CallStep::Wait
    }

    /// Every running unit waits for a callee that can never start (a dependency failed, or the
    /// run is stopping): they must be answered `not run` instead of waiting forever. True when
    /// that is the case; the waits are then forgotten.
    pub(crate) fn release_deadlock(&mut self) -> bool {
        let stuck = self.waiting > 0 && self.running == self.waiting && (self.stopping || self.ready.is_empty());
        if stuck {
            self.waiters.iter_mut().for_each(|w| *w = 0);
            self.waiting = 0;
        }
        stuck
    }

    /// Nothing new starts from now on (a signal, a failure).
    pub(crate) fn stop(&mut self) {
        self.stopping = true;
    }

    /// A unit failed without a result (it panicked).
    pub(crate) fn lost(&mut self) {
        self.running -= 1;
        self.failed = true;
        self.stopping = true;
    }

    /// No unit runs: the run is over.
    pub(crate) fn idle(&self) -> bool {
        self.running == 0
    }

    /// A task failed (not counting ignored failures).
    pub(crate) fn any_failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn state(&self, node: TaskId) -> NodeState {
        self.state[node.index()]
    }

    pub(crate) fn is_active(&self, node: TaskId) -> bool {
        self.active[node.index()]
    }

    /// Activates `node` and everything it depends on; those whose dependencies are all done
    /// become ready.
    fn activate(&mut self, plan: &Plan, node: TaskId) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut self.active[n.index()], true) {
                continue;
            }
            if self.remaining[n.index()] == 0 && self.state[n.index()] == NodeState::Pending {
                self.ready.insert((self.position[n.index()], n));
            }
            stack.extend(plan.dependencies(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use opsrun_plan::PlanOptions;
    use opsrun_spec::{Invocation, Resolver};

    use super::*;

    fn plan(toml: &str, targets: &[&str], sequential: bool) -> Plan {
        let spec = opsrun_spec::load_str(Path::new("/tmp/opsrun-schedule/tasks.toml"), toml).unwrap();
        let resolver = Resolver::new(&spec, Invocation::default());
        let targets: Vec<String> = targets.iter().map(|t| (*t).to_string()).collect();
        Plan::build(&resolver, &targets, &PlanOptions { sequential, ..PlanOptions::default() }).unwrap()
    }

    fn name(plan: &Plan, node: TaskId) -> &str {
        &plan.task(node).name
    }

    /// Starts everything startable with `jobs` slots; the names started.
    fn start_all(plan: &Plan, s: &mut Scheduler, jobs: usize) -> Vec<String> {
        std::iter::from_fn(|| s.next(jobs)).map(|(n, _)| name(plan, n).to_string()).collect()
    }

    fn finish(plan: &Plan, s: &mut Scheduler, task: &str, outcome: TaskOutcome) -> usize {
        s.finished(plan, plan.find(task).unwrap(), outcome, true)
    }

    const DIAMOND: &str = "
        [tasks.a]
        cmds = ['true']
        [tasks.b]
        deps = ['a']
        [tasks.c]
        deps = ['a']
        [tasks.d]
        deps = ['b', 'c']
        [tasks.side]
        cmds = ['true']
    ";

    #[test]
    fn dependents_start_when_their_dependencies_succeed_within_the_job_limit() {
        let p = plan(DIAMOND, &["d", "side"], false);
        let mut s = Scheduler::new(&p, false);
        assert_eq!(start_all(&p, &mut s, 1), ["a"]);
        assert_eq!(start_all(&p, &mut s, 2), ["side"]);
        finish(&p, &mut s, "a", TaskOutcome::Ok);
        finish(&p, &mut s, "side", TaskOutcome::Resumed);
        assert_eq!(start_all(&p, &mut s, 4), ["b", "c"]);
        finish(&p, &mut s, "b", TaskOutcome::UpToDate);
        assert_eq!(start_all(&p, &mut s, 4), Vec::<String>::new(), "d waits for c");
        finish(&p, &mut s, "c", TaskOutcome::FailedIgnored);
        assert_eq!(start_all(&p, &mut s, 4), ["d"]);
        finish(&p, &mut s, "d", TaskOutcome::Ok);
        assert!(s.idle() && !s.any_failed());
    }

    #[test]
    fn a_failure_stops_scheduling_unless_keep_going() {
        for keep_going in [false, true] {
            let p = plan(DIAMOND, &["d", "side"], false);
            let mut s = Scheduler::new(&p, keep_going);
            assert_eq!(start_all(&p, &mut s, 1), ["a"]);
            finish(&p, &mut s, "a", TaskOutcome::Failed);
            // `side` does not depend on `a`: keep-going runs it, otherwise nothing new starts.
            let expected: &[&str] = if keep_going { &["side"] } else { &[] };
            assert_eq!(start_all(&p, &mut s, 4), expected, "keep_going = {keep_going}");
            assert!(s.any_failed());
            let b = p.find("b").unwrap();
            assert_eq!(s.state(b), NodeState::Pending, "a failed dependency never starts its dependents");
        }
    }

    #[test]
    fn targets_given_in_order_run_one_after_the_other() {
        let p = plan(DIAMOND, &["side", "b"], true);
        let mut s = Scheduler::new(&p, false);
        assert_eq!(start_all(&p, &mut s, 4), ["side"]);
        finish(&p, &mut s, "side", TaskOutcome::Ok);
        assert_eq!(start_all(&p, &mut s, 4), ["a"]);
    }

    #[test]
    fn a_called_task_is_activated_by_the_call_and_answers_its_caller() {
        let toml = "
            [tasks.helper]
            cmds = ['true']
            [tasks.main]
            cmds = [{ task = 'helper' }, 'true']
        ";
        let p = plan(toml, &["main"], false);
        let mut s = Scheduler::new(&p, false);
        assert_eq!(start_all(&p, &mut s, 1), ["main"], "helper runs only when called");
        let helper = p.find("helper").unwrap();
        assert_eq!(s.call(&p, helper, CallOptions::default()), CallStep::Wait);
        // The waiting caller holds no job slot, so the callee starts with -j 1.
        let started: Vec<_> = std::iter::from_fn(|| s.next(1)).collect();
        assert_eq!(started.len(), 1);
        assert!(started[0].1.is_some(), "started by a call, with the call's options");
        assert_eq!(finish(&p, &mut s, "helper", TaskOutcome::Ok), 1, "one caller to answer");
        assert_eq!(s.call(&p, helper, CallOptions::default()), CallStep::Answer(TaskOutcome::Ok));
    }

    #[test]
    fn callers_waiting_for_a_task_that_cannot_start_are_released() {
        let toml = "
            [tasks.broken]
            cmds = ['false']
            [tasks.helper]
            deps = ['broken']
            [tasks.main]
            cmds = [{ task = 'helper' }]
            [tasks.other]
            cmds = ['true']
        ";
        let p = plan(toml, &["main", "other"], false);
        let mut s = Scheduler::new(&p, true);
        assert_eq!(start_all(&p, &mut s, 4), ["main", "other"]);
        assert_eq!(s.call(&p, p.find("helper").unwrap(), CallOptions::default()), CallStep::Wait);
        assert_eq!(start_all(&p, &mut s, 4), ["broken"]);
        finish(&p, &mut s, "broken", TaskOutcome::Failed);
        assert!(!s.release_deadlock(), "`other` still runs");
        finish(&p, &mut s, "other", TaskOutcome::Ok);
        assert!(s.release_deadlock(), "only the waiting caller is left, and its callee can never start");
        assert!(!s.release_deadlock());
    }
}
