//! Provider calls: from a provider's own request and response to a complete
//! [`LlmEvent`](crate::LlmEvent), whatever HTTP client the application uses.
//!
//! - **ureq:** add [`ProviderCapture`] to the application's `ureq::Agent`; every
//!   call to a provider it recognizes is recorded, streamed or not, failed or not.
//! - **Any other client** (`reqwest::blocking`, a provider crate, hyper): two lines
//!   around the call with a [`ProviderCall`]: start it with the request, finish it
//!   with the answer.
//! - **Bodies already in hand:** the adapters below turn a request and response
//!   JSON into an event to record, and a [`Stream`] adds up a streamed one.
//!
//! | provider | [`Api`] | call | stream |
//! |---|---|---|---|
//! | OpenAI chat completions, and everything that speaks it (Azure OpenAI, Groq, Mistral, xAI, DeepSeek, OpenRouter, Together, Ollama, vLLM, the LiteLLM proxy) | `OpenAiChat` | [`openai::chat_completion`] | [`Stream::openai_chat`] |
//! | OpenAI Responses API | `OpenAiResponses` | [`openai::responses`] | [`Stream::openai_responses`] |
//! | Anthropic Messages | `AnthropicMessages` | [`anthropic::messages`] | [`Stream::anthropic`] |
//! | Google Gemini `generateContent` | `Gemini` | [`gemini::generate_content`] | [`Stream::gemini`] |
//!
//! Bodies may be `serde_json::Value`, bytes or text ([`Body`]); a body that is not
//! the provider's shape, or larger than [`MAX_BODY_BYTES`], is a [`ProviderError`],
//! never a panic. Usage fields that are missing or negative are left out (no
//! tokens, no cost), not guessed. An adapter's event starts when the adapter
//! runs: set [`LlmEvent::started_at`](crate::LlmEvent::started_at) to when the
//! request was sent (a [`Stream`] and a [`ProviderCall`] do that themselves).
//! Costs come from the client's [`PriceTable`] when the event is recorded.

mod call;
mod captured;
mod failure;
mod middleware;
mod response;
mod routes;

pub use crate::adapters::{anthropic, gemini, openai};
pub use crate::adapters::{Api, Body, ModelPrice, PriceTable, ProviderError, Stream, MAX_BODY_BYTES};
pub use call::ProviderCall;
pub use middleware::ProviderCapture;
