//! W3C trace context handed in: any `traceparent` / `tracestate` (the first
//! line, then the rest) continues a session or is an `InvalidTraceContext`
//! error, never a panic; what a session gives out parses back to the same trace.
//!
//! The body is `agentops::fuzzing::targets::trace_context`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::trace_context(data));
