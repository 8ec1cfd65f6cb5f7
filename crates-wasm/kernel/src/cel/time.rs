//! `google.protobuf.Timestamp` and `google.protobuf.Duration` values: RFC 3339 timestamps
//! (nanoseconds since the Unix epoch, years 0001-9999), Go-style durations (`1h2m3.5s`; signed
//! 64-bit nanoseconds, as cel-go), their arithmetic with range checks, and the calendar getters
//! in UTC or a fixed offset (`+05:30`, `-02:00`, `UTC`). IANA zone names (`Europe/Paris`) would
//! need a time zone database, which the kernel does not carry: they are an invalid argument.

use super::error::{EResult, EvalError, EvalKind};
use super::value::Value;

const NANOS: i128 = 1_000_000_000;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch.
const MIN_SECS: i128 = -62_135_596_800;
const MAX_SECS: i128 = 253_402_300_799;

/// The calendar getters (`ts.getHours()`, `d.getSeconds()`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Getter {
    FullYear,
    Month,
    Date,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    Hours,
    Minutes,
    Seconds,
    Milliseconds,
}

impl Getter {
    pub fn from_name(n: &str) -> Option<Getter> {
        Some(match n {
            "getFullYear" => Getter::FullYear,
            "getMonth" => Getter::Month,
            "getDate" => Getter::Date,
            "getDayOfMonth" => Getter::DayOfMonth,
            "getDayOfYear" => Getter::DayOfYear,
            "getDayOfWeek" => Getter::DayOfWeek,
            "getHours" => Getter::Hours,
            "getMinutes" => Getter::Minutes,
            "getSeconds" => Getter::Seconds,
            "getMilliseconds" => Getter::Milliseconds,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Getter::FullYear => "getFullYear",
            Getter::Month => "getMonth",
            Getter::Date => "getDate",
            Getter::DayOfMonth => "getDayOfMonth",
            Getter::DayOfYear => "getDayOfYear",
            Getter::DayOfWeek => "getDayOfWeek",
            Getter::Hours => "getHours",
            Getter::Minutes => "getMinutes",
            Getter::Seconds => "getSeconds",
            Getter::Milliseconds => "getMilliseconds",
        }
    }

    /// Whether durations have this getter too.
    pub fn on_duration(self) -> bool {
        matches!(self, Getter::Hours | Getter::Minutes | Getter::Seconds | Getter::Milliseconds)
    }
}

fn range(what: &str) -> EvalError {
    EvalError::new(EvalKind::Range, format!("range error: {} out of range", what))
}

/// A timestamp (ns since the epoch) if it lies in years 0001-9999.
pub fn checked_timestamp(ns: i128) -> EResult<Value<'static>> {
    let secs = ns.div_euclid(NANOS);
    if !(MIN_SECS..=MAX_SECS).contains(&secs) {
        return Err(range("timestamp"));
    }
    Ok(Value::Timestamp(ns))
}

pub fn checked_duration(ns: i128) -> EResult<Value<'static>> {
    if ns < i64::MIN as i128 || ns > i64::MAX as i128 {
        return Err(range("duration"));
    }
    Ok(Value::Duration(ns as i64))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(part.iter().fold(0i64, |a, c| a * 10 + (c - b'0') as i64))
}

/// RFC 3339: `2009-02-13T23:31:30.123Z` or with an offset `+01:00`.
pub fn parse_timestamp(text: &str) -> EResult<Value<'static>> {
    let bad = || {
        EvalError::new(
            EvalKind::Conversion,
            format!("Failed to parse timestamp {:?}: expected RFC 3339, e.g. '2009-02-13T23:31:30Z'", text),
        )
    };
    let s = text.as_bytes();
    let sep = |at: usize, c: &[u8]| s.get(at).map_or(false, |x| c.contains(x));
    let (y, mo, d) = (digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2));
    let (h, mi, se) = (digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2));
    let ok = sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":");
    let (y, mo, d, h, mi, se) = match (ok, y, mo, d, h, mi, se) {
        (true, Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) => (y, mo, d, h, mi, se),
        _ => return Err(bad()),
    };
    let month_days = [31, if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut at = 19;
    let mut frac: i128 = 0;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < s.len() && s[at].is_ascii_digit() {
            if at - start < 9 {
                frac = frac * 10 + (s[at] - b'0') as i128;
            }
            at += 1;
        }
        let n = at - start;
        if n == 0 {
            return Err(bad());
        }
        for _ in n..9 {
            frac *= 10;
        }
    }
    let offset = match &s[at.min(s.len())..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (oh, om) = match (digits(rest, 0, 2), digits(rest, 3, 2)) {
                (Some(a), Some(b)) if a < 24 && b < 60 => (a, b),
                _ => return Err(bad()),
            };
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) as i128 * 86_400 + (h * 3600 + mi * 60 + se - offset) as i128;
    checked_timestamp(secs * NANOS + frac)
}

/// RFC 3339 in UTC with as many fraction digits as needed (Go's `time.RFC3339Nano`).
pub fn format_timestamp(ns: i128) -> String {
    let secs = ns.div_euclid(NANOS);
    let frac = ns.rem_euclid(NANOS);
    let days = secs.div_euclid(86_400) as i64;
    let sod = secs.rem_euclid(86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let mut out = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
    if frac != 0 {
        let f = format!("{:09}", frac);
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Go's `time.ParseDuration`: `[-+]` then one or more `<decimal><unit>` (`ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`), or `0`. Overflowing 64-bit nanoseconds is a range error.
pub fn parse_duration(text: &str) -> EResult<Value<'static>> {
    let bad = || {
        EvalError::new(
            EvalKind::Conversion,
            format!("Failed to parse duration {:?}: expected e.g. '1h30m', '90s', '1.5s', '-250ms'", text),
        )
    };
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body == "0" {
        return Ok(Value::Duration(0));
    }
    if body.is_empty() {
        return Err(bad());
    }
    let s = body.as_bytes();
    let mut at = 0;
    let mut total: i128 = 0;
    while at < s.len() {
        let start = at;
        let mut whole: i128 = 0;
        while at < s.len() && s[at].is_ascii_digit() {
            whole = (whole * 10 + (s[at] - b'0') as i128).min(1 << 100);
            at += 1;
        }
        let int_digits = at - start;
        let (mut frac, mut scale): (i128, i128) = (0, 1);
        if at < s.len() && s[at] == b'.' {
            at += 1;
            while at < s.len() && s[at].is_ascii_digit() {
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + (s[at] - b'0') as i128;
                    scale *= 10;
                }
                at += 1;
            }
        }
        if int_digits == 0 && scale == 1 {
            return Err(bad());
        }
        let unit_start = at;
        while at < s.len() && !s[at].is_ascii_digit() && s[at] != b'.' {
            at += 1;
        }
        let unit: i128 = match &body[unit_start..at] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS,
            "m" => 60 * NANOS,
            "h" => 3600 * NANOS,
            _ => return Err(bad()),
        };
        total += whole * unit + frac * unit / scale;
        if total > i64::MAX as i128 + 1 {
            return Err(range("duration"));
        }
    }
    checked_duration(if neg { -total } else { total })
}

/// Seconds with as many fraction digits as needed: `1000000s`, `-1.5s`, `0.000000001s`.
pub fn format_duration(ns: i64) -> String {
    let ns = ns as i128;
    let (secs, frac) = (ns.abs() / NANOS, ns.abs() % NANOS);
    let sign = if ns < 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{}{}s", sign, secs);
    }
    let f = format!("{:09}", frac);
    format!("{}{}.{}s", sign, secs, f.trim_end_matches('0'))
}

/// A time zone argument: `UTC`, or a fixed offset `[+-]HH:MM` (no sign = east of UTC).
fn zone_offset(tz: &str) -> EResult<i64> {
    if tz == "UTC" || tz == "Z" {
        return Ok(0);
    }
    let s = tz.as_bytes();
    let (sign, rest) = match s.first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    match (rest.len(), rest.get(2), digits(rest, 0, 2), digits(rest, 3, 2)) {
        (5, Some(b':'), Some(h), Some(m)) if h < 24 && m < 60 => Ok(sign * (h * 3600 + m * 60)),
        _ => Err(EvalError::new(
            EvalKind::InvalidArgument,
            format!(
                "unsupported time zone {:?}: use 'UTC' or a fixed offset like '+05:30' (IANA zone names need a time zone database, which the kernel does not carry)",
                tz
            ),
        )),
    }
}

/// `ts.getX([tz])`.
pub fn timestamp_get(ns: i128, g: Getter, tz: Option<&str>) -> EResult<i64> {
    let offset = match tz {
        Some(z) => zone_offset(z)?,
        None => 0,
    };
    let local = ns.div_euclid(NANOS) + offset as i128;
    let days = local.div_euclid(86_400) as i64;
    let sod = local.rem_euclid(86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    Ok(match g {
        Getter::FullYear => y,
        Getter::Month => m - 1,
        Getter::Date => d,
        Getter::DayOfMonth => d - 1,
        Getter::DayOfYear => days - days_from_civil(y, 1, 1),
        // 1970-01-01 was a Thursday (4).
        Getter::DayOfWeek => (days + 4).rem_euclid(7),
        Getter::Hours => sod / 3600,
        Getter::Minutes => sod / 60 % 60,
        Getter::Seconds => sod % 60,
        Getter::Milliseconds => (ns.rem_euclid(NANOS) / 1_000_000) as i64,
    })
}

/// `d.getX()`: whole hours, minutes, seconds, or the millisecond part of the fraction.
pub fn duration_get(ns: i64, g: Getter) -> i64 {
    match g {
        Getter::Hours => ns / (3600 * NANOS as i64),
        Getter::Minutes => ns / (60 * NANOS as i64),
        Getter::Milliseconds => ns % NANOS as i64 / 1_000_000,
        _ => ns / NANOS as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i128 {
        match parse_timestamp(s) {
            Ok(Value::Timestamp(n)) => n,
            other => panic!("{}: {:?}", s, other),
        }
    }

    fn dur(s: &str) -> EResult<i64> {
        parse_duration(s).map(|v| match v {
            Value::Duration(n) => n,
            _ => unreachable!(),
        })
    }

    #[test]
    fn timestamps_parse_and_format() {
        assert_eq!(ts("2009-02-13T23:31:30Z"), 1_234_567_890 * NANOS);
        assert_eq!(ts("2009-02-14T00:31:30+01:00"), 1_234_567_890 * NANOS);
        assert_eq!(ts("1970-01-01T00:00:00.5Z"), NANOS / 2);
        assert_eq!(format_timestamp(ts("9999-12-31T23:59:59.999999999Z")), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(format_timestamp(ts("0001-01-01T00:00:00Z")), "0001-01-01T00:00:00Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999999999Z");
        for bad in ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "2009-02-30T00:00:00Z", "2009-02-13 23:31:30Z", "2009-02-13T23:31:30"] {
            assert!(parse_timestamp(bad).is_err(), "{}", bad);
        }
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(dur("1h2m3.5s"), Ok((3723 * NANOS + NANOS / 2) as i64));
        assert_eq!(dur("-999999999ns"), Ok(-999_999_999));
        assert_eq!(dur("1.5us"), Ok(1500));
        assert_eq!(dur("0"), Ok(0));
        assert_eq!(format_duration(dur("123.321456789s").unwrap()), "123.321456789s");
        assert_eq!(format_duration(-1_500_000_000), "-1.5s");
        assert_eq!(dur("320000000000s").map_err(|e| e.kind), Err(EvalKind::Range));
        for bad in ["", "1", "1x", "s", "-", "1..5s"] {
            assert!(dur(bad).is_err(), "{}", bad);
        }
    }

    #[test]
    fn calendar_getters() {
        let t = ts("2009-02-13T23:31:30.123Z");
        let get = |g, tz| timestamp_get(t, g, tz).unwrap();
        assert_eq!(get(Getter::DayOfWeek, None), 5);
        assert_eq!(get(Getter::DayOfYear, None), 43);
        assert_eq!(get(Getter::Month, None), 1);
        assert_eq!(get(Getter::Milliseconds, None), 123);
        assert_eq!(get(Getter::Hours, Some("02:00")), 1);
        assert_eq!(get(Getter::Date, Some("+11:00")), 14);
        assert_eq!(get(Getter::FullYear, Some("-09:30")), 2009);
        assert!(timestamp_get(t, Getter::Hours, Some("Europe/Paris")).is_err());
        assert_eq!(timestamp_get(ts("0001-01-01T00:00:00Z"), Getter::DayOfWeek, None).unwrap(), 1);
        assert_eq!(duration_get(dur("3730s").unwrap(), Getter::Minutes), 62);
        assert_eq!(duration_get(-1_500_000_000, Getter::Milliseconds), -500);
    }
}
