//! Soak: sessions from several threads for minutes against a receiver that fails
//! 10% of requests with 503 and drops 2% of connections without an answer; the
//! process's RSS is sampled throughout, and at the end every span recorded must
//! have arrived exactly once (the receiver runs in a child process, so its memory
//! and CPU are not the client's).
//!
//! `cargo bench --bench soak -- --seconds 600 --threads 4 --rate 4000`
//!
//! Prints one JSON line per RSS sample (`"sample"`), then a summary line with the
//! curve (after warm-up, middle, end, peak), the counts on both sides and `"ok"`.
//! Exit status 3 when a span was lost or duplicated.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentops::otel::ExportTraceServiceRequest;
use agentops::{BatchConfig, Client, EndState, LlmEvent, OtelConfig, OtlpExporterConfig, ToolEvent};
use prost::Message;

struct Args {
    seconds: u64,
    threads: u64,
    /// Spans per second over all threads.
    rate: u64,
    prompt_bytes: usize,
    fail_pct: u64,
    drop_pct: u64,
    spool: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a =
        Args { seconds: 600, threads: 4, rate: 4000, prompt_bytes: 1024, fail_pct: 10, drop_pct: 2, spool: true };
    let mut it = std::env::args().skip(1).filter(|s| s != "--bench");
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
        match flag.as_str() {
            "--seconds" => a.seconds = num(val()?)?,
            "--threads" => a.threads = num(val()?)?.max(1),
            "--rate" => a.rate = num(val()?)?.max(1),
            "--prompt-bytes" => a.prompt_bytes = num(val()?)? as usize,
            "--fail-pct" => a.fail_pct = num(val()?)?,
            "--drop-pct" => a.drop_pct = num(val()?)?,
            "--spool" => a.spool = val()? != "off",
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

// ---- the receiver (child process) ----

#[derive(Default)]
struct Counts {
    ids: Mutex<HashSet<(u128, u64)>>,
    spans: AtomicU64,
    duplicates: AtomicU64,
    requests: AtomicU64,
    failed_503: AtomicU64,
    dropped_connections: AtomicU64,
}

/// xorshift64*: the fault decision per request, seeded per connection.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn receiver(fail_pct: u64, drop_pct: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("listening on {}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let counts = Arc::new(Counts::default());
    let seed = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    for conn in listener.incoming().flatten() {
        let counts = counts.clone();
        let mut rng = seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) | 1;
        std::thread::spawn(move || serve(conn, &counts, &mut rng, fail_pct, drop_pct));
    }
}

fn serve(conn: TcpStream, c: &Counts, rng: &mut u64, fail_pct: u64, drop_pct: u64) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut out = conn;
    loop {
        let (mut request_line, mut line, mut len) = (String::new(), String::new(), 0usize);
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            line.clear();
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.starts_with("GET /stats") {
            let ids = c.ids.lock().unwrap().len();
            let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
            let json = format!(
                "{{\"unique_spans\":{ids},\"spans\":{},\"duplicates\":{},\"requests\":{},\"failed_503\":{},\"dropped_connections\":{}}}",
                get(&c.spans), get(&c.duplicates), get(&c.requests), get(&c.failed_503), get(&c.dropped_connections)
            );
            let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{json}", json.len());
            continue;
        }
        c.requests.fetch_add(1, Ordering::Relaxed);
        let roll = next(rng) % 100;
        if roll < drop_pct {
            c.dropped_connections.fetch_add(1, Ordering::Relaxed);
            let _ = out.shutdown(std::net::Shutdown::Both);
            return;
        }
        if roll < drop_pct + fail_pct {
            c.failed_503.fetch_add(1, Ordering::Relaxed);
            let _ = out.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
            continue;
        }
        if request_line.contains("/v1/traces") {
            let Ok(req) = ExportTraceServiceRequest::decode(&body[..]) else {
                let _ = out.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                continue;
            };
            let mut ids = c.ids.lock().unwrap();
            for s in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
                let t = u128::from_be_bytes(s.trace_id.as_slice().try_into().unwrap_or([0; 16]));
                let sp = u64::from_be_bytes(s.span_id.as_slice().try_into().unwrap_or([0; 8]));
                c.spans.fetch_add(1, Ordering::Relaxed);
                if !ids.insert((t, sp)) {
                    c.duplicates.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n");
    }
}

fn receiver_stats(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the receiver");
    s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    let mut len = 0;
    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

fn field(json: &str, key: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[key].as_u64().unwrap_or(0)
}

// ---- the client (this process) ----

fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--receiver") {
        let pct = |name: &str, default: u64| {
            let args: Vec<String> = std::env::args().collect();
            args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(default)
        };
        return receiver(pct("--fail-pct", 10), pct("--drop-pct", 2));
    }
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("soak: {e}");
        std::process::exit(2)
    });
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--receiver", "--fail-pct", &args.fail_pct.to_string(), "--drop-pct", &args.drop_pct.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the receiver");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first.trim().strip_prefix("listening on ").expect("the receiver's address").to_owned();

    let spool = std::env::temp_dir().join(format!("agentops-soak-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&spool);
    let mut b = OtelConfig::builder()
        .service_name("agentops-soak")
        .otlp(OtlpExporterConfig::new(format!("http://{addr}")))
        .batch(BatchConfig::default().max_queue_size(65536));
    if args.spool {
        b = b.spool_dir(&spool).spool_retry_interval(Duration::from_secs(5));
    }
    let client = Client::new(b.build().unwrap()).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // A session: 10 LLM calls and a tool call; 12 spans with the root.
    let per_thread_rate = args.rate as f64 / args.threads as f64;
    let producers: Vec<_> = (0..args.threads)
        .map(|t| {
            let (client, stop) = (client.clone(), stop.clone());
            let prompt = "p".repeat(args.prompt_bytes);
            std::thread::spawn(move || {
                let mut spans = 0u64;
                let begun = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let s = client.start_session(&["soak", &format!("thread-{t}")]);
                    for i in 0..10u64 {
                        s.record(
                            LlmEvent::new("gpt-4o").prompt(prompt.clone()).completion("c".repeat(512)).tokens(i, 2 * i),
                        );
                    }
                    s.record(ToolEvent::new("search").params(&serde_json::json!({"q": "weather"})).returns(&"sunny"));
                    s.end(EndState::Success, "");
                    spans += 12;
                    // Paced: sleep until this thread's share of the rate is due.
                    let due = begun + Duration::from_secs_f64(spans as f64 / per_thread_rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                spans
            })
        })
        .collect();

    let mut samples: Vec<(u64, u64)> = Vec::new();
    let end = started + Duration::from_secs(args.seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(5).min(end.saturating_duration_since(Instant::now())));
        let (t, rss) = (started.elapsed().as_secs(), rss_kb());
        let st = client.stats();
        println!(
            "{{\"sample\":{t},\"rss_kb\":{rss},\"spans_recorded\":{},\"spans_exported\":{},\"spans_spooled\":{},\"spans_queued\":{},\"retries\":{}}}",
            st.spans_recorded, st.spans_exported, st.spans_spooled, st.spans_queued, st.retries
        );
        samples.push((t, rss));
    }
    stop.store(true, Ordering::Relaxed);
    let produced: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let shutdown = client.shutdown(Duration::from_secs(120));
    let st = client.stats();
    let remote = receiver_stats(&addr);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&spool);

    // The curve after a minute of warm-up (or a fifth of the run, if shorter).
    let warm = (args.seconds / 5).min(60);
    let after: Vec<&(u64, u64)> = samples.iter().filter(|(t, _)| *t >= warm).collect();
    let at = |q: f64| after.get(((after.len().max(1) - 1) as f64 * q) as usize).map_or(0, |s| s.1);
    let peak = after.iter().map(|s| s.1).max().unwrap_or(0);
    let unique = field(&remote, "unique_spans");
    let dupes = field(&remote, "duplicates");
    let ok = shutdown.is_ok() && unique == produced && dupes == 0 && st.spans_recorded == produced;
    println!(
        "{{\"seconds\":{},\"threads\":{},\"rate\":{},\"rss_kb_warm\":{},\"rss_kb_mid\":{},\"rss_kb_end\":{},\"rss_kb_peak\":{},\
         \"spans_produced\":{produced},\"spans_recorded\":{},\"spans_exported\":{},\"spans_spooled\":{},\"spans_dropped\":{},\
         \"spool_spans_delivered\":{},\"retries\":{},\"requests\":{},\"receiver\":{remote},\"shutdown\":\"{}\",\"ok\":{ok}}}",
        args.seconds,
        args.threads,
        args.rate,
        at(0.0),
        at(0.5),
        at(1.0),
        peak,
        st.spans_recorded,
        st.spans_exported,
        st.spans_spooled,
        st.spans_dropped(),
        st.spool.spans_delivered,
        st.retries,
        st.requests,
        match &shutdown {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.to_string().replace('"', "'"),
        },
    );
    if !ok {
        std::process::exit(3);
    }
}
