//! What receivers answer: `Retry-After` values, OTLP `partialSuccess` bodies
//! (protobuf and JSON, spans and data points) and error bodies, read without a
//! panic and within bounds. A `Retry-After` may parse to any length
//! (`016001601600160` seconds did, in the first run); what is bounded is the
//! wait the retry policy takes from it.
//!
//! The body is `agentops::fuzzing::targets::responses`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::responses(data));
