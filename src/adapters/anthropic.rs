//! Anthropic Messages (`POST /v1/messages`): content blocks (`text`, `tool_use`,
//! `tool_result`, `thinking`), `stop_reason`, and usage with prompt caching. Per
//! the GenAI conventions the event's input tokens include the cached and
//! cache-creation tokens, which are also reported on their own.

use serde_json::{json, Value};

use super::body::{api_error, count, event_of, object, parts_of, request_params, text, Body, ProviderError};
use super::finish::normalize_finish;
use crate::event::{ChatMessage, Content, LlmEvent, Part, ToolCall};

const PROVIDER: &str = "anthropic";

fn shape(detail: impl Into<String>) -> ProviderError {
    ProviderError::shape(PROVIDER, detail)
}

/// The parts of a message's content: a string or blocks (images and documents are
/// not captured).
fn blocks(content: Option<&Value>) -> Vec<Part> {
    parts_of(content, block)
}

fn block(b: &Value) -> Option<Part> {
    Some(match text(b, "type")? {
        "text" => Part::Text(text(b, "text")?.to_owned()),
        "thinking" => Part::Reasoning(text(b, "thinking")?.to_owned()),
        "tool_use" | "server_tool_use" => Part::ToolCall(ToolCall::new(
            text(b, "id").map(str::to_owned),
            text(b, "name")?,
            b.get("input").cloned().unwrap_or(Value::Null),
        )),
        "tool_result" => {
            let response = match b.get("content") {
                Some(Value::Array(parts)) => {
                    Value::String(parts.iter().filter_map(|p| text(p, "text")).collect::<Vec<_>>().join(""))
                }
                Some(other) => other.clone(),
                None => Value::Null,
            };
            Part::ToolCallResponse { id: text(b, "tool_use_id").map(str::to_owned), response }
        }
        _ => return None,
    })
}

/// `system`: a string or text blocks, as a system message.
fn system(req: &Value) -> Option<ChatMessage> {
    let parts = blocks(req.get("system"));
    (!parts.is_empty()).then(|| ChatMessage::with_parts("system", parts))
}

/// The event of one Messages call, from its request and response bodies.
///
/// # Errors
/// [`ProviderError::Api`] for an error body, [`ProviderError::Shape`] for JSON that
/// is not a message, or a body error ([`Body::json`]).
pub fn messages(request: impl Body, response: impl Body) -> Result<LlmEvent, ProviderError> {
    let (req, resp) = (request.json()?, response.json()?);
    if let Some(e) = api_error(PROVIDER, &resp) {
        return Err(e);
    }
    let req = object(PROVIDER, "request", &req)?;
    let resp = object(PROVIDER, "response", &resp)?;
    let Some(content) = resp.get("content").filter(|c| c.is_array()) else {
        return Err(shape("the response has no `content` array"));
    };
    let mut e = event_of(PROVIDER, req, resp);
    let mut prompt: Vec<ChatMessage> = system(req).into_iter().collect();
    if let Some(Value::Array(msgs)) = req.get("messages") {
        prompt.extend(
            msgs.iter().map(|m| ChatMessage::with_parts(text(m, "role").unwrap_or("user"), blocks(m.get("content")))),
        );
    }
    e = e.prompt(Content::Messages(prompt));
    let mut answer = ChatMessage::with_parts(text(resp, "role").unwrap_or("assistant"), blocks(Some(content)));
    if let Some(stop) = text(resp, "stop_reason") {
        e = e.finish_reason(stop);
        answer = answer.finish_reason(normalize_finish(stop));
    }
    e = e.completion(answer);
    if let Some(u) = resp.get("usage").filter(|u| u.is_object()) {
        let (read, creation) = (count(u, "cache_read_input_tokens"), count(u, "cache_creation_input_tokens"));
        e.input_tokens =
            count(u, "input_tokens").map(|n| n.saturating_add(read.unwrap_or(0)).saturating_add(creation.unwrap_or(0)));
        e.output_tokens = count(u, "output_tokens");
        e.details_mut().cache_read_tokens = read;
        e.details_mut().cache_creation_tokens = creation;
    }
    e.params = request_params(req, &[]);
    Ok(e)
}

/// What the events of a streamed message add up to: `message_start` gives the
/// message (id, model, input usage), `content_block_*` its blocks (text,
/// `input_json_delta` fragments of tool input, thinking), `message_delta` the stop
/// reason and output usage, `message_stop` the end.
#[derive(Default)]
pub(crate) struct MessageChunks {
    message: Option<Value>,
    blocks: Vec<Value>,
    /// Tool input JSON being assembled, per block.
    partial_json: Vec<String>,
    stopped: bool,
}

impl MessageChunks {
    pub(crate) fn add(&mut self, event: &Value) -> Result<(), ProviderError> {
        if let Some(e) = api_error(PROVIDER, event) {
            return Err(e);
        }
        object(PROVIDER, "event", event)?;
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0).min(1024) as usize;
        match text(event, "type").unwrap_or_default() {
            // Only objects are kept: indexing into anything else would panic.
            "message_start" => self.message = event.get("message").filter(|m| m.is_object()).cloned(),
            "content_block_start" => {
                if self.blocks.len() <= index {
                    self.blocks.resize(index + 1, Value::Null);
                    self.partial_json.resize(index + 1, String::new());
                }
                self.blocks[index] =
                    event.get("content_block").filter(|b| b.is_object()).cloned().unwrap_or(Value::Null);
            }
            "content_block_delta" => {
                let (Some(block @ Value::Object(_)), Some(d)) = (self.blocks.get_mut(index), event.get("delta")) else {
                    return Err(shape("a content_block_delta for a block that did not start"));
                };
                match text(d, "type").unwrap_or_default() {
                    "text_delta" => append(block, "text", text(d, "text")),
                    "thinking_delta" => append(block, "thinking", text(d, "thinking")),
                    "input_json_delta" => {
                        self.partial_json[index].push_str(text(d, "partial_json").unwrap_or_default())
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let (Some(block @ Value::Object(_)), Some(json)) =
                    (self.blocks.get_mut(index), self.partial_json.get(index))
                {
                    if !json.is_empty() {
                        block["input"] = serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.clone()));
                    }
                }
            }
            "message_delta" => {
                let msg = self.message.get_or_insert_with(|| json!({}));
                if let Some(stop) = event.get("delta").and_then(|d| d.get("stop_reason")).filter(|s| !s.is_null()) {
                    msg["stop_reason"] = stop.clone();
                }
                if let Some(Value::Object(u)) = event.get("usage") {
                    let usage = msg.as_object_mut().map(|m| m.entry("usage").or_insert_with(|| json!({})));
                    if let Some(Value::Object(usage)) = usage {
                        usage.extend(u.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())));
                    }
                }
            }
            "message_stop" => self.stopped = true,
            _ => {}
        }
        Ok(())
    }

    /// The message the events add up to, as the non-streamed call returns it.
    pub(crate) fn response(&self) -> Value {
        let mut msg = self.message.clone().filter(Value::is_object).unwrap_or_else(|| json!({"role": "assistant"}));
        msg["content"] = Value::Array(self.blocks.iter().filter(|b| !b.is_null()).cloned().collect());
        msg
    }

    pub(crate) fn finished(&self) -> bool {
        self.stopped
    }
}

fn append(block: &mut Value, key: &str, piece: Option<&str>) {
    let mut s = text(block, key).unwrap_or_default().to_owned();
    s.push_str(piece.unwrap_or_default());
    block[key] = Value::String(s);
}
