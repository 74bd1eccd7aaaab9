//! W3C trace context handed in: any `traceparent` / `tracestate` continues a
//! session or is an `InvalidTraceContext` error, never a panic; what a session
//! gives out parses back to the same trace.
#![no_main]

use std::sync::OnceLock;

use agentops::{Client, OtelConfig};
use libfuzzer_sys::fuzz_target;

fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| Client::new(OtelConfig::builder().disabled(true).build().unwrap()).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tp, state) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(b) = client().session().traceparent(tp, Some(state)) {
        let s = b.start();
        let again = client().session().traceparent(&s.traceparent(), Some(&s.tracestate())).unwrap().start();
        assert_eq!(again.trace_id(), s.trace_id());
    }
});
