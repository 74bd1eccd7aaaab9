//! Error bodies made readable. OTLP receivers answer failures with a
//! `google.rpc.Status` (protobuf or JSON, like the request); shown raw, a protobuf
//! one reads `\u{8}\u{5}\u{12}7unknown path …`. This decodes it, and falls back to
//! the body's text, or its size when it is binary.

use prost::Message;

/// `google.rpc.Status` (code, message; the `details` are not shown). opentelemetry-proto
/// does not ship this message, so it is declared here for decoding only.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Longest excerpt of a text body in a message.
const MAX_EXCERPT: usize = 200;

/// What a failed response's body says, for an error message: `": <message>"`, or
/// `""` for an empty body.
pub(crate) fn describe_body(body: &[u8], content_type: Option<&str>) -> String {
    if body.is_empty() {
        return String::new();
    }
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    if ct.contains("protobuf") {
        if let Ok(status) = RpcStatus::decode(body) {
            if !status.message.is_empty() {
                return format!(": {}", excerpt(&status.message));
            }
        }
    }
    if ct.contains("json") || body.first() == Some(&b'{') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            let msg = v.get("message").or_else(|| v.get("error")).and_then(|m| m.as_str());
            if let Some(m) = msg.filter(|m| !m.is_empty()) {
                return format!(": {}", excerpt(m));
            }
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            let text = text.trim();
            if text.is_empty() {
                String::new()
            } else {
                format!(": {}", excerpt(text))
            }
        }
        _ => format!(" ({} bytes of binary body)", body.len()),
    }
}

fn excerpt(text: &str) -> String {
    if text.len() <= MAX_EXCERPT {
        return text.to_owned();
    }
    let mut at = MAX_EXCERPT;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}…", &text[..at])
}

/// A hint for a 404 whose URL shows a common mistake: a full signal URL given where
/// the base endpoint was expected, so a signal path is doubled (`/v1/traces/v1/traces`,
/// or `/v1/traces/v1/metrics` when metrics are appended to a traces URL).
pub(crate) fn not_found_hint(url: &str) -> Option<String> {
    let path = url.split('?').next().unwrap_or(url).trim_end_matches('/');
    let signal = ["traces", "metrics"].into_iter().find(|s| path.ends_with(&format!("/v1/{s}")))?;
    let base = &path[..path.len() - "/v1/".len() - signal.len()];
    let first = ["traces", "metrics"].into_iter().find(|s| base.ends_with(&format!("/v1/{s}")))?;
    let var = signal.to_ascii_uppercase();
    Some(format!(
        "; the URL ends in /v1/{first}/v1/{signal}: OTEL_EXPORTER_OTLP_ENDPOINT (and OtlpExporterConfig::new) take the base \
         URL (/v1/{signal} is appended to it), so drop the path from it, or give the full URL in \
         OTEL_EXPORTER_OTLP_{var}_ENDPOINT"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_are_decoded() {
        let pb = RpcStatus { code: 5, message: "unknown path /x".into() }.encode_to_vec();
        assert_eq!(describe_body(&pb, Some("application/x-protobuf")), ": unknown path /x");
        let js = br#"{"code":3,"message":"bad span","details":[]}"#;
        assert_eq!(describe_body(js, Some("application/json")), ": bad span");
        assert_eq!(describe_body(b"  plain text \n", Some("text/plain")), ": plain text");
        assert_eq!(describe_body(b"", None), "");
        assert_eq!(describe_body(&[0, 159, 146, 150, 8], None), " (5 bytes of binary body)");
        let long = "é".repeat(300);
        assert!(describe_body(long.as_bytes(), None).ends_with('…'));
    }

    #[test]
    fn doubled_paths_get_a_hint() {
        let hint = not_found_hint("http://h:4318/v1/traces/v1/traces").unwrap();
        assert!(hint.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "{hint}");
        let hint = not_found_hint("http://h:4318/v1/traces/v1/metrics/").unwrap();
        assert!(
            hint.contains("/v1/traces/v1/metrics") && hint.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            "{hint}"
        );
        assert!(not_found_hint("http://h:4318/v1/traces").is_none());
        assert!(not_found_hint("http://h:4318/v1/metrics").is_none());
    }
}
