//! One session across two processes: the parent delegates a step to a child
//! process of itself, which joins the parent's trace through `TRACEPARENT` (the
//! OpenTelemetry convention; `Client::from_env` reads it). One trace arrives: the
//! child's session root sits under the parent's `delegate` action.
//!
//! `cargo run --example child_process` (configured from the environment, as
//! `quickstart`; set `OTEL_EXPORTER_OTLP_ENDPOINT` to see the trace in a collector).

use std::process::{Command, ExitCode};
use std::time::Duration;

use agentops::{Client, EndState, LlmEvent, ToolEvent};

fn child() -> Result<(), agentops::Error> {
    let client = Client::from_env()?; // joins the trace TRACEPARENT names
    let session = client.start_session(&["child"]);
    session.record(ToolEvent::new("summarize").params(&"the parent's notes").returns(&"done"));
    session.end(EndState::Success, "summarized");
    client.shutdown(Duration::from_secs(10))
}

fn parent() -> Result<bool, Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let session = client.start_session(&["parent"]);
    session.record(LlmEvent::new("gpt-4o").provider("openai").tokens(20, 8));
    let delegate = session.start_action("delegate");
    let me = std::env::current_exe()?;
    let status = Command::new(me).arg("--child").envs(delegate.child_env()).status()?;
    delegate.returns(&status.code());
    delegate.end();
    println!("child exited with {status}; trace {}", session.trace_id());
    session.end(if status.success() { EndState::Success } else { EndState::Fail }, "delegated");
    client.shutdown(Duration::from_secs(10))?;
    Ok(status.success())
}

fn main() -> ExitCode {
    let outcome =
        if std::env::args().any(|a| a == "--child") { child().map(|()| true).map_err(Into::into) } else { parent() };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
