//! `LlmEvent`: a model call.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::common::{common_setters, to_json, EventCommon};
use super::content::Content;

/// An LLM call.
///
/// Names that are usually literals (model, provider, operation) take
/// `impl Into<Cow<'static, str>>`: a literal is not copied; pass `s.to_string()`
/// for a borrowed `&str`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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
