//! OpenAI Responses API (`POST /v1/responses`): `input` (text or items: messages,
//! `function_call`, `function_call_output`), `instructions`, and `output` items
//! (`message`, `function_call`, `reasoning`). Streamed, the `response.completed`
//! (or `.incomplete`, `.failed`) event carries the whole response.

use serde_json::Value;

use super::body::{api_error, count, event_of, json_or_text, object, request_params, text, Body, ProviderError};
use super::finish::normalize_finish;
use super::openai_chat::content_parts;
use crate::event::{ChatMessage, Content, LlmEvent, Part, ToolCall};

const PROVIDER: &str = "openai";

fn function_call(item: &Value) -> Option<Part> {
    let args = text(item, "arguments").map_or(Value::Null, json_or_text);
    let id = text(item, "call_id").or_else(|| text(item, "id")).map(str::to_owned);
    Some(Part::ToolCall(ToolCall::new(id, text(item, "name")?, args)))
}

/// An input or output item as a message (items that are not conversation content,
/// such as web-search calls, give none).
fn item(it: &Value) -> Option<ChatMessage> {
    match text(it, "type").unwrap_or("message") {
        "message" => {
            Some(ChatMessage::with_parts(text(it, "role").unwrap_or("user"), content_parts(it.get("content"))))
        }
        "function_call" => Some(ChatMessage::with_parts("assistant", vec![function_call(it)?])),
        "function_call_output" => {
            let response = match it.get("output") {
                Some(Value::String(s)) => json_or_text(s),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            let id = text(it, "call_id").map(str::to_owned);
            Some(ChatMessage::with_parts("tool", vec![Part::ToolCallResponse { id, response }]))
        }
        "reasoning" => {
            let summary = it.get("summary").and_then(Value::as_array);
            let text: String =
                summary.into_iter().flatten().filter_map(|s| text(s, "text")).collect::<Vec<_>>().join("\n");
            (!text.is_empty()).then(|| ChatMessage::with_parts("assistant", vec![Part::Reasoning(text)]))
        }
        _ => None,
    }
}

/// The event of one Responses API call, from its request and response bodies.
///
/// # Errors
/// [`ProviderError::Api`] for an error body (or a failed response),
/// [`ProviderError::Shape`] for JSON that is not a response, or a body error.
pub fn responses(request: impl Body, response: impl Body) -> Result<LlmEvent, ProviderError> {
    let (req, resp) = (request.json()?, response.json()?);
    // A failed response carries `error`; a completed one has `"error": null`, which
    // is no error.
    if let Some(e) = api_error(PROVIDER, &resp) {
        return Err(e);
    }
    let req = object(PROVIDER, "request", &req)?;
    let resp = object(PROVIDER, "response", &resp)?;
    let Some(Value::Array(output)) = resp.get("output") else {
        return Err(ProviderError::shape(PROVIDER, "the response has no `output` array"));
    };
    let mut e = event_of(PROVIDER, req, resp);
    let mut prompt = Vec::new();
    if let Some(i) = text(req, "instructions") {
        prompt.push(ChatMessage::new("system", i));
    }
    match req.get("input") {
        Some(Value::String(s)) => prompt.push(ChatMessage::new("user", s.as_str())),
        Some(Value::Array(items)) => prompt.extend(items.iter().filter_map(item)),
        _ => {}
    }
    e = e.prompt(Content::Messages(prompt));
    // All output items make one assistant message.
    let parts: Vec<Part> = output.iter().filter_map(item).flat_map(|m| m.parts).collect();
    let calls = parts.iter().any(|p| matches!(p, Part::ToolCall(_)));
    let status = text(resp, "status").unwrap_or("completed");
    let reason = match status {
        "incomplete" => resp.pointer("/incomplete_details/reason").and_then(Value::as_str).unwrap_or("incomplete"),
        other => other,
    };
    e = e.finish_reason(reason);
    let normalized = if calls && status == "completed" { "tool_call".into() } else { normalize_finish(reason) };
    e = e.completion(ChatMessage::with_parts("assistant", parts).finish_reason(normalized));
    if let Some(u) = resp.get("usage").filter(|u| u.is_object()) {
        e.input_tokens = count(u, "input_tokens");
        e.output_tokens = count(u, "output_tokens");
        e.details_mut().cache_read_tokens = u.get("input_tokens_details").and_then(|d| count(d, "cached_tokens"));
        e.details_mut().reasoning_tokens = u.get("output_tokens_details").and_then(|d| count(d, "reasoning_tokens"));
    }
    e.params = request_params(req, &[("max_output_tokens", "max_tokens")]);
    Ok(e)
}

/// What the events of a streamed Responses call add up to: the last response
/// object seen (`response.created` … `response.completed`).
#[derive(Default)]
pub(crate) struct ResponsesChunks {
    response: Option<Value>,
    done: bool,
}

impl ResponsesChunks {
    pub(crate) fn add(&mut self, event: &Value) -> Result<(), ProviderError> {
        object(PROVIDER, "event", event)?;
        let kind = text(event, "type").unwrap_or_default();
        if kind == "error" {
            let message = text(event, "message").unwrap_or_default().to_owned();
            let error_type = text(event, "code").unwrap_or("error").to_owned();
            return Err(ProviderError::Api { provider: PROVIDER, error_type, message });
        }
        if let Some(r) = event.get("response").filter(|r| r.is_object()) {
            self.response = Some(r.clone());
        }
        self.done |= matches!(kind, "response.completed" | "response.incomplete" | "response.failed");
        Ok(())
    }

    pub(crate) fn response(&self) -> Value {
        self.response.clone().unwrap_or_else(|| serde_json::json!({ "output": [] }))
    }

    pub(crate) fn finished(&self) -> bool {
        self.done
    }
}
