//! The batch being filled on the export thread, in the form the exporters need.

use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_sdk::trace::SpanData;

use crate::encode::wire::RequestFrame;
use crate::encode::wire_json::JsonFrame;

/// Spans written as protobuf bytes (`encode/wire.rs`), behind the room kept for
/// the request's header.
#[derive(Debug)]
pub(crate) struct WireSpans {
    pub buf: Vec<u8>,
    pub frame: Arc<RequestFrame>,
    pub count: usize,
}

impl WireSpans {
    /// An empty batch in `buf` (a recycled allocation).
    pub fn new(mut buf: Vec<u8>, frame: Arc<RequestFrame>) -> Self {
        buf.clear();
        buf.resize(frame.header_room(), 0);
        WireSpans { buf, frame, count: 0 }
    }

    /// The request's bytes, and where they start in the buffer.
    pub fn finish(mut self) -> (Vec<u8>, usize, usize) {
        let start = self.frame.finish(&mut self.buf, self.frame.header_room());
        (self.buf, start, self.count)
    }
}

/// Spans written as OTLP/JSON text (`encode/wire_json.rs`) after the frame's head.
#[derive(Debug)]
pub(crate) struct JsonSpans {
    pub buf: String,
    pub frame: Arc<JsonFrame>,
    pub count: usize,
}

impl JsonSpans {
    /// An empty batch in `buf` (a recycled allocation).
    pub fn new(mut buf: Vec<u8>, frame: Arc<JsonFrame>) -> Self {
        buf.clear();
        let mut buf = String::from_utf8(buf).unwrap_or_default(); // empty, so valid
        frame.start(&mut buf);
        JsonSpans { buf, frame, count: 0 }
    }

    /// Before each span.
    pub fn separate(&mut self) {
        JsonFrame::separator(&mut self.buf, self.count);
    }

    /// The request's text, and its span count.
    pub fn finish(mut self) -> (Vec<u8>, usize) {
        self.frame.finish(&mut self.buf);
        (self.buf.into_bytes(), self.count)
    }
}

/// Spans waiting for the next export.
pub(crate) enum Pending {
    /// For span filters, or exporters that read `SpanData`.
    Spans(Vec<SpanData>),
    /// Straight to OTLP: no exporter reads `SpanData` and there are no span filters,
    /// so events are encoded into OTLP spans directly, moving their strings.
    Otlp(Vec<OtlpSpan>),
    /// Straight to protobuf bytes: every exporter is OTLP/HTTP protobuf and there
    /// are no span filters.
    Wire(WireSpans),
    /// Straight to OTLP/JSON text: every exporter is OTLP/HTTP JSON and there are
    /// no span filters.
    WireJson(JsonSpans),
}

/// Where a direct batch's buffer ended before an event was written: an encoder
/// that panics midway leaves a partial span, which is cut off again.
pub(crate) struct Mark(Option<usize>);

impl Pending {
    /// The mark to [`cut`](Self::cut) back to.
    pub fn mark(&self) -> Mark {
        Mark(match self {
            Pending::Wire(w) => Some(w.buf.len()),
            Pending::WireJson(w) => Some(w.buf.len()),
            _ => None,
        })
    }

    /// Removes what was written after `mark` (the other forms add whole spans only).
    pub fn cut(&mut self, mark: Mark) {
        match (self, mark.0) {
            (Pending::Wire(w), Some(at)) => w.buf.truncate(at),
            (Pending::WireJson(w), Some(at)) => w.buf.truncate(at),
            _ => {}
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Pending::Spans(v) => v.len(),
            Pending::Otlp(v) => v.len(),
            Pending::Wire(w) => w.count,
            Pending::WireJson(w) => w.count,
        }
    }

    /// Takes the pending spans, leaving an empty batch of the same form (in
    /// `recycled`, for the direct form).
    pub fn take(&mut self, capacity: usize, recycled: impl FnOnce() -> Vec<u8>) -> Pending {
        match self {
            Pending::Spans(v) => Pending::Spans(std::mem::replace(v, Vec::with_capacity(capacity))),
            Pending::Otlp(v) => Pending::Otlp(std::mem::replace(v, Vec::with_capacity(capacity))),
            Pending::Wire(w) => {
                let frame = w.frame.clone();
                Pending::Wire(std::mem::replace(w, WireSpans::new(recycled(), frame)))
            }
            Pending::WireJson(w) => {
                let frame = w.frame.clone();
                Pending::WireJson(std::mem::replace(w, JsonSpans::new(recycled(), frame)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_removes_what_a_failed_event_half_wrote() {
        let frame = Arc::new(JsonFrame::new(&Default::default(), "", &Default::default(), ""));
        let mut p = Pending::WireJson(JsonSpans::new(Vec::new(), frame));
        let Pending::WireJson(w) = &mut p else { unreachable!() };
        w.buf.push_str("{\"traceId\":\"aa\"}");
        w.count += 1;
        let whole = w.buf.clone();
        let mark = p.mark();
        let Pending::WireJson(w) = &mut p else { unreachable!() };
        w.buf.push_str(",{\"traceId\":"); // an encoder panicked here
        p.cut(mark);
        let Pending::WireJson(w) = p else { unreachable!() };
        assert_eq!((w.buf, w.count), (whole, 1));
    }
}
