//! `ActionEvent`: a step the agent takes.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::common::{common_setters, payload_setters, to_json, EventCommon};

/// A step the agent takes. Recorded as a finished event, or opened as a scope with
/// [`Scope::start_action`](crate::Scope::start_action) so that what happens
/// inside it nests under it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
    payload_setters!("inputs", "outputs");
    /// Sets the screenshot URL.
    pub fn screenshot(mut self, url: impl Into<String>) -> Self {
        self.screenshot = Some(url.into());
        self
    }
}
