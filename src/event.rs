//! The event model: what an agent does, recorded as one span each.
//!
//! Four kinds of event, mirroring the AgentOps data model: [`LlmEvent`] (a model
//! call), [`ActionEvent`] (a step the agent takes), [`ToolEvent`] (a tool call) and
//! [`ErrorEvent`] (something that went wrong). Each carries [`EventCommon`]: a UUID,
//! its own start and end timestamps (so a call the user timed is recorded with its
//! true times, after the fact) and an optional agent id.
//!
//! Events are plain owned data built with chained setters; building one does no I/O
//! and takes no lock. Names that are usually literals (model, provider, tool name,
//! action and error types) are `Cow<'static, str>`: a literal costs no allocation.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::telemetry::ids;

/// The four event types, with the names AgentOps uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An LLM call (`llms`).
    Llm,
    /// An agent action (`actions`).
    Action,
    /// A tool call (`tools`).
    Tool,
    /// An error (`errors`).
    Error,
}

impl EventType {
    /// All event types, in a fixed order (used for per-type counters).
    pub const ALL: [EventType; 4] = [EventType::Llm, EventType::Action, EventType::Tool, EventType::Error];

    /// The AgentOps wire name: `llms`, `actions`, `tools` or `errors`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Llm => "llms",
            EventType::Action => "actions",
            EventType::Tool => "tools",
            EventType::Error => "errors",
        }
    }

    /// Parses a wire name back into an event type.
    pub fn from_wire(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fields every event has.
#[derive(Debug, Clone, PartialEq)]
pub struct EventCommon {
    /// Unique id of the event (becomes `agentops.event.id`).
    pub id: Uuid,
    /// When the event started. Defaults to when the event value was created.
    pub started_at: SystemTime,
    /// When the event ended. `None` means "when it is recorded".
    pub ended_at: Option<SystemTime>,
    /// The agent that produced the event, if the application has several.
    pub agent_id: Option<String>,
}

impl EventCommon {
    fn now() -> Self {
        EventCommon { id: ids::new_uuid(), started_at: SystemTime::now(), ended_at: None, agent_id: None }
    }
}

/// A reference to a recorded event: enough to link an [`ErrorEvent`] to the event
/// that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    /// The event's id.
    pub id: Uuid,
    /// The event's type.
    pub event_type: EventType,
}

/// One chat message of a prompt or completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, `tool`, …
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role and content.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into() }
    }
}

/// The text sent to or received from a model: a plain string or chat messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A list of chat messages.
    Messages(Vec<ChatMessage>),
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}
impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_owned())
    }
}
impl From<Vec<ChatMessage>> for Content {
    fn from(m: Vec<ChatMessage>) -> Self {
        Content::Messages(m)
    }
}

/// Serializes any value into JSON for `params`/`returns`; a value that cannot be
/// serialized is kept as a JSON string describing why, so the event is not lost.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("<unserializable: {e}>")))
}

macro_rules! common_setters {
    () => {
        /// The event's id (generated when the event is created).
        pub fn id(&self) -> Uuid {
            self.common.id
        }
        /// Sets the start time (defaults to when the event was created).
        pub fn started_at(mut self, t: SystemTime) -> Self {
            self.common.started_at = t;
            self
        }
        /// Sets the end time (defaults to when the event is recorded).
        pub fn ended_at(mut self, t: SystemTime) -> Self {
            self.common.ended_at = Some(t);
            self
        }
        /// Sets the agent id.
        pub fn agent_id(mut self, id: impl Into<String>) -> Self {
            self.common.agent_id = Some(id.into());
            self
        }
        /// The common fields.
        pub fn common(&self) -> &EventCommon {
            &self.common
        }
    };
}

/// An LLM call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmEvent {
    /// Common fields.
    pub common: EventCommon,
    /// Requested model, e.g. `gpt-4o` (`gen_ai.request.model`).
    pub model: Cow<'static, str>,
    /// Model that answered, if it differs (`gen_ai.response.model`).
    pub response_model: Option<Cow<'static, str>>,
    /// Provider, e.g. `openai` (`gen_ai.provider.name`).
    pub provider: Option<Cow<'static, str>>,
    /// Operation name (`gen_ai.operation.name`); `chat` when not set.
    pub operation: Option<Cow<'static, str>>,
    /// What was sent to the model.
    pub prompt: Option<Content>,
    /// What the model answered.
    pub completion: Option<Content>,
    /// Input (prompt) token count.
    pub input_tokens: Option<u64>,
    /// Output (completion) token count.
    pub output_tokens: Option<u64>,
    /// Cost of the call in US dollars.
    pub cost: Option<f64>,
    /// Conversation thread id, if the application keeps threads.
    pub thread_id: Option<String>,
    /// Request parameters (temperature, max tokens, …).
    pub params: Option<Value>,
}

impl LlmEvent {
    /// An LLM call to `model`, started now.
    pub fn new(model: impl Into<Cow<'static, str>>) -> Self {
        LlmEvent {
            common: EventCommon::now(),
            model: model.into(),
            response_model: None,
            provider: None,
            operation: None,
            prompt: None,
            completion: None,
            input_tokens: None,
            output_tokens: None,
            cost: None,
            thread_id: None,
            params: None,
        }
    }
    common_setters!();
    /// Sets the provider (`openai`, `anthropic`, …).
    pub fn provider(mut self, p: impl Into<Cow<'static, str>>) -> Self {
        self.provider = Some(p.into());
        self
    }
    /// Sets the model that answered.
    pub fn response_model(mut self, m: impl Into<Cow<'static, str>>) -> Self {
        self.response_model = Some(m.into());
        self
    }
    /// Sets the operation name (default `chat`).
    pub fn operation(mut self, op: impl Into<Cow<'static, str>>) -> Self {
        self.operation = Some(op.into());
        self
    }
    /// Sets the prompt: a string or chat messages.
    pub fn prompt(mut self, p: impl Into<Content>) -> Self {
        self.prompt = Some(p.into());
        self
    }
    /// Sets the completion: a string or chat messages.
    pub fn completion(mut self, c: impl Into<Content>) -> Self {
        self.completion = Some(c.into());
        self
    }
    /// Sets input and output token counts.
    pub fn tokens(mut self, input: u64, output: u64) -> Self {
        self.input_tokens = Some(input);
        self.output_tokens = Some(output);
        self
    }
    /// Sets the cost in US dollars.
    pub fn cost(mut self, usd: f64) -> Self {
        self.cost = Some(usd);
        self
    }
    /// Sets the thread id.
    pub fn thread_id(mut self, id: impl Into<String>) -> Self {
        self.thread_id = Some(id.into());
        self
    }
    /// Sets the request parameters from anything serializable.
    pub fn params<T: Serialize + ?Sized>(mut self, p: &T) -> Self {
        self.params = Some(to_json(p));
        self
    }
}

/// A step the agent takes. Recorded as a finished event, or opened as a scope with
/// [`Session::start_action`](crate::Session::start_action) so that what happens
/// inside it nests under it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionEvent {
    /// Common fields.
    pub common: EventCommon,
    /// What kind of action, e.g. `plan` (the span name).
    pub action_type: Cow<'static, str>,
    /// Inputs of the action.
    pub params: Option<Value>,
    /// Outputs of the action.
    pub returns: Option<Value>,
    /// Free-form logs.
    pub logs: Option<String>,
    /// URL of a screenshot taken during the action.
    pub screenshot: Option<String>,
}

impl ActionEvent {
    /// An action of the given type, started now.
    pub fn new(action_type: impl Into<Cow<'static, str>>) -> Self {
        ActionEvent {
            common: EventCommon::now(),
            action_type: action_type.into(),
            params: None,
            returns: None,
            logs: None,
            screenshot: None,
        }
    }
    common_setters!();
    /// Sets the inputs from anything serializable.
    pub fn params<T: Serialize + ?Sized>(mut self, p: &T) -> Self {
        self.params = Some(to_json(p));
        self
    }
    /// Sets the outputs from anything serializable.
    pub fn returns<T: Serialize + ?Sized>(mut self, r: &T) -> Self {
        self.returns = Some(to_json(r));
        self
    }
    /// Sets the logs.
    pub fn logs(mut self, l: impl Into<String>) -> Self {
        self.logs = Some(l.into());
        self
    }
    /// Sets the screenshot URL.
    pub fn screenshot(mut self, url: impl Into<String>) -> Self {
        self.screenshot = Some(url.into());
        self
    }
}

/// A tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolEvent {
    /// Common fields.
    pub common: EventCommon,
    /// Tool name (`gen_ai.tool.name`).
    pub name: Cow<'static, str>,
    /// The model's id for this call (`gen_ai.tool.call.id`).
    pub call_id: Option<String>,
    /// Arguments.
    pub params: Option<Value>,
    /// Result.
    pub returns: Option<Value>,
    /// Free-form logs.
    pub logs: Option<String>,
}

impl ToolEvent {
    /// A call of the named tool, started now.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        ToolEvent {
            common: EventCommon::now(),
            name: name.into(),
            call_id: None,
            params: None,
            returns: None,
            logs: None,
        }
    }
    common_setters!();
    /// Sets the call id.
    pub fn call_id(mut self, id: impl Into<String>) -> Self {
        self.call_id = Some(id.into());
        self
    }
    /// Sets the arguments from anything serializable.
    pub fn params<T: Serialize + ?Sized>(mut self, p: &T) -> Self {
        self.params = Some(to_json(p));
        self
    }
    /// Sets the result from anything serializable.
    pub fn returns<T: Serialize + ?Sized>(mut self, r: &T) -> Self {
        self.returns = Some(to_json(r));
        self
    }
    /// Sets the logs.
    pub fn logs(mut self, l: impl Into<String>) -> Self {
        self.logs = Some(l.into());
        self
    }
}

/// Something that went wrong. Recording one sets ERROR status on its own span and on
/// every open ancestor (the enclosing action scopes and the session root).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorEvent {
    /// Common fields.
    pub common: EventCommon,
    /// Error type, e.g. the Rust type name or an error class (`error.type`).
    pub error_type: Cow<'static, str>,
    /// An error code, if there is one.
    pub code: Option<String>,
    /// Human-readable details (`exception.message`).
    pub details: Option<String>,
    /// Free-form logs or a backtrace (`exception.stacktrace`).
    pub logs: Option<String>,
    /// The event that triggered the error.
    pub trigger: Option<EventRef>,
}

impl ErrorEvent {
    /// An error of the given type, now.
    pub fn new(error_type: impl Into<Cow<'static, str>>) -> Self {
        ErrorEvent {
            common: EventCommon::now(),
            error_type: error_type.into(),
            code: None,
            details: None,
            logs: None,
            trigger: None,
        }
    }

    /// An error event built from any error: its type name becomes `error_type`, its
    /// message and its chain of sources become `details`.
    pub fn from_error<E: std::error::Error + ?Sized>(err: &E) -> Self {
        let mut details = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            details.push_str(": ");
            details.push_str(&s.to_string());
            source = s.source();
        }
        let type_name = std::any::type_name::<E>();
        ErrorEvent::new(type_name).details(details)
    }

    common_setters!();
    /// Sets the error code.
    pub fn code(mut self, c: impl Into<String>) -> Self {
        self.code = Some(c.into());
        self
    }
    /// Sets the details.
    pub fn details(mut self, d: impl Into<String>) -> Self {
        self.details = Some(d.into());
        self
    }
    /// Sets the logs (e.g. a backtrace).
    pub fn logs(mut self, l: impl Into<String>) -> Self {
        self.logs = Some(l.into());
        self
    }
    /// Links the error to the event that triggered it.
    pub fn trigger(mut self, event: EventRef) -> Self {
        self.trigger = Some(event);
        self
    }
}

/// Any event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An LLM call.
    Llm(LlmEvent),
    /// An action.
    Action(ActionEvent),
    /// A tool call.
    Tool(ToolEvent),
    /// An error.
    Error(ErrorEvent),
}

impl Event {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::Llm(_) => EventType::Llm,
            Event::Action(_) => EventType::Action,
            Event::Tool(_) => EventType::Tool,
            Event::Error(_) => EventType::Error,
        }
    }

    /// The common fields.
    pub fn common(&self) -> &EventCommon {
        match self {
            Event::Llm(e) => &e.common,
            Event::Action(e) => &e.common,
            Event::Tool(e) => &e.common,
            Event::Error(e) => &e.common,
        }
    }

    pub(crate) fn common_mut(&mut self) -> &mut EventCommon {
        match self {
            Event::Llm(e) => &mut e.common,
            Event::Action(e) => &mut e.common,
            Event::Tool(e) => &mut e.common,
            Event::Error(e) => &mut e.common,
        }
    }

    /// A reference to this event, for [`ErrorEvent::trigger`].
    pub fn as_ref(&self) -> EventRef {
        EventRef { id: self.common().id, event_type: self.event_type() }
    }
}

impl From<LlmEvent> for Event {
    fn from(e: LlmEvent) -> Self {
        Event::Llm(e)
    }
}
impl From<ActionEvent> for Event {
    fn from(e: ActionEvent) -> Self {
        Event::Action(e)
    }
}
impl From<ToolEvent> for Event {
    fn from(e: ToolEvent) -> Self {
        Event::Tool(e)
    }
}
impl From<ErrorEvent> for Event {
    fn from(e: ErrorEvent) -> Self {
        Event::Error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_wire(t.as_str()), Some(t));
        }
        assert_eq!(EventType::from_wire("nope"), None);
    }

    #[test]
    fn error_event_collects_source_chain() {
        #[derive(Debug)]
        struct Inner;
        impl fmt::Display for Inner {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("disk full")
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("save failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = ErrorEvent::from_error(&Outer(Inner));
        assert_eq!(e.details.as_deref(), Some("save failed: disk full"));
        assert!(e.error_type.ends_with("Outer"), "{}", e.error_type);
    }

    #[test]
    fn unserializable_params_are_kept_as_a_note() {
        let mut m = std::collections::HashMap::new();
        m.insert(vec![1u8], 2); // non-string keys cannot become JSON object keys
        let e = ToolEvent::new("t").params(&m);
        let s = e.params.unwrap();
        assert!(s.as_str().unwrap().starts_with("<unserializable"), "{s}");
    }
}
