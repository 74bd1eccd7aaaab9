//! Provider adapters: from a provider's own request and response JSON (or its
//! streamed events) to a complete [`LlmEvent`](crate::LlmEvent), whatever HTTP
//! client the application uses (ureq, reqwest, or a client library's types
//! serialized to JSON). One file per provider family:
//!
//! | provider | call | stream |
//! |---|---|---|
//! | OpenAI chat completions, and everything that speaks it (Azure OpenAI, Groq, Mistral, xAI, DeepSeek, OpenRouter, Together, Ollama, vLLM, the LiteLLM proxy) | [`openai::chat_completion`] | [`Stream::openai_chat`] |
//! | OpenAI Responses API | [`openai::responses`] | [`Stream::openai_responses`] |
//! | Anthropic Messages | [`anthropic::messages`] | [`Stream::anthropic`] |
//! | Google Gemini `generateContent` | [`gemini::generate_content`] | [`Stream::gemini`] |
//!
//! Bodies may be `serde_json::Value`, bytes or text ([`Body`]); a body that is not
//! the provider's shape, or larger than [`MAX_BODY_BYTES`], is a [`ProviderError`],
//! never a panic. Usage fields that are missing or negative are left out (no
//! tokens, no cost), not guessed. The event's start time is when the adapter
//! runs: set [`LlmEvent::started_at`](crate::LlmEvent::started_at) to when the
//! request was sent (a [`Stream`] does that itself). Costs come from the client's
//! [`PriceTable`] when the event is recorded.

pub mod anthropic;
mod body;
mod finish;
pub mod gemini;
pub mod openai;
mod openai_chat;
mod openai_responses;
pub(crate) mod prices;
mod sse;
mod stream;

pub use body::{Body, ProviderError, MAX_BODY_BYTES};
pub use prices::price::ModelPrice;
pub use prices::table::PriceTable;
pub use stream::Stream;
