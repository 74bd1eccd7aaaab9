//! Spans that describe an LLM call with the GenAI semantic conventions' fields
//! (as agent frameworks such as rig emit them: `gen_ai.operation.name`,
//! `gen_ai.request.model`, `gen_ai.usage.*`) become [`LlmEvent`]s, so they are
//! exported as LLM spans, priced, and counted in the session summary.

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};

use crate::encode::attr;
use crate::event::LlmEvent;

/// Operations that are model calls.
const LLM_OPERATIONS: [&str; 4] = ["chat", "text_completion", "generate_content", "completion"];

fn get<'a>(fields: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    fields.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn text(fields: &[KeyValue], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| get(fields, k)).map(|v| v.as_str().into_owned())
}

fn count(fields: &[KeyValue], keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| match get(fields, k)? {
        Value::I64(n) => u64::try_from(*n).ok(),
        Value::F64(f) if *f >= 0.0 && f.is_finite() => Some(*f as u64),
        Value::String(s) => s.as_str().parse().ok(),
        _ => None,
    })
}

/// The LLM call a span's fields describe, if they describe one: a requested
/// model, or a model-call operation.
pub(crate) fn llm_event(fields: &[KeyValue]) -> Option<LlmEvent> {
    let operation = text(fields, &[attr::GEN_AI_OPERATION]);
    let model = text(fields, &[attr::GEN_AI_REQUEST_MODEL]);
    let is_call = model.is_some() || operation.as_deref().is_some_and(|op| LLM_OPERATIONS.contains(&op));
    if !is_call {
        return None;
    }
    let response_model = text(fields, &[attr::GEN_AI_RESPONSE_MODEL]);
    let model = model.or_else(|| response_model.clone()).unwrap_or_else(|| "unknown".to_owned());
    let mut e = LlmEvent::new(model);
    e.operation = operation.map(Cow::Owned);
    e.provider = text(fields, &[attr::GEN_AI_PROVIDER, "gen_ai.system"]).map(Cow::Owned);
    e.response_model = response_model.map(Cow::Owned);
    e.input_tokens = count(fields, &[attr::GEN_AI_INPUT_TOKENS, "gen_ai.usage.prompt_tokens"]);
    e.output_tokens = count(fields, &[attr::GEN_AI_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens"]);
    if let Some(id) = text(fields, &[attr::GEN_AI_RESPONSE_ID]) {
        e = e.response_id(id);
    }
    Some(e)
}
