//! A provider's answer as it arrives: a whole JSON body kept (up to a limit) to
//! be read at the end, or server-sent events decoded as they pass; and the event
//! the call adds up to however it ended.

use std::borrow::Cow;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::adapters::{Api, ProviderError, Stream};
use crate::event::LlmEvent;

/// How a call ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The whole answer arrived.
    Finished,
    /// Its guard was dropped first: the caller stopped reading.
    Dropped,
    /// It failed without (all of) an answer: its `error.type` and message.
    Failed(Cow<'static, str>, String),
}

#[derive(Debug)]
enum Mode {
    /// Nothing but white space yet.
    Waiting,
    /// A JSON body, kept whole.
    Whole(Vec<u8>),
    /// Server-sent events, fed to their decoder as they pass.
    Events(Box<Stream>),
    /// Over the limit: nothing more is kept.
    Omitted,
}

/// The answer so far.
#[derive(Debug)]
pub(crate) struct Response {
    /// The most bytes kept.
    pub limit: usize,
    seen: usize,
    mode: Mode,
    /// The body was server-sent events (kept when the mode moves to `Omitted`).
    events: bool,
}

impl Response {
    pub fn new(limit: usize) -> Self {
        Response { limit, seen: 0, mode: Mode::Waiting, events: false }
    }

    /// Takes the next bytes of the body; `stream` makes the events' decoder, if
    /// they are events (the call's request moves into it).
    pub fn push(&mut self, bytes: &[u8], stream: impl FnOnce() -> Stream) {
        self.seen = self.seen.saturating_add(bytes.len());
        if self.seen > self.limit {
            // Neither the body nor what was decoded of it is kept past the limit.
            self.mode = Mode::Omitted;
        }
        match &mut self.mode {
            Mode::Omitted => {}
            Mode::Whole(body) => body.extend_from_slice(bytes),
            // The decoder keeps its first error; `finish` gives it.
            Mode::Events(s) => drop(s.push(bytes)),
            Mode::Waiting => match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                None => {}
                Some(b'{' | b'[') => self.mode = Mode::Whole(bytes.to_vec()),
                Some(_) => {
                    let mut s = Box::new(stream());
                    let _ = s.push(bytes);
                    self.mode = Mode::Events(s);
                    self.events = true;
                }
            },
        }
    }

    /// The event the call adds up to, and the error `finish` returns.
    /// `asked` is the call as its request tells; `request` is the request when no
    /// stream took it.
    pub fn event(
        &mut self,
        api: &Api,
        request: Value,
        asked: LlmEvent,
        status: Option<u16>,
        how: Ended,
        started: (Instant, SystemTime),
    ) -> (LlmEvent, Result<(), ProviderError>) {
        let asked = if self.events { asked.streamed() } else { asked };
        let mode = std::mem::replace(&mut self.mode, Mode::Omitted);
        if let Some(status) = status.filter(|s| *s >= 400) {
            let body = match &mode {
                Mode::Whole(b) => &b[..],
                _ => &[][..],
            };
            let e = ProviderError::from_status(api.family(), status, body);
            // `from_status` always gives an API error, with the body's message if any.
            let said = match &e {
                ProviderError::Api { message, .. } if !message.is_empty() => format!("HTTP {status}: {message}"),
                _ => format!("HTTP {status}"),
            };
            return (asked.failed(e.error_type(), said), Err(e));
        }
        if let Ended::Failed(kind, message) = how {
            // What a stream gave before it broke off is kept.
            let partial = match mode {
                Mode::Events(s) => match s.finish() {
                    Ok(e) => Some(e),
                    Err(ProviderError::IncompleteStream { partial }) => Some(*partial),
                    Err(_) => None,
                },
                _ => None,
            };
            return (partial.unwrap_or(asked).failed(kind, message), Ok(()));
        }
        let dropped = matches!(how, Ended::Dropped);
        let incomplete = |mut e: LlmEvent| {
            e.details_mut().incomplete = true;
            e.ended_at(SystemTime::now())
        };
        match mode {
            Mode::Omitted => {
                let mut e = asked;
                e.details_mut().content_omitted = true;
                (e, Ok(()))
            }
            Mode::Events(s) => match s.finish() {
                Ok(e) => (e, Ok(())),
                // Stopped by the caller: what arrived, incomplete, but nothing failed.
                Err(ProviderError::IncompleteStream { partial }) if dropped => (incomplete(*partial), Ok(())),
                Err(ProviderError::IncompleteStream { partial }) => {
                    let event = (*partial).clone();
                    let e = ProviderError::IncompleteStream { partial };
                    (event.failed(e.error_type(), e.to_string()), Err(e))
                }
                Err(e) => (asked.failed(e.error_type(), e.to_string()), Err(e)),
            },
            Mode::Whole(body) => match whole(api, request, &body, started) {
                Ok(e) => (e.started_at(started.1), Ok(())),
                Err(_) if dropped => (incomplete(asked), Ok(())),
                Err(e) => (asked.failed(e.error_type(), e.to_string()), Err(e)),
            },
            Mode::Waiting if dropped => (incomplete(asked), Ok(())),
            Mode::Waiting => {
                let e = ProviderError::NotJson { detail: "the body is empty".into() };
                (asked.failed(e.error_type(), e.to_string()), Err(e))
            }
        }
    }
}

/// The event of a whole JSON answer. Gemini's `streamGenerateContent` without
/// `alt=sse` answers with a JSON array of its chunks: they are read as a stream's.
fn whole(api: &Api, request: Value, body: &[u8], started: (Instant, SystemTime)) -> Result<LlmEvent, ProviderError> {
    if !matches!(api, Api::Gemini { .. }) {
        return api.event(&request, body);
    }
    let chunks = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(chunks)) => chunks,
        Ok(answer) => return api.event(&request, &answer),
        Err(_) => return api.event(&request, body),
    };
    let mut stream = api.stream_of(request, started.0, started.1);
    for chunk in &chunks {
        stream.push_event(&chunk.to_string())?;
    }
    let mut e = stream.finish()?;
    // The chunks came at once, at the end: there is no time to the first one.
    e.details_mut().time_to_first_chunk = None;
    Ok(e)
}
