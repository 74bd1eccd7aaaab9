//! `RetryPolicy`: exponential backoff with full jitter, bounded by attempts and by the
//! time spent on one request, honouring `Retry-After` up to a cap.

use std::time::Duration;

use crate::error::config::{ensure, ensure_duration, ensure_duration_in, ConfigError, MAX_DURATION};

/// How failed exports are retried. Only transient outcomes are retried (429, 502,
/// 503, 504, connection failures, timeouts); see the crate docs' delivery
/// guarantees. Start from [`RetryPolicy::default`] (or [`RetryPolicy::none`]) and
/// change what you need with the setters of the same names as the fields. Every
/// duration is at most an hour, so no wait can overflow the clock.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[must_use]
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
    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
    /// Sets [`initial_backoff`](Self::initial_backoff).
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }
    /// Sets [`multiplier`](Self::multiplier).
    pub fn multiplier(mut self, m: f64) -> Self {
        self.multiplier = m;
        self
    }
    /// Sets [`max_backoff`](Self::max_backoff).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Sets [`max_elapsed`](Self::max_elapsed).
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }
    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let (attempts, m) = (self.max_attempts, self.multiplier);
        ensure((1..=100).contains(&attempts), "RetryPolicy::max_attempts", attempts, "must be within 1..=100")?;
        ensure((1.0..=100.0).contains(&m), "RetryPolicy::multiplier", m, "must be within 1..=100")?;
        ensure_duration("RetryPolicy::initial_backoff", self.initial_backoff, MAX_DURATION)?;
        let (min, max) = (self.initial_backoff, MAX_DURATION);
        ensure_duration_in("RetryPolicy::max_backoff", self.max_backoff, min, max)?;
        ensure_duration_in("RetryPolicy::max_retry_after", self.max_retry_after, Duration::ZERO, max)?;
        ensure_duration("RetryPolicy::max_elapsed", self.max_elapsed, MAX_DURATION)
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
        // Keep at least a millisecond so a zero draw cannot turn into a busy loop; a
        // policy that skipped validation still gets a representable wait.
        let secs = (ceiling * unit_random.clamp(0.0, 1.0)).max(0.001);
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_backoff).min(MAX_DURATION)
    }
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
        assert_eq!(p.backoff(1, Some(Duration::MAX), 0.3), Duration::from_secs(30));
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let d = RetryPolicy::default;
        let bad = [
            (d().max_attempts(0), "RetryPolicy::max_attempts"),
            (d().multiplier(0.5), "RetryPolicy::multiplier"),
            (d().multiplier(f64::NAN), "RetryPolicy::multiplier"),
            (d().max_backoff(Duration::from_millis(1)), "RetryPolicy::max_backoff"),
            (d().max_elapsed(Duration::ZERO), "RetryPolicy::max_elapsed"),
            // Unbounded durations would overflow `Instant + wait` on the sending thread.
            (d().max_retry_after(Duration::MAX), "RetryPolicy::max_retry_after"),
            (d().initial_backoff(Duration::MAX).max_backoff(Duration::MAX), "RetryPolicy::initial_backoff"),
            (d().max_backoff(Duration::from_secs(u64::MAX)), "RetryPolicy::max_backoff"),
            (d().max_elapsed(Duration::MAX), "RetryPolicy::max_elapsed"),
        ];
        for (p, setting) in bad {
            let err = p.validate().expect_err(&format!("{p:?}"));
            assert_eq!(err.setting, setting);
        }
        assert!(RetryPolicy::default().validate().is_ok());
        assert!(RetryPolicy::none().validate().is_ok());
    }
}
