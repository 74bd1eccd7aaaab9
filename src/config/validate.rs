//! `ConfigError` and the checks settings go through, whether they come from code or
//! from the environment. The caller names the setting, so an error always names what
//! the user wrote: the environment variable, or the builder method.

use std::time::Duration;

use crate::error::config::{ensure, ensure_duration, ConfigError};

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
