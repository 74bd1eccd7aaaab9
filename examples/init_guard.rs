//! The global client, set up once in `main` with a guard, as with `sentry::init`:
//! the free functions record into the current scope, and returning from `main`
//! exports everything (the guard flushes and shuts down, bounded). With `--panic`
//! the program panics mid-session: the panic hook ends the session as `Fail` and
//! flushes before the process dies.
//!
//! `cargo run --example init_guard` (configured from the environment, as
//! `quickstart`; a bad variable is logged and telemetry runs disabled).

use agentops::{EndState, LlmEvent, ToolEvent};

fn answer(question: &str) -> String {
    // Deep in the program: no handle passed down, the current scope is used.
    agentops::record(LlmEvent::new("gpt-4o").provider("openai").prompt(question).completion("42").tokens(12, 3));
    agentops::record(ToolEvent::new("calculator").params(&"6*7").returns(&42));
    "42".to_owned()
}

fn main() {
    let _agentops = agentops::init_from_env().end_sessions_on_panic();
    let session = agentops::start_session(&["init-guard"]);
    let _current = session.enter();
    let reply = answer("what is 6*7?");
    if std::env::args().any(|a| a == "--panic") {
        panic!("the agent gave up after {reply}");
    }
    println!("{}", session.end(EndState::Success, "answered"));
} // `_agentops` is dropped here: everything recorded is exported
