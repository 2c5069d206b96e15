//! Go reference-time layouts (`"2006-01-02 15:04:05"`) applied to `jiff` times.
//!
//! Taskfiles format dates with Go layouts (`now | date "2006-01-02"`), so we
//! translate the layout chunk by chunk, following the chunk recognition of
//! Go's `time.Format` (`nextStdChunk`) so that ambiguous layouts such as
//! `"_2006"` split the same way.

use std::fmt::Write as _;

use jiff::Zoned;

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One element of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// Numeric zone; `z` means `Z` is printed for UTC, `colons` and `seconds`
    /// select the variant (`-07`, `-0700`, `-07:00`, `-070000`, `-07:00:00`).
    Offset {
        z: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// Fractional seconds: `.000` (fixed width) or `.999` (trailing zeros trimmed).
    Fraction {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// Splits `layout` at its first chunk: (literal prefix, chunk, rest).
fn next_chunk(layout: &str) -> (&str, Option<(Chunk, &str)>) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Chunk, usize)> = match b[i] {
            b'J' if starts(i, "January") => Some((Chunk::LongMonth, 7)),
            b'J' if starts(i, "Jan") => Some((Chunk::Month, 3)),
            b'M' if starts(i, "Monday") => Some((Chunk::LongWeekDay, 6)),
            b'M' if starts(i, "Mon") => Some((Chunk::WeekDay, 3)),
            b'M' if starts(i, "MST") => Some((Chunk::Tz, 3)),
            b'0' if starts(i, "002") => Some((Chunk::ZeroYearDay, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Chunk::ZeroMonth, 2)),
                Some(b'2') => Some((Chunk::ZeroDay, 2)),
                Some(b'3') => Some((Chunk::ZeroHour12, 2)),
                Some(b'4') => Some((Chunk::ZeroMinute, 2)),
                Some(b'5') => Some((Chunk::ZeroSecond, 2)),
                Some(b'6') => Some((Chunk::Year, 2)),
                _ => None,
            },
            b'1' if starts(i, "15") => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if starts(i, "2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            // `_2006` is a literal underscore followed by the year.
            b'_' if starts(i, "_2") && !starts(i, "_2006") => Some((Chunk::UnderDay, 2)),
            b'_' if starts(i, "__2") => Some((Chunk::UnderYearDay, 3)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if starts(i, "PM") => Some((Chunk::PM, 2)),
            b'p' if starts(i, "pm") => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => offset_chunk(&layout[i..]),
            b'.' | b',' => fraction_chunk(&layout[i..]),
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some((chunk, &layout[i + len..])));
        }
    }
    (layout, None)
}

fn offset_chunk(s: &str) -> Option<(Chunk, usize)> {
    let z = s.starts_with('Z');
    let body = &s[1..];
    // Longest first, as Go does.
    for (pat, colon, minutes, seconds) in [
        ("070000", false, true, true),
        ("07:00:00", true, true, true),
        ("0700", false, true, false),
        ("07:00", true, true, false),
        ("07", false, false, false),
    ] {
        if body.starts_with(pat) {
            let chunk = Chunk::Offset { z, colon, minutes, seconds };
            return Some((chunk, 1 + pat.len()));
        }
    }
    None
}

fn fraction_chunk(s: &str) -> Option<(Chunk, usize)> {
    let b = s.as_bytes();
    let digit = *b.get(1)?;
    if digit != b'0' && digit != b'9' {
        return None;
    }
    let run = b[1..].iter().take_while(|&&c| c == digit).count();
    // A fraction must not be followed by another digit (`.0001` is literal).
    if b.get(1 + run).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let chunk = Chunk::Fraction { sep: char::from(b[0]), digits: run, trim: digit == b'9' };
    Some((chunk, 1 + run))
}

/// Formats `t` with the Go layout `layout`.
pub(crate) fn format(t: &Zoned, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (literal, chunk) = next_chunk(rest);
        out.push_str(literal);
        let Some((chunk, after)) = chunk else {
            return out;
        };
        write_chunk(&mut out, t, chunk);
        rest = after;
    }
}

fn write_chunk(out: &mut String, t: &Zoned, chunk: Chunk) {
    let month = usize::try_from(t.month()).unwrap_or(1);
    let weekday = usize::from(t.weekday().to_sunday_zero_offset().unsigned_abs());
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    // Writing to a String cannot fail.
    let _ = match chunk {
        Chunk::LongMonth => write!(out, "{}", LONG_MONTHS[(month - 1) % 12]),
        Chunk::Month => write!(out, "{}", &LONG_MONTHS[(month - 1) % 12][..3]),
        Chunk::NumMonth => write!(out, "{month}"),
        Chunk::ZeroMonth => write!(out, "{month:02}"),
        Chunk::LongWeekDay => write!(out, "{}", LONG_DAYS[weekday % 7]),
        Chunk::WeekDay => write!(out, "{}", &LONG_DAYS[weekday % 7][..3]),
        Chunk::Day => write!(out, "{}", t.day()),
        Chunk::UnderDay => write!(out, "{:>2}", t.day()),
        Chunk::ZeroDay => write!(out, "{:02}", t.day()),
        Chunk::UnderYearDay => write!(out, "{:>3}", t.day_of_year()),
        Chunk::ZeroYearDay => write!(out, "{:03}", t.day_of_year()),
        Chunk::Hour => write!(out, "{:02}", t.hour()),
        Chunk::Hour12 => write!(out, "{hour12}"),
        Chunk::ZeroHour12 => write!(out, "{hour12:02}"),
        Chunk::Minute => write!(out, "{}", t.minute()),
        Chunk::ZeroMinute => write!(out, "{:02}", t.minute()),
        Chunk::Second => write!(out, "{}", t.second()),
        Chunk::ZeroSecond => write!(out, "{:02}", t.second()),
        Chunk::LongYear => write!(out, "{:04}", t.year()),
        Chunk::Year => write!(out, "{:02}", t.year().rem_euclid(100)),
        Chunk::PM => write!(out, "{}", if t.hour() >= 12 { "PM" } else { "AM" }),
        Chunk::Pm => write!(out, "{}", if t.hour() >= 12 { "pm" } else { "am" }),
        Chunk::Tz => {
            let info = t.time_zone().to_offset_info(t.timestamp());
            let abbreviation = info.abbreviation();
            // Go prints the numeric offset when the zone has no abbreviation.
            if abbreviation.is_empty() {
                write_offset(out, t.offset().seconds(), false, true, false);
                Ok(())
            } else {
                write!(out, "{abbreviation}")
            }
        }
        Chunk::Offset { z, colon, minutes, seconds } => {
            let secs = t.offset().seconds();
            if z && secs == 0 {
                out.push('Z');
            } else {
                write_offset(out, secs, colon, minutes, seconds);
            }
            Ok(())
        }
        Chunk::Fraction { sep, digits, trim } => {
            let nanos = format!("{:09}", t.subsec_nanosecond().unsigned_abs());
            let mut frac = &nanos[..digits.min(9)];
            if trim {
                frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    return;
                }
            }
            write!(out, "{sep}{frac}")
        }
    };
}

fn write_offset(out: &mut String, secs: i32, colon: bool, minutes: bool, seconds: bool) {
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let sep = if colon { ":" } else { "" };
    let _ = write!(out, "{sign}{:02}", abs / 3600);
    if minutes {
        let _ = write!(out, "{sep}{:02}", abs / 60 % 60);
    }
    if seconds {
        let _ = write!(out, "{sep}{:02}", abs % 60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Zoned {
        // A Tuesday afternoon with sub-second precision, in a fixed offset.
        "2024-03-05T14:07:09.120+01:00[+01:00]".parse().expect("valid test timestamp")
    }

    #[test]
    fn layouts() {
        let t = sample();
        for (layout, want) in [
            ("2006-01-02 15:04:05", "2024-03-05 14:07:09"),
            ("2006", "2024"),
            ("06/1/2 3:4:5 PM", "24/3/5 2:7:9 PM"),
            ("Mon Jan _2", "Tue Mar  5"),
            ("Monday, January 02", "Tuesday, March 05"),
            ("15:04:05.000", "14:07:09.120"),
            ("15:04:05.999", "14:07:09.12"),
            ("-0700 -07:00 Z07:00", "+0100 +01:00 +01:00"),
            ("002", "065"),
            ("_2006", "_2024"),
            ("20060102T150405", "20240305T140709"),
            ("literal text!", "literal text!"),
        ] {
            assert_eq!(format(&t, layout), want, "layout {layout:?}");
        }
    }

    #[test]
    fn utc_z() {
        let t: Zoned = "2024-01-01T00:00:00Z[UTC]".parse().expect("valid");
        assert_eq!(format(&t, "2006-01-02T15:04:05Z07:00"), "2024-01-01T00:00:00Z");
        assert_eq!(format(&t, "3 pm MST"), "12 am UTC");
    }
}
