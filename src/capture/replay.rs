//! [`Replay`]: captured requests sent on through this crate's own exporters, built
//! from an [`OtelConfig`] as a client's are (endpoints, protocol, headers, TLS,
//! proxies, AgentOps credentials), with the same retry policy and per-exporter
//! accounting. Ids are kept, so a receiver that already holds the spans can
//! deduplicate them.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::config::otel::OtelConfig;
use crate::encode::request::span_count;
use crate::error::config::ConfigError;
use crate::error::Error;
use crate::export::batch::ExportBatch;
use crate::export::context::{call_exporter, Cancel, ExportContext};
use crate::export::exporter::Exporter;
use crate::export::retry::RetryPolicy;
use crate::exporters::agentops::token::SharedAuth;
use crate::pipeline::manager::{build_exporter, Shared};
use crate::stats::{ExporterCounters, ExporterStats};

struct Target {
    name: String,
    exporter: Box<dyn Exporter>,
    counters: ExporterCounters,
}

/// Sends captured requests to the exporters of a configuration.
///
/// ```no_run
/// use agentops::capture::{CaptureReader, Replay};
/// use agentops::{OtelConfig, OtlpExporterConfig};
///
/// let config = OtelConfig::builder()
///     .default_exporters(false)
///     .otlp(OtlpExporterConfig::new("http://localhost:4318"))
///     .build()?;
/// let mut replay = Replay::new(config)?;
/// for item in CaptureReader::open(["agentops-traces.jsonl"])? {
///     if let Ok(captured) = item {
///         let sent = replay.send(captured.request);
///         println!("{} spans: {} accepted", sent.spans, sent.accepted);
///     }
/// }
/// # Ok::<(), agentops::Error>(())
/// ```
pub struct Replay {
    targets: Vec<Target>,
    retry: RetryPolicy,
    cancel: Cancel,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay").field("exporters", &self.targets.iter().map(|t| &t.name).collect::<Vec<_>>()).finish()
    }
}

/// What one request came to. With several exporters, every count is of span
/// deliveries (spans × exporters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// Spans in the request.
    pub spans: u64,
    /// Deliveries the receiver accepted.
    pub accepted: u64,
    /// Deliveries the receiver refused for good (a 4xx, a partial success).
    pub rejected: u64,
    /// Deliveries that failed after the retries (unreachable, 5xx, timeouts).
    pub failed: u64,
    /// The exporters' errors, `name: message`.
    pub errors: Vec<String>,
}

impl Sent {
    /// Whether every span was accepted.
    pub fn all_accepted(&self) -> bool {
        self.rejected == 0 && self.failed == 0
    }
}

impl Replay {
    /// Replays to the span exporters `config` names (the same as a client with
    /// that configuration would send to).
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration names no exporter; [`Error::Io`]
    /// when a file exporter's file cannot be opened.
    pub fn new(mut config: OtelConfig) -> Result<Replay, Error> {
        let specs = std::mem::take(&mut config.exporters);
        if specs.is_empty() {
            return Err(Error::Config(ConfigError::new("exporters", "none", "replay needs an exporter to send to")));
        }
        let shared = Shared::default();
        let mut targets = Vec::with_capacity(specs.len());
        for spec in specs {
            let exporter = build_exporter(spec, &config, &shared, &SharedAuth::default())?;
            targets.push(Target { name: exporter.name().to_owned(), exporter, counters: ExporterCounters::new() });
        }
        Ok(Replay { targets, retry: config.retry.clone(), cancel: Cancel::default() })
    }

    /// Sends `request` to every exporter, retrying as the policy says; returns when
    /// each has accepted it, refused it, or given up.
    pub fn send(&mut self, request: ExportTraceServiceRequest) -> Sent {
        let spans = span_count(&request) as u64;
        let batch = ExportBatch::from_request(request);
        let mut sent = Sent { spans, ..Sent::default() };
        for t in &mut self.targets {
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &t.counters };
            let exporter = &mut *t.exporter;
            match call_exporter(&t.name, "replaying", || exporter.export(&batch, &cx), |_| {}) {
                Ok(o) => {
                    let rejected = o.rejected_spans.min(spans);
                    sent.accepted += spans - rejected;
                    sent.rejected += rejected;
                    if let Some(m) = o.message.filter(|_| rejected > 0) {
                        sent.errors.push(format!("{}: {m}", t.name));
                    }
                }
                Err(e) => {
                    if e.kind.is_rejection() {
                        sent.rejected += spans;
                    } else {
                        sent.failed += spans;
                    }
                    sent.errors.push(format!("{}: {e}", t.name));
                }
            }
        }
        sent
    }

    /// Requests, retries and bytes per exporter so far.
    pub fn stats(&self) -> Vec<ExporterStats> {
        self.targets.iter().map(|t| t.counters.stats(&t.name, false)).collect()
    }
}

impl Drop for Replay {
    /// Shuts the exporters down (a file exporter flushes its file).
    fn drop(&mut self) {
        for t in &mut self.targets {
            let cx = ExportContext { retry: &self.retry, cancel: &self.cancel, counters: &t.counters };
            let exporter = &mut *t.exporter;
            let _ = call_exporter(&t.name, "shutting down", || exporter.shutdown(&cx), |_| {});
        }
    }
}
