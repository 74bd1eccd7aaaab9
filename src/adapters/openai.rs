//! OpenAI chat completions and the Responses API (and every server that speaks
//! them; see the [`providers`](crate::providers) table).

pub use super::openai_chat::chat_completion;
pub use super::openai_responses::responses;
