//! `BatchConfig`: the queue, batching and sending-lane settings.

use std::time::Duration;

use crate::error::config::{ensure, ensure_duration, ConfigError, MAX_DURATION};

/// Queueing and batching settings. Start from [`BatchConfig::default`] and change
/// what you need with the setters of the same names as the fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[must_use]
pub struct BatchConfig {
    /// Spans that may wait for export; when full, new spans are dropped and counted.
    /// (The export thread also holds up to 8 it has taken from the queue and not yet
    /// encoded, the batches being built and sent, and up to this many (at most
    /// 4096) written events on their way back to be freed on callers' threads.)
    pub max_queue_size: usize,
    /// Spans per export request.
    pub max_export_batch_size: usize,
    /// Longest a span waits before its batch is sent.
    pub scheduled_delay: Duration,
    /// Largest request body in bytes; larger batches are split.
    pub max_request_bytes: usize,
    /// Requests in flight at once, when every exporter is a network exporter (OTLP,
    /// AgentOps): each has its own connection, so one batch is serialized while
    /// another is on the wire. Other exporters (file, console, custom…) see one
    /// batch at a time. Default 2 (env `OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
    pub max_concurrent_exports: usize,
    /// Nice value (0..=19) of the export and sending threads, on Linux. At 0, the
    /// default, they have the application's priority: on a busy CPU they keep up
    /// with a burst of events, whose memory then comes back to the callers while
    /// they still record (see "Memory" in the README). A higher value makes
    /// telemetry wait for what the application leaves: recording a burst then
    /// holds every event until it ends (and a full queue drops). Ignored
    /// elsewhere. Env `AGENTOPS_EXPORT_THREAD_NICE`.
    pub export_thread_nice: u8,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_secs(1),
            max_request_bytes: 4 * 1024 * 1024,
            max_concurrent_exports: 2,
            export_thread_nice: 0,
        }
    }
}

/// The names errors use for each setting: the environment variable when the value
/// came from there, the setter otherwise.
pub(crate) struct BatchNames {
    queue: &'static str,
    batch: &'static str,
    delay: &'static str,
    lanes: &'static str,
    nice: &'static str,
}

impl BatchNames {
    pub(crate) const ENV: BatchNames = BatchNames {
        queue: "OTEL_BSP_MAX_QUEUE_SIZE",
        batch: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        delay: "OTEL_BSP_SCHEDULE_DELAY",
        lanes: "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
        nice: "AGENTOPS_EXPORT_THREAD_NICE",
    };
    pub(crate) const CODE: BatchNames = BatchNames {
        queue: "BatchConfig::max_queue_size",
        batch: "BatchConfig::max_export_batch_size",
        delay: "BatchConfig::scheduled_delay",
        lanes: "BatchConfig::max_concurrent_exports",
        nice: "BatchConfig::export_thread_nice",
    };
}

/// Largest queue: 16 Mi spans.
const MAX_QUEUE: usize = 1 << 24;

impl BatchConfig {
    /// Sets [`max_queue_size`](Self::max_queue_size).
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = spans;
        self
    }
    /// Sets [`max_export_batch_size`](Self::max_export_batch_size).
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = spans;
        self
    }
    /// Sets [`scheduled_delay`](Self::scheduled_delay).
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = delay;
        self
    }
    /// Sets [`max_request_bytes`](Self::max_request_bytes).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }
    /// Sets [`max_concurrent_exports`](Self::max_concurrent_exports).
    pub fn max_concurrent_exports(mut self, requests: usize) -> Self {
        self.max_concurrent_exports = requests;
        self
    }
    /// Sets [`export_thread_nice`](Self::export_thread_nice).
    pub fn export_thread_nice(mut self, nice: u8) -> Self {
        self.export_thread_nice = nice;
        self
    }

    pub(crate) fn validate(&self, names: &BatchNames) -> Result<(), ConfigError> {
        let queue = self.max_queue_size;
        ensure((1..=MAX_QUEUE).contains(&queue), names.queue, queue, format!("must be within 1..={MAX_QUEUE}"))?;
        let batch = self.max_export_batch_size;
        let ok = (1..=queue).contains(&batch);
        ensure(ok, names.batch, batch, "must be at least 1 and at most the queue size")?;
        ensure_duration(names.delay, self.scheduled_delay, MAX_DURATION)?;
        let lanes = self.max_concurrent_exports;
        ensure((1..=8).contains(&lanes), names.lanes, lanes, "must be within 1..=8")?;
        let nice = self.export_thread_nice;
        ensure(nice <= 19, names.nice, nice, "must be within 0..=19")?;
        let bytes = self.max_request_bytes;
        ensure(bytes >= 1024, "BatchConfig::max_request_bytes", bytes, "must be at least 1024")
    }
}
