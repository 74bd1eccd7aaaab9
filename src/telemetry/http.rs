//! The HTTP client: one ureq agent per exporter (keep-alive, connect and global
//! timeouts), the classification of every outcome, and the retry loop.

use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::exporters::{ExportContext, ExportError, ExportErrorKind};
use super::retry::parse_retry_after;

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct Response {
    pub body: Vec<u8>,
}

/// What one HTTP attempt came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    Success(Response),
    /// Worth another try: 429, 502, 503, 504, connection failure, timeout, a connection
    /// dropped before the response.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying would not help: any other status, a bad URL, a TLS failure.
    Permanent {
        status: Option<u16>,
        reason: String,
    },
}

/// Largest response body read; OTLP answers are tiny and a misbehaving server must
/// not make us buffer megabytes.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// How long a resolved address is reused.
const DNS_TTL: Duration = Duration::from_secs(30);

/// ureq resolves the host on every request, even over a pooled connection, and
/// with a timeout set its default resolver spawns a thread per lookup: a thread per
/// export. This keeps each answer for a while (failures are not kept).
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        if let Some((at, addrs)) = self.cache.lock().get(&key) {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.cache.lock().insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// A blocking HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .max_redirects(0)
            .user_agent(concat!("agentops-rust/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpClient {
            agent: ureq::Agent::with_parts(config, DefaultConnector::new(), CachingResolver::default()),
            timeout,
        }
    }

    /// POSTs `body` once. The request's timeout is the client's, or less when the
    /// `deadline` comes sooner.
    pub fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        content_type: &str,
        content_encoding: Option<&str>,
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Outcome {
        let mut timeout = self.timeout;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Outcome::Retryable {
                    reason: "deadline reached before the request was sent".into(),
                    retry_after: None,
                };
            }
            timeout = timeout.min(left);
        }
        let mut req =
            self.agent.post(url).header("Content-Type", content_type).config().timeout_global(Some(timeout)).build();
        if let Some(encoding) = content_encoding {
            req = req.header("Content-Encoding", encoding);
        }
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send(body) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let mut body = Vec::new();
                // A body we cannot read does not change what the status said.
                let _ = resp.body_mut().as_reader().take(MAX_RESPONSE_BYTES).read_to_end(&mut body);
                classify_status(status, body, retry_after)
            }
            Err(e) => classify_error(e),
        }
    }
}

fn classify_status(status: u16, body: Vec<u8>, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => Outcome::Success(Response { body }),
        429 | 502 | 503 | 504 => {
            Outcome::Retryable { reason: format!("HTTP {status}{}", body_excerpt(&body)), retry_after }
        }
        _ => Outcome::Permanent { status: Some(status), reason: format!("HTTP {status}{}", body_excerpt(&body)) },
    }
}

fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn classify_error(e: ureq::Error) -> Outcome {
    use ureq::Error as E;
    match e {
        E::Timeout(t) => Outcome::Retryable { reason: format!("timed out ({t})"), retry_after: None },
        E::Io(_) | E::ConnectionFailed | E::HostNotFound | E::Protocol(_) => {
            Outcome::Retryable { reason: format!("connection failed: {e}"), retry_after: None }
        }
        other => Outcome::Permanent { status: None, reason: other.to_string() },
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or the retry budget (attempts,
/// elapsed time, shutdown deadline) runs out. Waits between attempts end early when
/// a shutdown deadline comes. Returns the successful response.
pub(crate) fn send_with_retry(
    cx: &ExportContext<'_>,
    mut attempt: impl FnMut(Option<Instant>) -> Outcome,
) -> Result<Response, ExportError> {
    let policy = cx.retry_policy();
    let started = Instant::now();
    let budget_end = started + policy.max_elapsed;
    let mut tries = 0u32;
    loop {
        tries += 1;
        let deadline = cx.deadline().map_or(budget_end, |d| d.min(budget_end));
        let (reason, retry_after) = match attempt(Some(deadline)) {
            Outcome::Success(r) => return Ok(r),
            Outcome::Permanent { status, reason } => {
                return Err(ExportError::new(
                    match status {
                        Some(s) => ExportErrorKind::Rejected { status: s },
                        None => ExportErrorKind::Failed,
                    },
                    reason,
                ))
            }
            Outcome::Retryable { reason, retry_after } => (reason, retry_after),
        };
        if tries >= policy.max_attempts {
            return Err(ExportError::new(
                ExportErrorKind::Failed,
                format!("{reason} (gave up after {tries} attempts)"),
            ));
        }
        let wait = policy.backoff(tries, retry_after, cx.random_unit());
        if Instant::now() + wait >= budget_end {
            return Err(ExportError::new(
                ExportErrorKind::Failed,
                format!(
                    "{reason} (gave up after {tries} attempts: the retry budget of {:?} ran out)",
                    policy.max_elapsed
                ),
            ));
        }
        cx.count_retry();
        if !cx.sleep(wait) {
            return Err(ExportError::new(
                ExportErrorKind::Cancelled,
                format!("{reason} (not retried: shutdown deadline reached)"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_per_the_otlp_spec() {
        for s in [200, 202, 204] {
            assert!(matches!(classify_status(s, vec![], None), Outcome::Success(_)));
        }
        for s in [429, 502, 503, 504] {
            assert!(matches!(classify_status(s, vec![], None), Outcome::Retryable { .. }), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 500, 501, 301] {
            assert!(
                matches!(classify_status(s, vec![], None), Outcome::Permanent { status: Some(x), .. } if x == s),
                "{s}"
            );
        }
    }

    #[test]
    fn refused_connection_is_retryable() {
        // Bind then drop a listener: the port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = HttpClient::new(Duration::from_secs(2));
        let out = c.post(&format!("http://127.0.0.1:{port}/v1/traces"), &[], "application/json", None, b"{}", None);
        assert!(matches!(out, Outcome::Retryable { .. }), "{out:?}");
    }
}
