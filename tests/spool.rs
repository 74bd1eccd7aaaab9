//! The disk spool against a real receiver: what cannot be delivered is written to
//! disk and counted, the next client (or the same one, later) delivers it exactly
//! once with its ids unchanged, a truncated file or a crash's leftover is skipped
//! and counted, the size bound evicts the oldest files, and two clients on one
//! spool never deliver the same file twice. No timed assertions: waits poll with
//! generous limits and checks count things.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use agentops::exporters::InMemoryExporter;
use agentops::{
    BatchConfig, Client, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, OtlpExporterConfig, RetryPolicy, Stats,
};
use common::{base_url, closed_port, otlp_for, unique_span_ids, Reply, Scheme, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

const LONG: Duration = Duration::from_secs(60);

/// A fresh spool directory for one test.
fn spool_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agentops-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Gives up quickly: a receiver that is down costs two attempts.
fn short_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(2)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(10))
        .max_elapsed(Duration::from_secs(20))
}

/// Exports only on flush and shutdown, so each session flushed is one batch (one
/// spool file).
fn builder(port: u16, spool: &Path) -> OtelConfigBuilder {
    builder_as(Scheme::Http, port, spool)
}

/// Like `builder`, to a server of `scheme`.
fn builder_as(scheme: Scheme, port: u16, spool: &Path) -> OtelConfigBuilder {
    let batch = BatchConfig::default().scheduled_delay(Duration::from_secs(3600));
    OtelConfig::builder()
        .otlp(otlp_for(scheme, &base_url(scheme, port)).timeout(Duration::from_secs(10)))
        .retry(short_retry())
        .batch(batch)
        .enable_metrics(false)
        .spool_dir(spool)
}

fn client(b: OtelConfigBuilder) -> Client {
    Client::new(b.build().unwrap()).unwrap()
}

/// One session with `n` LLM events (`n + 1` spans), each with a prompt of `prompt` bytes.
fn session(c: &Client, n: usize, prompt: usize) {
    let s = c.start_session(&["spool"]);
    for i in 0..n {
        s.record(LlmEvent::new("m").prompt("p".repeat(prompt)).tokens(i as u64, 1));
    }
    s.end(EndState::Success, "");
}

/// The spool's complete files, over every destination directory.
fn spooled_files(spool: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(spool).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "jsonl") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// The (trace id, span id) pairs in spooled files, read as OTLP JSON lines.
fn ids_in(files: &[PathBuf]) -> HashSet<(Vec<u8>, Vec<u8>)> {
    let mut ids = HashSet::new();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let req: ExportTraceServiceRequest = serde_json::from_str(line).expect("an OTLP JSON line");
            for s in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
                ids.insert((s.trace_id.clone(), s.span_id.clone()));
            }
        }
    }
    ids
}

fn assert_accounted(s: &Stats) {
    assert_eq!(
        s.spans_recorded,
        s.spans_exported + s.spans_dropped() + s.spans_filtered + s.spans_spooled + s.spans_queued,
        "{s:#?}"
    );
}

/// Every span the receiver accepted, duplicates included.
fn accepted(server: &TestServer) -> usize {
    server.accepted_spans().len()
}

on_both_schemes! {
    fn an_outage_is_spooled_and_the_next_client_delivers_it_exactly_once(scheme: Scheme) {
        let dir = spool_dir(&format!("outage-{scheme:?}"));
        let port = closed_port();
        let memory = InMemoryExporter::new();

        // First run: nothing listens. Two batches (a flush between the sessions).
        let first = client(builder_as(scheme, port, &dir).in_memory(memory.clone()));
        session(&first, 20, 10);
        first.flush(LONG).unwrap();
        session(&first, 4, 10);
        first.shutdown(LONG).unwrap();
        let s1 = first.stats();
        assert_eq!((s1.spans_spooled, s1.spans_exported, s1.spans_dropped()), (26, 0, 0), "{s1:#?}");
        assert_accounted(&s1);
        let files = spooled_files(&dir);
        assert_eq!(files.len(), 2, "one file per undelivered batch: {files:?}");
        let recorded: HashSet<(Vec<u8>, Vec<u8>)> = memory
            .spans()
            .iter()
            .map(|s| (s.span_context.trace_id().to_bytes().to_vec(), s.span_context.span_id().to_bytes().to_vec()))
            .collect();
        assert_eq!(ids_in(&files), recorded, "the spool holds exactly the spans recorded");

        // Second run: the receiver is up. It delivers the first run's spans and its own.
        let server = TestServer::start_as(scheme, port, |_| Reply::ok());
        let second = client(builder_as(scheme, port, &dir));
        session(&second, 2, 10);
        second.shutdown(LONG).unwrap();
        let s2 = second.stats();
        assert_eq!((s2.spans_exported, s2.spans_spooled), (3, 0), "{s2:#?}");
        assert_eq!((s2.spool.files_delivered, s2.spool.spans_delivered), (2, 26), "{:#?}", s2.spool);
        assert_eq!(accepted(&server), 29, "each span once");
        let got = unique_span_ids(&server.accepted_spans());
        assert_eq!(got.len(), 29);
        assert!(recorded.is_subset(&got), "the first run's ids are unchanged");
        assert!(spooled_files(&dir).is_empty(), "delivered files are removed");

        // A third run has nothing left to deliver.
        let third = client(builder_as(scheme, port, &dir));
        third.shutdown(LONG).unwrap();
        assert_eq!(third.stats().spool.files_delivered, 0);
        assert_eq!(accepted(&server), 29);
}
}

on_both_schemes! {
    fn the_shutdown_deadline_spools_what_is_still_in_flight(scheme: Scheme) {
        let dir = spool_dir(&format!("deadline-{scheme:?}"));
        // Answers nothing for longer than any deadline here.
        let server = TestServer::start_as(scheme, 0, |_| {
            std::thread::sleep(Duration::from_secs(30));
            Reply::ok()
        });
        let port = server.port();
        let c = client(builder_as(scheme, port, &dir).retry(short_retry().max_elapsed(Duration::from_secs(60))));
        session(&c, 9, 10);
        // A fifth of the 5 s is kept for the spool: the request is cut at 4 s.
        c.shutdown(Duration::from_secs(5)).unwrap();
        let s = c.stats();
        assert_eq!((s.spans_spooled, s.spans_dropped(), s.spans_exported), (10, 0, 0), "{s:#?}");
        assert_accounted(&s);
        assert_eq!(ids_in(&spooled_files(&dir)).len(), 10);
}
}

#[test]
fn a_truncated_file_and_a_crash_leftover_are_skipped_and_counted() {
    let dir = spool_dir("truncated");
    let port = closed_port();
    let first = client(builder(port, &dir));
    session(&first, 5, 10);
    first.flush(LONG).unwrap();
    session(&first, 7, 10);
    first.shutdown(LONG).unwrap();
    let files = spooled_files(&dir);
    assert_eq!(files.len(), 2);
    // The first file cut in the middle of its line, as a crash without sync could leave it.
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let kept = ids_in(&files[1..]);
    // A half-written `.tmp` a crash left long ago.
    let leftover = files[1].with_file_name("00000000000000000001-1-1-3.jsonl.tmp");
    std::fs::write(&leftover, b"{\"resourceSpans\":[{\"scope").unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&leftover).unwrap().set_modified(old).unwrap();

    let server = TestServer::start_on(port, |_| Reply::ok());
    let second = client(builder(port, &dir));
    second.shutdown(LONG).unwrap();
    let s = second.stats();
    assert_eq!(s.spool.batches_skipped, 2, "{:#?}", s.spool);
    assert_eq!((s.spool.files_delivered, s.spool.spans_delivered), (2, 8), "{:#?}", s.spool);
    assert_eq!(unique_span_ids(&server.accepted_spans()), kept);
    assert_eq!(accepted(&server), 8);
    assert!(spooled_files(&dir).is_empty() && !leftover.exists());
}

#[test]
fn the_size_bound_evicts_the_oldest_files_and_counts_them() {
    let dir = spool_dir("bound");
    let port = closed_port();
    let bound = 1024 * 1024;
    let first = client(builder(port, &dir).spool_max_bytes(bound));
    // 10 batches of about 180 KB: more than the bound. Names in the order written.
    let mut written: Vec<PathBuf> = Vec::new();
    for _ in 0..10 {
        session(&first, 3, 60_000);
        first.flush(LONG).unwrap();
        let new: Vec<PathBuf> = spooled_files(&dir).into_iter().filter(|f| !written.contains(f)).collect();
        written.extend(new);
    }
    first.shutdown(LONG).unwrap();
    let s1 = first.stats();
    assert_eq!(s1.spans_spooled, 40, "{s1:#?}");
    let files = spooled_files(&dir);
    let on_disk: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    assert!(on_disk <= bound, "{on_disk} bytes on disk");
    let kept = ids_in(&files);
    let left = kept.len() as u64;
    assert!(s1.spool.files_evicted >= 4, "{:#?}", s1.spool);
    assert_eq!(s1.spool.files_evicted + files.len() as u64, 10);
    assert_eq!(s1.spool.spans_evicted + left, 40, "every spooled span is on disk or counted as evicted");

    // What is left is the newest sessions: the next client delivers exactly those.
    let server = TestServer::start_on(port, |_| Reply::ok());
    let second = client(builder(port, &dir).spool_max_bytes(bound));
    second.shutdown(LONG).unwrap();
    assert_eq!(second.stats().spool.spans_delivered, left);
    let got = server.accepted_spans();
    assert_eq!(got.len() as u64, left);
    assert_eq!(written.len(), 10, "each batch was written");
    assert_eq!(files, written[10 - files.len()..], "the oldest were evicted");
    assert_eq!(unique_span_ids(&got), kept);
}

#[test]
fn two_clients_on_one_spool_deliver_each_file_once() {
    let dir = spool_dir("shared");
    let port = closed_port();
    let first = client(builder(port, &dir));
    for i in 0..20 {
        session(&first, i % 3, 10);
        first.flush(LONG).unwrap();
    }
    first.shutdown(LONG).unwrap();
    let spooled = first.stats().spans_spooled;
    let files = spooled_files(&dir);
    assert_eq!(files.len(), 20);
    let all = ids_in(&files);
    assert_eq!(all.len() as u64, spooled);

    // Slow answers, so both clients' delivery threads are at work at the same time.
    let server = TestServer::start_on(port, |_| {
        std::thread::sleep(Duration::from_millis(20));
        Reply::ok()
    });
    let (a, b) = (client(builder(port, &dir)), client(builder(port, &dir)));
    let (ja, jb) = (std::thread::spawn(move || a.shutdown(LONG).map(|()| a.stats())), {
        std::thread::spawn(move || b.shutdown(LONG).map(|()| b.stats()))
    });
    let (sa, sb) = (ja.join().unwrap().unwrap(), jb.join().unwrap().unwrap());
    assert_eq!(sa.spool.files_delivered + sb.spool.files_delivered, 20, "{:#?} {:#?}", sa.spool, sb.spool);
    assert_eq!(sa.spool.spans_delivered + sb.spool.spans_delivered, spooled);
    assert_eq!(accepted(&server) as u64, spooled, "no span twice");
    assert_eq!(unique_span_ids(&server.accepted_spans()), all);
}

on_both_schemes! {
    fn a_running_client_delivers_its_spool_once_the_receiver_is_back(scheme: Scheme) {
        let dir = spool_dir(&format!("recovery-{scheme:?}"));
        let down = Arc::new(AtomicBool::new(true));
        let d = down.clone();
        let server = TestServer::start_as(scheme, 0, move |_| if d.load(Ordering::SeqCst) { Reply::status(503) } else { Reply::ok() });
        let port = server.port();
        let c = client(builder_as(scheme, port, &dir).spool_retry_interval(Duration::from_millis(20)));
        session(&c, 6, 10);
        c.flush(LONG).unwrap();
        assert_eq!(c.stats().spans_spooled, 7);
        down.store(false, Ordering::SeqCst);
        assert!(server.wait_until(LONG, |s| s.accepted_spans().len() >= 7), "delivered from the spool");
        c.shutdown(LONG).unwrap();
        let s = c.stats();
        assert_eq!((s.spool.spans_delivered, s.spool.files_delivered), (7, 1), "{:#?}", s.spool);
        assert_eq!(accepted(&server), 7);
        assert!(spooled_files(&dir).is_empty());
}
}

#[test]
fn spool_settings_are_checked() {
    let e = OtelConfig::builder().spool_max_bytes(8 << 20).build().unwrap_err();
    assert!(e.to_string().contains("spool_dir"), "{e}");
    let e = OtelConfig::builder().spool_dir("/tmp/x").spool_max_bytes(10).build().unwrap_err();
    assert!(e.to_string().contains("spool_max_bytes"), "{e}");
    // A spool directory that cannot be made is an error when the client is built.
    let file = spool_dir("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let b = OtelConfig::builder().otlp(OtlpExporterConfig::new("http://127.0.0.1:9")).spool_dir(file.join("sub"));
    let e = Client::new(b.build().unwrap()).unwrap_err();
    assert!(e.to_string().contains("spool"), "{e}");
}
