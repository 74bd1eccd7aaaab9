//! Provider adapters: from a provider's own request and response JSON (or its
//! streamed events) to a complete [`LlmEvent`](crate::LlmEvent). One file per
//! provider family; the public face is [`crate::providers`].

pub mod anthropic;
mod api;
mod body;
mod finish;
pub mod gemini;
pub mod openai;
mod openai_chat;
mod openai_responses;
pub(crate) mod prices;
mod sse;
mod stream;

pub use api::Api;
pub use body::{Body, ProviderError, MAX_BODY_BYTES};
pub use prices::price::ModelPrice;
pub use prices::table::PriceTable;
pub use stream::Stream;
