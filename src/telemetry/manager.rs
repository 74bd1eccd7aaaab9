//! `TelemetryManager`: builds the tracer provider (resource, per-session sampler,
//! `EventProcessor`), the exporters and the background threads; owns their lifecycle.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use super::encoder::{instrumentation_scope, EventToSpanEncoder};
use super::exporters::{
    ConsoleExporter, Exporter, FileExporter, LegacySessionExporter, OtlpExporter, SessionCosts, SessionExporter,
    SharedAuth,
};
use super::processor::EventProcessor;
use super::stats::Stats;
use super::worker::{Pipeline, WorkerSetup};
use crate::config::{AgentOpsConfig, AgentOpsProtocol, ExporterSpec, OtelConfig};
use crate::error::Error;

pub(crate) struct TelemetryManager {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    pipeline: Arc<Pipeline>,
    agentops: Option<AgentOpsConfig>,
}

/// The resource every span is exported with.
pub(crate) fn build_resource(config: &OtelConfig) -> Resource {
    let mut attrs = vec![
        KeyValue::new("service.name", config.service_name.clone()),
        KeyValue::new("telemetry.sdk.name", "agentops"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("os.type", std::env::consts::OS),
        KeyValue::new("host.arch", std::env::consts::ARCH),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
    ];
    if let Some(v) = &config.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(env) = &config.environment {
        attrs.push(KeyValue::new("deployment.environment.name", env.clone()));
    }
    if let Some(host) = host_name() {
        attrs.push(KeyValue::new("host.name", host));
    }
    if let Some(exe) =
        std::env::current_exe().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attrs.push(KeyValue::new("process.executable.name", exe));
    }
    for (k, v) in &config.resource_attributes {
        attrs.push(KeyValue::new(k.clone(), v.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}

fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn build_exporter(
    spec: ExporterSpec,
    config: &OtelConfig,
    costs: &Arc<SessionCosts>,
    auth: &SharedAuth,
) -> Result<Box<dyn Exporter>, Error> {
    Ok(match spec {
        ExporterSpec::Otlp(o) => Box::new(OtlpExporter::new(o, config.batch.max_request_bytes)),
        ExporterSpec::AgentOps(a) => match a.protocol {
            AgentOpsProtocol::Otlp => {
                Box::new(SessionExporter::with_auth(a, config.batch.max_request_bytes, auth.clone()))
            }
            AgentOpsProtocol::LegacyV2 => Box::new(LegacySessionExporter::new(a, costs.clone())),
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

impl TelemetryManager {
    /// Builds everything and starts the background threads. Does no network I/O.
    pub fn new(mut config: OtelConfig) -> Result<Self, Error> {
        let resource = build_resource(&config);
        let specs = std::mem::take(&mut config.exporters);
        let agentops = specs.iter().find_map(|s| match s {
            ExporterSpec::AgentOps(a) => Some(a.clone()),
            _ => None,
        });
        let costs = Arc::new(SessionCosts::default());
        // Concurrent sending lanes only when every exporter can be instantiated again.
        let replicas: Option<Vec<ExporterSpec>> = specs.iter().map(ExporterSpec::replica).collect();
        let mut lane_specs = vec![specs];
        if let Some(replicas) = replicas.filter(|r| !r.is_empty()) {
            for _ in 1..config.batch.max_concurrent_exports {
                lane_specs.push(replicas.iter().filter_map(ExporterSpec::replica).collect());
            }
        }
        // The same exporter in every lane shares its credentials (one token per client).
        let auths: Vec<SharedAuth> = lane_specs[0].iter().map(|_| SharedAuth::default()).collect();
        let lanes = lane_specs
            .into_iter()
            .map(|specs| {
                specs.into_iter().zip(&auths).map(|(s, auth)| build_exporter(s, &config, &costs, auth)).collect()
            })
            .collect::<Result<Vec<Vec<_>>, _>>()?;
        let pipeline = Pipeline::start(WorkerSetup {
            lanes,
            encoder: EventToSpanEncoder::new(config.capture_content, config.max_value_len),
            formatters: std::mem::take(&mut config.formatters),
            batch: config.batch.clone(),
            retry: config.retry.clone(),
            resource: resource.clone(),
            costs,
        })?;
        // Sampling is decided once, at the session root; everything in the session
        // follows the root's decision, so a session is kept or dropped whole.
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(sampler)
            .with_span_processor(EventProcessor::new(pipeline.clone(), config.shutdown_timeout))
            .build();
        let tracer = provider.tracer_with_scope(instrumentation_scope());
        Ok(TelemetryManager { provider, tracer, pipeline, agentops })
    }

    /// The tracer sessions start their root spans with; applications may use it for
    /// their own spans too.
    pub fn create_session_tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// The AgentOps settings, when exporting to AgentOps (for replay links).
    pub fn agentops(&self) -> Option<&AgentOpsConfig> {
        self.agentops.as_ref()
    }

    pub fn force_flush(&self, timeout: Duration) -> Result<(), Error> {
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
