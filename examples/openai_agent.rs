//! An agent on the OpenAI chat completions API (or any compatible server),
//! recorded by the `ProviderCapture` middleware on the example's own ureq agent:
//! inside an agent scope, the model asks for tools, the agent runs them and sends
//! the results back until the model answers. The example parses the provider's
//! answers itself, as an application does; it records nothing by hand but the
//! tool calls.
//!
//! ```sh
//! OPENAI_API_KEY=sk-… cargo run --example openai_agent -- [--stream] "What is 17 * 23, and is it warm in Oslo?"
//! ```
//!
//! Environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
//! `https://api.openai.com/v1`), `OPENAI_MODEL` (default `gpt-4o-mini`),
//! `PROVIDER_TIMEOUT_MS` (default 300000). It exports like the quickstart: a console
//! summary and `agentops-traces.jsonl`, plus OTLP/AgentOps when their variables are
//! set. Exits 0 only when the model answered and every span was exported; a failed
//! call (an error answer, no connection, a timeout, a stream cut short) is its LLM
//! span's failure (status ERROR, `error.type`) and ends it with a non-zero status
//! and the message.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use agentops::providers::{ProviderCapture, ProviderError};
use agentops::AgentScope;
use serde_json::{json, Value};

const MAX_TURNS: usize = 8;

fn main() -> ExitCode {
    support::main_with("openai_agent", converse)
}

fn converse(agent: &AgentScope, question: &str, stream: bool) -> Result<String, String> {
    let base = std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let timeout = std::env::var("PROVIDER_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    // The one line that records every call: the middleware on the agent. The
    // base URL is registered so that a compatible server (Ollama, a LiteLLM
    // proxy, the tests' fake) is recognized too.
    let capture = ProviderCapture::new().base_url(&base).map_err(|e| e.to_string())?;
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false) // the provider's error body is what the user needs to see
        .timeout_global(Some(Duration::from_millis(timeout)))
        .middleware(capture)
        .build()
        .into();
    // No more to do: inside `Scope::agent` (see `support::main_with`) the agent's scope
    // is current on this thread, and the middleware records each call there.
    let url = format!("{}/chat/completions", base.trim_end_matches('/'));
    let tools: Vec<Value> = support::tool_specs()
        .into_iter()
        .map(|(name, description, parameters)| {
            json!({"type": "function", "function": {"name": name, "description": description, "parameters": parameters}})
        })
        .collect();
    let mut messages = vec![
        json!({"role": "system", "content": "Use the tools when they help. Answer briefly."}),
        json!({"role": "user", "content": question}),
    ];
    for _ in 0..MAX_TURNS {
        let mut request = json!({"model": model, "messages": messages, "tools": tools});
        if stream {
            request["stream"] = json!(true);
            request["stream_options"] = json!({"include_usage": true});
        }
        let response = http
            .post(&url)
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/json")
            .send(request.to_string())
            .map_err(|e| format!("request to {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let mut body = BufReader::new(response.into_body().into_reader());
        if status != 200 {
            // The middleware recorded the failure; the user gets what the provider said.
            let mut said = Vec::new();
            let _ = body.read_to_end(&mut said);
            return Err(format!("HTTP {status}: {}", ProviderError::from_status("openai", status, &said)));
        }
        let message = if stream { read_stream(&mut body)? } else { read_message(&mut body)? };
        let calls = message["tool_calls"].as_array().cloned().unwrap_or_default();
        let answer = message["content"].as_str().unwrap_or_default().to_owned();
        messages.push(message);
        if calls.is_empty() {
            return Ok(answer);
        }
        for call in calls {
            let (id, name) =
                (call["id"].as_str().unwrap_or_default(), call["function"]["name"].as_str().unwrap_or_default());
            let args =
                serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
            let call = agentops::event::ToolCall::new(Some(id.to_owned()), name, args);
            let result = agent.tool_call(&call, |args| support::run_tool(name, args));
            let content = match result {
                Ok(v) => v.to_string(),
                Err(e) => json!({"error": e}).to_string(),
            };
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
        }
    }
    Err(format!("no answer after {MAX_TURNS} turns"))
}

/// The assistant's message of a whole answer.
fn read_message(body: &mut impl Read) -> Result<Value, String> {
    let answer: Value = serde_json::from_reader(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    Ok(answer["choices"][0]["message"].clone())
}

/// The assistant's message, put together from a stream's deltas, its text
/// printed as it arrives.
fn read_stream(body: &mut impl BufRead) -> Result<Value, String> {
    let (mut text, mut calls) = (String::new(), Vec::<Value>::new());
    let mut line = String::new();
    loop {
        line.clear();
        if body.read_line(&mut line).map_err(|e| format!("reading the stream failed: {e}"))? == 0 {
            return Err("the stream ended before its end marker".into());
        }
        let Some(data) = line.trim().strip_prefix("data:").map(str::trim) else { continue };
        if data == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| format!("a stream event is not JSON: {e}"))?;
        let delta = &chunk["choices"][0]["delta"];
        if let Some(piece) = delta["content"].as_str() {
            print!("{piece}");
            let _ = std::io::stdout().flush();
            text.push_str(piece);
        }
        for d in delta["tool_calls"].as_array().into_iter().flatten() {
            let i = d["index"].as_u64().unwrap_or(0) as usize;
            if calls.len() <= i {
                calls.resize(i + 1, json!({"type": "function", "function": {"name": "", "arguments": ""}}));
            }
            let call = &mut calls[i];
            if let Some(id) = d["id"].as_str() {
                call["id"] = json!(id);
            }
            for field in ["name", "arguments"] {
                if let Some(piece) = d["function"][field].as_str() {
                    let joined = format!("{}{piece}", call["function"][field].as_str().unwrap_or_default());
                    call["function"][field] = json!(joined);
                }
            }
        }
    }
    let mut message = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    Ok(message)
}
