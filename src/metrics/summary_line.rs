//! The console's view of a metrics collection: one line of what the metrics show
//! (LLM calls and their mean duration, tokens, cost, tools, errors, sessions, and
//! the pipeline's span counts). Read from the OTLP request every destination gets,
//! so it shows exactly what was exported.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, NumberDataPoint};

use super::instruments::{key, name};
use crate::util::time::{human_duration, usd};

/// Totals over every data point of one metric.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    count: u64,
    sum: f64,
}

fn number(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => 0.0,
    }
}

/// Adds up the points of `m` that `keep` accepts (by their attributes).
fn totals(m: &Metric, keep: impl Fn(&[opentelemetry_proto::tonic::common::v1::KeyValue]) -> bool) -> Totals {
    let mut t = Totals::default();
    match &m.data {
        Some(metric::Data::Histogram(h)) => {
            for p in h.data_points.iter().filter(|p| keep(&p.attributes)) {
                t.count += p.count;
                t.sum += p.sum.unwrap_or_default();
            }
        }
        Some(metric::Data::Sum(s)) => {
            for p in s.data_points.iter().filter(|p| keep(&p.attributes)) {
                t.count += 1;
                t.sum += number(p);
            }
        }
        Some(metric::Data::Gauge(g)) => {
            for p in g.data_points.iter().filter(|p| keep(&p.attributes)) {
                t.count += 1;
                t.sum += number(p);
            }
        }
        _ => {}
    }
    t
}

fn has(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], k: &str, v: &str) -> bool {
    attrs.iter().any(|kv| {
        kv.key == k && matches!(&kv.value, Some(a) if a.value == Some(any_value::Value::StringValue(v.to_owned())))
    })
}

/// The line, or `None` when the collection holds nothing an agent did.
pub(crate) fn describe(req: &ExportMetricsServiceRequest) -> Option<String> {
    let metrics: Vec<&Metric> =
        req.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).collect();
    let of = |n: &str, keep: &dyn Fn(&[_]) -> bool| {
        metrics
            .iter()
            .filter(|m| m.name == n)
            .map(|m| totals(m, keep))
            .fold(Totals::default(), |a, b| Totals { count: a.count + b.count, sum: a.sum + b.sum })
    };
    let all = |_: &[_]| true;
    let llm = of(name::OPERATION_DURATION, &all);
    let sessions = of(name::SESSIONS_ENDED, &all);
    let tools = of(name::TOOL_DURATION, &all);
    if llm.count == 0 && sessions.sum == 0.0 && tools.count == 0 {
        return None;
    }
    let tokens = |kind: &str| of(name::TOKEN_USAGE, &|a| has(a, key::TOKEN_TYPE, kind)).sum as u64;
    let mut line = format!("Metrics - LLM calls: {}", llm.count);
    if llm.count > 0 {
        let mean = std::time::Duration::from_secs_f64(llm.sum / llm.count as f64);
        line.push_str(&format!(" (mean {})", human_duration(mean)));
    }
    line.push_str(&format!(
        " | Tokens: {} in, {} out | Cost: {} | Tools: {} | Errors: {} | Sessions: {}",
        tokens("input"),
        tokens("output"),
        usd(of(name::LLM_COST, &all).sum),
        tools.count,
        of(name::ERRORS, &all).sum as u64,
        sessions.sum as u64,
    ));
    line.push_str(&format!(
        " | Spans: {} exported, {} dropped, {} queued",
        of(name::SPANS_EXPORTED, &all).sum as u64,
        of(name::SPANS_DROPPED, &all).sum as u64,
        of(name::SPANS_QUEUED, &all).sum as u64,
    ));
    Some(line)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::event::{ErrorEvent, EventRef, EventType, LlmEvent, ToolEvent};
    use crate::metrics::recorder::tests::collected;

    #[test]
    fn the_line_shows_what_the_metrics_show() {
        let t0 = std::time::SystemTime::now();
        let llm = |secs: u64, input, output| {
            LlmEvent::new("m").tokens(input, output).cost(0.5).started_at(t0).ended_at(t0 + Duration::from_secs(secs))
        };
        let first = llm(1, 10, 2);
        let failed = ErrorEvent::new("E").trigger(EventRef::new(first.common.id, EventType::Llm));
        let req = collected(vec![first.into(), llm(3, 5, 1).into(), ToolEvent::new("t").into(), failed.into()]);
        let line = describe(&req).unwrap();
        assert_eq!(
            line,
            "Metrics - LLM calls: 2 (mean 2.0s) | Tokens: 15 in, 3 out | Cost: $1.000000 | Tools: 1 | Errors: 1 | \
             Sessions: 0 | Spans: 0 exported, 0 dropped, 0 queued"
        );
        assert_eq!(describe(&collected(vec![])), None, "nothing an agent did: no line");
    }
}
