//! End-to-end pipeline benchmark, the same workload and output as
//! `../shared/bench/otel-anchor` so the two can be compared on one sink.
//!
//! Per producer thread: one session, then N/T LLM events (model `gpt-4o`, token
//! counts, a B-byte prompt and a B/2-byte completion copied inside the timed region,
//! as a caller's dynamic strings would be) recorded through the public API. Every
//! `record` call is timed on the caller's thread; then flush and shut down.
//!
//! `cargo bench --bench pipeline -- --endpoint http://127.0.0.1:4318/v1/traces`
//! Prints exactly one JSON line on stdout.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use agentops::{
    AgentOpsConfig, BatchConfig, Client, Compression, EndState, LlmEvent, OtelConfig, OtlpExporterConfig, Protocol,
};

const USAGE: &str = "\
pipeline bench: agentops end to end (same workload and output as otel-anchor)

USAGE: cargo bench --bench pipeline -- [FLAGS]
  --endpoint URL          OTLP/HTTP traces URL (default http://127.0.0.1:4318/v1/traces)
  --events N              events in total (default 100000)
  --threads T             producer threads, one session each (default 1)
  --prompt-bytes B        prompt size; the completion is B/2 (default 1024)
  --protocol P            json or protobuf (default json, as the anchor)
  --queue-size Q          max queue size (default 65536, as the anchor)
  --batch-size S          max export batch size (default 512)
  --scheduled-delay-ms D  batch delay (default 5000, the anchor's SDK default)
  --compression C         gzip or none (default none; the anchor has no such flag)
  --nice N                export and sending threads' nice value (default: the
                          library's default, BatchConfig::export_thread_nice)
  --lanes N               max concurrent exports (default: the library's default)
  --metrics on|off        record and export metrics (default off: the anchor has none);
                          on sends them to a local receiver in this process, since the
                          sink takes traces only
  --ca-cert PEM           trust this CA for an https endpoint (as the anchor's flag;
                          OTEL_EXPORTER_OTLP_CERTIFICATE is honoured too)
  --agentops              export as to AgentOps: the endpoint's origin answers
                          /v3/auth/token (the shared sink does), spans go to its
                          /v1/traces with the bearer token, protobuf
";

struct Args {
    endpoint: String,
    events: u64,
    threads: u64,
    prompt_bytes: usize,
    protocol: Protocol,
    queue_size: usize,
    batch_size: usize,
    scheduled_delay_ms: u64,
    compression: Compression,
    metrics: bool,
    nice: Option<u8>,
    lanes: Option<usize>,
    ca_cert: Option<String>,
    agentops: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: "http://127.0.0.1:4318/v1/traces".into(),
        events: 100_000,
        threads: 1,
        prompt_bytes: 1024,
        protocol: Protocol::HttpJson,
        queue_size: 65536,
        batch_size: 512,
        scheduled_delay_ms: 5000,
        compression: Compression::None,
        metrics: false,
        nice: None,
        lanes: None,
        ca_cert: std::env::var("OTEL_EXPORTER_OTLP_CERTIFICATE").ok(),
        agentops: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut val = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        fn num<T: std::str::FromStr>(s: String) -> Result<T, String> {
            s.parse().map_err(|_| format!("bad number {s:?}"))
        }
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--endpoint" => a.endpoint = val()?,
            "--events" => a.events = num(val()?)?,
            "--threads" => a.threads = num::<u64>(val()?)?.max(1),
            "--prompt-bytes" => a.prompt_bytes = num(val()?)?,
            "--compression" => {
                a.compression = match val()?.as_str() {
                    "gzip" => Compression::Gzip,
                    "none" => Compression::None,
                    other => return Err(format!("--compression: gzip or none, not {other:?}")),
                }
            }
            "--protocol" => {
                a.protocol = match val()?.as_str() {
                    "json" | "http-json" => Protocol::HttpJson,
                    "protobuf" | "proto" | "http-protobuf" => Protocol::HttpProtobuf,
                    other => return Err(format!("--protocol: json or protobuf, not {other:?}")),
                }
            }
            "--metrics" => {
                a.metrics = match val()?.as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("--metrics: on or off, not {other:?}")),
                }
            }
            "--nice" => a.nice = Some(num(val()?)?),
            "--ca-cert" => a.ca_cert = Some(val()?),
            "--agentops" => a.agentops = true,
            "--lanes" => a.lanes = Some(num(val()?)?),
            "--queue-size" => a.queue_size = num(val()?)?,
            "--batch-size" => a.batch_size = num(val()?)?,
            "--scheduled-delay-ms" => a.scheduled_delay_ms = num(val()?)?,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

/// A receiver of metrics requests on 127.0.0.1 that answers every request 200
/// (keep-alive); returns its `/v1/metrics` URL.
fn metrics_receiver() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a metrics receiver");
    let url = format!("http://{}/v1/metrics", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut out = conn;
                loop {
                    let (mut line, mut len) = (String::new(), 0usize);
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        line.clear();
                    }
                    let mut body = vec![0; len];
                    if line.is_empty() || reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    if out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn proc_status(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

fn process_cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}

/// CPU time of one thread in seconds (nanosecond counter of the scheduler).
fn thread_cpu_s(schedstat: impl AsRef<std::path::Path>) -> f64 {
    let ns: u64 = std::fs::read_to_string(schedstat)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    ns as f64 / 1e9
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn threads_cpu_s(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix)))
        .map(|t| thread_cpu_s(t.path().join("schedstat")))
        .sum()
}

/// Nearest-rank percentile on a sorted slice (as the anchor computes it).
fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pipeline: {e}");
            std::process::exit(2);
        }
    };
    let mut otlp =
        OtlpExporterConfig::traces_url(args.endpoint.clone()).protocol(args.protocol).compression(args.compression);
    if args.metrics {
        otlp = otlp.with_metrics_url(metrics_receiver());
    }
    if let Some(ca) = &args.ca_cert {
        otlp = otlp.ca_certificate(ca);
    }
    let mut batch = BatchConfig::default()
        .max_queue_size(args.queue_size)
        .max_export_batch_size(args.batch_size)
        .scheduled_delay(Duration::from_millis(args.scheduled_delay_ms));
    if let Some(nice) = args.nice {
        batch = batch.export_thread_nice(nice);
    }
    if let Some(lanes) = args.lanes {
        batch = batch.max_concurrent_exports(lanes);
    }
    let builder = OtelConfig::builder().service_name("agentops-bench");
    let builder = if args.agentops {
        // The sink's key check is off unless it was given --api-key: any UUID does.
        let base = args.endpoint.trim_end_matches("/v1/traces").to_owned();
        let mut a =
            AgentOpsConfig::new("00000000-0000-4000-8000-000000000000").api_endpoint(&base).exporter_endpoint(&base);
        if let Some(ca) = &args.ca_cert {
            a = a.ca_certificate(ca);
        }
        builder.agentops(a)
    } else {
        builder.otlp(otlp)
    };
    let config = builder.enable_metrics(args.metrics).batch(batch).build().unwrap_or_else(|e| {
        eprintln!("pipeline: {e}");
        std::process::exit(2);
    });
    let client = Client::new(config).unwrap_or_else(|e| {
        eprintln!("pipeline: {e}");
        std::process::exit(1);
    });

    let threads = args.threads;
    let prompt: String = "p".repeat(args.prompt_bytes);
    let completion: String = "c".repeat(args.prompt_bytes / 2);
    let barrier = Arc::new(Barrier::new(threads as usize));
    let mut handles = Vec::new();
    for t in 0..threads {
        let n = args.events / threads + u64::from(t < args.events % threads);
        let client = client.clone();
        let (prompt, completion) = (prompt.clone(), completion.clone());
        let barrier = barrier.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("producer-{t}"))
                .spawn(move || {
                    let mut lat: Vec<u64> = Vec::with_capacity(n as usize);
                    barrier.wait();
                    let first = Instant::now();
                    let session = client.start_session(&["bench"]);
                    for i in 0..n {
                        let t0 = Instant::now();
                        session.record(
                            LlmEvent::new("gpt-4o")
                                .tokens(100 + i % 900, 50 + i % 450)
                                .prompt(prompt.clone())
                                .completion(completion.clone()),
                        );
                        lat.push(t0.elapsed().as_nanos() as u64);
                    }
                    session.end(EndState::Success, "");
                    (first, lat, thread_cpu_s("/proc/thread-self/schedstat"))
                })
                .expect("spawn producer"),
        );
    }
    let mut first: Option<Instant> = None;
    let mut all: Vec<u64> = Vec::with_capacity(args.events as usize);
    let mut producer_cpu_s = 0.0;
    for h in handles {
        let (f, lat, cpu) = h.join().expect("producer panicked");
        first = Some(first.map_or(f, |x: Instant| x.min(f)));
        all.extend_from_slice(&lat);
        producer_cpu_s += cpu;
    }
    let first = first.expect("at least one producer");
    let produced = first.elapsed();
    // Events recorded but not yet taken by the export thread: what memory holds.
    let queued_at_produce_end = client.stats().spans_queued;
    let flush = client.flush(Duration::from_secs(600));
    let wall = first.elapsed();
    if let Err(e) = &flush {
        eprintln!("pipeline: flush: {e}");
    }
    let cpu_s = process_cpu_s();
    let (export_cpu_s, send_cpu_s) = (threads_cpu_s("agentops-export"), threads_cpu_s("agentops-send"));
    let metrics_cpu_s = threads_cpu_s("agentops-meter");
    // Every thread but the producers (gone by now) and main: as the anchor counts
    // its batch thread and HTTP runtime, so the two pipelines compare per span.
    let pipeline_cpu_s = threads_cpu_s("agentops-");
    let t_shutdown = Instant::now();
    let shutdown = client.shutdown(Duration::from_secs(60));
    let shutdown_ms = t_shutdown.elapsed().as_secs_f64() * 1e3;
    if let Err(e) = &shutdown {
        eprintln!("pipeline: shutdown: {e}");
    }
    let stats = client.stats();

    // An idle pipeline's shutdown and a session start, timed on a fresh client
    // (sampled out, so the sink's span count stays the workload's).
    let idle = Client::new(
        OtelConfig::builder()
            .otlp(OtlpExporterConfig::traces_url(args.endpoint.clone()))
            .sample_ratio(0.0)
            .build()
            .expect("config"),
    )
    .expect("client");
    let t = Instant::now();
    let s = idle.start_session(&["idle"]);
    let start_session_us = t.elapsed().as_secs_f64() * 1e6;
    s.end(EndState::Success, "");
    let t = Instant::now();
    idle.shutdown(Duration::from_secs(60)).ok();
    let idle_shutdown_ms = t.elapsed().as_secs_f64() * 1e3;

    all.sort_unstable();
    let wall_s = wall.as_secs_f64();
    println!(
        concat!(
            "{{\"caller_p50_ns\":{},\"caller_p99_ns\":{},\"caller_p999_ns\":{},\"caller_max_ns\":{},",
            "\"wall_s\":{:.4},\"spans_per_s\":{:.0},\"peak_rss_kb\":{},\"spans_sent\":{},",
            "\"spans_dropped\":{},\"spans_recorded\":{},\"export_batches\":{},\"requests\":{},\"bytes_sent\":{},",
            "\"produce_s\":{:.4},\"flush_ok\":{},\"shutdown_ms\":{:.3},\"idle_shutdown_ms\":{:.3},",
            "\"start_session_us\":{:.1},\"caller_mean_ns\":{:.0},\"events\":{},\"threads\":{},",
            "\"prompt_bytes\":{},\"protocol\":\"{}\",\"compression\":\"{:?}\",\"queue_size\":{},\"batch_size\":{},",
            "\"cpu_s\":{:.2},\"producer_cpu_s\":{:.3},\"export_cpu_s\":{:.3},\"send_cpu_s\":{:.3},",
            "\"metrics_cpu_s\":{:.3},\"pipeline_cpu_s\":{:.3},\"pipeline_ns_per_span\":{:.0},\"metrics\":{},\"metrics_exports\":{},\"queued_at_produce_end\":{}}}"
        ),
        pct(&all, 0.50),
        pct(&all, 0.99),
        pct(&all, 0.999),
        all.last().copied().unwrap_or(0),
        wall_s,
        stats.spans_exported as f64 / wall_s,
        proc_status("VmHWM:").unwrap_or(0),
        stats.spans_exported,
        stats.spans_dropped(),
        stats.spans_recorded,
        stats.batches,
        stats.requests,
        stats.bytes_sent,
        produced.as_secs_f64(),
        flush.is_ok(),
        shutdown_ms,
        idle_shutdown_ms,
        start_session_us,
        if all.is_empty() { 0.0 } else { all.iter().sum::<u64>() as f64 / all.len() as f64 },
        args.events,
        threads,
        args.prompt_bytes,
        match args.protocol {
            Protocol::HttpJson => "json",
            _ => "protobuf",
        },
        args.compression,
        args.queue_size,
        args.batch_size,
        cpu_s,
        producer_cpu_s,
        export_cpu_s,
        send_cpu_s,
        metrics_cpu_s,
        pipeline_cpu_s,
        pipeline_cpu_s * 1e9 / stats.spans_exported.max(1) as f64,
        args.metrics,
        stats.metrics_exports,
        queued_at_produce_end,
    );
}
