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
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

use super::outcome::{classify_status, Outcome, MAX_RESPONSE_BYTES, USER_AGENT};
use super::response::{read_response, Answer, Failure};
use super::retry_after::parse_retry_after;
use crate::util::time::deadline_after;

/// How long an idle connection is kept (ureq's default too): servers close idle
/// connections after a while, and a fresh one costs less than a failed reuse.
const IDLE_FOR: Duration = Duration::from_secs(15);
/// Idle connections kept; the lanes use one each.
const MAX_IDLE: usize = 8;
/// How long a resolved address is reused.
const DNS_TTL: Duration = Duration::from_secs(30);

/// The sender for one origin (`http://host:port`).
#[derive(Debug)]
pub(crate) struct PlainHttp {
    /// The URL's beginning, up to its path: `http://host:port`.
    origin: String,
    /// `host:port` as written in the URL, for the Host header.
    authority: String,
    host: String,
    port: u16,
    connect_timeout: Duration,
    addrs: Mutex<Option<(Instant, Vec<SocketAddr>)>>,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<(TcpStream, Instant)>>,
}

impl PlainHttp {
    /// The sender for `url`'s origin when it is `http://` (without credentials in
    /// the URL, which ureq turns into a header); `None` otherwise.
    pub fn for_url(url: &str, connect_timeout: Duration) -> Option<PlainHttp> {
        let rest = url.strip_prefix("http://")?;
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority.contains('@') {
            return None;
        }
        let (host, port) = split_host_port(authority)?;
        Some(PlainHttp {
            origin: format!("http://{authority}"),
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            connect_timeout,
            addrs: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
        })
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
                    let retry_after = answer.retry_after.and_then(|v| parse_retry_after(&v, SystemTime::now()));
                    return classify_status(
                        answer.status,
                        answer.body,
                        answer.content_type.as_deref(),
                        retry_after,
                        url,
                    );
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
        let mut head = Vec::with_capacity(256);
        let mut line = |name: &str, value: &str| {
            for part in [name, ": ", value, "\r\n"] {
                head.extend_from_slice(part.as_bytes());
            }
        };
        if !given("host") {
            line("Host", &self.authority);
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
        let mut request = format!("POST {target} HTTP/1.1\r\n").into_bytes();
        request.extend_from_slice(&head);
        request.extend_from_slice(b"\r\n");
        Ok(request)
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
        let mut last = None;
        for addr in self.resolve(deadline)? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(&addr, left.min(self.connect_timeout)) {
                Ok(conn) => {
                    // The whole request is one write: nothing to gain from Nagle.
                    let _ = conn.set_nodelay(true);
                    return Ok(conn);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if !is_timeout(&e) => Outcome::Retryable {
                reason: format!("connection failed: {}: {e}", self.authority),
                retry_after: None,
                timed_out: false,
            },
            _ => timed_out(format!("connecting to {}", self.authority)),
        })
    }

    /// The host's addresses: an IP address as is, a name looked up on a thread of
    /// its own so that the deadline holds however slow the resolver is (as ureq
    /// does), and kept for a while.
    fn resolve(&self, deadline: Instant) -> Result<Vec<SocketAddr>, Outcome> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        if let Some((at, addrs)) = &*self.addrs.lock() {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let name = (self.host.clone(), self.port);
        let lookup = move || {
            let _ = tx.send(name.to_socket_addrs().map(Vec::from_iter));
        };
        if let Err(e) = std::thread::Builder::new().name("agentops-dns".into()).spawn(lookup) {
            return Err(Outcome::Retryable {
                reason: format!("DNS lookup thread: {e}"),
                retry_after: None,
                timed_out: false,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(addrs)) if !addrs.is_empty() => {
                *self.addrs.lock() = Some((Instant::now(), addrs.clone()));
                Ok(addrs)
            }
            Ok(found) => Err(Outcome::Retryable {
                reason: format!(
                    "connection failed: host {} not found{}",
                    self.host,
                    found.err().map(|e| format!(": {e}")).unwrap_or_default()
                ),
                retry_after: None,
                timed_out: false,
            }),
            Err(_) => Err(timed_out(format!("looking up {}", self.host))),
        }
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
            Failure::TimedOut => timed_out("waiting for the response".into()),
            Failure::Io { error, .. } => Outcome::Retryable {
                reason: format!("connection failed: {error}"),
                retry_after: None,
                timed_out: false,
            },
            Failure::Malformed(what) => {
                Outcome::Retryable { reason: format!("connection failed: {what}"), retry_after: None, timed_out: false }
            }
        }
    }
}

fn timed_out(what: String) -> Outcome {
    Outcome::Retryable { reason: format!("timed out {what}"), retry_after: None, timed_out: true }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// `host:port`, `host` (port 80), `[v6]:port` or `[v6]`.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
