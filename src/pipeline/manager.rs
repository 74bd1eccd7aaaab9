//! `TelemetryManager`: builds the tracer provider (resource, per-session sampler,
//! `EventProcessor`), the exporters and the background threads; owns their lifecycle.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use super::start::{MetricsSetup, PipelineSetup, SpoolSetup};

use super::handle::Pipeline;
use super::processor::EventProcessor;
use super::resource::build_resource;
use crate::config::agentops::{AgentOpsConfig, AgentOpsProtocol};
use crate::config::exporter_spec::{ExporterSpec, MetricsSpec};
use crate::config::otel::OtelConfig;
use crate::config::spool::SpoolSettings;
use crate::encode::encoder::{instrumentation_scope, EventToSpanEncoder};
use crate::encode::protocol::Protocol;
use crate::error::Error;
use crate::export::exporter::Exporter;
use crate::export::metrics::MetricsExporter;
use crate::exporters::agentops::legacy::{LegacySessionExporter, SessionCosts};
use crate::exporters::agentops::token::{SessionExporter, SharedAuth};
use crate::exporters::console::ConsoleExporter;
use crate::exporters::file::FileExporter;
use crate::exporters::otlp::OtlpExporter;
use crate::spool::destination::SpoolDestination;
use crate::stats::Stats;
use crate::transport::http::Transports;
use crate::util::ids::SessionIds;

pub(crate) struct TelemetryManager {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    pipeline: Arc<Pipeline>,
    agentops: Option<AgentOpsConfig>,
}

/// What the exporters of one pipeline share: the session costs the legacy protocol
/// reads back, one HTTP client per destination, and whether the encoder writes
/// AgentOps' names (every span exporter is AgentOps', current protocol).
#[derive(Default)]
pub(crate) struct Shared {
    pub costs: Arc<SessionCosts>,
    pub transports: Transports,
    pub agentops_names: bool,
}

/// The exporter a spec names (shared by the lanes, the spool and replays).
pub(crate) fn build_exporter(
    spec: ExporterSpec,
    config: &OtelConfig,
    shared: &Shared,
    auth: &SharedAuth,
) -> Result<Box<dyn Exporter>, Error> {
    let (max_bytes, transports) = (config.batch.max_request_bytes, &shared.transports);
    Ok(match spec {
        ExporterSpec::Otlp(o) => Box::new(OtlpExporter::with_transports(o, max_bytes, transports)?),
        ExporterSpec::AgentOps(a) => match a.protocol {
            AgentOpsProtocol::LegacyV2 => Box::new(LegacySessionExporter::new(a, shared.costs.clone(), transports)?),
            _ => Box::new(SessionExporter::new(a, max_bytes, auth.clone(), transports, shared.agentops_names)?),
        },
        ExporterSpec::File(path) => {
            Box::new(FileExporter::new(&path).map_err(|source| Error::Io {
                context: format!("opening the traces file {}", path.display()),
                source,
            })?)
        }
        ExporterSpec::Console(mode) => Box::new(ConsoleExporter::new(mode)),
        ExporterSpec::Memory(m) => Box::new(m),
        ExporterSpec::Custom(e) => e,
    })
}

/// The metrics instance of an exporter (see [`ExporterSpec::metrics_replica`]),
/// named as the exporter.
fn metrics_exporter(
    spec: MetricsSpec,
    config: &OtelConfig,
    shared: &Shared,
    auth: &SharedAuth,
) -> Result<(String, Box<dyn MetricsExporter>), Error> {
    let (max_bytes, transports) = (config.batch.max_request_bytes, &shared.transports);
    let exporter: Box<dyn MetricsExporter> =
        match spec {
            MetricsSpec::Otlp(endpoint) => Box::new(OtlpExporter::for_metrics(endpoint, transports)?),
            MetricsSpec::AgentOps(a) => Box::new(SessionExporter::new(a, max_bytes, auth.clone(), transports, false)?),
            MetricsSpec::File(path) => Box::new(FileExporter::new(&path).map_err(|source| Error::Io {
                context: format!("opening the metrics file {}", path.display()),
                source,
            })?),
            MetricsSpec::Console(mode) => Box::new(ConsoleExporter::new(mode)),
            MetricsSpec::Memory(e) => Box::new(e),
        };
    Ok((MetricsExporter::name(&*exporter).to_owned(), exporter))
}

/// The spool's directories for the exporters that spool (by position) and the
/// delivery thread's exporters.
fn spool_setup(
    settings: &SpoolSettings,
    specs: Vec<(Option<String>, Option<ExporterSpec>, SharedAuth)>,
    config: &OtelConfig,
    shared: &Shared,
) -> Result<SpoolSetup, Error> {
    let io = |source| Error::Io { context: format!("opening the spool directory {}", settings.dir.display()), source };
    let mut destinations = Vec::with_capacity(specs.len());
    let mut delivery = Vec::new();
    for (key, replica, auth) in specs {
        let dest = match key {
            Some(key) => Some(SpoolDestination::open(&settings.dir, &key).map_err(io)?),
            None => None,
        };
        if let (Some(dest), Some(replica)) = (&dest, replica) {
            let exporter = build_exporter(replica, config, shared, &auth)?;
            delivery.push((dest.clone(), exporter.name().to_owned(), exporter));
        }
        destinations.push(dest);
    }
    Ok(SpoolSetup { settings: settings.clone(), destinations, delivery })
}

impl TelemetryManager {
    /// Builds everything and starts the background threads. Does no network I/O.
    pub fn new(mut config: OtelConfig) -> Result<Self, Error> {
        let resource = build_resource(&config);
        let specs = std::mem::take(&mut config.exporters);
        let agentops = specs.iter().find_map(|s| match s {
            ExporterSpec::AgentOps(a) => Some(a.clone()),
            _ => None,
        });
        // The same exporter in every lane, and its metrics instance, share its
        // credentials (one token per client).
        let auths: Vec<SharedAuth> = specs.iter().map(|_| SharedAuth::default()).collect();
        // Built after the span exporters, so a bad path is reported for the traces file.
        let metrics_specs: Option<Vec<(MetricsSpec, SharedAuth)>> = config.metrics.is_on().then(|| {
            let replicas =
                specs.iter().zip(&auths).filter_map(|(s, a)| Some((s.metrics_replica(&config.metrics)?, a.clone())));
            replicas.collect()
        });
        // An OTLP exporter the environment gave a metrics endpoint only sends no spans.
        let (specs, auths): (Vec<ExporterSpec>, Vec<SharedAuth>) =
            specs.into_iter().zip(auths).filter(|(s, _)| s.sends_spans()).unzip();
        let agentops_names = !specs.is_empty()
            && specs.iter().all(|s| matches!(s, ExporterSpec::AgentOps(a) if a.protocol != AgentOpsProtocol::LegacyV2));
        let shared = Shared { agentops_names, ..Shared::default() };
        // One encoding for every exporter: batches may be written in it directly.
        let protocols: Vec<Option<Protocol>> = specs.iter().map(ExporterSpec::direct_protocol).collect();
        let direct = protocols.first().copied().flatten().filter(|p| protocols.iter().all(|q| *q == Some(*p)));
        // The spool's delivery thread gets an instance of each network exporter, with
        // the lanes' credentials.
        let specs_for_spool: Vec<(Option<String>, Option<ExporterSpec>, SharedAuth)> =
            specs.iter().zip(&auths).map(|(s, a)| (s.spool_key(), s.spool_replica(), a.clone())).collect();
        // Each destination its own lanes: several for an exporter that can be
        // instantiated again (the network ones), one for the others.
        let spool = match &config.spool {
            Some(settings) => Some(spool_setup(settings, specs_for_spool, &config, &shared)?),
            None => None,
        };
        let mut destinations = Vec::with_capacity(specs.len());
        for (spec, auth) in specs.into_iter().zip(&auths) {
            let mut specs = vec![];
            if spec.replica().is_some() {
                specs.extend((1..config.batch.max_concurrent_exports).filter_map(|_| spec.replica()));
            }
            specs.insert(0, spec);
            let instances = specs.into_iter().map(|s| build_exporter(s, &config, &shared, auth));
            destinations.push(instances.collect::<Result<Vec<_>, _>>()?);
        }
        let metrics = match metrics_specs {
            Some(specs) => {
                let exporters = specs.into_iter().map(|(s, auth)| metrics_exporter(s, &config, &shared, &auth));
                Some(MetricsSetup { settings: config.metrics.clone(), exporters: exporters.collect::<Result<_, _>>()? })
            }
            None => None,
        };
        let pipeline = Pipeline::start(PipelineSetup {
            destinations,
            encoder: EventToSpanEncoder::new(config.capture_content, config.max_value_len)
                .with_agentops_names(agentops_names),
            span_filters: std::mem::take(&mut config.span_filters),
            batch: config.batch.clone(),
            retry: config.retry.clone(),
            resource: resource.clone(),
            costs: shared.costs.clone(),
            metrics,
            spool,
            direct,
        })?;
        // Sampling is decided once, at the session root; everything in the session
        // follows the root's decision, so a session is kept or dropped whole.
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler)
            .with_id_generator(SessionIds)
            .with_span_processor(EventProcessor::new(pipeline.clone(), config.shutdown_timeout))
            .build();
        let tracer = provider.tracer_with_scope(instrumentation_scope());
        Ok(TelemetryManager { provider, tracer, pipeline, agentops })
    }

    /// The tracer session roots are started with; applications may use it for their
    /// own spans too.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// The AgentOps settings, when exporting to AgentOps (for replay links).
    pub fn agentops(&self) -> Option<&AgentOpsConfig> {
        self.agentops.as_ref()
    }

    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        self.pipeline.flush(timeout)
    }

    /// Closes the pipeline. The SDK provider stays alive until the manager is dropped
    /// so that a span ending late still reaches the processor and is counted (the SDK
    /// discards spans ended after its own shutdown without a trace).
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        self.pipeline.shutdown(timeout)
    }

    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }
}

impl Drop for TelemetryManager {
    fn drop(&mut self) {
        // The pipeline is closed by now (Client::drop shuts it down first), so the
        // processor's shutdown returns at once.
        let _ = self.provider.shutdown_with_timeout(Duration::from_millis(10));
    }
}
