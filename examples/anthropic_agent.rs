//! An agent on the Anthropic Messages API, recorded through the provider adapter:
//! inside an agent scope, the model asks for tools, the agent runs them and sends
//! the results back until the model answers.
//!
//! ```sh
//! ANTHROPIC_API_KEY=sk-ant-… cargo run --example anthropic_agent -- [--stream] "What is 17 * 23, and is it warm in Oslo?"
//! ```
//!
//! Environment: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` (default
//! `https://api.anthropic.com`), `ANTHROPIC_MODEL` (default `claude-sonnet-4-5`).
//! Exports, exits and records errors like the `openai_agent` example.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::time::SystemTime;

use agentops::providers::{anthropic, Stream};
use agentops::{AgentScope, LlmEvent};
use serde_json::{json, Value};

const MAX_TURNS: usize = 8;

fn main() -> ExitCode {
    support::main_with("anthropic_agent", converse)
}

fn converse(agent: &AgentScope, question: &str, stream: bool) -> Result<String, String> {
    let base = std::env::var("ANTHROPIC_BASE_URL").unwrap_or_else(|_| "https://api.anthropic.com".into());
    let model = std::env::var("ANTHROPIC_MODEL").unwrap_or_else(|_| "claude-sonnet-4-5".into());
    let key = std::env::var("ANTHROPIC_API_KEY").unwrap_or_default();
    let http = support::http();
    let url = format!("{}/v1/messages", base.trim_end_matches('/'));
    let headers = [("x-api-key", key), ("anthropic-version", "2023-06-01".to_owned())];
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
        let started = SystemTime::now();
        let mut reply = support::post(&http, &url, &headers, &request)
            .map_err(|(kind, why)| support::record_failure(agent, "anthropic", (&request, &url), started, kind, why))?;
        if reply.status != 200 {
            let body = support::read_all(&mut reply.body);
            return Err(support::record_status(agent, "anthropic", (&request, &url), started, reply.status, &body));
        }
        let event = if stream {
            Stream::anthropic(&request).and_then(|r| support::read_stream(r, &mut reply.body, "/delta/text"))
        } else {
            anthropic::messages(&request, support::read_all(&mut reply.body).as_bytes()).map(|e| e.started_at(started))
        };
        let event =
            event.map_err(|e| support::record_provider_error(agent, "anthropic", (&request, &url), started, e))?;
        let calls: Vec<_> = event.tool_calls().into_iter().cloned().collect();
        let (answer, content) = assistant_turn(&event);
        messages.push(json!({"role": "assistant", "content": content}));
        agent.record(event.url(&url));
        if calls.is_empty() {
            return Ok(answer);
        }
        let mut results = Vec::new();
        for call in calls {
            let result = agent.tool_call(&call, |args| support::run_tool(&call.name, args));
            let (content, is_error) = match result {
                Ok(v) => (v.to_string(), false),
                Err(e) => (e, true),
            };
            results
                .push(json!({"type": "tool_result", "tool_use_id": call.id, "content": content, "is_error": is_error}));
        }
        messages.push(json!({"role": "user", "content": results}));
    }
    Err(format!("no answer after {MAX_TURNS} turns"))
}

/// The answer's text, and the assistant's content blocks as the next request
/// sends them back.
fn assistant_turn(event: &LlmEvent) -> (String, Value) {
    let Some(agentops::event::Content::Messages(m)) = &event.completion else { return (String::new(), json!([])) };
    let Some(message) = m.first() else { return (String::new(), json!([])) };
    let mut blocks = Vec::new();
    for part in &message.parts {
        match part {
            agentops::event::Part::Text(t) if !t.is_empty() => blocks.push(json!({"type": "text", "text": t})),
            agentops::event::Part::ToolCall(c) => {
                blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}))
            }
            _ => {}
        }
    }
    (message.text(), Value::Array(blocks))
}
