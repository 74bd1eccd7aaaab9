//! `tracing` spans inside a session: with the agentops layer installed,
//! `#[tracing::instrument]` functions called while a session is current become
//! spans of the session's trace, their arguments as attributes, their events as
//! span events.
//!
//! `cargo run --example with_tracing --features tracing -- Paris`
//! Exported: `plan_trip` > `search_flights` under the session root, `city` on
//! both, "searching flights" as a span event of `plan_trip`.

use std::time::Duration;

use agentops::bridge::AgentOpsLayer;
use agentops::{Client, EndState};
use tracing_subscriber::prelude::*;

#[tracing::instrument]
fn search_flights(city: &str) -> usize {
    city.len() // stands in for a flight search
}

#[tracing::instrument]
fn plan_trip(city: &str) -> usize {
    tracing::info!(stops = 1, "searching flights");
    search_flights(city)
}

fn main() -> Result<(), agentops::Error> {
    tracing_subscriber::registry().with(AgentOpsLayer::new()).init();
    let city = std::env::args().nth(1).unwrap_or_else(|| "Paris".to_owned());
    let client = Client::from_env()?;
    let session = client.start_session(&["with-tracing"]);
    {
        let _current = session.enter(); // tracing spans started here join the session
        let flights = plan_trip(&city);
        println!("{flights} flights to {city}");
    }
    println!("{}", session.end(EndState::Success, "planned"));
    client.shutdown(Duration::from_secs(10))
}
