//! The `cargo xtask bench` command line.

/// How many runs to time, and whether to record the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BenchOptions {
    /// Timed runs per contender; the reported figure is their median.
    pub(crate) runs: usize,
    /// Untimed runs before the timed ones (page cache, binary mapping, lazy allocations).
    pub(crate) warmup: usize,
    /// Replace the results section of `docs/benchmarks.md`.
    pub(crate) write: bool,
    /// Only this workload (`--only render`); the table then has one row.
    pub(crate) only: Option<String>,
}

/// The workloads, as `--only` names them.
pub(crate) const WORKLOADS: [&str; 7] = ["startup", "list", "fan-out", "chain", "gate", "resume", "render"];

pub(crate) const DEFAULT_RUNS: usize = 10;
pub(crate) const QUICK_RUNS: usize = 3;

impl BenchOptions {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self { runs: DEFAULT_RUNS, warmup: 1, write: false, only: None };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.runs = QUICK_RUNS,
                "--write" => options.write = true,
                "--runs" => {
                    let value = args.next().ok_or("--runs needs a number")?;
                    options.runs = value
                        .parse()
                        .ok()
                        .filter(|&runs| runs > 0)
                        .ok_or_else(|| format!("--runs expects a positive number, got `{value}`"))?;
                }
                "--only" => {
                    let value = args.next().ok_or("--only needs a workload")?;
                    if !WORKLOADS.contains(&value.as_str()) {
                        return Err(format!("unknown workload `{value}` (one of {})", WORKLOADS.join(", ")));
                    }
                    options.only = Some(value.clone());
                }
                other => return Err(format!("unknown bench option `{other}`")),
            }
        }
        if options.write && options.only.is_some() {
            return Err("--write records the whole table: drop --only".into());
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<BenchOptions, String> {
        BenchOptions::parse(&args.iter().map(ToString::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_quick_runs_and_write() {
        assert_eq!(parse(&[]), Ok(BenchOptions { runs: 10, warmup: 1, write: false, only: None }));
        assert_eq!(parse(&["--quick", "--write"]), Ok(BenchOptions { runs: 3, warmup: 1, write: true, only: None }));
        assert_eq!(parse(&["--runs", "5"]).map(|o| o.runs), Ok(5));
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--runs"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert_eq!(parse(&["--only", "render"]).map(|o| o.only), Ok(Some("render".into())));
        assert!(parse(&["--only", "nothing"]).is_err());
        assert!(parse(&["--only", "render", "--write"]).is_err());
    }
}
