//! AgentOps' answers (`/v3/auth/token`, the v2 JWTs, `token_cost`): any bytes give
//! a token, a JWT and a cost that can be used, or a message, never a panic.
#![no_main]

use agentops::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (auth, jwt, cost) = fuzzing::agentops_answers(data);
    for token in [auth.map(|(t, _)| t), jwt].into_iter().flatten() {
        assert!(!token.is_empty() && !token.bytes().any(|b| b == b'\r' || b == b'\n'), "{token:?}");
    }
    if let Some(c) = cost {
        assert!(c.is_finite() && c >= 0.0, "{c}");
    }
});
