//! The `cargo xtask bench` command line.

/// How many pairs to time, and whether to record the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BenchOptions {
    /// Timed A/B pairs per comparison; the reported ratio is the median of the pairs' ratios.
    pub(crate) pairs: usize,
    /// Untimed pairs before the timed ones (page cache, binary mapping, lazy allocations).
    pub(crate) warmup: usize,
    /// Replace the results section of `docs/benchmarks.md`.
    pub(crate) write: bool,
    /// Only this workload (`--only render`); the table then has its rows only.
    pub(crate) only: Option<String>,
}

/// The workloads, as `--only` names them, in the order they run.
pub(crate) const WORKLOADS: [&str; 10] =
    ["startup", "list", "chain", "fan-out", "up-to-date", "plan", "output", "gate", "resume", "render"];

pub(crate) const DEFAULT_PAIRS: usize = 9;
pub(crate) const QUICK_PAIRS: usize = 3;

impl BenchOptions {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self { pairs: DEFAULT_PAIRS, warmup: 1, write: false, only: None };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.pairs = QUICK_PAIRS,
                "--write" => options.write = true,
                "--pairs" => {
                    let value = args.next().ok_or("--pairs needs a number")?;
                    options.pairs = value
                        .parse()
                        .ok()
                        .filter(|&pairs| pairs > 0)
                        .ok_or_else(|| format!("--pairs expects a positive number, got `{value}`"))?;
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
        if options.write && options.pairs < DEFAULT_PAIRS {
            return Err(format!("--write records at least {DEFAULT_PAIRS} pairs per comparison: drop --quick"));
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
    fn defaults_quick_pairs_and_write() {
        assert_eq!(parse(&[]), Ok(BenchOptions { pairs: 9, warmup: 1, write: false, only: None }));
        assert_eq!(parse(&["--write"]), Ok(BenchOptions { pairs: 9, warmup: 1, write: true, only: None }));
        assert_eq!(parse(&["--quick"]).map(|o| o.pairs), Ok(3));
        assert_eq!(parse(&["--pairs", "15", "--write"]).map(|o| o.pairs), Ok(15));
        assert!(parse(&["--pairs", "0"]).is_err());
        assert!(parse(&["--pairs", "x"]).is_err());
        assert!(parse(&["--pairs"]).is_err());
        assert!(parse(&["--runs", "5"]).is_err());
        assert!(parse(&["--quick", "--write"]).is_err());
        assert!(parse(&["--pairs", "5", "--write"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }

    #[test]
    fn only_names_a_workload() {
        assert_eq!(parse(&["--only", "up-to-date"]).map(|o| o.only), Ok(Some("up-to-date".into())));
        assert!(parse(&["--only", "nothing"]).is_err());
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["--only", "render", "--write"]).is_err());
    }
}
