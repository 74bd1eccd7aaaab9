//! Arbitrary strings, numbers and nested JSON through the encoder and both OTLP
//! encodings: the output always decodes back to the same request, string values
//! respect the length limit, and nothing panics.

use std::sync::Arc;
use std::time::Duration;

use agentops::event::{ChatMessage, Event};
use agentops::exporters::{ExportBatch, ExportContext, ExportError, ExportOutcome, Exporter};
use agentops::otel::ExportTraceServiceRequest;
use agentops::{ActionEvent, Client, EndState, ErrorEvent, LlmEvent, OtelConfig, ToolEvent};
use opentelemetry_proto::tonic::common::v1::any_value;
use parking_lot::Mutex;
use proptest::prelude::*;
use prost::Message;
use serde_json::Value as Json;

const LIMIT: usize = 200;

/// Re-encodes every batch both ways and records any mismatch.
struct RoundTrip {
    problems: Arc<Mutex<Vec<String>>>,
    spans: Arc<Mutex<usize>>,
}

impl Exporter for RoundTrip {
    fn name(&self) -> &str {
        "round-trip"
    }
    fn export(&mut self, batch: &ExportBatch, _cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        let req = batch.to_otlp();
        let mut problems = self.problems.lock();
        let pb = req.encode_to_vec();
        match ExportTraceServiceRequest::decode(&pb[..]) {
            Ok(back) if &back == req => {}
            Ok(_) => problems.push("protobuf round trip changed the request".into()),
            Err(e) => problems.push(format!("protobuf does not decode: {e}")),
        }
        match serde_json::to_vec(req).map(|js| serde_json::from_slice::<ExportTraceServiceRequest>(&js)) {
            Ok(Ok(back)) if &back == req => {}
            Ok(Ok(back)) => {
                let (a, b) = (format!("{req:#?}"), format!("{back:#?}"));
                let diff: Vec<String> = a
                    .lines()
                    .zip(b.lines())
                    .filter(|(x, y)| x != y)
                    .take(3)
                    .map(|(x, y)| format!("{x} => {y}"))
                    .collect();
                problems.push(format!("JSON round trip changed the request: {diff:?}"))
            }
            Ok(Err(e)) => problems.push(format!("JSON does not decode: {e}")),
            Err(e) => problems.push(format!("JSON does not encode: {e}")),
        }
        for span in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            *self.spans.lock() += 1;
            for kv in &span.attributes {
                if let Some(any_value::Value::StringValue(s)) = kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    if s.len() > LIMIT {
                        problems.push(format!("{} is {} bytes, over the limit", kv.key, s.len()));
                    }
                }
            }
        }
        Ok(ExportOutcome::default())
    }
}

fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from), // non-finite become null
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0)]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (any::<String>(), any::<String>(), any::<String>(), any::<u64>(), number(), json()).prop_map(
            |(model, prompt, completion, tokens, cost, params)| {
                let mut e = LlmEvent::new(model)
                    .prompt(vec![ChatMessage::new(prompt.clone(), prompt)])
                    .completion(completion)
                    .tokens(tokens, tokens / 2)
                    .cost(cost);
                e.params = Some(params);
                Event::from(e)
            }
        ),
        (any::<String>(), json(), json(), any::<String>()).prop_map(|(name, p, r, logs)| {
            let mut e = ToolEvent::new(name).call_id(logs.clone()).logs(logs);
            e.params = Some(p);
            e.returns = Some(r);
            Event::from(e)
        }),
        (any::<String>(), json(), any::<String>()).prop_map(|(ty, p, s)| {
            let mut e = ActionEvent::new(ty).screenshot(s.clone()).logs(s);
            e.returns = Some(p);
            Event::from(e)
        }),
        (any::<String>(), any::<String>(), any::<String>()).prop_map(|(ty, code, details)| {
            Event::from(ErrorEvent::new(ty).code(code).details(details.clone()).logs(details))
        }),
    ]
}

#[test]
fn arbitrary_events_always_encode_to_decodable_otlp() {
    let problems = Arc::new(Mutex::new(Vec::new()));
    let spans = Arc::new(Mutex::new(0));
    let client = Client::new(
        OtelConfig::builder()
            .exporter(RoundTrip { problems: problems.clone(), spans: spans.clone() })
            .max_value_len(LIMIT)
            .build()
            .unwrap(),
    )
    .unwrap();
    let recorded = std::cell::Cell::new(0usize);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    runner
        .run(&(prop::collection::vec(event(), 1..6), prop::collection::vec(any::<String>(), 0..3)), |(events, tags)| {
            let session = client.start_session(&tags);
            let scope = session.start_action("scope");
            for (i, e) in events.into_iter().enumerate() {
                if i % 2 == 0 {
                    session.record(e);
                } else {
                    scope.record(e);
                }
                recorded.set(recorded.get() + 1);
            }
            scope.end();
            session.end(EndState::Indeterminate, "\u{0}odd\nreason");
            recorded.set(recorded.get() + 2);
            client.flush(Duration::from_secs(30)).unwrap();
            let p = std::mem::take(&mut *problems.lock());
            prop_assert!(p.is_empty(), "{:?}", p);
            Ok(())
        })
        .unwrap();
    client.shutdown(Duration::from_secs(30)).unwrap();
    assert_eq!(*spans.lock(), recorded.get());
    assert_eq!(client.stats().spans_exported as usize, recorded.get());
}
