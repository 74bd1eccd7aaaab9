//! Reading OTLP metrics requests in tests: decoding by Content-Type (with
//! opentelemetry-proto), and finding metrics and their data points.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint};
use prost::Message;

use super::{attr_str, Request, TestServer};

impl Request {
    /// Decodes an OTLP metrics request by its Content-Type.
    pub fn otlp_metrics(&self) -> ExportMetricsServiceRequest {
        let body = self.decoded_body();
        match self.header("content-type") {
            Some("application/x-protobuf") => {
                ExportMetricsServiceRequest::decode(&body[..]).expect("protobuf ExportMetricsServiceRequest")
            }
            Some("application/json") => serde_json::from_slice(&body).expect("OTLP JSON ExportMetricsServiceRequest"),
            other => panic!("unexpected content type {other:?} in {:?}", self.headers),
        }
    }
}

impl TestServer {
    /// Every metrics request answered 2xx to `/v1/metrics`, decoded, in order.
    pub fn accepted_metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.requests_to("/v1/metrics")
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| r.otlp_metrics())
            .collect()
    }
}

/// Every metric of a request named `name` (one per scope it appears in).
pub fn metrics_named<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> Vec<&'a Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == name)
        .collect()
}

/// The one metric named `name`; panics when it is missing or doubled.
pub fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    let found = metrics_named(req, name);
    assert_eq!(found.len(), 1, "metric {name}: {found:#?}");
    found[0]
}

/// A histogram's points.
pub fn histogram(m: &Metric) -> (&[HistogramDataPoint], i32) {
    match &m.data {
        Some(metric::Data::Histogram(h)) => (&h.data_points, h.aggregation_temporality),
        other => panic!("{} is not a histogram: {other:?}", m.name),
    }
}

/// A sum's points, its temporality and whether it is monotonic.
pub fn sum(m: &Metric) -> (&[NumberDataPoint], i32, bool) {
    match &m.data {
        Some(metric::Data::Sum(s)) => (&s.data_points, s.aggregation_temporality, s.is_monotonic),
        other => panic!("{} is not a sum: {other:?}", m.name),
    }
}

/// A gauge's points.
pub fn gauge(m: &Metric) -> &[NumberDataPoint] {
    match &m.data {
        Some(metric::Data::Gauge(g)) => &g.data_points,
        other => panic!("{} is not a gauge: {other:?}", m.name),
    }
}

/// A number point's value as f64.
pub fn value(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        Some(number_data_point::Value::AsDouble(d)) => d,
        None => panic!("a point without a value"),
    }
}

/// Whether every `(key, value)` is among the string attributes.
pub fn has_attrs(attrs: &[KeyValue], want: &[(&str, &str)]) -> bool {
    want.iter().all(|(k, v)| attr_str(attrs, k) == Some(*v))
}

/// The attribute keys, sorted.
pub fn keys(attrs: &[KeyValue]) -> Vec<&str> {
    let mut k: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    k.sort_unstable();
    k
}
