//! Output throughput: one task printing 100 MB, `opsrun run out` with stdout on the drained pipe,
//! paired against the same command run by `/bin/sh -c` straight into the same kind of pipe. The
//! figures are MB/s (10^6 bytes of the task's output per second of wall time) and opsrun's peak
//! RSS, which must stay bounded however much a task prints.

use std::process::Command;
use std::time::Duration;

use super::suite::Bench;
use super::table::{self, Row, ms, rss};
use super::workload;

const OUTPUT_BYTES: usize = 100_000_000;
const MIN_MB_PER_SECOND: f64 = 200.0;
const MAX_RSS_KIB: u64 = 32 * 1024;

impl Bench<'_> {
    pub(super) fn output(&mut self) -> Result<Vec<Row>, String> {
        let dir = self.workdir("output", &[("tasks.toml", &workload::output(OUTPUT_BYTES))])?;
        let command = workload::output_command(OUTPUT_BYTES);
        let at_least = |bytes: u64| {
            if bytes >= OUTPUT_BYTES as u64 {
                Ok(())
            } else {
                Err(format!("only {bytes} bytes reached stdout, not {OUTPUT_BYTES}"))
            }
        };
        let result = {
            let mut opsrun = Self::checked_side(
                "opsrun run out",
                || self.opsrun(&dir, &["run", "out"]),
                |f| at_least(f.stdout_bytes),
            );
            let mut shell = Self::checked_side(
                "/bin/sh -c",
                || {
                    let mut shell = Command::new("/bin/sh");
                    shell.current_dir(&dir).args(["-c", &command]);
                    shell
                },
                |f| at_least(f.stdout_bytes),
            );
            self.compare("100 MB of output", &mut opsrun, &mut shell)
        };
        let title = "output: a task printing 100 MB, `opsrun run out`";
        let target = format!("≥ {MIN_MB_PER_SECOND} MB/s and peak < {} MiB", MAX_RSS_KIB / 1024);
        let mut row = Row { other: "the same command under `/bin/sh -c`".into(), target, ..Row::new(title) };
        match result {
            Err(error) => row.opsrun = self.failed(error),
            Ok(pairs) => {
                if let (Some(a), Some(b), Some(ratio)) = (pairs.a(), pairs.b(), pairs.ratio()) {
                    row.opsrun = throughput(a.wall);
                    row.cpu = ms(a.cpu);
                    row.rss = rss(a.max_rss);
                    row.other_time = throughput(b.wall);
                    row.other_rss = rss(b.max_rss);
                    row.ratio = table::ratio(&ratio);
                    row.met = Some(mb_per_second(a.wall) >= MIN_MB_PER_SECOND && a.max_rss.kib < MAX_RSS_KIB);
                }
            }
        }
        Ok(vec![row])
    }
}

fn mb_per_second(wall: Duration) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "10^8 is exact in an f64")]
    let megabytes = OUTPUT_BYTES as f64 / 1e6;
    megabytes / wall.as_secs_f64()
}

/// `512 MB/s (195.3 ms)`.
fn throughput(wall: Duration) -> String {
    format!("{:.0} MB/s ({})", mb_per_second(wall), ms(wall))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_of_100_mb() {
        assert_eq!(throughput(Duration::from_millis(500)), "200 MB/s (500.0 ms)");
        assert_eq!(throughput(Duration::from_millis(125)), "800 MB/s (125.0 ms)");
    }
}
