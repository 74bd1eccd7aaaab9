//! `MetricsRecorder`: turns the events and spans the export thread handles into
//! measurements. It runs on the export thread, before each event is encoded, so
//! recording a metric costs the caller nothing.
//!
//! A failed LLM or tool call is recorded as the call and then an [`ErrorEvent`]
//! naming it as its trigger; the call's duration carries the error's `error.type`.
//! So durations wait briefly, for the current and the next batch, for an error
//! that names them, and are recorded then, or at the latest at a flush or shutdown
//! (before the final collection).

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use uuid::Uuid;

use super::instruments::{key, Instruments};
use crate::encode::attr;
use crate::event::{Event, EventCommon, EventType, LlmEvent};

/// The conventions' `error.type` when no better class is known.
const OTHER_ERROR: &str = "_OTHER";

/// Which histogram a waiting duration goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Llm,
    Tool,
}

/// A call's duration, waiting for an error that may name it.
#[derive(Debug)]
struct Waiting {
    id: Uuid,
    call: Call,
    seconds: f64,
    attrs: Vec<KeyValue>,
    error_type: Option<Value>,
}

pub(crate) struct MetricsRecorder {
    instruments: Instruments,
    /// Durations from the batch being filled, and from the one before it.
    current: Vec<Waiting>,
    previous: Vec<Waiting>,
}

fn seconds(common: &EventCommon) -> f64 {
    let end = common.ended_at.unwrap_or(common.started_at);
    end.duration_since(common.started_at).unwrap_or_default().as_secs_f64()
}

/// A name as an attribute value. Takes the `Cow` itself, not a `&str`: a borrowed
/// `'static` name (a literal model or tool name) is passed on without a copy.
#[allow(clippy::ptr_arg)]
fn text(v: &Cow<'static, str>) -> Value {
    Value::from(v.clone())
}

impl MetricsRecorder {
    pub fn new(instruments: Instruments) -> Self {
        MetricsRecorder { instruments, current: Vec::new(), previous: Vec::new() }
    }

    /// Records what `event` measures; `errored` marks a call whose own span failed.
    pub fn event(&mut self, event: &Event, errored: bool) {
        match event {
            Event::Llm(e) => self.llm(e),
            Event::Tool(t) => {
                let attrs = vec![
                    KeyValue::new(attr::GEN_AI_OPERATION, "execute_tool"),
                    KeyValue::new(attr::GEN_AI_TOOL_NAME, text(&t.name)),
                ];
                let error_type = errored.then_some(Value::from(OTHER_ERROR));
                self.wait(t.common.id, Call::Tool, seconds(&t.common), attrs, error_type);
            }
            Event::Agent(a) => {
                let mut attrs = vec![
                    KeyValue::new(attr::GEN_AI_OPERATION, "invoke_agent"),
                    KeyValue::new(attr::GEN_AI_AGENT_NAME, text(&a.name)),
                ];
                if errored {
                    attrs.push(KeyValue::new(attr::ERROR_TYPE, OTHER_ERROR));
                }
                self.instruments.agent_duration.record(seconds(&a.common), &attrs);
            }
            Event::Error(e) => {
                let error_type = text(&e.error_type);
                self.instruments.errors.add(1, &[KeyValue::new(attr::ERROR_TYPE, error_type.clone())]);
                let trigger = e.trigger.filter(|t| matches!(t.event_type, EventType::Llm | EventType::Tool));
                if let Some(t) = trigger {
                    let found = self.current.iter_mut().chain(self.previous.iter_mut()).find(|w| w.id == t.id);
                    if let Some(w) = found {
                        w.error_type = Some(error_type);
                    }
                }
            }
            Event::Action(_) => {}
        }
    }

    fn llm(&mut self, e: &LlmEvent) {
        let i = &self.instruments;
        let mut attrs = Vec::with_capacity(6);
        let operation = e.operation.clone().unwrap_or(Cow::Borrowed("chat"));
        attrs.push(KeyValue::new(attr::GEN_AI_OPERATION, operation));
        if let Some(p) = &e.provider {
            attrs.push(KeyValue::new(attr::GEN_AI_PROVIDER, text(p)));
        }
        attrs.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, text(&e.model)));
        if let Some(m) = &e.response_model {
            attrs.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, text(m)));
        }
        for (tokens, kind) in [(e.input_tokens, "input"), (e.output_tokens, "output")] {
            if let Some(n) = tokens {
                attrs.push(KeyValue::new(key::TOKEN_TYPE, kind));
                i.token_usage.record(n, &attrs);
                attrs.pop();
            }
        }
        if let Some(cost) = e.cost.filter(|c| c.is_finite() && *c >= 0.0) {
            let mut by = Vec::with_capacity(2);
            if let Some(p) = &e.provider {
                by.push(KeyValue::new(attr::GEN_AI_PROVIDER, text(p)));
            }
            by.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, text(&e.model)));
            i.llm_cost.add(cost, &by);
        }
        self.wait(e.common.id, Call::Llm, seconds(&e.common), attrs, None);
    }

    fn wait(&mut self, id: Uuid, call: Call, seconds: f64, attrs: Vec<KeyValue>, error_type: Option<Value>) {
        self.current.push(Waiting { id, call, seconds, attrs, error_type });
    }

    /// Records what a span made by the SDK measures: a session root's end state and
    /// duration.
    pub fn span(&mut self, span: &SpanData) {
        let value = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| &kv.value);
        if value(attr::SPAN_KIND).map(|v| v.as_str()) != Some(Cow::Borrowed("session")) {
            return;
        }
        let state = value(attr::SESSION_END_STATE).cloned().unwrap_or(Value::from("Indeterminate"));
        let by = [KeyValue::new(attr::SESSION_END_STATE, state)];
        self.instruments.sessions_ended.add(1, &by);
        let secs = span.end_time.duration_since(span.start_time).unwrap_or_default().as_secs_f64();
        self.instruments.session_duration.record(secs, &by);
    }

    /// A batch was handed on: durations from the batch before it have waited long
    /// enough.
    pub fn batch_done(&mut self) {
        let mut older = std::mem::replace(&mut self.previous, std::mem::take(&mut self.current));
        self.record(&mut older);
        self.current = older; // its allocation, for the next batch
    }

    /// Records every waiting duration (a flush or shutdown is about to collect).
    pub fn settle(&mut self) {
        self.batch_done();
        self.batch_done();
    }

    fn record(&self, waiting: &mut Vec<Waiting>) {
        for mut w in waiting.drain(..) {
            if let Some(t) = w.error_type {
                w.attrs.push(KeyValue::new(attr::ERROR_TYPE, t));
            }
            let histogram = match w.call {
                Call::Llm => &self.instruments.operation_duration,
                Call::Tool => &self.instruments.tool_duration,
            };
            histogram.record(w.seconds, &w.attrs);
        }
    }
}
