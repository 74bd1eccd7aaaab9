//! `AgentEvent`: an agent at work. Opened as a scope
//! ([`Scope::start_agent`](crate::Scope::start_agent)), it becomes an
//! `invoke_agent {name}` span with what is recorded inside nested under it.

use std::borrow::Cow;
use std::time::SystemTime;

use uuid::Uuid;

use super::common::{common_setters, EventCommon};

/// An agent at work: a span `invoke_agent {name}` (`gen_ai.agent.name`,
/// `gen_ai.agent.id`). Events recorded inside carry its id as their `agent_id`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AgentEvent {
    /// Common fields.
    pub common: EventCommon,
    /// The agent's name (`gen_ai.agent.name`).
    pub name: Cow<'static, str>,
    /// The agent's id (`gen_ai.agent.id`): a new UUID unless set.
    pub agent_id: String,
    /// What the agent is for (`gen_ai.agent.description`).
    pub description: Option<String>,
    /// The GenAI provider of the models the agent calls (`gen_ai.provider.name`):
    /// when not set, that of the first LLM call recorded inside the agent.
    pub provider: Option<Cow<'static, str>>,
}

/// An agent with only a name: `scope.start_agent("planner")`.
impl From<&'static str> for AgentEvent {
    fn from(name: &'static str) -> Self {
        AgentEvent::new(name)
    }
}

/// An agent with only a name, computed.
impl From<String> for AgentEvent {
    fn from(name: String) -> Self {
        AgentEvent::new(name)
    }
}

impl AgentEvent {
    /// An agent named `name`, started now, with a new id.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        let common = EventCommon::now();
        let agent_id = common.id.to_string();
        AgentEvent { common, name: name.into(), agent_id, description: None, provider: None }
    }
    common_setters!();
    /// Sets the agent's id (for an agent known elsewhere by this id).
    pub fn id_as(mut self, id: impl Into<String>) -> Self {
        self.agent_id = id.into();
        self
    }
    /// Sets the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Sets the GenAI provider (`openai`, `anthropic`, …; `gen_ai.provider.name`),
    /// when the agent's model calls do not say it.
    pub fn provider(mut self, p: impl Into<Cow<'static, str>>) -> Self {
        self.provider = Some(p.into());
        self
    }
}
