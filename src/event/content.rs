//! What is sent to and received from a model: text, or chat messages made of parts
//! (text, tool calls, tool results, reasoning), as the GenAI semantic conventions
//! model them.

use serde::Serialize;
use serde_json::Value;

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The provider's id for this call (`call_…`, `toolu_…`); a tool result refers
    /// to it, and it becomes `gen_ai.tool.call.id` on the tool's span.
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON (a provider that sends them as text that is not JSON
    /// has them kept as a JSON string).
    pub arguments: Value,
}

impl ToolCall {
    /// A call of tool `name` with `arguments`.
    pub fn new(id: Option<String>, name: impl Into<String>, arguments: Value) -> Self {
        ToolCall { id, name: name.into(), arguments }
    }
}

/// One part of a chat message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Part {
    /// Text.
    Text(String),
    /// A tool call the model asked for.
    ToolCall(ToolCall),
    /// A tool's result, sent back to the model.
    ToolCallResponse {
        /// The id of the call this answers.
        id: Option<String>,
        /// The result.
        response: Value,
    },
    /// The model's reasoning (thinking) text, when the provider returns it.
    Reasoning(String),
}

/// One chat message of a prompt or completion: a role and its parts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, `tool`, …
    pub role: String,
    /// What the message holds, in order.
    pub parts: Vec<Part>,
    /// Why the model stopped, on completion messages, as the GenAI conventions
    /// name it (`stop`, `length`, `content_filter`, `tool_call`, `error`) or the
    /// provider's own word when there is no equivalent.
    pub finish_reason: Option<String>,
}

impl ChatMessage {
    /// A message with the given role and text.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), parts: vec![Part::Text(content.into())], finish_reason: None }
    }

    /// A message with the given role and parts.
    pub fn with_parts(role: impl Into<String>, parts: Vec<Part>) -> Self {
        ChatMessage { role: role.into(), parts, finish_reason: None }
    }

    /// A `tool` message carrying the result of call `id`.
    pub fn tool_result(id: impl Into<String>, response: Value) -> Self {
        Self::with_parts("tool", vec![Part::ToolCallResponse { id: Some(id.into()), response }])
    }

    /// Sets the finish reason.
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// The text parts, joined.
    pub fn text(&self) -> String {
        self.parts.iter().filter_map(|p| if let Part::Text(t) = p { Some(t.as_str()) } else { None }).collect()
    }

    /// The tool calls in this message.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.parts.iter().filter_map(|p| if let Part::ToolCall(c) = p { Some(c) } else { None })
    }
}

/// The text sent to or received from a model: a plain string or chat messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A list of chat messages.
    Messages(Vec<ChatMessage>),
}

impl Content {
    /// The tool calls in these messages.
    pub fn tool_calls(&self) -> Vec<&ToolCall> {
        match self {
            Content::Text(_) => Vec::new(),
            Content::Messages(m) => m.iter().flat_map(ChatMessage::tool_calls).collect(),
        }
    }
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
impl From<ChatMessage> for Content {
    fn from(m: ChatMessage) -> Self {
        Content::Messages(vec![m])
    }
}
