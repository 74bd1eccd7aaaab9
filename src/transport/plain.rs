//! HTTP/1.1 over plain TCP, for `http://` endpoints reached without a proxy (a
//! collector on the same host or network): the request's head and its body leave
//! in one vectored write, straight from the batch's buffer. ureq copies every body
//! into its write buffer first and writes the head on its own; that copy was ≈20%
//! of the sending lanes' CPU (`perf`, protobuf, pinned). TLS and proxies stay with
//! ureq (`http.rs`), which also keeps every URL this sender does not match.
//!
//! Connections are kept alive in a small pool shared by the lanes; one the server
//! closed while it sat idle fails before any answer arrives, and the request goes
//! again on a new connection.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::NextTimeout;

use super::outcome::{classify_error, classify_status, Outcome, MAX_RESPONSE_BYTES, USER_AGENT};
use super::resolver::CachingResolver;
use super::response::{is_timeout, read_response, Answer, Failure};
use crate::util::time::deadline_after;

/// How long an idle connection is kept (ureq's default too): servers close idle
/// connections after a while, and a fresh one costs less than a failed reuse.
const IDLE_FOR: Duration = Duration::from_secs(15);
/// Idle connections kept; the lanes use one each.
const MAX_IDLE: usize = 8;

/// The sender for one origin (`http://host:port`).
#[derive(Debug)]
pub(crate) struct PlainHttp {
    /// The URL's beginning, up to its path: `http://host:port`.
    origin: String,
    /// The origin parsed, for the resolver.
    uri: ureq::http::Uri,
    connect_timeout: Duration,
    /// The client's resolver (its cache shared with the ureq agent) and the
    /// agent's configuration, which the resolver reads (IP family).
    resolver: CachingResolver,
    config: ureq::config::Config,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<(TcpStream, Instant)>>,
}

impl PlainHttp {
    /// The sender for `url`'s origin when it is `http://` (without credentials in
    /// the URL, which ureq turns into a header); `None` otherwise.
    pub fn for_url(
        url: &str,
        connect_timeout: Duration,
        resolver: CachingResolver,
        config: ureq::config::Config,
    ) -> Option<PlainHttp> {
        let parsed: ureq::http::Uri = url.parse().ok()?;
        let authority = parsed.authority().filter(|a| !a.as_str().contains('@'))?.as_str();
        let origin = format!("http://{authority}");
        // Only as written: `HTTP://…` (rare) is left to ureq.
        if parsed.scheme_str() != Some("http") || !url.starts_with(&origin) {
            return None;
        }
        let uri = origin.parse().ok()?;
        Some(PlainHttp { origin, uri, connect_timeout, resolver, config, idle: Mutex::new(Vec::new()) })
    }

    /// `host:port` as written in the URL, for the Host header.
    fn authority(&self) -> &str {
        &self.origin["http://".len()..]
    }

    /// The request target (path and query) of `url` when it is on this origin.
    pub fn target(&self, url: &str) -> Option<String> {
        let rest = url.strip_prefix(self.origin.as_str())?;
        let rest = rest.split('#').next().unwrap_or_default();
        match rest.as_bytes().first() {
            None => Some("/".to_owned()),
            Some(b'/') => Some(rest.to_owned()),
            Some(b'?') => Some(format!("/{rest}")),
            // Another port, or a longer host name.
            Some(_) => None,
        }
    }

    /// POSTs `body` to `target` once, within `timeout`.
    #[allow(clippy::too_many_arguments)]
    pub fn post(
        &self,
        url: &str,
        target: &str,
        headers: &[(String, String)],
        content_type: &str,
        content_encoding: Option<&str>,
        body: &[u8],
        timeout: Duration,
    ) -> Outcome {
        let deadline = deadline_after(timeout);
        let head = match self.head(target, headers, content_type, content_encoding, body.len()) {
            Ok(head) => head,
            Err(reason) => return Outcome::Permanent { status: None, reason },
        };
        loop {
            let (mut conn, pooled) = match self.pooled() {
                Some(conn) => (conn, true),
                None => match self.connect(deadline) {
                    Ok(conn) => (conn, false),
                    Err(outcome) => return outcome,
                },
            };
            match exchange(&mut conn, &head, body, deadline) {
                Ok(answer) => {
                    if answer.reusable {
                        self.put_back(conn);
                    }
                    let (content_type, retry_after) = (answer.content_type.as_deref(), answer.retry_after.as_deref());
                    return classify_status(answer.status, answer.body, content_type, retry_after, url);
                }
                // Closed by the server while it sat in the pool: no answer began.
                Err(Failure::Io { answered: false, .. }) if pooled => continue,
                Err(failure) => return failure.outcome(),
            }
        }
    }

    /// The request line and headers. Header names and values were checked when the
    /// configuration was built; they are checked again here because a request must
    /// never carry a CR or LF that would split it.
    fn head(
        &self,
        target: &str,
        headers: &[(String, String)],
        content_type: &str,
        content_encoding: Option<&str>,
        length: usize,
    ) -> Result<Vec<u8>, String> {
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("the URL path {target:?} has characters a request line cannot carry"));
        }
        let given = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let mut head = format!("POST {target} HTTP/1.1\r\n").into_bytes();
        let mut line = |name: &str, value: &str| {
            for part in [name, ": ", value, "\r\n"] {
                head.extend_from_slice(part.as_bytes());
            }
        };
        if !given("host") {
            line("Host", self.authority());
        }
        if !given("user-agent") {
            line("User-Agent", USER_AGENT);
        }
        line("Content-Type", content_type);
        if let Some(encoding) = content_encoding {
            line("Content-Encoding", encoding);
        }
        for (name, value) in headers {
            if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || ureq::http::HeaderValue::from_str(value).is_err()
            {
                return Err(format!("header {name:?} is not a valid HTTP header"));
            }
            if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("header {name:?} is the exporter's to set"));
            }
            line(name, value);
        }
        line("Content-Length", &length.to_string());
        head.extend_from_slice(b"\r\n");
        Ok(head)
    }

    fn pooled(&self) -> Option<TcpStream> {
        let mut idle = self.idle.lock();
        let (conn, since) = idle.pop()?;
        if since.elapsed() < IDLE_FOR {
            return Some(conn);
        }
        // The rest went idle earlier still.
        idle.clear();
        None
    }

    fn put_back(&self, conn: TcpStream) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    fn connect(&self, deadline: Instant) -> Result<TcpStream, Outcome> {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = NextTimeout {
            after: UreqDuration::Exact(left),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        let addrs = self.resolver.resolve(&self.uri, &self.config, timeout).map_err(classify_error)?;
        let mut last = None;
        for addr in addrs.iter() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(addr, left.min(self.connect_timeout)) {
                Ok(conn) => {
                    // The whole request is one write: nothing to gain from Nagle.
                    let _ = conn.set_nodelay(true);
                    return Ok(conn);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if !is_timeout(&e) => Outcome::connection_failed(format_args!("{}: {e}", self.authority())),
            _ => Outcome::timed_out(format_args!("connecting to {}", self.authority())),
        })
    }
}

/// Writes the request and reads its answer.
fn exchange(conn: &mut TcpStream, head: &[u8], body: &[u8], deadline: Instant) -> Result<Answer, Failure> {
    let mut parts = [IoSlice::new(head), IoSlice::new(body)];
    let mut parts = &mut parts[..];
    while parts.iter().any(|p| !p.is_empty()) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::TimedOut);
        }
        let written = conn.set_write_timeout(Some(left)).and_then(|()| conn.write_vectored(parts));
        match written {
            Ok(0) => {
                let error = io::Error::new(io::ErrorKind::WriteZero, "the connection took no more bytes");
                return Err(Failure::Io { error, answered: false });
            }
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(Failure::TimedOut),
            Err(error) => return Err(Failure::Io { error, answered: false }),
        }
    }
    read_response(conn, deadline, MAX_RESPONSE_BYTES)
}

impl Failure {
    fn outcome(self) -> Outcome {
        match self {
            Failure::TimedOut => Outcome::timed_out("waiting for the response"),
            Failure::Io { error, .. } => Outcome::connection_failed(error),
            Failure::Malformed(what) => Outcome::connection_failed(what),
        }
    }
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
