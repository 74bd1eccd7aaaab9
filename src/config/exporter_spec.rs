//! Which exporters a configuration asks for, before they are built.

use std::fmt;
use std::path::{Path, PathBuf};

use super::agentops::{AgentOpsConfig, AgentOpsProtocol};
use super::metrics::MetricsSettings;
use super::otlp::{Endpoint, OtlpExporterConfig};
use crate::config::console::ConsoleMode;
use crate::encode::protocol::Protocol;
use crate::export::exporter::Exporter;
use crate::export::memory::InMemoryExporter;
use crate::util::redact;

pub(crate) enum ExporterSpec {
    Otlp(OtlpExporterConfig),
    AgentOps(AgentOpsConfig),
    File(PathBuf),
    Console(ConsoleMode),
    Memory(InMemoryExporter),
    Custom(Box<dyn Exporter>),
}

/// Which metrics destination to build for an exporter (see
/// [`ExporterSpec::metrics_replica`]).
pub(crate) enum MetricsSpec {
    /// An OTLP exporter's metrics endpoint.
    Otlp(Endpoint),
    AgentOps(AgentOpsConfig),
    /// The metrics file's path.
    File(PathBuf),
    Console(ConsoleMode),
    Memory(InMemoryExporter),
}

impl ExporterSpec {
    /// Whether the exporter takes spans (all do but an OTLP exporter the
    /// environment gave a metrics endpoint only).
    pub(crate) fn sends_spans(&self) -> bool {
        !matches!(self, ExporterSpec::Otlp(o) if o.traces.is_none())
    }

    /// The spec of this exporter's metrics instance, when it takes metrics and the
    /// settings send them its way: OTLP exporters with a metrics endpoint, AgentOps
    /// (current protocol), the file (its metrics file is built from this path),
    /// console and in-memory. Custom exporters and the legacy AgentOps protocol take
    /// spans only.
    pub(crate) fn metrics_replica(&self, m: &MetricsSettings) -> Option<MetricsSpec> {
        match self {
            ExporterSpec::Otlp(o) if m.otlp => o.metrics.clone().map(MetricsSpec::Otlp),
            ExporterSpec::AgentOps(a) if m.otlp && a.protocol == AgentOpsProtocol::Otlp => {
                Some(MetricsSpec::AgentOps(a.clone()))
            }
            ExporterSpec::File(traces) if m.otlp => Some(MetricsSpec::File(metrics_path_for(traces))),
            ExporterSpec::Console(mode) if m.console => Some(MetricsSpec::Console(*mode)),
            ExporterSpec::Memory(e) if m.otlp => Some(MetricsSpec::Memory(e.clone())),
            _ => None,
        }
    }

    /// Where a network exporter sends, as the spool names it (the kind and the
    /// URL): the spool keeps its undelivered batches under this name, and the next
    /// client with the same destination delivers them. `None` for local exporters
    /// (file, console, memory) and custom ones.
    pub(crate) fn spool_key(&self) -> Option<String> {
        match self {
            // Without the URL's userinfo: the key names a directory and is written in
            // it, and a password changed must not orphan what was spooled.
            ExporterSpec::Otlp(o) => o.traces.as_ref().map(|e| format!("otlp {}", redact::url(&e.url))),
            ExporterSpec::AgentOps(a) => Some(match a.protocol {
                AgentOpsProtocol::LegacyV2 => format!("agentops-v2 {}", redact::url(&a.api_endpoint)),
                _ => format!("agentops {}", redact::url(&a.exporter_endpoint)),
            }),
            _ => None,
        }
    }

    /// The encoding an OTLP or AgentOps (current protocol) exporter sends batches
    /// in as they are, so they may be written straight into request bytes; `None`
    /// for other exporters.
    pub(crate) fn direct_protocol(&self) -> Option<Protocol> {
        match self {
            ExporterSpec::Otlp(o) => o.traces.as_ref().map(|e| e.protocol),
            ExporterSpec::AgentOps(a) if a.protocol != AgentOpsProtocol::LegacyV2 => Some(Protocol::HttpProtobuf),
            _ => None,
        }
    }

    /// Another instance of a network exporter, for the spool's delivery thread.
    pub(crate) fn spool_replica(&self) -> Option<ExporterSpec> {
        match self {
            ExporterSpec::Otlp(o) => Some(ExporterSpec::Otlp(o.clone())),
            ExporterSpec::AgentOps(a) => Some(ExporterSpec::AgentOps(a.clone())),
            _ => None,
        }
    }

    /// A second instance of a network exporter, for a concurrent sending lane;
    /// `None` for exporters that must see every batch themselves.
    pub(crate) fn replica(&self) -> Option<ExporterSpec> {
        match self {
            ExporterSpec::Otlp(o) => Some(ExporterSpec::Otlp(o.clone())),
            ExporterSpec::AgentOps(a) if a.protocol == AgentOpsProtocol::Otlp => {
                Some(ExporterSpec::AgentOps(a.clone()))
            }
            _ => None,
        }
    }
}

impl fmt::Debug for ExporterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExporterSpec::Otlp(c) => f.debug_tuple("Otlp").field(c).finish(),
            ExporterSpec::AgentOps(c) => f.debug_tuple("AgentOps").field(c).finish(),
            ExporterSpec::File(p) => f.debug_tuple("File").field(p).finish(),
            ExporterSpec::Console(m) => f.debug_tuple("Console").field(m).finish(),
            ExporterSpec::Memory(_) => f.write_str("Memory"),
            ExporterSpec::Custom(e) => f.debug_tuple("Custom").field(&e.name()).finish(),
        }
    }
}

/// Where metrics go when spans go to `traces`: the same folder, `traces` in the
/// file name replaced by `metrics` (`agentops-traces.jsonl` →
/// `agentops-metrics.jsonl`), or `.metrics` put before the extension when the name
/// has no `traces` in it (`run.jsonl` → `run.metrics.jsonl`).
pub(crate) fn metrics_path_for(traces: &Path) -> PathBuf {
    let name = traces.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let metrics_name = match name.rfind("traces") {
        Some(i) => format!("{}metrics{}", &name[..i], &name[i + "traces".len()..]),
        None => match name.rfind('.') {
            Some(dot) if dot > 0 => format!("{}.metrics{}", &name[..dot], &name[dot..]),
            _ => format!("{name}.metrics"),
        },
    };
    traces.with_file_name(metrics_name)
}
