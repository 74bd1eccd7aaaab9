//! What the `ProviderCapture` middleware adds to an application's provider call:
//! the same ureq calls to a local fake provider, without the middleware (A) and
//! with it (B), alternating A B A B in one process, plain and streamed.
//!
//! Both runs have a client and a session exporting to this process's own OTLP
//! receiver (an application with agentops has them either way); only B's calls are
//! recorded. Measured per call: the calling thread's CPU, and the CPU of the
//! crate's threads (`agentops-*`: encoding and sending the span, its metrics),
//! through shutdown. The fake provider and the receiver run on their own threads
//! and are not counted.
//!
//! `taskset -c 0 cargo bench --bench capture -- --server-cpu 1 [--calls N] [--pairs P]`;
//! prints one JSON line per mode (plain, stream) with the medians of each side and
//! B − A.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use agentops::providers::ProviderCapture;
use agentops::{Client, EndState, OtelConfig, OtlpExporterConfig};
use serde_json::{json, Value};

const USAGE: &str = "\
capture bench: a provider call through ureq, without and with ProviderCapture

USAGE: cargo bench --bench capture -- [--calls N] [--pairs P] [--server-cpu C]
  --calls N        calls per run (default 2000)
  --pairs P        A/B pairs per mode (default 5)
  --server-cpu C   run the fake provider and receiver on CPU C (through taskset);
                   pin this process with `taskset -c OTHER cargo bench …`
";

fn main() {
    let (mut calls, mut pairs, mut server_cpu) = (2000usize, 5usize, None::<usize>);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage());
        match a.as_str() {
            "--calls" => calls = value(),
            "--pairs" => pairs = value(),
            "--server-cpu" => server_cpu = Some(value()),
            "--bench" => {}
            "--serve" => serve(),
            _ => usage(),
        }
    }
    // The fake provider and the receiver run in a child process, so that this
    // process's CPU is the application's and the crate's alone.
    let this = std::env::current_exe().expect("this program");
    let mut server = match server_cpu {
        Some(cpu) => {
            let mut c = std::process::Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(&this);
            c
        }
        None => std::process::Command::new(&this),
    };
    let mut server = server.arg("--serve").stdout(std::process::Stdio::piped()).spawn().expect("the server process");
    let mut port = String::new();
    BufReader::new(server.stdout.take().expect("its stdout")).read_line(&mut port).expect("its port");
    let port: u16 = port.trim().parse().expect("a port");
    for stream in [false, true] {
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..pairs {
            without.push(run(port, calls, stream, false));
            with.push(run(port, calls, stream, true));
        }
        let caller = |v: &[Cpu]| median(v.iter().map(|c| c.caller_ns).collect());
        let threads = |v: &[Cpu]| median(v.iter().map(|c| c.threads_ns).collect());
        let total = |v: &[Cpu]| median(v.iter().map(|c| c.caller_ns + c.threads_ns).collect());
        println!(
            "{{\"mode\":\"{}\",\"calls\":{calls},\"pairs\":{pairs},\
             \"without\":{{\"caller_ns_per_call\":{:.0},\"agentops_threads_ns_per_call\":{:.0}}},\
             \"with\":{{\"caller_ns_per_call\":{:.0},\"agentops_threads_ns_per_call\":{:.0}}},\
             \"added_caller_ns_per_call\":{:.0},\"added_total_ns_per_call\":{:.0}}}",
            if stream { "stream" } else { "plain" },
            caller(&without),
            threads(&without),
            caller(&with),
            threads(&with),
            caller(&with) - caller(&without),
            total(&with) - total(&without),
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}

fn usage() -> ! {
    eprint!("{USAGE}");
    std::process::exit(2)
}

/// CPU per call of one run, in nanoseconds.
struct Cpu {
    caller_ns: f64,
    threads_ns: f64,
}

fn run(port: u16, calls: usize, stream: bool, capture: bool) -> Cpu {
    let base = format!("http://127.0.0.1:{port}");
    let otlp = OtlpExporterConfig::traces_url(format!("{base}/v1/traces"));
    let config =
        OtelConfig::builder().service_name("agentops-capture-bench").default_exporters(false).otlp(otlp).build();
    let client = Client::new(config.expect("config")).expect("client");
    let session = client.start_session(&["capture-bench"]);
    let mut http = ureq::Agent::config_builder().http_status_as_error(false);
    if capture {
        http = http.middleware(ProviderCapture::new().base_url(&format!("{base}/v1")).expect("base URL"));
    }
    let http: ureq::Agent = http.build().into();
    let url = format!("{base}/v1/chat/completions");
    let request = request(stream).to_string();
    let process_before = process_cpu_ns();
    let caller_before = thread_cpu_ns("/proc/thread-self/schedstat");
    {
        let _entered = session.enter();
        let mut body = Vec::new();
        for _ in 0..calls {
            let response = http
                .post(&url)
                .header("Authorization", "Bearer sk-bench")
                .header("Content-Type", "application/json")
                .send(request.as_bytes())
                .expect("the fake provider answers");
            body.clear();
            // As an application reads: a stream line by line, a whole answer at once.
            let mut reader = BufReader::new(response.into_body().into_reader());
            if stream {
                let mut line = String::new();
                while reader.read_line(&mut line).expect("stream") > 0 {
                    line.clear();
                }
            } else {
                reader.read_to_end(&mut body).expect("body");
                let answer: Value = serde_json::from_slice(&body).expect("JSON");
                std::hint::black_box(answer);
            }
        }
    }
    session.end(EndState::Success, "done");
    client.shutdown(Duration::from_secs(30)).expect("shutdown");
    let caller = thread_cpu_ns("/proc/thread-self/schedstat") - caller_before;
    // The crate's threads, ended by the shutdown: the process's CPU but the caller's.
    let threads = process_cpu_ns() - process_before - caller;
    let stats = client.stats();
    if capture {
        assert_eq!(stats.spans_exported, calls as u64 + 1, "every call was recorded and exported");
    }
    Cpu { caller_ns: caller / calls as f64, threads_ns: threads / calls as f64 }
}

/// A chat request as an agent's third turn sends it: a system prompt, a question,
/// a tool call and its result (1.3 KB of JSON).
fn request(stream: bool) -> Value {
    let mut r = json!({
        "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 512,
        "messages": [
            {"role": "system", "content": "You are a careful assistant. ".repeat(20)},
            {"role": "user", "content": "What is 17 * 23, and is it warm in Oslo? ".repeat(5)},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "calculator", "arguments": "{\"expression\":\"17 * 23\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "391"}
        ],
        "tools": [{"type": "function", "function": {"name": "calculator", "description": "Evaluates a op b.",
                   "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}}}]
    });
    if stream {
        r["stream"] = json!(true);
        r["stream_options"] = json!({"include_usage": true});
    }
    r
}

/// The answer's text: 840 bytes, in 40 chunks when streamed.
fn words() -> Vec<String> {
    (0..40).map(|i| format!("word{i:02} and more text ")).collect()
}

fn plain_answer() -> Vec<u8> {
    json!({"id": "chatcmpl-bench", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": words().concat()}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 420, "completion_tokens": 160}})
    .to_string()
    .into_bytes()
}

fn stream_answer() -> Vec<u8> {
    let mut out = String::new();
    let chunk = |delta: Value, finish: Value| json!({"id": "chatcmpl-bench", "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    out.push_str(&format!("data: {}\n\n", chunk(json!({"role": "assistant"}), Value::Null)));
    for w in words() {
        out.push_str(&format!("data: {}\n\n", chunk(json!({"content": w}), Value::Null)));
    }
    out.push_str(&format!("data: {}\n\n", chunk(json!({}), json!("stop"))));
    let usage =
        json!({"id": "chatcmpl-bench", "choices": [], "usage": {"prompt_tokens": 420, "completion_tokens": 160}});
    out.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    out.into_bytes()
}

/// The fake provider and the OTLP receiver, keep-alive HTTP/1.1 on one port
/// (printed on stdout), until killed.
fn serve() -> ! {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (plain, streamed) = (plain_answer(), stream_answer());
    std::thread::Builder::new()
        .name("provider".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let (plain, streamed) = (plain.clone(), streamed.clone());
                let _ =
                    std::thread::Builder::new().name("provider".into()).spawn(move || answer(conn, &plain, &streamed));
            }
        })
        .expect("server thread");
    println!("{port}");
    loop {
        std::thread::park();
    }
}

fn answer(conn: TcpStream, plain: &[u8], streamed: &[u8]) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn);
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((_, v)) = line.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (kind, answer): (&str, &[u8]) = if path != "/v1/chat/completions" {
            ("application/json", b"{}")
        } else if body.windows(13).any(|w| w == b"\"stream\":true") {
            ("text/event-stream", streamed)
        } else {
            ("application/json", plain)
        };
        // One write: head and body in two would wait on the client's delayed ACK.
        let mut out =
            format!("HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n", answer.len()).into_bytes();
        out.extend_from_slice(answer);
        if reader.get_mut().write_all(&out).is_err() {
            return;
        }
    }
}

fn thread_cpu_ns(schedstat: impl AsRef<std::path::Path>) -> f64 {
    std::fs::read_to_string(schedstat)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// CPU nanoseconds of this process, the threads that ended included.
fn process_cpu_ns() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec to write to; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "the process CPU clock");
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
