//! The pipeline between a recorded event and an exporter: the caller-side handle
//! ([`handle`]) and its start-up wiring (`start`), the queue's messages, the export
//! thread ([`export_thread`]: drain, and hand batches on), the batch being filled
//! (`batcher`: encode, filter), the destinations ([`fanout`]) and their sending
//! lanes ([`lanes`]), the reclaiming of callers' memory, and the SDK side
//! (`processor`, `manager`).
//!
//! Data flow: `Scope::record` → `Message::Event` in the queue → export thread →
//! `EventToSpanEncoder` → span filters → every destination → a lane of each → its
//! `Exporter`. Spans made
//! through the SDK (session roots, the application's own spans) take
//! `SdkTracerProvider` → `EventProcessor` → the same queue.

mod batcher;
pub(crate) mod export_thread;
pub(crate) mod fanout;
pub(crate) mod handle;
pub(crate) mod lanes;
pub(crate) mod manager;
pub(crate) mod message;
mod pending;
pub(crate) mod processor;
mod reclaim;
mod resource;
pub(crate) mod start;
