//! Arbitrary recorded events for property tests: every event kind with every field
//! set or not, texts to escape and to cut, odd numbers, nested JSON, errors
//! propagated or not.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, TraceId};
use proptest::prelude::*;
use serde_json::Value as Json;

use crate::event::content::{Content, Part, ToolCall};
use crate::event::llm::ResponseDetails;
use crate::event::recorded::{Placement, RecordedEvent};
use crate::event::{ActionEvent, AgentEvent, ChatMessage, ErrorEvent, Event, EventRef, EventType, LlmEvent, ToolEvent};

/// Texts: empty, short, anything to escape, long enough to be cut.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,12}",
        "(\\PC|[\"\\\\\\x00-\\x1f]){0,80}",
        any::<String>(),
        "[a-zé€]{100,300}",
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

/// A name as given: a literal (borrowed) or an owned string.
fn name() -> impl Strategy<Value = Cow<'static, str>> {
    prop_oneof![
        prop::sample::select(vec!["gpt-4o", "", "chat", "a-literal-name-longer-than-a-small-limit"])
            .prop_map(Cow::Borrowed),
        text().prop_map(Cow::Owned),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0), Just(0.25)]
}

pub(crate) fn json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::btree_map(text(), inner, 0..5).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Request parameters: the names the conventions read, with odd values, and more.
fn params() -> BoxedStrategy<Json> {
    let stop = prop_oneof![
        Just(Json::Null),
        text().prop_map(Json::String),
        prop::collection::vec(prop_oneof![text().prop_map(Json::String), Just(Json::from(3))], 0..3)
            .prop_map(Json::Array),
    ];
    (prop::option::of(any::<f64>()), prop::option::of(any::<i64>()), prop::option::of(any::<u32>()), stop, json())
        .prop_map(|(temperature, max_tokens, seed, stop, extra)| {
            let mut m = serde_json::Map::new();
            if let Some(t) = temperature {
                m.insert("temperature".into(), Json::from(t));
            }
            if let Some(t) = max_tokens {
                m.insert("max_tokens".into(), Json::from(t));
            }
            if let Some(s) = seed {
                m.insert("seed".into(), Json::from(s));
                m.insert("top_p".into(), Json::from(0.5));
            }
            m.insert("stop_sequences".into(), stop);
            m.insert("extra".into(), extra);
            Json::Object(m)
        })
        .boxed()
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        text().prop_map(Part::Text),
        text().prop_map(Part::Reasoning),
        (opt_text(), text(), json()).prop_map(|(id, name, args)| Part::ToolCall(ToolCall::new(id, name, args))),
        (opt_text(), json()).prop_map(|(id, response)| Part::ToolCallResponse { id, response }),
    ]
}

fn content() -> BoxedStrategy<Content> {
    let message = (text(), prop::collection::vec(part(), 0..3), opt_text())
        .prop_map(|(role, parts, finish)| ChatMessage { role, parts, finish_reason: finish });
    prop_oneof![
        3 => text().prop_map(Content::Text),
        1 => prop::collection::vec(message, 0..3).prop_map(Content::Messages),
    ]
    .boxed()
}

fn time() -> impl Strategy<Value = SystemTime> {
    prop_oneof![Just(UNIX_EPOCH), (0u64..1 << 62).prop_map(|n| UNIX_EPOCH + Duration::from_nanos(n))]
}

fn details() -> BoxedStrategy<ResponseDetails> {
    (
        opt_text(),
        prop::collection::vec(text(), 0..3),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        prop::option::of((0u64..10_000_000).prop_map(Duration::from_micros)),
    )
        .prop_map(|(id, finish_reasons, cache_read, cache_creation, reasoning, ttfc)| ResponseDetails {
            id,
            finish_reasons,
            cache_read_tokens: cache_read,
            cache_creation_tokens: cache_creation,
            reasoning_tokens: reasoning,
            streamed: ttfc.is_some(),
            incomplete: cache_creation.is_some_and(|n| n % 2 == 0),
            content_omitted: cache_read.is_some_and(|n| n % 3 == 0),
            error: None,
            server: reasoning.map(|n| ("api.example.com".to_owned(), (n % 65_536) as u16)),
            time_to_first_chunk: ttfc,
        })
        .boxed()
}

fn llm() -> BoxedStrategy<Event> {
    (
        (name(), prop::option::of(name()), prop::option::of(name()), prop::option::of(name())),
        (prop::option::of(content()), prop::option::of(content())),
        (prop::option::of(any::<u64>()), prop::option::of(any::<u64>()), prop::option::of(number())),
        (opt_text(), prop::option::of(params()), prop::option::of(details()), prop::option::of((name(), text()))),
    )
        .prop_map(|((model, response_model, provider, operation), (prompt, completion), (i, o, cost), rest)| {
            let mut e = LlmEvent::new(model);
            e.response_model = response_model;
            e.provider = provider;
            e.operation = operation;
            e.prompt = prompt;
            e.completion = completion;
            e.input_tokens = i;
            e.output_tokens = o;
            e.cost = cost;
            e.thread_id = rest.0;
            e.params = rest.1;
            e.details = rest.2.map(Box::new);
            if let Some((error_type, message)) = rest.3 {
                e = e.failed(error_type, message);
            }
            Event::Llm(e)
        })
        .boxed()
}

fn tool() -> BoxedStrategy<Event> {
    (name(), opt_text(), prop::option::of(json()), prop::option::of(json()), opt_text(), prop::option::of(name()))
        .prop_map(|(name, call_id, params, returns, logs, error_type)| {
            let mut e = ToolEvent::new(name);
            e.call_id = call_id;
            e.params = params;
            e.returns = returns;
            e.logs = logs;
            e.error_type = error_type;
            Event::Tool(e)
        })
        .boxed()
}

fn action() -> BoxedStrategy<Event> {
    (name(), prop::option::of(json()), prop::option::of(json()), opt_text(), opt_text())
        .prop_map(|(ty, params, returns, logs, screenshot)| {
            let mut e = ActionEvent::new(ty);
            e.params = params;
            e.returns = returns;
            e.logs = logs;
            e.screenshot = screenshot;
            Event::Action(e)
        })
        .boxed()
}

fn agent() -> BoxedStrategy<Event> {
    (name(), text(), opt_text(), prop::option::of(name()))
        .prop_map(|(name, id, description, provider)| {
            let mut e = AgentEvent::new(name);
            e.agent_id = id;
            e.description = description;
            e.provider = provider;
            Event::Agent(e)
        })
        .boxed()
}

fn error() -> BoxedStrategy<Event> {
    let trigger = prop::option::of((any::<u128>(), prop::sample::select(EventType::ALL.to_vec())))
        .prop_map(|t| t.map(|(id, ty)| EventRef::new(uuid::Uuid::from_u128(id), ty)));
    (name(), opt_text(), opt_text(), opt_text(), trigger)
        .prop_map(|(ty, code, details, logs, trigger)| {
            let mut e = ErrorEvent::new(ty);
            e.code = code;
            e.details = details;
            e.logs = logs;
            e.trigger = trigger;
            Event::Error(e)
        })
        .boxed()
}

pub(crate) fn event() -> impl Strategy<Value = Event> {
    prop_oneof![3 => llm(), 1 => tool(), 1 => action(), 1 => agent(), 1 => error()]
}

prop_compose! {
    /// An event as the export thread receives it.
    pub(crate) fn recorded()(
        mut event in event(), id in any::<u128>(), start in time(), end in prop::option::of(time()),
        own_agent in opt_text(), trace in 1..=u128::MAX, parent in prop_oneof![Just(0u64), any::<u64>()],
        scope_agent in opt_text(), errored in any::<bool>(),
    ) -> RecordedEvent {
        let common = event.common_mut();
        common.id = uuid::Uuid::from_u128(id);
        common.started_at = start;
        common.ended_at = end;
        common.agent_id = own_agent;
        let placement = Placement {
            trace_id: TraceId::from(trace),
            parent_span_id: SpanId::from(parent),
            agent_id: scope_agent.map(std::sync::Arc::new),
        };
        RecordedEvent { event, placement, errored }
    }
}
