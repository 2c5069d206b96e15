//! Timing: wall-clock around process spawns, medians over interleaved rounds, and the in-process
//! spawn floor that opsrun is compared against.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// One timed run, or why it could not be timed.
pub(crate) type Timing = Result<Duration, String>;

/// Something timed once per round.
pub(crate) struct Contender<'a> {
    pub(crate) label: String,
    pub(crate) run: Box<dyn FnMut() -> Timing + 'a>,
}

impl<'a> Contender<'a> {
    pub(crate) fn new(label: impl Into<String>, run: impl FnMut() -> Timing + 'a) -> Self {
        Self { label: label.into(), run: Box::new(run) }
    }

    /// Times a command built afresh for each run; only the spawn-to-exit interval is measured.
    pub(crate) fn command(label: impl Into<String>, mut build: impl FnMut() -> Command + 'a) -> Self {
        Self::new(label, move || time_command(&mut build()))
    }
}

/// Runs `warmup + runs` rounds; each round runs every contender once, in order, so that a slow
/// patch on a shared machine hits all of them rather than one. A contender that fails is not run
/// again. Returns each contender's median over the timed rounds, or its failure.
pub(crate) fn side_by_side(title: &str, contenders: &mut [Contender<'_>], warmup: usize, runs: usize) -> Vec<Timing> {
    let mut samples: Vec<Result<Vec<Duration>, String>> = contenders.iter().map(|_| Ok(Vec::new())).collect();
    let rounds = warmup + runs;
    // One dot per round: readable in a terminal and in a CI log alike.
    eprint!("  {title}: {rounds} rounds ");
    for round in 0..rounds {
        eprint!(".");
        for (contender, samples) in contenders.iter_mut().zip(&mut samples) {
            let Ok(taken) = samples else { continue };
            match (contender.run)() {
                Ok(elapsed) if round >= warmup => taken.push(elapsed),
                Ok(_) => {}
                Err(error) => *samples = Err(format!("{}: {error}", contender.label)),
            }
        }
    }
    eprintln!(" done");
    samples.into_iter().map(|s| s.map(|mut taken| median(&mut taken))).collect()
}

/// Wall-clock time from spawn to exit, with all three standard streams on /dev/null.
pub(crate) fn time_command(command: &mut Command) -> Timing {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = command.status().map_err(|error| format!("failed to start: {error}"))?;
    let elapsed = start.elapsed();
    if status.success() { Ok(elapsed) } else { Err(format!("failed ({status})")) }
}

/// The floor: `count` spawns of `sh -c true`, `jobs` at a time, from `jobs` worker threads that
/// pull from a shared counter. This is what running `count` no-op tasks costs with nothing but
/// process creation, so a task runner's overhead is its time above this.
pub(crate) fn spawn_floor(count: usize, jobs: usize) -> Timing {
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None::<String>);
    let worker = || {
        while next.fetch_add(1, Ordering::Relaxed) < count {
            if let Err(error) = spawn_true() {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                return;
            }
        }
    };
    let start = Instant::now();
    if jobs <= 1 {
        // Sequential: no worker thread, so that a thread hand-off is not charged to the floor.
        worker();
    } else {
        thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(worker);
            }
        });
    }
    let elapsed = start.elapsed();
    match failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some(error) => Err(error),
        None => Ok(elapsed),
    }
}

fn spawn_true() -> Result<(), String> {
    let status = Command::new("sh")
        .args(["-c", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("failed to start sh: {error}"))?;
    if status.success() { Ok(()) } else { Err(format!("sh -c true failed ({status})")) }
}

/// The median; the mean of the middle two for an even count.
pub(crate) fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    let middle = samples.len() / 2;
    match samples.len() {
        0 => Duration::ZERO,
        len if len % 2 == 1 => samples[middle],
        _ => (samples[middle - 1] + samples[middle]) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut [ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(&mut [ms(4), ms(1), ms(2), ms(3)]), Duration::from_micros(2500));
        assert_eq!(median(&mut []), Duration::ZERO);
    }

    #[test]
    fn a_failing_contender_stops_and_the_others_continue() {
        let mut calls = 0;
        let mut contenders = [
            Contender::new("fails", || {
                calls += 1;
                Err("boom".to_string())
            }),
            Contender::new("works", || Ok(Duration::from_millis(2))),
        ];
        let results = side_by_side("test", &mut contenders, 1, 3);
        drop(contenders);
        assert_eq!(results, [Err("fails: boom".to_string()), Ok(Duration::from_millis(2))]);
        assert_eq!(calls, 1);
    }

    #[test]
    fn floor_spawns_and_reports_failures() {
        assert!(spawn_floor(4, 2).is_ok());
        assert!(time_command(&mut Command::new("false")).is_err());
    }
}
