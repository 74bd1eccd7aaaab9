//! The provider adapters and streams: any response body (and any stream bytes,
//! split anywhere) gives an event or a typed error, never a panic.
//!
//! The body is `agentops::fuzzing::targets::providers`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::providers(data));
