//! The export and sending threads run at the configured nice value (Linux): the
//! application's by default, lower when asked. A test binary of its own: it reads the
//! nice value of every `agentops-*` thread of the process, so no other test's
//! client may be running at the same time.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use agentops::{BatchConfig, Client, OtelConfig, OtlpExporterConfig};
use common::TestServer;

/// (thread name, nice) of this process's threads named `agentops-*`.
fn agentops_threads() -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // "tid (comm) state ppid …": nice is the 19th field, the 17th after ")".
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let name = head.split_once('(').map(|(_, n)| n.to_owned()).unwrap_or_default();
        if name.starts_with("agentops-") {
            let nice = rest.split_whitespace().nth(16).unwrap().parse().unwrap();
            out.push((name, nice));
        }
    }
    out.sort();
    out
}

/// The nice value this test runs at (the threads inherit it).
fn own_nice() -> i64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    stat.rsplit_once(')').unwrap().1.split_whitespace().nth(16).unwrap().parse().unwrap()
}

fn client(server: &TestServer, batch: BatchConfig) -> Client {
    let config = OtelConfig::builder().otlp(OtlpExporterConfig::new(server.base_url())).batch(batch).build().unwrap();
    Client::new(config).unwrap()
}

#[test]
fn export_threads_run_at_the_configured_nice_value() {
    let server = TestServer::otlp();
    assert!(agentops_threads().is_empty());

    let c = client(&server, BatchConfig::default().export_thread_nice(10));
    // The threads set their own priority as they start; the acknowledged flush
    // means every lane, and the metrics thread, has run.
    c.flush(Duration::from_secs(30)).unwrap();
    let threads = agentops_threads();
    let names: Vec<&str> = threads.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["agentops-export", "agentops-meter", "agentops-send-0", "agentops-send-1"]);
    let base = own_nice();
    assert!(threads.iter().all(|(_, nice)| *nice == base.max(10)), "{threads:?}");
    c.shutdown(Duration::from_secs(30)).unwrap();
    // Joined threads can stay listed in /proc for a moment after the join returns (the
    // kernel wakes the joiner before it unlists the task), so look until they are gone.
    let gone = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        agentops_threads().is_empty()
    });
    assert!(gone, "shutdown joins every thread: {:?}", agentops_threads());

    // The default: the application's priority.
    let c = client(&server, BatchConfig::default().max_concurrent_exports(1));
    c.flush(Duration::from_secs(30)).unwrap();
    let expected = ["agentops-export", "agentops-meter", "agentops-send"].map(|n| (n.to_owned(), base));
    assert_eq!(agentops_threads(), expected);
    c.shutdown(Duration::from_secs(30)).unwrap();
}
