//! The HTTP client, one per exporter: plain `http://` to its own origin without a
//! proxy through the crate's sender (`plain.rs`), everything else through a ureq
//! agent (TLS, proxies, keep-alive, connect and global timeouts). Both resolve
//! names through one cache (`resolver.rs`) and classify what came back alike
//! (`outcome.rs`).

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::unversioned::transport::DefaultConnector;

use super::outcome::{classify_error, classify_status, Outcome, MAX_RESPONSE_BYTES, USER_AGENT};
use super::plain::PlainHttp;
use super::proxy::{proxy_for, ProxySetting};
use super::resolver::CachingResolver;
use crate::config::tls::TlsFiles;

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

/// A blocking HTTP client: plain `http://` to the client's own origin, without a
/// proxy, goes through [`PlainHttp`] (one write per request, no copy of the body);
/// everything else through ureq.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    plain: Option<Arc<PlainHttp>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client for requests to `url`, through the proxy `proxy` and the
    /// environment choose for it (see `proxy.rs`), writing up to `write_buffer`
    /// bytes at a time (see [`write_buffer_for`]).
    pub fn new(timeout: Duration, url: &str, proxy: &ProxySetting, tls: &TlsFiles, write_buffer: usize) -> Self {
        let proxy = proxy_for(url, proxy, |k| std::env::var(k).ok());
        let (direct, connect_timeout) = (proxy.is_none(), timeout.min(Duration::from_secs(5)));
        let proxy = proxy.and_then(|p| match ureq::Proxy::new(&p) {
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
            .timeout_connect(Some(connect_timeout))
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .output_buffer_size(write_buffer)
            .build();
        let resolver = CachingResolver::default();
        let plain = direct
            .then(|| PlainHttp::for_url(url, connect_timeout, resolver.clone(), config.clone()))
            .flatten()
            .map(Arc::new);
        HttpClient { agent: ureq::Agent::with_parts(config, DefaultConnector::new(), resolver), plain, timeout }
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
        if let Some((plain, target)) = self.plain.as_ref().and_then(|p| Some((p, p.target(url)?))) {
            return plain.post(url, &target, headers, content_type, content_encoding, body, timeout);
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
                let (retry_after, content_type) = (header("retry-after"), header("content-type"));
                let mut body = Vec::new();
                // A body we cannot read does not change what the status said.
                let _ = resp.body_mut().as_reader().take(MAX_RESPONSE_BYTES as u64).read_to_end(&mut body);
                classify_status(status, body, content_type.as_deref(), retry_after.as_deref(), url)
            }
            Err(e) => classify_error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
