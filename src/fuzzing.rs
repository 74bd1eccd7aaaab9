//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not part of the
//! API): the parsers of what receivers answer, which are internal.

use std::time::{Duration, SystemTime};

use crate::config::otlp::Protocol;
use crate::exporters::otlp_body::{decode_partial_success, Signal};

/// `Retry-After`, as seconds or an HTTP date, relative to `now`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    crate::transport::retry_after::parse_retry_after(value, now)
}

/// `partialSuccess` of an OTLP answer (spans, then data points), both encodings.
pub fn partial_success(body: &[u8]) -> [Option<(u64, String)>; 4] {
    let (pb, js) = (Protocol::HttpProtobuf, Protocol::HttpJson);
    [
        decode_partial_success(body, pb, Signal::Traces),
        decode_partial_success(body, js, Signal::Traces),
        decode_partial_success(body, pb, Signal::Metrics),
        decode_partial_success(body, js, Signal::Metrics),
    ]
}

/// An error body as the log shows it (`google.rpc.Status`, JSON or text).
pub fn describe_body(body: &[u8], content_type: Option<&str>) -> String {
    crate::transport::rpc_status::describe_body(body, content_type)
}

/// AgentOps' answers: `/v3/auth/token`, a v2 JWT, `update_session`'s `token_cost`.
#[allow(clippy::type_complexity)]
pub fn agentops_answers(body: &[u8]) -> (Result<(String, String), String>, Result<String, String>, Option<f64>) {
    use crate::exporters::agentops::answers;
    (answers::auth_token(body), answers::jwt(body, "/v2/create_session"), answers::token_cost(body))
}
