//! A simulated agent session, end to end.
//!
//! Offline (no environment set) it prints the session as a tree on the console and
//! appends OTLP JSON lines to `agentops-traces.jsonl` (or `$AGENTOPS_TRACES_FILE`),
//! and its metrics (token usage, durations, costs) to `agentops-metrics.jsonl`.
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set it also exports there, over
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` by default, or `http/json`).
//!
//! Exits 0 only if every span was exported.

use std::path::PathBuf;
use std::time::Duration;

use agentops::event::ChatMessage;
use agentops::exporters::FileExporter;
use agentops::{Client, ConsoleMode, EndState, LlmEvent, OtelConfig, OtelConfigBuilder, DEFAULT_TRACES_FILE};

#[derive(Debug)]
struct SearchError(String);
impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "search backend unavailable: {}", self.0)
    }
}
impl std::error::Error for SearchError {}

/// Stands in for a model call: takes a while, returns text and token counts.
fn fake_llm(model: &str, prompt: &str) -> (String, u64, u64) {
    std::thread::sleep(Duration::from_millis(15));
    let answer = format!("[{model}] thoughts about: {prompt}");
    (answer, prompt.len() as u64 / 4 + 1, 24)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Offline by default: a local file, unless AGENTOPS_TRACES_FILE names another or
    // says `off` (as it does for every client).
    let traces_file = match std::env::var("AGENTOPS_TRACES_FILE") {
        Ok(v) if ["off", "none", "false"].contains(&v.trim().to_ascii_lowercase().as_str()) => None,
        Ok(v) if !v.trim().is_empty() => Some(PathBuf::from(v)),
        _ => Some(PathBuf::from(DEFAULT_TRACES_FILE)),
    };
    let mut builder = OtelConfigBuilder::from_env()?.service_name("agentops-quickstart").console(ConsoleMode::Tree);
    if let Some(path) = &traces_file {
        builder = builder.file(path);
    }
    let config: OtelConfig = builder.build()?;
    let client = Client::new(config)?;

    let session = client.start_session(&["quickstart", "demo"]);
    let question = "What is the population of the largest city in Japan?";

    // An agent scope: its span (`invoke_agent researcher`) holds what the agent does,
    // and every event inside carries the agent's id.
    session.agent("researcher", |agent| {
        agent.action("research", |plan| {
            plan.params(&serde_json::json!({ "question": question }));

            // The event is created before the call, so its span carries the call's
            // true start; it ends when recorded.
            let call = LlmEvent::new("gpt-4o");
            let (thought, tin, tout) = fake_llm("gpt-4o", question);
            plan.record(
                call.provider("openai")
                    .prompt(vec![
                        ChatMessage::new("system", "You are a careful research agent."),
                        ChatMessage::new("user", question),
                    ])
                    .completion(thought.clone())
                    .tokens(tin, tout),
            );

            // The first search fails; the agent records the error and retries.
            let first: Result<String, SearchError> =
                plan.tool("web_search", &"largest city japan", || Err(SearchError("timeout after 2s".into())));
            assert!(first.is_err());
            let result: Result<String, SearchError> =
                plan.tool("web_search", &"largest city japan population", || Ok("Tokyo: 37.4 million".into()));

            let call = LlmEvent::new("gpt-4o-mini");
            let (answer, tin, tout) = fake_llm("gpt-4o-mini", &result.unwrap_or_default());
            plan.record(call.provider("openai").prompt(thought).completion(answer.clone()).tokens(tin, tout));
            plan.returns(&answer);
        })
    });

    let summary = session.end(EndState::Success, "answered the question");
    println!("\n{summary}");

    let shutdown = client.shutdown(Duration::from_secs(10));
    let stats = client.stats();
    println!(
        "spans recorded: {}, exported: {}, dropped: {}",
        stats.spans_recorded,
        stats.spans_exported,
        stats.spans_dropped()
    );
    // Said only of what was written: the file's own exporter took every span.
    let file_took_all = stats.exporters.iter().any(|e| e.name == "file" && e.spans_exported == stats.spans_recorded);
    if let Some(path) = traces_file.filter(|_| file_took_all) {
        let metrics_file = FileExporter::metrics_path_for(&path);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        println!("OTLP JSON lines appended to {} (metrics: {})", path.display(), metrics_file.display());
    }
    if let Err(e) = shutdown {
        eprintln!("export failed: {e}");
        std::process::exit(1);
    }
    if stats.spans_dropped() > 0 || stats.spans_exported != stats.spans_recorded {
        eprintln!("export incomplete: {:?}", stats.last_error);
        std::process::exit(1);
    }
    Ok(())
}
