//! floor — what any export pipeline must spend per span on this machine, with no
//! encoding at all: the pinned workload of `benches/pipeline.rs` (a producer on CPU 0
//! cloning a B-byte prompt and a B/2-byte completion into each event, a queue as deep
//! as the burst), drained by one thread that copies each event's bytes into a request
//! buffer (padded to the real span's size), frees the event, and writes each 1 MiB
//! request to a receiver on CPU 1 in one `write_all`. The consumer runs at nice 10 on
//! CPU 0, as the export threads do. It prints, per span, the consumer's CPU split into
//! the socket writes and the rest (reading the caller's cold memory, copying, freeing),
//! and the peak RSS: what holding the burst's events costs before any encoding.
//!
//! Usage: cargo bench --bench floor -- [--events N] [--prompt-bytes B] [--span-bytes S]

// It pins threads (sched_setaffinity) and reads /proc: Linux only.
#[cfg(target_os = "linux")]
mod linux {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;

    struct Event {
        model: String,
        prompt: String,
        completion: String,
        ids: [u8; 24],
    }

    fn pin(cpu: usize) {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }

    fn thread_cpu_s() -> f64 {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }

    /// Peak resident memory (VmHWM), in kB.
    fn peak_rss_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn main() {
        let mut events = 100_000usize;
        let mut prompt_bytes = 1024usize;
        let mut span_bytes = 2200usize;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || args.next().and_then(|v| v.parse().ok()).expect("a number after the flag");
            match a.as_str() {
                "--events" => events = val(),
                "--prompt-bytes" => prompt_bytes = val(),
                "--span-bytes" => span_bytes = val(),
                "--bench" => {}
                other => panic!("unknown flag {other}"),
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let receiver = std::thread::spawn(move || {
            pin(1);
            let (mut s, _) = listener.accept().expect("accept");
            let (mut buf, mut n) = (vec![0u8; 1 << 20], 0usize);
            while let Ok(k @ 1..) = s.read(&mut buf) {
                n += k;
            }
            n
        });
        pin(0);
        let (tx, rx) = crossbeam_channel::bounded::<Box<Event>>(524_288);
        let consumer = std::thread::spawn(move || {
            pin(0);
            // SAFETY: plain syscall on this thread.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
            let mut sock = TcpStream::connect(addr).expect("connect");
            let pad = vec![b'a'; span_bytes];
            let (mut req, mut in_req, mut write_s, mut sent) = (Vec::with_capacity(1 << 20), 0, 0.0, 0usize);
            let start = thread_cpu_s();
            let mut flush = |req: &mut Vec<u8>, write_s: &mut f64| {
                let t = thread_cpu_s();
                sock.write_all(req).expect("write");
                *write_s += thread_cpu_s() - t;
                req.clear();
            };
            for e in rx {
                let before = req.len();
                req.extend_from_slice(e.model.as_bytes());
                req.extend_from_slice(e.prompt.as_bytes());
                req.extend_from_slice(e.completion.as_bytes());
                req.extend_from_slice(&e.ids);
                let rest = span_bytes.saturating_sub(req.len() - before);
                req.extend_from_slice(&pad[..rest]);
                drop(e);
                in_req += 1;
                sent += 1;
                if req.len() + span_bytes > 1 << 20 {
                    flush(&mut req, &mut write_s);
                    in_req = 0;
                }
            }
            if in_req > 0 {
                flush(&mut req, &mut write_s);
            }
            (thread_cpu_s() - start, write_s, sent)
        });
        let (prompt, completion) = ("p".repeat(prompt_bytes), "c".repeat(prompt_bytes / 2));
        let t0 = Instant::now();
        let p0 = thread_cpu_s();
        for i in 0..events {
            let mut ids = [0u8; 24];
            ids[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let e = Event { model: "gpt-4o".into(), prompt: prompt.clone(), completion: completion.clone(), ids };
            tx.send(Box::new(e)).expect("queue");
        }
        let producer_s = thread_cpu_s() - p0;
        drop(tx);
        let (consumer_s, write_s, sent) = consumer.join().expect("consumer");
        let wall = t0.elapsed().as_secs_f64();
        let received = receiver.join().expect("receiver");
        assert_eq!(received, sent * span_bytes, "every byte arrives");
        let per = |s: f64| s * 1e9 / sent as f64;
        println!(
            "{{\"events\":{sent},\"span_bytes\":{span_bytes},\"wall_s\":{wall:.3},\"producer_ns_per_span\":{:.0},\
             \"consumer_ns_per_span\":{:.0},\"socket_write_ns_per_span\":{:.0},\"read_copy_free_ns_per_span\":{:.0},\
             \"peak_rss_kb\":{}}}",
            per(producer_s),
            per(consumer_s),
            per(write_s),
            per(consumer_s - write_s),
            peak_rss_kb()
        );
    }
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("floor: Linux only (it pins threads and reads /proc)");
}
