//! `Api`: which provider API a call speaks, so that one recorder (a guard, a
//! middleware) can pick the adapter and the stream decoder for it.

use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::body::{Body, ProviderError};
use super::stream::{Chunks, Stream};
use super::{anthropic, gemini, openai};
use crate::event::LlmEvent;

/// The provider API a call speaks (its request and response shapes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Api {
    /// OpenAI chat completions (`/chat/completions`), and every server that
    /// speaks it.
    OpenAiChat,
    /// The OpenAI Responses API (`/responses`).
    OpenAiResponses,
    /// Anthropic Messages (`/v1/messages`).
    AnthropicMessages,
    /// Google Gemini `generateContent` and `streamGenerateContent` of `model`
    /// (the model is in the URL, not the body).
    Gemini {
        /// The model the URL names (`models/{model}:generateContent`).
        model: String,
    },
}

impl Api {
    /// The provider family, as [`ProviderError`] names it.
    pub(crate) fn family(&self) -> &'static str {
        match self {
            Api::OpenAiChat | Api::OpenAiResponses => "openai",
            Api::AnthropicMessages => "anthropic",
            Api::Gemini { .. } => "gemini",
        }
    }

    /// Its `gen_ai.provider.name`, as the adapters set it.
    pub(crate) fn provider_name(&self) -> &'static str {
        match self {
            Api::Gemini { .. } => "gcp.gemini",
            other => other.family(),
        }
    }

    /// The event a whole (not streamed) response gives.
    pub(crate) fn event(&self, request: impl Body, response: impl Body) -> Result<LlmEvent, ProviderError> {
        match self {
            Api::OpenAiChat => openai::chat_completion(request, response),
            Api::OpenAiResponses => openai::responses(request, response),
            Api::AnthropicMessages => anthropic::messages(request, response),
            Api::Gemini { model } => gemini::generate_content(model, request, response),
        }
    }

    /// A decoder of this API's streamed response to `request` (moved in, not
    /// copied), its clock started when the request was sent.
    pub(crate) fn stream_of(&self, request: Value, started: Instant, started_at: SystemTime) -> Stream {
        let chunks = match self {
            Api::OpenAiChat => Chunks::OpenAiChat(Default::default()),
            Api::OpenAiResponses => Chunks::OpenAiResponses(Default::default()),
            Api::AnthropicMessages => Chunks::Anthropic(Default::default()),
            Api::Gemini { model } => Chunks::Gemini(model.clone(), Default::default()),
        };
        Stream::new(request, chunks, started, started_at)
    }
}
