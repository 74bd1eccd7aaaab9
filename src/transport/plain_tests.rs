//! The plain-HTTP sender against scripted servers on real sockets: what goes out,
//! byte for byte, and every way an answer can be framed, late, cut or wrong.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use super::*;
use crate::transport::resolver::CachingResolver;

/// One request as the server read it: the head's lines and the body.
#[derive(Debug)]
struct Received {
    lines: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches("\r\n").to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let length = lines
        .iter()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.parse::<usize>().expect("a length"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received { lines, body })
}

/// A server that takes one connection per entry of `script`, in turn, and on each
/// answers the requests with the listed raw responses (`"HANG"`: wait 1.5 s, then
/// close without answering), closing it after the last; it returns what it
/// received, per connection.
fn server(script: Vec<Vec<&'static str>>) -> (String, JoinHandle<Vec<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for answers in script {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut writer = conn;
            let mut got = Vec::new();
            for answer in answers {
                let Some(req) = read_request(&mut reader) else { break };
                got.push(req);
                if answer == "HANG" {
                    std::thread::sleep(Duration::from_millis(1500));
                    break;
                }
                writer.write_all(answer.as_bytes()).unwrap();
            }
            seen.push(got);
        }
        seen
    });
    (url, handle)
}

/// The sender `HttpClient` would make for `url`, if any.
fn plain_for(url: &str) -> Option<PlainHttp> {
    PlainHttp::for_url(url, Duration::from_secs(5), CachingResolver::default(), ureq::Agent::config_builder().build())
}

/// Connections in the pool.
fn idle(p: &PlainHttp) -> usize {
    p.idle.lock().len()
}

fn sender(url: &str) -> PlainHttp {
    plain_for(url).expect("an http URL")
}

/// With no timeout to speak of (`Duration::MAX` saturates, as everywhere else).
fn post(p: &PlainHttp, url: &str, body: &[u8]) -> Outcome {
    p.post(url, &p.target(url).unwrap(), &[], "application/x-protobuf", None, body, Duration::MAX)
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn the_request_is_head_then_body_with_every_header() {
    let (url, server) = server(vec![vec![OK]]);
    let p = sender(&url);
    let headers = vec![("x-api-key".to_owned(), "k 1".to_owned()), ("User-Agent".to_owned(), "mine".to_owned())];
    let body = vec![7u8; 300_000];
    let out = p.post(&url, "/v1/traces", &headers, "application/json", Some("gzip"), &body, Duration::from_secs(10));
    let Outcome::Success(resp) = out else { panic!("{out:?}") };
    assert_eq!(resp.body, b"ok");
    let seen = server.join().unwrap();
    let req = &seen[0][0];
    let authority = url.trim_start_matches("http://").trim_end_matches("/v1/traces");
    assert_eq!(
        req.lines,
        [
            "POST /v1/traces HTTP/1.1".to_owned(),
            format!("Host: {authority}"),
            "Content-Type: application/json".into(),
            "Content-Encoding: gzip".into(),
            "x-api-key: k 1".into(),
            "User-Agent: mine".into(),
            "Content-Length: 300000".into(),
        ]
    );
    assert_eq!(req.body, body);
}

#[test]
fn a_kept_alive_connection_carries_the_next_request() {
    let chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
    let (url, server) = server(vec![vec![OK, chunked, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"]]);
    let p = sender(&url);
    for expected in [&b"ok"[..], b"abcde", b""] {
        let out = post(&p, &url, b"x");
        let Outcome::Success(resp) = out else { panic!("{out:?}") };
        assert_eq!(resp.body, expected);
    }
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 1, "one connection");
    assert_eq!(seen[0].len(), 3);
}

#[test]
fn a_pooled_connection_the_server_closed_is_replaced_without_losing_the_request() {
    // The first connection answers once and closes (as an idle timeout would);
    // the second request must arrive, whole, on a new connection.
    let (url, server) = server(vec![vec![OK], vec![OK]]);
    let p = sender(&url);
    assert!(matches!(post(&p, &url, b"first"), Outcome::Success(_)));
    std::thread::sleep(Duration::from_millis(50)); // let the close reach us
    let out = post(&p, &url, b"second");
    assert!(matches!(out, Outcome::Success(_)), "{out:?}");
    let seen = server.join().unwrap();
    assert_eq!(seen[0].iter().map(|r| r.body.clone()).collect::<Vec<_>>(), [b"first".to_vec()]);
    assert_eq!(seen[1].iter().map(|r| r.body.clone()).collect::<Vec<_>>(), [b"second".to_vec()]);
}

#[test]
fn connection_close_and_bodies_to_the_close_are_not_reused() {
    let close = "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok";
    let (url, server) = server(vec![vec![close], vec!["HTTP/1.1 200 OK\r\n\r\nall of it"], vec![OK]]);
    let p = sender(&url);
    let first = post(&p, &url, b"1");
    assert!(matches!(first, Outcome::Success(_)), "{first:?}");
    // Not pooled (a reused one would be caught by the stale-connection retry, so
    // the server's view alone would not tell).
    assert_eq!(idle(&p), 0);
    // The server thread closes its side when its script for the connection ends.
    let Outcome::Success(resp) = post(&p, &url, b"2") else { panic!() };
    assert_eq!(resp.body, b"all of it");
    assert_eq!(idle(&p), 0);
    assert!(matches!(post(&p, &url, b"3"), Outcome::Success(_)));
    assert_eq!(idle(&p), 1, "a whole Content-Length answer keeps its connection");
    let seen = server.join().unwrap();
    assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
}

#[test]
fn statuses_and_retry_after_come_through() {
    let (url, server) = server(vec![vec![
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nbad span",
    ]]);
    let p = sender(&url);
    let out = post(&p, &url, b"x");
    assert!(
        matches!(out, Outcome::Retryable { retry_after: Some(d), timed_out: false, .. } if d == Duration::from_secs(7)),
        "{out:?}"
    );
    let out = post(&p, &url, b"x");
    let Outcome::Permanent { status: Some(400), reason } = out else { panic!("{out:?}") };
    assert!(reason.contains("bad span"), "{reason}");
    server.join().unwrap();
}

#[test]
fn a_body_over_the_cap_is_cut_and_its_connection_dropped() {
    let big: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
            MAX_RESPONSE_BYTES + 10,
            "b".repeat(MAX_RESPONSE_BYTES + 10)
        )
        .into_boxed_str(),
    );
    let (url, server) = server(vec![vec![big], vec![OK]]);
    let p = sender(&url);
    let Outcome::Success(resp) = post(&p, &url, b"x") else { panic!() };
    assert_eq!(resp.body.len(), MAX_RESPONSE_BYTES);
    assert_eq!(idle(&p), 0, "the rest of the body is unread: the connection cannot carry another request");
    assert!(matches!(post(&p, &url, b"y"), Outcome::Success(_)));
    assert_eq!(server.join().unwrap().len(), 2, "a new connection for the second request");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (url, server) = server(vec![vec!["HANG"]]);
    let p = sender(&url);
    let out = p.post(&url, "/v1/traces", &[], "application/json", None, b"{}", Duration::from_millis(200));
    assert!(matches!(out, Outcome::Retryable { timed_out: true, .. }), "{out:?}");
    server.join().unwrap();
}

#[test]
fn bytes_that_are_not_http_are_a_retryable_failure() {
    for answer in [
        "garbage\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ] {
        let (url, server) = server(vec![vec![answer]]);
        let out = post(&sender(&url), &url, b"x");
        assert!(matches!(out, Outcome::Retryable { timed_out: false, .. }), "{answer:?}: {out:?}");
        server.join().unwrap();
    }
}

#[test]
fn a_header_that_would_split_the_request_is_refused_before_sending() {
    let p = sender("http://127.0.0.1:9/v1/traces");
    for (name, value) in [("x-key", "a\r\nInjected: 1"), ("bad name", "v"), ("Content-Length", "5")] {
        let headers = [(name.to_owned(), value.to_owned())];
        let out =
            p.post("http://127.0.0.1:9/v1/traces", "/v1/traces", &headers, "t", None, b"x", Duration::from_secs(1));
        assert!(matches!(out, Outcome::Permanent { status: None, .. }), "{name}: {out:?}");
    }
}

#[test]
fn urls_are_matched_to_their_origin() {
    let p = sender("http://collector:4318/v1/traces");
    assert_eq!(p.target("http://collector:4318/v1/metrics").as_deref(), Some("/v1/metrics"));
    assert_eq!(p.target("http://collector:4318?x=1#frag").as_deref(), Some("/?x=1"));
    assert_eq!(p.target("http://collector:4318").as_deref(), Some("/"));
    assert_eq!(p.target("http://collector:43180/v1/traces"), None);
    assert_eq!(p.target("https://collector:4318/v1/traces"), None);
    assert_eq!(p.authority(), "collector:4318");
    assert_eq!(sender("http://[::1]/v1/traces").authority(), "[::1]");
    assert!(plain_for("https://h/v1/traces").is_none());
    assert!(plain_for("http://user:pw@h/v1/traces").is_none());
    assert!(plain_for("HTTP://h/v1/traces").is_none(), "left to ureq");
}

#[test]
fn a_host_that_does_not_resolve_is_retryable() {
    let p = sender("http://no-such-host.invalid/v1/traces");
    let out = post(&p, "http://no-such-host.invalid/v1/traces", b"x");
    // Through the client's resolver: ureq's lookup error, classified as everywhere.
    assert!(
        matches!(&out, Outcome::Retryable { timed_out: false, reason, .. } if reason.starts_with("connection failed")),
        "{out:?}"
    );
}

/// Serves one connection: reads a request, writes `answer`, closes.
fn serve_once(answer: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut writer = conn;
        if read_request(&mut reader).is_some() {
            let _ = writer.write_all(&answer);
        }
    });
    (url, handle)
}

mod arbitrary_answers {
    use proptest::prelude::*;

    use super::*;

    /// A response's pieces, recombined: most are HTTP-shaped, some are not.
    fn answer() -> impl Strategy<Value = Vec<u8>> {
        let status = prop_oneof![
            Just("HTTP/1.1 200 OK".to_owned()),
            Just("HTTP/1.0 503 Busy".to_owned()),
            (100u16..600).prop_map(|c| format!("HTTP/1.1 {c} X")),
            "[ -~]{0,20}",
        ];
        let header = prop_oneof![
            (0usize..100).prop_map(|n| format!("Content-Length: {n}")),
            Just("Transfer-Encoding: chunked".to_owned()),
            Just("Connection: close".to_owned()),
            Just("Retry-After: 3".to_owned()),
            "[!-~]{1,10}: [ -~]{0,20}",
        ];
        let body = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec((1usize..40, any::<u8>()), 0..4).prop_map(|chunks| {
                let mut b = Vec::new();
                for (n, byte) in chunks {
                    b.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                    b.extend(std::iter::repeat_n(byte, n));
                    b.extend_from_slice(b"\r\n");
                }
                b.extend_from_slice(b"0\r\n\r\n");
                b
            }),
        ];
        let framed = proptest::collection::vec(any::<u8>(), 0..300).prop_map(|body| {
            let mut a = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            a.extend_from_slice(&body);
            a
        });
        let pieces = (status, proptest::collection::vec(header, 0..4), body).prop_map(|(status, headers, body)| {
            let head = format!("{status}\r\n{}\r\n", headers.iter().map(|h| format!("{h}\r\n")).collect::<String>());
            let mut a = head.into_bytes();
            a.extend_from_slice(&body);
            a
        });
        prop_oneof![framed, pieces]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever comes back, the sender answers with an outcome (no panic, no
        /// hang past the deadline), and a well-framed 200 gives its body exactly.
        #[test]
        fn any_answer_is_an_outcome(answer in answer()) {
            let (url, server) = serve_once(answer.clone());
            let p = sender(&url);
            let out = p.post(&url, "/v1/traces", &[], "application/x-protobuf", None, b"x", Duration::from_secs(5));
            server.join().unwrap();
            // A 200 whose one header is a Content-Length its body reaches.
            let framed = answer.strip_prefix(b"HTTP/1.1 200 OK\r\nContent-Length: ").and_then(|rest| {
                let end = rest.windows(4).position(|w| w == b"\r\n\r\n")?;
                let n: usize = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
                let body = &rest[end + 4..];
                (body.len() >= n).then(|| body[..n].to_vec())
            });
            if let Some(body) = framed {
                let Outcome::Success(resp) = &out else { panic!("{out:?}") };
                prop_assert_eq!(&resp.body, &body);
            }
        }
    }
}

#[test]
fn an_ipv6_literal_is_connected_to_with_its_brackets_in_the_host_header() {
    // Where the machine has no IPv6 loopback there is nothing to connect to.
    let Ok(listener) = TcpListener::bind("[::1]:0") else { return };
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let req = read_request(&mut reader).unwrap();
        (&conn).write_all(OK.as_bytes()).unwrap();
        req
    });
    let p = sender(&url);
    assert!(matches!(post(&p, &url, b"v6"), Outcome::Success(_)));
    let req = server.join().unwrap();
    let port = url.trim_start_matches("http://[::1]:").trim_end_matches("/v1/traces");
    assert!(req.lines.contains(&format!("Host: [::1]:{port}")), "{:?}", req.lines);
    assert_eq!(req.body, b"v6");
}
