//! `Event`: any of the four kinds.

use super::action::ActionEvent;
use super::agent::AgentEvent;
use super::common::{EventCommon, EventRef, EventType};
use super::error::ErrorEvent;
use super::llm::LlmEvent;
use super::tool::ToolEvent;

/// Any event.
// The LLM variant is the largest, and the common one: boxing it would cost an
// allocation per `record` on the caller's thread, for a slot that is boxed once
// anyway when queued.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// An LLM call.
    Llm(LlmEvent),
    /// An action.
    Action(ActionEvent),
    /// An agent at work.
    Agent(AgentEvent),
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
            Event::Agent(_) => EventType::Agent,
            Event::Tool(_) => EventType::Tool,
            Event::Error(_) => EventType::Error,
        }
    }

    /// The common fields.
    pub fn common(&self) -> &EventCommon {
        match self {
            Event::Llm(e) => &e.common,
            Event::Action(e) => &e.common,
            Event::Agent(e) => &e.common,
            Event::Tool(e) => &e.common,
            Event::Error(e) => &e.common,
        }
    }

    pub(crate) fn common_mut(&mut self) -> &mut EventCommon {
        match self {
            Event::Llm(e) => &mut e.common,
            Event::Action(e) => &mut e.common,
            Event::Agent(e) => &mut e.common,
            Event::Tool(e) => &mut e.common,
            Event::Error(e) => &mut e.common,
        }
    }

    /// A reference to this event, for [`ErrorEvent::trigger`].
    pub fn event_ref(&self) -> EventRef {
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
impl From<AgentEvent> for Event {
    fn from(e: AgentEvent) -> Self {
        Event::Agent(e)
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
    /// Each recorded event takes one boxed queue slot of this size, whatever its
    /// kind: growth here is memory for every queued event (see `ResponseDetails`).
    #[test]
    fn a_queued_event_stays_small() {
        assert!(std::mem::size_of::<crate::event::recorded::RecordedEvent>() <= 384);
    }
}
