//! The HTTP client: one ureq agent per exporter (keep-alive, connect and global
//! timeouts), and the classification of every outcome as success, worth retrying,
//! or permanent.

use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use ureq::unversioned::transport::DefaultConnector;

use super::proxy::{proxy_for, ProxySetting};
use super::resolver::CachingResolver;
use super::retry_after::parse_retry_after;
use super::rpc_status::{describe_body, not_found_hint};
use crate::config::tls::TlsFiles;

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
        timed_out: bool,
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

/// ureq's own write buffer size, enough for small requests (metrics, credentials).
pub(crate) const SMALL_WRITE_BUFFER: usize = 128 * 1024;

/// The largest write buffer an exporter of batches asks for.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// The write buffer for requests of up to `max_request_bytes`: the whole body (and
/// its headers) in one `write` where it fits, up to 1 MiB. ureq writes a request one
/// buffer at a time, and on loopback small writes cost more kernel time per byte:
/// with its 128 KiB default a 1.1 MB request took ten `sendto`s, and a 1 MiB buffer
/// took the sending lanes from 0.104 s to 0.082 s for 100k spans (`benches/pipeline.rs`,
/// pinned). The buffer is allocated
/// and filled once per pooled connection, so it is capped rather than sized to the
/// 4 MiB request limit.
pub(crate) fn write_buffer_for(max_request_bytes: usize) -> usize {
    max_request_bytes.saturating_add(16 * 1024).clamp(SMALL_WRITE_BUFFER, MAX_WRITE_BUFFER)
}

/// A blocking HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    timeout: Duration,
}

impl HttpClient {
    /// A client for requests to `url`, through the proxy `proxy` and the
    /// environment choose for it (see `proxy.rs`), writing up to `write_buffer`
    /// bytes at a time (see [`write_buffer_for`]).
    pub fn new(timeout: Duration, url: &str, proxy: &ProxySetting, tls: &TlsFiles, write_buffer: usize) -> Self {
        let proxy = proxy_for(url, proxy, |k| std::env::var(k).ok()).and_then(|p| match ureq::Proxy::new(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                // Code's proxies are checked when the config is built, the environment's
                // by `from_env`: only a variable set after that can get here.
                log::warn!(target: "agentops", "proxy {p:?} for {url} is not usable ({e}); connecting directly");
                None
            }
        });
        // Checked when the config was built; a file changed since is logged, not fatal.
        let tls = tls.load().unwrap_or_else(|e| {
            log::warn!(target: "agentops", "TLS settings for {url}: {e}; using the public web roots");
            None
        });
        let config = ureq::Agent::config_builder()
            .tls_config(tls.map(|t| t.config()).unwrap_or_default())
            .proxy(proxy)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .max_redirects(0)
            .user_agent(concat!("agentops-rust/", env!("CARGO_PKG_VERSION")))
            .output_buffer_size(write_buffer)
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
                    timed_out: true,
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
                let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
                let content_type = header("content-type");
                let mut body = Vec::new();
                // A body we cannot read does not change what the status said.
                let _ = resp.body_mut().as_reader().take(MAX_RESPONSE_BYTES).read_to_end(&mut body);
                classify_status(status, body, content_type.as_deref(), retry_after, url)
            }
            Err(e) => classify_error(e),
        }
    }
}

fn classify_status(
    status: u16,
    body: Vec<u8>,
    content_type: Option<&str>,
    retry_after: Option<Duration>,
    url: &str,
) -> Outcome {
    if (200..=299).contains(&status) {
        return Outcome::Success(Response { body });
    }
    let mut reason = format!("HTTP {status} from {url}{}", describe_body(&body, content_type));
    match status {
        429 | 502 | 503 | 504 => Outcome::Retryable { reason, retry_after, timed_out: false },
        _ => {
            if status == 404 {
                reason.push_str(&not_found_hint(url).unwrap_or_default());
            }
            Outcome::Permanent { status: Some(status), reason }
        }
    }
}

fn classify_error(e: ureq::Error) -> Outcome {
    use ureq::Error as E;
    match e {
        E::Timeout(t) => Outcome::Retryable { reason: format!("timed out ({t})"), retry_after: None, timed_out: true },
        // rustls reports a failed handshake (a certificate that does not verify, a
        // client certificate refused) as invalid data: retrying cannot help.
        E::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
            Outcome::Permanent { status: None, reason: format!("TLS handshake failed: {io}") }
        }
        E::Io(_) | E::ConnectionFailed | E::HostNotFound | E::Protocol(_) => {
            Outcome::Retryable { reason: format!("connection failed: {e}"), retry_after: None, timed_out: false }
        }
        other => Outcome::Permanent { status: None, reason: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16) -> Outcome {
        classify_status(status, vec![], None, None, "http://h/v1/traces")
    }

    #[test]
    fn statuses_are_classified_per_the_otlp_spec() {
        for s in [200, 202, 204] {
            assert!(matches!(classify(s), Outcome::Success(_)));
        }
        for s in [429, 502, 503, 504] {
            assert!(matches!(classify(s), Outcome::Retryable { timed_out: false, .. }), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 500, 501, 301] {
            assert!(matches!(classify(s), Outcome::Permanent { status: Some(x), .. } if x == s), "{s}");
        }
    }

    #[test]
    fn a_doubled_traces_path_is_explained() {
        let out = classify_status(404, b"404 page not found".to_vec(), None, None, "http://h/v1/traces/v1/traces");
        let Outcome::Permanent { reason, .. } = out else { panic!("{out:?}") };
        assert!(reason.contains("404 page not found"), "{reason}");
        assert!(reason.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "{reason}");
    }

    #[test]
    fn write_buffer_fits_the_request_up_to_a_cap() {
        assert_eq!(write_buffer_for(1024), SMALL_WRITE_BUFFER);
        assert_eq!(write_buffer_for(300 * 1024), 316 * 1024);
        assert_eq!(write_buffer_for(4 * 1024 * 1024), MAX_WRITE_BUFFER);
        assert_eq!(write_buffer_for(usize::MAX), MAX_WRITE_BUFFER);
    }

    #[test]
    fn refused_connection_is_retryable() {
        // Bind then drop a listener: the port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/v1/traces");
        let c = HttpClient::new(
            Duration::from_secs(2),
            &url,
            &ProxySetting::Direct,
            &TlsFiles::default(),
            SMALL_WRITE_BUFFER,
        );
        let out = c.post(&url, &[], "application/json", None, b"{}", None);
        assert!(matches!(out, Outcome::Retryable { .. }), "{out:?}");
    }
}
