//! Where spans go: the [`Exporter`] trait every destination implements (yours too),
//! what it is given ([`ExportBatch`], [`ExportContext`]) and returns, and the
//! built-in destinations: [`OtlpExporter`] (any OTLP/HTTP receiver), the AgentOps
//! exporter (built from [`AgentOpsConfig`](crate::AgentOpsConfig)), [`FileExporter`]
//! (OTLP JSON lines), [`ConsoleExporter`] and [`InMemoryExporter`] (for tests). All
//! run on a sending thread, never on the caller's.

pub(crate) mod agentops;
pub(crate) mod console;
pub(crate) mod file;
pub(crate) mod otlp;
pub(crate) mod otlp_body;
pub(crate) mod text;

pub use crate::error::export::{ExportError, ExportErrorKind};
pub use crate::export::batch::ExportBatch;
pub use crate::export::context::ExportContext;
pub use crate::export::exporter::{ExportOutcome, Exporter, SessionStart};
pub use crate::export::memory::InMemoryExporter;
pub use console::ConsoleExporter;
pub use file::FileExporter;
pub use otlp::OtlpExporter;
