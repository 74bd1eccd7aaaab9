//! `ToolEvent`: a tool call.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::common::{common_setters, payload_setters, to_json, EventCommon};

/// A tool call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    payload_setters!("arguments", "result");
}
