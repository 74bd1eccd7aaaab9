//! The HTTP client: one ureq agent (its connection pool, TLS and proxy) per
//! destination, shared by the sending lanes, the metrics thread and the spool's
//! delivery thread. Every request, http or https, OTLP or AgentOps, goes through
//! [`HttpClient::post`], and what came back is classified in one place
//! (`outcome.rs`).

use std::io::Read;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::outcome::{classify_error, classify_status, Outcome, MAX_RESPONSE_BYTES, USER_AGENT};
use super::proxy::proxy_for;
use crate::config::proxy::ProxySetting;
use crate::config::tls::TlsFiles;
use crate::error::config::ConfigError;

/// ureq's own write buffer size, enough for small requests (metrics, credentials).
pub(crate) const SMALL_WRITE_BUFFER: usize = 128 * 1024;

/// The largest write buffer an exporter of batches asks for.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// Connections kept alive per host: one per sending lane and one for the metrics
/// thread, with room to spare.
const IDLE_CONNECTIONS_PER_HOST: usize = 8;

/// The write buffer for plain-http requests of up to `max_request_bytes`: the whole
/// body (and its headers) in one `write` where it fits, up to 1 MiB. ureq writes a
/// request one buffer at a time; with its 128 KiB default a 1.1 MB request took ten
/// `sendto`s, and a 1 MiB buffer took the sending lanes from 0.104 s to 0.082 s for
/// 100k spans (`benches/pipeline.rs`, pinned). The buffer is allocated and filled
/// once per pooled connection, so it is capped rather than sized to the 4 MiB
/// request limit. (Over https see [`ClientSettings::new`].)
pub(crate) fn write_buffer_for(max_request_bytes: usize) -> usize {
    max_request_bytes.saturating_add(16 * 1024).clamp(SMALL_WRITE_BUFFER, MAX_WRITE_BUFFER)
}

/// How requests to a destination are made; destinations with equal settings share
/// one client (one pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientSettings {
    /// One request's limit: connect, send and the whole answer.
    pub timeout: Duration,
    /// The proxy the environment or the code chose for this destination.
    pub proxy: Option<String>,
    pub tls: TlsFiles,
    pub write_buffer: usize,
}

impl ClientSettings {
    /// The settings for requests to `url` (the proxy is chosen for it: see `proxy.rs`).
    ///
    /// Over https the write buffer is ureq's 128 KiB whatever is asked: TLS sends
    /// each record (16 KiB) on its own anyway, so a larger buffer saves no write, and
    /// its copies of the body and of the records then miss the cache. 128 KiB took
    /// the sending lanes from 0.171 to 0.156 s per 100k spans against 1 MiB (pinned,
    /// protobuf, 8 alternating runs; 64 KiB 0.159, 16 KiB 0.215).
    pub fn new(timeout: Duration, url: &str, proxy: &ProxySetting, tls: &TlsFiles, write_buffer: usize) -> Self {
        let proxy = proxy_for(url, proxy, |k| std::env::var(k).ok());
        let https = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let write_buffer = if https { write_buffer.min(SMALL_WRITE_BUFFER) } else { write_buffer };
        ClientSettings { timeout, proxy, tls: tls.clone(), write_buffer }
    }
}

/// The clients one pipeline made, by their settings: the same destination in every
/// lane, the metrics thread and the spool gets the same client.
#[derive(Debug, Default)]
pub(crate) struct Transports {
    clients: Mutex<Vec<(ClientSettings, HttpClient)>>,
}

impl Transports {
    /// The client for these settings, made on first use.
    ///
    /// # Errors
    /// A [`ConfigError`] when the TLS files no longer load (they were checked when
    /// the configuration was built, and are read again here).
    pub fn client(&self, settings: ClientSettings) -> Result<HttpClient, ConfigError> {
        let mut clients = self.clients.lock();
        if let Some((_, c)) = clients.iter().find(|(s, _)| *s == settings) {
            return Ok(c.clone());
        }
        let client = HttpClient::new(&settings)?;
        clients.push((settings, client.clone()));
        Ok(client)
    }
}

/// A blocking HTTP client (cheap to clone: clones share the pool).
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    timeout: Duration,
}

impl HttpClient {
    /// A client with its own pool.
    ///
    /// # Errors
    /// As [`Transports::client`].
    pub fn new(settings: &ClientSettings) -> Result<Self, ConfigError> {
        let timeout = settings.timeout;
        let proxy = settings.proxy.as_deref().and_then(|p| match ureq::Proxy::new(p) {
            Ok(p) => Some(p),
            Err(e) => {
                // Code's proxies are checked when the config is built, the environment's
                // by `from_env`: only a variable set after that can get here.
                let p = crate::util::redact::url(p);
                log::warn!(target: "agentops", "proxy {p:?} is not usable ({e}); connecting directly");
                None
            }
        });
        let tls = settings.tls.load()?;
        let config = ureq::Agent::config_builder()
            .tls_config(tls.ureq_config())
            .proxy(proxy)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            // A redirect is answered as what it is (a failure naming `Location`): ureq
            // would follow a 301/302/303 as a GET, without the body.
            .max_redirects(0)
            .max_idle_connections_per_host(IDLE_CONNECTIONS_PER_HOST)
            .user_agent(USER_AGENT)
            .output_buffer_size(settings.write_buffer)
            .build();
        Ok(HttpClient { agent: ureq::Agent::new_with_config(config), timeout })
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
                return Outcome::timed_out("the deadline was reached before the request was sent");
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
                let (retry_after, content_type, location) =
                    (header("retry-after"), header("content-type"), header("location"));
                let mut body = Vec::new();
                // The status line arrived, so the request did too: what the status says
                // stands even when the body is cut short, too long or too slow (the
                // read ends at the cap or the request's timeout).
                let _ = resp.body_mut().as_reader().take(MAX_RESPONSE_BYTES as u64).read_to_end(&mut body);
                let answer = super::outcome::Answer {
                    content_type: content_type.as_deref(),
                    retry_after: retry_after.as_deref(),
                    location: location.as_deref(),
                };
                classify_status(status, body, answer, url)
            }
            Err(e) => classify_error(e, url),
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
    fn https_keeps_the_small_write_buffer() {
        let big = write_buffer_for(4 * 1024 * 1024);
        let s =
            |url| ClientSettings::new(Duration::from_secs(1), url, &ProxySetting::Direct, &TlsFiles::default(), big);
        assert_eq!(s("http://h:4318/v1/traces").write_buffer, MAX_WRITE_BUFFER);
        assert_eq!(s("HTTPS://h/v1/traces").write_buffer, SMALL_WRITE_BUFFER);
    }

    fn settings(url: &str) -> ClientSettings {
        ClientSettings::new(
            Duration::from_secs(2),
            url,
            &ProxySetting::Direct,
            &TlsFiles::default(),
            SMALL_WRITE_BUFFER,
        )
    }

    #[test]
    fn refused_connection_is_retryable() {
        // Bind then drop a listener: the port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/v1/traces");
        let out = HttpClient::new(&settings(&url)).unwrap().post(&url, &[], "application/json", None, b"{}", None);
        assert!(matches!(out, Outcome::Retryable { .. }), "{out:?}");
    }

    #[test]
    fn equal_settings_share_one_client_and_others_get_their_own() {
        let t = Transports::default();
        let a = t.client(settings("http://127.0.0.1:1/v1/traces")).unwrap();
        let b = t.client(settings("http://127.0.0.1:1/v1/metrics")).unwrap();
        let mut other = settings("http://127.0.0.1:1/v1/traces");
        other.timeout = Duration::from_secs(3);
        let c = t.client(other).unwrap();
        assert_eq!(t.clients.lock().len(), 2);
        assert_eq!(
            (a.timeout, b.timeout, c.timeout),
            (Duration::from_secs(2), Duration::from_secs(2), Duration::from_secs(3))
        );
    }
}
