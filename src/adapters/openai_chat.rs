//! OpenAI chat completions (`POST /v1/chat/completions`), and everything that speaks
//! it: Azure OpenAI, Groq, Mistral, xAI, DeepSeek, OpenRouter, Together, Ollama,
//! vLLM, the LiteLLM proxy. The event's provider is `openai`; name another with
//! [`LlmEvent::provider`] on the result.

use serde_json::{json, Value};

use super::body::{
    api_error, count, event_of, json_or_text, object, parts_of, request_params, text, Body, ProviderError,
};
use super::finish::normalize_finish;
use crate::event::{ChatMessage, Content, LlmEvent, Part, ToolCall};

const PROVIDER: &str = "openai";

fn shape(detail: impl Into<String>) -> ProviderError {
    ProviderError::shape(PROVIDER, detail)
}

/// The parts of a message's `content` (chat completions and the Responses API
/// alike): a string, or parts of which the text ones are kept (images, audio and
/// files are not captured).
pub(crate) fn content_parts(content: Option<&Value>) -> Vec<Part> {
    parts_of(content, |p| match text(p, "type") {
        Some("text" | "input_text" | "output_text") => text(p, "text").map(|t| Part::Text(t.into())),
        Some("refusal") => text(p, "refusal").map(|t| Part::Text(t.into())),
        _ => None,
    })
}

/// An assistant message's `tool_calls`.
fn tool_calls(v: Option<&Value>) -> Vec<Part> {
    let Some(Value::Array(calls)) = v else { return Vec::new() };
    calls
        .iter()
        .filter_map(|c| {
            let f = c.get("function")?;
            let args = text(f, "arguments").map_or(Value::Null, json_or_text);
            Some(Part::ToolCall(ToolCall::new(text(c, "id").map(str::to_owned), text(f, "name")?, args)))
        })
        .collect()
}

/// One message of the request, or a choice's message of the response.
fn message(m: &Value) -> ChatMessage {
    let role = text(m, "role").unwrap_or("user");
    if role == "tool" {
        let response = match m.get("content") {
            Some(Value::String(s)) => json_or_text(s),
            Some(other) => Value::String(content_parts(Some(other)).iter().map(part_text).collect()),
            None => Value::Null,
        };
        let id = text(m, "tool_call_id").map(str::to_owned);
        return ChatMessage::with_parts("tool", vec![Part::ToolCallResponse { id, response }]);
    }
    let mut parts = Vec::new();
    // DeepSeek and vLLM return the model's reasoning beside the content.
    if let Some(r) = text(m, "reasoning_content").or_else(|| text(m, "reasoning")).filter(|r| !r.is_empty()) {
        parts.push(Part::Reasoning(r.to_owned()));
    }
    parts.extend(content_parts(m.get("content")));
    if let Some(r) = text(m, "refusal") {
        parts.push(Part::Text(r.to_owned()));
    }
    parts.extend(tool_calls(m.get("tool_calls")));
    ChatMessage::with_parts(role, parts)
}

fn part_text(p: &Part) -> &str {
    match p {
        Part::Text(t) | Part::Reasoning(t) => t,
        _ => "",
    }
}

/// The event of one chat completion, from its request and response bodies.
///
/// # Errors
/// [`ProviderError::Api`] for an error body, [`ProviderError::Shape`] for JSON that
/// is not a chat completion, or a body error ([`Body::json`]).
pub fn chat_completion(request: impl Body, response: impl Body) -> Result<LlmEvent, ProviderError> {
    let (req, resp) = (request.json()?, response.json()?);
    if let Some(e) = api_error(PROVIDER, &resp) {
        return Err(e);
    }
    let req = object(PROVIDER, "request", &req)?;
    let resp = object(PROVIDER, "response", &resp)?;
    let Some(Value::Array(choices)) = resp.get("choices") else {
        return Err(shape("the response has no `choices` array"));
    };
    let mut e = event_of(PROVIDER, req, resp);
    if let Some(Value::Array(msgs)) = req.get("messages") {
        e = e.prompt(Content::Messages(msgs.iter().map(message).collect()));
    }
    let mut completion = Vec::with_capacity(choices.len());
    for c in choices {
        let mut m = c.get("message").map(message).unwrap_or_else(|| ChatMessage::with_parts("assistant", vec![]));
        if let Some(f) = text(c, "finish_reason") {
            e = e.finish_reason(f);
            m = m.finish_reason(normalize_finish(f));
        }
        completion.push(m);
    }
    e = e.completion(Content::Messages(completion));
    if let Some(u) = resp.get("usage").filter(|u| u.is_object()) {
        e.input_tokens = count(u, "prompt_tokens");
        e.output_tokens = count(u, "completion_tokens");
        e.details_mut().cache_read_tokens = u.get("prompt_tokens_details").and_then(|d| count(d, "cached_tokens"));
        e.details_mut().reasoning_tokens =
            u.get("completion_tokens_details").and_then(|d| count(d, "reasoning_tokens"));
    }
    e.params = request_params(req, &[("max_completion_tokens", "max_tokens"), ("stop", "stop_sequences")]);
    Ok(e)
}

/// A streamed tool call being assembled from its fragments.
#[derive(Default, Clone)]
struct CallParts {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// One choice being assembled from deltas.
#[derive(Default, Clone)]
struct ChoiceParts {
    role: Option<String>,
    content: String,
    reasoning: String,
    refusal: Option<String>,
    calls: Vec<CallParts>,
    finish: Option<String>,
}

/// What the chunks of a streamed chat completion add up to.
#[derive(Default)]
pub(crate) struct ChatChunks {
    id: Option<String>,
    model: Option<String>,
    choices: Vec<ChoiceParts>,
    usage: Option<Value>,
}

impl ChatChunks {
    /// Adds one `chat.completion.chunk`.
    pub(crate) fn add(&mut self, chunk: &Value) -> Result<(), ProviderError> {
        if let Some(e) = api_error(PROVIDER, chunk) {
            return Err(e);
        }
        object(PROVIDER, "chunk", chunk)?;
        self.id = self.id.take().or_else(|| text(chunk, "id").map(str::to_owned));
        self.model = self.model.take().or_else(|| text(chunk, "model").map(str::to_owned));
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(Value::Array(choices)) = chunk.get("choices") else { return Ok(()) };
        for c in choices {
            let i = c.get("index").and_then(Value::as_u64).unwrap_or(0).min(1024) as usize;
            if self.choices.len() <= i {
                self.choices.resize(i + 1, ChoiceParts::default());
            }
            let choice = &mut self.choices[i];
            if let Some(f) = text(c, "finish_reason") {
                choice.finish = Some(f.to_owned());
            }
            let Some(d) = c.get("delta") else { continue };
            if let Some(r) = text(d, "role") {
                choice.role = Some(r.to_owned());
            }
            choice.content.push_str(text(d, "content").unwrap_or_default());
            choice
                .reasoning
                .push_str(text(d, "reasoning_content").or_else(|| text(d, "reasoning")).unwrap_or_default());
            if let Some(r) = text(d, "refusal") {
                choice.refusal.get_or_insert_with(String::new).push_str(r);
            }
            for call in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                let j = call.get("index").and_then(Value::as_u64).unwrap_or(0).min(1024) as usize;
                if choice.calls.len() <= j {
                    choice.calls.resize(j + 1, CallParts::default());
                }
                let parts = &mut choice.calls[j];
                if let Some(id) = text(call, "id") {
                    parts.id = Some(id.to_owned());
                }
                if let Some(f) = call.get("function") {
                    parts.name.push_str(text(f, "name").unwrap_or_default());
                    parts.arguments.push_str(text(f, "arguments").unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    /// The response body the chunks add up to, as the non-streamed call returns it.
    pub(crate) fn response(&self) -> Value {
        let choices: Vec<Value> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // No text streamed is `null` content, as the plain call returns it.
                let content = if c.content.is_empty() { Value::Null } else { json!(c.content) };
                let mut message = json!({ "role": c.role.as_deref().unwrap_or("assistant"), "content": content });
                if !c.reasoning.is_empty() {
                    message["reasoning_content"] = json!(c.reasoning);
                }
                if let Some(r) = &c.refusal {
                    message["refusal"] = json!(r);
                }
                if !c.calls.is_empty() {
                    message["tool_calls"] = c
                        .calls
                        .iter()
                        .map(|t| json!({"id": t.id, "type": "function", "function": {"name": t.name, "arguments": t.arguments}}))
                        .collect();
                }
                json!({ "index": i, "message": message, "finish_reason": c.finish })
            })
            .collect();
        let mut resp = json!({ "object": "chat.completion", "choices": choices });
        if let Some(id) = &self.id {
            resp["id"] = json!(id);
        }
        if let Some(m) = &self.model {
            resp["model"] = json!(m);
        }
        if let Some(u) = &self.usage {
            resp["usage"] = u.clone();
        }
        resp
    }

    /// Whether every choice has finished.
    pub(crate) fn finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|c| c.finish.is_some())
    }
}
