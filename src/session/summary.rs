//! What a session came to: its end state, event counts, tokens, cost, and the
//! one-line summary the Python SDK prints.

use std::fmt;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::event::EventType;
use crate::util::time::{human_duration, usd};

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndState {
    /// The agent did what it was asked.
    Success,
    /// The agent failed (the root span's status becomes ERROR).
    Fail,
    /// Unknown: the session was dropped without being ended, or the application
    /// could not tell.
    Indeterminate,
}

impl EndState {
    /// `Success`, `Fail` or `Indeterminate`, as AgentOps spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            EndState::Success => "Success",
            EndState::Fail => "Fail",
            EndState::Indeterminate => "Indeterminate",
        }
    }
}

impl fmt::Display for EndState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Events recorded per type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventCounts {
    /// LLM calls.
    pub llms: u64,
    /// Tool calls.
    pub tools: u64,
    /// Actions.
    pub actions: u64,
    /// Errors.
    pub errors: u64,
    /// Agent scopes.
    pub agents: u64,
}

impl EventCounts {
    /// The count of one type.
    pub fn get(&self, t: EventType) -> u64 {
        match t {
            EventType::Llm => self.llms,
            EventType::Tool => self.tools,
            EventType::Action => self.actions,
            EventType::Agent => self.agents,
            EventType::Error => self.errors,
        }
    }

    /// All events.
    pub fn total(&self) -> u64 {
        self.llms + self.tools + self.actions + self.errors + self.agents
    }
}

/// What a session came to, returned by [`Session::end`](crate::Session::end).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// The session id (= the trace id, as a UUID).
    pub session_id: Uuid,
    /// How it ended.
    pub end_state: EndState,
    /// Why it ended so.
    pub end_state_reason: Option<String>,
    /// The session's tags.
    pub tags: Vec<String>,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// Events per type.
    pub event_counts: EventCounts,
    /// Input tokens over all LLM calls.
    pub input_tokens: u64,
    /// Output tokens over all LLM calls.
    pub output_tokens: u64,
    /// Cost over all LLM calls in USD (non-finite costs are left out).
    pub cost: f64,
    /// Whether the session was sampled (exported).
    pub sampled: bool,
    /// The session's page on the AgentOps dashboard, when exporting to AgentOps.
    pub replay_url: Option<String>,
    /// The cost AgentOps computed for the session (legacy v2 protocol), filled in
    /// by [`Session::end_and_flush`](crate::Session::end_and_flush); `None` otherwise.
    pub token_cost: Option<f64>,
}

impl fmt::Display for SessionSummary {
    /// `Session Stats - Duration: 1m 2.3s | Cost: $0.001234 | LLMs: 2 | Tools: 1 | Actions: 1 | Errors: 1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.event_counts;
        write!(
            f,
            "Session Stats - Duration: {} | Cost: {} | LLMs: {} | Tools: {} | Actions: {} | Errors: {}",
            human_duration(self.duration),
            usd(self.cost),
            c.llms,
            c.tools,
            c.actions,
            c.errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_matches_the_python_sdk() {
        let s = SessionSummary {
            session_id: Uuid::nil(),
            end_state: EndState::Success,
            end_state_reason: None,
            tags: vec![],
            started_at: SystemTime::UNIX_EPOCH,
            ended_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(62_300),
            event_counts: EventCounts { llms: 2, tools: 1, actions: 1, errors: 1, agents: 0 },
            input_tokens: 0,
            output_tokens: 0,
            cost: 0.001234,
            sampled: true,
            replay_url: None,
            token_cost: None,
        };
        assert_eq!(
            s.to_string(),
            "Session Stats - Duration: 1m 2.3s | Cost: $0.001234 | LLMs: 2 | Tools: 1 | Actions: 1 | Errors: 1"
        );
    }
}
