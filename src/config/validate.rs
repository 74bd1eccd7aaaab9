//! `ConfigError` and the checks settings go through, whether they come from code or
//! from the environment. The caller names the setting, so an error always names what
//! the user wrote: the environment variable, or the builder method.

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

/// The timeout of one HTTP request.
pub(crate) fn validate_timeout(setting: &str, d: Duration) -> Result<(), ConfigError> {
    ensure_duration(setting, d, Duration::from_secs(600))
}

/// Checks that `url` is an absolute http(s) URL with a host.
pub(crate) fn validate_url(setting: &str, url: &str) -> Result<(), ConfigError> {
    // The value is echoed without its userinfo (a password, a token).
    let bad = |why: String| ConfigError::new(setting, crate::util::redact::url(url), why);
    let uri: ureq::http::Uri = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(bad("must start with http:// or https://".into())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host".into()));
    }
    // The URL parser drops a port it cannot read as a u16, and the request would go
    // to the scheme's default port instead: read the authority's own text.
    let authority = uri.authority().map_or("", |a| a.as_str());
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map(|(_, p)| p),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p >= 1) {
            return Err(bad(format!("port {port} is not within 1–65535")));
        }
    }
    Ok(())
}

/// Headers the HTTP client writes itself: one set by configuration would contradict
/// it (and fail every request).
const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "content-type",
    "content-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Checks an HTTP header name and value.
pub(crate) fn validate_header(setting: &str, name: &str, value: &str) -> Result<(), ConfigError> {
    // Neither a value nor a name that is not one is echoed: either may be a token.
    ureq::http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::new(setting, "<redacted>", "not a valid HTTP header name"))?;
    if TRANSPORT_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        let why = "is set by the HTTP client itself for each request; it cannot be configured";
        return Err(ConfigError::new(setting, name, why));
    }
    ureq::http::HeaderValue::from_str(value)
        .map_err(|_| ConfigError::new(setting, format!("{name}=…"), "header value has characters HTTP forbids"))?;
    Ok(())
}

/// A sampling ratio must be within 0..=1.
pub(crate) fn validate_ratio(setting: &str, ratio: f64) -> Result<(), ConfigError> {
    ensure((0.0..=1.0).contains(&ratio), setting, ratio, "must be within 0..=1")
}

/// The longest string value must leave room for the truncation marker.
pub(crate) fn validate_max_value_len(setting: &str, len: usize) -> Result<(), ConfigError> {
    ensure(len >= 16, setting, len, "must be at least 16")
}
