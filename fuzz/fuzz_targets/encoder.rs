//! The encoder over arbitrary JSON and strings: events whose params, returns,
//! prompts and names come from the input are exported (to memory) without a panic,
//! and every one of them is accounted for.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use agentops::{ActionEvent, Client, EndState, InMemoryExporter, LlmEvent, OtelConfig, ToolEvent};
use libfuzzer_sys::fuzz_target;

fn client() -> &'static (Client, InMemoryExporter) {
    static C: OnceLock<(Client, InMemoryExporter)> = OnceLock::new();
    C.get_or_init(|| {
        let memory = InMemoryExporter::new();
        let config =
            OtelConfig::builder().in_memory(memory.clone()).max_value_len(256).enable_metrics(false).build().unwrap();
        (Client::new(config).unwrap(), memory)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let value: serde_json::Value = serde_json::from_slice(data).unwrap_or(serde_json::Value::String(text.clone()));
    let (c, memory) = client();
    let before = c.stats().spans_recorded;
    let s = c.start_session(&[text.as_str()]);
    s.record(ToolEvent::new(text.clone()).params(&value).returns(&value).logs(text.clone()));
    s.record(ActionEvent::new(text.clone()).params(&value));
    s.record(LlmEvent::new(text.clone()).prompt(text.clone()).completion(text.clone()).params(&value));
    s.end(EndState::Success, text);
    c.flush(Duration::from_secs(10)).unwrap();
    memory.clear(); // what a long run exports must not accumulate
    let st = c.stats();
    assert_eq!(st.spans_recorded - before, 4);
    assert_eq!(st.spans_recorded, st.spans_exported + st.spans_dropped() + st.spans_filtered + st.spans_queued);
});
