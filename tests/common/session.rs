//! One session's spans at a real receiver: a client exporting only there, a
//! session entered on the test's thread, and what arrived, checked against the
//! semantic-conventions registry.

use std::time::Duration;

use agentops::{Client, EndState, OtelConfig, OtelConfigBuilder, Session};
use opentelemetry_proto::tonic::trace::v1::Span;

use super::{Request, TestServer};

/// What the receiver got from one session.
pub struct Received {
    pub spans: Vec<Span>,
    /// The raw (decompressed) bodies of its trace requests, to search for what
    /// must not be there.
    pub bodies: Vec<Vec<u8>>,
}

impl Received {
    /// The inference spans (`chat …`).
    pub fn calls(&self) -> Vec<&Span> {
        self.spans.iter().filter(|s| s.name == "chat" || s.name.starts_with("chat ")).collect()
    }

    /// The one inference span.
    pub fn call(&self) -> &Span {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "one span per call: {:?}", self.spans.iter().map(|s| &s.name).collect::<Vec<_>>());
        calls[0]
    }
}

/// Runs `f` in a session entered on this thread, of a client configured by
/// `configure` and exporting to a receiver of its own; ends, shuts down, and
/// gives back what arrived, every span checked against the registry.
pub fn run(configure: impl FnOnce(OtelConfigBuilder) -> OtelConfigBuilder, f: impl FnOnce(&Session)) -> Received {
    let receiver = TestServer::otlp();
    let builder = OtelConfig::builder().default_exporters(false).otlp(receiver.otlp_config());
    let client = Client::new(configure(builder).build().unwrap()).unwrap();
    let session = client.start_session(&["test"]);
    {
        let _entered = session.enter();
        f(&session);
    }
    session.end(EndState::Success, "done");
    client.shutdown(Duration::from_secs(10)).unwrap();
    let spans = receiver.accepted_spans();
    let problems = super::semconv::registry().check_spans(&spans);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let bodies = receiver.requests_to("/v1/traces").iter().map(Request::decoded_body).collect();
    Received { spans: spans.into_iter().map(|(s, _)| s).collect(), bodies }
}
