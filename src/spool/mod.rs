//! The disk spool (opt-in: `AGENTOPS_SPOOL_DIR` or
//! [`OtelConfigBuilder::spool_dir`](crate::OtelConfigBuilder::spool_dir)): batches
//! that cannot be delivered — the retry budget ran out, the endpoint is down at
//! shutdown, the shutdown deadline came — are written to disk instead of dropped,
//! and delivered later by this client or the next one with the same directory.
//!
//! On disk: one directory per destination ([`destination`]), one file per spooled
//! batch, an OTLP JSON line (`ExportTraceServiceRequest`, the Collector's
//! `otlpjsonfile` format) written to a `.tmp` file, synced, and renamed into place
//! ([`files`]); so a file either is complete or is a `.tmp` a crash left, which is
//! removed and counted. Delivery ([`redelivery`]) takes a file under an exclusive
//! lock ([`std::fs::File::try_lock`], released by the OS if the process dies), sends
//! it through the same exporter code as live batches, and removes it only once the
//! receiver accepted it: two processes on one spool never deliver the same file
//! twice. The size bound evicts the oldest files first ([`writer`]).

pub(crate) mod destination;
pub(crate) mod files;
pub(crate) mod reader;
pub(crate) mod redelivery;
pub(crate) mod writer;

pub(crate) use writer::Spool;
