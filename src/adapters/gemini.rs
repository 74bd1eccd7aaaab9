//! Google Gemini `generateContent` (and `streamGenerateContent?alt=sse`):
//! candidates, parts (text, thoughts, function calls and responses), and
//! `usageMetadata`. The model is in the URL, not the body, so it is an argument.
//! Output tokens include the thoughts (which Gemini bills as output), also reported
//! as reasoning tokens; input tokens include the cached content tokens.

use serde_json::{json, Value};

use super::body::{api_error, count, object, request_params, text, Body, ProviderError};
use super::finish::normalize_finish;
use crate::event::{ChatMessage, Content, LlmEvent, Part, ToolCall};

const PROVIDER: &str = "gcp.gemini";

fn shape(detail: impl Into<String>) -> ProviderError {
    ProviderError::shape("gemini", detail)
}

fn part(p: &Value) -> Option<Part> {
    if let Some(t) = text(p, "text") {
        let thought = p.get("thought").and_then(Value::as_bool).unwrap_or(false);
        return Some(if thought { Part::Reasoning(t.to_owned()) } else { Part::Text(t.to_owned()) });
    }
    if let Some(c) = p.get("functionCall") {
        let args = c.get("args").cloned().unwrap_or(Value::Null);
        return Some(Part::ToolCall(ToolCall::new(text(c, "id").map(str::to_owned), text(c, "name")?, args)));
    }
    if let Some(r) = p.get("functionResponse") {
        // Gemini answers calls by name (and id, when the call had one).
        let id = text(r, "id").or_else(|| text(r, "name")).map(str::to_owned);
        return Some(Part::ToolCallResponse { id, response: r.get("response").cloned().unwrap_or(Value::Null) });
    }
    None
}

fn content(c: &Value, default_role: &str) -> ChatMessage {
    // Gemini's own role for the model is `model`; the conventions say `assistant`.
    let role = match text(c, "role").unwrap_or(default_role) {
        "model" => "assistant",
        other => other,
    };
    let parts = c.get("parts").and_then(Value::as_array).map(|p| p.iter().filter_map(part).collect());
    ChatMessage::with_parts(role, parts.unwrap_or_default())
}

/// The event of one `generateContent` call of `model`, from its request and
/// response bodies.
///
/// # Errors
/// [`ProviderError::Api`] for an error body, [`ProviderError::Shape`] for JSON that
/// is not a `GenerateContentResponse`, or a body error ([`Body::json`]).
pub fn generate_content(model: &str, request: impl Body, response: impl Body) -> Result<LlmEvent, ProviderError> {
    let (req, resp) = (request.json()?, response.json()?);
    if let Some(e) = api_error("gemini", &resp) {
        return Err(e);
    }
    let req = object("gemini", "request", &req)?;
    let resp = object("gemini", "response", &resp)?;
    let candidates = match resp.get("candidates") {
        Some(Value::Array(c)) => c.as_slice(),
        // A prompt blocked before generation has no candidates, only feedback.
        None if resp.get("promptFeedback").is_some() || resp.get("usageMetadata").is_some() => &[],
        _ => return Err(shape("the response has no `candidates` array")),
    };
    let model = model.trim_start_matches("models/");
    let mut e = LlmEvent::new(model.to_owned()).provider(PROVIDER);
    if let Some(v) = text(resp, "modelVersion") {
        e = e.response_model(v.to_owned());
    }
    if let Some(id) = text(resp, "responseId") {
        e = e.response_id(id);
    }
    let mut prompt = Vec::new();
    if let Some(sys) = req.get("systemInstruction").or_else(|| req.get("system_instruction")) {
        prompt.push(content(sys, "system"));
    }
    if let Some(Value::Array(contents)) = req.get("contents") {
        prompt.extend(contents.iter().map(|c| content(c, "user")));
    }
    e = e.prompt(Content::Messages(prompt));
    let mut completion = Vec::with_capacity(candidates.len());
    for c in candidates {
        let mut m = c
            .get("content")
            .map(|c| content(c, "model"))
            .unwrap_or_else(|| ChatMessage::with_parts("assistant", vec![]));
        if let Some(f) = text(c, "finishReason") {
            e = e.finish_reason(f);
            let calls = m.tool_calls().next().is_some();
            m = m.finish_reason(if calls && f == "STOP" { "tool_call".into() } else { normalize_finish(f) });
        }
        completion.push(m);
    }
    e = e.completion(Content::Messages(completion));
    if let Some(u) = resp.get("usageMetadata").filter(|u| u.is_object()) {
        let thoughts = count(u, "thoughtsTokenCount");
        e.input_tokens = count(u, "promptTokenCount");
        e.output_tokens = match (count(u, "candidatesTokenCount"), thoughts) {
            (None, None) => None,
            (c, t) => Some(c.unwrap_or(0).saturating_add(t.unwrap_or(0))),
        };
        e.details_mut().cache_read_tokens = count(u, "cachedContentTokenCount");
        e.details_mut().reasoning_tokens = thoughts;
    }
    let renames = [
        ("topP", "top_p"),
        ("topK", "top_k"),
        ("maxOutputTokens", "max_tokens"),
        ("stopSequences", "stop_sequences"),
        ("frequencyPenalty", "frequency_penalty"),
        ("presencePenalty", "presence_penalty"),
    ];
    e.params = req.get("generationConfig").and_then(|g| request_params(g, &renames));
    Ok(e)
}

/// What the chunks of `streamGenerateContent` add up to: each is a
/// `GenerateContentResponse` holding the next parts; the last has the finish
/// reason and the usage.
#[derive(Default)]
pub(crate) struct GeminiChunks {
    candidates: Vec<Value>,
    last: Option<Value>,
}

impl GeminiChunks {
    pub(crate) fn add(&mut self, chunk: &Value) -> Result<(), ProviderError> {
        if let Some(e) = api_error("gemini", chunk) {
            return Err(e);
        }
        object("gemini", "chunk", chunk)?;
        for c in chunk.get("candidates").and_then(Value::as_array).into_iter().flatten() {
            let i = c.get("index").and_then(Value::as_u64).unwrap_or(0).min(1024) as usize;
            if self.candidates.len() <= i {
                self.candidates.resize(i + 1, json!({"content": {"role": "model", "parts": []}}));
            }
            let acc = &mut self.candidates[i];
            if let Some(f) = c.get("finishReason") {
                acc["finishReason"] = f.clone();
            }
            for p in c.get("content").and_then(|c| c.get("parts")).and_then(Value::as_array).into_iter().flatten() {
                push_part(acc, p);
            }
        }
        self.last = Some(chunk.clone());
        Ok(())
    }

    /// The response the chunks add up to, as the non-streamed call returns it.
    pub(crate) fn response(&self) -> Value {
        let mut resp = json!({ "candidates": self.candidates });
        if let Some(last) = &self.last {
            for key in ["usageMetadata", "modelVersion", "responseId"] {
                if let Some(v) = last.get(key) {
                    resp[key] = v.clone();
                }
            }
        }
        resp
    }

    pub(crate) fn finished(&self) -> bool {
        !self.candidates.is_empty() && self.candidates.iter().all(|c| c.get("finishReason").is_some())
    }
}

/// Appends a streamed part: text continues the previous text part of the same
/// kind (thought or not); anything else is a part of its own.
fn push_part(candidate: &mut Value, p: &Value) {
    let Some(parts) = candidate.pointer_mut("/content/parts").and_then(Value::as_array_mut) else { return };
    if let Some(t) = text(p, "text") {
        let thought = p.get("thought").and_then(Value::as_bool).unwrap_or(false);
        if let Some(Value::Object(prev)) = parts.last_mut() {
            let prev_thought = prev.get("thought").and_then(Value::as_bool).unwrap_or(false);
            if let (Some(Value::String(s)), true) = (prev.get_mut("text"), prev_thought == thought) {
                s.push_str(t);
                return;
            }
        }
    }
    parts.push(p.clone());
}
