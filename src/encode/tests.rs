//! The encoder end to end: every event kind, both output forms, odd values.

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use prost::Message;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::Value;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

use super::attr;
use super::encoder::EventToSpanEncoder;
use super::wire::tests::resource;
use super::wire::WireSpan;
use super::wire_json::{JsonFrame, JsonSpan};
use crate::encode::request::{json_frame, request_frame, to_otlp_request};
use crate::event::recorded::{event_span_id, Placement, RecordedEvent};
use crate::event::{ActionEvent, ChatMessage, Content, ErrorEvent, Event, EventRef, EventType, LlmEvent, ToolEvent};

fn placement() -> Placement {
    Placement { trace_id: TraceId::from_bytes([7; 16]), parent_span_id: SpanId::from_bytes([9; 8]), agent_id: None }
}

fn get<'a>(s: &'a SpanData, k: &str) -> Option<&'a Value> {
    s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| &kv.value)
}

fn enc(e: impl Into<Event>) -> SpanData {
    EventToSpanEncoder::new(true, 1000).encode(&RecordedEvent {
        event: e.into(),
        placement: placement(),
        errored: false,
    })
}

fn common_ok(s: &SpanData, ty: &str) {
    assert_eq!(get(s, attr::SESSION_ID).unwrap().as_str(), "07070707-0707-0707-0707-070707070707");
    assert_eq!(get(s, attr::CONVERSATION_ID).unwrap().as_str(), "07070707-0707-0707-0707-070707070707");
    assert_eq!(get(s, attr::EVENT_TYPE).unwrap().as_str(), ty);
    assert!(uuid::Uuid::parse_str(&get(s, attr::EVENT_ID).unwrap().as_str()).is_ok());
    assert_eq!(s.span_context.trace_id(), TraceId::from_bytes([7; 16]));
    assert_eq!(s.parent_span_id, SpanId::from_bytes([9; 8]));
    assert!(s.span_context.is_sampled());
    assert!(s.start_time <= s.end_time);
}

#[test]
fn llm_event() {
    let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
    let e = LlmEvent::new("gpt-4o")
        .provider("openai")
        .prompt(vec![ChatMessage::new("system", "be brief"), ChatMessage::new("user", "hi")])
        .completion("hello")
        .tokens(12, 40)
        .cost(0.5)
        .params(&serde_json::json!({"temperature": 0.2, "max_tokens": 99}))
        .started_at(t0)
        .ended_at(t0 + std::time::Duration::from_millis(5));
    let s = enc(e);
    common_ok(&s, "llms");
    assert_eq!(s.name, "chat gpt-4o");
    assert_eq!(s.span_kind, SpanKind::Client);
    assert_eq!(s.start_time, t0);
    assert_eq!(s.end_time, t0 + std::time::Duration::from_millis(5));
    assert_eq!(get(&s, attr::SPAN_KIND).unwrap().as_str(), "llm");
    assert_eq!(get(&s, attr::GEN_AI_OPERATION).unwrap().as_str(), "chat");
    assert_eq!(get(&s, attr::GEN_AI_PROVIDER).unwrap().as_str(), "openai");
    assert_eq!(get(&s, attr::GEN_AI_REQUEST_MODEL).unwrap().as_str(), "gpt-4o");
    assert!(get(&s, attr::GEN_AI_RESPONSE_MODEL).is_none(), "not given, not guessed");
    assert_eq!(get(&s, attr::GEN_AI_INPUT_TOKENS), Some(&Value::I64(12)));
    assert_eq!(get(&s, attr::GEN_AI_OUTPUT_TOKENS), Some(&Value::I64(40)));
    assert_eq!(get(&s, attr::LLM_COST), Some(&Value::F64(0.5)));
    assert_eq!(get(&s, attr::GEN_AI_REQUEST_TEMPERATURE), Some(&Value::F64(0.2)));
    assert_eq!(get(&s, attr::GEN_AI_REQUEST_MAX_TOKENS), Some(&Value::I64(99)));
    let input: Json = serde_json::from_str(&get(&s, attr::GEN_AI_INPUT_MESSAGES).unwrap().as_str()).unwrap();
    assert_eq!(input[0]["role"], "system");
    assert_eq!(input[1]["parts"][0]["content"], "hi");
    let output: Json = serde_json::from_str(&get(&s, attr::GEN_AI_OUTPUT_MESSAGES).unwrap().as_str()).unwrap();
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(output[0]["parts"][0]["content"], "hello");
    assert_eq!(s.status, Status::Unset);
}

#[test]
fn content_capture_off_keeps_metadata_only() {
    let s = EventToSpanEncoder::new(false, 1000).encode(&RecordedEvent {
        event: LlmEvent::new("m").prompt("secret").completion("secret").tokens(1, 2).into(),
        placement: placement(),
        errored: false,
    });
    assert!(get(&s, attr::GEN_AI_INPUT_MESSAGES).is_none());
    assert!(get(&s, attr::GEN_AI_OUTPUT_MESSAGES).is_none());
    assert_eq!(get(&s, attr::GEN_AI_INPUT_TOKENS), Some(&Value::I64(1)));
    let s = EventToSpanEncoder::new(false, 1000).encode(&RecordedEvent {
        event: ToolEvent::new("t").params(&"secret").returns(&"secret").into(),
        placement: placement(),
        errored: false,
    });
    assert!(!format!("{:?}", s.attributes).contains("secret"));
}

#[test]
fn tool_event() {
    let s = enc(ToolEvent::new("search").call_id("c1").params(&serde_json::json!({"q": "rust"})).returns(&vec![1, 2]));
    common_ok(&s, "tools");
    assert_eq!(s.name, "execute_tool search");
    assert_eq!(s.span_kind, SpanKind::Internal);
    assert_eq!(get(&s, attr::SPAN_KIND).unwrap().as_str(), "tool");
    assert_eq!(get(&s, attr::GEN_AI_OPERATION).unwrap().as_str(), "execute_tool");
    assert_eq!(get(&s, attr::GEN_AI_TOOL_NAME).unwrap().as_str(), "search");
    assert_eq!(get(&s, attr::GEN_AI_TOOL_CALL_ID).unwrap().as_str(), "c1");
    assert_eq!(get(&s, attr::GEN_AI_TOOL_ARGUMENTS).unwrap().as_str(), r#"{"q":"rust"}"#);
    assert_eq!(get(&s, attr::GEN_AI_TOOL_RESULT).unwrap().as_str(), "[1,2]");
}

#[test]
fn action_event() {
    let s = enc(ActionEvent::new("plan").params(&1).returns(&"ok").logs("l").screenshot("http://s"));
    common_ok(&s, "actions");
    assert_eq!(s.name, "plan");
    assert_eq!(get(&s, attr::SPAN_KIND).unwrap().as_str(), "action");
    assert_eq!(get(&s, attr::ENTITY_INPUT).unwrap().as_str(), "1");
    assert_eq!(get(&s, attr::ENTITY_OUTPUT).unwrap().as_str(), "\"ok\"");
    assert_eq!(get(&s, attr::ACTION_LOGS).unwrap().as_str(), "l");
    assert_eq!(get(&s, attr::ACTION_SCREENSHOT).unwrap().as_str(), "http://s");
}

#[test]
fn error_event_with_trigger() {
    let trigger = EventRef { id: uuid::Uuid::from_u128(0xabcdef), event_type: EventType::Tool };
    let s = enc(ErrorEvent::new("Timeout").code("504").details("took too long").logs("trace").trigger(trigger));
    common_ok(&s, "errors");
    assert_eq!(s.name, "error Timeout");
    assert_eq!(s.status, Status::error("took too long"));
    assert_eq!(get(&s, attr::ERROR_TYPE).unwrap().as_str(), "Timeout");
    assert_eq!(get(&s, attr::ERROR_CODE).unwrap().as_str(), "504");
    assert_eq!(get(&s, attr::ERROR_TRIGGER_TYPE).unwrap().as_str(), "tools");
    let ev = &s.events.events[0];
    assert_eq!(ev.name, "exception");
    let ev_attr = |k: &str| ev.attributes.iter().find(|kv| kv.key.as_str() == k).unwrap().value.as_str().into_owned();
    assert_eq!(ev_attr(attr::EXCEPTION_TYPE), "Timeout");
    assert_eq!(ev_attr(attr::EXCEPTION_MESSAGE), "took too long");
    assert_eq!(ev_attr(attr::EXCEPTION_STACKTRACE), "trace");
    let link = &s.links.links[0];
    assert_eq!(link.span_context.span_id(), event_span_id(&trigger.id));
    assert_eq!(link.span_context.trace_id(), s.span_context.trace_id());
}

#[test]
fn direct_otlp_encoding_equals_the_proto_crates_transform() {
    let trigger = EventRef { id: uuid::Uuid::from_u128(77), event_type: EventType::Llm };
    let events: Vec<Event> = vec![
        LlmEvent::new("gpt-4o").prompt("a \"q\"").completion("b").tokens(1, 2).cost(0.1).agent_id("ag").into(),
        ToolEvent::new("t").params(&serde_json::json!({"x": [1, 2]})).returns(&"r").into(),
        ActionEvent::new("plan").params(&1).logs("l").into(),
        ErrorEvent::new("E").code("c").details("d").logs("st").trigger(trigger).into(),
    ];
    let enc = EventToSpanEncoder::new(true, 1000);
    for errored in [false, true] {
        for e in &events {
            let rec = RecordedEvent { event: e.clone(), placement: placement(), errored };
            let direct = enc.encode_otlp(&rec);
            let via_sdk = otlp_trace::Span::from(enc.encode(&rec));
            assert_eq!(direct, via_sdk, "{e:?}");
        }
    }
}

#[test]
fn filling_a_recycled_span_equals_a_fresh_encoding() {
    let enc = EventToSpanEncoder::new(true, 1000);
    let rec = |e: Event| RecordedEvent { event: e, placement: placement(), errored: false };
    let trigger = EventRef { id: uuid::Uuid::from_u128(5), event_type: EventType::Tool };
    let events: Vec<Event> = vec![
        ErrorEvent::new("E").details("d").logs("st").trigger(trigger).into(),
        LlmEvent::new("gpt-4o").prompt("p".repeat(2000)).completion("c").tokens(1, 2).cost(0.5).into(),
        ToolEvent::new("t").params(&1).into(),
        LlmEvent::new(String::from("dyn-model")).provider("x").into(),
        ActionEvent::new("a").logs("l".repeat(300)).into(),
    ];
    // Each event is written over the span the previous one left behind.
    let mut recycled = otlp_trace::Span::default();
    let mut scratch = Vec::new();
    for e in events {
        let fresh = enc.encode_otlp(&rec(e.clone()));
        enc.encode_otlp_into(&rec(e), &mut recycled, &mut scratch);
        assert_eq!(recycled, fresh);
        assert!(scratch.is_empty());
    }
}

#[test]
fn odd_values_stay_encodable() {
    let s = enc(LlmEvent::new("").cost(f64::NAN).operation(""));
    assert_eq!(s.name, "unnamed");
    assert_eq!(get(&s, attr::LLM_COST).unwrap().as_str(), "NaN");
    let mut deep = Json::Null;
    for _ in 0..100_000 {
        deep = Json::Array(vec![deep]);
    }
    let s = enc(ToolEvent::new("\u{0}\u{1b}[31m").params(&1).returns(&0).logs("x"));
    assert_eq!(get(&s, attr::GEN_AI_TOOL_NAME).unwrap().as_str(), "\u{0}\u{1b}[31m");
    let mut t = ToolEvent::new("deep");
    t.params = Some(deep);
    let enc = EventToSpanEncoder::new(true, 1000);
    let mut rec = RecordedEvent { event: t.into(), placement: placement(), errored: false };
    let s = enc.encode(&rec);
    assert!(get(&s, attr::GEN_AI_TOOL_ARGUMENTS).unwrap().as_str().contains("deeper than"));
    // As the export thread does before the event goes home: a recursive drop would
    // overflow the stack.
    if let Event::Tool(t) = &mut rec.event {
        super::json::drop_iteratively(t.params.take().unwrap());
    }
}

#[test]
fn a_10_mb_prompt_stays_valid_json_and_is_counted() {
    let enc = EventToSpanEncoder::new(true, 65_536);
    let event = LlmEvent::new("m").prompt("x\"y".repeat(3_500_000)).completion("ok");
    let s = enc.encode(&RecordedEvent { event: event.into(), placement: placement(), errored: false });
    let v = get(&s, attr::GEN_AI_INPUT_MESSAGES).unwrap().as_str().into_owned();
    assert!(v.len() <= 65_536, "{}", v.len());
    let parsed: Json = serde_json::from_str(&v).expect("still JSON");
    assert!(parsed[0]["parts"][0]["content"].as_str().unwrap().ends_with(attr::TRUNCATED_SUFFIX));
    assert_eq!(enc.take_truncated(), 1);
    assert_eq!(enc.take_truncated(), 0);
}

/// `recs` through the struct path (as opentelemetry-proto's request) and through
/// both direct writers (decoded with opentelemetry-proto), with the cuts each counted.
fn both_ways(enc: &EventToSpanEncoder, recs: &[RecordedEvent]) -> [(ExportTraceServiceRequest, u64); 3] {
    let resource = resource();
    let expected = to_otlp_request(recs.iter().map(|r| enc.encode(r)), &resource);
    let struct_cuts = enc.take_truncated();

    let frame = request_frame(&resource, enc.scope());
    let room = frame.header_room();
    let mut buf = vec![0; room];
    for r in recs {
        enc.encode_to(r, &mut WireSpan::new(&mut buf));
    }
    let start = frame.finish(&mut buf, room);
    let protobuf = ExportTraceServiceRequest::decode(&buf[start..]).expect("the bytes decode");
    assert_eq!(&buf[start..], &expected.encode_to_vec()[..], "byte for byte as prost writes it");
    let protobuf_cuts = enc.take_truncated();

    let frame = json_frame(&resource, enc.scope());
    let mut text = String::new();
    frame.start(&mut text);
    for (n, r) in recs.iter().enumerate() {
        JsonFrame::separator(&mut text, n);
        enc.encode_to(r, &mut JsonSpan::new(&mut text));
    }
    frame.finish(&mut text);
    let json: ExportTraceServiceRequest = serde_json::from_str(&text).expect("the text decodes");
    let json_cuts = enc.take_truncated();
    // What opentelemetry-proto's own JSON of the expected request reads back as.
    let own: ExportTraceServiceRequest = serde_json::from_slice(&serde_json::to_vec(&expected).unwrap()).unwrap();
    assert_eq!(json, own);
    [(expected, struct_cuts), (protobuf, protobuf_cuts), (own, json_cuts)]
}

#[test]
fn direct_writers_equal_the_struct_path_for_every_event() {
    let msgs = vec![ChatMessage::new("system", "be \"brief\""), ChatMessage::new("user", "hi\n")];
    let events: Vec<Event> = vec![
        // Plain texts the writers write in place: escapes, non-ASCII, empty.
        LlmEvent::new("gpt-4o").prompt("a \"q\"\n\u{1}é").completion("").tokens(1, 2).into(),
        LlmEvent::new("m").prompt("p".repeat(900)).into(),
        // Too long for the limit: cut by the general path, counted.
        LlmEvent::new("m").prompt("x".repeat(5000)).completion("c".repeat(999)).into(),
        LlmEvent::new("m").prompt(Content::Messages(msgs)).completion("ok").into(),
        ToolEvent::new("t").params(&1).into(),
    ];
    for (capture, agentops_names) in [(true, false), (false, false), (true, true), (false, true)] {
        let enc = EventToSpanEncoder::new(capture, 1000).with_agentops_names(agentops_names);
        let recs: Vec<RecordedEvent> =
            events.iter().map(|e| RecordedEvent { event: e.clone(), placement: placement(), errored: false }).collect();
        let [(expected, cuts), (protobuf, protobuf_cuts), (_, json_cuts)] = both_ways(&enc, &recs);
        assert_eq!(protobuf, expected, "capture {capture}, AgentOps names {agentops_names}");
        assert_eq!((protobuf_cuts, json_cuts), (cuts, cuts), "the same cuts counted");
        // The 999-byte completion fits the limit alone, not inside its messages JSON.
        let expected_cuts = match (capture, agentops_names) {
            (false, _) => 0,
            (true, false) => 2,
            (true, true) => 1,
        };
        assert_eq!(cuts, expected_cuts, "the long prompt, and the completion in its JSON");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Arbitrary events of every kind (every field set or not, texts to escape and
    /// to cut, odd numbers, nested JSON, propagated errors), with content captured
    /// or not, a limit from tiny to large, the GenAI names or AgentOps': the direct
    /// writers' output decodes to exactly the struct path's request, with the same
    /// cuts counted.
    #[test]
    fn direct_writers_equal_the_struct_path_for_arbitrary_events(
        recs in prop::collection::vec(super::arb::recorded(), 1..5),
        capture in any::<bool>(),
        limit in prop_oneof![Just(5usize), Just(40), Just(1000), Just(usize::MAX)],
        agentops_names in any::<bool>(),
    ) {
        let enc = EventToSpanEncoder::new(capture, limit).with_agentops_names(agentops_names);
        let [(expected, cuts), (protobuf, protobuf_cuts), (_, json_cuts)] = both_ways(&enc, &recs);
        prop_assert_eq!(protobuf, expected);
        prop_assert_eq!((protobuf_cuts, json_cuts), (cuts, cuts));
    }
}
