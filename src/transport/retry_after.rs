//! `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date, parsed without
//! any chance of overflow.

use std::time::{Duration, SystemTime};

use crate::util::time::days_from_civil;

/// Parses a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now"; a value out of any sensible range is ignored
/// (the policy's own backoff applies).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate only (`Sun, 06 Nov 1994 08:49:37 GMT`): the one form senders must
/// use. Years outside 1970..=9999 are rejected, which also keeps the arithmetic
/// below far from overflow.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let rest = s.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    let valid = (1970..=9999).contains(&year) && (1..=31).contains(&day) && h <= 23 && m <= 59 && sec <= 60;
    if parts.next()? != "GMT" || !valid {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day as i64)).ok()?;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770); // 1994-11-06 08:49:30
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn absurd_retry_after_values_do_not_panic() {
        let now = SystemTime::now();
        for v in [
            "Sun, 06 Nov 99999999999999 08:49:37 GMT",
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 06 Nov 0 08:49:37 GMT",
            "Sun, 31 Dec 10000 23:59:60 GMT",
        ] {
            assert_eq!(parse_retry_after(v, now), None, "{v}");
        }
        assert!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).is_some());
        assert_eq!(parse_retry_after("18446744073709551615", now), Some(Duration::from_secs(u64::MAX)));
        // Found by the `responses` fuzz target: any length parses, and the policy caps the wait.
        let huge = parse_retry_after("016001601600160", now);
        assert_eq!(huge, Some(Duration::from_secs(16_001_601_600_160)));
        let policy = crate::export::retry::RetryPolicy::default();
        assert_eq!(policy.backoff(1, huge, 0.5), policy.max_retry_after);
        assert_eq!(parse_retry_after("18446744073709551616", now), None);
    }
}
