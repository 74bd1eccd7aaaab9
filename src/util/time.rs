//! Dates and durations in text: ISO-8601 timestamps (AgentOps legacy events), HTTP
//! dates (`Retry-After`), and durations for people (session stats, console).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `timeout` from now, saturating: `Duration::MAX` (or any timeout past what the
/// clock can represent) means a deadline centuries away, never an overflow panic on
/// the caller's thread.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(timeout).or_else(|| now.checked_add(CENTURY)).unwrap_or(now)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2024-05-06T07:08:09.123456+00:00`: UTC with microseconds, as Python's
/// `datetime.isoformat()` writes it (what the AgentOps v2 API was built around).
pub(crate) fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() as i64;
    let (y, mo, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        d.subsec_micros()
    )
}

/// [`iso8601`] of a Unix time in nanoseconds.
pub(crate) fn iso8601_nanos(nanos: u64) -> String {
    iso8601(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// A cost in US dollars as people read it: six decimals (`$0.000030`), the precision
/// of the Python SDK's session line. Every place that prints a cost uses this, so no
/// float noise (`0.000030299999999999994`) reaches a console.
pub(crate) fn usd(cost: f64) -> String {
    // An empty sum of f64 is -0.0, which would print as `$-0.000000`.
    format!("${:.6}", cost + 0.0)
}

/// `1m 2.3s`, `850ms`, `12µs`.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{}m {:.1}s", (secs / 60.0) as u64, secs % 60.0)
    } else if secs >= 1.0 {
        format!("{secs:.1}s")
    } else if d.as_millis() >= 1 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}µs", d.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_cost_is_no_negative_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(usd(empty), "$0.000000");
        assert_eq!(usd(0.25), "$0.250000");
    }

    #[test]
    fn durations_read_like_the_python_sdk() {
        assert_eq!(human_duration(Duration::from_millis(62_300)), "1m 2.3s");
        assert_eq!(human_duration(Duration::from_millis(2_340)), "2.3s");
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_micros(12)), "12µs");
    }

    #[test]
    fn deadlines_saturate() {
        let d = deadline_after(Duration::MAX);
        assert!(d > Instant::now() + Duration::from_secs(3600));
        assert!(deadline_after(Duration::ZERO) <= Instant::now());
    }

    #[test]
    fn costs_are_rounded() {
        assert_eq!(usd(0.000_030_299_999_999_999_994), "$0.000030");
        assert_eq!(usd(1.5), "$1.500000");
    }

    #[test]
    fn civil_round_trips() {
        for days in [-1_000_000, -1, 0, 1, 59, 60, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn iso_format() {
        let t = UNIX_EPOCH + Duration::from_micros(1_715_000_000_123_456);
        assert_eq!(iso8601(t), "2024-05-06T12:53:20.123456+00:00");
        assert_eq!(iso8601_nanos(0), "1970-01-01T00:00:00.000000+00:00");
    }
}
