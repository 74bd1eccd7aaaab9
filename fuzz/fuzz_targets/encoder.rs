//! The encoder over arbitrary JSON and strings: events whose params, returns,
//! prompts and names come from the input are exported (to memory) without a
//! panic, and every one of them is accounted for.
//!
//! The body is `agentops::fuzzing::targets::encoder`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::encoder(data));
