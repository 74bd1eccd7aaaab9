//! What receivers answer: `Retry-After` values, OTLP `partialSuccess` bodies
//! (protobuf and JSON, spans and data points) and error bodies, read without a
//! panic and within bounds, whatever the bytes. A `Retry-After` may parse to any
//! length (`016001601600160` seconds did, in the first run); what is bounded is the
//! wait the retry policy takes from it.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentops::{fuzzing, RetryPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    for at in [now, SystemTime::UNIX_EPOCH] {
        let parsed = fuzzing::retry_after(&text, at);
        let wait = RetryPolicy::default().backoff(1, parsed, 0.5);
        assert!(wait <= Duration::from_secs(30), "{text:?} -> {parsed:?} -> {wait:?}");
    }
    let _ = fuzzing::partial_success(data);
    for ct in [Some("application/x-protobuf"), Some("application/json"), Some("text/plain"), None] {
        let shown = fuzzing::describe_body(data, ct);
        assert!(shown.len() <= 64 * 1024, "an error body is shown bounded");
    }
});
