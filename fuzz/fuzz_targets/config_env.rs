//! Configuration from the environment: any set of variables (one `NAME=value` a
//! line) gives a configuration or a `ConfigError`, never a panic.
//!
//! The body is `agentops::fuzzing::targets::config_env`, which `tests/fuzz_corpus.rs`
//! also runs over this target's stored corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| agentops::fuzzing::targets::config_env(data));
