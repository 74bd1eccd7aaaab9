//! `Stream`: a streamed provider call, recorded while the application forwards the
//! stream to its user. Feed it the raw response bytes as they arrive (any split) or
//! the SSE events' data; `finish` gives the same event as the non-streamed call,
//! plus the time to the first chunk.

use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::anthropic::{self, MessageChunks};
use super::body::{Body, ProviderError};
use super::gemini::{self, GeminiChunks};
use super::openai_chat::{self, ChatChunks};
use super::openai_responses::{self, ResponsesChunks};
use super::sse::{SseDecoder, SseEvent};
use crate::event::LlmEvent;

/// The decoder of one API's chunks.
pub(crate) enum Chunks {
    OpenAiChat(ChatChunks),
    OpenAiResponses(ResponsesChunks),
    Anthropic(MessageChunks),
    Gemini(String, GeminiChunks),
}

/// A streamed call being recorded. Create it when the request is sent (that starts
/// the clock), push what arrives, and `finish` when the stream ends:
///
/// ```
/// use agentops::providers::Stream;
/// use serde_json::json;
///
/// let request = json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
/// let mut stream = Stream::openai_chat(&request)?;
/// // As the response body arrives (and is forwarded to the user):
/// stream.push(b"data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n")?;
/// stream.push(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")?;
/// let event = stream.finish()?;
/// assert_eq!(event.details().id.as_deref(), Some("c1"));
/// assert!(event.details().time_to_first_chunk.is_some());
/// # Ok::<(), agentops::providers::ProviderError>(())
/// ```
pub struct Stream {
    request: Value,
    chunks: Chunks,
    decoder: SseDecoder,
    started: Instant,
    started_at: SystemTime,
    first_chunk: Option<Instant>,
    last_chunk_at: Option<SystemTime>,
    /// `data: [DONE]` (OpenAI chat's end marker) was seen.
    done_marker: bool,
    /// The first error the stream reported; `finish` returns it.
    error: Option<ProviderError>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("first_chunk", &self.first_chunk.map(|t| t - self.started)).finish()
    }
}

impl Stream {
    /// A stream of `request` (already parsed, moved in), its clock started at
    /// `started`: when the request was sent, which may be before the answer was
    /// seen to be a stream.
    pub(crate) fn new(request: Value, chunks: Chunks, started: Instant, started_at: SystemTime) -> Stream {
        Stream {
            request,
            chunks,
            decoder: SseDecoder::default(),
            started,
            started_at,
            first_chunk: None,
            last_chunk_at: None,
            done_marker: false,
            error: None,
        }
    }

    /// A stream of `request`, its clock started now.
    fn starting_now(request: impl Body, chunks: Chunks) -> Result<Stream, ProviderError> {
        Ok(Stream::new(request.json()?.into_owned(), chunks, Instant::now(), SystemTime::now()))
    }

    /// An OpenAI(-compatible) chat completion stream (`"stream": true`; with
    /// `"stream_options": {"include_usage": true}` it carries the usage).
    ///
    /// # Errors
    /// The request is not JSON ([`Body::json`]).
    pub fn openai_chat(request: impl Body) -> Result<Stream, ProviderError> {
        Stream::starting_now(request, Chunks::OpenAiChat(ChatChunks::default()))
    }

    /// An OpenAI Responses API stream.
    ///
    /// # Errors
    /// The request is not JSON ([`Body::json`]).
    pub fn openai_responses(request: impl Body) -> Result<Stream, ProviderError> {
        Stream::starting_now(request, Chunks::OpenAiResponses(ResponsesChunks::default()))
    }

    /// An Anthropic Messages stream (`message_start` … `message_stop`).
    ///
    /// # Errors
    /// The request is not JSON ([`Body::json`]).
    pub fn anthropic(request: impl Body) -> Result<Stream, ProviderError> {
        Stream::starting_now(request, Chunks::Anthropic(MessageChunks::default()))
    }

    /// A Gemini `streamGenerateContent?alt=sse` stream of `model`.
    ///
    /// # Errors
    /// The request is not JSON ([`Body::json`]).
    pub fn gemini(model: &str, request: impl Body) -> Result<Stream, ProviderError> {
        Stream::starting_now(request, Chunks::Gemini(model.to_owned(), GeminiChunks::default()))
    }

    /// Feeds raw response bytes (server-sent events), split anywhere.
    ///
    /// # Errors
    /// An event that is not this provider's, or an error event; the stream
    /// remembers the first and `finish` returns it too.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ProviderError> {
        let mut events = Vec::new();
        let decoded = self.decoder.push(bytes, &mut events);
        for e in events {
            self.event(e)?;
        }
        decoded.map_err(|e| self.fail(e))
    }

    /// Feeds the data of one server-sent event (for code that parses SSE itself, or
    /// holds chunks serialized from a client library's types).
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn push_event(&mut self, data: &str) -> Result<(), ProviderError> {
        self.event(SseEvent { name: None, data: data.to_owned() })
    }

    /// The call as far as its request tells (model, provider, start), streamed:
    /// what to record, [`failed`](LlmEvent::failed), when the stream gave nothing
    /// usable.
    pub fn request_event(&self) -> LlmEvent {
        let (model, provider) = match &self.chunks {
            Chunks::OpenAiChat(_) | Chunks::OpenAiResponses(_) => (None, "openai"),
            Chunks::Anthropic(_) => (None, "anthropic"),
            Chunks::Gemini(model, _) => (Some(model.clone()), "gcp.gemini"),
        };
        let model = model.or_else(|| self.request.get("model").and_then(Value::as_str).map(str::to_owned));
        LlmEvent::new(model.unwrap_or_default()).provider(provider).started_at(self.started_at).streamed()
    }

    fn fail(&mut self, e: ProviderError) -> ProviderError {
        self.error.get_or_insert_with(|| e.clone());
        e
    }

    fn event(&mut self, e: SseEvent) -> Result<(), ProviderError> {
        let data = e.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        self.first_chunk.get_or_insert_with(Instant::now);
        self.last_chunk_at = Some(SystemTime::now());
        if data == "[DONE]" {
            self.done_marker = true;
            return Ok(());
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| self.fail(ProviderError::NotJson { detail: e.to_string() }))?;
        let added = match &mut self.chunks {
            Chunks::OpenAiChat(c) => c.add(&v),
            Chunks::OpenAiResponses(c) => c.add(&v),
            Chunks::Anthropic(c) => c.add(&v),
            Chunks::Gemini(_, c) => c.add(&v),
        };
        added.map_err(|e| self.fail(e))
    }

    /// Whether the stream's end marker was seen.
    fn complete(&self) -> bool {
        match &self.chunks {
            Chunks::OpenAiChat(c) => self.done_marker || c.finished(),
            Chunks::OpenAiResponses(c) => c.finished(),
            Chunks::Anthropic(c) => c.finished(),
            Chunks::Gemini(_, c) => c.finished(),
        }
    }

    /// The event the stream adds up to, as the non-streamed call gives it, with the
    /// time to its first chunk. Its span starts when the stream was created and
    /// ends at the last chunk.
    ///
    /// # Errors
    /// The first error the stream reported; [`ProviderError::IncompleteStream`]
    /// (with the event so far) when it ended before its end marker.
    pub fn finish(mut self) -> Result<LlmEvent, ProviderError> {
        let mut tail = Vec::new();
        self.decoder.finish(&mut tail);
        for e in tail {
            let _ = self.event(e);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let request = &self.request;
        let event = match &self.chunks {
            Chunks::OpenAiChat(c) => openai_chat::chat_completion(request, c.response()),
            Chunks::OpenAiResponses(c) => openai_responses::responses(request, c.response()),
            Chunks::Anthropic(c) => anthropic::messages(request, c.response()),
            Chunks::Gemini(model, c) => gemini::generate_content(model, request, c.response()),
        }?;
        let mut event = event.started_at(self.started_at).streamed();
        if let Some(end) = self.last_chunk_at {
            event = event.ended_at(end);
        }
        if let Some(first) = self.first_chunk {
            event = event.time_to_first_chunk(first - self.started);
        }
        if self.complete() {
            Ok(event)
        } else {
            event.details_mut().incomplete = true;
            Err(ProviderError::IncompleteStream { partial: Box::new(event) })
        }
    }
}
