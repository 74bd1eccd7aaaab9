//! OTLP request bodies: encoding (protobuf or JSON, with opentelemetry-proto's
//! types), splitting under the request size limit, compression, and reading
//! `partialSuccess` from the answer. Shared by the OTLP and AgentOps exporters.

use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;
use serde::Serialize;

use crate::encode::protocol::Protocol;
use crate::encode::request::span_count;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::exporter::ExportOutcome;
use crate::export::metrics::MetricsOutcome;
use crate::transport::gzip::Gzip;
use crate::transport::outcome::Response;

fn encode(req: &ExportTraceServiceRequest, p: Protocol) -> Result<Vec<u8>, ExportError> {
    let mut buf = Vec::new();
    encode_into(req, p, &mut buf)?;
    Ok(buf)
}

/// Encodes any OTLP request into `buf` (cleared first), so one buffer can serve
/// every request.
fn encode_into<M: Message + Serialize>(req: &M, p: Protocol, buf: &mut Vec<u8>) -> Result<(), ExportError> {
    match p {
        Protocol::HttpProtobuf => {
            encode_protobuf(req, req.encoded_len(), buf);
            Ok(())
        }
        Protocol::HttpJson => serde_json::to_writer(
            {
                buf.clear();
                buf
            },
            req,
        )
        .map_err(|e| ExportError::new(ExportErrorKind::Encode, format!("JSON encoding failed: {e}"))),
    }
}

/// Protobuf with a length the caller already computed: the size pass over every
/// span is the costliest part of encoding, so it is done once, not three times
/// (the caller's check, `reserve`, and `Message::encode`'s own check).
fn encode_protobuf<M: Message>(req: &M, len: usize, buf: &mut Vec<u8>) {
    buf.clear();
    buf.reserve(len);
    req.encode_raw(buf);
}

/// Splits a request into two with about half the spans each, keeping resource and
/// scope of every span.
fn halve(req: &ExportTraceServiceRequest) -> (ExportTraceServiceRequest, ExportTraceServiceRequest) {
    let total = span_count(req);
    let mut left_budget = total / 2;
    let mut left = Vec::new();
    let mut right = Vec::new();
    for rs in &req.resource_spans {
        let mut l_scopes = Vec::new();
        let mut r_scopes = Vec::new();
        for ss in &rs.scope_spans {
            let take = left_budget.min(ss.spans.len());
            left_budget -= take;
            let (a, b) = ss.spans.split_at(take);
            for (part, out) in [(a, &mut l_scopes), (b, &mut r_scopes)] {
                if !part.is_empty() {
                    out.push(ScopeSpans {
                        scope: ss.scope.clone(),
                        spans: part.to_vec(),
                        schema_url: ss.schema_url.clone(),
                    });
                }
            }
        }
        for (scopes, out) in [(l_scopes, &mut left), (r_scopes, &mut right)] {
            if !scopes.is_empty() {
                out.push(ResourceSpans {
                    resource: rs.resource.clone(),
                    scope_spans: scopes,
                    schema_url: rs.schema_url.clone(),
                });
            }
        }
    }
    (ExportTraceServiceRequest { resource_spans: left }, ExportTraceServiceRequest { resource_spans: right })
}

/// An encoded request body and the number of spans in it.
pub(crate) struct EncodedRequest {
    pub body: Vec<u8>,
    pub spans: usize,
}

/// Encodes `req`, splitting it until every body fits in `max_bytes`. Returns the
/// bodies and the number of spans that alone exceed the limit (left out).
/// `buf` is used for the body of an unsplit request (the common case), so the
/// caller can hand the same allocation back next time.
pub(crate) fn encode_requests(
    req: &ExportTraceServiceRequest,
    p: Protocol,
    max_bytes: usize,
    buf: &mut Vec<u8>,
) -> Result<(Vec<EncodedRequest>, usize), ExportError> {
    // The common case: the whole batch fits, encoded straight from the borrowed request.
    let encoded = match p {
        Protocol::HttpProtobuf => {
            let len = req.encoded_len();
            if len <= max_bytes {
                encode_protobuf(req, len, buf);
            }
            len <= max_bytes
        }
        Protocol::HttpJson => {
            encode_into(req, p, buf)?;
            true
        }
    };
    if encoded && buf.len() <= max_bytes {
        let body = std::mem::take(buf);
        let spans = span_count(req);
        return Ok((if spans == 0 { vec![] } else { vec![EncodedRequest { body, spans }] }, 0));
    }
    let mut out = Vec::new();
    let mut too_large = 0;
    let mut stack = vec![req.clone()];
    while let Some(r) = stack.pop() {
        let n = span_count(&r);
        if n == 0 {
            continue;
        }
        let fits = match p {
            Protocol::HttpProtobuf => r.encoded_len() <= max_bytes,
            Protocol::HttpJson => true, // checked after encoding below
        };
        let body = if fits { Some(encode(&r, p)?) } else { None };
        match body {
            Some(body) if body.len() <= max_bytes => out.push(EncodedRequest { body, spans: n }),
            _ if n == 1 => too_large += 1,
            _ => {
                let (a, b) = halve(&r);
                // Pushed in reverse so requests go out in span order.
                stack.push(b);
                stack.push(a);
            }
        }
    }
    Ok((out, too_large))
}

/// Which OTLP signal a response answers; their `partialSuccess` counts different things.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

/// Reads `partialSuccess` from an OTLP response body (rejected spans or data points,
/// and the message); `None` when the body is empty or reports nothing rejected.
pub(crate) fn decode_partial_success(body: &[u8], p: Protocol, signal: Signal) -> Option<(u64, String)> {
    if body.is_empty() {
        return None;
    }
    let (rejected, message) = match p {
        Protocol::HttpProtobuf => match signal {
            Signal::Traces => {
                let ps = ExportTraceServiceResponse::decode(body).ok()?.partial_success?;
                (ps.rejected_spans, ps.error_message)
            }
            Signal::Metrics => {
                let ps = ExportMetricsServiceResponse::decode(body).ok()?.partial_success?;
                (ps.rejected_data_points, ps.error_message)
            }
        },
        // OTLP/JSON writes int64 as a string ("2") and decoders must accept a number
        // too, which opentelemetry-proto's serde types do not: read it by hand.
        Protocol::HttpJson => {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            let ps = v.get("partialSuccess")?;
            let key = match signal {
                Signal::Traces => "rejectedSpans",
                Signal::Metrics => "rejectedDataPoints",
            };
            let rejected = match ps.get(key) {
                Some(serde_json::Value::String(s)) => s.parse().ok()?,
                Some(n) => n.as_i64()?,
                None => 0,
            };
            let msg = ps.get("errorMessage").and_then(|m| m.as_str()).unwrap_or_default();
            (rejected, msg.to_owned())
        }
    };
    if rejected <= 0 && message.is_empty() {
        return None;
    }
    Some((rejected.max(0) as u64, message))
}

/// Encodes a metrics request, compresses it when `gzip` is given, sends it with
/// `send` (as [`export_request`] does for spans) and reads what the receiver
/// rejected. Metrics requests are not split: one collection holds one point per
/// instrument and attribute set, kilobytes where a span batch holds megabytes.
pub(crate) fn export_metrics_request(
    req: &ExportMetricsServiceRequest,
    protocol: Protocol,
    buf: &mut Vec<u8>,
    gzip: Option<&mut Gzip>,
    send: impl FnOnce(&[u8], Option<&'static str>) -> Result<Response, ExportError>,
) -> Result<MetricsOutcome, ExportError> {
    encode_into(req, protocol, buf)?;
    let resp = match gzip {
        Some(g) => send(g.compress(buf), Some("gzip")),
        None => send(buf, None),
    }?;
    Ok(match decode_partial_success(&resp.body, protocol, Signal::Metrics) {
        Some((rejected_points, msg)) => MetricsOutcome {
            rejected_points,
            message: Some(format!("receiver rejected {rejected_points} data point(s): {msg}")),
        },
        None => MetricsOutcome::default(),
    })
}

/// Sends a request already encoded (`spans` spans in `body`), compressed when
/// `gzip` is given, and reads what the receiver rejected.
pub(crate) fn export_encoded(
    body: &[u8],
    spans: usize,
    protocol: Protocol,
    gzip: Option<&mut Gzip>,
    send: impl FnOnce(&[u8], Option<&'static str>) -> Result<Response, ExportError>,
) -> Result<ExportOutcome, ExportError> {
    let resp = match gzip {
        Some(g) => send(g.compress(body), Some("gzip")),
        None => send(body, None),
    }?;
    let mut outcome = ExportOutcome::default();
    if let Some((rejected, msg)) = decode_partial_success(&resp.body, protocol, Signal::Traces) {
        outcome.rejected_spans = rejected.min(spans as u64);
        outcome.message = Some(format!("receiver rejected {rejected} span(s): {msg}"));
    }
    Ok(outcome)
}

/// Encodes `req` (split under `max_bytes`), compresses each part when `gzip` is
/// given, sends it with `send` (body and `Content-Encoding`), and adds up what the
/// receiver took: the batch fails only if no part got through. `buf` lends the
/// body's allocation and gets it back.
pub(crate) fn export_request(
    req: &ExportTraceServiceRequest,
    protocol: Protocol,
    max_bytes: usize,
    buf: &mut Vec<u8>,
    mut gzip: Option<&mut Gzip>,
    mut send: impl FnMut(&[u8], Option<&'static str>) -> Result<Response, ExportError>,
) -> Result<ExportOutcome, ExportError> {
    let (mut requests, too_large) = encode_requests(req, protocol, max_bytes, buf)?;
    let mut outcome = ExportOutcome::default();
    if too_large > 0 {
        outcome.rejected_spans += too_large as u64;
        outcome.message =
            Some(format!("{too_large} span(s) larger than the request limit of {max_bytes} bytes were left out"));
    }
    let mut delivered_any = false;
    let mut last_err = None;
    for r in &requests {
        let sent = match gzip.as_deref_mut() {
            Some(g) => send(g.compress(&r.body), Some("gzip")),
            None => send(&r.body, None),
        };
        match sent {
            Ok(resp) => {
                delivered_any = true;
                if let Some((rejected, msg)) = decode_partial_success(&resp.body, protocol, Signal::Traces) {
                    outcome.rejected_spans += rejected.min(r.spans as u64);
                    outcome.message = Some(format!("receiver rejected {rejected} span(s): {msg}"));
                }
            }
            Err(e) => {
                outcome.rejected_spans += r.spans as u64;
                last_err = Some(e);
            }
        }
    }
    if let [only] = requests.as_mut_slice() {
        *buf = std::mem::take(&mut only.body);
    }
    match last_err {
        // Nothing of the batch got through: report the failure as such.
        Some(e) if !delivered_any => Err(e),
        Some(e) => {
            outcome.message = Some(format!("part of the batch failed: {e}"));
            Ok(outcome)
        }
        None => Ok(outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
    use opentelemetry_proto::tonic::trace::v1::Span;

    fn request(n: usize, payload: usize) -> ExportTraceServiceRequest {
        let spans = (0..n)
            .map(|i| Span {
                trace_id: vec![1; 16],
                span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                name: "x".repeat(payload),
                ..Default::default()
            })
            .collect();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans { scope: None, spans, schema_url: String::new() }],
                schema_url: String::new(),
            }],
        }
    }

    #[test]
    fn large_requests_are_split_in_order_and_keep_every_span() {
        for p in [Protocol::HttpProtobuf, Protocol::HttpJson] {
            let req = request(100, 1000);
            let (parts, too_large) = encode_requests(&req, p, 10_000, &mut Vec::new()).unwrap();
            assert_eq!(too_large, 0);
            assert!(parts.len() >= 10, "{}", parts.len());
            assert_eq!(parts.iter().map(|r| r.spans).sum::<usize>(), 100);
            let mut ids = Vec::new();
            for part in &parts {
                assert!(part.body.len() <= 10_000);
                let decoded: ExportTraceServiceRequest = match p {
                    Protocol::HttpProtobuf => ExportTraceServiceRequest::decode(&part.body[..]).unwrap(),
                    Protocol::HttpJson => serde_json::from_slice(&part.body).unwrap(),
                };
                for s in &decoded.resource_spans[0].scope_spans[0].spans {
                    ids.push(u64::from_be_bytes(s.span_id.clone().try_into().unwrap()));
                }
            }
            assert_eq!(ids, (1..=100).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_single_span_over_the_limit_is_left_out_and_counted() {
        let mut req = request(3, 10);
        req.resource_spans[0].scope_spans[0].spans[1].name = "y".repeat(5000);
        let (parts, too_large) = encode_requests(&req, Protocol::HttpProtobuf, 2000, &mut Vec::new()).unwrap();
        assert_eq!(too_large, 1);
        assert_eq!(parts.iter().map(|r| r.spans).sum::<usize>(), 2);
    }

    #[test]
    fn partial_success_is_read_in_both_encodings() {
        let resp = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess { rejected_spans: 3, error_message: "too old".into() }),
        };
        let pb = resp.encode_to_vec();
        let t = Signal::Traces;
        assert_eq!(decode_partial_success(&pb, Protocol::HttpProtobuf, t), Some((3, "too old".into())));
        let js = serde_json::to_vec(&resp).unwrap();
        assert_eq!(decode_partial_success(&js, Protocol::HttpJson, t), Some((3, "too old".into())));
        let js = br#"{"partialSuccess":{"rejectedSpans":"4","errorMessage":"x"}}"#;
        assert_eq!(decode_partial_success(js, Protocol::HttpJson, t), Some((4, "x".into())));
        assert_eq!(decode_partial_success(br#"{"partialSuccess":{}}"#, Protocol::HttpJson, t), None);
        assert_eq!(decode_partial_success(b"{}", Protocol::HttpJson, t), None);
        assert_eq!(decode_partial_success(b"", Protocol::HttpProtobuf, t), None);
    }

    #[test]
    fn metrics_partial_success_counts_data_points() {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsPartialSuccess;
        let resp = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess { rejected_data_points: 2, error_message: "bad".into() }),
        };
        let m = Signal::Metrics;
        assert_eq!(decode_partial_success(&resp.encode_to_vec(), Protocol::HttpProtobuf, m), Some((2, "bad".into())));
        let js = br#"{"partialSuccess":{"rejectedDataPoints":"5","errorMessage":"x"}}"#;
        assert_eq!(decode_partial_success(js, Protocol::HttpJson, m), Some((5, "x".into())));
        // A traces answer's key says nothing about data points.
        let js = br#"{"partialSuccess":{"rejectedSpans":"5"}}"#;
        assert_eq!(decode_partial_success(js, Protocol::HttpJson, m), None);
    }
}
