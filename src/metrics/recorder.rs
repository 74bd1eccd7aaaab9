//! `MetricsRecorder`: turns the events and spans the export thread handles into
//! measurements. It runs on the export thread, before each event is encoded, so
//! recording a metric costs the caller nothing.
//!
//! A failed LLM or tool call is recorded as the call and then an [`ErrorEvent`]
//! naming it as its trigger; the call's duration carries the error's `error.type`.
//! So durations wait briefly, for the current and the next batch, for an error
//! that names them, and are recorded then, or at the latest at a flush or shutdown
//! (before the final collection).

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use uuid::Uuid;

use super::instruments::{key, Instruments};
use super::series::{cost_attrs, llm_attrs, text, tool_attrs, SeriesCache};
use crate::encode::attr;
use crate::event::{Event, EventCommon, EventType, LlmEvent};

/// The conventions' `error.type` when no better class is known.
const OTHER_ERROR: &str = "_OTHER";

/// Where a waiting duration goes.
#[derive(Debug)]
enum Target {
    /// A series of the cache (see `series.rs`).
    Llm(usize),
    Tool(usize),
    /// Past the cache's bound: the histogram and the attributes.
    Unbound(Call, Vec<KeyValue>),
}

/// Which histogram an unbound duration goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Llm,
    Tool,
}

/// A call's duration, waiting for an error that may name it.
#[derive(Debug)]
struct Waiting {
    id: Uuid,
    seconds: f64,
    target: Target,
    error_type: Option<Value>,
}

pub(crate) struct MetricsRecorder {
    instruments: Instruments,
    series: SeriesCache,
    /// Durations from the batch being filled, and from the one before it.
    current: Vec<Waiting>,
    previous: Vec<Waiting>,
}

fn seconds(common: &EventCommon) -> f64 {
    let end = common.ended_at.unwrap_or(common.started_at);
    end.duration_since(common.started_at).unwrap_or_default().as_secs_f64()
}

impl MetricsRecorder {
    pub fn new(instruments: Instruments) -> Self {
        MetricsRecorder { instruments, series: SeriesCache::default(), current: Vec::new(), previous: Vec::new() }
    }

    /// Records what `event` measures; `errored` marks a call whose own span failed.
    pub fn event(&mut self, event: &Event, errored: bool) {
        match event {
            Event::Llm(e) => self.llm(e),
            Event::Tool(t) => {
                let target = match self.series.tool(&t.name) {
                    Some(at) => Target::Tool(at),
                    None => Target::Unbound(Call::Tool, tool_attrs(&t.name)),
                };
                let own = t.error_type.as_ref().map(text);
                let error_type = errored.then(|| own.unwrap_or_else(|| Value::from(OTHER_ERROR)));
                self.current.push(Waiting { id: t.common.id, seconds: seconds(&t.common), target, error_type });
            }
            Event::Agent(a) => {
                let mut attrs = vec![
                    KeyValue::new(attr::GEN_AI_OPERATION, "invoke_agent"),
                    KeyValue::new(attr::GEN_AI_AGENT_NAME, text(&a.name)),
                ];
                if errored {
                    attrs.push(KeyValue::new(attr::ERROR_TYPE, OTHER_ERROR));
                }
                self.instruments.agent_duration.record(seconds(&a.common), &attrs);
            }
            Event::Error(e) => {
                let error_type = text(&e.error_type);
                self.instruments.errors.add(1, &[KeyValue::new(attr::ERROR_TYPE, error_type.clone())]);
                let trigger = e.trigger.filter(|t| matches!(t.event_type, EventType::Llm | EventType::Tool));
                if let Some(t) = trigger {
                    let found = self.current.iter_mut().chain(self.previous.iter_mut()).find(|w| w.id == t.id);
                    if let Some(w) = found {
                        w.error_type = Some(error_type);
                    }
                }
            }
            Event::Action(_) => {}
        }
    }

    fn llm(&mut self, e: &LlmEvent) {
        let i = &self.instruments;
        let cost = e.cost.filter(|c| c.is_finite() && *c >= 0.0);
        let target = match self.series.llm(e) {
            Some(at) => {
                self.series.llm_at(at).usage(i, e.input_tokens, e.output_tokens, cost);
                Target::Llm(at)
            }
            None => {
                let mut attrs = llm_attrs(e);
                for (tokens, kind) in [(e.input_tokens, "input"), (e.output_tokens, "output")] {
                    if let Some(n) = tokens {
                        attrs.push(KeyValue::new(key::TOKEN_TYPE, kind));
                        i.token_usage.record(n, &attrs);
                        attrs.pop();
                    }
                }
                cost.inspect(|c| i.llm_cost.add(*c, &cost_attrs(e)));
                Target::Unbound(Call::Llm, attrs)
            }
        };
        // Streams only, so the unbound path's cost is theirs alone.
        if let Some(t) = e.details.as_ref().and_then(|d| d.time_to_first_chunk) {
            i.time_to_first_chunk.record(t.as_secs_f64(), &llm_attrs(e));
        }
        // A failed call: its duration carries its `error.type`, and it counts as an error.
        let error_type = e.error().map(|err| text(&err.error_type));
        if let Some(t) = &error_type {
            i.errors.add(1, &[KeyValue::new(attr::ERROR_TYPE, t.clone())]);
        }
        self.current.push(Waiting { id: e.common.id, seconds: seconds(&e.common), target, error_type });
    }

    /// Records what a span made by the SDK measures: a session root's end state and
    /// duration.
    pub fn span(&mut self, span: &SpanData) {
        let value = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| &kv.value);
        if value(attr::SPAN_KIND).map(|v| v.as_str()) != Some(Cow::Borrowed("session")) {
            return;
        }
        let state = value(attr::SESSION_END_STATE).cloned().unwrap_or(Value::from("Indeterminate"));
        let by = [KeyValue::new(attr::SESSION_END_STATE, state)];
        self.instruments.sessions_ended.add(1, &by);
        let secs = span.end_time.duration_since(span.start_time).unwrap_or_default().as_secs_f64();
        self.instruments.session_duration.record(secs, &by);
    }

    /// A batch was handed on: durations from the batch before it have waited long
    /// enough.
    pub fn batch_done(&mut self) {
        let mut older = std::mem::replace(&mut self.previous, std::mem::take(&mut self.current));
        self.record(&mut older);
        self.current = older; // its allocation, for the next batch
    }

    /// Records every waiting duration (a flush or shutdown is about to collect).
    pub fn settle(&mut self) {
        self.batch_done();
        self.batch_done();
    }

    fn record(&self, waiting: &mut Vec<Waiting>) {
        let i = &self.instruments;
        for w in waiting.drain(..) {
            let (call, attrs) = match (&w.target, &w.error_type) {
                (Target::Llm(at), None) => {
                    self.series.llm_at(*at).duration(i, w.seconds);
                    continue;
                }
                (Target::Tool(at), None) => {
                    self.series.tool_at(*at).duration(i, w.seconds);
                    continue;
                }
                // A failed call: its attributes and the error's type, unbound (rare).
                (Target::Llm(at), _) => (Call::Llm, &self.series.llm_at(*at).attrs),
                (Target::Tool(at), _) => (Call::Tool, &self.series.tool_at(*at).attrs),
                (Target::Unbound(call, attrs), _) => (*call, attrs),
            };
            let histogram = match call {
                Call::Llm => &i.operation_duration,
                Call::Tool => &i.tool_duration,
            };
            match w.error_type {
                Some(t) => {
                    let mut attrs = attrs.clone();
                    attrs.push(KeyValue::new(attr::ERROR_TYPE, t));
                    histogram.record(w.seconds, &attrs);
                }
                None => histogram.record(w.seconds, attrs),
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric;
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::reader::MetricReader;
    use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};

    use super::*;
    use crate::event::{ErrorEvent, EventRef};
    use crate::metrics::instruments::name;
    use crate::metrics::reader::SharedReader;
    use crate::metrics::series::MAX_SERIES;

    /// Records `events` through a recorder and collects them as exporters see it.
    pub(crate) fn collected(events: Vec<Event>) -> ExportMetricsServiceRequest {
        let reader = SharedReader::new(Temporality::Cumulative);
        let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
        let mut recorder = MetricsRecorder::new(Instruments::new(&provider.meter("test")));
        for e in &events {
            recorder.event(e, false);
        }
        recorder.settle();
        let mut rm = ResourceMetrics::default();
        reader.collect(&mut rm).unwrap();
        ExportMetricsServiceRequest::from(&rm)
    }

    /// The (count, sum) of every point of a histogram.
    fn points(req: &ExportMetricsServiceRequest, metric_name: &str) -> Vec<(u64, f64)> {
        let metrics = req.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics);
        match metrics.filter(|m| m.name == metric_name).find_map(|m| m.data.clone()) {
            Some(metric::Data::Histogram(h)) => h.data_points.iter().map(|p| (p.count, p.sum.unwrap())).collect(),
            other => panic!("{metric_name}: {other:?}"),
        }
    }

    #[test]
    fn models_beyond_the_bound_series_are_recorded_unbound() {
        let n = MAX_SERIES + 44;
        let events = (0..n).map(|i| LlmEvent::new(format!("model-{i}")).tokens(i as u64, 1).into()).collect();
        let req = collected(events);
        let tokens = points(&req, name::TOKEN_USAGE);
        assert_eq!(tokens.len(), 2 * n, "an input and an output point per model");
        let total: f64 = tokens.iter().map(|(_, s)| s).sum();
        assert_eq!(total, (0..n).sum::<usize>() as f64 + n as f64);
        assert_eq!(points(&req, name::OPERATION_DURATION).len(), n);
    }

    #[test]
    fn what_a_series_never_recorded_is_not_exported() {
        // A call without tokens, and a tool whose one call failed: no zero points.
        let call = LlmEvent::new("m");
        let failed = ErrorEvent::new("E").trigger(EventRef::new(call.common.id, EventType::Llm));
        let req = collected(vec![call.into(), failed.into()]);
        let metrics: Vec<&str> = req
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(|m| m.name.as_str())
            .collect();
        assert!(!metrics.contains(&name::TOKEN_USAGE), "{metrics:?}");
        assert_eq!(points(&req, name::OPERATION_DURATION).iter().map(|(c, _)| c).sum::<u64>(), 1);
    }
}
