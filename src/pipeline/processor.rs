//! `EventProcessor`: the `SpanProcessor` between the OpenTelemetry SDK and the export
//! thread, for spans made through the SDK (session roots and the application's own
//! spans inside a session).
//!
//! Events recorded through a `Session` are already finished when recorded; they skip
//! the SDK's live-span machinery and go to the same queue directly (see
//! `Scope::record`), which keeps the caller's cost to a move and a `try_send`.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::handle::Pipeline;
use super::message::Message;
use crate::encode::attr;
use crate::stats::Counters;

/// The session a context belongs to, carried in OpenTelemetry `Context`s made by
/// `Session::context`, so that spans the application starts in it are stamped.
#[derive(Debug, Clone)]
pub(crate) struct SessionMark {
    pub session_id: Arc<str>,
}

/// Stamps session context on start; filters unsampled spans and queues the rest on end.
#[derive(Debug)]
pub(crate) struct EventProcessor {
    pipeline: Arc<Pipeline>,
    flush_timeout: Duration,
}

impl EventProcessor {
    pub fn new(pipeline: Arc<Pipeline>, flush_timeout: Duration) -> Self {
        EventProcessor { pipeline, flush_timeout }
    }
}

impl SpanProcessor for EventProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        // Copy what on_end needs now: the context is not available there.
        if let Some(mark) = cx.get::<SessionMark>() {
            let id = StringValue::from(mark.session_id.clone());
            span.set_attribute(KeyValue::new(attr::SESSION_ID, id.clone()));
            span.set_attribute(KeyValue::new(attr::CONVERSATION_ID, id));
        }
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            Counters::add(&self.pipeline.counters.sampled_out, 1);
            return;
        }
        self.pipeline.submit(Message::Span(Box::new(span)));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.pipeline.flush(self.flush_timeout).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.pipeline.shutdown(timeout).map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }
}
