//! The span of each kind of event, per the span schema (DESIGN.md, the crate docs):
//! its name, kind, attributes, status, events and links.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{Event as SpanEvent, Link, SpanContext, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{KeyValue, StringValue};
use serde_json::Value as Json;

use super::attr;
use super::leftovers::Leftovers;
use super::plain_messages::DeferredMessages;
use super::recorded::{event_span_id, Placement};
use super::span::SpanDefinition;
use super::values::{clamp_i64, number_kv, string_array, ValuePolicy};
use crate::event::llm::ResponseDetails;
use crate::event::{ActionEvent, AgentEvent, ErrorEvent, Event, LlmEvent, ToolEvent};

/// A UUID in its hyphenated form, without the formatting machinery (`to_string`
/// costs several times more, once per event).
fn uuid_text(id: &uuid::Uuid) -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// The span definition of an event.
pub(crate) fn define(
    p: &ValuePolicy,
    session_id: Arc<str>,
    event: Event,
    placement: &Placement,
    mut attributes: Vec<KeyValue>,
    left: &mut Leftovers,
    defer: bool,
) -> SpanDefinition {
    let event_type = event.event_type();
    let common = event.common().clone();
    attributes.clear();
    attributes.push(KeyValue::new(attr::SESSION_ID, StringValue::from(session_id.clone())));
    attributes.push(KeyValue::new(attr::CONVERSATION_ID, StringValue::from(session_id)));
    attributes.push(KeyValue::new(attr::EVENT_ID, uuid_text(&common.id)));
    attributes.push(KeyValue::new(attr::EVENT_TYPE, event_type.as_str()));
    match (common.agent_id, &placement.agent_id) {
        (Some(own), _) => attributes.push(p.str_kv(attr::AGENT_ID, own)),
        (None, Some(scope)) => attributes.push(KeyValue::new(attr::AGENT_ID, scope.as_str().to_owned())),
        (None, None) => {}
    }
    let start = common.started_at;
    let end = common.ended_at.unwrap_or(start);
    let mut def = SpanDefinition {
        name: Cow::Borrowed(""),
        kind: SpanKind::Internal,
        attributes,
        status: Status::Unset,
        start,
        end,
        links: Vec::new(),
        events: Vec::new(),
        deferred: DeferredMessages::new(defer),
    };
    match event {
        Event::Llm(e) => llm(p, e, &mut def, left),
        Event::Tool(e) => tool(p, e, &mut def, left),
        Event::Action(e) => action(p, e, &mut def, left),
        Event::Agent(e) => agent(p, e, &mut def),
        Event::Error(e) => error(p, e, placement, &mut def),
    }
    def
}

fn llm(p: &ValuePolicy, e: LlmEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
    let a = &mut def.attributes;
    let op = e.operation.unwrap_or(Cow::Borrowed("chat"));
    def.name = span_name(&op, &e.model);
    def.kind = SpanKind::Client;
    a.push(KeyValue::new(attr::SPAN_KIND, "llm"));
    a.push(p.name_kv(attr::GEN_AI_OPERATION, op));
    if let Some(provider) = e.provider {
        a.push(p.name_kv(attr::GEN_AI_PROVIDER, provider));
    }
    // Only when known: the semantic conventions want the model that answered.
    if let Some(m) = e.response_model {
        a.push(p.name_kv(attr::GEN_AI_RESPONSE_MODEL, m));
    }
    a.push(p.name_kv(attr::GEN_AI_REQUEST_MODEL, e.model));
    if let Some(t) = e.input_tokens {
        a.push(KeyValue::new(attr::GEN_AI_INPUT_TOKENS, clamp_i64(t)));
    }
    if let Some(t) = e.output_tokens {
        a.push(KeyValue::new(attr::GEN_AI_OUTPUT_TOKENS, clamp_i64(t)));
    }
    if let Some(c) = e.cost {
        a.push(number_kv(attr::LLM_COST, c));
    }
    if let Some(d) = e.details {
        details(p, *d, a);
    }
    if let Some(t) = e.thread_id {
        a.push(p.str_kv(attr::LLM_THREAD_ID, t));
    }
    if let Some(params) = &e.params {
        request_params(p, params, a);
    }
    p.push_json(a, attr::LLM_PARAMS, e.params, left);
    let d = &mut def.deferred;
    p.push_messages(a, d, attr::GEN_AI_INPUT_MESSAGES, e.prompt, ("user", false), left);
    p.push_messages(a, d, attr::GEN_AI_OUTPUT_MESSAGES, e.completion, ("assistant", true), left);
}

/// What the provider answered beyond the text.
fn details(p: &ValuePolicy, d: ResponseDetails, a: &mut Vec<KeyValue>) {
    for (key, n) in [
        (attr::GEN_AI_CACHE_READ_TOKENS, d.cache_read_tokens),
        (attr::GEN_AI_CACHE_CREATION_TOKENS, d.cache_creation_tokens),
        (attr::GEN_AI_REASONING_TOKENS, d.reasoning_tokens),
    ] {
        if let Some(n) = n {
            a.push(KeyValue::new(key, clamp_i64(n)));
        }
    }
    if let Some(id) = d.id {
        a.push(p.str_kv(attr::GEN_AI_RESPONSE_ID, id));
    }
    if !d.finish_reasons.is_empty() {
        let reasons: Vec<String> = d.finish_reasons.into_iter().map(|r| p.cut(r)).collect();
        a.push(KeyValue::new(attr::GEN_AI_RESPONSE_FINISH_REASONS, string_array(&reasons)));
    }
    if let Some(t) = d.time_to_first_chunk {
        a.push(KeyValue::new(attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, t.as_secs_f64()));
    }
}

/// The request parameters the conventions name, read from the params JSON.
fn request_params(p: &ValuePolicy, params: &Json, a: &mut Vec<KeyValue>) {
    for (name, key) in [
        ("temperature", attr::GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", attr::GEN_AI_REQUEST_TOP_P),
        ("frequency_penalty", attr::GEN_AI_REQUEST_FREQUENCY_PENALTY),
        ("presence_penalty", attr::GEN_AI_REQUEST_PRESENCE_PENALTY),
    ] {
        if let Some(x) = params.get(name).and_then(Json::as_f64) {
            a.push(number_kv(key, x));
        }
    }
    for (name, key) in [
        ("max_tokens", attr::GEN_AI_REQUEST_MAX_TOKENS),
        ("seed", attr::GEN_AI_REQUEST_SEED),
        ("top_k", attr::GEN_AI_REQUEST_TOP_K),
    ] {
        if let Some(x) = params.get(name).and_then(Json::as_i64) {
            a.push(KeyValue::new(key, x));
        }
    }
    let stops: Vec<String> = match params.get("stop_sequences") {
        Some(Json::String(s)) => vec![p.cut(s.clone())],
        Some(Json::Array(v)) => v.iter().filter_map(Json::as_str).map(|s| p.cut(s.to_owned())).collect(),
        _ => Vec::new(),
    };
    if !stops.is_empty() {
        a.push(KeyValue::new(attr::GEN_AI_REQUEST_STOP_SEQUENCES, string_array(&stops)));
    }
}

fn agent(p: &ValuePolicy, e: AgentEvent, def: &mut SpanDefinition) {
    let a = &mut def.attributes;
    let name = p.cut(e.name.into_owned());
    def.name = span_name("invoke_agent", &name);
    a.push(KeyValue::new(attr::SPAN_KIND, "agent"));
    a.push(KeyValue::new(attr::GEN_AI_OPERATION, "invoke_agent"));
    a.push(KeyValue::new(attr::GEN_AI_AGENT_NAME, name));
    a.push(p.str_kv(attr::GEN_AI_AGENT_ID, e.agent_id));
    if let Some(d) = e.description {
        a.push(p.str_kv(attr::GEN_AI_AGENT_DESCRIPTION, d));
    }
}

fn tool(p: &ValuePolicy, e: ToolEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
    let a = &mut def.attributes;
    let name = p.cut(e.name.into_owned());
    def.name = span_name("execute_tool", &name);
    a.push(KeyValue::new(attr::SPAN_KIND, "tool"));
    a.push(KeyValue::new(attr::GEN_AI_OPERATION, "execute_tool"));
    a.push(KeyValue::new(attr::GEN_AI_TOOL_NAME, name));
    if let Some(id) = e.call_id {
        a.push(p.str_kv(attr::GEN_AI_TOOL_CALL_ID, id));
    }
    p.push_json(a, attr::GEN_AI_TOOL_ARGUMENTS, e.params, left);
    p.push_json(a, attr::GEN_AI_TOOL_RESULT, e.returns, left);
    if p.capture_content {
        if let Some(l) = e.logs {
            a.push(p.str_kv(attr::TOOL_LOGS, l));
        }
    }
}

fn action(p: &ValuePolicy, e: ActionEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
    let a = &mut def.attributes;
    let action_type = p.cut(e.action_type.into_owned());
    def.name = if action_type.is_empty() { Cow::Borrowed("action") } else { Cow::Owned(action_type.clone()) };
    a.push(KeyValue::new(attr::SPAN_KIND, "action"));
    a.push(KeyValue::new(attr::ACTION_TYPE, action_type));
    if let Some(s) = e.screenshot {
        a.push(p.str_kv(attr::ACTION_SCREENSHOT, s));
    }
    p.push_json(a, attr::ENTITY_INPUT, e.params, left);
    p.push_json(a, attr::ENTITY_OUTPUT, e.returns, left);
    if p.capture_content {
        if let Some(l) = e.logs {
            a.push(p.str_kv(attr::ACTION_LOGS, l));
        }
    }
}

fn error(p: &ValuePolicy, e: ErrorEvent, placement: &Placement, def: &mut SpanDefinition) {
    let a = &mut def.attributes;
    let error_type = p.cut(e.error_type.into_owned());
    def.name = span_name("error", &error_type);
    a.push(KeyValue::new(attr::SPAN_KIND, "error"));
    a.push(KeyValue::new(attr::ERROR_TYPE, error_type.clone()));
    if let Some(c) = e.code {
        a.push(p.str_kv(attr::ERROR_CODE, c));
    }
    let details = e.details.map(|d| p.cut(d));
    def.status = Status::error(details.clone().unwrap_or_else(|| error_type.clone()));
    let mut ex = vec![KeyValue::new(attr::EXCEPTION_TYPE, error_type)];
    if let Some(d) = details {
        ex.push(KeyValue::new(attr::EXCEPTION_MESSAGE, d));
    }
    if p.capture_content {
        if let Some(l) = e.logs {
            ex.push(p.str_kv(attr::EXCEPTION_STACKTRACE, l));
        }
    }
    def.events.push(SpanEvent::new("exception", def.start, ex, 0));
    if let Some(t) = e.trigger {
        a.push(KeyValue::new(attr::ERROR_TRIGGER_ID, uuid_text(&t.id)));
        a.push(KeyValue::new(attr::ERROR_TRIGGER_TYPE, t.event_type.as_str()));
        let sc =
            SpanContext::new(placement.trace_id, event_span_id(&t.id), TraceFlags::SAMPLED, false, TraceState::NONE);
        def.links.push(Link::new(sc, vec![KeyValue::new(attr::EVENT_TYPE, t.event_type.as_str())], 0));
    }
}

fn span_name(op: &str, subject: &str) -> Cow<'static, str> {
    match (op.is_empty(), subject.is_empty()) {
        (true, true) => Cow::Borrowed("unnamed"),
        (false, true) => Cow::Owned(op.to_owned()),
        (true, false) => Cow::Owned(subject.to_owned()),
        // Once per event: joined by hand, `format!` costs several times more.
        (false, false) => Cow::Owned([op, " ", subject].concat()),
    }
}
