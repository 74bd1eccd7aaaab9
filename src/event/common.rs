//! What every event shares: its type, its id and timestamps, references to it, and
//! the setters for them.

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::util::ids;

/// The event types, with the names AgentOps uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// An LLM call (`llms`).
    Llm,
    /// An agent action (`actions`).
    Action,
    /// An agent at work (`agents`).
    Agent,
    /// A tool call (`tools`).
    Tool,
    /// An error (`errors`).
    Error,
}

impl EventType {
    /// All event types, in a fixed order (used for per-type counters).
    pub const ALL: [EventType; 5] =
        [EventType::Llm, EventType::Action, EventType::Tool, EventType::Error, EventType::Agent];

    /// The AgentOps wire name: `llms`, `actions`, `tools` or `errors`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Llm => "llms",
            EventType::Action => "actions",
            EventType::Agent => "agents",
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

impl EventRef {
    /// A reference to the event with this id and type.
    pub fn new(id: Uuid, event_type: EventType) -> Self {
        EventRef { id, event_type }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fields every event has.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    pub(crate) fn now() -> Self {
        EventCommon { id: ids::new_uuid(), started_at: SystemTime::now(), ended_at: None, agent_id: None }
    }
}

/// A reference to a recorded event: enough to link an [`ErrorEvent`](crate::ErrorEvent) to the event
/// that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventRef {
    /// The event's id.
    pub id: Uuid,
    /// The event's type.
    pub event_type: EventType,
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

pub(crate) use common_setters;

/// Setters of the events that carry inputs, outputs and logs (actions and tools);
/// `$input` and `$output` name them in the docs.
macro_rules! payload_setters {
    ($input:literal, $output:literal) => {
        #[doc = concat!("Sets the ", $input, " from anything serializable.")]
        pub fn params<T: Serialize + ?Sized>(mut self, p: &T) -> Self {
            self.params = Some(to_json(p));
            self
        }
        #[doc = concat!("Sets the ", $output, " from anything serializable.")]
        pub fn returns<T: Serialize + ?Sized>(mut self, r: &T) -> Self {
            self.returns = Some(to_json(r));
            self
        }
        /// Sets the logs.
        pub fn logs(mut self, l: impl Into<String>) -> Self {
            self.logs = Some(l.into());
            self
        }
    };
}

pub(crate) use payload_setters;
