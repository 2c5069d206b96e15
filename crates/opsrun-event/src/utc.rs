//! Writing a timestamp as RFC 3339 UTC text without jiff's general formatter: events and state
//! records carry several per task, and building a civil datetime through a format string for
//! each costs more than the rest of the line.

/// How the fraction of a second is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// Always six digits, truncated (`strftime("%.6f")`): `2026-11-28T09:40:00.000000Z`.
    Micros,
    /// As jiff's `Display` writes it: the nanoseconds without their trailing zeros, and no
    /// fraction at all when they are zero: `2026-11-28T09:40:00.25Z`.
    Trimmed,
}

/// `ts` as `YYYY-MM-DDTHH:MM:SS[.fraction]Z` in `buf`, byte for byte what jiff writes, for the
/// years 1970 to 9999; `None` outside them (the caller has jiff write those).
///
/// ```
/// use opsrun_event::{Fraction, write_utc};
///
/// let ts = jiff::Timestamp::new(951_782_400, 250_000_000).unwrap();
/// let mut buf = [0; 30];
/// assert_eq!(write_utc(ts, Fraction::Micros, &mut buf), Some("2000-02-29T00:00:00.250000Z"));
/// assert_eq!(write_utc(ts, Fraction::Trimmed, &mut buf), Some("2000-02-29T00:00:00.25Z"));
/// ```
pub fn write_utc(ts: jiff::Timestamp, fraction: Fraction, buf: &mut [u8; 30]) -> Option<&str> {
    let secs = ts.as_second();
    if secs < 0 {
        return None;
    }
    let (days, time) = (secs / 86_400, secs % 86_400);
    // The date from the day number: Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if year > 9999 {
        return None;
    }
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + u8::try_from(value % 10).unwrap_or(0);
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, time / 3600);
    put(14, 2, time / 60 % 60);
    put(17, 2, time % 60);
    let nanos = i64::from(ts.subsec_nanosecond());
    let end = match fraction {
        Fraction::Micros => {
            put(20, 6, nanos / 1000);
            26
        }
        Fraction::Trimmed if nanos == 0 => 19,
        Fraction::Trimmed => {
            let (mut value, mut digits) = (nanos, 9);
            while value % 10 == 0 {
                value /= 10;
                digits -= 1;
            }
            put(20, digits, value);
            20 + digits
        }
    };
    if end > 19 {
        buf[19] = b'.';
    }
    for (at, sep) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        buf[at] = sep;
    }
    buf[end] = b'Z';
    std::str::from_utf8(&buf[..=end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both fractions, byte for byte what jiff writes, from 1970 to 9999 (`None` before 1970).
    #[test]
    fn writes_what_jiff_writes() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let max = u64::try_from(jiff::Timestamp::MAX.as_second()).unwrap();
        let mut cases: Vec<(i64, i32)> = vec![
            (0, 0),
            (0, 999_999_999),
            (0, 100_000_000),
            (0, 1),
            (951_782_400, 1_000),     // 2000-02-29
            (4_107_542_399, 999_999), // 2100-02-28T23:59:59
            (4_107_542_400, 0),
            (253_402_300_799, 999_999_999), // 9999-12-31T23:59:59
            (-1, -500_000_000),
            (-62_135_596_800, 0),
        ];
        for _ in 0..20_000 {
            let secs = i64::try_from(next() % max).unwrap();
            let secs = if next() % 4 == 0 { -secs } else { secs };
            // Every number of trailing zeros.
            let nanos =
                i32::try_from(next() % 1_000_000_000).unwrap() / 10_i32.pow(u32::try_from(next() % 10).unwrap());
            cases.push((secs, if secs < 0 { -nanos } else { nanos }));
        }
        for (secs, nanos) in cases {
            let Ok(ts) = jiff::Timestamp::new(secs, nanos) else { continue };
            let mut buf = [0; 30];
            match write_utc(ts, Fraction::Micros, &mut buf) {
                Some(text) => assert_eq!(text, ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(), "{secs}.{nanos}"),
                None => assert!(secs < 0, "{secs}"),
            }
            match write_utc(ts, Fraction::Trimmed, &mut buf) {
                Some(text) => assert_eq!(text, ts.to_string(), "{secs}.{nanos}"),
                None => assert!(secs < 0, "{secs}"),
            }
        }
    }
}
