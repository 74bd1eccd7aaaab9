//! The batch being filled on the export thread, in the form the exporters need.

use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_sdk::trace::SpanData;

/// Spans waiting for the next export.
pub(crate) enum Pending {
    /// For formatters, or exporters that read `SpanData`.
    Spans(Vec<SpanData>),
    /// Straight to OTLP: no exporter reads `SpanData` and there are no formatters,
    /// so events are encoded into OTLP spans directly, moving their strings.
    Otlp(Vec<OtlpSpan>),
}

impl Pending {
    pub fn len(&self) -> usize {
        match self {
            Pending::Spans(v) => v.len(),
            Pending::Otlp(v) => v.len(),
        }
    }

    /// Takes the pending spans, leaving an empty batch of the same form.
    pub fn take(&mut self, capacity: usize) -> Pending {
        match self {
            Pending::Spans(v) => Pending::Spans(std::mem::replace(v, Vec::with_capacity(capacity))),
            Pending::Otlp(v) => Pending::Otlp(std::mem::replace(v, Vec::with_capacity(capacity))),
        }
    }
}
