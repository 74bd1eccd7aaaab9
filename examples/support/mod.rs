//! What the provider examples share: the tools the model may call, argument
//! parsing, HTTP through ureq, and the exit rules.

#![allow(dead_code)] // each example uses its part

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use agentops::providers::{ProviderError, Stream};
use agentops::{AgentScope, Client, EndState, LlmEvent, OtelConfig, Session};
use serde_json::{json, Value};

/// An example's `main`: arguments, a client from the environment (exporting like the
/// quickstart), a session, and `converse(agent, question, stream)` inside an agent
/// scope. Exit 2 for a usage or configuration error.
pub fn main_with(example: &str, converse: impl FnOnce(&AgentScope, &str, bool) -> Result<String, String>) -> ExitCode {
    let (stream, question) = match args() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("{why}\nusage: cargo run --example {example} -- [--stream] \"question\"");
            return ExitCode::from(2);
        }
    };
    let client = match OtelConfig::from_env().map_err(agentops::Error::from).and_then(Client::new) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let session = client.start_session(&[example]);
    let outcome = session.agent("assistant", |agent| converse(agent, &question, stream));
    finish(&client, &session, outcome)
}

/// Reads a streamed response into `recorder`, printing the text (at `text_pointer`
/// in each event's JSON) as it arrives.
pub fn read_stream(
    mut recorder: Stream,
    body: &mut dyn BufRead,
    text_pointer: &str,
) -> Result<LlmEvent, ProviderError> {
    let mut line = String::new();
    while body.read_line(&mut line).unwrap_or(0) > 0 {
        recorder.push(line.as_bytes())?;
        if let Some(data) = line.trim().strip_prefix("data:").map(str::trim) {
            let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            if let Some(text) = v.pointer(text_pointer).and_then(Value::as_str) {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
        }
        line.clear();
    }
    recorder.finish()
}

/// A failed call: its LLM span (what was asked, and where) with status ERROR,
/// `error.type` (`error_type`) and the message; the message back, for the user.
pub fn record_failure(
    agent: &AgentScope,
    provider: &'static str,
    (request, url): (&Value, &str),
    started: SystemTime,
    error_type: impl Into<Cow<'static, str>>,
    message: String,
) -> String {
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let call = LlmEvent::new(model).provider(provider).url(url).started_at(started);
    agent.record(call.failed(error_type, message.clone()));
    message
}

/// An error status: the call failed with the provider's error type (or the
/// status, when its body says none) and `HTTP {status}: {its message}`.
pub fn record_status(
    agent: &AgentScope,
    provider: &'static str,
    call: (&Value, &str),
    started: SystemTime,
    status: u16,
    body: &str,
) -> String {
    let error = ProviderError::from_status(provider, status, body.as_bytes());
    let said = match &error {
        ProviderError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    };
    record_failure(agent, provider, call, started, error.error_type(), format!("HTTP {status}: {said}"))
}

/// A response the adapter could not take: a stream cut short is recorded as far
/// as it came (tokens and text so far, no finish reason, marked incomplete); any
/// other error as [`record_failure`] does.
pub fn record_provider_error(
    agent: &AgentScope,
    provider: &'static str,
    (request, url): (&Value, &str),
    started: SystemTime,
    error: ProviderError,
) -> String {
    let message = error.to_string();
    match error {
        ProviderError::IncompleteStream { partial } => {
            agent.record(partial.url(url).failed("incomplete_stream", message.clone()));
            message
        }
        other => record_failure(agent, provider, (request, url), started, other.error_type(), message),
    }
}

/// A failed request's kind, for `error.type`.
fn transport_error_type(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => "timeout",
        ureq::Error::HostNotFound => "host_not_found",
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => "connection_failed",
        _ => "transport_error",
    }
}

/// `--stream` and the question, from the command line.
pub fn args() -> Result<(bool, String), String> {
    let mut stream = false;
    let mut words = Vec::new();
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--stream" => stream = true,
            "-h" | "--help" => return Err(String::new()),
            _ => words.push(a),
        }
    }
    if words.is_empty() {
        return Err("a question is needed".into());
    }
    Ok((stream, words.join(" ")))
}

/// The tools the model may call, as JSON Schema (shared by both examples).
pub fn tool_specs() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "get_weather",
            "Current weather in a city.",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ),
        (
            "calculator",
            "Evaluates `a op b` with op one of + - * /.",
            json!({"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}),
        ),
    ]
}

/// Runs a tool: a deterministic stand-in for a weather service, and a calculator.
pub fn run_tool(name: &str, args: &Value) -> Result<Value, String> {
    match name {
        "get_weather" => {
            let city = args["city"].as_str().ok_or("`city` is missing")?;
            let temp = city.bytes().map(u32::from).sum::<u32>() % 30;
            Ok(json!({"city": city, "temperature_c": temp, "sky": if temp % 2 == 0 { "clear" } else { "cloudy" }}))
        }
        "calculator" => {
            let expr = args["expression"].as_str().ok_or("`expression` is missing")?;
            let parts: Vec<&str> = expr.split_whitespace().collect();
            let [a, op, b] = parts[..] else { return Err(format!("cannot evaluate {expr:?}")) };
            let (a, b): (f64, f64) = (a.parse().map_err(|_| "bad number")?, b.parse().map_err(|_| "bad number")?);
            let v = match op {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "/" if b != 0.0 => a / b,
                _ => return Err(format!("cannot evaluate {expr:?}")),
            };
            Ok(json!(v))
        }
        other => Err(format!("no tool named {other}")),
    }
}

/// An HTTP agent that hands back error statuses as responses (the provider's
/// error body is what the user needs to see), with a whole-call timeout of
/// `PROVIDER_TIMEOUT_MS` (default 300 s).
pub fn http() -> ureq::Agent {
    let ms = std::env::var("PROVIDER_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(ms)))
        .build()
        .into()
}

/// A response: its status and, for a stream, a reader of its body.
pub struct Reply {
    pub status: u16,
    pub body: Box<dyn BufRead>,
}

/// POSTs `body` as JSON with `headers`; a failure's kind (`timeout`, …) and message.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, String)],
    body: &Value,
) -> Result<Reply, (&'static str, String)> {
    let mut req = agent.post(url).header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let resp = req
        .send(serde_json::to_vec(body).unwrap_or_default())
        .map_err(|e| (transport_error_type(&e), format!("request to {url} failed: {e}")))?;
    let status = resp.status().as_u16();
    let reader = resp.into_body().into_reader();
    Ok(Reply { status, body: Box::new(BufReader::new(reader)) })
}

/// The whole body, as text.
pub fn read_all(body: &mut dyn Read) -> String {
    let mut text = String::new();
    let _ = body.read_to_string(&mut text);
    text
}

/// Ends the session, shuts the client down, prints the summary; exit 0 only when
/// the agent answered and every span was exported.
pub fn finish(client: &Client, session: &Session, outcome: Result<String, String>) -> ExitCode {
    let (state, reason) = match &outcome {
        Ok(_) => (EndState::Success, "answered".to_owned()),
        Err(e) => (EndState::Fail, e.clone()),
    };
    let summary = session.end(state, reason);
    let shutdown = client.shutdown(Duration::from_secs(30));
    let stats = client.stats();
    match &outcome {
        Ok(answer) => println!("\n{answer}\n"),
        Err(e) => eprintln!("error: {e}"),
    }
    println!("{summary}");
    println!(
        "spans recorded: {}, exported: {}, dropped: {}",
        stats.spans_recorded,
        stats.spans_exported,
        stats.spans_dropped()
    );
    if let Err(e) = shutdown {
        eprintln!("export failed: {e}");
        return ExitCode::FAILURE;
    }
    if outcome.is_err() || stats.spans_exported != stats.spans_recorded {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
