//! A capture of 199 MB is streamed, not held: `agentops stats` and `agentops html`
//! read it with a peak resident set well under its size (measured on the child
//! itself, with `wait4`), and count every span.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::process::Command;

use common::capture::temp_dir;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

/// Runs the command and reaps it with `wait4`, for its own peak resident set (KiB):
/// its stdout, its stderr and its exit status's success, and that peak.
// The child is reaped by `wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn agentops_measured(args: &[&str]) -> (String, String, bool, i64) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentops"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut e = String::new();
        let _ = err_pipe.read_to_string(&mut e);
        e
    });
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let (mut status, pid) = (0, child.id() as libc::pid_t);
    // SAFETY: a zeroed rusage is valid; wait4 fills it and the status for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (out, err_reader.join().unwrap(), ok, usage.ru_maxrss)
}

#[test]
fn a_large_capture_is_streamed_not_held() {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    let dir = temp_dir("large");
    let file = dir.join("large.jsonl");
    // 3,000 lines of one span each with a 64 KiB prompt: 197 MB on disk.
    let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let prompt = "p".repeat(64 * 1024);
    for i in 0..3000u64 {
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            key_strindex: 0,
        };
        let span = Span {
            trace_id: (1u128 + u128::from(i % 10)).to_be_bytes().to_vec(),
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: "chat m".into(),
            start_time_unix_nano: 1_790_000_000_000_000_000 + i,
            end_time_unix_nano: 1_790_000_000_000_000_000 + i + 1000,
            attributes: vec![
                kv("agentops.span.kind", any_value::Value::StringValue("llm".into())),
                kv("gen_ai.request.model", any_value::Value::StringValue("m".into())),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(2)),
                kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(3)),
                kv("gen_ai.input.messages", any_value::Value::StringValue(prompt.clone())),
            ],
            ..Span::default()
        };
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        };
        serde_json::to_writer(&mut w, &req).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 190_000_000, "{size}");
    let html = dir.join("large.html");
    for args in [vec!["stats"], vec!["html", "-o", html.to_str().unwrap()]] {
        let mut all = args.clone();
        all.push(file.to_str().unwrap());
        let (out, err, ok, peak) = agentops_measured(&all);
        assert!(ok, "{err}");
        if args[0] == "stats" {
            assert!(out.contains("total: 10 sessions (0 ended) | 3000 spans | tokens in/out: 6000/9000"), "{out}");
        }
        // Held whole, the capture alone would be more than this.
        assert!(peak < 120 * 1024, "{} held {peak} KiB for a {size}-byte capture", args[0]);
    }
}
