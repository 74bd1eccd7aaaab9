//! An agent on the Anthropic Messages API, recorded by the `ProviderCapture`
//! middleware on the example's own ureq agent: inside an agent scope, the model
//! asks for tools, the agent runs them and sends the results back until the
//! model answers. The example parses the answers itself, as an application does.
//!
//! ```sh
//! ANTHROPIC_API_KEY=sk-ant-… cargo run --example anthropic_agent -- [--stream] "What is 17 * 23, and is it warm in Oslo?"
//! ```
//!
//! Environment: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` (default
//! `https://api.anthropic.com`), `ANTHROPIC_MODEL` (default `claude-sonnet-4-5`),
//! `PROVIDER_TIMEOUT_MS` (default 300000). Exports, exits and records errors like
//! the `openai_agent` example.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use agentops::event::ToolCall;
use agentops::providers::{ProviderCapture, ProviderError};
use agentops::AgentScope;
use serde_json::{json, Value};

const MAX_TURNS: usize = 8;

fn main() -> ExitCode {
    support::main_with("anthropic_agent", converse)
}

fn converse(agent: &AgentScope, question: &str, stream: bool) -> Result<String, String> {
    let base = std::env::var("ANTHROPIC_BASE_URL").unwrap_or_else(|_| "https://api.anthropic.com".into());
    let model = std::env::var("ANTHROPIC_MODEL").unwrap_or_else(|_| "claude-sonnet-4-5".into());
    let key = std::env::var("ANTHROPIC_API_KEY").unwrap_or_default();
    let timeout = std::env::var("PROVIDER_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let capture = ProviderCapture::new().base_url(&base).map_err(|e| e.to_string())?;
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(timeout)))
        .middleware(capture)
        .build()
        .into();
    // The agent's scope is current on this thread (`Scope::agent`): calls are recorded there.
    let url = format!("{}/v1/messages", base.trim_end_matches('/'));
    let tools: Vec<Value> = support::tool_specs()
        .into_iter()
        .map(|(name, description, schema)| json!({"name": name, "description": description, "input_schema": schema}))
        .collect();
    let mut messages = vec![json!({"role": "user", "content": question})];
    for _ in 0..MAX_TURNS {
        let mut request = json!({"model": model, "max_tokens": 1024, "system": "Use the tools when they help. Answer briefly.",
                                 "messages": messages, "tools": tools});
        if stream {
            request["stream"] = json!(true);
        }
        let response = http
            .post(&url)
            .header("x-api-key", &key)
            .header("anthropic-version", "2023-06-01")
            .header("Content-Type", "application/json")
            .send(request.to_string())
            .map_err(|e| format!("request to {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let mut body = BufReader::new(response.into_body().into_reader());
        if status != 200 {
            // The middleware recorded the failure; the user gets what the provider said.
            let mut said = Vec::new();
            let _ = body.read_to_end(&mut said);
            return Err(format!("HTTP {status}: {}", ProviderError::from_status("anthropic", status, &said)));
        }
        let content = if stream { read_stream(&mut body)? } else { read_content(&mut body)? };
        let blocks = content.as_array().cloned().unwrap_or_default();
        messages.push(json!({"role": "assistant", "content": content}));
        let uses: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "tool_use").collect();
        if uses.is_empty() {
            let text = blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("");
            return Ok(text);
        }
        let mut results = Vec::new();
        for block in uses {
            let (id, name) = (block["id"].as_str().unwrap_or_default(), block["name"].as_str().unwrap_or_default());
            let call = ToolCall::new(Some(id.to_owned()), name, block["input"].clone());
            let (content, is_error) = match agent.tool_call(&call, |args| support::run_tool(name, args)) {
                Ok(v) => (v.to_string(), false),
                Err(e) => (e, true),
            };
            results.push(json!({"type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error}));
        }
        messages.push(json!({"role": "user", "content": results}));
    }
    Err(format!("no answer after {MAX_TURNS} turns"))
}

/// The content blocks of a whole answer.
fn read_content(body: &mut impl Read) -> Result<Value, String> {
    let answer: Value = serde_json::from_reader(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    Ok(answer["content"].clone())
}

/// The content blocks, put together from a stream's events, the text printed as
/// it arrives.
fn read_stream(body: &mut impl BufRead) -> Result<Value, String> {
    let mut blocks: Vec<Value> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if body.read_line(&mut line).map_err(|e| format!("reading the stream failed: {e}"))? == 0 {
            return Err("the stream ended before its end marker".into());
        }
        let Some(data) = line.trim().strip_prefix("data:").map(str::trim) else { continue };
        let event: Value = serde_json::from_str(data).map_err(|e| format!("a stream event is not JSON: {e}"))?;
        let i = event["index"].as_u64().unwrap_or(0) as usize;
        match event["type"].as_str().unwrap_or_default() {
            "content_block_start" => {
                blocks.push(event["content_block"].clone());
                inputs.push(String::new());
            }
            "content_block_delta" if i < blocks.len() => {
                let delta = &event["delta"];
                if let Some(piece) = delta["text"].as_str() {
                    print!("{piece}");
                    let _ = std::io::stdout().flush();
                    let joined = format!("{}{piece}", blocks[i]["text"].as_str().unwrap_or_default());
                    blocks[i]["text"] = json!(joined);
                }
                if let Some(piece) = delta["partial_json"].as_str() {
                    inputs[i].push_str(piece);
                }
            }
            "message_stop" => break,
            "error" => return Err(event["error"]["message"].as_str().unwrap_or("the provider failed").to_owned()),
            _ => {}
        }
    }
    for (block, input) in blocks.iter_mut().zip(&inputs) {
        if block["type"] == "tool_use" && !input.is_empty() {
            block["input"] = serde_json::from_str(input).map_err(|e| format!("a tool's input is not JSON: {e}"))?;
        }
    }
    Ok(Value::Array(blocks))
}
