//! `RetryPolicy`: exponential backoff with full jitter, bounded by attempts and by the
//! time spent on one batch, honouring `Retry-After` up to a cap.

use std::time::{Duration, SystemTime};

use super::time::days_from_civil;
use crate::config::{ensure, ensure_duration, ConfigError};

/// How failed exports are retried. Only transient outcomes are retried (429, 502,
/// 503, 504, connection failures, timeouts); see the README's delivery guarantees.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1 = never retry). Default 6.
    pub max_attempts: u32,
    /// Backoff before the first retry. Default 100 ms.
    pub initial_backoff: Duration,
    /// Growth of the backoff per retry. Default 2.
    pub multiplier: f64,
    /// Largest backoff. Default 5 s.
    pub max_backoff: Duration,
    /// Longest time spent on one request, waits included; no retry starts after it.
    /// Default 30 s (env `OTEL_BSP_EXPORT_TIMEOUT`).
    pub max_elapsed: Duration,
    /// Largest `Retry-After` honoured; a longer one is cut to this. Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let (attempts, m) = (self.max_attempts, self.multiplier);
        ensure((1..=100).contains(&attempts), "retry.max_attempts", attempts, "must be within 1..=100")?;
        ensure((1.0..=100.0).contains(&m), "retry.multiplier", m, "must be within 1..=100")?;
        let ok = self.max_backoff >= self.initial_backoff;
        ensure(ok, "retry.max_backoff", format!("{:?}", self.max_backoff), "must be at least retry.initial_backoff")?;
        ensure_duration("OTEL_BSP_EXPORT_TIMEOUT", self.max_elapsed, Duration::from_secs(3600))
    }

    /// The wait before retry number `retry` (1-based): a uniformly random duration in
    /// `[0, min(max_backoff, initial × multiplier^(retry-1))]` ("full jitter", which
    /// spreads many clients that failed together), unless the server asked for a
    /// specific wait with `Retry-After`, which is honoured up to `max_retry_after`.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>, unit_random: f64) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let exp = self.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
        let ceiling = (self.initial_backoff.as_secs_f64() * exp).min(self.max_backoff.as_secs_f64());
        // Keep at least a millisecond so a zero draw cannot turn into a busy loop.
        Duration::from_secs_f64((ceiling * unit_random.clamp(0.0, 1.0)).max(0.001))
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate only (`Sun, 06 Nov 1994 08:49:37 GMT`): the one form senders must use.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let rest = s.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    if days < 0 {
        return None;
    }
    let secs = days as u64 * 86_400 + h * 3600 + m * 60 + sec;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, None, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(4, None, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(30, None, 1.0), Duration::from_secs(5));
        assert_eq!(p.backoff(3, None, 0.5), Duration::from_millis(200));
        assert_eq!(p.backoff(3, None, 0.0), Duration::from_millis(1));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, Some(Duration::from_secs(2)), 0.3), Duration::from_secs(2));
        assert_eq!(p.backoff(1, Some(Duration::from_secs(3600)), 0.3), Duration::from_secs(30));
    }

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
    fn invalid_policies_are_rejected() {
        let bad = [
            RetryPolicy { max_attempts: 0, ..Default::default() },
            RetryPolicy { multiplier: 0.5, ..Default::default() },
            RetryPolicy { multiplier: f64::NAN, ..Default::default() },
            RetryPolicy { max_backoff: Duration::from_millis(1), ..Default::default() },
            RetryPolicy { max_elapsed: Duration::ZERO, ..Default::default() },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
        assert!(RetryPolicy::default().validate().is_ok());
    }
}
