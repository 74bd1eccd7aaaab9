//! The provider adapters and streams: any response body (and any stream bytes,
//! split anywhere) gives an event or a typed error, never a panic.
#![no_main]

use agentops::providers::{anthropic, gemini, openai, Stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let _ = openai::chat_completion(&request[..], data);
    let _ = openai::responses(&request[..], data);
    let _ = anthropic::messages(&request[..], data);
    let _ = gemini::generate_content("m", &request[..], data);
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let streams = [
        Stream::openai_chat(&request[..]),
        Stream::openai_responses(&request[..]),
        Stream::anthropic(&request[..]),
        Stream::gemini("m", &request[..]),
    ];
    for stream in streams.into_iter().flatten() {
        let mut s = stream;
        if s.push(&data[..split]).is_ok() && s.push(&data[split..]).is_ok() {
            let _ = s.finish();
        }
    }
});
