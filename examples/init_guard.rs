//! The global client, set up once in `main` with a guard, as with `sentry::init`:
//! the free functions record into the current scope, and returning from `main`
//! exports everything (the guard flushes and shuts down, bounded). With `--panic`
//! the program panics mid-session: the panic hook ends the session as `Fail` and
//! flushes before the process dies.
//!
//! `--exit` leaves through `std::process::exit` after `agentops::shutdown`;
//! `--wait-for-signal` waits for SIGINT or SIGTERM, which end the session as `Fail`
//! (`interrupted`) and export before the signal ends the process.
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
    let arg = |a: &str| std::env::args().any(|x| x == a);
    let mut agentops = agentops::init_from_env().end_sessions_on_panic();
    if arg("--wait-for-signal") {
        agentops = agentops.end_sessions_on_signal().expect("signals watched");
    }
    let session = agentops::start_session(&["init-guard"]);
    let _current = session.enter();
    let reply = answer("what is 6*7?");
    if arg("--panic") {
        panic!("the agent gave up after {reply}");
    }
    if arg("--exit") {
        // No destructor runs past `exit`: this ends the open session and exports.
        let _ = agentops::shutdown(std::time::Duration::from_secs(10));
        std::process::exit(3);
    }
    if arg("--wait-for-signal") {
        println!("ready");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        // Bounded, so that a test that never signals does not hang.
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
    let _agentops = agentops;
    println!("{}", session.end(EndState::Success, "answered"));
} // `_agentops` is dropped here: everything recorded is exported
