//! A real HTTP/1.1 server on 127.0.0.1 for integration tests, over http or https
//! (rustls, with a CA made in the test): keep-alive, records every request, answers
//! through a handler that can also inject faults (close the connection without an
//! answer, answer late, any status and headers, raw bytes, a body without end,
//! an answer in parts with pauses, or dripped a byte at a time).
#![allow(dead_code)]

#[cfg(feature = "cli")]
pub mod capture;
pub mod metrics;
pub mod semconv;
pub mod session;
pub mod tls;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// The scheme a test server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// Runs a test body once per scheme, as two tests: `name::http` and `name::https`.
#[macro_export]
macro_rules! on_both_schemes {
    ($($(#[$meta:meta])* fn $name:ident($scheme:ident: Scheme) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn run($scheme: $crate::common::Scheme) $body
            #[test]
            fn http() {
                run($crate::common::Scheme::Http)
            }
            #[test]
            fn https() {
                run($crate::common::Scheme::Https)
            }
        }
    )*};
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// 1-based number of the request on this server.
    pub n: u64,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status answered (0 when the connection was closed without an answer).
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The body, gunzipped when it was sent compressed.
    pub fn decoded_body(&self) -> Vec<u8> {
        match self.header("content-encoding") {
            Some("gzip") => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&self.body[..]).read_to_end(&mut out).expect("gzip body");
                out
            }
            _ => self.body.clone(),
        }
    }

    /// Decodes an OTLP trace request by its Content-Type.
    pub fn otlp(&self) -> ExportTraceServiceRequest {
        let body = self.decoded_body();
        match self.header("content-type") {
            Some("application/x-protobuf") => {
                ExportTraceServiceRequest::decode(&body[..]).expect("protobuf ExportTraceServiceRequest")
            }
            Some("application/json") => serde_json::from_slice(&body).expect("OTLP JSON ExportTraceServiceRequest"),
            other => panic!("unexpected content type {other:?} in {:?}", self.headers),
        }
    }
}

/// What the handler tells the server to do.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status, headers and body.
    Status(u16, Vec<(String, String)>, Vec<u8>),
    /// Close the connection without answering.
    Close,
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// Write these bytes as they are, then close.
    Raw(Vec<u8>),
    /// Write these parts as they are, this long apart, then close (a stream that
    /// arrives in pieces).
    Parts(Vec<Vec<u8>>, Duration),
    /// A 200 whose body never ends: chunks until the client goes away (or 1 GiB).
    Endless,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(200, vec![], vec![])
    }
    pub fn status(code: u16) -> Reply {
        Reply::Status(code, vec![], vec![])
    }
    /// These bytes one at a time, this long apart, then close.
    pub fn drip(bytes: &[u8], every: Duration) -> Reply {
        Reply::Parts(bytes.iter().map(|b| vec![*b]).collect(), every)
    }
    pub fn json(code: u16, v: serde_json::Value) -> Reply {
        Reply::Status(code, vec![("Content-Type".into(), "application/json".into())], serde_json::to_vec(&v).unwrap())
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A connection the server reads requests from: plain TCP or TLS over it.
trait Conn: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

struct Shared {
    requests: Mutex<Vec<Request>>,
    count: AtomicU64,
    stop: AtomicBool,
    handler: Box<Handler>,
}

pub struct TestServer {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    /// The certificates of an https server.
    pki: Option<&'static tls::Pki>,
}

impl TestServer {
    /// Starts an http server answering every request through `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        Self::start_on(0, handler)
    }

    /// Like [`start`](Self::start), on a given port (0 = any free one).
    pub fn start_on(port: u16, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        Self::start_as(Scheme::Http, port, handler)
    }

    /// A server of this scheme on `port` (0 = any free one); an https one has a
    /// certificate for 127.0.0.1 and localhost from the process's test CA ([`ca`]).
    pub fn start_as(
        scheme: Scheme,
        port: u16,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let pki = (scheme == Scheme::Https).then(tls::Pki::shared);
        let tls = pki.map(|p| p.server_config());
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            handler: Box::new(handler),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s, tls) = (s.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(conn, &s),
                    Some(config) => {
                        let Ok(tls) = rustls::ServerConnection::new(config) else { return };
                        serve(rustls::StreamOwned::new(tls, conn), &s)
                    }
                });
            }
        });
        TestServer { addr, shared, pki }
    }

    /// A server that accepts every OTLP request with 200.
    pub fn otlp() -> TestServer {
        TestServer::start(|_| Reply::ok())
    }

    /// Like [`otlp`](Self::otlp), of this scheme.
    pub fn otlp_as(scheme: Scheme) -> TestServer {
        TestServer::start_as(scheme, 0, |_| Reply::ok())
    }

    pub fn scheme(&self) -> &'static str {
        if self.pki.is_some() {
            "https"
        } else {
            "http"
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.base_url())
    }

    /// The CA an https server's certificate comes from.
    pub fn ca(&self) -> Option<std::path::PathBuf> {
        self.pki.map(|p| p.path("ca.pem"))
    }

    /// An OTLP exporter to this server's base URL (traces and metrics), trusting its CA.
    pub fn otlp_config(&self) -> agentops::OtlpExporterConfig {
        trusting(self.pki.is_some(), agentops::OtlpExporterConfig::new(self.base_url()))
    }
}

/// The CA https test servers' certificates come from (`None` for http).
pub fn ca(scheme: Scheme) -> Option<std::path::PathBuf> {
    (scheme == Scheme::Https).then(|| tls::Pki::shared().path("ca.pem"))
}

/// The base URL a server of `scheme` on `port` has.
pub fn base_url(scheme: Scheme, port: u16) -> String {
    match scheme {
        Scheme::Http => format!("http://127.0.0.1:{port}"),
        Scheme::Https => format!("https://127.0.0.1:{port}"),
    }
}

/// An OTLP exporter to `base` (traces and metrics) as a client of a `scheme` server.
pub fn otlp_for(scheme: Scheme, base: &str) -> agentops::OtlpExporterConfig {
    trusting(scheme == Scheme::Https, agentops::OtlpExporterConfig::new(base))
}

/// `otlp`, trusting the test CA when `https`.
fn trusting(https: bool, otlp: agentops::OtlpExporterConfig) -> agentops::OtlpExporterConfig {
    match https {
        true => otlp.ca_certificate(tls::Pki::shared().path("ca.pem")),
        false => otlp,
    }
}

impl TestServer {
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// Every span of every request answered 2xx to `/v1/traces`, with its resource's
    /// attributes.
    pub fn accepted_spans(&self) -> Vec<(Span, Vec<KeyValue>)> {
        let mut out = Vec::new();
        for r in self.requests_to("/v1/traces") {
            if !(200..300).contains(&r.status) {
                continue;
            }
            for rs in r.otlp().resource_spans {
                let res = rs.resource.map(|r| r.attributes).unwrap_or_default();
                for ss in rs.scope_spans {
                    for s in ss.spans {
                        out.push((s, res.clone()));
                    }
                }
            }
        }
        out
    }

    /// Waits (polling, up to a generous limit) until `pred` holds; returns whether it did.
    pub fn wait_until(&self, limit: Duration, pred: impl Fn(&TestServer) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if pred(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        pred(self)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: impl Conn, s: &Shared) {
    let _ = conn.tcp().set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked { read_chunked(&mut reader) } else { read_exactly(&mut reader, len) };
        let Some(body) = body else { return };
        let n = s.count.fetch_add(1, Ordering::SeqCst) + 1;
        let mut req = Request { n, method, path, headers, body, status: 0 };
        let mut reply = (s.handler)(&req);
        while let Reply::Delay(d, inner) = reply {
            std::thread::sleep(d);
            reply = *inner;
        }
        let w = reader.get_mut();
        match reply {
            Reply::Close => {
                s.requests.lock().unwrap().push(req);
                let _ = w.tcp().shutdown(Shutdown::Both);
                return;
            }
            Reply::Status(code, hdrs, body) => {
                req.status = code;
                s.requests.lock().unwrap().push(req);
                let mut out = format!("HTTP/1.1 {code} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in hdrs {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                if w.write_all(out.as_bytes()).and_then(|_| w.write_all(&body)).and_then(|_| w.flush()).is_err() {
                    return;
                }
            }
            Reply::Raw(bytes) => {
                req.status = status_of(&bytes);
                s.requests.lock().unwrap().push(req);
                let _ = w.write_all(&bytes).and_then(|_| w.flush());
                let _ = w.tcp().shutdown(Shutdown::Both);
                return;
            }
            Reply::Parts(parts, every) => {
                req.status = parts.first().map_or(0, |p| status_of(p));
                s.requests.lock().unwrap().push(req);
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        std::thread::sleep(every);
                    }
                    if w.write_all(part).and_then(|_| w.flush()).is_err() {
                        return;
                    }
                }
                let _ = w.tcp().shutdown(Shutdown::Both);
                return;
            }
            Reply::Endless => {
                req.status = 200;
                s.requests.lock().unwrap().push(req);
                let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if w.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..16 * 1024 {
                    if w.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
                return;
            }
            Reply::Delay(..) => unreachable!(),
        }
    }
}

fn read_exactly(reader: &mut impl Read, len: usize) -> Option<Vec<u8>> {
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok().map(|()| body)
}

/// A chunked body (`size\r\n data \r\n`, ending with a zero size).
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = read_exactly(reader, size + 2)?;
        chunk.truncate(size);
        body.extend_from_slice(&chunk);
        if size == 0 {
            return Some(body);
        }
    }
}

/// The status a raw answer's status line gives (0 when it has none).
fn status_of(bytes: &[u8]) -> u16 {
    std::str::from_utf8(bytes).ok().and_then(|t| t.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The spans of one OTLP JSON line (as the file exporter writes them), with their
/// resource's attributes.
pub fn spans_of_json_line(line: &str) -> Vec<(Span, Vec<KeyValue>)> {
    let req: ExportTraceServiceRequest = serde_json::from_str(line).expect("an OTLP JSON line");
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let res = rs.resource.map(|r| r.attributes).unwrap_or_default();
        for s in rs.scope_spans.into_iter().flat_map(|ss| ss.spans) {
            out.push((s, res.clone()));
        }
    }
    out
}

/// The string value of an attribute.
pub fn attr_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

/// The integer value of an attribute.
pub fn attr_int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    })
}

/// The float value of an attribute.
pub fn attr_f64(attrs: &[KeyValue], key: &str) -> Option<f64> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::DoubleValue(f) => Some(*f),
        _ => None,
    })
}

/// An attribute's value on a span, of whatever type.
pub fn span_value(s: &Span, key: &str) -> Option<any_value::Value> {
    s.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone()).and_then(|v| v.value)
}

/// The number of distinct (trace id, span id) pairs, duplicates allowed.
pub fn distinct_spans(spans: &[(Span, Vec<KeyValue>)]) -> usize {
    spans.iter().map(|(s, _)| (s.trace_id.clone(), s.span_id.clone())).collect::<HashSet<_>>().len()
}

/// Counts spans by (trace id, span id); panics on duplicates.
pub fn unique_span_ids(spans: &[(Span, Vec<KeyValue>)]) -> HashSet<(Vec<u8>, Vec<u8>)> {
    let mut seen = HashSet::new();
    for (s, _) in spans {
        assert!(seen.insert((s.trace_id.clone(), s.span_id.clone())), "duplicate span {}", s.name);
    }
    seen
}

/// Spans grouped by trace id.
pub fn by_trace(spans: &[(Span, Vec<KeyValue>)]) -> HashMap<Vec<u8>, Vec<Span>> {
    let mut m: HashMap<Vec<u8>, Vec<Span>> = HashMap::new();
    for (s, _) in spans {
        m.entry(s.trace_id.clone()).or_default().push(s.clone());
    }
    m
}

/// The path of an example binary of this crate, which `cargo test` builds
/// (`target/<profile>/deps/<this test>` → `target/<profile>/examples/<name>`).
pub fn example(name: &str) -> std::path::PathBuf {
    let dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built: `cargo test --all-features` builds the examples", path.display());
    path
}

/// Runs an example as its own process, exporting only to `receiver` (no file, no
/// console), with nothing of this process's environment.
pub fn run_example(name: &str, args: &[&str], receiver: &TestServer) -> std::process::Output {
    std::process::Command::new(example(name))
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())
        .env("AGENTOPS_TRACES_FILE", "off")
        .env("AGENTOPS_CONSOLE", "off")
        .args(args)
        .output()
        .unwrap()
}

/// A free loopback port with nothing listening (bound then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
