//! Paired A/B measurement: A and B run back to back, N times, the order alternating (A B, B A,
//! A B, …) so that whatever the machine does between two runs (a neighbour's build, the page
//! cache, frequency changes) lands on both sides evenly. The ratio is taken within each pair and
//! the median of those ratios is the figure reported: on a shared machine a slow patch inflates
//! one pair, not the result.

use std::time::Duration;

use super::process::{PeakRss, Usage};

/// One timed run (setup and checks may surround it; only [`Usage::wall`] is the timed part).
pub(crate) type Run<'a> = Box<dyn FnMut() -> Result<Usage, String> + 'a>;

/// One side of a comparison.
pub(crate) struct Side<'a> {
    pub(crate) label: String,
    run: Run<'a>,
}

impl<'a> Side<'a> {
    pub(crate) fn new(label: impl Into<String>, run: impl FnMut() -> Result<Usage, String> + 'a) -> Self {
        Self { label: label.into(), run: Box::new(run) }
    }

    fn run(&mut self) -> Result<Usage, String> {
        (self.run)().map_err(|error| format!("{}: {error}", self.label))
    }
}

/// Which side runs first or second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    A,
    B,
}

/// The order of the runs in pair `index`: A first in even pairs, B first in odd ones.
pub(crate) fn order(index: usize) -> [Which; 2] {
    if index.is_multiple_of(2) { [Which::A, Which::B] } else { [Which::B, Which::A] }
}

/// The timed runs of both sides; `a[i]` and `b[i]` are pair `i`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pairs {
    pub(crate) a: Vec<Usage>,
    pub(crate) b: Vec<Usage>,
}

/// `warmup` untimed pairs, then `pairs` timed ones in alternating order. The first failure of
/// either side ends the comparison.
pub(crate) fn paired(
    title: &str,
    a: &mut Side<'_>,
    b: &mut Side<'_>,
    warmup: usize,
    pairs: usize,
) -> Result<Pairs, String> {
    // One dot per pair: readable in a terminal and in a log alike.
    eprint!("  {title}: {} vs {}, {warmup} + {pairs} pairs ", a.label, b.label);
    let mut result = Pairs { a: Vec::with_capacity(pairs), b: Vec::with_capacity(pairs) };
    let outcome = (|| {
        for _ in 0..warmup {
            a.run()?;
            b.run()?;
        }
        for index in 0..pairs {
            eprint!(".");
            for which in order(index) {
                match which {
                    Which::A => result.a.push(a.run()?),
                    Which::B => result.b.push(b.run()?),
                }
            }
        }
        Ok(())
    })();
    eprintln!("{}", if outcome.is_ok() { " done" } else { " failed" });
    outcome.map(|()| result)
}

/// `warmup` untimed runs, then `runs` timed ones, for figures with nothing to pair against.
pub(crate) fn series(title: &str, side: &mut Side<'_>, warmup: usize, runs: usize) -> Result<Vec<Usage>, String> {
    eprint!("  {title}: {}, {warmup} + {runs} runs ", side.label);
    let outcome = (|| {
        for _ in 0..warmup {
            side.run()?;
        }
        (0..runs)
            .map(|_| {
                eprint!(".");
                side.run()
            })
            .collect::<Result<Vec<_>, _>>()
    })();
    eprintln!("{}", if outcome.is_ok() { " done" } else { " failed" });
    outcome
}

/// The median and the range of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// `None` for no values.
    pub(crate) fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        let (&min, &max) = (values.first()?, values.last()?);
        let middle = values.len() / 2;
        let median =
            if values.len() % 2 == 1 { values[middle] } else { f64::midpoint(values[middle - 1], values[middle]) };
        Some(Self { median, min, max })
    }
}

/// One side's runs, summarized: median wall and CPU time, and the largest peak RSS of any run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    pub(crate) max_rss: PeakRss,
}

impl Summary {
    pub(crate) fn of(runs: &[Usage]) -> Option<Self> {
        let seconds = |get: fn(&Usage) -> Duration| {
            Spread::of(runs.iter().map(|run| get(run).as_secs_f64()).collect())
                .map(|s| Duration::from_secs_f64(s.median))
        };
        Some(Self {
            wall: seconds(|run| run.wall)?,
            cpu: seconds(|run| run.cpu)?,
            max_rss: runs.iter().map(|run| run.max_rss).max()?,
        })
    }
}

impl Pairs {
    /// A's wall time over B's, pair by pair.
    pub(crate) fn ratio(&self) -> Option<Spread> {
        let ratios = self.a.iter().zip(&self.b).filter(|(_, b)| !b.wall.is_zero());
        Spread::of(ratios.map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64()).collect())
    }

    /// A's wall time minus B's in milliseconds, pair by pair.
    pub(crate) fn difference_ms(&self) -> Option<Spread> {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Spread::of(self.a.iter().zip(&self.b).map(|(a, b)| ms(a.wall) - ms(b.wall)).collect())
    }

    pub(crate) fn a(&self) -> Option<Summary> {
        Summary::of(&self.a)
    }

    pub(crate) fn b(&self) -> Option<Summary> {
        Summary::of(&self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(wall_ms: u64, rss: u64) -> Usage {
        let max_rss = PeakRss { kib: rss, at_most: false };
        Usage { wall: Duration::from_millis(wall_ms), cpu: Duration::from_millis(wall_ms / 2), max_rss }
    }

    #[test]
    fn pairs_alternate_which_side_goes_first() {
        assert_eq!(order(0), [Which::A, Which::B]);
        assert_eq!(order(1), [Which::B, Which::A]);
        assert_eq!(order(2), [Which::A, Which::B]);
        let log = std::cell::RefCell::new(String::new());
        let mut a = Side::new("a", || {
            log.borrow_mut().push('a');
            Ok(usage(2, 1))
        });
        let mut b = Side::new("b", || {
            log.borrow_mut().push('b');
            Ok(usage(1, 1))
        });
        let pairs = paired("test", &mut a, &mut b, 1, 3).expect("no failure");
        drop((a, b));
        // One warm-up pair, then three timed ones.
        assert_eq!(log.into_inner(), "ab abbaab".replace(' ', ""));
        assert_eq!((pairs.a.len(), pairs.b.len()), (3, 3));
    }

    #[test]
    fn a_failure_ends_the_comparison_and_names_the_side() {
        let mut a = Side::new("opsrun", || Err("boom".to_string()));
        let mut b = Side::new("floor", || Ok(usage(1, 1)));
        assert_eq!(paired("test", &mut a, &mut b, 0, 9), Err("opsrun: boom".to_string()));
        let mut calls = 0;
        let mut solo = Side::new("solo", || {
            calls += 1;
            if calls > 2 { Err("third".to_string()) } else { Ok(usage(1, 1)) }
        });
        assert_eq!(series("test", &mut solo, 1, 5), Err("solo: third".to_string()));
    }

    #[test]
    fn spread_is_the_median_and_range() {
        assert_eq!(Spread::of(vec![3.0, 1.0, 2.0]), Some(Spread { median: 2.0, min: 1.0, max: 3.0 }));
        assert_eq!(Spread::of(vec![4.0, 1.0, 2.0, 3.0]), Some(Spread { median: 2.5, min: 1.0, max: 4.0 }));
        assert_eq!(Spread::of(vec![]), None);
    }

    #[test]
    fn ratios_are_taken_within_pairs() {
        // B is twice as slow in the last pair only: the pair ratios are 2, 2, 1, and their
        // median (2) is not the ratio of the medians (10 / 10 = 1).
        let pairs = Pairs {
            a: vec![usage(10, 3_000), usage(20, 5_000), usage(10, 4_000)],
            b: vec![usage(5, 1_000), usage(10, 1_000), usage(10, 2_000)],
        };
        assert_eq!(pairs.ratio(), Some(Spread { median: 2.0, min: 1.0, max: 2.0 }));
        assert_eq!(pairs.difference_ms(), Some(Spread { median: 5.0, min: 0.0, max: 10.0 }));
        let a = pairs.a().expect("runs");
        assert_eq!(a.wall, Duration::from_millis(10));
        assert_eq!(a.max_rss, PeakRss { kib: 5_000, at_most: false });
        assert_eq!(pairs.b().map(|b| b.wall), Some(Duration::from_millis(10)));
        let empty = Pairs { a: vec![], b: vec![] };
        assert_eq!((empty.ratio(), empty.a()), (None, None));
    }
}
