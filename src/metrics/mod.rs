//! Metrics: the SDK's instruments, recorded on the export thread from the events
//! and spans it handles (`recorder`, through instruments bound to recurring attribute sets in
//! `series`), the pipeline's health read at each
//! collection (`health`), and the metrics thread that collects a manual reader
//! (`reader`) and exports over the same exporters and transport as spans
//! (`thread`, started from `handle`). `summary_line` is the console's view.

pub(crate) mod handle;
mod health;
pub(crate) mod instruments;
mod reader;
pub(crate) mod recorder;
mod series;
pub(crate) mod summary_line;
pub(crate) mod thread;
