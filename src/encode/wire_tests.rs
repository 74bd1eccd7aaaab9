//! The direct writer against opentelemetry-proto: for arbitrary spans (every
//! attribute type, arrays, empty and non-ASCII strings, links with trace state and
//! remote flags, events, every status and kind, any timestamps), the bytes decode
//! with opentelemetry-proto to exactly the request its own transform of the same
//! spans (as `SpanData`) gives.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event as SpanEvent, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use proptest::prelude::*;
use prost::Message;

use super::{put_otlp_span, put_span};
use crate::encode::plain_messages::{DeferredMessages, PlainMessages};
use crate::encode::span::SpanDefinition;
use crate::exporters::batch::{request_frame, to_otlp_request};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z]{1,12}", any::<String>(), "\\PC{0,300}"]
}

fn value() -> impl Strategy<Value = Value> {
    let s = || text().prop_map(StringValue::from);
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        any::<f64>().prop_map(Value::F64),
        text().prop_map(|t| Value::String(t.into())),
        prop::collection::vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
        prop::collection::vec(any::<i64>(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
        prop::collection::vec(any::<f64>(), 0..4).prop_map(|v| Value::Array(Array::F64(v))),
        prop::collection::vec(s(), 0..4).prop_map(|v| Value::Array(Array::String(v))),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec((text(), value()).prop_map(|(k, v)| KeyValue::new(k, v)), 0..8)
}

fn time() -> impl Strategy<Value = SystemTime> {
    // Up to 2^62 ns (year 2116): every transform agrees on nanoseconds there.
    prop_oneof![Just(UNIX_EPOCH), (0u64..1 << 62).prop_map(|n| UNIX_EPOCH + Duration::from_nanos(n))]
}

fn link() -> impl Strategy<Value = Link> {
    let state =
        prop_oneof![Just(TraceState::NONE), Just(TraceState::from_key_value([("k", "v"), ("a", "b")]).unwrap())];
    (any::<u128>(), any::<u64>(), any::<bool>(), any::<bool>(), state, attributes(), any::<u32>()).prop_map(
        |(t, s, sampled, remote, state, attrs, dropped)| {
            let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
            let cx = SpanContext::new(TraceId::from(t), SpanId::from(s), flags, remote, state);
            let mut l = Link::new(cx, attrs, 0);
            l.dropped_attributes_count = dropped;
            l
        },
    )
}

fn event() -> impl Strategy<Value = SpanEvent> {
    (text(), time(), attributes(), any::<u32>())
        .prop_map(|(name, t, attrs, dropped)| SpanEvent::new(Cow::Owned(name), t, attrs, dropped))
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![Just(Status::Unset), Just(Status::Ok), text().prop_map(Status::error)]
}

fn kind() -> impl Strategy<Value = SpanKind> {
    prop_oneof![
        Just(SpanKind::Internal),
        Just(SpanKind::Client),
        Just(SpanKind::Server),
        Just(SpanKind::Producer),
        Just(SpanKind::Consumer)
    ]
}

/// Up to two messages attributes left to the writer, at any places among the
/// others: plain texts with anything to escape, either role, input or output.
fn deferred() -> impl Strategy<Value = Vec<(prop::sample::Index, String, &'static str, bool)>> {
    let text = prop_oneof![text(), "(\\PC|[\"\\\\\\x00-\\x1f]){0,200}"];
    let role = prop::sample::select(vec!["user", "assistant", "ro\"le\\"]);
    prop::collection::vec((any::<prop::sample::Index>(), text, role, any::<bool>()), 0..=2)
}

/// `attributes` with placeholders inserted and their messages left to the writer.
fn with_deferred(
    mut attributes: Vec<KeyValue>,
    deferred: Vec<(prop::sample::Index, String, &'static str, bool)>,
) -> (Vec<KeyValue>, DeferredMessages) {
    let mut places = Vec::new();
    for (n, (at, ..)) in deferred.iter().enumerate() {
        attributes.insert(at.index(attributes.len() + 1), KeyValue::new(format!("deferred.{n}"), ""));
        places.push(format!("deferred.{n}"));
    }
    let mut list = DeferredMessages::new(true);
    for (key, (_, text, role, output)) in places.iter().zip(deferred) {
        let at = attributes.iter().position(|kv| kv.key.as_str() == key).expect("inserted");
        let m = PlainMessages::new(at, text, role, output, usize::MAX).expect("no limit");
        list.push(m).expect("two fit");
    }
    (attributes, list)
}

prop_compose! {
    pub(crate) fn definition()(
        name in text(), kind in kind(), attributes in attributes(), status in status(),
        start in time(), end in time(),
        links in prop::collection::vec(link(), 0..3), events in prop::collection::vec(event(), 0..3),
        deferred in deferred(),
    ) -> SpanDefinition {
        let (attributes, deferred) = with_deferred(attributes, deferred);
        SpanDefinition { name: Cow::Owned(name), kind, attributes, status, start, end, links, events, deferred }
    }
}

pub(crate) fn ids() -> impl Strategy<Value = (TraceId, SpanId, SpanId)> {
    (1..=u128::MAX, 1..=u64::MAX, prop_oneof![Just(0u64), any::<u64>()])
        .prop_map(|(t, s, p)| (TraceId::from(t), SpanId::from(s), SpanId::from(p)))
}

pub(crate) fn resource() -> ResourceAttributesWithSchema {
    let r = Resource::builder_empty()
        .with_attributes([KeyValue::new("service.name", "wire-test"), KeyValue::new("host.cores", 2i64)])
        .build();
    ResourceAttributesWithSchema::from(&r)
}

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("agentops").with_version("1.2.3").build()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn direct_bytes_decode_to_the_proto_crates_transform(
        spans in prop::collection::vec((definition(), ids()), 1..6),
    ) {
        let (resource, scope) = (resource(), scope());
        let frame = request_frame(&resource, &scope);
        let room = frame.header_room();
        let mut buf = vec![0; room];
        for (def, (t, s, p)) in &spans {
            put_span(&mut buf, def, *t, *s, *p);
        }
        let start = frame.finish(&mut buf, room);
        let got = ExportTraceServiceRequest::decode(&buf[start..]).expect("the bytes decode");
        let expected = to_otlp_request(
            spans.into_iter().map(|(def, (t, s, p))| def.with_deferred_resolved().into_span_data(t, s, p, scope.clone())),
            &resource,
        );
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn sdk_spans_mixed_in_decode_the_same(
        a in (definition(), ids()), b in (definition(), ids()),
    ) {
        let (resource, scope) = (resource(), scope());
        let frame = request_frame(&resource, &scope);
        let room = frame.header_room();
        let mut buf = vec![0; room];
        let (def, (t, s, p)) = a;
        put_span(&mut buf, &def, t, s, p);
        let sdk = b.0.with_deferred_resolved().into_span_data(b.1 .0, b.1 .1, b.1 .2, scope.clone());
        put_otlp_span(&mut buf, &sdk.clone().into());
        let start = frame.finish(&mut buf, room);
        let got = ExportTraceServiceRequest::decode(&buf[start..]).expect("the bytes decode");
        let expected = to_otlp_request([def.with_deferred_resolved().into_span_data(t, s, p, scope.clone()), sdk], &resource);
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn a_schema_url_and_long_lengths_frame_the_same() {
    let resource = ResourceAttributesWithSchema::from(
        &Resource::builder_empty().with_schema_url([KeyValue::new("k", "v")], "https://schema/r").build(),
    );
    let scope = InstrumentationScope::builder("s").with_schema_url("https://schema/s").build();
    let frame = request_frame(&resource, &scope);
    let room = frame.header_room();
    let mut buf = vec![0; room];
    // Lengths past 2^21 need 4-byte varints in every frame.
    let big = SpanDefinition {
        name: Cow::Borrowed("big"),
        kind: SpanKind::Client,
        attributes: vec![KeyValue::new("p", "x".repeat(3 << 20)), KeyValue::new("gen_ai.input.messages", "")],
        status: Status::Ok,
        start: UNIX_EPOCH,
        end: UNIX_EPOCH,
        links: vec![],
        events: vec![],
        deferred: DeferredMessages::new(true),
    };
    let mut big = big;
    let long = "\"quoted\"\n".repeat(300_000);
    big.deferred.push(PlainMessages::new(1, long, "user", false, usize::MAX).unwrap()).unwrap();
    let ids = (TraceId::from(7u128), SpanId::from(9u64), SpanId::INVALID);
    put_span(&mut buf, &big, ids.0, ids.1, ids.2);
    let start = frame.finish(&mut buf, room);
    let got = ExportTraceServiceRequest::decode(&buf[start..]).unwrap();
    let expected =
        to_otlp_request([big.with_deferred_resolved().into_span_data(ids.0, ids.1, ids.2, scope.clone())], &resource);
    assert_eq!(got, expected);
    // And byte for byte as prost writes the same request.
    assert_eq!(&buf[start..], &expected.encode_to_vec()[..]);
}
