//! What the provider examples share: the tools the model may call, argument
//! parsing and the exit rules. (HTTP is each example's own, recorded by the
//! `ProviderCapture` middleware.)

#![allow(dead_code)] // each example uses its part

use std::process::ExitCode;
use std::time::Duration;

use agentops::{AgentScope, Client, EndState, OtelConfig, Session};
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
