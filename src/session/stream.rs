//! `StreamRecording`: a streamed provider call bound to the scope it is recorded
//! in, so that its span ends however the stream does: finished, cut short, failed,
//! or dropped by a caller that stopped reading.

use crate::event::EventRef;
use crate::providers::{ProviderError, Stream};

use super::scope::Scope;

/// A streamed call being recorded into a scope ([`Scope::record_stream`]). Push
/// what arrives; [`finish`](Self::finish) records the call. Dropped unfinished (the
/// caller stopped reading, or returned early on an error of its own), it records
/// what arrived, marked incomplete (`agentops.llm.incomplete`): a stream never
/// leaves its span unended.
#[must_use = "push the stream's bytes into it, then finish it (dropping it records what arrived)"]
#[derive(Debug)]
pub struct StreamRecording {
    scope: Scope,
    stream: Option<Stream>,
    url: Option<String>,
}

impl Scope {
    /// Records a streamed provider call in this scope as it arrives: push the
    /// response's bytes into the recording, then `finish` it. However the stream
    /// ends (finished, cut short, failed, or the recording dropped because the
    /// caller stopped reading), its inference span ends with what arrived.
    pub fn record_stream(&self, stream: Stream) -> StreamRecording {
        StreamRecording { scope: self.clone(), stream: Some(stream), url: None }
    }
}

impl StreamRecording {
    /// Where the request went (`server.address`, `server.port`; see
    /// [`LlmEvent::url`](crate::LlmEvent::url)).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Feeds raw response bytes, split anywhere (see [`Stream::push`]).
    ///
    /// # Errors
    /// As [`Stream::push`]: the stream's error is recorded when it ends.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ProviderError> {
        match &mut self.stream {
            Some(s) => s.push(bytes),
            None => Ok(()),
        }
    }

    /// Records the call: the whole response; for a stream cut short, what arrived,
    /// marked incomplete and failed (`error.type = incomplete_stream`); for a
    /// stream that reported an error, the call failed with it.
    ///
    /// # Errors
    /// The stream's error (after it is recorded), as [`Stream::finish`] gives it.
    pub fn finish(mut self) -> Result<EventRef, ProviderError> {
        let stream = self.stream.take().expect("a recording is finished once");
        self.end(stream, false)
    }

    fn end(&self, stream: Stream, dropped: bool) -> Result<EventRef, ProviderError> {
        let asked = stream.request_event();
        let (event, outcome) = match stream.finish() {
            Ok(event) => (event, Ok(())),
            // Stopped by the caller: what arrived, incomplete, but nothing failed.
            Err(ProviderError::IncompleteStream { partial }) if dropped => (*partial, Ok(())),
            Err(ProviderError::IncompleteStream { partial }) => {
                let event = (*partial).clone();
                let e = ProviderError::IncompleteStream { partial };
                (event.failed(e.error_type(), e.to_string()), Err(e))
            }
            Err(e) => (asked.failed(e.error_type(), e.to_string()), Err(e)),
        };
        let event = match &self.url {
            Some(url) => event.url(url),
            None => event,
        };
        let recorded = self.scope.record(event);
        outcome.map(|()| recorded)
    }
}

impl Drop for StreamRecording {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = self.end(stream, true);
        }
    }
}
