//! The fuzz targets' stored corpora (`fuzz/corpus/<target>/`), replayed through the
//! targets' own bodies (`agentops::fuzzing::targets`, feature `fuzzing`), so every
//! input a fuzzing run kept, crashes found before included, is checked again by
//! `cargo test --all-features` without cargo-fuzz or a nightly toolchain.
#![cfg(feature = "fuzzing")]

use std::path::Path;

use agentops::fuzzing::targets;

/// Runs `target` over every file of its corpus; the number of inputs.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(name);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| target(&data));
        assert!(outcome.is_ok(), "{name}: {} fails", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "{name}: the corpus is empty");
    inputs
}

#[test]
fn config_env() {
    replay("config_env", targets::config_env);
}

#[test]
fn providers() {
    replay("providers", targets::providers);
}

#[test]
fn trace_context() {
    replay("trace_context", targets::trace_context);
}

#[test]
fn responses() {
    replay("responses", targets::responses);
}

#[test]
fn agentops_answers() {
    replay("agentops_answers", targets::agentops_answers);
}

#[test]
fn encoder() {
    replay("encoder", targets::encoder);
}
