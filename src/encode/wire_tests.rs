//! The direct writer against opentelemetry-proto: for arbitrary described spans
//! (every kind of described value, cut or not, messages written in place, every
//! attribute type, arrays, empty and non-ASCII strings, links with trace state and
//! remote flags, events, every status and kind, any timestamps), the bytes decode
//! with opentelemetry-proto to exactly the request its own transform of the same
//! spans, built as `SpanData` by the struct path, gives.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event as SpanEvent, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use proptest::prelude::*;
use prost::Message;

use super::{put_otlp_span, WireSpan};
use crate::encode::plain_messages::PlainMessages;
use crate::encode::request::{request_frame, to_otlp_request};
use crate::encode::sink::{AttrValue, SpanHead, SpanName, SpanSink, Truncated};
use crate::encode::span::{describe_definition, SpanBuilder, SpanDefinition};

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

/// A described value, owned: what `AttrValue` borrows.
#[derive(Debug, Clone)]
pub(crate) enum OwnedValue {
    Static(&'static str),
    Str(String, bool),
    I64(i64),
    Bool(bool),
    F64(f64),
    StrList(Vec<(String, bool)>),
    /// A plain text's messages: the text, the role, output or input.
    Messages(String, &'static str, bool),
    Value(Value),
}

fn owned_value() -> impl Strategy<Value = OwnedValue> {
    let cut = || (text(), any::<bool>());
    let role = prop::sample::select(vec!["user", "assistant", "ro\"le\\"]);
    let messages_text = prop_oneof![text(), "(\\PC|[\"\\\\\\x00-\\x1f]){0,200}"];
    prop_oneof![
        prop::sample::select(vec!["", "llm", "chat", "inf", "é\u{1}"]).prop_map(OwnedValue::Static),
        cut().prop_map(|(s, c)| OwnedValue::Str(s, c)),
        any::<i64>().prop_map(OwnedValue::I64),
        any::<bool>().prop_map(OwnedValue::Bool),
        any::<f64>().prop_map(OwnedValue::F64),
        prop::collection::vec(cut(), 0..4).prop_map(OwnedValue::StrList),
        (messages_text, role, any::<bool>()).prop_map(|(t, r, o)| OwnedValue::Messages(t, r, o)),
        value().prop_map(OwnedValue::Value),
    ]
}

/// A span as an event's description would give it.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    name: (String, String, bool, bool),
    kind: SpanKind,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(Key, OwnedValue)>,
    status: Status,
    events: Vec<SpanEvent>,
    links: Vec<Link>,
}

impl Described {
    /// Describes the span to `sink`, with these ids.
    pub(crate) fn describe<S: SpanSink>(&self, (trace_id, span_id, parent): (TraceId, SpanId, SpanId), sink: &mut S) {
        let (op, subject, cut, joined) = &self.name;
        let name = match joined {
            true => SpanName::Joined { op, subject: Truncated { head: subject, cut: *cut } },
            false => SpanName::Plain(op),
        };
        let (start, end) = (self.start, self.end.max(self.start));
        sink.begin(&SpanHead { trace_id, span_id, parent, name, kind: self.kind.clone(), start, end });
        for (key, value) in &self.attributes {
            let lists: Vec<Truncated<'_>>;
            let v = match value {
                OwnedValue::Static(s) => AttrValue::Static(s),
                OwnedValue::Str(s, cut) => AttrValue::Str(Truncated { head: s, cut: *cut }),
                OwnedValue::I64(i) => AttrValue::I64(*i),
                OwnedValue::Bool(b) => AttrValue::Bool(*b),
                OwnedValue::F64(f) => AttrValue::F64(*f),
                OwnedValue::StrList(items) => {
                    lists = items.iter().map(|(s, cut)| Truncated { head: s, cut: *cut }).collect();
                    AttrValue::StrList(&lists)
                }
                OwnedValue::Messages(t, role, output) => {
                    AttrValue::Messages(PlainMessages::new(t, role, *output, usize::MAX).expect("no limit"))
                }
                OwnedValue::Value(v) => AttrValue::Value(v),
            };
            sink.attr(key, v);
        }
        sink.end(&self.status, &self.events, &self.links);
    }

    /// The `SpanData` the struct path builds of it.
    pub(crate) fn span_data(&self, ids: (TraceId, SpanId, SpanId), scope: &InstrumentationScope) -> SpanData {
        let mut b = SpanBuilder::new(Vec::new());
        self.describe(ids, &mut b);
        b.def.into_span_data(ids.0, ids.1, ids.2, scope.clone())
    }
}

prop_compose! {
    pub(crate) fn described()(
        name in (text(), text(), any::<bool>(), any::<bool>()), kind in kind(),
        attributes in prop::collection::vec((text().prop_map(Key::from), owned_value()), 0..10),
        status in status(), start in time(), end in time(),
        links in prop::collection::vec(link(), 0..3), events in prop::collection::vec(event(), 0..3),
    ) -> Described {
        Described { name, kind, start, end, attributes, status, events, links }
    }
}

prop_compose! {
    pub(crate) fn definition()(
        name in text(), kind in kind(), attributes in attributes(), status in status(),
        start in time(), end in time(),
        links in prop::collection::vec(link(), 0..3), events in prop::collection::vec(event(), 0..3),
    ) -> SpanDefinition {
        SpanDefinition { name: Cow::Owned(name), kind, attributes, status, start, end, links, events }
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
    fn described_spans_decode_to_the_proto_crates_transform(
        spans in prop::collection::vec((described(), ids()), 1..6),
    ) {
        let (resource, scope) = (resource(), scope());
        let frame = request_frame(&resource, &scope);
        let room = frame.header_room();
        let mut buf = vec![0; room];
        for (span, ids) in &spans {
            span.describe(*ids, &mut WireSpan::new(&mut buf));
        }
        let start = frame.finish(&mut buf, room);
        let got = ExportTraceServiceRequest::decode(&buf[start..]).expect("the bytes decode");
        let expected = to_otlp_request(spans.iter().map(|(span, ids)| span.span_data(*ids, &scope)), &resource);
        prop_assert_eq!(&buf[start..], &expected.encode_to_vec()[..], "byte for byte as prost writes it");
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn defined_spans_and_sdk_spans_mixed_in_decode_the_same(
        a in (definition(), ids()), b in (definition(), ids()),
    ) {
        let (resource, scope) = (resource(), scope());
        let frame = request_frame(&resource, &scope);
        let room = frame.header_room();
        let mut buf = vec![0; room];
        let (def, ids) = a;
        describe_definition(&def, ids, &mut WireSpan::new(&mut buf));
        let sdk = b.0.into_span_data(b.1 .0, b.1 .1, b.1 .2, scope.clone());
        put_otlp_span(&mut buf, &sdk.clone().into());
        let start = frame.finish(&mut buf, room);
        let got = ExportTraceServiceRequest::decode(&buf[start..]).expect("the bytes decode");
        let expected = to_otlp_request([def.into_span_data(ids.0, ids.1, ids.2, scope.clone()), sdk], &resource);
        prop_assert_eq!(got, expected);
    }
}

/// A client span at the epoch with `attributes` and nothing else.
fn span_with(attributes: Vec<(Key, OwnedValue)>) -> Described {
    Described {
        name: ("n".into(), String::new(), false, false),
        kind: SpanKind::Client,
        start: UNIX_EPOCH,
        end: UNIX_EPOCH,
        attributes,
        status: Status::Unset,
        events: vec![],
        links: vec![],
    }
}

/// `span` in a request written directly, and opentelemetry-proto's request of its
/// `SpanData`.
fn written_and_expected(
    span: &Described,
    resource: &ResourceAttributesWithSchema,
    scope: &InstrumentationScope,
) -> (Vec<u8>, ExportTraceServiceRequest) {
    let frame = request_frame(resource, scope);
    let room = frame.header_room();
    let mut buf = vec![0; room];
    let ids = (TraceId::from(7u128), SpanId::from(9u64), SpanId::INVALID);
    span.describe(ids, &mut WireSpan::new(&mut buf));
    let start = frame.finish(&mut buf, room);
    (buf.split_off(start), to_otlp_request([span.span_data(ids, scope)], resource))
}

#[test]
fn a_schema_url_and_long_lengths_frame_the_same() {
    let resource = ResourceAttributesWithSchema::from(
        &Resource::builder_empty().with_schema_url([KeyValue::new("k", "v")], "https://schema/r").build(),
    );
    let scope = InstrumentationScope::builder("s").with_schema_url("https://schema/s").build();
    // Lengths past 2^21 need 4-byte varints in every frame, and the messages
    // written in place grow past their estimate (their escapes).
    let big = Described {
        status: Status::Ok,
        ..span_with(vec![
            (Key::from("p"), OwnedValue::Str("x".repeat(3 << 20), true)),
            (Key::from("gen_ai.input.messages"), OwnedValue::Messages("\"quoted\"\n".repeat(300_000), "user", false)),
        ])
    };
    let (written, expected) = written_and_expected(&big, &resource, &scope);
    assert_eq!(ExportTraceServiceRequest::decode(&written[..]).unwrap(), expected);
    // And byte for byte as prost writes the same request.
    assert_eq!(written, expected.encode_to_vec());
}

#[test]
fn lengths_that_outgrow_their_estimate_move_the_body() {
    // Messages whose text is under 128 bytes before escaping and over after: the
    // lengths around it need one more byte than estimated.
    for text in ["\"".repeat(40), "\n".repeat(70), "a".repeat(60) + &"\u{1}".repeat(20)] {
        let span = span_with(vec![(Key::from("m"), OwnedValue::Messages(text, "user", false))]);
        let (written, expected) = written_and_expected(&span, &resource(), &scope());
        assert_eq!(written, expected.encode_to_vec());
    }
}
