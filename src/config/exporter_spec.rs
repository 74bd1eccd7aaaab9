//! Which exporters a configuration asks for, before they are built.

use std::fmt;
use std::path::PathBuf;

use super::agentops::{AgentOpsConfig, AgentOpsProtocol};
use super::otlp::OtlpConfig;
use crate::exporters::console::ConsoleMode;
use crate::exporters::interface::Exporter;
use crate::exporters::memory::InMemoryExporter;

pub(crate) enum ExporterSpec {
    Otlp(OtlpConfig),
    AgentOps(AgentOpsConfig),
    File(PathBuf),
    Console(ConsoleMode),
    Memory(InMemoryExporter),
    Custom(Box<dyn Exporter>),
}

impl ExporterSpec {
    /// Whether the exporter takes spans (all do but an OTLP exporter the
    /// environment gave a metrics endpoint only).
    pub(crate) fn sends_spans(&self) -> bool {
        !matches!(self, ExporterSpec::Otlp(o) if o.traces.is_none())
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
