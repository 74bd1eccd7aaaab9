//! AgentOps' answers (`/v3/auth/token`, the v2 JWTs, `token_cost`): any bytes
//! give a token, a JWT and a cost that can be used, or a message, never a panic.
//!
//! The body is `agentops::fuzzing::targets::agentops_answers`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::agentops_answers(data));
