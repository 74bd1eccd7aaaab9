//! `ConfigError`, and the checks that make one: a setting that names itself and
//! the value it was given.

use std::fmt;
use std::time::Duration;

/// An invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting, as its environment variable or builder method name.
    pub setting: String,
    /// The offending value (redacted for secrets).
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError { setting: setting.into(), value: value.into(), reason: reason.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {} = {:?}: {}", self.setting, self.value, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// `Ok` when `ok`, else a [`ConfigError`] naming the setting and the value.
pub(crate) fn ensure(
    ok: bool,
    setting: &str,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(setting, value.to_string(), reason))
    }
}

/// The longest any duration setting may be. Every deadline the pipeline computes
/// is "now + a setting", so an unbounded setting would overflow `Instant`.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);

/// A duration setting must be within `min..=max`.
pub(crate) fn ensure_duration_in(setting: &str, d: Duration, min: Duration, max: Duration) -> Result<(), ConfigError> {
    let ok = d >= min && d <= max;
    ensure(ok, setting, format!("{d:?}"), format!("must be within {min:?}..={max:?}"))
}

/// A duration setting must be at least 1 ms and at most `max`.
pub(crate) fn ensure_duration(setting: &str, d: Duration, max: Duration) -> Result<(), ConfigError> {
    ensure_duration_in(setting, d, Duration::from_millis(1), max)
}
