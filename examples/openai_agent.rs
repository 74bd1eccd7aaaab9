//! An agent on the OpenAI chat completions API (or any compatible server), recorded
//! through the provider adapter: inside an agent scope, the model asks for tools,
//! the agent runs them and sends the results back until the model answers.
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
//! call (an error answer, no connection, a timeout) is its LLM span's failure
//! (status ERROR, `error.type`) and ends it with a non-zero status and the message.

#[path = "support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::time::SystemTime;

use agentops::providers::{openai, Stream};
use agentops::{AgentScope, LlmEvent};
use serde_json::{json, Value};

const MAX_TURNS: usize = 8;

fn main() -> ExitCode {
    support::main_with("openai_agent", converse)
}

fn converse(agent: &AgentScope, question: &str, stream: bool) -> Result<String, String> {
    let base = std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    let http = support::http();
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
        let started = SystemTime::now();
        let mut reply = support::post(&http, &url, &[("Authorization", format!("Bearer {key}"))], &request)
            .map_err(|(kind, why)| support::record_failure(agent, "openai", (&request, &url), started, kind, why))?;
        if reply.status != 200 {
            let body = support::read_all(&mut reply.body);
            return Err(support::record_status(agent, "openai", (&request, &url), started, reply.status, &body));
        }
        let event = if stream {
            Stream::openai_chat(&request)
                .and_then(|r| support::read_stream(r, &mut reply.body, "/choices/0/delta/content"))
        } else {
            openai::chat_completion(&request, support::read_all(&mut reply.body).as_bytes())
                .map(|e| e.started_at(started))
        };
        let event = event.map_err(|e| support::record_provider_error(agent, "openai", (&request, &url), started, e))?;
        let calls: Vec<_> = event.tool_calls().into_iter().cloned().collect();
        let answer = event.completion.as_ref().map(|_| assistant_text(&event)).unwrap_or_default();
        messages.push(assistant_message(&event));
        agent.record(event.url(&url));
        if calls.is_empty() {
            return Ok(answer);
        }
        for call in calls {
            let result = agent.tool_call(&call, |args| support::run_tool(&call.name, args));
            let content = match result {
                Ok(v) => v.to_string(),
                Err(e) => json!({"error": e}).to_string(),
            };
            messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": content}));
        }
    }
    Err(format!("no answer after {MAX_TURNS} turns"))
}

fn assistant_text(event: &LlmEvent) -> String {
    match &event.completion {
        Some(agentops::event::Content::Messages(m)) => m.first().map(|m| m.text()).unwrap_or_default(),
        Some(agentops::event::Content::Text(t)) => t.clone(),
        _ => String::new(),
    }
}

/// The assistant's turn, as the next request sends it back.
fn assistant_message(event: &LlmEvent) -> Value {
    let calls: Vec<Value> = event
        .tool_calls()
        .iter()
        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments.to_string()}}))
        .collect();
    let text = assistant_text(event);
    let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        m["tool_calls"] = json!(calls);
    }
    m
}
