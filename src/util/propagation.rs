//! W3C Trace Context in text: the `traceparent` and `tracestate` values that carry
//! a session into another process (HTTP headers, or the `TRACEPARENT` /
//! `TRACESTATE` environment variables, the OpenTelemetry convention for child
//! processes). Parsing is strict where the specification is (lowercase hex, no
//! all-zero ids, version `ff` invalid) and says why a value was refused.

use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Formats a span context as a `traceparent` value: `00-{trace}-{span}-{flags}`.
pub(crate) fn traceparent(sc: &SpanContext) -> String {
    format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), sc.trace_flags().to_u8() & 1)
}

fn hex_field(s: &str, len: usize, what: &'static str) -> Result<Vec<u8>, String> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("the {what} must be {len} lowercase hex digits"));
    }
    (0..len).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

/// Parses a `traceparent` value (and an optional `tracestate`) into a remote span
/// context; `Err` says why it is not one.
pub(crate) fn parse(traceparent: &str, tracestate: Option<&str>) -> Result<SpanContext, String> {
    let v = traceparent.trim();
    let parts: Vec<&str> = v.split('-').collect();
    if parts.len() < 4 {
        return Err("expected version-traceid-parentid-flags".into());
    }
    let version = hex_field(parts[0], 2, "version")?[0];
    if version == 0xff {
        return Err("version ff is invalid".into());
    }
    // Version 00 has exactly four fields; later versions may append more.
    if version == 0 && parts.len() != 4 {
        return Err("version 00 has exactly four fields".into());
    }
    let trace: [u8; 16] = hex_field(parts[1], 32, "trace id")?.try_into().map_err(|_| "trace id")?;
    let span: [u8; 8] = hex_field(parts[2], 16, "parent id")?.try_into().map_err(|_| "parent id")?;
    let flags = hex_field(parts[3], 2, "flags")?[0];
    let (trace_id, span_id) = (TraceId::from_bytes(trace), SpanId::from_bytes(span));
    if trace_id == TraceId::INVALID {
        return Err("the trace id is all zeros".into());
    }
    if span_id == SpanId::INVALID {
        return Err("the parent id is all zeros".into());
    }
    let state = match tracestate.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => TraceState::from_str(s).map_err(|e| format!("invalid tracestate: {e}"))?,
        None => TraceState::NONE,
    };
    Ok(SpanContext::new(trace_id, span_id, TraceFlags::new(flags & 1), true, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_value_round_trips() {
        let sc = parse(VALID, Some("vendor=abc,other=1")).unwrap();
        assert!(sc.is_remote() && sc.is_sampled() && sc.is_valid());
        assert_eq!(traceparent(&sc), VALID);
        assert_eq!(sc.trace_state().get("vendor"), Some("abc"));
        let unsampled = parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", None).unwrap();
        assert!(!unsampled.is_sampled());
        // A later version may carry more fields.
        assert!(parse(&format!("01-{}-extra", &VALID[3..]), None).is_ok());
    }

    #[test]
    fn malformed_values_say_why() {
        for (bad, why) in [
            ("", "expected"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "expected"),
            ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "lowercase"),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "all zeros"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "all zeros"),
            ("00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01", "32 lowercase"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", "exactly four"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz", "flags"),
            ("0é-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version"),
        ] {
            let err = parse(bad, None).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(parse(VALID, Some("not a state")).unwrap_err().contains("tracestate"));
    }
}
