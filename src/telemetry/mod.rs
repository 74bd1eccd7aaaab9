//! The telemetry pipeline: encoder, span processor, export thread, exporters.
//!
//! Data flow: `Session::record` → [`RecordedEvent`](encoder) in the queue →
//! export thread → [`EventToSpanEncoder`] → formatters → sending lane(s) → each [`Exporter`].
//! Spans made through the SDK (session roots, the application's own spans) take
//! `TracerProvider` → `EventProcessor` → the same queue.

pub mod encoder;
pub mod exporters;
pub(crate) mod gzip;
pub(crate) mod http;
pub(crate) mod ids;
pub(crate) mod manager;
pub(crate) mod processor;
pub mod retry;
pub(crate) mod sender;
pub(crate) mod stats;
pub(crate) mod time;
pub(crate) mod worker;

pub use encoder::EventToSpanEncoder;
pub use exporters::Exporter;
