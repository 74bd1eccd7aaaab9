//! `Batcher`: the batch being filled on the export thread. Spans and events go in,
//! encoded into the form every exporter reads (`pending.rs`), span filters are
//! applied, and a batch comes out when it is full or taken (due, flushed, shut
//! down). The export thread (`export_thread.rs`) decides when; this decides what.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::pending::Pending;
use crate::config::otel::SpanFilter;
use crate::encode::encoder::EventToSpanEncoder;
use crate::encode::protocol::Protocol;
use crate::encode::wire::{put_otlp_span, WireSpan};
use crate::encode::wire_json::{put_otlp_span_json, JsonSpan};
use crate::event::recorded::RecordedEvent;
use crate::export::batch::ExportBatch;
use crate::stats::{Counters, Warn};

pub(crate) struct Batcher {
    pub encoder: EventToSpanEncoder,
    pub span_filters: Vec<SpanFilter>,
    pub max_batch: usize,
    /// No exporter reads `SpanData`: batches are converted to OTLP by moving.
    pub otlp_only: bool,
    pub counters: Arc<Counters>,
    pub resource: Arc<Resource>,
    pub resource_attrs: Arc<ResourceAttributesWithSchema>,
    pub pending: Pending,
    /// Sent spans, reused for new ones (see `reuse`).
    pub span_pool: Vec<OtlpSpan>,
    /// Sent request buffers of the direct path, to write into again.
    pub wire_pool: Vec<Vec<u8>>,
    /// The attribute list's allocation, lent to the encoder for each event.
    pub scratch: Vec<opentelemetry::KeyValue>,
}

impl Batcher {
    /// Adds a span made by the SDK (a session root, the application's own span);
    /// the batch, when that filled it.
    pub fn push_span(&mut self, span: SpanData) -> Option<ExportBatch> {
        match &mut self.pending {
            Pending::Spans(v) => v.push(span),
            Pending::Otlp(v) => v.push(span.into()),
            Pending::Wire(w) => {
                put_otlp_span(&mut w.buf, &span.into());
                w.count += 1;
            }
            Pending::WireJson(w) => {
                w.separate();
                put_otlp_span_json(&mut w.buf, &span.into());
                w.count += 1;
            }
        }
        self.take_if_full()
    }

    /// Encodes a recorded event into the pending batch; the batch, when that filled
    /// it. An encoder that panics loses the event alone (counted), not the batch.
    pub fn push_event(&mut self, rec: &RecordedEvent) -> Option<ExportBatch> {
        let (encoder, pool, scratch) = (&self.encoder, &mut self.span_pool, &mut self.scratch);
        let mark = self.pending.mark();
        let pending = &mut self.pending;
        let encoded = catch_unwind(AssertUnwindSafe(|| match pending {
            Pending::Spans(v) => v.push(encoder.encode(rec)),
            Pending::Otlp(v) => {
                let mut span = pool.pop().unwrap_or_default();
                encoder.encode_otlp_into(rec, &mut span, scratch);
                v.push(span);
            }
            Pending::Wire(w) => {
                encoder.encode_to(rec, &mut WireSpan::new(&mut w.buf));
                w.count += 1;
            }
            Pending::WireJson(w) => {
                w.separate();
                encoder.encode_to(rec, &mut JsonSpan::new(&mut w.buf));
                w.count += 1;
            }
        }));
        if encoded.is_err() {
            self.pending.cut(mark);
            Counters::add(&self.counters.export_panics, 1);
            Counters::add(&self.counters.dropped_panicked, 1);
            self.counters.set_last_error("encoding an event panicked; the event was dropped".into());
            self.counters.warn_once(Warn::Panic, || "encoding an event panicked; it was dropped".into());
        }
        self.take_if_full()
    }

    fn take_if_full(&mut self) -> Option<ExportBatch> {
        (self.pending.len() >= self.max_batch).then(|| self.take()).flatten()
    }

    /// The pending spans as a batch (none when there are none, or the span filters
    /// dropped them all), leaving an empty batch of the same form.
    pub fn take(&mut self) -> Option<ExportBatch> {
        Counters::add(&self.counters.values_truncated, self.encoder.take_truncated());
        if self.pending.len() == 0 {
            return None;
        }
        let pool = &mut self.wire_pool;
        let pending = self.pending.take(self.max_batch, || pool.pop().unwrap_or_default());
        let (res, attrs) = (self.resource.clone(), self.resource_attrs.clone());
        Some(match pending {
            Pending::Otlp(spans) => ExportBatch::from_otlp_spans(spans, self.encoder.scope(), res, attrs),
            Pending::Wire(w) => {
                let (buf, start, count) = w.finish();
                ExportBatch::from_wire(buf, start, Protocol::HttpProtobuf, count, res, attrs)
            }
            Pending::WireJson(w) => {
                let (buf, count) = w.finish();
                ExportBatch::from_wire(buf, 0, Protocol::HttpJson, count, res, attrs)
            }
            Pending::Spans(spans) => {
                let spans = self.apply_span_filters(spans);
                if spans.is_empty() {
                    return None;
                }
                if self.otlp_only {
                    ExportBatch::moved_to_otlp(spans, res, attrs)
                } else {
                    ExportBatch::of_spans(spans, res, attrs)
                }
            }
        })
    }

    /// A batch the sending threads are done with, back where it was allocated: its
    /// spans are reused for the next events (their buffers), the rest is freed.
    pub fn reuse(&mut self, batch: ExportBatch) {
        if matches!(self.pending, Pending::Wire(_) | Pending::WireJson(_)) {
            if let Some(buf) = batch.into_wire_buffer().filter(|_| self.wire_pool.len() < 4) {
                self.wire_pool.push(buf);
            }
            return;
        }
        let cap = 2 * self.max_batch;
        if self.span_pool.len() < cap && matches!(self.pending, Pending::Otlp(_)) {
            let room = cap - self.span_pool.len();
            self.span_pool.extend(batch.into_otlp_spans().into_iter().take(room));
        }
    }

    fn apply_span_filters(&self, spans: Vec<SpanData>) -> Vec<SpanData> {
        if self.span_filters.is_empty() {
            return spans;
        }
        let (mut filtered, mut panicked) = (0u64, 0u64);
        let kept: Vec<SpanData> = spans
            .into_iter()
            .filter_map(|mut span| {
                for f in &self.span_filters {
                    match catch_unwind(AssertUnwindSafe(|| f(&mut span))) {
                        Ok(true) => {}
                        Ok(false) => {
                            filtered += 1;
                            return None;
                        }
                        // A span filter that panics may have been redacting: dropping the
                        // span is the only safe choice.
                        Err(_) => {
                            panicked += 1;
                            return None;
                        }
                    }
                }
                Some(span)
            })
            .collect();
        Counters::add(&self.counters.filtered, filtered);
        if panicked > 0 {
            Counters::add(&self.counters.export_panics, panicked);
            Counters::add(&self.counters.dropped_panicked, panicked);
            self.counters.set_last_error(format!("a span filter panicked; {panicked} span(s) dropped"));
            self.counters.warn_once(Warn::Panic, || "a span filter panicked; its spans are dropped".into());
        }
        kept
    }
}
