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
//! action and error types) take `impl Into<Cow<'static, str>>`: a literal costs no
//! allocation; pass `s.to_string()` for a borrowed `&str`.

pub(crate) mod action;
pub(crate) mod agent;
pub(crate) mod any;
pub(crate) mod common;
pub(crate) mod content;
pub(crate) mod error;
pub(crate) mod llm;
pub(crate) mod recorded;
pub(crate) mod tool;

pub use action::ActionEvent;
pub use agent::AgentEvent;
pub use any::Event;
pub use common::{EventCommon, EventRef, EventType};
pub use content::{ChatMessage, Content, Part, ToolCall};
pub use error::ErrorEvent;
pub use llm::{CallError, LlmEvent, ResponseDetails};
pub use tool::ToolEvent;

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
    fn unserializable_params_are_kept_as_a_note() {
        let mut m = std::collections::HashMap::new();
        m.insert(vec![1u8], 2); // non-string keys cannot become JSON object keys
        let e = ToolEvent::new("t").params(&m);
        let s = e.params.unwrap();
        assert!(s.as_str().unwrap().starts_with("<unserializable"), "{s}");
    }
}
