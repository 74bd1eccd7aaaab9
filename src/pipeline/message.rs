//! What travels through the export queue: finished spans and events, and the
//! control messages that share their FIFO (so an acknowledgement means everything
//! queued before it was handled).

use std::sync::Arc;

use crossbeam_channel::Sender;
use opentelemetry_sdk::trace::SpanData;

use super::fanout::FlushReport;
use crate::event::recorded::RecordedEvent;
use crate::export::exporter::SessionStart;

pub(crate) enum Message {
    Span(Box<SpanData>),
    /// Once its span is written, the event goes back whole to be freed on a
    /// caller's thread (see `reclaim.rs`).
    Event(Box<RecordedEvent>),
    SessionStart(Arc<SessionStart>),
    Flush(Sender<FlushReport>),
    Shutdown(Sender<FlushReport>),
}
