//! `EventToSpanEncoder`: turns events into span definitions per the span schema in
//! DESIGN.md. Every attribute name the crate writes lives here.
//!
//! It runs on the export thread: the caller only moves the event into the queue, and
//! the JSON encoding of content, truncation and attribute building happen here.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event as SpanEvent, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use serde_json::Value as Json;

use crate::event::{ActionEvent, Content, ErrorEvent, Event, LlmEvent, ToolEvent};

/// Attribute names.
pub mod attr {
    /// The session (= trace) id, as a UUID string, on every span.
    pub const SESSION_ID: &str = "session.id";
    /// GenAI conversation id: the session id.
    pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// `session`, `llm`, `tool`, `action` or `error`.
    pub const SPAN_KIND: &str = "agentops.span.kind";
    /// The event's UUID.
    pub const EVENT_ID: &str = "agentops.event.id";
    /// `llms`, `actions`, `tools` or `errors`.
    pub const EVENT_TYPE: &str = "agentops.event.type";
    /// The agent that produced the event.
    pub const AGENT_ID: &str = "agentops.agent.id";

    /// Session tags (string array).
    pub const SESSION_TAGS: &str = "agentops.session.tags";
    /// `Success`, `Fail` or `Indeterminate`.
    pub const SESSION_END_STATE: &str = "agentops.session.end_state";
    /// Why the session ended so.
    pub const SESSION_END_STATE_REASON: &str = "agentops.session.end_state_reason";
    /// Prefix of the per-type event counts on the session span (`…llms`, `…tools`, …).
    pub const SESSION_EVENT_COUNT_PREFIX: &str = "agentops.session.event_counts.";
    /// Total input tokens of the session.
    pub const SESSION_INPUT_TOKENS: &str = "agentops.session.input_tokens";
    /// Total output tokens of the session.
    pub const SESSION_OUTPUT_TOKENS: &str = "agentops.session.output_tokens";
    /// Total cost of the session in USD.
    pub const SESSION_COST: &str = "agentops.session.cost";

    /// GenAI operation (`chat`, `execute_tool`, …).
    pub const GEN_AI_OPERATION: &str = "gen_ai.operation.name";
    /// GenAI provider.
    pub const GEN_AI_PROVIDER: &str = "gen_ai.provider.name";
    /// Requested model.
    pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
    /// Answering model.
    pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Input tokens.
    pub const GEN_AI_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output tokens.
    pub const GEN_AI_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Prompt messages (JSON, content).
    pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// Completion messages (JSON, content).
    pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    /// Request temperature.
    pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
    /// Request max tokens.
    pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    /// Request top_p.
    pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
    /// Cost of an LLM call in USD.
    pub const LLM_COST: &str = "agentops.llm.cost";
    /// Thread id of an LLM call.
    pub const LLM_THREAD_ID: &str = "agentops.llm.thread_id";
    /// All request parameters (JSON, content).
    pub const LLM_PARAMS: &str = "agentops.llm.params";

    /// Tool name.
    pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
    /// Tool call id.
    pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// Tool arguments (JSON, content).
    pub const GEN_AI_TOOL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
    /// Tool result (JSON, content).
    pub const GEN_AI_TOOL_RESULT: &str = "gen_ai.tool.call.result";
    /// Tool logs (content).
    pub const TOOL_LOGS: &str = "agentops.tool.logs";

    /// Action type.
    pub const ACTION_TYPE: &str = "agentops.action.type";
    /// Action params (JSON, content).
    pub const ENTITY_INPUT: &str = "agentops.entity.input";
    /// Action returns (JSON, content).
    pub const ENTITY_OUTPUT: &str = "agentops.entity.output";
    /// Action logs (content).
    pub const ACTION_LOGS: &str = "agentops.action.logs";
    /// Action screenshot URL.
    pub const ACTION_SCREENSHOT: &str = "agentops.action.screenshot";

    /// Error type.
    pub const ERROR_TYPE: &str = "error.type";
    /// Error code.
    pub const ERROR_CODE: &str = "agentops.error.code";
    /// The triggering event's id.
    pub const ERROR_TRIGGER_ID: &str = "agentops.error.trigger_event.id";
    /// The triggering event's type.
    pub const ERROR_TRIGGER_TYPE: &str = "agentops.error.trigger_event.type";
    /// Exception event: type.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Exception event: message.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// Exception event: stack trace / logs.
    pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
    /// The marker that ends a string value cut at the length limit.
    pub const TRUNCATED_SUFFIX: &str = "…[truncated]";
}

/// Where an event sits: its trace, its parent, its session.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// The session's trace; the session id is derived from it on the export thread
    /// (a shared `Arc` per event would bounce its count between caller and exporter).
    pub trace_id: TraceId,
    pub parent_span_id: SpanId,
}

/// A finished event on its way to the export thread.
#[derive(Debug)]
pub(crate) struct RecordedEvent {
    pub event: Event,
    pub placement: Placement,
    /// An error propagated into this event's span (action scopes).
    pub errored: bool,
}

/// The span id of an event: the low 64 bits of its UUID, so an error's link to its
/// trigger can be built from the trigger's id alone.
pub(crate) fn event_span_id(id: &uuid::Uuid) -> SpanId {
    let low = id.as_u64_pair().1;
    SpanId::from_bytes(if low == 0 { 1u64 } else { low }.to_be_bytes())
}

/// A span, described before it becomes exportable data.
#[derive(Debug)]
pub(crate) struct SpanDefinition {
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    pub attributes: Vec<KeyValue>,
    pub status: Status,
    pub start: SystemTime,
    pub end: SystemTime,
    pub links: Vec<Link>,
    pub events: Vec<SpanEvent>,
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Values up to this long are copied into a recycled buffer; longer ones moved.
const COPY_MAX: usize = 256;

fn set_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.clear();
    buf.extend_from_slice(bytes);
}

fn set_str(buf: &mut String, s: &str) {
    buf.clear();
    buf.push_str(s);
}

/// Writes `attrs` over `out`, reusing its key and short-value buffers.
fn fill_key_values(out: &mut Vec<otlp_common::KeyValue>, attrs: impl Iterator<Item = KeyValue>) {
    use otlp_common::any_value::Value as Any;
    let mut n = 0;
    for kv in attrs {
        match out.get_mut(n) {
            None => out.push(otlp_key_value(kv)),
            Some(slot) => {
                set_str(&mut slot.key, kv.key.as_str());
                slot.key_strindex = 0;
                match (&mut slot.value, kv.value) {
                    (Some(otlp_common::AnyValue { value: Some(Any::StringValue(buf)) }), Value::String(v))
                        if v.as_str().len() <= COPY_MAX =>
                    {
                        set_str(buf, v.as_str())
                    }
                    (value, v) => *value = Some(otlp_any_value(v)),
                }
            }
        }
        n += 1;
    }
    out.truncate(n);
}

/// A value in OTLP form. Strings are moved, not copied (opentelemetry-proto's own
/// conversion copies every value); other values use its conversion.
fn otlp_any_value(v: Value) -> otlp_common::AnyValue {
    match v {
        Value::String(s) => {
            otlp_common::AnyValue { value: Some(otlp_common::any_value::Value::StringValue(String::from(s))) }
        }
        other => other.into(),
    }
}

fn otlp_key_value(kv: KeyValue) -> otlp_common::KeyValue {
    otlp_common::KeyValue { key: kv.key.as_str().to_owned(), value: Some(otlp_any_value(kv.value)), key_strindex: 0 }
}

impl SpanDefinition {
    /// Writes the span into `out`, reusing `out`'s buffers (a span already sent,
    /// recycled): keys, ids, name and short values are copied into existing
    /// allocations; long values are moved. Drains `self.attributes`, so its
    /// allocation can be reused as well.
    pub fn fill_otlp_span(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_span_id: SpanId,
        out: &mut otlp_trace::Span,
    ) {
        set_bytes(&mut out.trace_id, &trace_id.to_bytes());
        set_bytes(&mut out.span_id, &span_id.to_bytes());
        if parent_span_id == SpanId::INVALID {
            out.parent_span_id.clear();
        } else {
            set_bytes(&mut out.parent_span_id, &parent_span_id.to_bytes());
        }
        out.trace_state.clear();
        // Sampled, and "the parent's remoteness is known" (it is local).
        out.flags = u32::from(TraceFlags::SAMPLED.to_u8()) | otlp_trace::SpanFlags::ContextHasIsRemoteMask as u32;
        set_str(&mut out.name, &self.name);
        out.kind = otlp_trace::span::SpanKind::from(self.kind.clone()) as i32;
        out.start_time_unix_nano = unix_nanos(self.start);
        out.end_time_unix_nano = unix_nanos(self.end.max(self.start));
        fill_key_values(&mut out.attributes, self.attributes.drain(..));
        out.dropped_attributes_count = 0;
        out.events.clear();
        out.events.extend(self.events.drain(..).map(|e| otlp_trace::span::Event {
            time_unix_nano: unix_nanos(e.timestamp),
            name: e.name.into_owned(),
            attributes: e.attributes.into_iter().map(otlp_key_value).collect(),
            dropped_attributes_count: 0,
        }));
        out.dropped_events_count = 0;
        out.links.clear();
        out.links.extend(self.links.drain(..).map(Into::into));
        out.dropped_links_count = 0;
        let status = out.status.get_or_insert_with(Default::default);
        status.code = otlp_trace::status::StatusCode::from(&self.status) as i32;
        match &self.status {
            Status::Error { description } => set_str(&mut status.message, description),
            _ => status.message.clear(),
        }
    }

    pub fn into_span_data(
        self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_span_id: SpanId,
        scope: InstrumentationScope,
    ) -> SpanData {
        let mut events = SpanEvents::default();
        events.events = self.events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        SpanData {
            span_context: SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, TraceState::NONE),
            parent_span_id,
            parent_span_is_remote: false,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            end_time: self.end.max(self.start),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status: self.status,
            instrumentation_scope: scope,
        }
    }
}

/// Deepest JSON nesting encoded; deeper values are replaced by a note (and freed
/// without recursion), so hostile input cannot overflow the export thread's stack.
const MAX_JSON_DEPTH: usize = 64;

/// What events brought, allocated on the callers' threads, that their spans do not
/// keep: prompts and completions (the span holds their messages JSON) and JSON
/// values (the span holds their text). The encoder does not free them: the export
/// thread frees them in bulk, so as not to contend with callers' allocations (see
/// "Freeing callers' memory" in `worker.rs`).
#[derive(Default)]
pub(crate) struct Leftovers {
    contents: Vec<Content>,
    /// Nested at most `MAX_JSON_DEPTH`, so their recursive drop is safe.
    values: Vec<Json>,
}

impl Leftovers {
    pub fn clear(&mut self) {
        self.contents.clear();
        self.values.clear();
        // After a burst, give back the lists' own memory too.
        self.contents.shrink_to(4096);
        self.values.shrink_to(4096);
    }
}

/// Turns events into spans.
#[derive(Debug)]
pub struct EventToSpanEncoder {
    capture_content: bool,
    max_value_len: usize,
    scope: InstrumentationScope,
    session_ids: parking_lot::Mutex<std::collections::HashMap<u128, Arc<str>>>,
}

impl EventToSpanEncoder {
    /// An encoder; `max_value_len` is the longest string value in bytes.
    pub fn new(capture_content: bool, max_value_len: usize) -> Self {
        EventToSpanEncoder {
            capture_content,
            max_value_len,
            scope: instrumentation_scope(),
            session_ids: Default::default(),
        }
    }

    /// The session id (the trace id as a UUID) in text, formatted once per session.
    fn session_id(&self, trace_id: TraceId) -> Arc<str> {
        let key = u128::from_be_bytes(trace_id.to_bytes());
        let mut ids = self.session_ids.lock();
        if let Some(id) = ids.get(&key) {
            return id.clone();
        }
        if ids.len() >= 1024 {
            ids.clear();
        }
        let id: Arc<str> = Arc::from(uuid::Uuid::from_u128(key).to_string());
        ids.insert(key, id.clone());
        id
    }

    pub(crate) fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// Cuts `s` to the length limit at a character boundary, with a marker.
    pub fn cut(&self, mut s: String) -> String {
        if s.len() <= self.max_value_len {
            return s;
        }
        let marker = attr::TRUNCATED_SUFFIX;
        let mut at = self.max_value_len.saturating_sub(marker.len());
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str(marker);
        s
    }

    fn str_kv(&self, key: &'static str, s: String) -> KeyValue {
        KeyValue::new(key, self.cut(s))
    }

    /// A name attribute; a literal stays borrowed (no copy until export).
    fn name_kv(&self, key: &'static str, s: Cow<'static, str>) -> KeyValue {
        match s {
            Cow::Borrowed(b) if b.len() <= self.max_value_len => KeyValue::new(key, b),
            other => KeyValue::new(key, self.cut(other.into_owned())),
        }
    }

    /// Content given as JSON: an attribute when content is captured; the value
    /// itself goes to `left` either way.
    fn push_json(&self, a: &mut Vec<KeyValue>, key: &'static str, v: Option<Json>, left: &mut Leftovers) {
        let Some(v) = v else { return };
        let deep = json_depth(&v) > MAX_JSON_DEPTH;
        if self.capture_content {
            let text = if deep {
                format!("<value nested deeper than {MAX_JSON_DEPTH} levels was dropped>")
            } else {
                // Non-finite floats cannot exist in serde_json::Value, so this cannot fail.
                serde_json::to_string(&v).unwrap_or_default()
            };
            a.push(KeyValue::new(key, self.cut(text)));
        }
        if deep {
            // serde_json's own drop recurses: hostile nesting is freed here, iteratively.
            drop_iteratively(v);
        } else {
            left.values.push(v);
        }
    }

    /// Chat content as the semantic conventions' messages JSON (when captured);
    /// the content goes to `left` either way.
    fn push_messages(
        &self,
        a: &mut Vec<KeyValue>,
        key: &'static str,
        c: Option<Content>,
        (role, output): (&str, bool),
        left: &mut Leftovers,
    ) {
        let Some(c) = c else { return };
        if self.capture_content {
            a.push(self.str_kv(key, messages_json(&c, role, output)));
        }
        left.contents.push(c);
    }

    /// Encodes a finished event into exportable span data. What the event brought
    /// that the span does not keep goes to `left` (see [`Leftovers`]).
    pub(crate) fn encode(&self, rec: RecordedEvent, left: &mut Leftovers) -> SpanData {
        let (trace_id, span_id, parent, def) = self.prepare_with(rec, Vec::with_capacity(16), left);
        def.into_span_data(trace_id, span_id, parent, self.scope.clone())
    }

    /// Encodes a finished event straight into an OTLP span (no `SpanData` between).
    #[cfg(test)]
    pub(crate) fn encode_otlp(&self, rec: RecordedEvent) -> otlp_trace::Span {
        let mut out = otlp_trace::Span::default();
        self.encode_otlp_into(rec, &mut out, &mut Vec::new(), &mut Leftovers::default());
        out
    }

    /// Encodes a finished event into `out`, a recycled span whose buffers are
    /// reused; `scratch` lends the attribute list's allocation (returned empty);
    /// `left` as in [`encode`](Self::encode).
    pub(crate) fn encode_otlp_into(
        &self,
        rec: RecordedEvent,
        out: &mut otlp_trace::Span,
        scratch: &mut Vec<KeyValue>,
        left: &mut Leftovers,
    ) {
        let attrs = std::mem::take(scratch);
        let (trace_id, span_id, parent, mut def) = self.prepare_with(rec, attrs, left);
        def.fill_otlp_span(trace_id, span_id, parent, out);
        *scratch = def.attributes;
    }

    fn prepare_with(
        &self,
        rec: RecordedEvent,
        attrs: Vec<KeyValue>,
        left: &mut Leftovers,
    ) -> (TraceId, SpanId, SpanId, SpanDefinition) {
        let RecordedEvent { event, placement, errored } = rec;
        let span_id = event_span_id(&event.common().id);
        let (trace_id, parent) = (placement.trace_id, placement.parent_span_id);
        let mut def = self.define(event, &placement, attrs, left);
        if errored && !matches!(def.status, Status::Error { .. }) {
            def.status = Status::error("an error was recorded inside this action");
        }
        (trace_id, span_id, parent, def)
    }

    /// The span definition of an event.
    pub(crate) fn define(
        &self,
        event: Event,
        placement: &Placement,
        mut attributes: Vec<KeyValue>,
        left: &mut Leftovers,
    ) -> SpanDefinition {
        let event_type = event.event_type();
        let common = event.common().clone();
        attributes.clear();
        let session_id = self.session_id(placement.trace_id);
        attributes.push(KeyValue::new(attr::SESSION_ID, StringValue::from(session_id.clone())));
        attributes.push(KeyValue::new(attr::CONVERSATION_ID, StringValue::from(session_id)));
        attributes.push(KeyValue::new(attr::EVENT_ID, common.id.to_string()));
        attributes.push(KeyValue::new(attr::EVENT_TYPE, event_type.as_str()));
        if let Some(a) = common.agent_id {
            attributes.push(self.str_kv(attr::AGENT_ID, a));
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
        };
        match event {
            Event::Llm(e) => self.llm(e, &mut def, left),
            Event::Tool(e) => self.tool(e, &mut def, left),
            Event::Action(e) => self.action(e, &mut def, left),
            Event::Error(e) => self.error(e, placement, &mut def),
        }
        def
    }

    fn llm(&self, e: LlmEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
        let a = &mut def.attributes;
        let op = e.operation.unwrap_or(Cow::Borrowed("chat"));
        def.name = span_name(&op, &e.model);
        def.kind = SpanKind::Client;
        a.push(KeyValue::new(attr::SPAN_KIND, "llm"));
        a.push(self.name_kv(attr::GEN_AI_OPERATION, op));
        if let Some(p) = e.provider {
            a.push(self.name_kv(attr::GEN_AI_PROVIDER, p));
        }
        // Only when known: the semantic conventions want the model that answered.
        if let Some(m) = e.response_model {
            a.push(self.name_kv(attr::GEN_AI_RESPONSE_MODEL, m));
        }
        a.push(self.name_kv(attr::GEN_AI_REQUEST_MODEL, e.model));
        if let Some(t) = e.input_tokens {
            a.push(KeyValue::new(attr::GEN_AI_INPUT_TOKENS, clamp_i64(t)));
        }
        if let Some(t) = e.output_tokens {
            a.push(KeyValue::new(attr::GEN_AI_OUTPUT_TOKENS, clamp_i64(t)));
        }
        if let Some(c) = e.cost {
            a.push(number_kv(attr::LLM_COST, c));
        }
        if let Some(t) = e.thread_id {
            a.push(self.str_kv(attr::LLM_THREAD_ID, t));
        }
        if let Some(p) = &e.params {
            for (name, key) in
                [("temperature", attr::GEN_AI_REQUEST_TEMPERATURE), ("top_p", attr::GEN_AI_REQUEST_TOP_P)]
            {
                if let Some(x) = p.get(name).and_then(Json::as_f64) {
                    a.push(number_kv(key, x));
                }
            }
            if let Some(x) = p.get("max_tokens").and_then(Json::as_i64) {
                a.push(KeyValue::new(attr::GEN_AI_REQUEST_MAX_TOKENS, x));
            }
        }
        self.push_json(a, attr::LLM_PARAMS, e.params, left);
        self.push_messages(a, attr::GEN_AI_INPUT_MESSAGES, e.prompt, ("user", false), left);
        self.push_messages(a, attr::GEN_AI_OUTPUT_MESSAGES, e.completion, ("assistant", true), left);
    }

    fn tool(&self, e: ToolEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
        let a = &mut def.attributes;
        let name = self.cut(e.name.into_owned());
        def.name = span_name("execute_tool", &name);
        a.push(KeyValue::new(attr::SPAN_KIND, "tool"));
        a.push(KeyValue::new(attr::GEN_AI_OPERATION, "execute_tool"));
        a.push(KeyValue::new(attr::GEN_AI_TOOL_NAME, name));
        if let Some(id) = e.call_id {
            a.push(self.str_kv(attr::GEN_AI_TOOL_CALL_ID, id));
        }
        self.push_json(a, attr::GEN_AI_TOOL_ARGUMENTS, e.params, left);
        self.push_json(a, attr::GEN_AI_TOOL_RESULT, e.returns, left);
        if self.capture_content {
            if let Some(l) = e.logs {
                a.push(self.str_kv(attr::TOOL_LOGS, l));
            }
        }
    }

    fn action(&self, e: ActionEvent, def: &mut SpanDefinition, left: &mut Leftovers) {
        let a = &mut def.attributes;
        let action_type = self.cut(e.action_type.into_owned());
        def.name = if action_type.is_empty() { Cow::Borrowed("action") } else { Cow::Owned(action_type.clone()) };
        a.push(KeyValue::new(attr::SPAN_KIND, "action"));
        a.push(KeyValue::new(attr::ACTION_TYPE, action_type));
        if let Some(s) = e.screenshot {
            a.push(self.str_kv(attr::ACTION_SCREENSHOT, s));
        }
        self.push_json(a, attr::ENTITY_INPUT, e.params, left);
        self.push_json(a, attr::ENTITY_OUTPUT, e.returns, left);
        if self.capture_content {
            if let Some(l) = e.logs {
                a.push(self.str_kv(attr::ACTION_LOGS, l));
            }
        }
    }

    fn error(&self, e: ErrorEvent, placement: &Placement, def: &mut SpanDefinition) {
        let a = &mut def.attributes;
        let error_type = self.cut(e.error_type.into_owned());
        def.name = span_name("error", &error_type);
        a.push(KeyValue::new(attr::SPAN_KIND, "error"));
        a.push(KeyValue::new(attr::ERROR_TYPE, error_type.clone()));
        if let Some(c) = e.code {
            a.push(self.str_kv(attr::ERROR_CODE, c));
        }
        let details = e.details.map(|d| self.cut(d));
        def.status = Status::error(details.clone().unwrap_or_else(|| error_type.clone()));
        let mut ex = vec![KeyValue::new(attr::EXCEPTION_TYPE, error_type)];
        if let Some(d) = details {
            ex.push(KeyValue::new(attr::EXCEPTION_MESSAGE, d));
        }
        if self.capture_content {
            if let Some(l) = e.logs {
                ex.push(self.str_kv(attr::EXCEPTION_STACKTRACE, l));
            }
        }
        def.events.push(SpanEvent::new("exception", def.start, ex, 0));
        if let Some(t) = e.trigger {
            a.push(KeyValue::new(attr::ERROR_TRIGGER_ID, t.id.to_string()));
            a.push(KeyValue::new(attr::ERROR_TRIGGER_TYPE, t.event_type.as_str()));
            let sc = SpanContext::new(
                placement.trace_id,
                event_span_id(&t.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            );
            def.links.push(Link::new(sc, vec![KeyValue::new(attr::EVENT_TYPE, t.event_type.as_str())], 0));
        }
    }
}

/// The crate's instrumentation scope.
pub(crate) fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope::builder("agentops").with_version(env!("CARGO_PKG_VERSION")).build()
}

fn span_name(op: &str, subject: &str) -> Cow<'static, str> {
    match (op.is_empty(), subject.is_empty()) {
        (true, true) => Cow::Borrowed("unnamed"),
        (false, true) => Cow::Owned(op.to_owned()),
        (true, false) => Cow::Owned(subject.to_owned()),
        (false, false) => Cow::Owned(format!("{op} {subject}")),
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A number attribute; NaN and infinities (which OTLP JSON cannot carry as numbers)
/// become strings, so the value is kept and the payload stays valid.
fn number_kv(key: &'static str, v: f64) -> KeyValue {
    if v.is_finite() {
        KeyValue::new(key, v)
    } else {
        KeyValue::new(key, v.to_string())
    }
}

/// The GenAI semantic-convention message list:
/// `[{"role": "...", "parts": [{"type": "text", "content": "..."}]}]`.
fn messages_json(c: &Content, default_role: &str, output: bool) -> String {
    let msgs: Vec<(&str, &str)> = match c {
        Content::Text(t) => vec![(default_role, t.as_str())],
        Content::Messages(m) => m.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect(),
    };
    let size: usize = msgs.iter().map(|(r, c)| r.len() + c.len() + 80).sum();
    let mut out = String::with_capacity(size + 2);
    out.push('[');
    for (i, (role, content)) in msgs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"role\":");
        push_json_str(&mut out, role);
        out.push_str(",\"parts\":[{\"type\":\"text\",\"content\":");
        push_json_str(&mut out, content);
        out.push_str("}]");
        if output {
            out.push_str(",\"finish_reason\":\"stop\"");
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// Whether any of the 8 bytes in `w` is `"`, `\\` or a control character (may say
/// yes for a word that needs nothing; never says no for one that does).
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    zero_byte(w ^ (ONES * u64::from(b'"')))
        || zero_byte(w ^ (ONES * u64::from(b'\\')))
        || w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0
}

/// Appends `s` as a JSON string literal. Prompts are long and mostly need no
/// escaping, so eight bytes are checked at a time.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            if !word_needs_escape(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        if c < 0x20 || c == b'"' || c == b'\\' {
            // `i` is at an ASCII byte, so both slices end on character boundaries.
            out.push_str(&s[start..i]);
            match c {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(c >> 4)] as char);
                    out.push(HEX[usize::from(c & 0xf)] as char);
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Serializes JSON, replacing values nested too deeply to encode safely.
fn json_depth(v: &Json) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        if d > MAX_JSON_DEPTH {
            break;
        }
        match v {
            Json::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Json::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// Frees a JSON value without recursion (serde_json's own drop recurses).
fn drop_iteratively(v: Json) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Array(a) => stack.extend(a),
            Json::Object(o) => stack.extend(o.into_iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}

/// A string-array attribute value.
pub(crate) fn string_array(items: &[String]) -> Value {
    Value::Array(Array::String(items.iter().map(|s| StringValue::from(s.clone())).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ChatMessage, EventRef, EventType};

    fn placement() -> Placement {
        Placement { trace_id: TraceId::from_bytes([7; 16]), parent_span_id: SpanId::from_bytes([9; 8]) }
    }

    impl EventToSpanEncoder {
        fn encode_fresh(&self, rec: RecordedEvent) -> SpanData {
            self.encode(rec, &mut Leftovers::default())
        }
    }

    fn get<'a>(s: &'a SpanData, k: &str) -> Option<&'a Value> {
        s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| &kv.value)
    }

    fn enc(e: impl Into<Event>) -> SpanData {
        EventToSpanEncoder::new(true, 1000).encode_fresh(RecordedEvent {
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
        let s = EventToSpanEncoder::new(false, 1000).encode_fresh(RecordedEvent {
            event: LlmEvent::new("m").prompt("secret").completion("secret").tokens(1, 2).into(),
            placement: placement(),
            errored: false,
        });
        assert!(get(&s, attr::GEN_AI_INPUT_MESSAGES).is_none());
        assert!(get(&s, attr::GEN_AI_OUTPUT_MESSAGES).is_none());
        assert_eq!(get(&s, attr::GEN_AI_INPUT_TOKENS), Some(&Value::I64(1)));
        let s = EventToSpanEncoder::new(false, 1000).encode_fresh(RecordedEvent {
            event: ToolEvent::new("t").params(&"secret").returns(&"secret").into(),
            placement: placement(),
            errored: false,
        });
        assert!(!format!("{:?}", s.attributes).contains("secret"));
    }

    #[test]
    fn what_spans_do_not_keep_is_left_for_the_export_thread_to_free() {
        let mut deep = Json::Null;
        for _ in 0..1000 {
            deep = Json::Array(vec![deep]);
        }
        for capture in [true, false] {
            let enc = EventToSpanEncoder::new(capture, 1000);
            let mut left = Leftovers::default();
            let llm = LlmEvent::new("m").prompt("p").completion("c").params(&serde_json::json!({"top_p": 1}));
            let mut tool = ToolEvent::new("t").returns(&[1, 2]);
            tool.params = Some(deep.clone());
            let action = ActionEvent::new("a").params(&"x").returns(&"y");
            for e in [Event::from(llm), tool.into(), action.into()] {
                enc.encode(RecordedEvent { event: e, placement: placement(), errored: false }, &mut left);
            }
            let texts: Vec<&str> =
                left.contents.iter().map(|c| if let Content::Text(t) = c { t.as_str() } else { "" }).collect();
            assert_eq!(texts, ["p", "c"], "capture {capture}");
            // LLM params, tool result, action params and returns; the deep value was
            // freed on the spot (iteratively), since a later recursive drop could overflow.
            assert_eq!(
                left.values,
                [
                    serde_json::json!({"top_p": 1}),
                    serde_json::json!([1, 2]),
                    serde_json::json!("x"),
                    serde_json::json!("y")
                ],
                "capture {capture}"
            );
            left.clear();
            assert!(left.contents.is_empty() && left.values.is_empty());
        }
    }

    #[test]
    fn tool_event() {
        let s =
            enc(ToolEvent::new("search").call_id("c1").params(&serde_json::json!({"q": "rust"})).returns(&vec![1, 2]));
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
        let ev_attr =
            |k: &str| ev.attributes.iter().find(|kv| kv.key.as_str() == k).unwrap().value.as_str().into_owned();
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
                let rec = || RecordedEvent { event: e.clone(), placement: placement(), errored };
                let direct = enc.encode_otlp(rec());
                let via_sdk = otlp_trace::Span::from(enc.encode(rec(), &mut Leftovers::default()));
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
            let fresh = enc.encode_otlp(rec(e.clone()));
            enc.encode_otlp_into(rec(e), &mut recycled, &mut scratch, &mut Leftovers::default());
            assert_eq!(recycled, fresh);
            assert!(scratch.is_empty());
        }
    }

    #[test]
    fn json_strings_match_serde_json() {
        let cases = [
            String::new(),
            "plain ascii text that is long enough for words".into(),
            "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} del \u{7f}".into(),
            "ünïcödé ✓ 🦀 \u{1f} mixed \"\"\"".into(),
            "p".repeat(1031),
            "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}".into(),
        ];
        for c in cases {
            let mut ours = String::new();
            push_json_str(&mut ours, &c);
            assert_eq!(ours, serde_json::to_string(&c).unwrap(), "{c:?}");
        }
    }

    #[test]
    fn long_values_are_cut_with_a_marker_at_a_char_boundary() {
        let e = EventToSpanEncoder::new(true, 100);
        let cut = e.cut("é".repeat(200));
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with(attr::TRUNCATED_SUFFIX));
        assert_eq!(e.cut("short".into()), "short");
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
        let s = enc(t);
        assert!(get(&s, attr::GEN_AI_TOOL_ARGUMENTS).unwrap().as_str().contains("deeper than"));
    }
}
