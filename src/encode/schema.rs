//! The span of each kind of event, per the span schema (DESIGN.md, the crate docs):
//! its name, kind, attributes, status, events and links, described to a
//! [`SpanSink`] by reading the event (see `sink.rs`).

use std::borrow::Cow;

use opentelemetry::trace::{Event as SpanEvent, Link, SpanContext, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::KeyValue;
use serde_json::Value as Json;

use super::agentops_names::{self as agentops, Side};
use super::attr;
use super::sink::{AttrValue, SessionAttrs, SpanHead, SpanName, SpanSink, Truncated};
use super::values::{clamp_i64, number, ValuePolicy};
use crate::event::llm::ResponseDetails;
use crate::event::recorded::{event_span_id, RecordedEvent};
use crate::event::Content;
use crate::event::{ActionEvent, AgentEvent, ErrorEvent, Event, LlmEvent, ToolEvent};

/// The operation of an LLM call that names none.
const CHAT: Cow<'static, str> = Cow::Borrowed("chat");

/// A UUID in its hyphenated form, in `buf` (`to_string` costs several times more,
/// once per event).
fn uuid_text<'b>(id: &uuid::Uuid, buf: &'b mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &'b str {
    id.hyphenated().encode_lower(buf)
}

/// Describes the span of `rec` to `sink`. `session` is the session's id and its
/// attributes; `scratch` holds JSON values while they are written.
pub(crate) fn describe<S: SpanSink>(
    p: &ValuePolicy,
    rec: &RecordedEvent,
    session: &SessionAttrs,
    scratch: &mut String,
    sink: &mut S,
) {
    let mut d = SinkWriter { p, rec, session, scratch, sink };
    match &rec.event {
        Event::Llm(e) => d.llm(e),
        Event::Tool(e) => d.tool(e),
        Event::Action(e) => d.action(e),
        Event::Agent(e) => d.agent(e),
        Event::Error(e) => d.error(e),
    }
}

struct SinkWriter<'d, S> {
    p: &'d ValuePolicy,
    rec: &'d RecordedEvent,
    session: &'d SessionAttrs,
    scratch: &'d mut String,
    sink: &'d mut S,
}

impl<'d, S: SpanSink> SinkWriter<'d, S> {
    /// The span's head and the attributes every event span has.
    fn begin(&mut self, name: SpanName<'_>, kind: SpanKind) {
        let RecordedEvent { event, placement, .. } = self.rec;
        let common = event.common();
        let start = common.started_at;
        self.sink.begin(&SpanHead {
            trace_id: placement.trace_id,
            span_id: event_span_id(&common.id),
            parent: placement.parent_span_id,
            name,
            kind,
            start,
            end: common.ended_at.unwrap_or(start).max(start),
        });
        self.sink.session(self.session);
        let mut id = [0; uuid::fmt::Hyphenated::LENGTH];
        self.sink.attr(attr::EVENT_ID, AttrValue::Str(Truncated::whole(uuid_text(&common.id, &mut id))));
        self.sink.attr(attr::EVENT_TYPE, AttrValue::Static(event.event_type().as_str()));
        match (&common.agent_id, &placement.agent_id) {
            (Some(own), _) => self.str(attr::AGENT_ID, own),
            // The scope's own id, as the application gave it.
            (None, Some(scope)) => self.sink.attr(attr::AGENT_ID, AttrValue::Str(Truncated::whole(scope))),
            (None, None) => {}
        }
    }

    /// The status (an error's own, or a failure propagated into the span), and the
    /// span's events and links.
    /// A span that failed without an error of its own also says what kind of error
    /// (`error.type`): a tool's own, else `_OTHER` (the conventions' fallback).
    fn end(&mut self, own: Option<Status>, events: &[SpanEvent], links: &[Link]) {
        let status = match own {
            Some(s) => s,
            None if self.rec.errored => {
                let kind = match &self.rec.event {
                    Event::Tool(ToolEvent { error_type: Some(t), .. }) => self.p.cut(t),
                    _ => Truncated::whole("_OTHER"),
                };
                self.sink.attr(attr::ERROR_TYPE, AttrValue::Str(kind));
                Status::error(self.p.cut(self.failure()).to_owned_string())
            }
            None => Status::Unset,
        };
        self.sink.end(&status, events, links);
    }

    /// Why a span without an error of its own failed: an error recorded inside it.
    fn failure(&self) -> &'d str {
        match &self.rec.event {
            // A failed tool call: its logs hold the error's message.
            Event::Tool(t) => t.logs.as_deref().unwrap_or("the tool call failed"),
            Event::Agent(_) => "an error was recorded inside this agent",
            _ => "an error was recorded inside this action",
        }
    }

    /// A string attribute, cut to the limit.
    fn str(&mut self, key: &'static str, s: &str) {
        let v = self.p.cut(s);
        self.sink.attr(key, AttrValue::Str(v));
    }

    /// Content given as JSON, when captured.
    fn json(&mut self, key: &'static str, v: Option<&Json>) {
        if let Some(text) = self.p.json(v, self.scratch) {
            self.sink.attr(key, AttrValue::Str(text));
        }
    }

    /// Chat content as messages JSON, when captured.
    fn messages(&mut self, key: &'static str, c: Option<&crate::event::Content>, role: (&'static str, bool)) {
        if let Some(v) = self.p.messages(c, role, self.scratch) {
            self.sink.attr(key, v);
        }
    }

    fn llm(&mut self, e: &LlmEvent) {
        let op = e.operation.as_ref().unwrap_or(&CHAT);
        self.begin(SpanName::Joined { op, subject: Truncated::whole(&e.model) }, SpanKind::Client);
        let (p, sink) = (self.p, &mut *self.sink);
        sink.attr(attr::SPAN_KIND, AttrValue::Static("llm"));
        sink.attr(attr::GEN_AI_OPERATION, p.name(op));
        if let Some(provider) = &e.provider {
            sink.attr(attr::GEN_AI_PROVIDER, p.name(provider));
            if p.agentops_names {
                sink.attr(agentops::SYSTEM, p.name(provider));
            }
        }
        // Only when known: the semantic conventions want the model that answered.
        if let Some(m) = &e.response_model {
            sink.attr(attr::GEN_AI_RESPONSE_MODEL, p.name(m));
        }
        // An empty model is one the request did not tell (a request over the
        // capture's limit is not read): left out, not recorded as "".
        if !e.model.is_empty() {
            sink.attr(attr::GEN_AI_REQUEST_MODEL, p.name(&e.model));
        }
        for (tokens, key, agentops_key) in [
            (e.input_tokens, attr::GEN_AI_INPUT_TOKENS, agentops::PROMPT_TOKENS),
            (e.output_tokens, attr::GEN_AI_OUTPUT_TOKENS, agentops::COMPLETION_TOKENS),
        ] {
            if let Some(t) = tokens {
                sink.attr(key, AttrValue::I64(clamp_i64(t)));
                if p.agentops_names {
                    sink.attr(agentops_key, AttrValue::I64(clamp_i64(t)));
                }
            }
        }
        if let Some(c) = e.cost {
            sink.attr(attr::LLM_COST, number(c));
        }
        if let Some(d) = &e.details {
            self.details(d);
            // Said, not guessed: a stream that reported no usage has no tokens.
            if d.streamed && e.input_tokens.is_none() && e.output_tokens.is_none() {
                self.sink.attr(attr::LLM_USAGE_MISSING, AttrValue::Bool(true));
            }
        }
        if let Some(t) = &e.thread_id {
            self.str(attr::LLM_THREAD_ID, t);
        }
        if let Some(params) = &e.params {
            self.request_params(params);
        }
        self.json(attr::LLM_PARAMS, e.params.as_ref());
        if self.p.agentops_names {
            self.agentops_messages(Side::Prompt, e.prompt.as_ref(), "user");
            self.agentops_messages(Side::Completion, e.completion.as_ref(), "assistant");
        } else {
            self.messages(attr::GEN_AI_INPUT_MESSAGES, e.prompt.as_ref(), ("user", false));
            self.messages(attr::GEN_AI_OUTPUT_MESSAGES, e.completion.as_ref(), ("assistant", true));
        }
        let failed = e.error().map(|err| {
            self.sink.attr(attr::ERROR_TYPE, AttrValue::Str(self.p.cut(&err.error_type)));
            let message = if err.message.is_empty() { &*err.error_type } else { &err.message };
            Status::error(self.p.cut(message).to_owned_string())
        });
        self.end(failed, &[], &[]);
    }

    /// Content, when captured, as AgentOps reads it: each message's role and text
    /// (its text parts joined), each cut to the limit; a plain text is one message
    /// of the `role` given.
    fn agentops_messages(&mut self, side: Side, c: Option<&Content>, role: &'static str) {
        let Some(c) = c.filter(|_| self.p.capture_content) else { return };
        match c {
            Content::Text(t) => {
                let text = self.p.cut(t);
                self.message(side, 0, AttrValue::Static(role), text);
            }
            Content::Messages(messages) => {
                for (i, m) in messages.iter().enumerate() {
                    let (role, text) = (self.p.cut(&m.role), m.text());
                    let text = self.p.cut(&text);
                    self.message(side, i, AttrValue::Str(role), text);
                }
            }
        }
    }

    fn message(&mut self, side: Side, i: usize, role: AttrValue<'_>, text: Truncated<'_>) {
        let (role_key, content_key) = side.keys(i);
        for (key, value) in [(role_key, role), (content_key, AttrValue::Str(text))] {
            match key {
                Cow::Borrowed(k) => self.sink.attr(k, value),
                Cow::Owned(k) => self.sink.attr(&opentelemetry::Key::from(k), value),
            }
        }
    }

    /// What the provider answered beyond the text.
    fn details(&mut self, d: &ResponseDetails) {
        for (key, n) in [
            (attr::GEN_AI_CACHE_READ_TOKENS, d.cache_read_tokens),
            (attr::GEN_AI_CACHE_CREATION_TOKENS, d.cache_creation_tokens),
            (attr::GEN_AI_REASONING_TOKENS, d.reasoning_tokens),
        ] {
            if let Some(n) = n {
                self.sink.attr(key, AttrValue::I64(clamp_i64(n)));
            }
        }
        if let Some(id) = &d.id {
            self.str(attr::GEN_AI_RESPONSE_ID, id);
        }
        if !d.finish_reasons.is_empty() {
            let reasons: Vec<Truncated<'_>> = d.finish_reasons.iter().map(|r| self.p.cut(r)).collect();
            self.sink.attr(attr::GEN_AI_RESPONSE_FINISH_REASONS, AttrValue::StrList(&reasons));
        }
        if let Some(t) = d.time_to_first_chunk {
            self.sink.attr(attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, AttrValue::F64(t.as_secs_f64()));
        }
        if d.streamed {
            self.sink.attr(attr::GEN_AI_REQUEST_STREAM, AttrValue::Bool(true));
        }
        if d.incomplete {
            self.sink.attr(attr::LLM_INCOMPLETE, AttrValue::Bool(true));
        }
        if d.content_omitted {
            self.sink.attr(attr::LLM_CONTENT_OMITTED, AttrValue::Bool(true));
        }
        if let Some((host, port)) = &d.server {
            self.str(attr::SERVER_ADDRESS, host);
            self.sink.attr(attr::SERVER_PORT, AttrValue::I64(i64::from(*port)));
        }
    }

    /// The request parameters the conventions name, read from the params JSON.
    fn request_params(&mut self, params: &Json) {
        for (name, key) in [
            ("temperature", attr::GEN_AI_REQUEST_TEMPERATURE),
            ("top_p", attr::GEN_AI_REQUEST_TOP_P),
            // A double in the conventions, though providers take an integer.
            ("top_k", attr::GEN_AI_REQUEST_TOP_K),
            ("frequency_penalty", attr::GEN_AI_REQUEST_FREQUENCY_PENALTY),
            ("presence_penalty", attr::GEN_AI_REQUEST_PRESENCE_PENALTY),
        ] {
            if let Some(x) = params.get(name).and_then(Json::as_f64) {
                self.sink.attr(key, number(x));
            }
        }
        for (name, key) in [("max_tokens", attr::GEN_AI_REQUEST_MAX_TOKENS), ("seed", attr::GEN_AI_REQUEST_SEED)] {
            if let Some(x) = params.get(name).and_then(Json::as_i64) {
                self.sink.attr(key, AttrValue::I64(x));
            }
        }
        // Conditionally required when the request asks for other than one choice.
        if let Some(n) = params.get("n").and_then(Json::as_i64).filter(|&n| n != 1) {
            self.sink.attr(attr::GEN_AI_REQUEST_CHOICE_COUNT, AttrValue::I64(n));
        }
        let stops: Vec<Truncated<'_>> = match params.get("stop_sequences") {
            Some(Json::String(s)) => vec![self.p.cut(s)],
            Some(Json::Array(v)) => v.iter().filter_map(Json::as_str).map(|s| self.p.cut(s)).collect(),
            _ => Vec::new(),
        };
        if !stops.is_empty() {
            self.sink.attr(attr::GEN_AI_REQUEST_STOP_SEQUENCES, AttrValue::StrList(&stops));
        }
    }

    fn agent(&mut self, e: &AgentEvent) {
        let name = self.p.cut(&e.name);
        self.begin(SpanName::Joined { op: "invoke_agent", subject: name }, SpanKind::Internal);
        self.sink.attr(attr::SPAN_KIND, AttrValue::Static("agent"));
        self.sink.attr(attr::GEN_AI_OPERATION, AttrValue::Static("invoke_agent"));
        self.sink.attr(attr::GEN_AI_AGENT_NAME, AttrValue::Str(name));
        if let Some(provider) = &e.provider {
            self.sink.attr(attr::GEN_AI_PROVIDER, self.p.name(provider));
        }
        self.str(attr::GEN_AI_AGENT_ID, &e.agent_id);
        if let Some(d) = &e.description {
            self.str(attr::GEN_AI_AGENT_DESCRIPTION, d);
        }
        self.end(None, &[], &[]);
    }

    fn tool(&mut self, e: &ToolEvent) {
        let name = self.p.cut(&e.name);
        self.begin(SpanName::Joined { op: "execute_tool", subject: name }, SpanKind::Internal);
        self.sink.attr(attr::SPAN_KIND, AttrValue::Static("tool"));
        self.sink.attr(attr::GEN_AI_OPERATION, AttrValue::Static("execute_tool"));
        self.sink.attr(attr::GEN_AI_TOOL_NAME, AttrValue::Str(name));
        if let Some(id) = &e.call_id {
            self.str(attr::GEN_AI_TOOL_CALL_ID, id);
        }
        self.json(attr::GEN_AI_TOOL_ARGUMENTS, e.params.as_ref());
        self.json(attr::GEN_AI_TOOL_RESULT, e.returns.as_ref());
        if let Some(l) = e.logs.as_ref().filter(|_| self.p.capture_content) {
            self.str(attr::TOOL_LOGS, l);
        }
        self.end(None, &[], &[]);
    }

    fn action(&mut self, e: &ActionEvent) {
        let action_type = self.p.cut(&e.action_type);
        let name = match action_type.is_empty() {
            true => SpanName::Joined { op: "action", subject: Truncated::whole("") },
            false => SpanName::Joined { op: "", subject: action_type },
        };
        self.begin(name, SpanKind::Internal);
        self.sink.attr(attr::SPAN_KIND, AttrValue::Static("action"));
        self.sink.attr(attr::ACTION_TYPE, AttrValue::Str(action_type));
        if let Some(s) = &e.screenshot {
            self.str(attr::ACTION_SCREENSHOT, s);
        }
        self.json(attr::ENTITY_INPUT, e.params.as_ref());
        self.json(attr::ENTITY_OUTPUT, e.returns.as_ref());
        if let Some(l) = e.logs.as_ref().filter(|_| self.p.capture_content) {
            self.str(attr::ACTION_LOGS, l);
        }
        self.end(None, &[], &[]);
    }

    fn error(&mut self, e: &ErrorEvent) {
        let p = self.p;
        let error_type = p.cut(&e.error_type);
        self.begin(SpanName::Joined { op: "error", subject: error_type }, SpanKind::Internal);
        self.sink.attr(attr::SPAN_KIND, AttrValue::Static("error"));
        self.sink.attr(attr::ERROR_TYPE, AttrValue::Str(error_type));
        if let Some(c) = &e.code {
            self.str(attr::ERROR_CODE, c);
        }
        let details = e.details.as_deref().map(|d| p.cut(d));
        let status = Status::error(details.unwrap_or(error_type).to_owned_string());
        let mut ex = vec![KeyValue::new(attr::EXCEPTION_TYPE, error_type.to_owned_string())];
        if let Some(d) = details {
            ex.push(KeyValue::new(attr::EXCEPTION_MESSAGE, d.to_owned_string()));
        }
        if let Some(l) = e.logs.as_deref().filter(|_| p.capture_content) {
            ex.push(KeyValue::new(attr::EXCEPTION_STACKTRACE, p.cut(l).to_owned_string()));
        }
        let events = [SpanEvent::new("exception", self.rec.event.common().started_at, ex, 0)];
        let mut links = Vec::new();
        if let Some(t) = &e.trigger {
            let mut id = [0; uuid::fmt::Hyphenated::LENGTH];
            self.sink.attr(attr::ERROR_TRIGGER_ID, AttrValue::Str(Truncated::whole(uuid_text(&t.id, &mut id))));
            self.sink.attr(attr::ERROR_TRIGGER_TYPE, AttrValue::Static(t.event_type.as_str()));
            let trace_id = self.rec.placement.trace_id;
            let sc = SpanContext::new(trace_id, event_span_id(&t.id), TraceFlags::SAMPLED, false, TraceState::NONE);
            links.push(Link::new(sc, vec![KeyValue::new(attr::EVENT_TYPE, t.event_type.as_str())], 0));
        }
        self.end(Some(status), &events, &links);
    }
}
