//! caller_floor — what the workload's own allocations cost a caller, with no pipeline.
//!
//! `benches/pipeline.rs` times, per call, a prompt clone (B bytes), a completion clone
//! (B/2) and the recording. Any batching pipeline holds events in memory between the
//! call that records them and the export that frees them; this bench does the same
//! clones and writes a box the size of a recorded event (384 bytes) on one thread,
//! holding the last K events and freeing the oldest 8 every 8th call (as this crate's
//! callers free returned events), and prints the per-call latency for each K. With K
//! small the memory stays in the core's caches; with K in the thousands every call
//! writes memory last touched long ago, which is the regime a burst puts both
//! pipelines of `benches/compare.sh` in (tens of thousands of events queued when the
//! producer finishes). At the K a pipeline holds, that per-call time is a floor under
//! its median call.
//!
//! Usage: cargo bench --bench caller_floor -- [--events N] [--prompt-bytes B] [--in-flight K,K,…]
//! Prints one JSON line per K (`all`: nothing freed), each measured in a fresh process.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant;

/// The caller's side of one recorded event: its texts and a box of a recorded
/// event's size (`size_of::<RecordedEvent>()` is 384 on x86_64).
#[allow(dead_code)] // written, held and freed, never read: what a queued event is to its caller
struct Held {
    prompt: String,
    completion: String,
    rest: [u64; 42],
}

fn pct(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn run(events: usize, prompt: &str, completion: &str, in_flight: usize) -> Vec<u64> {
    let mut held: VecDeque<Box<Held>> = VecDeque::with_capacity(in_flight + 16);
    let mut lat = Vec::with_capacity(events);
    for i in 0..events {
        let t0 = Instant::now();
        if i % 8 == 7 && held.len() > in_flight {
            for _ in 0..8 {
                held.pop_front();
            }
        }
        let mut rest = [0u64; 42];
        rest[i % 42] = i as u64;
        held.push_back(Box::new(Held { prompt: prompt.to_owned(), completion: completion.to_owned(), rest }));
        lat.push(t0.elapsed().as_nanos() as u64);
    }
    black_box(&held);
    lat
}

fn main() {
    let (mut events, mut prompt_bytes) = (100_000usize, 1024usize);
    let mut in_flight = vec![0usize, 512, 2048, 4096, 8192, 32_768, usize::MAX];
    let mut one = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--events" => events = val().parse().expect("a number"),
            "--prompt-bytes" => prompt_bytes = val().parse().expect("a number"),
            "--in-flight" => {
                in_flight = val()
                    .split(',')
                    .map(|k| if k == "all" { usize::MAX } else { k.parse().expect("a number or all") })
                    .collect()
            }
            "--one" => one = true,
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    if !one {
        // Each K in a process of its own: glibc hands an exited thread's malloc arena,
        // with the pages it faulted in, to the next thread, so a K run after another in
        // one process would not start from the same memory.
        let exe = std::env::current_exe().expect("this bench's path");
        for k in in_flight {
            let k = if k == usize::MAX { "all".to_string() } else { k.to_string() };
            let status = std::process::Command::new(&exe)
                .args(["--one", "--events", &events.to_string(), "--prompt-bytes", &prompt_bytes.to_string()])
                .args(["--in-flight", &k])
                .status()
                .expect("run one K");
            assert!(status.success(), "caller_floor --one --in-flight {k} failed");
        }
        return;
    }
    let (prompt, completion) = ("p".repeat(prompt_bytes), "c".repeat(prompt_bytes / 2));
    let k = in_flight[0];
    // On a thread of its own, with its own malloc arena, as a producer of the
    // pipeline bench is.
    let mut lat = std::thread::spawn(move || run(events, &prompt, &completion, k)).join().expect("run");
    lat.sort_unstable();
    let k = if k == usize::MAX { "\"all\"".to_string() } else { k.to_string() };
    println!(
        "{{\"in_flight\":{k},\"events\":{events},\"caller_p50_ns\":{},\"caller_p90_ns\":{},\"caller_p99_ns\":{}}}",
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99)
    );
}
