//! Filling batches on the export thread: spans and events in, span filters applied,
//! a batch out when it is full, due, flushed or shut down.

use std::panic::{catch_unwind, AssertUnwindSafe};

use opentelemetry_sdk::trace::SpanData;

use super::export_thread::Worker;
use super::fanout::Stage;
use super::message::Message;
use super::pending::Pending;
use crate::encode::protocol::Protocol;
use crate::encode::recorded::RecordedEvent;
use crate::encode::wire::{put_otlp_span, WireSpan};
use crate::encode::wire_json::{put_otlp_span_json, JsonSpan};
use crate::export::batch::ExportBatch;
use crate::stats::{Counters, Warn};

impl Worker {
    /// Queues a span made by the SDK (a session root, the application's own span).
    pub(super) fn push_span(&mut self, span: SpanData) {
        if let Some(m) = &mut self.metrics {
            m.span(&span);
        }
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
        self.export_if_full();
    }

    /// Encodes a recorded event into the pending batch's form and queues it; the
    /// event itself goes home (see `reclaim.rs`).
    pub(super) fn push_event(&mut self, rec: Box<RecordedEvent>) {
        if let Some(m) = &mut self.metrics {
            m.event(&rec.event, rec.errored);
        }
        let (encoder, pool, scratch) = (&self.encoder, &mut self.span_pool, &mut self.scratch);
        let mark = self.pending.mark();
        let pending = &mut self.pending;
        let encoded = catch_unwind(AssertUnwindSafe(|| match pending {
            Pending::Spans(v) => v.push(encoder.encode(&rec)),
            Pending::Otlp(v) => {
                let mut span = pool.pop().unwrap_or_default();
                encoder.encode_otlp_into(&rec, &mut span, scratch);
                v.push(span);
            }
            Pending::Wire(w) => {
                encoder.encode_to(&rec, &mut WireSpan::new(&mut w.buf));
                w.count += 1;
            }
            Pending::WireJson(w) => {
                w.separate();
                encoder.encode_to(&rec, &mut JsonSpan::new(&mut w.buf));
                w.count += 1;
            }
        }));
        self.free_backlog.push(rec);
        if encoded.is_err() {
            self.pending.cut(mark);
            Counters::add(&self.counters.export_panics, 1);
            Counters::add(&self.counters.dropped_panicked, 1);
            self.counters.set_last_error("encoding an event panicked; the event was dropped".into());
            self.counters.warn_once(Warn::Panic, || "encoding an event panicked; it was dropped".into());
        }
        self.export_if_full();
    }

    fn export_if_full(&mut self) {
        if self.pending.len() >= self.max_batch {
            self.export_pending();
        }
    }

    /// Takes everything still in the channel (shutdown); a flush waiting behind the
    /// shutdown is answered in order.
    pub(super) fn drain(&mut self) {
        while let Ok(msg) = self.take() {
            if !matches!(msg, Message::Span(_) | Message::Event(_)) {
                self.counters.controls_queued.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
            match msg {
                Message::Span(s) => self.push_span(*s),
                Message::Event(e) => self.push_event(e),
                Message::SessionStart(s) => self.forward(Stage::SessionStart(s)),
                Message::Flush(ack) | Message::Shutdown(ack) => {
                    self.export_pending();
                    self.settle_metrics();
                    self.forward(Stage::Flush(ack));
                }
            }
        }
        self.export_pending();
        self.free_backlog.free_everything();
    }

    pub(super) fn export_pending(&mut self) {
        Counters::add(&self.counters.values_truncated, self.encoder.take_truncated());
        if self.pending.len() == 0 {
            return;
        }
        let pool = &mut self.wire_pool;
        let pending = self.pending.take(self.max_batch, || pool.pop().unwrap_or_default());
        let (res, attrs) = (self.resource.clone(), self.resource_attrs.clone());
        let batch = match pending {
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
                let spans = self.apply_formatters(spans);
                if spans.is_empty() {
                    return;
                }
                if self.otlp_only {
                    ExportBatch::moved_to_otlp(spans, res, attrs)
                } else {
                    ExportBatch::of_spans(spans, res, attrs)
                }
            }
        };
        self.forward_batch(batch);
        if let Some(m) = &mut self.metrics {
            m.batch_done();
        }
    }

    fn apply_formatters(&self, spans: Vec<SpanData>) -> Vec<SpanData> {
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
