//! The `tracing` bridge (feature `tracing`): [`AgentOpsLayer`], a
//! `tracing_subscriber` layer whose spans inside a session become spans of the
//! session's trace (`layer.rs`), with their fields as typed attributes
//! (`fields.rs`), and spans carrying GenAI fields recorded as LLM calls
//! (`gen_ai.rs`).

mod fields;
mod gen_ai;
pub(crate) mod layer;

pub use layer::AgentOpsLayer;
