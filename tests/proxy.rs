//! Delivery through a forward proxy written here (CONNECT tunnels and
//! absolute-form requests, counted), to http and https endpoints: a proxy set in code, the proxy variables of
//! the environment, and `NO_PROXY` sending the endpoint direct. One test: it sets
//! this process's environment.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, OtelConfig, OtlpExporterConfig};
use common::{Scheme, TestServer};

/// What the proxy saw: CONNECT tunnels opened and absolute-form requests relayed.
#[derive(Default)]
struct Seen {
    tunnels: AtomicU64,
    relayed: AtomicU64,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// A forward proxy on 127.0.0.1; returns its URL.
fn proxy(seen: Arc<Seen>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                let first = head.lines().next().unwrap_or_default().to_owned();
                let mut parts = first.split_whitespace();
                let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                if method == "CONNECT" {
                    seen.tunnels.fetch_add(1, Ordering::SeqCst);
                    let Ok(upstream) = TcpStream::connect(target) else { return };
                    let mut c = client;
                    c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                    pipe(upstream.try_clone().unwrap(), c.try_clone().unwrap());
                    // What the reader already buffered belongs to the tunnel too.
                    let mut up = upstream;
                    let _ = up.write_all(reader.buffer());
                    let mut rest = reader.into_inner();
                    let _ = std::io::copy(&mut rest, &mut up);
                } else if let Some(rest) = target.strip_prefix("http://") {
                    // Absolute form: forward with the path only, then relay the answer.
                    seen.relayed.fetch_add(1, Ordering::SeqCst);
                    let (authority, path) =
                        rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
                    let Ok(mut upstream) = TcpStream::connect(authority) else { return };
                    let head = head.replacen(target, &path, 1);
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    upstream.write_all(head.as_bytes()).unwrap();
                    upstream.write_all(&body).unwrap();
                    let _ = std::io::copy(&mut upstream, &mut reader.into_inner());
                }
            });
        }
    });
    url
}

fn send_one(otlp: OtlpExporterConfig) -> Client {
    let client = Client::new(OtelConfig::builder().otlp(otlp).enable_metrics(false).build().unwrap()).unwrap();
    let s = client.start_session(&["proxied"]);
    s.record(LlmEvent::new("m"));
    s.end(EndState::Success, "");
    client.shutdown(Duration::from_secs(30)).unwrap();
    client
}

#[test]
fn spans_go_through_the_proxy_unless_no_proxy_names_the_endpoint() {
    let seen = Arc::new(Seen::default());
    let proxy_url = proxy(seen.clone());

    // The proxy's absolute form works (what plain-HTTP clients without CONNECT send).
    let server = TestServer::otlp();
    let mut raw = TcpStream::connect(proxy_url.trim_start_matches("http://")).unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
        server.traces_url()
    );
    raw.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new(); // the status line: the server keeps the connection open
    BufReader::new(raw).read_line(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(seen.relayed.load(Ordering::SeqCst), 1);

    // A proxy set in code: the spans arrive through a CONNECT tunnel.
    let server = TestServer::otlp();
    let client = send_one(OtlpExporterConfig::traces_url(server.traces_url()).proxy(&proxy_url));
    assert_eq!(server.accepted_spans().len(), 2);
    assert_eq!(client.stats().spans_dropped(), 0);
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 1, "one kept-alive tunnel");

    // The environment's proxy, as curl reads it for an http:// endpoint.
    std::env::set_var("http_proxy", &proxy_url);
    let server = TestServer::otlp();
    send_one(OtlpExporterConfig::traces_url(server.traces_url()));
    assert_eq!(server.accepted_spans().len(), 2);
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 2);

    // https through the proxy: TLS inside a CONNECT tunnel, set in code and by
    // `HTTPS_PROXY` (which an https endpoint reads, not `http_proxy`).
    let server = TestServer::otlp_as(Scheme::Https);
    let https = || OtlpExporterConfig::traces_url(server.traces_url()).ca_certificate(server.ca().unwrap());
    let client = send_one(https().proxy(&proxy_url));
    assert_eq!((server.accepted_spans().len(), client.stats().spans_dropped()), (2, 0));
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 3);
    std::env::set_var("HTTPS_PROXY", &proxy_url);
    send_one(https());
    assert_eq!(server.accepted_spans().len(), 4);
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 4);
    std::env::remove_var("HTTPS_PROXY");

    // NO_PROXY names the endpoint's host: direct, for the environment's proxy and code's.
    std::env::set_var("NO_PROXY", "localhost,127.0.0.1");
    let server = TestServer::otlp();
    send_one(OtlpExporterConfig::traces_url(server.traces_url()));
    send_one(OtlpExporterConfig::traces_url(server.traces_url()).proxy(&proxy_url));
    assert_eq!(server.accepted_spans().len(), 4);
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 4, "no tunnel: NO_PROXY matched");
    // `no_proxy()` in code: direct whatever the variables say.
    std::env::remove_var("NO_PROXY");
    send_one(OtlpExporterConfig::traces_url(server.traces_url()).no_proxy());
    assert_eq!(seen.tunnels.load(Ordering::SeqCst), 4);
    std::env::remove_var("http_proxy");

    // A proxy URL that is none is a config error naming the setting.
    let err = OtelConfig::builder()
        .otlp(OtlpExporterConfig::traces_url(server.traces_url()).proxy("::"))
        .build()
        .unwrap_err();
    assert_eq!(err.setting, "OtlpExporterConfig::proxy");
    let err =
        agentops::OtelConfigBuilder::from_lookup(|k| (k == "HTTPS_PROXY").then(|| "::".to_owned())).err().unwrap();
    assert_eq!(err.setting, "HTTPS_PROXY");
}
