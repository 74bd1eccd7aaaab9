//! `LlmEvent`: a model call.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::common::{common_setters, to_json, EventCommon};
use super::content::{Content, ToolCall};

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
    /// What the provider answered beyond the text (response id, finish reasons,
    /// token details, streaming timing); `None` until one is set. Kept apart (and
    /// boxed) so that an event without them stays small in the export queue.
    pub details: Option<Box<ResponseDetails>>,
}

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallError {
    /// A low-cardinality kind (`error.type`): the provider's error type or code
    /// (`rate_limit_error`, `invalid_api_key`), the HTTP status when it gave none
    /// (`503`), or the transport's (`timeout`, `connection_failed`).
    pub error_type: Cow<'static, str>,
    /// What happened, in the provider's words when it said (the span status's
    /// description).
    pub message: String,
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
            details: None,
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
    /// Sets the request parameters from anything serializable. The conventions'
    /// names are read from it: `temperature`, `top_p`, `top_k`, `max_tokens`,
    /// `seed`, `stop_sequences`, `frequency_penalty`, `presence_penalty`.
    pub fn params<T: Serialize + ?Sized>(mut self, p: &T) -> Self {
        self.params = Some(to_json(p));
        self
    }
    /// The response details (empty when none were set).
    pub fn details(&self) -> &ResponseDetails {
        self.details.as_deref().unwrap_or(&NO_DETAILS)
    }
    /// The response details, to change them.
    pub fn details_mut(&mut self) -> &mut ResponseDetails {
        self.details.get_or_insert_with(Default::default)
    }
    /// Sets the provider's response id.
    pub fn response_id(mut self, id: impl Into<String>) -> Self {
        self.details_mut().id = Some(id.into());
        self
    }
    /// Adds a finish reason (one per choice).
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.details_mut().finish_reasons.push(reason.into());
        self
    }
    /// Sets the prompt-cache token counts (both are part of the input tokens).
    pub fn cache_tokens(mut self, read: u64, creation: u64) -> Self {
        let d = self.details_mut();
        d.cache_read_tokens = Some(read);
        d.cache_creation_tokens = Some(creation);
        self
    }
    /// Sets the reasoning token count (part of the output tokens).
    pub fn reasoning_tokens(mut self, n: u64) -> Self {
        self.details_mut().reasoning_tokens = Some(n);
        self
    }
    /// Sets the time from the request to the first streamed chunk (the response
    /// was streamed, so this marks it streamed too).
    pub fn time_to_first_chunk(mut self, d: Duration) -> Self {
        self.details_mut().time_to_first_chunk = Some(d);
        self.streamed()
    }
    /// Marks the call failed: `error_type` is a low-cardinality kind (see
    /// [`CallError::error_type`]), `message` what happened. A failed call is an
    /// inference span with status ERROR, not a separate error span.
    /// What it answered before failing (a stream cut short) keeps its text; its
    /// messages' `finish_reason`, which their schema requires, says `error` where
    /// the provider gave none (`gen_ai.response.finish_reasons` stays absent).
    pub fn failed(mut self, error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        self.details_mut().error = Some(CallError { error_type: error_type.into(), message: message.into() });
        if let Some(Content::Messages(messages)) = &mut self.completion {
            for m in messages.iter_mut().filter(|m| m.finish_reason.is_none()) {
                m.finish_reason = Some("error".into());
            }
        }
        self
    }
    /// Sets where the request went from its URL (`https://api.openai.com/v1/…`):
    /// `server.address` and `server.port` (the scheme's default when the URL has
    /// none). Only the host and port are kept: no path, query (a `key=`) or
    /// credentials. A URL without a host sets nothing.
    pub fn url(mut self, url: &str) -> Self {
        if let Some((_, host, port)) = crate::util::url::target(url) {
            self.details_mut().server = Some((host, port));
        }
        self
    }
    /// Marks the response streamed (`gen_ai.request.stream = true`), as
    /// [`Stream`](crate::providers::Stream) does.
    pub fn streamed(mut self) -> Self {
        self.details_mut().streamed = true;
        self
    }
    /// Why the call failed, if it did.
    pub fn error(&self) -> Option<&CallError> {
        self.details.as_ref().and_then(|d| d.error.as_ref())
    }
    /// The tool calls the model asked for in its completion, in order.
    pub fn tool_calls(&self) -> Vec<&ToolCall> {
        self.completion.as_ref().map(Content::tool_calls).unwrap_or_default()
    }
}

/// What a provider answered beyond the text: the response's id, why it stopped,
/// the token details, and (streamed) the time to its first chunk.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ResponseDetails {
    /// The provider's id of the response (`gen_ai.response.id`).
    pub id: Option<String>,
    /// Why the model stopped, one per choice, in the provider's words
    /// (`gen_ai.response.finish_reasons`).
    pub finish_reasons: Vec<String>,
    /// Input tokens read from the provider's prompt cache (included in the input
    /// tokens; `gen_ai.usage.cache_read.input_tokens`).
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to the provider's prompt cache (included in the input
    /// tokens; `gen_ai.usage.cache_creation.input_tokens`).
    pub cache_creation_tokens: Option<u64>,
    /// Output tokens spent on reasoning (included in the output tokens;
    /// `gen_ai.usage.reasoning.output_tokens`).
    pub reasoning_tokens: Option<u64>,
    /// For a streamed response: from the request to its first chunk
    /// (`gen_ai.response.time_to_first_chunk`, seconds).
    pub time_to_first_chunk: Option<Duration>,
    /// The response was streamed (`gen_ai.request.stream = true`).
    pub streamed: bool,
    /// The stream ended (or was stopped) before the provider said it was done:
    /// what arrived is all there is (`agentops.llm.incomplete = true`).
    pub incomplete: bool,
    /// The request or response was over the recorder's size limit, so the call is
    /// recorded without its content (no messages; `agentops.llm.content_omitted =
    /// true`).
    pub content_omitted: bool,
    /// Why the call failed, when it did ([`LlmEvent::failed`]): its span ends with
    /// status ERROR and `error.type`, and the session counts it as an error.
    pub error: Option<CallError>,
    /// The host the request went to and its port (`server.address`,
    /// `server.port`; see [`LlmEvent::url`]).
    pub server: Option<(String, u16)>,
}

/// What `details()` shows for an event without any.
static NO_DETAILS: ResponseDetails = ResponseDetails {
    id: None,
    finish_reasons: Vec::new(),
    cache_read_tokens: None,
    cache_creation_tokens: None,
    reasoning_tokens: None,
    time_to_first_chunk: None,
    streamed: false,
    incomplete: false,
    content_omitted: false,
    error: None,
    server: None,
};
