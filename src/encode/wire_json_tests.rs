//! The direct JSON writer against opentelemetry-proto: for arbitrary described
//! spans (the strategies of `wire_tests.rs`), what is written deserializes with
//! opentelemetry-proto's serde to exactly what its own JSON of the same spans, built
//! as `SpanData` by the struct path, deserializes to.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;

use super::{put_otlp_span_json, JsonFrame, JsonSpan};
use crate::encode::request::{json_frame, to_otlp_request};
use crate::encode::span::describe_definition;
use crate::encode::wire::tests::{definition, described, ids, resource, scope};

/// What opentelemetry-proto's own JSON of `req` reads back as.
fn own_encoding_decoded(req: &ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    serde_json::from_slice(&serde_json::to_vec(req).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn direct_json_decodes_as_the_proto_crates_json(
        spans in prop::collection::vec((described(), ids()), 1..6),
        defined in prop::option::of((definition(), ids())),
        sdk in prop::option::of((definition(), ids())),
    ) {
        let (resource, scope) = (resource(), scope());
        let frame = json_frame(&resource, &scope);
        let mut buf = String::new();
        frame.start(&mut buf);
        let mut n = 0;
        for (span, ids) in &spans {
            JsonFrame::separator(&mut buf, n);
            span.describe(*ids, &mut JsonSpan::new(&mut buf));
            n += 1;
        }
        let mut all: Vec<_> = spans.iter().map(|(span, ids)| span.span_data(*ids, &scope)).collect();
        if let Some((def, ids)) = defined {
            JsonFrame::separator(&mut buf, n);
            describe_definition(&def, ids, &mut JsonSpan::new(&mut buf));
            n += 1;
            all.push(def.into_span_data(ids.0, ids.1, ids.2, scope.clone()));
        }
        if let Some((def, (t, s, p))) = sdk {
            let data = def.into_span_data(t, s, p, scope.clone());
            JsonFrame::separator(&mut buf, n);
            put_otlp_span_json(&mut buf, &data.clone().into());
            all.push(data);
        }
        frame.finish(&mut buf);
        let got: ExportTraceServiceRequest = serde_json::from_str(&buf).expect("the text decodes");
        let expected = own_encoding_decoded(&to_otlp_request(all, &resource));
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn integers_are_written_as_rust_formats_them() {
    let mut values = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, 12_345, u64::MAX, u64::MAX - 1, 1 << 63];
    values.extend((0..20).map(|p| 10u64.pow(p)).flat_map(|v| [v - 1, v, v + 1]));
    for v in values {
        let mut out = String::new();
        super::push_u64(&mut out, v);
        assert_eq!(out, v.to_string());
    }
}
