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
    /// What kind of error the call failed with (`error.type`), when it failed.
    pub error_type: Option<Cow<'static, str>>,
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
            error_type: None,
        }
    }
    common_setters!();
    /// Sets the call id.
    pub fn call_id(mut self, id: impl Into<String>) -> Self {
        self.call_id = Some(id.into());
        self
    }
    payload_setters!("arguments", "result");
    /// Marks the call failed with an error of this kind (`error.type`: a
    /// low-cardinality name, such as the error's type or code).
    pub fn error_type(mut self, t: impl Into<Cow<'static, str>>) -> Self {
        self.error_type = Some(t.into());
        self
    }
}
